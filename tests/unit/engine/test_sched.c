/* Scheduler tests against a real redis-server (RF_TEST_REDIS_URL, started
 * by tests/run.sh): DAG expansion, a 1000-task DAG, chains passing outputs,
 * fan-in, `when`, memoization, retries then dead letter, retry of a failed
 * run, cancel and resume, dynamic steps. Tasks are run by a scripted worker
 * in this process that takes and commits through the real queue; its
 * behaviour comes from each task's parameters:
 *   fail=N     fail (retryably) the first N attempts
 *   m_NAME=V   report metric NAME = V
 *   spawn=K    report metric spawn = K
 * and every task outputs "out" = mem://TASK-ID plus its inputs echoed as
 * metrics in_NAME = number of URLs. Each test uses its own key prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "engine/rf_dag.h"
#include "engine/rf_queue.h"
#include "engine/rf_redis.h"
#include "engine/rf_sched.h"
#include "engine/rf_workflow.h"

typedef struct env {
    rf_redis *r;
    rf_queue *q;
    rf_sched *s;
    char prefix[64];
    size_t executed;     /* tasks the scripted worker ran (committed) */
    size_t attempts;     /* takes, including failed attempts */
    char ran[4096];      /* "step/idx " of each committed task */
} env;

static const char *redis_url(void)
{
    const char *u = getenv("RF_TEST_REDIS_URL");
    return u ? u : "redis://127.0.0.1:6379/0";
}

static int setup(void **state)
{
    static int counter;
    env *e = rf_xcalloc(1, sizeof *e);
    snprintf(e->prefix, sizeof e->prefix, "ts%d-%d-%ld:", (int)getpid(), ++counter,
             (long)time(NULL));
    rf_err err;
    rf_redis_opts ro;
    rf_redis_opts_default(&ro);
    ro.retry_ms = 2000;
    if (rf_redis_connect(redis_url(), &ro, &e->r, &err) < 0) {
        fprintf(stderr, "redis: %s\n", err.msg);
        return -1;
    }
    rf_queue_opts qo;
    rf_queue_opts_default(&qo);
    qo.prefix = e->prefix;
    qo.lease_ms = 1000;
    rf_queue_open(e->r, &qo, &e->q, &err);
    rf_sched_opts so;
    rf_sched_opts_default(&so);
    so.claim_idle_ms = 500;
    rf_sched_open(e->r, e->q, &so, &e->s, &err);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    rf_sched_close(e->s);
    rf_queue_close(e->q);
    rf_redis_close(e->r);
    free(e);
    return 0;
}

static rf_workflow *load(const char *yaml, const char *const *ov, size_t nov)
{
    rf_workflow *wf = NULL;
    rf_wf_diags d = {0};
    rf_err err;
    if (rf_workflow_parse(yaml, strlen(yaml), "/t/w.yaml", ov, nov, &wf, &d, &err) < 0) {
        rf_wf_diags_print(&d, "w.yaml", stderr);
        rf_wf_diags_free(&d);
    }
    assert_non_null(wf);
    return wf;
}

/* The text of a list=TEXT parameter as a file:// URL (a static buffer). */
static const char *write_list(env *e, const char *id, const char *text)
{
    static char url[600];
    char path[512];
    snprintf(path, sizeof path, "/tmp/%s%s.list", e->prefix, id);
    for (char *c = path + 5; *c; c++)
        if (*c == '/' || *c == ':')
            *c = '_';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(url, sizeof url, "file://%s", path);
    return url;
}

/* Run one batch of tasks as the scripted worker. Returns tasks taken. */
static size_t work(env *e, const char *const *types, size_t ntypes)
{
    rf_lease *l;
    size_t n;
    rf_err err;
    assert_int_equal(rf_queue_take(e->q, "default", types, ntypes, "tw", 64, &l, &n, &err),
                     0);
    for (size_t i = 0; i < n; i++) {
        e->attempts++;
        json_t *p = json_loads(l[i].params, 0, NULL), *in = json_loads(l[i].inputs, 0, NULL);
        long fails = strtol(json_string_value(json_object_get(p, "fail")) ? json_string_value(json_object_get(p, "fail")) : "0", NULL, 10);
        if (l[i].attempt <= fails) {
            rf_lease_ref ref = {l[i].id, l[i].token};
            assert_int_equal(rf_queue_fail(e->q, &ref, 1, "scripted failure", NULL, &err), 0);
            json_decref(p), json_decref(in);
            continue;
        }
        json_t *met = json_object(), *out = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(p, k, v) {
            if (!strncmp(k, "m_", 2))
                json_object_set_new(met, k + 2, json_real(strtod(json_string_value(v), NULL)));
            if (!strcmp(k, "spawn"))
                json_object_set_new(met, "spawn", json_real(strtod(json_string_value(v), NULL)));
        }
        json_object_foreach(in, k, v) {
            char name[160];
            snprintf(name, sizeof name, "in_%s", k);
            json_object_set_new(met, name, json_integer((json_int_t)json_array_size(v)));
        }
        char url[300];
        snprintf(url, sizeof url, "mem://%s", l[i].id);
        json_object_set_new(out, "out", json_string(url));
        const char *list = json_string_value(json_object_get(p, "list"));
        if (list)   /* list=TEXT: a real file, output "list" (foreach over it) */
            json_object_set_new(out, "list", json_string(write_list(e, l[i].id, list)));
        char *mt = json_dumps(met, JSON_COMPACT), *ot = json_dumps(out, JSON_COMPACT);
        rf_task_result res = {l[i].id, l[i].token, ot, mt};
        int status;
        assert_int_equal(rf_queue_commit(e->q, &res, 1, &status, &err), 0);
        e->executed++;
        size_t used = strlen(e->ran);
        snprintf(e->ran + used, sizeof e->ran - used, "%s/%ld ", l[i].step, l[i].index);
        free(mt), free(ot);
        json_decref(met), json_decref(out), json_decref(p), json_decref(in);
    }
    rf_leases_free(l, n);
    return n;
}

static const char *const all_types[] = {"noop", "sleep", "train-stage", "eval-fold",
                                        "preprocess", "tune-trial"};

static char *state_of(env *e, const char *run)
{
    rf_run_status st;
    rf_err err;
    assert_int_equal(rf_sched_status(e->s, run, &st, &err), 0);
    char *s = rf_xstrdup(st.state);
    rf_run_status_free(&st);
    return s;
}

