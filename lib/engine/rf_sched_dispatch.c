/* rf_sched_dispatch: rendering a run's ready steps into tasks (templates,
 * cache keys, tiers) and enqueueing them, under a short lease on the run so
 * one scheduler dispatches it at a time. */
#include "engine/rf_sched_impl.h"

/* ------------------------------------------------------------- dispatch */

static int lock_run(rf_sched *s, const char *run, long ms, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    rf_sched_key_of(&k, s, run, ":lock");
    char msbuf[24];
    snprintf(msbuf, sizeof msbuf, "%ld", ms);
    const char *argv[] = {k.data, s->consumer, msbuf};
    redisReply *rep;
    int rc = rf_redis_eval(s->r, &rf_sched_lua_lock, 1, 3, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    rc = (int)rf_sched_reply_int(rep);
    freeReplyObject(rep);
    return rc;
}

static const char *tier_name(int t)
{
    static const char *const n[] = {"hot", "warm", "cold"};
    return t >= 0 && t < 3 ? n[t] : "hot";
}

/* One task being prepared for dispatch. */
typedef struct prep {
    size_t idx;
    char *params, *inputs;
    char key[RF_SHA256_HEX];
    rf_buf id;
} prep;

static void preps_free(prep *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].params);
        free(v[i].inputs);
        rf_buf_free(&v[i].id);
    }
}

/* Cache lookups for a batch: hits finish as "cache", the rest enqueue. */
static int dispatch_batch(rf_sched *s, const plan *p, size_t si, prep *v, size_t n,
                          finisher *f, rf_err *err)
{
    const rf_wf_step *st = &p->wf->steps[si];
    if (st->suspend)   /* nothing to run: wait for `ruvflow approve` */
        return n ? rf_sched_suspend_wait(s, p, si, err) : 0;
    unsigned char *hit = rf_xcalloc(n + 1, 1);
    if (st->cache && !p->no_cache && n) {
        const char **argv = rf_xcalloc(n + 1, sizeof *argv);
        rf_buf *keys = rf_xcalloc(n, sizeof *keys);
        argv[0] = "MGET";
        for (size_t i = 0; i < n; i++) {
            rf_buf_addf(&keys[i], "%scache:%s", s->P, v[i].key);
            argv[i + 1] = keys[i].data;
        }
        redisReply *rep;
        int rc = rf_redis_cmdv(s->r, (int)n + 1, argv, NULL, &rep, err);
        for (size_t i = 0; i < n; i++)
            rf_buf_free(&keys[i]);
        free(keys);
        free(argv);
        if (rc < 0) {
            free(hit);
            return -1;
        }
        for (size_t i = 0; i < n && i < rep->elements; i++)
            if (rep->element[i]->type == REDIS_REPLY_STRING) {
                hit[i] = 1;
                rf_sched_fin_add(f, p, si, v[i].idx, "cache", rep->element[i]->str, NULL);
            }
        freeReplyObject(rep);
    }
    rf_task_spec *specs = rf_xcalloc(n + 1, sizeof *specs);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (hit[i])
            continue;
        rf_task_spec *t = &specs[k++];
        t->id = v[i].id.data;
        t->run = p->run;
        t->step = st->name;
        t->index = (long)v[i].idx;
        t->type = st->worker;
        t->pool = st->pool;
        t->priority = st->priority * 100;
        t->params = v[i].params;
        t->inputs = v[i].inputs;
        t->tier = tier_name(st->tier);
        t->timeout_ms = st->timeout_ms;
        t->max_attempts = st->retry.count + 1;
        t->backoff_ms = st->retry.base_ms;
        t->backoff_max_ms = st->retry.cap_ms;
        t->jitter = st->retry.jitter;
    }
    int rc = k ? rf_queue_enqueue(s->q, specs, k, NULL, err) : 0;
    free(specs);
    free(hit);
    return rc;
}

/* Results a step's tasks may refer to: gathered once per dispatch. */
static int gather_refs(rf_sched *s, const plan *p, size_t si, json_t **results,
                       rf_err *err)
{
    unsigned char *refs = rf_xcalloc(p->wf->nsteps + 1, 1);
    rf_dag_step_refs(p->wf, si, refs);
    int rc = 0;
    for (size_t d = 0; d < p->wf->nsteps && rc == 0; d++) {
        if (!refs[d])
            continue;
        size_t total;
        rc = rf_sched_step_total(s, p->run, d, &total, err);
        if (rc == 0 && !(results[d] = rf_sched_gather(s, p, d, 0, total, err)))
            rc = -1;
    }
    free(refs);
    return rc;
}

