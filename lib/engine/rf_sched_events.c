/* rf_sched_events: the scheduler's event loop: it reads task events from the
 * Redis stream in a consumer group, finishes tasks, releases dependents,
 * claims stale events of dead schedulers, and keeps retention (trim) and
 * liveness. */
#include "engine/rf_sched_impl.h"

/* -------------------------------------------------------------- events */

static void events_free(event *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].id), free(v[i].ev), free(v[i].task), free(v[i].run), free(v[i].step);
    free(v);
}

/* Parse stream entries [[id, [k, v, ...]], ...]. */
static event *parse_entries(const redisReply *entries, size_t *n)
{
    event *v = rf_xcalloc(entries->elements + 1, sizeof *v);
    *n = 0;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        event *x = &v[(*n)++];
        x->id = rf_xstrdup(e->element[0]->str);
        const redisReply *kv = e->element[1];
        for (size_t k = 0; kv->type == REDIS_REPLY_ARRAY && k + 1 < kv->elements; k += 2) {
            const char *f = kv->element[k]->str, *val = kv->element[k + 1]->str;
            if (!f || !val)
                continue;
            if (!strcmp(f, "ev"))
                x->ev = rf_xstrdup(val);
            else if (!strcmp(f, "task"))
                x->task = rf_xstrdup(val);
            else if (!strcmp(f, "run"))
                x->run = rf_xstrdup(val);
            else if (!strcmp(f, "step"))
                x->step = rf_xstrdup(val);
            else if (!strcmp(f, "idx"))
                x->idx = (size_t)strtoull(val, NULL, 10);
        }
    }
    return v;
}

static int ensure_group(rf_sched *s, rf_err *err)
{
    const char *argv[] = {"XGROUP", "CREATE", rf_queue_events_key(s->q), "sched", "0",
                          "MKSTREAM"};
    redisReply *rep;
    rf_err e;
    if (rf_redis_cmdv(s->r, 6, argv, NULL, &rep, &e) == 0) {
        freeReplyObject(rep);
        return 0;
    }
    if (strstr(e.msg, "BUSYGROUP"))
        return 0;
    *err = e;
    return -1;
}

/* Record state of the tasks of done/dead events, in one script call. */
static const rf_script lua_records = {"run records", rf_lua_sched_records};

/* Add a run id to a small set (linear: a batch touches few runs). */
static void note_run(char ***runs, size_t *n, const char *run)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*runs)[i], run))
            return;
    *runs = rf_xrealloc(*runs, (*n + 1) * sizeof **runs);
    (*runs)[(*n)++] = rf_xstrdup(run);
}

static double metric_spawn(const char *met)
{
    json_t *m = json_loads(met, 0, NULL);
    double k = json_number_value(json_object_get(m, "spawn"));
    json_decref(m);
    return k;
}

/* A committed task: remember its result under its cache key, grow its step
 * if it asked to, and finish it. */
static int on_done(rf_sched *s, const plan *p, size_t si, const event *ev,
                   redisReply **rec, rf_buf *cache_args, finisher *f, rf_err *err)
{
    const rf_wf_step *st = &p->wf->steps[si];
    const char *type = rec[1]->str, *params = rec[2]->str, *inputs = rec[3]->str;
    const char *out = rec[4]->str[0] ? rec[4]->str : "{}";
    const char *met = rec[5]->str[0] ? rec[5]->str : "{}";
    if (st->cache && type[0]) {
        char key[RF_SHA256_HEX];
        rf_err e;
        if (rf_dag_cache_key(type, params[0] ? params : "{}", inputs[0] ? inputs : "{}",
                             p->digests, key, &e) == 0) {
            rf_buf_addf(cache_args, "%s%c{\"o\":%s,\"m\":%s,\"h\":\"cache\",\"from\":\"%s\"}%c",
                        key, 0, out, met, ev->task, 0);
        }
    }
    double k = st->spawn_max ? metric_spawn(met) : 0;
    if (k >= 1) {
        char sidx[24], idx[24], kk[24], max[24];
        snprintf(sidx, sizeof sidx, "%zu", si);
        snprintf(idx, sizeof idx, "%zu", ev->idx);
        snprintf(kk, sizeof kk, "%.0f", k > 1e6 ? 1e6 : k);
        snprintf(max, sizeof max, "%zu", st->spawn_max);
        const char *argv[] = {s->P, p->run, sidx, idx, kk, max};
        redisReply *rep;
        if (rf_redis_eval(s->r, &rf_sched_lua_spawn, 0, 6, argv, NULL, &rep, err) < 0)
            return -1;
        if (rf_sched_reply_int(rep) > 0)
            rf_log_info(s->o.log, "run %s: %s/%zu spawned %lld task(s)", p->run,
                        st->name, ev->idx, rf_sched_reply_int(rep));
        freeReplyObject(rep);
    }
    rf_sched_fin_add(f, p, si, ev->idx, "done", "", NULL);
    return 0;
}