/* Drive scheduler and worker until the run leaves "running" (or timeout). */
static char *drive(env *e, const char *run, int with_worker, double max_s)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        rf_err err;
        size_t handled;
        if (rf_sched_poll(e->s, 20, &handled, &err) < 0)
            fail_msg("poll: %s", err.msg);
        if (with_worker)
            work(e, all_types, 6);
        char *st = state_of(e, run);
        if (strcmp(st, "running"))
            return st;
        free(st);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > max_s)
            return rf_xstrdup("timeout");
        if (rf_sched_maintain(e->s, 0, &err) < 0)
            fail_msg("maintain: %s", err.msg);
    }
}

/* Keep scheduler and worker going for ms (tasks outliving a failed run). */
static void settle(env *e, long ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        rf_err err;
        size_t handled;
        assert_int_equal(rf_sched_poll(e->s, 10, &handled, &err), 0);
        work(e, all_types, 6);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static char *submit(env *e, rf_workflow *wf, int no_cache)
{
    rf_submit_opts o = {no_cache, NULL};
    char *run;
    rf_err err;
    int rc = rf_sched_submit(e->s, wf, &o, &run, &err);
    if (rc)
        fprintf(stderr, "submit: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return run;
}

static json_t *results(env *e, const char *run, const char *step)
{
    char *txt;
    rf_err err;
    assert_int_equal(rf_sched_results(e->s, run, step, &txt, &err), 0);
    json_t *j = json_loads(txt, 0, NULL);
    free(txt);
    return j;
}

static double metric(json_t *arr, size_t i, const char *name)
{
    return json_number_value(json_object_get(json_object_get(json_array_get(arr, i), "m"), name));
}

/* ---------------------------------------------------------------- tests */

static void test_expand_and_plan_roundtrip(void **state)
{
    (void)state;
    static const char y[] =
        "name: ex\nparams: {n: 3}\nsteps:\n"
        "  a: {worker: noop}\n"
        "  b: {worker: noop, foreach: {range: \"${{ params.n }}\"}, needs: a}\n"
        "  c: {worker: noop, chain: [x, y], needs: b}\n"
        "  d: {worker: noop, foreach: {matrix: {p: [1, 2], q: [u, v, w]}}}\n";
    rf_workflow *wf = load(y, NULL, 0);
    rf_dag_task *t;
    size_t n;
    rf_err err;
    assert_int_equal(rf_dag_expand(wf, &t, &n, &err), 0);
    assert_int_equal(n, 1 + 3 + 2 + 6);
    /* Dependency order: a before b's tasks before c's. */
    size_t pos_a = 99, pos_c1 = 0, last_b = 0;
    for (size_t i = 0; i < n; i++) {
        const char *nm = wf->steps[t[i].step].name;
        if (!strcmp(nm, "a"))
            pos_a = i;
        if (!strcmp(nm, "b"))
            last_b = i;
        if (!strcmp(nm, "c") && t[i].index == 1) {
            pos_c1 = i;
            assert_int_equal(t[i].after, 1);
        }
    }
    assert_true(pos_a < last_b && last_b < pos_c1);
    free(t);
    char *plan = rf_dag_plan_json(wf, NULL);
    assert_non_null(strstr(plan, "\"range\":[0,1,3]"));
    rf_workflow *back;
    assert_int_equal(rf_dag_plan_load(plan, &back, NULL, &err), 0);
    assert_int_equal(back->nsteps, 4);
    const rf_wf_step *d = rf_workflow_step(back, "d", NULL);
    assert_int_equal(d->ntasks, 6);
    assert_string_equal(rf_wf_item(d, 1, 5), "w");
    assert_string_equal(rf_wf_item(rf_workflow_step(back, "b", NULL), 0, 2), "2");
    assert_true(d->retry.jitter > 0.19999 && d->retry.jitter < 0.20001);  /* the default */
    char *again = rf_dag_plan_json(back, NULL);
    assert_string_equal(plan, again);
    free(plan), free(again);
    rf_workflow_free(back);
    rf_workflow_free(wf);
}

static void test_thousand_task_dag(void **state)
{
    env *e = *state;
    static const char y[] =
        "name: big\nparams: {w: 330}\nsteps:\n"
        "  root: {worker: noop}\n"
        "  l: {worker: noop, foreach: {range: \"${{ params.w }}\"}, needs: root, with: {i: \"${{ item }}\"}}\n"
        "  r: {worker: noop, foreach: {range: \"${{ params.w }}\"}, needs: root, with: {i: \"${{ item }}\"}}\n"
        "  j: {worker: noop, needs: [l, r], inputs: {all: steps.l.outputs.out}}\n"
        "  c: {worker: noop, chain: {range: 5}, needs: j, with: {k: \"${{ item }}\"}}\n"
        "  z: {worker: noop, foreach: {range: \"${{ params.w }}\"}, needs: c, with: {i: \"${{ item }}\"}}\n"
        "  end: {worker: noop, needs: z}\n";
    rf_workflow *wf = load(y, NULL, 0);
    char *run = submit(e, wf, 1);   /* l, r and z have equal tasks: no cache */
    char *st = drive(e, run, 1, 60);
    assert_string_equal(st, "succeeded");
    assert_int_equal(e->executed, 1 + 330 * 3 + 1 + 5 + 1);
    json_t *j = results(e, run, "j");
    assert_int_equal((int)metric(j, 0, "in_all"), 330);   /* fan-in: every output */
    json_decref(j);
    rf_run_status rs;
    rf_err err;
    assert_int_equal(rf_sched_status(e->s, run, &rs, &err), 0);
    assert_int_equal(rs.total, 1 + 330 * 3 + 1 + 5 + 1);
    assert_int_equal(rs.finished, rs.total);
    rf_run_status_free(&rs);
    free(st), free(run);
    rf_workflow_free(wf);
}

static void test_chain_passes_outputs_and_when(void **state)
{
    env *e = *state;
    static const char y[] =
        "name: cur\nsteps:\n"
        "  data: {worker: preprocess}\n"
        "  train:\n"
        "    worker: train-stage\n"
        "    chain: [trivial, easy, hard]\n"
        "    inputs: {dataset: steps.data.outputs.out, init: prev.outputs.out}\n"
        "    with: {level: \"${{ item }}\", m_graduated: \"${{ index }}\"}\n"
        "  remedial:\n"
        "    worker: train-stage\n"
        "    when: ${{ steps.train.metrics.graduated }} == 2\n"
        "    inputs: {init: steps.train.outputs.out}\n"
        "    with: {from: \"${{ steps.train.outputs.out }}\"}\n"
        "  never:\n"
        "    worker: noop\n"
        "    when: ${{ steps.train.metrics.graduated }} < 1\n"
        "  after: {worker: noop, needs: [never, remedial]}\n";
    rf_workflow *wf = load(y, NULL, 0);
    char *run = submit(e, wf, 0);
    char *st = drive(e, run, 1, 30);
    assert_string_equal(st, "succeeded");
    json_t *t = results(e, run, "train");
    assert_int_equal(json_array_size(t), 3);
    assert_int_equal((int)metric(t, 0, "in_init"), 0);     /* first: nothing before */
    assert_int_equal((int)metric(t, 1, "in_init"), 1);
    assert_int_equal((int)metric(t, 2, "in_dataset"), 1);
    json_decref(t);
    json_t *r = results(e, run, "remedial");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "h")), "done");
    json_decref(r);
    json_t *nv = results(e, run, "never");
    assert_string_equal(json_string_value(json_object_get(json_array_get(nv, 0), "h")), "skip");
    json_decref(nv);
    /* Chain order: each link after the previous. */
    const char *a = strstr(e->ran, "train/0"), *b = strstr(e->ran, "train/1"),
               *c = strstr(e->ran, "train/2");
    assert_true(a && b && c && a < b && b < c);
    /* The remedial task saw the chain's last output. */
    rf_task_info info;
    rf_err err;
    rf_buf id = RF_BUF_INIT;
    rf_buf_addf(&id, "%s/remedial/0", run);
    assert_int_equal(rf_queue_get(e->q, id.data, &info, &err), 1);
    char want[300];
    snprintf(want, sizeof want, "mem://%s/train/2", run);
    assert_non_null(strstr(info.state, "done"));
    rf_task_info_free(&info);
    rf_buf_free(&id);
    (void)want;
    free(st), free(run);
    rf_workflow_free(wf);
}

