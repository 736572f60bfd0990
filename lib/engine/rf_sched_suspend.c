/* rf_sched_suspend: suspend steps (`suspend: true`), an approval gate. When
 * one is dispatched nothing is enqueued: the step is recorded as waiting in
 * the run's `approve` hash (step -> deadline ms, 0 = none), in Redis, so it
 * survives any scheduler's restart. `ruvflow approve` finishes its task as
 * done and releases what needs it; `ruvflow reject`, or the deadline
 * passing (rf_sched_maintain), fails it and with it the run. */
#include "engine/rf_sched_impl.h"

static void approve_key(rf_buf *k, rf_sched *s, const char *run)
{
    rf_sched_key_of(k, s, run, ":approve");
}

int rf_sched_suspend_wait(rf_sched *s, const plan *p, size_t si, rf_err *err)
{
    const rf_wf_step *st = &p->wf->steps[si];
    char f[24], deadline[32];
    snprintf(f, sizeof f, "%zu", si);
    snprintf(deadline, sizeof deadline, "%lld", st->timeout_ms ?
             (long long)(rf_wall_ms() + st->timeout_ms) : 0LL);
    rf_buf k = RF_BUF_INIT;
    approve_key(&k, s, p->run);
    const char *argv[] = {"HSETNX", k.data, f, deadline};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 4, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    if (rf_sched_reply_int(rep) == 1)
        rf_log_info(s->o.log, "run %s: step %s waits for approval (ruvflow approve %s %s)",
                    p->run, st->name, p->run, st->name);
    freeReplyObject(rep);
    return 0;
}

/* Finish the suspend step's task (approved, or failed with why), stop
 * waiting, and wake a scheduler to dispatch what it released. */
static int decide(rf_sched *s, const plan *p, size_t si, int ok, const char *why,
                  rf_err *err)
{
    finisher f = FINISHER_INIT(s);
    rf_buf text = RF_BUF_INIT;
    if (ok) {
        rf_sched_fin_add(&f, p, si, 0, "approve", "{\"o\":{},\"m\":{},\"h\":\"approved\"}",
                         NULL);
    } else {
        json_t *r = json_pack("{s:s,s:s}", "h", "fail", "e", why);
        char *res = json_dumps(r, JSON_COMPACT);
        rf_buf_addf(&text, "%s/0: %s", p->wf->steps[si].name, why);
        rf_sched_fin_add(&f, p, si, 0, "fail", res, text.data);
        free(res);
        json_decref(r);
    }
    int rc = rf_sched_fin_flush(&f, NULL, err);
    rf_sched_fin_free(&f);
    rf_buf_free(&text);
    rf_buf k = RF_BUF_INIT, ev = RF_BUF_INIT;
    char fld[24];
    snprintf(fld, sizeof fld, "%zu", si);
    approve_key(&k, s, p->run);
    rf_buf_addf(&ev, "%sevents", s->P);
    const char *del[] = {"HDEL", k.data, fld};
    const char *wake[] = {"XADD", ev.data, "MAXLEN", "~", "1000000", "*", "ev", "submit",
                          "run", p->run};
    redisReply *rep;
    if (rc == 0 && (rc = rf_redis_cmdv(s->r, 3, del, NULL, &rep, err)) == 0)
        freeReplyObject(rep);
    if (rc == 0 && (rc = rf_redis_cmdv(s->r, 10, wake, NULL, &rep, err)) == 0)
        freeReplyObject(rep);
    rf_buf_free(&k);
    rf_buf_free(&ev);
    return rc;
}

/* The step's deadline (ms, 0 none) if it waits; 0 = not waiting. */
static int waiting(rf_sched *s, const char *run, size_t si, int *is, long long *deadline,
                   rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    char f[24], *v;
    snprintf(f, sizeof f, "%zu", si);
    approve_key(&k, s, run);
    const char *argv[] = {"HGET", k.data, f};
    int rc = rf_sched_get_str(s, 3, argv, &v, err);
    rf_buf_free(&k);
    *is = v != NULL;
    *deadline = v ? strtoll(v, NULL, 10) : 0;
    free(v);
    return rc;
}

int rf_sched_approve(rf_sched *s, const char *run, const char *step, int ok,
                     rf_err *err)
{
    plan *p = rf_sched_plan_get(s, run, err);
    size_t si;
    if (!p)
        return -1;
    if (rf_sched_step_index(p, step, &si) < 0)
        return rf_errf(err, RF_ENOTFOUND, "run %s has no step \"%s\"", run, step);
    if (!p->wf->steps[si].suspend)
        return rf_errf(err, RF_EINVAL, "step %s of run %s is not a suspend step; "
                       "only steps with suspend: true wait for approval", step, run);
    int is;
    long long deadline;
    char *state;
    if (waiting(s, run, si, &is, &deadline, err) < 0 ||
        rf_sched_run_state(s, run, &state, err) < 0)
        return -1;
    int running = state && !strcmp(state, "running");
    free(state);
    if (!is || !running)
        return rf_errf(err, RF_ESTATE, "step %s of run %s is not waiting for approval "
                       "(%s)", step, run, !running ? "the run is not running" :
                       "not reached yet, or already decided; see ruvflow status");
    return decide(s, p, si, ok, ok ? NULL : "rejected (ruvflow reject)", err);
}

int rf_sched_suspend_expire(rf_sched *s, const char *run, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    approve_key(&k, s, run);
    const char *argv[] = {"HGETALL", k.data};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 2, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0 || rep->elements == 0) {
        if (rc == 0)
            freeReplyObject(rep);
        return rc;
    }
    plan *p = rf_sched_plan_get(s, run, err);
    long long now = (long long)rf_wall_ms();
    for (size_t i = 0; p && rc == 0 && i + 1 < rep->elements; i += 2) {
        size_t si = (size_t)strtoull(rep->element[i]->str, NULL, 10);
        long long deadline = strtoll(rep->element[i + 1]->str, NULL, 10);
        if (si >= p->wf->nsteps || !deadline || now < deadline)
            continue;
        char d[32], why[96];
        long ms = p->wf->steps[si].timeout_ms;
        if (ms % 1000)
            snprintf(d, sizeof d, "%ldms", ms);
        else if (ms % 60000)
            snprintf(d, sizeof d, "%lds", ms / 1000);
        else if (ms % 3600000)
            snprintf(d, sizeof d, "%ldm", ms / 60000);
        else
            snprintf(d, sizeof d, "%ldh", ms / 3600000);
        snprintf(why, sizeof why, "not approved within %s (timeout)", d);
        rf_log_warn(s->o.log, "run %s: %s/0: %s", run, p->wf->steps[si].name, why);
        rc = decide(s, p, si, 0, why, err);
    }
    freeReplyObject(rep);
    return p ? rc : -1;
}