/* Prepare one task: its condition, parameters, inputs and cache key.
 * Returns 1 to dispatch, 0 when finished here (skipped or failed). */
static int prepare(rf_sched *s, const plan *p, const rf_dag_ctx *ctx, size_t si,
                   size_t idx, prep *out, finisher *f)
{
    const rf_wf_step *st = &p->wf->steps[si];
    rf_err e;
    int truth;
    memset(out, 0, sizeof *out);
    out->idx = idx;
    int lookup = st->cache && !p->no_cache;   /* else the key is computed at commit */
    if (rf_dag_when(ctx, si, idx, &truth, &e) < 0 ||
        (truth && (rf_dag_render(ctx, si, idx, &out->params, &out->inputs, &e) < 0 ||
                   (lookup && rf_dag_cache_key(st->worker, out->params, out->inputs,
                                               p->digests, out->key, &e) < 0)))) {
        json_t *r = json_pack("{s:s,s:s}", "h", "fail", "e", e.msg);
        char *txt = json_dumps(r, JSON_COMPACT);
        rf_buf why = RF_BUF_INIT;
        rf_buf_addf(&why, "%s/%zu: %s", st->name, idx, e.msg);
        rf_sched_fin_add(f, p, si, idx, "fail", txt, why.data);
        rf_log_warn(s->o.log, "run %s: %s", p->run, why.data);
        rf_buf_free(&why);
        free(txt);
        json_decref(r);
        return 0;
    }
    if (!truth) {
        rf_sched_fin_add(f, p, si, idx, "skip", "{\"h\":\"skip\",\"o\":{},\"m\":{}}", NULL);
        return 0;
    }
    rf_dag_task_id(&out->id, p->run, st->name, idx);
    return 1;
}

/* *renewed: when the run's dispatch lease was last taken or renewed (mono ms). */
static int dispatch_step(rf_sched *s, const plan *p, size_t si, int *released,
                         int64_t *renewed, rf_err *err)
{
    const rf_wf_step *st = &p->wf->steps[si];
    size_t total, nbits;
    unsigned char *bits;
    if (rf_sched_step_total(s, p->run, si, &total, err) < 0 ||
        rf_sched_fin_bits(s, p->run, si, &bits, &nbits, err) < 0)
        return -1;
    size_t nsteps = p->wf->nsteps;
    json_t **results = rf_xcalloc(nsteps + 1, sizeof *results);
    rf_dag_ctx ctx = {p->wf, p->run, results, NULL, NULL, NULL, NULL};
    finisher f = FINISHER_INIT(s);
    prep *v = rf_xcalloc(BATCH, sizeof *v);
    size_t nv = 0;
    int rc = gather_refs(s, p, si, results, err);
    char *wstatus = NULL, *wfail = NULL;
    if (rc == 0 && st->on_exit)
        rc = rf_sched_run_main(s, p->run, &wstatus, err) < 0 ||
             rf_sched_exit_failures(s, p, &wfail, err) < 0 ? -1 : 0;
    ctx.wf_status = wstatus;
    ctx.wf_failures = wfail;
    size_t first = 0;
    while (first < total && rf_sched_bit_set(bits, nbits, first))
        first++;
    if (rc == 0 && st->fan == RF_FAN_CHAIN && first < total && first > 0) {
        ctx.prev = rf_sched_gather(s, p, si, first - 1, first, err);
        json_t *one = ctx.prev ? json_incref(json_array_get(ctx.prev, 0)) : NULL;
        json_decref(ctx.prev);
        ctx.prev = one;
        rc = one ? 0 : -1;
    }
    if (rc == 0 && total > st->ntasks) {
        ctx.history = rf_sched_gather(s, p, si, 0, total, err);
        rc = ctx.history ? 0 : -1;
    }
    for (size_t idx = first; rc == 0 && idx < total; idx++) {
        if (rf_sched_bit_set(bits, nbits, idx))
            continue;
        if (prepare(s, p, &ctx, si, idx, &v[nv], &f))
            nv++;
        if (nv == BATCH || f.n >= BATCH) {
            rc = dispatch_batch(s, p, si, v, nv, &f, err);
            preps_free(v, nv);
            nv = 0;
            if (rc == 0)
                rc = rf_sched_fin_flush(&f, released, err);
            /* Renewed once a third of it is gone, not per batch: until the
             * lease expires nobody else can take it, and a round trip per
             * 512 tasks is half of what a large dispatch waits for. */
            if (rc == 0 && rf_mono_ms() - *renewed >= LOCK_MS / 3) {
                *renewed = rf_mono_ms();
                if (lock_run(s, p->run, LOCK_MS, err) == 0)
                    rc = rf_errf(err, RF_ECONFLICT, "lost the dispatch lease of run %s",
                                 p->run);
            }
        }
        if (st->fan == RF_FAN_CHAIN)
            break;   /* one link at a time: the next needs this one's outputs */
    }
    if (rc == 0)
        rc = dispatch_batch(s, p, si, v, nv, &f, err);
    if (rc == 0)
        rc = rf_sched_fin_flush(&f, released, err);
    preps_free(v, nv);
    free(v);
    rf_sched_fin_free(&f);
    for (size_t d = 0; d < nsteps; d++)
        json_decref(results[d]);
    free(results);
    json_decref(ctx.prev);
    json_decref(ctx.history);
    free(wstatus);
    free(wfail);
    free(bits);
    return rc;
}