static void test_memoization(void **state)
{
    env *e = *state;
    static const char y[] =
        "name: memo\nparams: {lr: 0.1}\nsteps:\n"
        "  a: {worker: noop, with: {x: 1}}\n"
        "  b: {worker: noop, inputs: {i: steps.a.outputs.out}, with: {lr: \"${{ params.lr }}\"}}\n"
        "  c: {worker: noop, foreach: [1, 2, 3], inputs: {i: steps.b.outputs.out}, with: {k: \"${{ item }}\"}}\n"
        "  u: {worker: noop, cache: false, needs: a}\n";
    rf_workflow *wf = load(y, NULL, 0);
    char *run1 = submit(e, wf, 0);
    char *st = drive(e, run1, 1, 30);
    assert_string_equal(st, "succeeded");
    free(st);
    assert_int_equal(e->executed, 6);
    /* Unchanged: only the uncacheable step runs. */
    e->executed = 0, e->ran[0] = 0;
    char *run2 = submit(e, wf, 0);
    st = drive(e, run2, 1, 30);
    assert_string_equal(st, "succeeded");
    free(st);
    assert_int_equal(e->executed, 1);
    assert_string_equal(e->ran, "u/0 ");
    json_t *c = results(e, run2, "c");
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 2), "h")), "cache");
    json_decref(c);
    /* One parameter changed: b re-runs; a stays cached. b's output URL is
     * new here (mem://RUN/b/0), so its dependents c re-run too. */
    rf_workflow_free(wf);
    const char *ov[] = {"lr=0.2"};
    wf = load(y, ov, 1);
    e->executed = 0, e->ran[0] = 0;
    char *run3 = submit(e, wf, 0);
    st = drive(e, run3, 1, 30);
    assert_string_equal(st, "succeeded");
    free(st);
    assert_null(strstr(e->ran, "a/0"));
    assert_non_null(strstr(e->ran, "b/0"));
    assert_int_equal(e->executed, 1 + 3 + 1);
    /* --no-cache runs everything. */
    e->executed = 0;
    char *run4 = submit(e, wf, 1);
    st = drive(e, run4, 1, 30);
    assert_string_equal(st, "succeeded");
    assert_int_equal(e->executed, 6);
    free(st), free(run1), free(run2), free(run3), free(run4);
    rf_workflow_free(wf);
}

