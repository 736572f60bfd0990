/* rf_queue_ops: the task operations of rf_queue.h: enqueue, take and wait,
 * heartbeat, commit (alone or fused with the next take), fail, release,
 * reap, cancel, dead letters and stats. */
#include "engine/rf_queue_impl.h"

/* ---- operations ----------------------------------------------------- */

static int spec_valid(const rf_task_spec *t, rf_err *err)
{
    if (rf_queue_id_valid(t->id, err) != 0 ||
        rf_queue_name_valid("type", t->type, err) != 0 ||
        (t->pool && rf_queue_name_valid("pool", t->pool, err) != 0))
        return -1;
    if (t->priority < 0 || t->priority > RF_QUEUE_PRIO_MAX)
        return rf_errf(err, RF_EINVAL, "task %s: priority %d outside 0..%d", t->id,
                       t->priority, RF_QUEUE_PRIO_MAX);
    if (t->timeout_ms < 0 || t->max_attempts < 0 || t->backoff_ms < 0 || t->backoff_max_ms < 0)
        return rf_errf(err, RF_EINVAL, "task %s: negative timeout, attempts or backoff", t->id);
    if (!(t->jitter >= 0 && t->jitter <= 1))
        return rf_errf(err, RF_EINVAL, "task %s: jitter %g outside 0..1", t->id, t->jitter);
    if ((t->params && t->params[0] != '{') || (t->inputs && t->inputs[0] != '{'))
        return rf_errf(err, RF_EINVAL, "task %s: params and inputs must be JSON objects", t->id);
    return 0;
}

#define ENQ_ARGS 15   /* per task, in rf_queue_enqueue.lua's order */

/* A number a task shares with the one before it (the same step) reuses the
 * previous task's string, ENQ_ARGS back: formatting numbers was most of the
 * C cost of a batch. */
static void add_long(args *a, int same, long v)
{
    if (same)
        rf_queue_args_add(a, a->v[a->n - ENQ_ARGS]);
    else
        rf_queue_args_addf(a, "%ld", v);
}

int rf_queue_enqueue(rf_queue *q, const rf_task_spec *tasks, size_t n, size_t *added,
                     rf_err *err)
{
    if (added)
        *added = 0;
    for (size_t i = 0; i < n; i++)
        if (spec_valid(&tasks[i], err) != 0)
            return rf_err_prefix(err, "enqueue");
    if (n == 0)
        return 0;
    args a = {0};
    rf_queue_args_add(&a, q->prefix);
    rf_queue_args_addf(&a, "%zu", n);
    for (size_t i = 0; i < n; i++) {
        const rf_task_spec *t = &tasks[i], *p = i ? &tasks[i - 1] : NULL;
        rf_queue_args_add(&a, t->id);
        rf_queue_args_add(&a, t->run ? t->run : "");
        rf_queue_args_add(&a, t->step ? t->step : "");
        rf_queue_args_addf(&a, "%ld", t->index);
        rf_queue_args_add(&a, t->type);
        rf_queue_args_add(&a, t->pool ? t->pool : "default");
        int same = p && p->priority == t->priority;
        add_long(&a, same, t->priority);
        rf_queue_args_add(&a, t->params ? t->params : "{}");
        rf_queue_args_add(&a, t->inputs ? t->inputs : "{}");
        rf_queue_args_add(&a, t->tier ? t->tier : "hot");
        add_long(&a, p && p->timeout_ms == t->timeout_ms, t->timeout_ms);
        add_long(&a, p && p->max_attempts == t->max_attempts,
                 t->max_attempts ? t->max_attempts : 3);
        add_long(&a, p && p->backoff_ms == t->backoff_ms, t->backoff_ms ? t->backoff_ms : 1000);
        add_long(&a, p && p->backoff_max_ms == t->backoff_max_ms,
                 t->backoff_max_ms ? t->backoff_max_ms : 60000);
        if (p && p->jitter == t->jitter)
            rf_queue_args_add(&a, a.v[a.n - ENQ_ARGS]);
        else
            rf_queue_args_addf(&a, "%.4f", t->jitter);
    }
    redisReply *rep;
    if (rf_queue_run(q, &rf_queue_lua_enqueue, &a, &rep, err) != 0)
        return rf_err_prefix(err, "enqueue");
    if (added)
        *added = (size_t)rep->integer;
    freeReplyObject(rep);
    return 0;
}

