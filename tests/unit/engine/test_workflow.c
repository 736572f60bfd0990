/* Unit tests for rf_workflow and rf_template: the broken-file corpus in
 * tests/workflows/bad (each file's first line says which message, at which
 * line and column, it must produce), the shipped workflows/ (all must be
 * valid), the model of a valid file, templates and `when` expressions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "engine/rf_dag.h"
#include "engine/rf_template.h"
#include "engine/rf_workflow.h"

static const char *root(void)
{
    const char *r = getenv("RF_ROOT");
    return r ? r : ".";
}

/* Files in dir ending with .yaml, sorted, NULL-terminated. */
static char **yaml_files(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char **v = NULL;
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".yaml"))
            continue;
        v = rf_xrealloc(v, (*n + 2) * sizeof *v);
        rf_buf b = RF_BUF_INIT;
        rf_buf_addf(&b, "%s/%s", dir, e->d_name);
        v[(*n)++] = rf_buf_detach(&b, NULL);
    }
    closedir(d);
    return v;
}

static void test_bad_corpus(void **state)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/workflows/bad", root());
    size_t n;
    char **files = yaml_files(dir, &n);
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        FILE *f = fopen(files[i], "r");
        assert_non_null(f);
        char line[512] = "";
        assert_non_null(fgets(line, sizeof line, f));
        fclose(f);
        line[strcspn(line, "\n")] = 0;
        assert_true(strncmp(line, "# expect: ", 10) == 0);
        const char *expect = line + 10;

        rf_workflow *wf = NULL;
        rf_wf_diags d = {0};
        rf_err err;
        assert_int_equal(rf_workflow_load(files[i], NULL, 0, &wf, &d, &err), -1);
        assert_null(wf);
        assert_int_equal(err.code, RF_EINVAL);
        int found = 0;
        for (size_t k = 0; k < d.n && !found; k++) {
            char got[2048];
            snprintf(got, sizeof got, "%d:%d: %s", d.v[k].loc.line, d.v[k].loc.col,
                     d.v[k].msg);
            found = !strncmp(got, expect, strlen(expect));
        }
        if (!found) {
            fprintf(stderr, "%s: expected \"%s\", got:\n", files[i], expect);
            rf_wf_diags_print(&d, files[i], stderr);
        }
        assert_true(found);
        rf_wf_diags_free(&d);
        free(files[i]);
    }
    free(files);
}

static void test_shipped_workflows_valid(void **state)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/workflows", root());
    size_t n;
    char **files = yaml_files(dir, &n);
    assert_true(n >= 4);
    /* tool-selection.yaml reads ../shared beside the repository; a worktree
     * elsewhere names shared/ through RF_SHARED (tests/run.sh) */
    const char *shared = getenv("RF_SHARED");
    char sessions[4200];
    snprintf(sessions, sizeof sessions, "sessions=%s/testdata/streamjson", shared ? shared : "");
    const char *ov[] = {sessions};
    for (size_t i = 0; i < n; i++) {
        rf_workflow *wf = NULL;
        rf_wf_diags d = {0};
        rf_err err;
        int reads_shared = shared && strstr(files[i], "/tool-selection.yaml");
        int rc = rf_workflow_load(files[i], reads_shared ? ov : NULL, reads_shared, &wf, &d,
                                  &err);
        if (rc)
            rf_wf_diags_print(&d, files[i], stderr);
        assert_int_equal(rc, 0);
        rf_workflow_free(wf);
        free(files[i]);
    }
    free(files);
}

static const char good[] =
    "name: good\n"
    "params:\n"
    "  lr: 0.10\n"
    "  levels: [trivial, easy, medium]\n"
    "  folds: {type: int, default: 3, description: k}\n"
    "  fast: false\n"
    "steps:\n"
    "  agg:\n"
    "    worker: eval-fold\n"
    "    inputs: {folds: steps.folds.outputs.metrics}\n"
    "  folds:\n"
    "    worker: eval-fold\n"
    "    foreach: {range: \"${{ params.folds }}\"}\n"
    "    inputs: {dataset: steps.prep.outputs.dataset}\n"
    "    with: {folds: \"${{ params.folds }}\", fold: \"${{ item }}\"}\n"
    "    tier: warm\n"
    "  train:\n"
    "    worker: train-stage\n"
    "    chain: ${{ params.levels }}\n"
    "    inputs:\n"
    "      dataset: steps.prep.outputs.dataset\n"
    "      init: prev.outputs.checkpoint\n"
    "    with:\n"
    "      level: ${{ item }}\n"
    "      hidden: [64, 32]\n"
    "    retries: {count: 4, backoff: 250ms, cap: 2s, jitter: 0.5}\n"
    "    timeout: 10m\n"
    "  prep:\n"
    "    worker: preprocess\n"
    "    inputs: {sessions: /dev/null}\n"
    "    cache: false\n"
    "  grid:\n"
    "    worker: noop\n"
    "    foreach: {matrix: {lr: [0.1, 0.01], hidden: [16, 32, 64]}}\n"
    "    with: {lr: \"${{ item.lr }}\", hidden: \"${{ item.hidden }}\"}\n"
    "    when: ${{ steps.train.metrics.graduated }} == 0 && !${{ params.fast }}\n"
    "    priority: 9\n";