/* The cache entries collected, then the finishes, in one round trip: the
 * cache first, so that a dependent dispatched after the finish sees it. */
static int put_cache_and_finish(rf_sched *s, rf_buf *args, finisher *f, char *const *acks,
                                size_t nacks, rf_err *err)
{
    if (!args->len)
        return rf_sched_fin_flush_after(f, NULL, acks, nacks, NULL, err);
    size_t n = 0;
    for (size_t i = 0; i < args->len; i++)
        n += args->data[i] == 0;
    const char **argv = rf_xcalloc(n + 3, sizeof *argv);
    char ms[32];
    snprintf(ms, sizeof ms, "%lld", (long long)s->o.retention_s * 1000);
    argv[0] = s->P;
    argv[1] = ms;
    size_t k = 2;
    for (const char *c = args->data; c < args->data + args->len; c += strlen(c) + 1)
        argv[k++] = c;
    rf_redis_call put = {&rf_sched_lua_cache_put, 0, (int)k, argv, NULL, NULL};
    int rc = rf_sched_fin_flush_after(f, &put, acks, nacks, NULL, err);
    free(argv);
    rf_buf_reset(args);
    return rc;
}

/* A task cancelled in the queue while its run is running again (resumed
 * after a cancel): forget the record so that dispatch enqueues it anew. */
static int on_cancelled(rf_sched *s, const plan *p, size_t si, const event *ev,
                        rf_err *err)
{
    char *state, *main = NULL;
    if (rf_sched_run_state(s, p->run, &state, err) < 0 ||
        rf_sched_run_main(s, p->run, &main, err) < 0) {
        free(state);
        return -1;
    }
    /* In the exit phase the main steps' tasks stay cancelled. */
    int running = state && !strcmp(state, "running") && !main;
    free(state);
    free(main);
    if (!running)
        return 0;
    const char *ids[] = {ev->task};
    if (rf_queue_forget(s->q, ids, 1, err) < 0)
        return -1;
    rf_buf k = RF_BUF_INIT;
    char f[24];
    rf_sched_key_of(&k, s, p->run, ":todo");
    snprintf(f, sizeof f, "%zu", si);
    const char *argv[] = {"HINCRBY", k.data, f, "1"};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 4, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc == 0)
        freeReplyObject(rep);
    return rc;
}