void rf_leases_free(rf_lease *l, size_t n)
{
    if (!l)
        return;
    for (size_t i = 0; i < n; i++) {
        free(l[i].id);
        free(l[i].run);
        free(l[i].step);
        free(l[i].type);
        free(l[i].pool);
        free(l[i].params);
        free(l[i].inputs);
        free(l[i].tier);
    }
    free(l);
}

static int types_valid(const char *pool, const char *const *types, size_t ntypes, rf_err *err)
{
    if (rf_queue_name_valid("pool", pool, err) != 0)
        return -1;
    if (ntypes == 0)
        return rf_errf(err, RF_EINVAL, "no task types given");
    for (size_t i = 0; i < ntypes; i++)
        if (rf_queue_name_valid("type", types[i], err) != 0)
            return -1;
    return 0;
}

static void lease_from(rf_lease *l, redisReply *row)
{
    redisReply **e = row->element;
    l->id = rf_queue_el_dup(e[0]);
    l->token = rf_queue_el_int(e[1]);
    l->attempt = (int)rf_queue_el_int(e[2]);
    l->run = rf_queue_el_dup(e[3]);
    l->step = rf_queue_el_dup(e[4]);
    l->index = (long)rf_queue_el_int(e[5]);
    l->type = rf_queue_el_dup(e[6]);
    l->pool = rf_queue_el_dup(e[7]);
    l->priority = (int)rf_queue_el_int(e[8]);
    l->params = rf_queue_el_dup(e[9]);
    l->inputs = rf_queue_el_dup(e[10]);
    l->tier = rf_queue_el_dup(e[11]);
    l->timeout_ms = (long)rf_queue_el_int(e[12]);
    l->max_attempts = (int)rf_queue_el_int(e[13]);
    l->enqueued_us = rf_queue_el_int(e[14]);
    l->started_us = rf_queue_el_int(e[15]);
}

static void take_args(rf_queue *q, args *a, const char *pool, const char *const *types,
                      size_t ntypes, const char *worker, size_t max)
{
    rf_queue_args_add(a, q->prefix);
    rf_queue_args_add(a, worker ? worker : "?");
    rf_queue_args_addf(a, "%zu", max);
    rf_queue_args_addf(a, "%ld", q->lease_ms);
    rf_queue_args_add(a, pool);
    for (size_t i = 0; i < ntypes; i++)
        rf_queue_args_add(a, types[i]);
}

static int take_reply(redisReply *rep, rf_lease **out, size_t *n, rf_err *err)
{
    if (rf_queue_want_array(rep, 0, 0, "take", err) != 0)
        return -1;
    for (size_t i = 0; i < rep->elements; i++)
        if (rf_queue_want_array(rep->element[i], 16, 0, "take", err) != 0)
            return -1;
    if (rep->elements) {
        *out = rf_xcalloc(rep->elements, sizeof **out);
        for (size_t i = 0; i < rep->elements; i++)
            lease_from(&(*out)[i], rep->element[i]);
        *n = rep->elements;
    }
    return 0;
}

int rf_queue_take(rf_queue *q, const char *pool, const char *const *types, size_t ntypes,
                  const char *worker, size_t max, rf_lease **out, size_t *n, rf_err *err)
{
    return rf_queue_commit_take(q, NULL, 0, NULL, pool, types, ntypes, worker, max, out, n,
                                err);
}