/* A `tune:` step lowers to NAME-trials (a dynamic tune-trial step) and the
 * summary NAME, which later steps reference. */
static const char tune_text[] =
    "name: t\n"
    "params:\n"
    "  seed: {type: int, default: 7}\n"
    "steps:\n"
    "  search:\n"
    "    tune:\n"
    "      space:\n"
    "        hidden: {choice: [[8], [16, 8]]}\n"
    "        lr: {loguniform: [0.001, 0.1]}\n"
    "        optimizer: {choice: [adam, sgd, \"1\"]}\n"
    "        momentum: {uniform: [0.0, 0.95], when: {optimizer: sgd}}\n"
    "      trials: 30\n"
    "      parallel: 2\n"
    "      objective: {metric: val_loss, direction: minimize}\n"
    "      sampler: gp\n"
    "      seed: \"${{ params.seed }}\"\n"
    "      timeout: 90s\n"
    "    inputs: {train: file:///dev/null}\n"
    "    with: {epochs: 40}\n"
    "  after:\n"
    "    worker: noop\n"
    "    inputs: {b: steps.search.outputs.best}\n"
    "  multi:\n"
    "    tune:\n"
    "      trials: 4\n"
    "      space: {x: {int: [1, 3]}}\n"
    "      objective: {exec: [python3, f.py], metric: [a, b], direction: [minimize, maximize]}\n"
    "  plain:\n"
    "    tune: {trials: 3, parallel: 3}\n"
    "    inputs: {train: file:///dev/null}\n";

static const char *with_of(const rf_wf_step *s, const char *key)
{
    for (size_t i = 0; i < s->nwith; i++)
        if (!strcmp(s->with[i].key, key))
            return s->with[i].val;
    return NULL;
}

