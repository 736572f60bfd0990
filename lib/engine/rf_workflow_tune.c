/* rf_workflow_tune: the `tune:` step keyword, lowered onto what the engine
 * already runs (docs/tuning.md). A step NAME with `tune:` becomes
 *   NAME-trials  a dynamic tune-trial step: foreach range = parallel,
 *                spawn = trials - parallel, the search in its `with`
 *                (the space mapping as the JSON text rf_space parses);
 *   NAME         the summary (tune-trial, summary: true) fanning the trials
 *                in, so later steps write steps.NAME.outputs.best.
 * The parser knows no search spaces: it checks shapes, counts and
 * directions, and records where each parameter was written (marks) for
 * rf_tune_lint (handlers), which checks the space itself. */
#include "engine/rf_workflow_impl.h"

#include <jansson.h>

#include "base/rf_json.h"

static const char *const tune_keys[] = {
    "space", "trials", "parallel", "objective", "sampler", "pruner", "seed",
    "startup", "grid_points", "population", "prune_startup", "prune_warmup",
    "min_resource", "eta", "timeout", NULL};
/* Copied into the trials' `with`, params rendered. */
static const char *const plain_keys[] = {
    "sampler", "pruner", "seed", "startup", "grid_points", "population",
    "prune_startup", "prune_warmup", "min_resource", "eta", NULL};
/* `with` keys a tune step sets itself. */
static const char *const owned_with[] = {
    "space", "trial", "sampler", "seed", "objective", "direction", "exec",
    "timeout", "grid_points", "population", "startup", "pruner", "prune_startup",
    "prune_warmup", "min_resource", "eta", "summary", NULL};
static const char *const objective_keys[] = {"metric", "direction", "exec", NULL};

typedef struct tune_spec {
    yaml_node_t *node, *space, *trials, *parallel;
    rf_buf metrics, directions;   /* comma-joined, for with.objective/direction */
    size_t n_metrics, n_dirs;
    rf_wf_loc metric_loc, dir_loc;
    char *exec;                   /* JSON list text, or NULL */
} tune_spec;

void rf_workflow_mark(rf_wf_step *s, const char *path, rf_wf_loc loc)
{
    s->marks = rf_xrealloc(s->marks, (s->nmarks + 1) * sizeof *s->marks);
    s->marks[s->nmarks].path = rf_xstrdup(path);
    s->marks[s->nmarks++].loc = loc;
}

static char *render(parser *p, yaml_node_t *n)
{
    rf_buf b = RF_BUF_INIT;
    rf_err e;
    if (rf_tpl_render(rf_workflow_scalar(n), rf_workflow_static_lookup, p->wf, &b,
                      &e) < 0) {
        DIAG(p, n, "%s", e.msg);
        rf_buf_free(&b);
        return NULL;
    }
    return rf_buf_detach(&b, NULL);
}

/* ------------------------------------------------------------ the space */

static void add_string(rf_buf *b, const char *s)
{
    json_t *j = json_string(s);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
    rf_buf_adds(b, t ? t : "null");   /* NULL only for text that is not UTF-8 */
    free(t);
    json_decref(j);
}

/* A plain scalar is typed as YAML reads it (numbers, true/false, null);
 * a quoted one is a string. Reals are written in the shortest text that
 * reads back the same (0.1 stays 0.1). */
static int emit_scalar(parser *p, yaml_node_t *n, rf_buf *b)
{
    const char *raw = rf_workflow_scalar(n);
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        add_string(b, raw);
        return 0;
    }
    char *s = strstr(raw, "${{") ? render(p, n) : rf_xstrdup(raw);
    if (!s)
        return -1;
    long l;
    double d;
    char tmp[64];
    if (!strcmp(s, "true") || !strcmp(s, "false"))
        rf_buf_adds(b, s);
    else if (!strcmp(s, "null") || !strcmp(s, "~") || !*s)
        rf_buf_adds(b, "null");
    else if (rf_workflow_parse_long(s, &l) == 0)
        rf_buf_addf(b, "%ld", l);
    else if (rf_workflow_parse_double(s, &d) == 0)
        rf_buf_adds(b, rf_num_fmt(tmp, sizeof tmp, d, 0));
    else
        add_string(b, s);
    free(s);
    return 0;
}

/* The node as JSON text. Depth and size are bounded by the loader's
 * limits on the document. */