static int handle_events(rf_sched *s, event *v, size_t n, rf_err *err)
{
    /* One script call fetches the records of every done/dead task. */
    const char **argv = rf_xcalloc(n + 2, sizeof *argv);
    size_t na = 1;
    argv[0] = s->P;
    for (size_t i = 0; i < n; i++)
        if (v[i].task && v[i].ev && (!strcmp(v[i].ev, "done") || !strcmp(v[i].ev, "dead")))
            argv[na++] = v[i].task;
    redisReply *recs = NULL;
    int rc = na > 1 ? rf_redis_eval(s->r, &lua_records, 0, (int)na, argv, NULL, &recs,
                                    err) : 0;
    free(argv);
    if (rc < 0)
        return -1;
    finisher f = FINISHER_INIT(s);
    rf_buf cache_args = RF_BUF_INIT;
    char **runs = NULL;
    size_t nruns = 0, r = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        event *ev = &v[i];
        int has_rec = ev->task && ev->ev && (!strcmp(ev->ev, "done") || !strcmp(ev->ev, "dead"));
        redisReply **rec = has_rec ? &recs->element[7 * r++] : NULL;
        if (!ev->ev || !ev->run || !ev->run[0])
            continue;
        if (!strcmp(ev->ev, "submit")) {
            note_run(&runs, &nruns, ev->run);
            continue;
        }
        rf_err e;
        plan *p = rf_sched_plan_get(s, ev->run, &e);
        size_t si;
        if (!p) {
            if (e.code != RF_ENOTFOUND) {
                *err = e;
                rc = -1;
            }
            continue;       /* a trimmed run: nothing to do */
        }
        if (!ev->step || rf_sched_step_index(p, ev->step, &si) < 0)
            continue;
        if (!strcmp(ev->ev, "done") && !strcmp(rec[0]->str, "done")) {
            rc = on_done(s, p, si, ev, rec, &cache_args, &f, err);
            note_run(&runs, &nruns, ev->run);
        } else if (!strcmp(ev->ev, "dead") && !strcmp(rec[0]->str, "dead")) {
            json_t *res = json_pack("{s:s,s:s}", "h", "fail", "e", rec[6]->str);
            char *txt = json_dumps(res, JSON_COMPACT);
            rf_buf why = RF_BUF_INIT;
            rf_buf_addf(&why, "%s/%zu: %s", ev->step, ev->idx, rec[6]->str);
            rf_sched_fin_add(&f, p, si, ev->idx, "fail", txt, why.data);
            rf_log_warn(s->o.log, "run %s: task %s dead: %s", ev->run, ev->task,
                        rec[6]->str);
            rf_buf_free(&why);
            free(txt);
            json_decref(res);
        } else if (!strcmp(ev->ev, "cancelled")) {
            rc = on_cancelled(s, p, si, ev, err);
            note_run(&runs, &nruns, ev->run);
        }
        if (rc == 0 && f.n >= BATCH)
            rc = put_cache_and_finish(s, &cache_args, &f, NULL, 0, err);
    }
    /* Every event is handled once its finish is in: what it released is in
     * the run's todo, which any scheduler's sweep dispatches (every 2 s), so
     * the acknowledgement rides with the last finishes, in their script. */
    char **acks = rf_xcalloc(n + 1, sizeof *acks);
    for (size_t i = 0; i < n; i++)
        acks[i] = v[i].id;
    if (rc == 0)
        rc = put_cache_and_finish(s, &cache_args, &f, acks, n, err);
    free(acks);
    if (recs)
        freeReplyObject(recs);
    for (size_t i = 0; i < nruns; i++) {
        if (rc == 0)
            rc = rf_sched_dispatch_run(s, runs[i], err);
        free(runs[i]);
    }
    free(runs);
    rf_buf_free(&cache_args);
    rf_sched_fin_free(&f);
    return rc < 0 ? -1 : 0;
}

int rf_sched_poll(rf_sched *s, long block_ms, size_t *handled, rf_err *err)
{
    if (handled)
        *handled = 0;
    char block[24];
    snprintf(block, sizeof block, "%ld", block_ms);
    const char *argv[] = {"XREADGROUP", "GROUP", "sched", s->consumer, "COUNT", "1024",
                          "BLOCK", block, "STREAMS", rf_queue_events_key(s->q), ">"};
    redisReply *rep;
    rf_err e;
    if (rf_redis_cmdv(s->r, 11, argv, NULL, &rep, &e) < 0) {
        /* First use, or a Redis that came back empty: make the group. */
        if (!strstr(e.msg, "NOGROUP")) {
            *err = e;
            return -1;
        }
        if (ensure_group(s, err) < 0 || rf_redis_cmdv(s->r, 11, argv, NULL, &rep, err) < 0)
            return -1;
    }
    size_t n = 0;
    event *v = NULL;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
        rep->element[0]->elements == 2)
        v = parse_entries(rep->element[0]->element[1], &n);
    freeReplyObject(rep);
    int rc = n ? handle_events(s, v, n, err) : 0;
    if (v)
        events_free(v, n);
    if (handled)
        *handled = n;
    return rc;
}