static void test_tune_lowering(void **state)
{
    rf_workflow *wf = NULL;
    rf_wf_diags d = {0};
    rf_err err;
    int rc = rf_workflow_parse(tune_text, sizeof tune_text - 1, "/w/t.yaml", NULL, 0,
                               &wf, &d, &err);
    rf_wf_diags_print(&d, "tune", stderr);
    assert_int_equal(rc, 0);
    size_t it, is, ia;
    const rf_wf_step *tr = rf_workflow_step(wf, "search-trials", &it);
    const rf_wf_step *sum = rf_workflow_step(wf, "search", &is);
    const rf_wf_step *after = rf_workflow_step(wf, "after", &ia);
    assert_non_null(tr), assert_non_null(sum), assert_non_null(after);
    assert_true(it < is && is < ia);
    assert_string_equal(tr->worker, "tune-trial");
    assert_int_equal(tr->fan, RF_FAN_FOREACH);
    assert_int_equal(tr->ntasks, 2);
    assert_int_equal(tr->spawn_max, 28);
    assert_int_equal(tr->from_tune, 1);
    assert_string_equal(with_of(tr, "trial"), "${{ index }}");
    assert_string_equal(with_of(tr, "sampler"), "gp");
    assert_string_equal(with_of(tr, "seed"), "7");
    assert_string_equal(with_of(tr, "objective"), "val_loss");
    assert_string_equal(with_of(tr, "direction"), "minimize");
    assert_string_equal(with_of(tr, "timeout"), "90");
    assert_string_equal(with_of(tr, "epochs"), "40");
    /* The space mapping as JSON, plain scalars typed, quoted ones strings. */
    assert_string_equal(with_of(tr, "space"),
        "{\"hidden\":{\"choice\":[[8],[16,8]]},\"lr\":{\"loguniform\":[0.001,0.1]},"
        "\"optimizer\":{\"choice\":[\"adam\",\"sgd\",\"1\"]},\"momentum\":{\"uniform\":"
        "[0,0.95],\"when\":{\"optimizer\":\"sgd\"}}}");
    rf_wf_loc l = rf_wf_mark_loc(tr, "space.lr.dist", (rf_wf_loc){0, 0});
    assert_int_equal(l.line, 9), assert_int_equal(l.col, 26);
    l = rf_wf_mark_loc(tr, "space.momentum.when", (rf_wf_loc){0, 0});
    assert_int_equal(l.line, 11), assert_int_equal(l.col, 48);
    assert_string_equal(sum->worker, "tune-trial");
    assert_int_equal(sum->from_tune, 2);
    assert_string_equal(with_of(sum, "summary"), "true");
    assert_int_equal(sum->ninputs, 2);
    assert_string_equal(sum->inputs[0].val, "steps.search-trials.outputs.trial");
    assert_string_equal(sum->inputs[1].val, "steps.search-trials.outputs.checkpoint");
    assert_int_equal(after->nneeds, 1);
    assert_int_equal(after->needs[0], is);
    /* exec, several objectives, no parallel (1): no checkpoints to hand on. */
    const rf_wf_step *mt = rf_workflow_step(wf, "multi-trials", NULL);
    const rf_wf_step *ms = rf_workflow_step(wf, "multi", NULL);
    assert_int_equal(mt->ntasks, 1);
    assert_int_equal(mt->spawn_max, 3);
    assert_string_equal(with_of(mt, "exec"), "[\"python3\",\"f.py\"]");
    assert_string_equal(with_of(mt, "objective"), "a,b");
    assert_string_equal(with_of(mt, "direction"), "minimize,maximize");
    assert_string_equal(with_of(mt, "space"), "{\"x\":{\"int\":[1,3]}}");
    assert_int_equal(ms->ninputs, 1);
    /* No space: train-stage's default one; no spawn when parallel = trials. */
    const rf_wf_step *pt = rf_workflow_step(wf, "plain-trials", NULL);
    assert_string_equal(with_of(pt, "space"), "default");
    assert_int_equal(pt->ntasks, 3);
    assert_int_equal(pt->spawn_max, 0);
    rf_workflow_free(wf);
    rf_wf_diags_free(&d);
}

static void test_model(void **state)
{
    rf_workflow *wf = NULL;
    rf_wf_diags d = {0};
    rf_err err;
    const char *ov[] = {"folds=4"};
    int rc = rf_workflow_parse(good, sizeof good - 1, "/w/good.yaml", ov, 1, &wf, &d,
                               &err);
    rf_wf_diags_print(&d, "good", stderr);
    assert_int_equal(rc, 0);
    assert_string_equal(wf->name, "good");
    assert_string_equal(rf_workflow_param(wf, "lr")->value, "0.1");
    assert_int_equal(rf_workflow_param(wf, "lr")->type, RF_WF_FLOAT);
    assert_int_equal(rf_workflow_param(wf, "folds")->type, RF_WF_INT);
    assert_string_equal(rf_workflow_param(wf, "folds")->value, "4");
    assert_int_equal(rf_workflow_param(wf, "fast")->type, RF_WF_BOOL);
    assert_string_equal(rf_workflow_param(wf, "levels")->value, "trivial,easy,medium");
    /* Dependency order: every step after what it needs. */
    for (size_t i = 0; i < wf->nsteps; i++)
        for (size_t k = 0; k < wf->steps[i].nneeds; k++)
            assert_true(wf->steps[i].needs[k] < i);
    size_t ip, ifo, ia, it;
    const rf_wf_step *prep = rf_workflow_step(wf, "prep", &ip);
    const rf_wf_step *folds = rf_workflow_step(wf, "folds", &ifo);
    const rf_wf_step *agg = rf_workflow_step(wf, "agg", &ia);
    const rf_wf_step *train = rf_workflow_step(wf, "train", &it);
    const rf_wf_step *grid = rf_workflow_step(wf, "grid", NULL);
    assert_true(ip < ifo && ifo < ia && ip < it);
    assert_int_equal(prep->cache, 0);
    assert_string_equal(prep->inputs[0].val, "file:///dev/null");
    assert_int_equal(folds->ntasks, 4);
    assert_int_equal(folds->fan, RF_FAN_FOREACH);
    assert_string_equal(rf_wf_item(folds, 0, 3), "3");
    assert_int_equal(folds->tier, 1);
    assert_int_equal(agg->nneeds, 1);
    assert_int_equal(train->fan, RF_FAN_CHAIN);
    assert_int_equal(train->ntasks, 3);
    assert_string_equal(rf_wf_item(train, 0, 1), "easy");
    assert_int_equal(train->retry.count, 4);
    assert_int_equal(train->retry.base_ms, 250);
    assert_int_equal(train->retry.cap_ms, 2000);
    assert_true(train->retry.jitter == 0.5);
    assert_true(prep->retry.jitter == 0.2);   /* the default */
    assert_int_equal(train->timeout_ms, 600000);
    assert_string_equal(train->with[1].val, "64,32");
    assert_int_equal(grid->ntasks, 6);
    assert_int_equal(grid->naxes, 2);
    /* First axis slowest: (0.1,16) (0.1,32) (0.1,64) (0.01,16) ... */
    assert_string_equal(rf_wf_item(grid, 0, 3), "0.01");
    assert_string_equal(rf_wf_item(grid, 1, 3), "16");
    assert_string_equal(rf_wf_item(grid, 1, 5), "64");
    assert_null(rf_wf_item(grid, 0, 6));
    assert_int_equal(grid->priority, 9);
    assert_non_null(grid->when);
    rf_workflow_free(wf);
}