static int emit_json(parser *p, yaml_node_t *n, rf_buf *b)
{
    int rc = 0;
    if (n->type == YAML_SCALAR_NODE)
        return emit_scalar(p, n, b);
    if (n->type == YAML_SEQUENCE_NODE) {
        rf_buf_adds(b, "[");
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             rc == 0 && it < n->data.sequence.items.top; it++) {
            if (it > n->data.sequence.items.start)
                rf_buf_adds(b, ",");
            rc = emit_json(p, rf_workflow_node(p, *it), b);
        }
        rf_buf_adds(b, "]");
        return rc;
    }
    rf_buf_adds(b, "{");
    for (yaml_node_pair_t *i = n->data.mapping.pairs.start;
         rc == 0 && i < n->data.mapping.pairs.top; i++) {
        yaml_node_t *k = rf_workflow_node(p, i->key);
        if (rf_workflow_expect_scalar(p, k, "a key in tune.space") < 0)
            return -1;
        if (i > n->data.mapping.pairs.start)
            rf_buf_adds(b, ",");
        add_string(b, rf_workflow_scalar(k));
        rf_buf_adds(b, ":");
        rc = emit_json(p, rf_workflow_node(p, i->value), b);
    }
    rf_buf_adds(b, "}");
    return rc;
}

/* Where each parameter's distribution and condition were written. */
static void mark_space(parser *p, rf_wf_step *s, yaml_node_t *space)
{
    char path[300];
    for (yaml_node_pair_t *i = space->data.mapping.pairs.start;
         i < space->data.mapping.pairs.top; i++) {
        const char *name = rf_workflow_scalar(rf_workflow_node(p, i->key));
        yaml_node_t *v = rf_workflow_node(p, i->value);
        if (!name)
            continue;
        snprintf(path, sizeof path, "space.%s", name);
        rf_workflow_mark(s, path, rf_workflow_loc_of(v));
        if (v->type != YAML_MAPPING_NODE)
            continue;
        for (yaml_node_pair_t *d = v->data.mapping.pairs.start;
             d < v->data.mapping.pairs.top; d++) {
            const char *k = rf_workflow_scalar(rf_workflow_node(p, d->key));
            rf_wf_loc at = rf_workflow_loc_of(rf_workflow_node(p, d->value));
            snprintf(path, sizeof path, "space.%s%s", name,
                     k && !strcmp(k, "when") ? ".when" : ".dist");
            rf_workflow_mark(s, path, at);
        }
    }
}

static void lower_space(parser *p, rf_wf_step *s, const tune_spec *t)
{
    if (!t->space) {
        if (t->exec)
            DIAG(p, t->node, "tune: an exec objective needs a space (the values "
                 "its program receives); add space:");
        else   /* train-stage's built-in space (docs/tuning.md) */
            rf_workflow_kv_push(p, &s->with, &s->nwith, "space", "default",
                                rf_workflow_loc_of(t->node));
        return;
    }
    if (t->space->type == YAML_SCALAR_NODE) {
        if (strcmp(rf_workflow_scalar(t->space), "default"))
            DIAG(p, t->space, "tune.space must be a mapping of parameters (e.g. "
                 "lr: {loguniform: [0.001, 0.1]}) or default, not \"%s\"",
                 rf_workflow_scalar(t->space));
        else
            rf_workflow_kv_push(p, &s->with, &s->nwith, "space", "default",
                                rf_workflow_loc_of(t->space));
        return;
    }
    if (rf_workflow_expect_mapping(p, t->space, "tune.space") < 0)
        return;
    rf_buf b = RF_BUF_INIT;
    if (emit_json(p, t->space, &b) == 0) {
        rf_workflow_kv_push(p, &s->with, &s->nwith, "space", b.data,
                            rf_workflow_loc_of(t->space));
        mark_space(p, s, t->space);
    }
    rf_buf_free(&b);
}

/* -------------------------------------------------------- the objective */

static void add_metric(parser *p, tune_spec *t, rf_wf_step *s, yaml_node_t *n)
{
    if (rf_workflow_expect_scalar(p, n, "an objective metric") < 0)
        return;
    const char *m = rf_workflow_scalar(n);
    if (!*m || strchr(m, ',')) {
        DIAG(p, n, "objective metric \"%s\" must be a non-empty name without commas", m);
        return;
    }
    char path[300];
    snprintf(path, sizeof path, "objective.%s", m);
    rf_workflow_mark(s, path, rf_workflow_content_loc(n));
    if (!t->n_metrics++)
        t->metric_loc = rf_workflow_content_loc(n);
    rf_buf_addf(&t->metrics, "%s%s", t->metrics.len ? "," : "", m);
}