int rf_queue_wait(rf_queue *q, const char *pool, const char *const *types, size_t ntypes,
                  long timeout_ms, rf_err *err)
{
    if (types_valid(pool, types, ntypes, err) != 0)
        return -1;
    size_t argc = ntypes + 2;
    const char **v = rf_xcalloc(argc, sizeof *v);
    char **keys = rf_xcalloc(ntypes, sizeof *keys);
    char tmo[32];
    v[0] = "BLPOP";
    for (size_t i = 0; i < ntypes; i++) {
        rf_buf b = RF_BUF_INIT;
        rf_buf_addf(&b, "%sq:%s:%s:wake", q->prefix, pool, types[i]);
        keys[i] = rf_buf_detach(&b, NULL);
        v[i + 1] = keys[i];
    }
    /* BLPOP takes seconds as a decimal since Redis 6. */
    snprintf(tmo, sizeof tmo, "%.3f", (double)(timeout_ms > 0 ? timeout_ms : 1) / 1000.0);
    v[argc - 1] = tmo;
    redisReply *rep;
    int rc = rf_redis_cmdv(q->r, (int)argc, v, NULL, &rep, err);
    for (size_t i = 0; i < ntypes; i++)
        free(keys[i]);
    free(keys);
    free(v);
    if (rc != 0)
        return rf_err_prefix(err, "wait for tasks");
    rc = rep->type == REDIS_REPLY_ARRAY;
    freeReplyObject(rep);
    return rc;
}