/* Take over events another scheduler read but never acknowledged. */
static int claim_stale(rf_sched *s, rf_err *err)
{
    char idle[24];
    snprintf(idle, sizeof idle, "%ld", s->o.claim_idle_ms);
    char start[64] = "0-0";
    for (int round = 0; round < 100; round++) {
        const char *argv[] = {"XAUTOCLAIM", rf_queue_events_key(s->q), "sched",
                              s->consumer, idle, start, "COUNT", "512"};
        redisReply *rep;
        if (rf_redis_cmdv(s->r, 8, argv, NULL, &rep, err) < 0)
            return -1;
        size_t n = 0;
        event *v = NULL;
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2) {
            snprintf(start, sizeof start, "%s", rep->element[0]->str ? rep->element[0]->str : "0-0");
            v = parse_entries(rep->element[1], &n);
        }
        freeReplyObject(rep);
        if (n)
            rf_log_info(s->o.log, "claimed %zu unacknowledged event(s)", n);
        int rc = n ? handle_events(s, v, n, err) : 0;
        if (v)
            events_free(v, n);
        if (rc < 0)
            return -1;
        if (!strcmp(start, "0-0"))
            break;
    }
    return 0;
}

/* The strings of an array reply as a NULL-terminated list the caller owns;
 * frees the reply. */
void rf_sched_take_strings(redisReply *rep, char ***ids, size_t *n)
{
    *n = rep->elements;
    *ids = rf_xcalloc(*n + 1, sizeof **ids);
    for (size_t i = 0; i < *n; i++)
        (*ids)[i] = rf_xstrdup(rep->element[i]->str ? rep->element[i]->str : "");
    freeReplyObject(rep);
}

/* Active runs, for sweeps. */
static int active_runs(rf_sched *s, char ***ids, size_t *n, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    rf_buf_addf(&k, "%sruns:active", s->P);
    const char *argv[] = {"SMEMBERS", k.data};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 2, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    rf_sched_take_strings(rep, ids, n);
    return 0;
}

int rf_sched_reopen(rf_sched *s, const char *run, const char *mode, redisReply **out,
                  rf_err *err)
{
    const char *argv[] = {s->P, run, mode};
    return rf_redis_eval(s->r, &rf_sched_lua_reopen, 0, 3, argv, NULL, out, err);
}

static int trim_old(rf_sched *s, rf_err *err)
{
    char max[32];
    snprintf(max, sizeof max, "%lld",
             (long long)(rf_wall_ms() - (int64_t)s->o.retention_s * 1000));
    rf_buf k = RF_BUF_INIT;
    rf_buf_addf(&k, "%sruns", s->P);
    const char *argv[] = {"ZRANGEBYSCORE", k.data, "-inf", max, "LIMIT", "0", "100"};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 7, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    for (size_t i = 0; rc == 0 && i < rep->elements; i++) {
        const char *run = rep->element[i]->str;
        char *state = NULL;
        if ((rc = rf_sched_run_state(s, run, &state, err)) < 0)
            break;
        int live = state && !strcmp(state, "running");
        free(state);
        if (live)
            continue;
        rc = rf_sched_forget(s, run, err);
        if (rc == 0)
            rf_log_info(s->o.log, "trimmed run %s (past retention)", run);
    }
    freeReplyObject(rep);
    return rc;
}

/* The events every scheduler has acknowledged are dropped with the runs'
 * retention sweep, so the stream holds what is in flight, not history. */
static int trim_events(rf_sched *s, rf_err *err)
{
    const char *argv[] = {s->P};
    redisReply *rep;
    if (rf_redis_eval(s->r, &rf_sched_lua_evtrim, 0, 1, argv, NULL, &rep, err) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_INTEGER && rep->integer > 0)
        rf_log_debug(s->o.log, "events: dropped %lld handled entries", rep->integer);
    freeReplyObject(rep);
    return 0;
}

