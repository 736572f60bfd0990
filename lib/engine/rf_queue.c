/* rf_queue: reliable task queues on Redis; see rf_queue.h for the model
 * and docs/redis-schema.md for the keys.
 *
 * Every state change is one Lua script (rf_queue_*.lua). The scripts build key names
 * from the prefix (ARGV[1]) and task ids, so they need a single Redis
 * primary, not a Cluster. Numbers travel as strings both ways: Lua turns
 * returned numbers into truncated integers and formats large floats with
 * 14 digits, so scores are always formatted with %d. */
#include "engine/rf_queue_impl.h"

/* ---- validation ----------------------------------------------------- */

static int name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

int rf_queue_name_valid(const char *what, const char *s, rf_err *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > RF_QUEUE_NAME_MAX)
        return rf_errf(err, RF_EINVAL, "%s name must have 1 to %d characters", what,
                       RF_QUEUE_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if (!name_char((unsigned char)s[i]))
            return rf_errf(err, RF_EINVAL, "%s name \"%s\": only letters, digits and _ . - "
                           "are allowed", what, s);
    return 0;
}

int rf_queue_id_valid(const char *id, rf_err *err)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > RF_QUEUE_ID_MAX)
        return rf_errf(err, RF_EINVAL, "task id must have 1 to %d characters", RF_QUEUE_ID_MAX);
    for (size_t i = 0; i < n; i++)
        if (!name_char((unsigned char)id[i]) && !strchr(":/@+=", id[i]))
            return rf_errf(err, RF_EINVAL, "task id \"%.64s\": bad character '%c'", id, id[i]);
    return 0;
}

/* ---- handle --------------------------------------------------------- */

void rf_queue_opts_default(rf_queue_opts *o)
{
    o->prefix = "rf:";
    o->lease_ms = 5000;
    o->retention_s = 7 * 24 * 3600;
}

int rf_queue_open(rf_redis *r, const rf_queue_opts *o, rf_queue **out, rf_err *err)
{
    rf_queue_opts d;
    rf_queue_opts_default(&d);
    if (!o)
        o = &d;
    if (o->lease_ms < LEASE_MIN_MS)
        return rf_errf(err, RF_EINVAL, "lease must be at least %d ms", LEASE_MIN_MS);
    rf_queue *q = rf_xcalloc(1, sizeof *q);
    q->r = r;
    q->prefix = rf_xstrdup(o->prefix ? o->prefix : "rf:");
    rf_buf b = RF_BUF_INIT;
    rf_buf_addf(&b, "%sevents", q->prefix);
    q->events_key = rf_buf_detach(&b, NULL);
    q->lease_ms = o->lease_ms;
    q->retention_s = o->retention_s < 0 ? 0 : o->retention_s;
    q->rand_state = (unsigned)(uintptr_t)q ^ (unsigned)o->lease_ms;
    *out = q;
    return 0;
}

void rf_queue_close(rf_queue *q)
{
    if (!q)
        return;
    free(q->prefix);
    free(q->events_key);
    free(q);
}

const char *rf_queue_prefix(const rf_queue *q) { return q->prefix; }
long rf_queue_lease_ms(const rf_queue *q) { return q->lease_ms; }
const char *rf_queue_events_key(const rf_queue *q) { return q->events_key; }

/* ---- argument vectors ----------------------------------------------- */

void rf_queue_args_add(args *a, const char *s)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = rf_xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = s;
}

void rf_queue_args_addf(args *a, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (a->nown == a->owncap) {   /* doubling: an enqueue formats thousands */
        a->owncap = a->owncap ? a->owncap * 2 : 16;
        a->own = rf_xrealloc(a->own, a->owncap * sizeof *a->own);
    }
    a->own[a->nown] = rf_xstrdup(tmp);
    rf_queue_args_add(a, a->own[a->nown++]);
}

void rf_queue_args_free(args *a)
{
    for (size_t i = 0; i < a->nown; i++)
        free(a->own[i]);
    free(a->own);
    free(a->v);
}