/* A relative input path with ".." (kfold's default data) becomes the URL of
 * its canonical path; a missing file is an error at the input, naming it. */
static void test_local_input_canonical(void **state)
{
    static const char wf_text[] =
        "name: local\n"
        "steps:\n"
        "  a:\n"
        "    worker: noop\n"
        "    inputs: {data: ../workflows/./kfold.yaml, gone: ../no/such.csv}\n";
    char file[4096], *real, want[4200];
    snprintf(file, sizeof file, "%s/tests/local.yaml", root());
    rf_workflow *wf = NULL;
    rf_wf_diags d = {0};
    rf_err err;
    assert_int_equal(rf_workflow_parse(wf_text, sizeof wf_text - 1, file, NULL, 0, &wf, &d,
                                       &err), -1);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.v[0].loc.line, 5);
    assert_int_equal(d.v[0].loc.col, 53);
    assert_non_null(strstr(d.v[0].msg, "inputs.gone: "));
    assert_non_null(strstr(d.v[0].msg, "/no/such.csv: No such file or directory"));
    rf_wf_diags_free(&d);

    static const char ok_text[] =
        "name: local\n"
        "steps:\n"
        "  a:\n"
        "    worker: noop\n"
        "    inputs: {data: ../workflows/./kfold.yaml}\n";
    assert_int_equal(rf_workflow_parse(ok_text, sizeof ok_text - 1, file, NULL, 0, &wf, &d,
                                       &err), 0);
    snprintf(file, sizeof file, "%s/workflows/kfold.yaml", root());
    assert_non_null(real = realpath(file, NULL));
    snprintf(want, sizeof want, "file://%s", real);
    assert_string_equal(wf->steps[0].inputs[0].val, want);
    assert_null(strstr(want, "/."));
    free(real);
    rf_workflow_free(wf);
}

static void test_all_errors_reported(void **state)
{
    static const char bad[] =
        "name: x\n"
        "steps:\n"
        "  a: {worker: nop, wiht: 1}\n"
        "  b: {worker: noop, needs: [zz], priority: 12}\n";
    rf_workflow *wf;
    rf_wf_diags d = {0};
    rf_err err;
    assert_int_equal(rf_workflow_parse(bad, sizeof bad - 1, "x.yaml", NULL, 0, &wf,
                                       &d, &err), -1);
    assert_int_equal(d.n, 4);
    assert_int_equal(d.v[0].loc.line, 3);  /* sorted by place */
    assert_int_equal(d.v[3].loc.line, 4);
    rf_wf_diags_free(&d);
}

static int map_lookup(void *ud, const rf_ref *r, rf_buf *out, rf_err *err)
{
    if (r->kind == RF_REF_PARAM && !strcmp(r->key, "lr"))
        return rf_buf_adds(out, "0.5"), 0;
    if (r->kind == RF_REF_METRIC && !strcmp(r->step, "s") && !strcmp(r->key, "acc"))
        return rf_buf_adds(out, "0.93"), 0;
    if (r->kind == RF_REF_METRIC && !strcmp(r->key, "graduated"))
        return rf_buf_adds(out, "0"), 0;
    if (r->kind == RF_REF_OUTPUT)
        return 1;   /* not known yet */
    return rf_errf(err, RF_ENOTFOUND, "no value");
}