static void test_retries_then_dead_then_retry(void **state)
{
    env *e = *state;
    static const char y[] =
        "name: flaky\nsteps:\n"
        "  ok: {worker: noop, with: {fail: 2}, retries: {count: 2, backoff: 10ms, cap: 20ms}}\n"
        "  bad: {worker: noop, with: {fail: 9}, retries: {count: 1, backoff: 10ms}}\n"
        "  after: {worker: noop, needs: [ok, bad]}\n";
    rf_workflow *wf = load(y, NULL, 0);
    char *run = submit(e, wf, 1);
    char *st = drive(e, run, 1, 30);
    assert_string_equal(st, "failed");
    free(st);
    settle(e, 300);   /* "ok" is still retrying: a failed run lets it finish */
    rf_run_status rs;
    rf_err err;
    assert_int_equal(rf_sched_status(e->s, run, &rs, &err), 0);
    assert_string_equal(rs.state, "failed");
    assert_non_null(strstr(rs.error, "bad/0"));
    assert_non_null(strstr(rs.error, "scripted failure"));
    assert_int_equal(rs.failed, 1);
    assert_int_equal(rs.steps[0].done + rs.steps[1].done, 1);   /* ok made it */
    rf_run_status_free(&rs);
    /* The dead letter holds the reason. */
    rf_dead *dl;
    size_t n;
    assert_int_equal(rf_queue_dlq_list(e->q, NULL, NULL, 10, &dl, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_non_null(strstr(dl[0].reason, "scripted failure"));
    assert_int_equal(dl[0].attempts, 2);
    rf_dead_free(dl, n);
    /* retry: the dead task gets a fresh budget (fail=9 still fails twice more,
     * then is dead again): the run fails again, after 2 more attempts. */
    size_t before = e->attempts, count;
    assert_int_equal(rf_sched_retry(e->s, run, &count, &err), 0);
    assert_int_equal(count, 1);
    st = drive(e, run, 1, 30);
    assert_string_equal(st, "failed");
    assert_int_equal(e->attempts - before, 2);
    assert_int_equal(rf_sched_retry(e->s, "no-such-run", &count, &err), -1);
    free(st), free(run);
    rf_workflow_free(wf);
}

static void test_dispatch_failure_is_reported(void **state)
{
    env *e = *state;
    static const char y[] =
        "name: missing\nsteps:\n"
        "  a: {worker: noop}\n"
        "  b: {worker: noop, inputs: {x: steps.a.outputs.nosuch}}\n";
    rf_workflow *wf = load(y, NULL, 0);
    char *run = submit(e, wf, 0);
    char *st = drive(e, run, 1, 30);
    assert_string_equal(st, "failed");
    rf_run_status rs;
    rf_err err;
    assert_int_equal(rf_sched_status(e->s, run, &rs, &err), 0);
    assert_non_null(strstr(rs.error, "no output \"nosuch\" (it has: out)"));
    rf_run_status_free(&rs);
    free(st), free(run);
    rf_workflow_free(wf);
}

static void test_cancel_and_resume(void **state)
{
    env *e = *state;
    static const char y[] =
        "name: long\nsteps:\n"
        "  a: {worker: noop, foreach: {range: 50}, with: {i: \"${{ item }}\"}}\n"
        "  b: {worker: noop, needs: a}\n";
    rf_workflow *wf = load(y, NULL, 0);
    char *run = submit(e, wf, 1);
    /* Dispatch without a worker: 50 queued tasks. */
    char *st = drive(e, run, 0, 0.3);
    assert_string_equal(st, "timeout");
    free(st);
    rf_queue_stat *qs;
    size_t nq;
    rf_err err;
    assert_int_equal(rf_queue_stats(e->q, &qs, &nq, &err), 0);
    assert_int_equal(nq, 1);
    assert_int_equal(qs[0].ready, 50);
    free(qs);
    assert_int_equal(rf_sched_cancel(e->s, run, &err), 0);
    assert_int_equal(rf_sched_cancel(e->s, run, &err), -1);
    assert_int_equal(err.code, RF_ESTATE);
    assert_int_equal(rf_queue_stats(e->q, &qs, &nq, &err), 0);
    assert_int_equal(qs[0].ready, 0);
    free(qs);
    st = state_of(e, run);
    assert_string_equal(st, "cancelled");
    free(st);
    assert_int_equal(work(e, all_types, 6), 0);   /* nothing to take */
    /* Resume: the cancelled tasks run after all. */
    assert_int_equal(rf_sched_resume(e->s, run, &err), 0);
    st = drive(e, run, 1, 30);
    assert_string_equal(st, "succeeded");
    assert_int_equal(e->executed, 51);
    free(st), free(run);
    rf_workflow_free(wf);
}

static void test_dynamic_spawn(void **state)
{
    env *e = *state;
    static const char y[] =
        "name: tune\nsteps:\n"
        "  trials:\n"
        "    worker: tune-trial\n"
        "    foreach: [a, b]\n"
        "    spawn: 3\n"
        "    with: {spawn: \"${{ item }}\"}\n"
        "  best: {worker: noop, inputs: {all: steps.trials.outputs.out}}\n";
    /* "a" and "b" are not numbers: spawn metric 0. Use index instead. */
    static const char y2[] =
        "name: tune\nsteps:\n"
        "  trials:\n"
        "    worker: tune-trial\n"
        "    foreach: [2, 2]\n"
        "    spawn: 3\n"
        "    with: {spawn: \"${{ item }}\"}\n"
        "  best: {worker: noop, inputs: {all: steps.trials.outputs.out}}\n";
    (void)y;
    rf_workflow *wf = load(y2, NULL, 0);
    char *run = submit(e, wf, 1);
    char *st = drive(e, run, 1, 30);
    assert_string_equal(st, "succeeded");
    json_t *t = results(e, run, "trials");
    /* 2 static + at most 3 spawned; spawned tasks see the step's history. */
    assert_int_equal(json_array_size(t), 5);
    assert_true(metric(t, 4, "in_history_out") >= 2);
    json_decref(t);
    json_t *b = results(e, run, "best");
    assert_int_equal((int)metric(b, 0, "in_all"), 5);
    json_decref(b);
    free(st), free(run);
    rf_workflow_free(wf);
}

/* foreach over a step's output: items known when it finishes, objects give
 * item.KEY; an empty list gives zero tasks and the run goes on; a list
 * that is not one fails the run with the reason; the cap on tasks holds. */
static void test_foreach_from_output(void **state)
{
    env *e = *state;
    static const char y[] =
        "name: fan\nsteps:\n"
        "  configs:\n    worker: noop\n"
        "    with: {list: '[{\"lr\": 0.1}, {\"lr\": 0.01}, {\"lr\": 0.001}]'}\n"
        "  empty: {worker: noop, with: {list: '[]'}}\n"
        "  trial:\n    worker: noop\n    foreach: ${{ steps.configs.outputs.list }}\n"
        "    with: {m_lr: \"${{ item.lr }}\", m_i: \"${{ index }}\"}\n"
        "  none:\n    worker: noop\n    foreach: ${{ steps.empty.outputs.list }}\n"
        "  after: {worker: noop, needs: [trial, none], inputs: {t: steps.trial.outputs.out}}\n";
    rf_workflow *wf = load(y, NULL, 0);
    char *run = submit(e, wf, 1);
    char *st = drive(e, run, 1, 30);
    assert_string_equal(st, "succeeded");
    json_t *t = results(e, run, "trial");
    assert_int_equal(json_array_size(t), 3);
    assert_true(metric(t, 0, "lr") == 0.1 && metric(t, 2, "lr") == 0.001);
    assert_true(metric(t, 1, "i") == 1);
    json_decref(t);
    json_t *none = results(e, run, "none");
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    json_t *a = results(e, run, "after");
    assert_int_equal((int)metric(a, 0, "in_t"), 3);
    json_decref(a);
    free(st), free(run);
    rf_workflow_free(wf);

    static const char bad[] =
        "name: fan\nsteps:\n"
        "  configs: {worker: noop, with: {list: '{\"lr\": 0.1}'}}\n"
        "  trial: {worker: noop, foreach: \"${{ steps.configs.outputs.list }}\"}\n";
    wf = load(bad, NULL, 0);
    run = submit(e, wf, 1);
    st = drive(e, run, 1, 30);
    assert_string_equal(st, "failed");
    rf_run_status rs;
    rf_err err;
    assert_int_equal(rf_sched_status(e->s, run, &rs, &err), 0);
    assert_non_null(strstr(rs.error, "trial/0: foreach ${{ steps.configs.outputs.list }}"));
    assert_non_null(strstr(rs.error, "a JSON object, not a list"));
    rf_run_status_free(&rs);
    free(st), free(run);
    rf_workflow_free(wf);

    /* 2 static tasks and a cap of 4: 3 items are too many. */
    static const char big[] =
        "name: fan\nsteps:\n"
        "  configs: {worker: noop, with: {list: \"1\\n2\\n3\\n\"}}\n"
        "  other: {worker: noop}\n"
        "  trial: {worker: noop, foreach: \"${{ steps.configs.outputs.list }}\"}\n";
    rf_wf_diags d = {0};
    d.max_tasks = 4;
    assert_int_equal(rf_workflow_parse(big, sizeof big - 1, "/t/w.yaml", NULL, 0, &wf, &d,
                                       &err), 0);
    run = submit(e, wf, 1);
    st = drive(e, run, 1, 30);
    assert_string_equal(st, "failed");
    assert_int_equal(rf_sched_status(e->s, run, &rs, &err), 0);
    assert_non_null(strstr(rs.error, "more than 2 items"));
    rf_run_status_free(&rs);
    free(st), free(run);
    rf_workflow_free(wf);
}

/* The text of output "list" of task i of a step (a file written by the
 * scripted worker), malloc'd. */
static char *list_text(json_t *res, size_t i)
{
    const char *url = json_string_value(json_object_get(
        json_object_get(json_array_get(res, i), "o"), "list"));
    assert_non_null(url);
    FILE *f = fopen(url + 7, "r");
    assert_non_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return rf_xstrdup(buf);
}

/* on_exit steps run after the main steps whatever the outcome, see
 * workflow.status and workflow.failures; the run ends as its main steps
 * did, except that a failed exit step fails a run that succeeded (Argo). */
static void test_on_exit(void **state)
{
    env *e = *state;
    static const char y[] =
        "name: ex\nparams: {fail: 0}\nsteps:\n"
        "  a: {worker: noop, retries: 0, with: {fail: \"${{ params.fail }}\"}}\n"
        "  b: {worker: noop, needs: a}\n"
        "on_exit:\n"
        "  report:\n    worker: noop\n"
        "    with: {list: \"${{ workflow.status }} ${{ workflow.failures }}\"}\n"
        "  alert: {worker: noop, needs: report, when: \"${{ workflow.status }} == failed\"}\n";
    rf_workflow *wf = load(y, NULL, 0);
    char *run = submit(e, wf, 1);
    char *st = drive(e, run, 1, 30);
    assert_string_equal(st, "succeeded");
    json_t *r = results(e, run, "report");
    char *txt = list_text(r, 0);
    assert_string_equal(txt, "succeeded []");
    free(txt);
    json_decref(r);
    r = results(e, run, "alert");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "h")), "skip");
    json_decref(r);
    free(st), free(run);
    rf_workflow_free(wf);

    /* a fails: b never runs, the exit steps do, and the run fails. */
    const char *ov[] = {"fail=5"};
    wf = load(y, ov, 1);
    run = submit(e, wf, 1);
    st = drive(e, run, 1, 30);
    assert_string_equal(st, "failed");
    r = results(e, run, "report");
    txt = list_text(r, 0);
    assert_non_null(strstr(txt, "failed [{\"step\":\"a\",\"index\":0,\"error\":"));
    free(txt);
    json_decref(r);
    r = results(e, run, "alert");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "h")), "done");
    json_decref(r);
    r = results(e, run, "b");
    assert_true(json_is_null(json_array_get(r, 0)));
    json_decref(r);
    rf_run_status rs;
    rf_err err;
    assert_int_equal(rf_sched_status(e->s, run, &rs, &err), 0);
    assert_string_equal(rs.main, "failed");
    assert_non_null(strstr(rs.error, "a/0: "));
    rf_run_status_free(&rs);
    free(st), free(run);
    rf_workflow_free(wf);
}