int rf_queue_run(rf_queue *q, const rf_script *s, args *a, redisReply **rep, rf_err *err)
{
    int rc = rf_redis_eval(q->r, s, 0, (int)a->n, a->v, NULL, rep, err);
    rf_queue_args_free(a);
    return rc;
}

/* Reply element as a string (integers formatted), "" for nil. */
const char *rf_queue_el_str(const redisReply *e, char *tmp, size_t n)
{
    if (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS)
        return e->str;
    if (e->type == REDIS_REPLY_INTEGER) {
        snprintf(tmp, n, "%lld", e->integer);
        return tmp;
    }
    return "";
}

int64_t rf_queue_el_int(const redisReply *e)
{
    char tmp[32];
    return strtoll(rf_queue_el_str(e, tmp, sizeof tmp), NULL, 10);
}

char *rf_queue_el_dup(const redisReply *e)
{
    char tmp[32];
    return rf_xstrdup(rf_queue_el_str(e, tmp, sizeof tmp));
}

/* Check an array reply of exactly n elements (or a multiple of `row`). */
int rf_queue_want_array(const redisReply *rep, size_t n, size_t row, const char *what,
                      rf_err *err)
{
    if (rep->type != REDIS_REPLY_ARRAY || (n && rep->elements != n) ||
        (row && rep->elements % row))
        return rf_errf(err, RF_ECORRUPT, "%s: unexpected reply from Redis", what);
    return 0;
}

/* ---- worker registry ------------------------------------------------- */

int rf_queue_worker_beat(rf_queue *q, const rf_worker_info *w, long ttl_ms, rf_err *err)
{
    args a = {0};
    rf_queue_args_add(&a, q->prefix);
    rf_queue_args_add(&a, w->id);
    rf_queue_args_addf(&a, "%ld", ttl_ms > 0 ? ttl_ms : 3 * q->lease_ms);
    rf_queue_args_add(&a, "host"), rf_queue_args_add(&a, w->host ? w->host : "");
    rf_queue_args_add(&a, "pid"), rf_queue_args_addf(&a, "%ld", w->pid);
    rf_queue_args_add(&a, "pool"), rf_queue_args_add(&a, w->pool ? w->pool : "");
    rf_queue_args_add(&a, "types"), rf_queue_args_add(&a, w->types ? w->types : "");
    rf_queue_args_add(&a, "cur"), rf_queue_args_add(&a, w->current ? w->current : "");
    rf_queue_args_add(&a, "started"), rf_queue_args_addf(&a, "%" PRId64, w->started_ms);
    redisReply *rep;
    if (rf_queue_run(q, &rf_queue_lua_worker_beat, &a, &rep, err) != 0)
        return rf_err_prefix(err, "worker heartbeat");
    freeReplyObject(rep);
    return 0;
}

int rf_queue_worker_gone(rf_queue *q, const char *id, rf_err *err)
{
    rf_buf k = RF_BUF_INIT, z = RF_BUF_INIT;
    rf_buf_addf(&k, "%sw:%s", q->prefix, id);
    rf_buf_addf(&z, "%sworkers", q->prefix);
    const char *v1[] = {"DEL", k.data};
    const char *v2[] = {"ZREM", z.data, id};
    redisReply *rep;
    int rc = rf_redis_cmdv(q->r, 2, v1, NULL, &rep, err);
    if (rc == 0) {
        freeReplyObject(rep);
        rc = rf_redis_cmdv(q->r, 3, v2, NULL, &rep, err);
        if (rc == 0)
            freeReplyObject(rep);
    }
    rf_buf_free(&k);
    rf_buf_free(&z);
    return rc;
}

void rf_worker_info_free(rf_worker_info *w, size_t n)
{
    if (!w)
        return;
    for (size_t i = 0; i < n; i++) {
        free(w[i].id);
        free(w[i].host);
        free(w[i].pool);
        free(w[i].types);
        free(w[i].current);
    }
    free(w);
}