static void test_templates(void **state)
{
    rf_buf b = RF_BUF_INIT;
    rf_err err;
    assert_int_equal(rf_tpl_render("lr=${{params.lr}} m=${{ steps.a.outputs.m }}!",
                                   map_lookup, NULL, &b, &err), 0);
    assert_string_equal(b.data, "lr=0.5 m=${{ steps.a.outputs.m }}!");
    rf_buf_free(&b);
    assert_int_equal(rf_tpl_render("${{ nope }}", map_lookup, NULL, &b, &err), -1);
    rf_buf_free(&b);
    rf_ref r;
    assert_int_equal(rf_tpl_single_ref("steps.prep.outputs.dataset", &r, &err), 1);
    assert_int_equal(r.kind, RF_REF_OUTPUT);
    assert_string_equal(r.step, "prep");
    assert_string_equal(r.key, "dataset");
    assert_int_equal(rf_tpl_single_ref(" ${{ prev.metrics.loss }} ", &r, &err), 1);
    assert_int_equal(r.prev, 1);
    assert_int_equal(r.kind, RF_REF_METRIC);
    assert_int_equal(rf_tpl_single_ref("s3://b/k", &r, &err), 0);
    assert_int_equal(rf_tpl_single_ref("steps.x", &r, &err), -1);
}