static void add_direction(parser *p, tune_spec *t, yaml_node_t *n)
{
    if (rf_workflow_expect_scalar(p, n, "an objective direction") < 0)
        return;
    const char *d = rf_workflow_scalar(n);
    static const char *const dirs[] = {"minimize", "maximize", NULL};
    if (!rf_workflow_in_list(dirs, d)) {
        rf_workflow_unknown_word(p, n, "direction", d, dirs);
        return;
    }
    if (!t->n_dirs++)
        t->dir_loc = rf_workflow_content_loc(n);
    rf_buf_addf(&t->directions, "%s%s", t->directions.len ? "," : "", d);
}

/* A scalar or a list of scalars, each through fn. */
static void each_scalar(parser *p, tune_spec *t, rf_wf_step *s, yaml_node_t *v,
                        int metric)
{
    if (v->type != YAML_SEQUENCE_NODE) {
        metric ? add_metric(p, t, s, v) : add_direction(p, t, v);
        return;
    }
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++)
        metric ? add_metric(p, t, s, rf_workflow_node(p, *it))
               : add_direction(p, t, rf_workflow_node(p, *it));
}

static void lower_exec(parser *p, tune_spec *t, yaml_node_t *v)
{
    size_t n = v->type == YAML_SEQUENCE_NODE
                   ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start) : 0;
    if (n == 0) {
        DIAG(p, v, "objective.exec must be a list [program, arg, ...] (run "
             "directly, never through a shell)");
        return;
    }
    json_t *a = json_array();
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = rf_workflow_node(p, *it);
        if (rf_workflow_expect_scalar(p, e, "an element of objective.exec") == 0 &&
            json_array_append_new(a, json_string(rf_workflow_scalar(e))) < 0)
            DIAG(p, e, "objective.exec: an argument that is not UTF-8 text");
    }
    free(t->exec);
    t->exec = json_dumps(a, JSON_COMPACT);
    json_decref(a);
}

typedef struct obj_ctx {
    tune_spec *t;
    rf_wf_step *s;
    int in_list;
} obj_ctx;

static int objective_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                          void *ud)
{
    obj_ctx *c = ud;
    if (!strcmp(key, "metric"))
        each_scalar(p, c->t, c->s, v, 1);
    else if (!strcmp(key, "direction"))
        each_scalar(p, c->t, c->s, v, 0);
    else if (c->in_list)
        DIAG(p, k, "objective: exec goes in the mapping form {exec: [...], metric: "
             "[a, b], direction: [...]}, not in a list item");
    else
        lower_exec(p, c->t, v);
    return 0;
}

/* metric | {metric, direction, exec} | [metric or {metric, direction}, ...] */
static void parse_objective(parser *p, tune_spec *t, rf_wf_step *s, yaml_node_t *v)
{
    obj_ctx c = {t, s, 0};
    if (v->type == YAML_SCALAR_NODE) {
        add_metric(p, t, s, v);
    } else if (v->type == YAML_MAPPING_NODE) {
        rf_workflow_each_pair(p, v, objective_keys, "objective", objective_pair, &c);
        if (!t->n_metrics)
            DIAG(p, v, "objective needs a metric (e.g. {metric: val_loss, direction: "
                 "minimize})");
    } else {
        c.in_list = 1;
        for (yaml_node_item_t *it = v->data.sequence.items.start;
             it < v->data.sequence.items.top; it++) {
            yaml_node_t *e = rf_workflow_node(p, *it);
            size_t before = t->n_metrics, dirs = t->n_dirs;
            if (e->type == YAML_MAPPING_NODE)
                rf_workflow_each_pair(p, e, objective_keys, "objective", objective_pair, &c);
            else
                add_metric(p, t, s, e);
            if (t->n_metrics != before + 1)
                DIAG(p, e, "each objective in the list names one metric");
            while (t->n_dirs < dirs + 1 && t->n_metrics == before + 1) {
                t->n_dirs++;   /* unsaid: minimize */
                rf_buf_addf(&t->directions, "%sminimize", t->directions.len ? "," : "");
            }
        }
        if (!t->n_metrics)
            DIAG(p, v, "objective: the list is empty");
    }
    if (t->n_dirs > 1 && t->n_dirs != t->n_metrics)
        DIAG(p, v, "objective: %zu directions for %zu metrics (give one for all or "
             "one each)", t->n_dirs, t->n_metrics);
}