int rf_sched_run_state(rf_sched *s, const char *run, char **state, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    rf_sched_key_of(&k, s, run, "");
    const char *argv[] = {"HGET", k.data, "state"};
    int rc = rf_sched_get_str(s, 3, argv, state, err);
    rf_buf_free(&k);
    return rc;
}

/* Lease, state, main and todo of a run in one round trip (rf_sched_probe.lua).
 * Returns 1 with *rep to go on, 0 when there is nothing to do (another
 * scheduler holds the lease, or nothing to dispatch: the lease is not
 * kept), -1 on error. */
static int probe_run(rf_sched *s, const char *run, redisReply **rep, rf_err *err)
{
    char ms[24];
    snprintf(ms, sizeof ms, "%d", LOCK_MS);
    const char *argv[] = {s->P, run, s->consumer, ms};
    if (rf_redis_eval(s->r, &rf_sched_lua_probe, 0, 4, argv, NULL, rep, err) < 0)
        return -1;
    const redisReply *r = *rep;
    int ok = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
             r->element[0]->type == REDIS_REPLY_INTEGER;
    int got = ok && r->element[0]->integer == 1;
    if (!ok || (got && (r->elements < 3 || r->elements % 2 == 0))) {
        freeReplyObject(*rep);
        return rf_errf(err, RF_ECORRUPT, "run probe: unexpected reply from Redis");
    }
    if (!got || r->elements == 3) {   /* someone else's, or nothing to do */
        freeReplyObject(*rep);
        return 0;
    }
    return 1;
}

/* Dispatch every step in the run's todo until none is left. Holds the run's
 * dispatch lease; returns 0 without doing anything if another holds it.
 * A run with nothing to dispatch costs one round trip. */
int rf_sched_dispatch_run(rf_sched *s, const char *run, rf_err *err)
{
    int rc = 0, held = 0;
    for (int round = 0; rc == 0 && round < 1000000; round++) {
        redisReply *rep;
        int64_t renewed = rf_mono_ms();   /* the probe takes or renews the lease */
        int got = probe_run(s, run, &rep, err);
        if (got <= 0) {
            rc = got;
            held = 0;   /* not kept by the probe, or someone else's */
            break;
        }
        held = 1;
        plan *p = rf_sched_plan_get(s, run, err);
        /* main set: the main steps are over, only exit steps run */
        const char *main = rep->element[2]->str && rep->element[2]->str[0] ?
                           rep->element[2]->str : NULL;
        for (size_t i = 3; p && rc == 0 && i + 1 < rep->elements; i += 2) {
            size_t si = (size_t)strtoull(rep->element[i]->str, NULL, 10);
            if (si >= p->wf->nsteps)
                continue;
            int released = 0;
            if (!main || p->wf->steps[si].on_exit)
                rc = rf_sched_fanout(s, p, si, err);
            if (rc == 0 && (!main || p->wf->steps[si].on_exit))
                rc = dispatch_step(s, p, si, &released, &renewed, err);
            if (rc == 0) {
                const char *a[] = {s->P, run, rep->element[i]->str,
                                   rep->element[i + 1]->str};
                redisReply *r2;
                rc = rf_redis_eval(s->r, &rf_sched_lua_todo_done, 0, 4, a, NULL, &r2, err);
                if (rc == 0)
                    freeReplyObject(r2);
            }
        }
        if (!p)
            rc = -1;
        freeReplyObject(rep);
    }
    rf_err e2;
    if (held)
        lock_run(s, run, 0, &e2);
    if (rc < 0)
        rf_err_prefix(err, "run %s: dispatch", run);
    return rc;
}