/* Run a batch script whose reply is one integer status per task. */
static int status_batch(rf_queue *q, const rf_script *s, args *a, size_t n, int *status,
                        rf_err *err)
{
    redisReply *rep;
    if (rf_queue_run(q, s, a, &rep, err) != 0)
        return rf_err_prefix(err, "%s", s->name);
    if (rf_queue_want_array(rep, n, 0, s->name, err) != 0) {
        freeReplyObject(rep);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (status)
            status[i] = (int)rep->element[i]->integer;
    freeReplyObject(rep);
    return 0;
}

/* xorshift: jitter only needs to decorrelate retries, not be secret. */
double rf_queue_jitter(rf_queue *q)
{
    unsigned x = q->rand_state ? q->rand_state : 2463534242u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    q->rand_state = x;
    return (double)(x % 10000) / 10000.0;
}

int rf_queue_heartbeat(rf_queue *q, const rf_lease_ref *l, const unsigned char *running,
                       size_t n, int *status, rf_err *err)
{
    if (n == 0)
        return 0;
    args a = {0};
    rf_queue_args_add(&a, q->prefix);
    rf_queue_args_addf(&a, "%ld", q->lease_ms);
    rf_queue_args_addf(&a, "%.4f", rf_queue_jitter(q));
    for (size_t i = 0; i < n; i++) {
        rf_queue_args_add(&a, l[i].id);
        rf_queue_args_addf(&a, "%" PRId64, l[i].token);
        rf_queue_args_add(&a, running && running[i] ? "1" : "0");
    }
    return status_batch(q, &rf_queue_lua_heartbeat, &a, n, status, err);
}

static void commit_args(rf_queue *q, args *a, const rf_task_result *r, size_t n)
{
    rf_queue_args_add(a, q->prefix);
    rf_queue_args_addf(a, "%ld", q->retention_s);
    for (size_t i = 0; i < n; i++) {
        rf_queue_args_add(a, r[i].id);
        rf_queue_args_addf(a, "%" PRId64, r[i].token);
        rf_queue_args_add(a, r[i].outputs ? r[i].outputs : "{}");
        rf_queue_args_add(a, r[i].metrics ? r[i].metrics : "{}");
    }
}

static int status_reply(redisReply *rep, size_t n, int *status, const char *what, rf_err *err)
{
    if (rf_queue_want_array(rep, n, 0, what, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (status)
            status[i] = (int)rep->element[i]->integer;
    return 0;
}

int rf_queue_commit(rf_queue *q, const rf_task_result *r, size_t n, int *status, rf_err *err)
{
    if (n == 0)
        return 0;
    args a = {0};
    commit_args(q, &a, r, n);
    return status_batch(q, &rf_queue_lua_commit, &a, n, status, err);
}

int rf_queue_commit_take(rf_queue *q, const rf_task_result *r, size_t nr, int *status,
                         const char *pool, const char *const *types, size_t ntypes,
                         const char *worker, size_t max, rf_lease **out, size_t *n,
                         rf_err *err)
{
    *out = NULL;
    *n = 0;
    if (types_valid(pool, types, ntypes, err) != 0)
        return rf_err_prefix(err, "take");
    args ca = {0}, ta = {0};
    rf_redis_call calls[2];
    size_t nc = 0;
    if (nr) {
        commit_args(q, &ca, r, nr);
        calls[nc++] = (rf_redis_call){&rf_queue_lua_commit, 0, (int)ca.n, ca.v, NULL, NULL};
    }
    if (max) {
        take_args(q, &ta, pool, types, ntypes, worker, max);
        calls[nc++] = (rf_redis_call){&rf_queue_lua_take, 0, (int)ta.n, ta.v, NULL, NULL};
    }
    int rc = nc ? rf_redis_eval_many(q->r, calls, nc, err) : 0;
    rf_queue_args_free(&ca);
    rf_queue_args_free(&ta);
    if (rc != 0)
        return rf_err_prefix(err, nr ? "commit and take" : "take from %s", pool);
    size_t i = 0;
    if (nr && status_reply(calls[i++].reply, nr, status, "commit", err) != 0)
        rc = -1;
    if (rc == 0 && max && take_reply(calls[i].reply, out, n, err) != 0)
        rc = -1;
    for (size_t j = 0; j < nc; j++)
        freeReplyObject(calls[j].reply);
    return rc;
}

int rf_queue_fail(rf_queue *q, const rf_lease_ref *l, int retryable, const char *reason,
                  int *outcome, rf_err *err)
{
    args a = {0};
    rf_queue_args_add(&a, q->prefix);
    rf_queue_args_add(&a, l->id);
    rf_queue_args_addf(&a, "%" PRId64, l->token);
    rf_queue_args_add(&a, retryable ? "1" : "0");
    rf_queue_args_add(&a, reason && *reason ? reason : "failed");
    rf_queue_args_addf(&a, "%.4f", rf_queue_jitter(q));
    redisReply *rep;
    if (rf_queue_run(q, &rf_queue_lua_fail, &a, &rep, err) != 0)
        return rf_err_prefix(err, "fail %s", l->id);
    long long v = rep->integer;
    freeReplyObject(rep);
    if (v < 0)
        return rf_errf(err, RF_ECONFLICT, "fail %s: lease lost (token %" PRId64
                       " is stale; the task has another owner)", l->id, l->token);
    if (outcome)
        *outcome = v == 0 ? RF_FAIL_RETRY : RF_FAIL_DEAD;
    return 0;
}

int rf_queue_release(rf_queue *q, const rf_lease_ref *l, size_t n, int *status, rf_err *err)
{
    if (n == 0)
        return 0;
    args a = {0};
    rf_queue_args_add(&a, q->prefix);
    for (size_t i = 0; i < n; i++) {
        rf_queue_args_add(&a, l[i].id);
        rf_queue_args_addf(&a, "%" PRId64, l[i].token);
    }
    return status_batch(q, &rf_queue_lua_release, &a, n, status, err);
}

int rf_queue_reap(rf_queue *q, size_t max, size_t *moved, rf_err *err)
{
    args a = {0};
    rf_queue_args_add(&a, q->prefix);
    rf_queue_args_addf(&a, "%zu", max ? max : 1000);
    redisReply *rep;
    if (rf_queue_run(q, &rf_queue_lua_reap, &a, &rep, err) != 0)
        return rf_err_prefix(err, "reap");
    if (moved)
        *moved = (size_t)rep->integer;
    freeReplyObject(rep);
    return 0;
}

/* Scripts that take a list of ids: run in chunks to bound script time. */
static int ids_script(rf_queue *q, const rf_script *s, const char *mode,
                      const char *const *ids, size_t n, size_t *done, rf_err *err)
{
    if (done)
        *done = 0;
    for (size_t off = 0; off < n; off += 1000) {
        size_t m = n - off < 1000 ? n - off : 1000;
        args a = {0};
        rf_queue_args_add(&a, q->prefix);
        if (mode)
            rf_queue_args_add(&a, mode);
        for (size_t i = 0; i < m; i++) {
            if (rf_queue_id_valid(ids[off + i], err) != 0) {
                rf_queue_args_free(&a);
                return rf_err_prefix(err, "%s", s->name);
            }
            rf_queue_args_add(&a, ids[off + i]);
        }
        redisReply *rep;
        if (rf_queue_run(q, s, &a, &rep, err) != 0)
            return rf_err_prefix(err, "%s", s->name);
        if (done)
            *done += (size_t)rep->integer;
        freeReplyObject(rep);
    }
    return 0;
}

int rf_queue_cancel(rf_queue *q, const char *const *ids, size_t n, rf_err *err)
{
    return ids_script(q, &rf_queue_lua_cancel, NULL, ids, n, NULL, err);
}

int rf_queue_forget(rf_queue *q, const char *const *ids, size_t n, rf_err *err)
{
    return ids_script(q, &rf_queue_lua_forget, NULL, ids, n, NULL, err);
}

int rf_queue_dlq_requeue(rf_queue *q, const char *const *ids, size_t n, size_t *done,
                         rf_err *err)
{
    return ids_script(q, &rf_queue_lua_dlq_act, "requeue", ids, n, done, err);
}

int rf_queue_dlq_drop(rf_queue *q, const char *const *ids, size_t n, size_t *done,
                      rf_err *err)
{
    return ids_script(q, &rf_queue_lua_dlq_act, "drop", ids, n, done, err);
}

void rf_task_info_free(rf_task_info *t)
{
    free(t->id);
    free(t->state);
    free(t->run);
    free(t->step);
    free(t->type);
    free(t->pool);
    free(t->worker);
    free(t->outputs);
    free(t->metrics);
    free(t->error);
    memset(t, 0, sizeof *t);
}

/* maxa of a record that shares it with its step: the policy hash's
 * "prio maxa bo bomax jit tier" (rf_queue_prelude.lua). */
static int policy_max_attempts(rf_queue *q, const char *pol, int *maxa, rf_err *err)
{
    rf_buf key = RF_BUF_INIT;
    rf_buf_addf(&key, "%spol", q->prefix);
    const char *v[] = {"HGET", key.data, pol};
    redisReply *rep;
    int rc = rf_redis_cmdv(q->r, 3, v, NULL, &rep, err);
    rf_buf_free(&key);
    if (rc != 0)
        return -1;
    int prio;
    if (rep->type != REDIS_REPLY_STRING || sscanf(rep->str, "%d %d", &prio, maxa) != 2)
        rc = rf_errf(err, RF_ECORRUPT, "policy %s of the task is missing or malformed", pol);
    freeReplyObject(rep);
    return rc;
}

int rf_queue_get(rf_queue *q, const char *id, rf_task_info *info, rf_err *err)
{
    static const char *fields[] = {"st", "run", "step", "type", "pool", "idx", "att",
                                   "maxa", "tok", "wk", "out", "met", "err", "enq",
                                   "start", "fin", "pol"};
    enum { NF = sizeof fields / sizeof fields[0] };
    memset(info, 0, sizeof *info);
    if (rf_queue_id_valid(id, err) != 0)
        return -1;
    rf_buf key = RF_BUF_INIT;
    rf_buf_addf(&key, "%st:%s", q->prefix, id);
    const char *v[NF + 2] = {"HMGET", key.data};
    for (int i = 0; i < NF; i++)
        v[i + 2] = fields[i];
    redisReply *rep;
    int rc = rf_redis_cmdv(q->r, NF + 2, v, NULL, &rep, err);
    rf_buf_free(&key);
    if (rc != 0)
        return rf_err_prefix(err, "get task %s", id);
    if (rf_queue_want_array(rep, NF, 0, "get", err) != 0) {
        freeReplyObject(rep);
        return -1;
    }
    redisReply **e = rep->element;
    if (e[0]->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        return 0;
    }
    info->id = rf_xstrdup(id);
    info->state = rf_queue_el_dup(e[0]);
    info->run = rf_queue_el_dup(e[1]);
    info->step = rf_queue_el_dup(e[2]);
    info->type = rf_queue_el_dup(e[3]);
    info->pool = rf_queue_el_dup(e[4]);
    info->index = (long)rf_queue_el_int(e[5]);
    info->attempt = (int)rf_queue_el_int(e[6]);
    info->max_attempts = (int)rf_queue_el_int(e[7]);
    if (e[7]->type == REDIS_REPLY_NIL && e[16]->type == REDIS_REPLY_STRING &&
        policy_max_attempts(q, e[16]->str, &info->max_attempts, err) != 0) {
        freeReplyObject(rep);
        rf_task_info_free(info);
        return rf_err_prefix(err, "get task %s", id);
    }
    info->token = rf_queue_el_int(e[8]);
    info->worker = rf_queue_el_dup(e[9]);
    info->outputs = rf_queue_el_dup(e[10]);
    info->metrics = rf_queue_el_dup(e[11]);
    info->error = rf_queue_el_dup(e[12]);
    info->enqueued_us = rf_queue_el_int(e[13]);
    info->started_us = rf_queue_el_int(e[14]);
    info->finished_us = rf_queue_el_int(e[15]);
    freeReplyObject(rep);
    return 1;
}

int rf_queue_stats(rf_queue *q, rf_queue_stat **out, size_t *n, rf_err *err)
{
    *out = NULL;
    *n = 0;
    args a = {0};
    rf_queue_args_add(&a, q->prefix);
    redisReply *rep;
    if (rf_queue_run(q, &rf_queue_lua_stats, &a, &rep, err) != 0)
        return rf_err_prefix(err, "queue stats");
    if (rf_queue_want_array(rep, 0, 6, "stats", err) != 0) {
        freeReplyObject(rep);
        return -1;
    }
    size_t rows = rep->elements / 6;
    *out = rf_xcalloc(rows ? rows : 1, sizeof **out);
    for (size_t i = 0; i < rows; i++) {
        redisReply **e = rep->element + i * 6;
        rf_queue_stat *s = &(*out)[i];
        char tmp[32];
        snprintf(s->pool, sizeof s->pool, "%s", rf_queue_el_str(e[0], tmp, sizeof tmp));
        snprintf(s->type, sizeof s->type, "%s", rf_queue_el_str(e[1], tmp, sizeof tmp));
        s->ready = rf_queue_el_int(e[2]);
        s->delayed = rf_queue_el_int(e[3]);
        s->leased = rf_queue_el_int(e[4]);
        s->dead = rf_queue_el_int(e[5]);
    }
    *n = rows;
    freeReplyObject(rep);
    return 0;
}

void rf_dead_free(rf_dead *d, size_t n)
{
    if (!d)
        return;
    for (size_t i = 0; i < n; i++) {
        free(d[i].id);
        free(d[i].pool);
        free(d[i].type);
        free(d[i].run);
        free(d[i].step);
        free(d[i].reason);
    }
    free(d);
}

int rf_queue_dlq_list(rf_queue *q, const char *pool, const char *type, size_t limit,
                      rf_dead **out, size_t *n, rf_err *err)
{
    *out = NULL;
    *n = 0;
    args a = {0};
    rf_queue_args_add(&a, q->prefix);
    rf_queue_args_add(&a, pool ? pool : "");
    rf_queue_args_add(&a, type ? type : "");
    rf_queue_args_addf(&a, "%zu", limit ? limit : 100);
    redisReply *rep;
    if (rf_queue_run(q, &rf_queue_lua_dlq_list, &a, &rep, err) != 0)
        return rf_err_prefix(err, "dlq ls");
    if (rf_queue_want_array(rep, 0, 8, "dlq ls", err) != 0) {
        freeReplyObject(rep);
        return -1;
    }
    size_t rows = rep->elements / 8;
    *out = rf_xcalloc(rows ? rows : 1, sizeof **out);
    for (size_t i = 0; i < rows; i++) {
        redisReply **e = rep->element + i * 8;
        rf_dead *d = &(*out)[i];
        d->id = rf_queue_el_dup(e[0]);
        d->pool = rf_queue_el_dup(e[1]);
        d->type = rf_queue_el_dup(e[2]);
        d->run = rf_queue_el_dup(e[3]);
        d->step = rf_queue_el_dup(e[4]);
        d->reason = rf_queue_el_dup(e[5]);
        d->attempts = (int)rf_queue_el_int(e[6]);
        d->dead_ms = rf_queue_el_int(e[7]);
    }
    *n = rows;
    freeReplyObject(rep);
    return 0;
}