/* ------------------------------------------------------------- counts */

static int count(parser *p, yaml_node_t *n, const char *what, long lo, long hi,
                 long *out)
{
    if (rf_workflow_expect_scalar(p, n, what) < 0)
        return -1;
    char *s = render(p, n);
    if (!s)
        return -1;
    int rc = rf_workflow_parse_long(s, out);
    if (rc < 0 || *out < lo || *out > hi) {
        DIAG(p, n, "%s must be an integer from %ld to %ld, not \"%s\"", what, lo, hi, s);
        rc = -1;
    }
    free(s);
    return rc;
}

/* foreach: {range: parallel}, spawn: trials - parallel. */
static void lower_counts(parser *p, rf_wf_step *s, const tune_spec *t)
{
    long trials = 0, par = 1;
    if (!t->trials) {
        DIAG(p, t->node, "tune needs trials: N (the budget: how many trials in all)");
        return;
    }
    if (count(p, t->trials, "tune.trials", 1, 100000, &trials) < 0 ||
        (t->parallel && count(p, t->parallel, "tune.parallel", 1, 1000, &par) < 0))
        return;
    if (par > trials) {
        DIAG(p, t->parallel, "tune.parallel (%ld) is more than tune.trials (%ld)", par,
             trials);
        return;
    }
    for (size_t a = 0; a < s->naxes; a++) {   /* a refused foreach's */
        for (size_t k = 0; k < s->axes[a].n; k++)
            free(s->axes[a].vals[k]);
        free(s->axes[a].vals), free(s->axes[a].key);
    }
    free(s->axes);
    s->fan = RF_FAN_FOREACH;
    s->axes = rf_xcalloc(1, sizeof *s->axes);
    s->naxes = 1;
    s->axes[0].key = rf_xstrdup("");
    s->axes[0].vals = rf_xcalloc((size_t)par, sizeof *s->axes[0].vals);
    for (long i = 0; i < par; i++) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%ld", i);
        s->axes[0].vals[i] = rf_xstrdup(tmp);
    }
    s->axes[0].n = (size_t)par;
    s->ntasks = (size_t)par;
    s->spawn_max = (size_t)(trials - par);
}

/* ---------------------------------------------------------- the steps */

/* A trial's time limit (an exec program is killed, the trial failed). */
static void lower_timeout(parser *p, rf_wf_step *s, yaml_node_t *v)
{
    long ms = 0;
    if (rf_workflow_expect_scalar(p, v, "tune.timeout") < 0)
        return;
    if (rf_workflow_parse_duration_ms(rf_workflow_scalar(v), &ms) < 0 || ms <= 0) {
        DIAG(p, v, "tune.timeout \"%s\" is not a duration; write e.g. 30s or 5m",
             rf_workflow_scalar(v));
        return;
    }
    char sec[32];
    snprintf(sec, sizeof sec, "%ld", (ms + 999) / 1000);
    rf_workflow_kv_push(p, &s->with, &s->nwith, "timeout", sec, rf_workflow_loc_of(v));
}

static int tune_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                     void *ud)
{
    (void)k;
    tune_spec *t = ((obj_ctx *)ud)->t;
    rf_wf_step *s = ((obj_ctx *)ud)->s;
    if (!strcmp(key, "space"))
        t->space = v;
    else if (!strcmp(key, "trials"))
        t->trials = v;
    else if (!strcmp(key, "parallel"))
        t->parallel = v;
    else if (!strcmp(key, "objective"))
        parse_objective(p, t, s, v);
    else if (!strcmp(key, "timeout"))
        lower_timeout(p, s, v);
    else if (rf_workflow_in_list(plain_keys, key) &&
             rf_workflow_expect_scalar(p, v, key) == 0) {
        char *val = render(p, v);   /* params only: the search is fixed at submit */
        if (val)
            rf_workflow_kv_push(p, &s->with, &s->nwith, key, val, rf_workflow_content_loc(v));
        free(val);
    }
    return 0;
}

/* The step's own keys that a tune step decides itself. */
static void refuse_owned(parser *p, step_ctx *c)
{
    static const char *const keys[] = {"worker", "foreach", "chain", "spawn", NULL};
    for (size_t i = 0; keys[i]; i++) {
        yaml_node_t *v = rf_workflow_find_key(p, c->node, keys[i]);
        if (v)
            DIAG(p, v, "a tune step sets %s itself (its trials are tune-trial tasks, "
                 "parallel and trials their count); remove it", keys[i]);
    }
    yaml_node_t *with = rf_workflow_find_key(p, c->node, "with");
    for (size_t i = 0; i < c->s->nwith; i++)
        if (rf_workflow_in_list(owned_with, c->s->with[i].key))
            DIAG(p, rf_workflow_find_key(p, with, c->s->with[i].key),
                 "with.%s of a tune step goes under tune:", c->s->with[i].key);
}