/* A failed exit step fails a run whose main steps succeeded, and says so. */
static void test_on_exit_failure(void **state)
{
    env *e = *state;
    static const char y[] =
        "name: ex\nsteps:\n  a: {worker: noop}\n"
        "on_exit: {worker: noop, retries: 0, with: {fail: 3}}\n";
    rf_workflow *wf = load(y, NULL, 0);
    char *run = submit(e, wf, 1);
    char *st = drive(e, run, 1, 30);
    assert_string_equal(st, "failed");
    rf_run_status rs;
    rf_err err;
    assert_int_equal(rf_sched_status(e->s, run, &rs, &err), 0);
    assert_string_equal(rs.main, "succeeded");
    assert_non_null(strstr(rs.exit_error, "on_exit/0: "));
    assert_string_equal(rs.error, rs.exit_error);
    rf_run_status_free(&rs);
    free(st), free(run);
    rf_workflow_free(wf);
}

/* Cancel: the main steps' tasks stop, the exit steps run, the run ends
 * cancelled; resume runs the rest and the exit steps again. */
static void test_on_exit_cancel(void **state)
{
    env *e = *state;
    static const char y[] =
        "name: ex\nsteps:\n  a: {worker: noop}\n  b: {worker: noop, needs: a}\n"
        "on_exit:\n  bye: {worker: noop, with: {list: \"${{ workflow.status }}\"}}\n";
    rf_workflow *wf = load(y, NULL, 0);
    char *run = submit(e, wf, 1);
    rf_err err;
    size_t handled;
    assert_int_equal(rf_sched_poll(e->s, 50, &handled, &err), 0);   /* a is queued */
    assert_int_equal(rf_sched_cancel(e->s, run, &err), 0);
    char *st = state_of(e, run);
    assert_string_equal(st, "running");       /* the exit step is to run */
    free(st);
    st = drive(e, run, 1, 30);
    assert_string_equal(st, "cancelled");
    json_t *r = results(e, run, "bye");
    char *txt = list_text(r, 0);
    assert_string_equal(txt, "cancelled");
    free(txt);
    json_decref(r);
    r = results(e, run, "a");
    assert_true(json_is_null(json_array_get(r, 0)));
    json_decref(r);
    free(st);
    assert_int_equal(rf_sched_resume(e->s, run, &err), 0);
    st = drive(e, run, 1, 30);
    assert_string_equal(st, "succeeded");
    r = results(e, run, "bye");
    txt = list_text(r, 0);
    assert_string_equal(txt, "succeeded");
    free(txt);
    json_decref(r);
    free(st), free(run);
    rf_workflow_free(wf);
}

/* Drive until the step shows waiting for approval (or timeout). */
static int until_waiting(env *e, const char *run, const char *step, double max_s)
{
    for (int i = 0; i < (int)(max_s * 50); i++) {
        rf_err err;
        size_t handled;
        assert_int_equal(rf_sched_poll(e->s, 20, &handled, &err), 0);
        work(e, all_types, 6);
        rf_run_status st;
        assert_int_equal(rf_sched_status(e->s, run, &st, &err), 0);
        int w = 0;
        for (size_t k = 0; k < st.nsteps; k++)
            w |= !strcmp(st.steps[k].name, step) && st.steps[k].waiting;
        rf_run_status_free(&st);
        if (w)
            return 1;
    }
    return 0;
}