/* Schedulers say they are alive in a sorted set (for `submit --wait`). */
static int beat(rf_sched *s, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    char now[32], old[32];
    rf_buf_addf(&k, "%sschedulers", s->P);
    snprintf(now, sizeof now, "%lld", (long long)rf_wall_ms());
    snprintf(old, sizeof old, "%lld", (long long)rf_wall_ms() - 3600000);
    const char *a1[] = {"ZADD", k.data, now, s->consumer};
    const char *a2[] = {"ZREMRANGEBYSCORE", k.data, "-inf", old};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 4, a1, NULL, &rep, err);
    if (rc == 0) {
        freeReplyObject(rep);
        if ((rc = rf_redis_cmdv(s->r, 4, a2, NULL, &rep, err)) == 0)
            freeReplyObject(rep);
    }
    rf_buf_free(&k);
    return rc;
}

int rf_sched_alive(rf_sched *s, long window_ms, size_t *n, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    char min[32];
    rf_buf_addf(&k, "%sschedulers", s->P);
    snprintf(min, sizeof min, "%lld", (long long)(rf_wall_ms() - window_ms));
    const char *argv[] = {"ZCOUNT", k.data, min, "+inf"};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 4, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    *n = (size_t)rf_sched_reply_int(rep);
    freeReplyObject(rep);
    return 0;
}

int rf_sched_maintain(rf_sched *s, int full, rf_err *err)
{
    int64_t now = rf_mono_ms();
    if (ensure_group(s, err) < 0 || beat(s, err) < 0)
        return -1;
    if (claim_stale(s, err) < 0)
        return -1;
    char **ids;
    size_t n;
    if (active_runs(s, &ids, &n, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && full) {
            redisReply *rep;
            if ((rc = rf_sched_reopen(s, ids[i], "sync", &rep, err)) == 0)
                freeReplyObject(rep);
        }
        if (rc == 0)
            rc = rf_sched_suspend_expire(s, ids[i], err);
        if (rc == 0)
            rc = rf_sched_dispatch_run(s, ids[i], err);
        free(ids[i]);
    }
    free(ids);
    if (rc == 0 && now - s->last_reap_ms >= 1000) {
        s->last_reap_ms = now;
        rc = rf_queue_reap(s->q, 1000, NULL, err);
    }
    /* Trim every minute, or faster when the retention is shorter. */
    int64_t trim_every = s->o.retention_s * 500 < 60000 ? s->o.retention_s * 500 : 60000;
    if (rc == 0 && now - s->last_trim_ms >= trim_every) {
        s->last_trim_ms = now;
        rc = trim_old(s, err);
        if (rc == 0)
            rc = trim_events(s, err);
    }
    /* Per-workflow retention: a few reads per workflow that has a policy. */
    if (rc == 0 && now - s->last_retention_ms >= 5000) {
        s->last_retention_ms = now;
        rc = rf_sched_retention(s, NULL, err);
    }
    return rc;
}

int rf_sched_serve(rf_sched *s, volatile sig_atomic_t *stop, rf_err *err)
{
    if (rf_sched_maintain(s, 1, err) < 0)
        return -1;
    int64_t last = rf_mono_ms();
    while (!*stop) {
        rf_err e;
        if (rf_sched_poll(s, 500, NULL, &e) < 0) {
            rf_log_error(s->o.log, "%s", e.msg);
            if (e.code != RF_ENET) {
                *err = e;
                return -1;
            }
            continue;   /* rf_redis already waited with backoff */
        }
        if (rf_mono_ms() - s->last_cron_ms >= 200) {   /* schedules: a few times a second */
            s->last_cron_ms = rf_mono_ms();
            if (rf_sched_cron_tick(s, NULL, &e) < 0)
                rf_log_error(s->o.log, "cron: %s", e.msg);
        }
        if (rf_mono_ms() - last >= 2000) {
            last = rf_mono_ms();
            if (rf_sched_maintain(s, 0, &e) < 0)
                rf_log_error(s->o.log, "maintenance: %s", e.msg);
        }
    }
    return 0;
}