/* NAME: the summary, inputs the trials' documents (and checkpoints). */
static void add_summary(parser *p, step_ctx **ctxs, size_t i, const char *name,
                        const char *trials, int train)
{
    rf_workflow *wf = p->wf;
    wf->steps = rf_xrealloc(wf->steps, (wf->nsteps + 1) * sizeof *wf->steps);
    *ctxs = rf_xrealloc(*ctxs, (wf->nsteps + 1) * sizeof **ctxs);
    rf_wf_step *src = &wf->steps[i], *s = &wf->steps[wf->nsteps];
    step_ctx *c = &(*ctxs)[wf->nsteps++];
    memset(s, 0, sizeof *s);
    memset(c, 0, sizeof *c);
    c->s = s;
    c->node = (*ctxs)[i].node;
    c->when_node = (*ctxs)[i].when_node; /* the summary runs under the same when */
    c->when_file = (*ctxs)[i].when_file;
    s->name = rf_xstrdup(name);
    s->desc = src->desc ? rf_xstrdup(src->desc) : NULL;
    s->worker = rf_xstrdup("tune-trial");
    s->loc = src->loc;
    s->ntasks = 1;
    s->retry = (rf_wf_retry){2, 1000, 60000, 0.2};
    s->timeout_ms = 3600000;
    s->priority = src->priority;
    s->pool = rf_xstrdup(src->pool);
    s->tier = src->tier;
    s->cache = src->cache;
    s->when = src->when ? rf_xstrdup(src->when) : NULL;
    s->from_tune = 2;
    char ref[400];
    snprintf(ref, sizeof ref, "steps.%s.outputs.trial", trials);
    rf_workflow_kv_push(p, &s->inputs, &s->ninputs, "trials", ref, s->loc);
    if (train) {
        snprintf(ref, sizeof ref, "steps.%s.outputs.checkpoint", trials);
        rf_workflow_kv_push(p, &s->inputs, &s->ninputs, "checkpoints", ref, s->loc);
    }
    rf_workflow_kv_push(p, &s->with, &s->nwith, "summary", "true", s->loc);
}

void rf_workflow_lower_tune(parser *p, step_ctx **ctxs, size_t i)
{
    step_ctx *c = &(*ctxs)[i];
    rf_wf_step *s = c->s;
    tune_spec t = {.node = c->tune, .metrics = RF_BUF_INIT, .directions = RF_BUF_INIT};
    obj_ctx oc = {&t, s, 0};
    refuse_owned(p, c);
    rf_workflow_each_pair(p, c->tune, tune_keys, "tune", tune_pair, &oc);
    free(s->worker);
    s->worker = rf_xstrdup("tune-trial");
    s->from_tune = 1;
    rf_workflow_kv_push(p, &s->with, &s->nwith, "trial", "${{ index }}",
                        rf_workflow_loc_of(c->tune));
    if (t.n_metrics)
        rf_workflow_kv_push(p, &s->with, &s->nwith, "objective", t.metrics.data,
                            t.metric_loc);
    if (t.n_dirs)
        rf_workflow_kv_push(p, &s->with, &s->nwith, "direction", t.directions.data,
                            t.dir_loc);
    if (t.exec)
        rf_workflow_kv_push(p, &s->with, &s->nwith, "exec", t.exec,
                            rf_workflow_loc_of(c->tune));
    lower_space(p, s, &t);
    lower_counts(p, s, &t);
    char trials[300];
    snprintf(trials, sizeof trials, "%s-trials", s->name);
    if (strlen(s->name) > 200 || rf_workflow_step(p->wf, trials, NULL))
        DIAG(p, c->tune, "tune step \"%s\": its trials step \"%s\" is taken (or the "
             "name is too long); rename one", s->name, trials);
    char *name = s->name;
    s->name = rf_xstrdup(trials);
    add_summary(p, ctxs, i, name, trials, !t.exec);   /* s moves */
    free(name);
    rf_buf_free(&t.metrics), rf_buf_free(&t.directions);
    free(t.exec);
}