static void test_expressions(void **state)
{
    struct { const char *e; int want; } cases[] = {
        {"${{ steps.s.metrics.acc }} >= 0.9", 1},
        {"${{ steps.s.metrics.acc }} < 0.9", 0},
        {"${{ steps.t.metrics.graduated }} == 0", 1},
        {"!${{ steps.t.metrics.graduated }}", 1},
        {"(1 < 2) && ('a' != 'b') || 0", 1},
        {"10 > 9", 1},                 /* numeric, not "10" < "9" as strings */
        {"abc == 'abc'", 1},
        {"0", 0}, {"false", 0}, {"yes", 1},
        {"!(1 == 1) || !1", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int t = -1;
        rf_err err;
        assert_int_equal(rf_expr_eval(cases[i].e, map_lookup, NULL, &t, &err), 0);
        if (t != cases[i].want)
            fprintf(stderr, "case %s\n", cases[i].e);
        assert_int_equal(t, cases[i].want);
    }
    const char *bad[] = {"1 ==", "(1", "1 1", "${{ steps.a.outputs.x }} == 1", "'x"};
    for (size_t i = 0; i < 5; i++) {
        int t;
        rf_err err;
        assert_int_equal(rf_expr_eval(bad[i], map_lookup, NULL, &t, &err), -1);
    }
}

/* A problem reached through several aliases of one node is said once; the
 * task cap can be raised per load. */
static void test_alias_errors_once_and_max_tasks(void **state)
{
    (void)state;
    static const char aliased[] =
        "name: al\n"
        "steps:\n"
        "  a: &s {worker: nope}\n"
        "  b: *s\n"
        "  c: *s\n";
    rf_workflow *wf = NULL;
    rf_wf_diags d = {0};
    rf_err err;
    assert_int_equal(rf_workflow_parse(aliased, sizeof aliased - 1, "al.yaml", NULL, 0, &wf,
                                       &d, &err), -1);
    size_t same = 0;
    for (size_t k = 0; k < d.n; k++)
        same += d.v[k].loc.line == 3 && strstr(d.v[k].msg, "nope") != NULL;
    assert_int_equal(same, 1);
    rf_wf_diags_free(&d);

    static const char many[] =
        "name: many\n"
        "steps:\n"
        "  a: {worker: noop, foreach: {range: 1500}}\n"
        "  b: {worker: noop, foreach: {range: 1500}}\n";
    rf_wf_diags d2 = {0};
    d2.max_tasks = 2000;
    assert_int_equal(rf_workflow_parse(many, sizeof many - 1, "m.yaml", NULL, 0, &wf, &d2,
                                       &err), -1);
    assert_non_null(strstr(d2.v[0].msg, "the workflow has 3000 tasks; at most 2000"));
    rf_wf_diags_free(&d2);
    rf_wf_diags d3 = {0};
    d3.max_tasks = 3000;
    assert_int_equal(rf_workflow_parse(many, sizeof many - 1, "m.yaml", NULL, 0, &wf, &d3,
                                       &err), 0);
    rf_workflow_free(wf);
    rf_wf_diags_free(&d3);
}

/* A whole-number metric passed to a later step's `with` is "20", which an
 * integer parameter accepts, not "2e+01". */
static void test_metric_renders_as_integer(void **state)
{
    (void)state;
    static const char text[] =
        "name: m\n"
        "steps:\n"
        "  a: {worker: noop}\n"
        "  b: {worker: noop, needs: a, with: {n: \"${{ steps.a.metrics.n }}\", "
        "x: \"${{ steps.a.metrics.x }}\"}}\n";
    rf_workflow *wf;
    rf_wf_diags d = {0};
    rf_err err;
    if (rf_workflow_parse(text, sizeof text - 1, "m.yaml", NULL, 0, &wf, &d, &err))
        fail_msg("%s", err.msg);
    json_t *ra = json_loads("[{\"h\": \"done\", \"m\": {\"n\": 20.0, \"x\": 0.25}}]", 0, NULL);
    json_t *results[2] = {ra, NULL};
    size_t b = 1;
    assert_string_equal(wf->steps[0].name, "a");
    assert_string_equal(wf->steps[b].name, "b");
    rf_dag_ctx c = {wf, "run-1", results, NULL, NULL, NULL, NULL};
    char *params, *inputs;
    if (rf_dag_render(&c, b, 0, &params, &inputs, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(params, "{\"n\":\"20\",\"x\":\"0.25\"}");
    free(params);
    free(inputs);
    json_decref(ra);
    rf_workflow_free(wf);

    /* steps as a list of {name: ...} (Argo, Tekton) is the mapping's equal. */
    static const char mtext[] =
        "name: l\nsteps:\n"
        "  prep: {worker: noop, with: {a: \"1\"}}\n"
        "  train: {worker: sleep, needs: prep, foreach: {range: 3}, with: {ms: \"${{ item }}\"},"
        " retries: 4, pool: gpu}\n"
        "  agg: {worker: noop, needs: [train], when: \"${{ params.x }} == 1\"}\n"
        "params: {x: {type: int, default: 1}}\n";
    static const char ltext[] =
        "name: l\nsteps:\n"
        "  - name: prep\n    worker: noop\n    with: {a: \"1\"}\n"
        "  - {name: train, worker: sleep, needs: prep, foreach: {range: 3},"
        " with: {ms: \"${{ item }}\"}, retries: 4, pool: gpu}\n"
        "  - name: agg\n    needs: [train]\n    worker: noop\n"
        "    when: \"${{ params.x }} == 1\"\n"
        "params: {x: {type: int, default: 1}}\n";
    rf_workflow *mw = NULL, *lw = NULL;
    rf_wf_diags md = {0}, ld = {0};
    assert_int_equal(rf_workflow_parse(mtext, sizeof mtext - 1, "m.yaml", NULL, 0, &mw, &md,
                                       &err), 0);
    if (rf_workflow_parse(ltext, sizeof ltext - 1, "l.yaml", NULL, 0, &lw, &ld, &err) != 0) {
        rf_wf_diags_print(&ld, "l.yaml", stderr);
        fail_msg("list form refused");
    }
    assert_int_equal(lw->nsteps, 3);
    assert_int_equal(lw->nsteps, mw->nsteps);
    for (size_t i = 0; i < lw->nsteps; i++) {
        const rf_wf_step *ma = &mw->steps[i], *la = &lw->steps[i];
        assert_string_equal(ma->name, la->name);
        assert_string_equal(ma->worker, la->worker);
        assert_string_equal(ma->pool, la->pool);
        assert_int_equal(ma->ntasks, la->ntasks);
        assert_int_equal(ma->nneeds, la->nneeds);
        for (size_t k = 0; k < ma->nneeds; k++)
            assert_int_equal(ma->needs[k], la->needs[k]);
        assert_int_equal(ma->nwith, la->nwith);
        assert_int_equal(ma->retry.count, la->retry.count);
        assert_int_equal(ma->when == NULL, la->when == NULL);
    }
    assert_string_equal(lw->steps[1].name, "train");
    assert_int_equal(lw->steps[1].ntasks, 3);
    assert_int_equal(lw->steps[1].retry.count, 4);
    assert_string_equal(lw->steps[1].pool, "gpu");
    assert_non_null(lw->steps[2].when);
    /* The step's place is its name's: line 5 "  - {name: train", col 12. */
    assert_int_equal(lw->steps[1].loc.line, 6);
    assert_int_equal(lw->steps[1].loc.col, 12);
    rf_workflow_free(mw);
    rf_workflow_free(lw);
    rf_wf_diags_free(&md);
    rf_wf_diags_free(&ld);
    /* Errors inside a listed step keep their FILE:LINE:COL; an empty list
     * is "steps is empty". */
    static const char etext[] = "name: l\nsteps:\n  - name: a\n    worker: noop\n"
                                "    retries: lots\n";
    wf = NULL;
    assert_int_equal(rf_workflow_parse(etext, sizeof etext - 1, "e.yaml", NULL, 0, &wf, &ld,
                                       &err), -1);
    assert_int_equal(ld.n, 1);
    assert_int_equal(ld.v[0].loc.line, 5);
    assert_int_equal(ld.v[0].loc.col, 14);
    rf_wf_diags_free(&ld);
    static const char ztext[] = "name: l\nsteps: []\n";
    assert_int_equal(rf_workflow_parse(ztext, sizeof ztext - 1, "z.yaml", NULL, 0, &wf, &ld,
                                       &err), -1);
    assert_int_equal(ld.n, 1);
    assert_non_null(strstr(ld.v[0].msg, "steps is empty"));
    rf_wf_diags_free(&ld);

    /* A float parameter of 20 is "20" too, and 0.1 stays "0.1". */
    static const char ftext[] =
        "name: f\n"
        "params:\n"
        "  lr: {type: float, default: 20}\n"
        "  mom: {type: float, default: 0.1}\n"
        "steps:\n"
        "  a: {worker: noop}\n";
    if (rf_workflow_parse(ftext, sizeof ftext - 1, "f.yaml", NULL, 0, &wf, &d, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(wf->params[0].value, "20");
    assert_string_equal(wf->params[1].value, "0.1");
    rf_workflow_free(wf);
}

/* foreach over a step's output: no tasks at submit, an implied need, item
 * keys allowed (objects), and the plan keeps the reference and the cap. */
static void test_foreach_from_output(void **state)
{
    (void)state;
    static const char y[] =
        "name: fan\nsteps:\n"
        "  trial:\n    worker: noop\n    foreach: ${{ steps.configs.outputs.list }}\n"
        "    with: {lr: \"${{ item.lr }}\", i: \"${{ index }}\"}\n"
        "  configs: {worker: noop, with: {out_list: '[1]'}}\n";
    rf_workflow *wf = NULL;
    rf_wf_diags d = {0};
    rf_err err;
    d.max_tasks = 77;
    int rc = rf_workflow_parse(y, sizeof y - 1, "/w/fan.yaml", NULL, 0, &wf, &d, &err);
    rf_wf_diags_print(&d, "fan", stderr);
    assert_int_equal(rc, 0);
    size_t ic, it;
    const rf_wf_step *c = rf_workflow_step(wf, "configs", &ic);
    const rf_wf_step *t = rf_workflow_step(wf, "trial", &it);
    assert_non_null(c);
    assert_true(ic < it);
    assert_int_equal(t->nneeds, 1);
    assert_int_equal(t->needs[0], ic);
    assert_int_equal(t->ntasks, 0);
    assert_string_equal(t->fan_from, "${{ steps.configs.outputs.list }}");
    assert_int_equal(wf->max_tasks, 77);
    char *plan = rf_dag_plan_json(wf, NULL);
    rf_workflow *back;
    assert_int_equal(rf_dag_plan_load(plan, &back, NULL, &err), 0);
    assert_string_equal(rf_workflow_step(back, "trial", NULL)->fan_from, t->fan_from);
    assert_int_equal(back->max_tasks, 77);
    free(plan);
    rf_workflow_free(back);
    rf_workflow_free(wf);
}

static const char *kv_get(const rf_wf_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(kv[i].key, key))
            return kv[i].val;
    return NULL;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Does a diag say msg, in file (NULL: the workflow file) at line:col? */
static int has_diag(const rf_wf_diags *d, const char *file, int line, int col,
                    const char *msg)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].loc.line == line && d->v[i].loc.col == col &&
            strstr(d->v[i].msg, msg) && (!file ? !d->v[i].file :
                                          d->v[i].file && strstr(d->v[i].file, file)))
            return 1;
    return 0;
}

/* templates: and uses: (the step's keys win, with merges), include: of
 * another file (relative to the including one); missing files, cycles and
 * problems inside an included file name the file, line and column. */
static void test_templates_and_include(void **state)
{
    (void)state;
    char dir[] = "/tmp/rf-tpl-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[300], sub[300], w[300];
    snprintf(sub, sizeof sub, "%s/lib", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/lib/common.yaml", dir);
    write_file(path, "templates:\n  nap:\n    worker: sleep\n    retries: 0\n"
                     "    with: {ms: 10, why: shared}\n");
    snprintf(w, sizeof w, "%s/w.yaml", dir);
    write_file(w, "name: t\ninclude: [lib/common.yaml]\n"
                  "templates:\n  fast: {worker: noop, priority: 7}\n"
                  "steps:\n  a: {uses: nap, with: {ms: 5, more: x}}\n"
                  "  b: {uses: fast, needs: a, priority: 2}\n");
    rf_workflow *wf = NULL;
    rf_wf_diags d = {0};
    rf_err err;
    int rc = rf_workflow_load(w, NULL, 0, &wf, &d, &err);
    rf_wf_diags_print(&d, w, stderr);
    assert_int_equal(rc, 0);
    const rf_wf_step *a = rf_workflow_step(wf, "a", NULL);
    const rf_wf_step *b = rf_workflow_step(wf, "b", NULL);
    assert_string_equal(a->worker, "sleep");
    assert_int_equal(a->retry.count, 0);
    assert_string_equal(kv_get(a->with, a->nwith, "ms"), "5");       /* overridden */
    assert_string_equal(kv_get(a->with, a->nwith, "why"), "shared"); /* kept */
    assert_string_equal(kv_get(a->with, a->nwith, "more"), "x");     /* added */
    assert_int_equal(a->nwith, 3);
    assert_string_equal(b->worker, "noop");
    assert_int_equal(b->priority, 2);                                /* the step's */
    assert_int_equal(b->nneeds, 1);
    rf_workflow_free(wf);

    /* An unknown template, a problem inside the included file, a missing
     * include, and a cycle back to the workflow file. */
    write_file(path, "include: [../w.yaml]\ntemplates:\n  nap:\n    worker: sleep\n"
                     "    wiht: {ms: 1}\n");
    write_file(w, "name: t\ninclude: [lib/common.yaml, lib/nope.yaml]\n"
                  "steps:\n  a: {uses: nap}\n  b: {uses: npa}\n");
    rc = rf_workflow_load(w, NULL, 0, &wf, &d, &err);
    rf_wf_diags_print(&d, w, stderr);
    assert_int_equal(rc, -1);
    assert_true(has_diag(&d, NULL, 2, 28, "include: "));
    assert_true(has_diag(&d, NULL, 2, 28, "include: lib/nope.yaml: No such file"));
    assert_true(has_diag(&d, "lib/common.yaml", 1, 11, "a cycle of includes"));
    assert_true(has_diag(&d, "lib/common.yaml", 5, 5, "unknown key \"wiht\""));
    assert_true(has_diag(&d, NULL, 5, 13, "unknown template \"npa\"; did you mean \"nap\""));
    rf_wf_diags_free(&d);
    unlink(path);
    unlink(w);
    rmdir(sub);
    rmdir(dir);
}

/* on_exit forms: one step, a list (named on_exit-1, ...), a mapping. */
static void test_on_exit_forms(void **state)
{
    (void)state;
    static const char *const y[] = {
        "name: x\nsteps:\n  a: {worker: noop}\non_exit: {worker: noop}\n",
        "name: x\nsteps:\n  a: {worker: noop}\non_exit:\n  - {worker: noop}\n  - {worker: sleep}\n",
        "name: x\nsteps:\n  a: {worker: noop}\non_exit:\n  bye: {worker: noop}\n"
        "  later: {worker: noop, needs: bye, with: {f: \"${{ workflow.failures }}\"}}\n",
    };
    static const char *const names[][2] = {{"on_exit", NULL}, {"on_exit-1", "on_exit-2"},
                                           {"bye", "later"}};
    for (size_t i = 0; i < 3; i++) {
        rf_workflow *wf = NULL;
        rf_wf_diags d = {0};
        rf_err err;
        int rc = rf_workflow_parse(y[i], strlen(y[i]), "/w/x.yaml", NULL, 0, &wf, &d, &err);
        rf_wf_diags_print(&d, "x", stderr);
        assert_int_equal(rc, 0);
        assert_false(rf_workflow_step(wf, "a", NULL)->on_exit);
        for (size_t k = 0; k < 2 && names[i][k]; k++) {
            const rf_wf_step *s = rf_workflow_step(wf, names[i][k], NULL);
            assert_non_null(s);
            assert_true(s->on_exit);
        }
        rf_workflow_free(wf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_corpus),
        cmocka_unit_test(test_shipped_workflows_valid),
        cmocka_unit_test(test_alias_errors_once_and_max_tasks),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_foreach_from_output),
        cmocka_unit_test(test_templates_and_include),
        cmocka_unit_test(test_on_exit_forms),
        cmocka_unit_test(test_local_input_canonical),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_expressions),
        cmocka_unit_test(test_metric_renders_as_integer),
        cmocka_unit_test(test_tune_lowering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