/* suspend: the gate waits (nothing after it runs), survives a new
 * scheduler, approve lets the run go on; reject fails it; a timeout fails
 * it too; approving what is not waiting is refused. */
static void test_suspend_approve(void **state)
{
    env *e = *state;
    static const char y[] =
        "name: gate\nsteps:\n  a: {worker: noop}\n"
        "  gate: {suspend: true, needs: a}\n  b: {worker: noop, needs: gate}\n";
    rf_workflow *wf = load(y, NULL, 0);
    assert_int_equal(rf_workflow_step(wf, "gate", NULL)->timeout_ms, 0);
    char *run = submit(e, wf, 1);
    rf_err err;
    assert_int_equal(rf_sched_approve(e->s, run, "gate", 1, &err), -1);
    assert_int_equal(err.code, RF_ESTATE);               /* not reached yet */
    assert_true(until_waiting(e, run, "gate", 10));
    settle(e, 200);
    json_t *r = results(e, run, "b");
    assert_true(json_is_null(json_array_get(r, 0)));     /* b waits too */
    json_decref(r);
    /* A scheduler started now (another process, after a restart) sees it. */
    rf_sched_close(e->s);
    rf_sched_opts so;
    rf_sched_opts_default(&so);
    so.claim_idle_ms = 500;
    so.consumer = "restarted";
    assert_int_equal(rf_sched_open(e->r, e->q, &so, &e->s, &err), 0);
    assert_int_equal(rf_sched_maintain(e->s, 1, &err), 0);
    assert_true(until_waiting(e, run, "gate", 5));
    assert_int_equal(rf_sched_approve(e->s, run, "a", 1, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);               /* not a suspend step */
    assert_int_equal(rf_sched_approve(e->s, run, "gate", 1, &err), 0);
    assert_int_equal(rf_sched_approve(e->s, run, "gate", 1, &err), -1);
    assert_int_equal(err.code, RF_ESTATE);               /* decided */
    char *st = drive(e, run, 1, 30);
    assert_string_equal(st, "succeeded");
    r = results(e, run, "b");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "h")), "done");
    json_decref(r);
    free(st), free(run);

    run = submit(e, wf, 1);
    assert_true(until_waiting(e, run, "gate", 10));
    assert_int_equal(rf_sched_approve(e->s, run, "gate", 0, &err), 0);
    st = drive(e, run, 1, 30);
    assert_string_equal(st, "failed");
    rf_run_status rs;
    assert_int_equal(rf_sched_status(e->s, run, &rs, &err), 0);
    assert_non_null(strstr(rs.error, "gate/0: rejected"));
    rf_run_status_free(&rs);
    free(st), free(run);
    rf_workflow_free(wf);

    static const char t[] =
        "name: gate\nsteps:\n  gate: {suspend: true, timeout: 300ms}\n";
    wf = load(t, NULL, 0);
    run = submit(e, wf, 1);
    st = drive(e, run, 1, 30);
    assert_string_equal(st, "failed");
    assert_int_equal(rf_sched_status(e->s, run, &rs, &err), 0);
    assert_non_null(strstr(rs.error, "gate/0: not approved within 300ms"));
    rf_run_status_free(&rs);
    free(st), free(run);
    rf_workflow_free(wf);
}

/* One scheduler of its own (its own Redis connection) in a thread, looking
 * at the schedules as fast as it can for 1.5 s. */
typedef struct cron_looker {
    const char *prefix;
    size_t fired;
    int failed;
} cron_looker;

static void *cron_look(void *ud)
{
    cron_looker *c = ud;
    rf_redis_opts ro;
    rf_redis_opts_default(&ro);
    rf_redis *r;
    rf_queue *q;
    rf_sched *s;
    rf_err err;
    if (rf_redis_connect(redis_url(), &ro, &r, &err) < 0) {
        c->failed = 1;
        return NULL;
    }
    rf_queue_opts qo;
    rf_queue_opts_default(&qo);
    qo.prefix = c->prefix;
    rf_queue_open(r, &qo, &q, &err);
    rf_sched_opts so;
    rf_sched_opts_default(&so);
    so.cron_tick_ms = 100;
    rf_sched_open(r, q, &so, &s, &err);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        size_t k;
        if (rf_sched_cron_tick(s, &k, &err) < 0)
            c->failed = 1;
        c->fired += k;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 1500);
    rf_sched_close(s);
    rf_queue_close(q);
    rf_redis_close(r);
    return NULL;
}

/* cron: two schedulers at once on the same schedule, with a 100 ms tick
 * (the test-only cron_tick_ms): every tick fires exactly once (no tick
 * twice, none skipped), each firing is a run; ls and rm. */
