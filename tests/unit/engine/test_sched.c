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
        cmocka_unit_test_setup_teardown(test_scheduler_takeover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_trims_finished_runs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