int rf_queue_workers(rf_queue *q, rf_worker_info **out, size_t *n, rf_err *err)
{
    *out = NULL;
    *n = 0;
    args a = {0};
    rf_queue_args_add(&a, q->prefix);
    redisReply *rep;
    if (rf_queue_run(q, &rf_queue_lua_workers, &a, &rep, err) != 0)
        return rf_err_prefix(err, "workers");
    if (rf_queue_want_array(rep, 0, 8, "workers", err) != 0) {
        freeReplyObject(rep);
        return -1;
    }
    size_t rows = rep->elements / 8;
    *out = rf_xcalloc(rows ? rows : 1, sizeof **out);
    for (size_t i = 0; i < rows; i++) {
        redisReply **e = rep->element + i * 8;
        rf_worker_info *w = &(*out)[i];
        w->id = rf_queue_el_dup(e[0]);
        w->host = rf_queue_el_dup(e[1]);
        w->pid = (long)rf_queue_el_int(e[2]);
        w->pool = rf_queue_el_dup(e[3]);
        w->types = rf_queue_el_dup(e[4]);
        w->current = rf_queue_el_dup(e[5]);
        w->started_ms = rf_queue_el_int(e[6]);
        w->seen_ms = rf_queue_el_int(e[7]);
    }
    *n = rows;
    freeReplyObject(rep);
    return 0;
}

/* ---- live telemetry -------------------------------------------------- */

static int simple(rf_queue *q, int argc, const char **v, rf_err *err)
{
    redisReply *rep;
    if (rf_redis_cmdv(q->r, argc, v, NULL, &rep, err) != 0)
        return -1;
    freeReplyObject(rep);
    return 0;
}

int rf_queue_live_metric(rf_queue *q, const char *id, const char *name, double value,
                         rf_err *err)
{
    char key[RF_QUEUE_ID_MAX + 128], val[64];
    snprintf(key, sizeof key, "%slive:%s", q->prefix, id);
    snprintf(val, sizeof val, "%.17g", value);
    const char *v[] = {"HSET", key, name, isfinite(value) ? val : "null"};
    char ttl[32];
    snprintf(ttl, sizeof ttl, "%ld", q->retention_s > 0 ? q->retention_s : 7L * 24 * 3600);
    const char *x[] = {"EXPIRE", key, ttl};
    /* Live metrics outlive the task by the retention, like its record. */
    return simple(q, 4, v, err) == 0 && simple(q, 3, x, err) == 0 ? 0 : -1;
}

int rf_queue_progress(rf_queue *q, const char *run, const char *id, const char *series,
                      int64_t step, const char *const *keys, const double *vals, size_t n,
                      rf_err *err)
{
    char key[512], st[32];
    snprintf(key, sizeof key, "%srun:%s:progress", q->prefix, run && *run ? run : "-");
    snprintf(st, sizeof st, "%" PRId64, step);
    size_t argc = 12 + 2 * n;
    const char **v = rf_xcalloc(argc, sizeof *v);
    char (*num)[32] = rf_xcalloc(n ? n : 1, sizeof *num);
    size_t k = 0;
    v[k++] = "XADD", v[k++] = key, v[k++] = "MAXLEN", v[k++] = "~", v[k++] = "100000";
    v[k++] = "*", v[k++] = "task", v[k++] = id, v[k++] = "series", v[k++] = series;
    v[k++] = "step", v[k++] = st;
    for (size_t i = 0; i < n; i++) {
        snprintf(num[i], sizeof num[i], "%.9g", vals[i]);
        v[k++] = keys[i];
        v[k++] = num[i];
    }
    int rc = simple(q, (int)k, v, err);
    free(num);
    free(v);
    return rc;
}

int rf_queue_log_line(rf_queue *q, const char *run, const char *id, const char *line,
                      rf_err *err)
{
    char key[512];
    snprintf(key, sizeof key, "%srun:%s:log", q->prefix, run && *run ? run : "-");
    const char *v[] = {"XADD", key, "MAXLEN", "~", "10000", "*", "task", id, "line", line};
    return simple(q, 10, v, err);
}