static void test_cron_once_per_tick(void **state)
{
    env *e = *state;
    char path[128];
    snprintf(path, sizeof path, "/tmp/%scron.yaml", e->prefix);
    for (char *c = path + 5; *c; c++)
        if (*c == ':')
            *c = '_';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("name: tick\nparams: {n: 1}\nsteps:\n  a: {worker: noop, with: {n: \"${{ params.n }}\"}}\n", f);
    fclose(f);
    rf_sched *two[2];
    rf_err err;
    for (int i = 0; i < 2; i++) {
        rf_sched_opts so;
        rf_sched_opts_default(&so);
        so.cron_tick_ms = 100;
        so.consumer = i ? "cron-b" : "cron-a";
        assert_int_equal(rf_sched_open(e->r, e->q, &so, &two[i], &err), 0);
    }
    char *id;
    const char *ps[] = {"n=7"};
    assert_int_equal(rf_sched_cron_add(two[0], "bad", path, ps, 1, &id, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    assert_int_equal(rf_sched_cron_add(two[0], "* * * * *", path, ps, 1, &id, &err), 0);
    cron_looker lk[2] = {{e->prefix, 0, 0}, {e->prefix, 0, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, cron_look, &lk[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_false(lk[0].failed || lk[1].failed);
    size_t fired[2] = {lk[0].fired, lk[1].fired};
    rf_cron_entry *v;
    size_t n;
    assert_int_equal(rf_sched_cron_list(two[1], &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, id);
    assert_string_equal(v[0].params[0], "n=7");
    assert_string_equal(v[0].last_error, "");
    assert_true(v[0].last_run[0]);
    rf_cron_entries_free(v, n);
    assert_int_equal(rf_sched_cron_rm(two[0], id, &err), 0);
    assert_int_equal(rf_sched_cron_rm(two[0], id, &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
    /* The log of firings: distinct, consecutive ticks. */
    char key[160];
    snprintf(key, sizeof key, "%scron:log:%s", e->prefix, id);
    const char *argv[] = {"LRANGE", key, "0", "-1"};
    redisReply *rep;
    assert_int_equal(rf_redis_cmdv(e->r, 4, argv, NULL, &rep, &err), 0);
    size_t total = fired[0] + fired[1];
    assert_int_equal(rep->elements, total);
    assert_true(total >= 10 && total <= 16);
    long long prev = 0;
    for (size_t i = rep->elements; i-- > 0;) {   /* oldest first */
        json_t *j = json_loads(rep->element[i]->str, 0, NULL);
        long long tick = (long long)json_integer_value(json_object_get(j, "tick"));
        if (prev)
            assert_int_equal(tick - prev, 100);
        prev = tick;
        json_decref(j);
    }
    freeReplyObject(rep);
    char **ids;
    size_t nruns;
    assert_int_equal(rf_sched_list(e->s, 0, &ids, &nruns, &err), 0);
    assert_int_equal(nruns, total);                 /* one run per firing */
    for (size_t i = 0; i < nruns; i++)
        free(ids[i]);
    free(ids);
    for (int i = 0; i < 2; i++)
        rf_sched_close(two[i]);
    free(id);
    unlink(path);
}

static void test_scheduler_takeover(void **state)
{
    env *e = *state;
    /* A second scheduler claims events the first read but never handled. */
    static const char y[] = "name: take\nsteps:\n  a: {worker: noop}\n  b: {worker: noop, needs: a}\n";
    rf_workflow *wf = load(y, NULL, 0);
    char *run = submit(e, wf, 1);
    rf_err err;
    size_t handled;
    assert_int_equal(rf_sched_poll(e->s, 50, &handled, &err), 0);   /* dispatch a */
    assert_int_equal(work(e, all_types, 6), 1);
    /* A scheduler reads the done event and dies before acknowledging it. */
    const char *argv[] = {"XREADGROUP", "GROUP", "sched", "doomed", "COUNT", "10",
                          "STREAMS", rf_queue_events_key(e->q), ">"};
    redisReply *rep;
    assert_int_equal(rf_redis_cmdv(e->r, 9, argv, NULL, &rep, &err), 0);
    freeReplyObject(rep);
    usleep(600 * 1000);   /* claim_idle_ms is 500 in these tests */
    assert_int_equal(rf_sched_maintain(e->s, 1, &err), 0);
    char *st = drive(e, run, 1, 10);
    assert_string_equal(st, "succeeded");
    free(st), free(run);
    rf_workflow_free(wf);
}

/* A batch of events is finished by one script call (counters added per
 * step, once): 41 commits in one poll release what they should, and the
 * same events delivered again change nothing. */
static void test_finish_batch_and_repeat(void **state)
{
    env *e = *state;
    static const char y[] =
        "name: fb\nsteps:\n"
        "  w: {worker: noop, foreach: {range: 40}, with: {i: \"${{ item }}\"}}\n"
        "  c: {worker: noop, chain: {range: 3}, with: {k: \"${{ item }}\"}}\n"
        "  after: {worker: noop, needs: [w, c]}\n";
    rf_workflow *wf = load(y, NULL, 0);
    char *run = submit(e, wf, 1);
    rf_err err;
    size_t handled;
    assert_int_equal(rf_sched_poll(e->s, 50, &handled, &err), 0);   /* w and c/0 */
    assert_int_equal(work(e, all_types, 6), 41);
    assert_int_equal(rf_sched_poll(e->s, 50, &handled, &err), 0);
    assert_int_equal(handled, 41);   /* one batch */
    rf_run_status rs;
    assert_int_equal(rf_sched_status(e->s, run, &rs, &err), 0);
    assert_int_equal(rs.steps[0].done, 40);
    assert_int_equal(rs.steps[1].done, 1);
    assert_int_equal(rs.finished, 41);
    rf_run_status_free(&rs);
    /* The chain advanced: its next link is ready; "after" still waits. */
    assert_int_equal(work(e, all_types, 6), 1);
    assert_string_equal(e->ran + strlen(e->ran) - 4, "c/1 ");
    /* The 40 done events of w again, as a scheduler that died before its
     * XACK leaves them, and c/1's twice in one batch: finishing twice is
     * harmless. */
    for (int i = 0; i <= 40; i++) {   /* 40: c/1 a second time, in the same batch */
        char id[256], idx[16];
        snprintf(id, sizeof id, "%s/%s/%d", run, i < 40 ? "w" : "c", i < 40 ? i : 1);
        snprintf(idx, sizeof idx, "%d", i < 40 ? i : 1);
        const char *argv[] = {"XADD", rf_queue_events_key(e->q), "*", "ev", "done", "task", id,
                              "run", run, "step", i < 40 ? "w" : "c", "idx", idx, "att", "1"};
        redisReply *rep;
        assert_int_equal(rf_redis_cmdv(e->r, 15, argv, NULL, &rep, &err), 0);
        freeReplyObject(rep);
    }
    assert_int_equal(rf_sched_poll(e->s, 50, &handled, &err), 0);
    assert_int_equal(handled, 42);   /* c/1's own event and the 41 copies */
    assert_int_equal(rf_sched_status(e->s, run, &rs, &err), 0);
    assert_int_equal(rs.steps[0].done, 40);
    assert_int_equal(rs.steps[1].done, 2);
    assert_int_equal(rs.finished, 42);
    assert_string_equal(rs.state, "running");
    rf_run_status_free(&rs);
    char *st = drive(e, run, 1, 10);
    assert_string_equal(st, "succeeded");
    assert_int_equal(e->executed, 40 + 3 + 1);
    /* Every event was acknowledged (by the finish call of its batch). */
    const char *pa[] = {"XPENDING", rf_queue_events_key(e->q), "sched"};
    redisReply *pend;
    assert_int_equal(rf_redis_cmdv(e->r, 3, pa, NULL, &pend, &err), 0);
    assert_int_equal(pend->element[0]->integer, 0);
    freeReplyObject(pend);
    free(st), free(run);
    rf_workflow_free(wf);
}

static long long xlen(env *e)
{
    const char *argv[] = {"XLEN", rf_queue_events_key(e->q)};
    redisReply *rep;
    rf_err err;
    assert_int_equal(rf_redis_cmdv(e->r, 2, argv, NULL, &rep, &err), 0);
    long long n = rep->integer;
    freeReplyObject(rep);
    return n;
}

static void test_retention_trims_finished_runs(void **state)
{
    env *e = *state;
    rf_sched_close(e->s);
    rf_sched_opts so;
    rf_sched_opts_default(&so);
    so.retention_s = 1;
    rf_err err;
    rf_sched_open(e->r, e->q, &so, &e->s, &err);
    static const char y[] = "name: old\nsteps:\n  a: {worker: noop, foreach: [1, 2]}\n";
    rf_workflow *wf = load(y, NULL, 0);
    char *done_run = submit(e, wf, 1);
    char *st = drive(e, done_run, 1, 10);
    assert_string_equal(st, "succeeded");
    free(st);
    char *live_run = submit(e, wf, 1);   /* never worked on: stays running */
    usleep(1300 * 1000);
    long long events_before = xlen(e);
    assert_int_equal(rf_sched_maintain(e->s, 0, &err), 0);
    /* The sweep also drops the events the scheduler acknowledged: the
     * stream keeps at most the last delivered one and what is in flight. */
    long long events_after = xlen(e);
    assert_true(events_before >= 4);
    assert_true(events_after <= 2);
    rf_run_status rs;
    assert_int_equal(rf_sched_status(e->s, done_run, &rs, &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
    rf_task_info info;
    rf_buf id = RF_BUF_INIT;
    rf_buf_addf(&id, "%s/a/1", done_run);
    assert_int_equal(rf_queue_get(e->q, id.data, &info, &err), 0);   /* forgotten */
    rf_buf_free(&id);
    assert_int_equal(rf_sched_status(e->s, live_run, &rs, &err), 0);  /* kept */
    rf_run_status_free(&rs);
    char **ids;
    size_t n;
    assert_int_equal(rf_sched_list(e->s, 10, &ids, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], live_run);
    free(ids[0]), free(ids);
    free(done_run), free(live_run);
    rf_workflow_free(wf);
}

/* retention: {runs: 1}: of three finished runs the newest stays; a run
 * still running is neither deleted nor counted. */
static void test_workflow_retention_runs(void **state)
{
    env *e = *state;
    static const char y[] = "name: keep1\nretention: {runs: 1}\nsteps:\n  a: {worker: noop}\n";
    rf_workflow *wf = load(y, NULL, 0);
    assert_int_equal(wf->keep_runs, 1);
    char *runs[3];
    for (int i = 0; i < 3; i++) {
        runs[i] = submit(e, wf, 1);
        char *st = drive(e, runs[i], 1, 10);
        assert_string_equal(st, "succeeded");
        free(st);
    }
    char *live = submit(e, wf, 1);   /* never worked on */
    size_t deleted = 0;
    rf_err err;
    assert_int_equal(rf_sched_retention(e->s, &deleted, &err), 0);
    assert_int_equal(deleted, 2);
    rf_run_status rs;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rf_sched_status(e->s, runs[i], &rs, &err), -1);
        assert_int_equal(err.code, RF_ENOTFOUND);
    }
    assert_int_equal(rf_sched_status(e->s, runs[2], &rs, &err), 0);
    rf_run_status_free(&rs);
    assert_int_equal(rf_sched_status(e->s, live, &rs, &err), 0);
    rf_run_status_free(&rs);
    /* Applying it again changes nothing. */
    deleted = 0;
    assert_int_equal(rf_sched_retention(e->s, &deleted, &err), 0);
    assert_int_equal(deleted, 0);
    /* A submission without retention removes the policy. */
    static const char y2[] = "name: keep1\nsteps:\n  a: {worker: noop}\n";
    rf_workflow *wf2 = load(y2, NULL, 0);
    char *r4 = submit(e, wf2, 1);
    char *st = drive(e, r4, 1, 10);
    free(st);
    assert_int_equal(rf_sched_retention(e->s, &deleted, &err), 0);
    assert_int_equal(deleted, 0);
    for (int i = 0; i < 3; i++)
        free(runs[i]);
    free(live), free(r4);
    rf_workflow_free(wf);
    rf_workflow_free(wf2);
}

/* delete: refused while running unless forced; --outputs keeps what a
 * cached run still references. */
static void test_delete_and_exclusive_outputs(void **state)
{
    env *e = *state;
    static const char y[] = "name: del\nsteps:\n  a: {worker: noop, foreach: [1, 2], "
                            "with: {i: \"${{ item }}\"}}\n";
    rf_workflow *wf = load(y, NULL, 0);
    rf_err err;
    char *live = submit(e, wf, 1);
    assert_int_equal(rf_sched_delete_check(e->s, live, 0, &err), -1);
    assert_int_equal(err.code, RF_ESTATE);
    assert_non_null(strstr(err.msg, "is running"));
    assert_int_equal(rf_sched_delete_check(e->s, live, 1, &err), 0);   /* cancels */
    assert_int_equal(rf_sched_delete(e->s, live, &err), 0);
    assert_int_equal(rf_sched_delete_check(e->s, live, 0, &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
    /* A runs the tasks; B is served from the cache: same output URLs. */
    char *a = submit(e, wf, 0);
    char *st = drive(e, a, 1, 10);
    free(st);
    char *b = submit(e, wf, 0);
    st = drive(e, b, 1, 10);
    assert_string_equal(st, "succeeded");
    free(st);
    json_t *urls;
    assert_int_equal(rf_sched_exclusive_outputs(e->s, a, &urls, &err), 0);
    assert_int_equal(json_array_size(urls), 0);   /* B references both */
    json_decref(urls);
    size_t n;
    assert_int_equal(rf_sched_forget_cache_of(e->s, a, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rf_sched_delete(e->s, a, &err), 0);
    assert_int_equal(rf_sched_exclusive_outputs(e->s, b, &urls, &err), 0);
    assert_int_equal(json_array_size(urls), 2);
    assert_non_null(strstr(json_string_value(json_array_get(urls, 0)), "mem://"));
    json_decref(urls);
    free(live), free(a), free(b);
    rf_workflow_free(wf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand_and_plan_roundtrip),
        cmocka_unit_test_setup_teardown(test_thousand_task_dag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_passes_outputs_and_when, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memoization, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_then_dead_then_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_failure_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dynamic_spawn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreach_from_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_exit_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_exit_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspend_approve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cron_once_per_tick, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scheduler_takeover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finish_batch_and_repeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_trims_finished_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workflow_retention_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_exclusive_outputs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
