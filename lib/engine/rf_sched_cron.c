/* rf_sched_cron: scheduled submission (`ruvflow cron add|ls|rm`). A
 * schedule is a JSON spec in the hash P cron (id -> {expr, file, params,
 * created}) and its next fire time in the sorted set P cron:next; what it
 * last did is in P cron:last. Every scheduler looks at the due ones a few
 * times a second; to fire one it first moves its next fire time on with a
 * compare-and-set (rf_sched_cron_fire.lua): only the scheduler that wins
 * submits, so a tick fires once across any number of schedulers. Ticks
 * missed while no scheduler ran are not made up: one run, then the next
 * tick from now. */
#include "engine/rf_sched_impl.h"

#include "engine/rf_cron.h"

static long tick_ms(const rf_sched *s)
{
    return s->o.cron_tick_ms > 0 ? s->o.cron_tick_ms : 60000;
}

/* The next fire time in ms strictly after ms `after`, -1 if none. */
static int64_t next_ms(const rf_sched *s, const rf_cron *c, int64_t after)
{
    int64_t t = rf_cron_next(c, after / tick_ms(s));
    return t < 0 ? -1 : t * tick_ms(s);
}

static int cmd(rf_sched *s, int argc, const char **argv, redisReply **rep, rf_err *err)
{
    return rf_redis_cmdv(s->r, argc, argv, NULL, rep, err);
}

int rf_sched_cron_add(rf_sched *s, const char *expr, const char *file,
                      const char *const *params, size_t nparams, char **id, rf_err *err)
{
    rf_cron c;
    *id = NULL;
    if (rf_cron_parse(expr, &c, err) < 0)
        return -1;
    if (file[0] != '/')
        return rf_errf(err, RF_EINVAL, "cron: the workflow file must be an absolute path");
    unsigned char rnd[4];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(rnd, 1, sizeof rnd, f) : 0;
    if (f)
        fclose(f);
    if (got != sizeof rnd)
        return rf_errf(err, RF_EIO, "cron: cannot read /dev/urandom for an id");
    rf_buf b = RF_BUF_INIT, k = RF_BUF_INIT, kn = RF_BUF_INIT;
    rf_buf_addf(&b, "cron-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
    json_t *ps = json_array();
    for (size_t i = 0; i < nparams; i++)
        json_array_append_new(ps, json_string(params[i]));
    int64_t now = rf_wall_ms();
    json_t *spec = json_pack("{s:s,s:s,s:o,s:I}", "expr", expr, "file", file, "params", ps,
                             "created", (json_int_t)now);
    char *text = json_dumps(spec, JSON_COMPACT);
    json_decref(spec);
    char when[32];
    snprintf(when, sizeof when, "%lld", (long long)next_ms(s, &c, now));
    rf_buf_addf(&k, "%scron", s->P);
    rf_buf_addf(&kn, "%scron:next", s->P);
    const char *a1[] = {"HSET", k.data, b.data, text};
    const char *a2[] = {"ZADD", kn.data, when, b.data};
    redisReply *rep;
    int rc = cmd(s, 4, a1, &rep, err);
    if (rc == 0) {
        freeReplyObject(rep);
        if ((rc = cmd(s, 4, a2, &rep, err)) == 0)
            freeReplyObject(rep);
    }
    free(text);
    rf_buf_free(&k);
    rf_buf_free(&kn);
    if (rc < 0) {
        rf_buf_free(&b);
        return rf_err_prefix(err, "cron add");
    }
    *id = rf_buf_detach(&b, NULL);
    return 0;
}

int rf_sched_cron_rm(rf_sched *s, const char *id, rf_err *err)
{
    rf_buf k = RF_BUF_INIT, kn = RF_BUF_INIT, kl = RF_BUF_INIT;
    rf_buf_addf(&k, "%scron", s->P);
    rf_buf_addf(&kn, "%scron:next", s->P);
    rf_buf_addf(&kl, "%scron:last", s->P);
    const char *a1[] = {"HDEL", k.data, id};
    const char *a2[] = {"ZREM", kn.data, id};
    const char *a3[] = {"HDEL", kl.data, id};
    redisReply *rep;
    long long gone = 0;
    int rc = cmd(s, 3, a1, &rep, err);
    if (rc == 0) {
        gone = rf_sched_reply_int(rep);
        freeReplyObject(rep);
        if ((rc = cmd(s, 3, a2, &rep, err)) == 0)
            freeReplyObject(rep);
        if (rc == 0 && (rc = cmd(s, 3, a3, &rep, err)) == 0)
            freeReplyObject(rep);
    }
    rf_buf_free(&k);
    rf_buf_free(&kn);
    rf_buf_free(&kl);
    if (rc == 0 && !gone)
        return rf_errf(err, RF_ENOTFOUND, "no schedule \"%s\" (see ruvflow cron ls)", id);
    return rc;
}

static char *jdup(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return rf_xstrdup(v ? v : "");
}

static void entry_from(rf_cron_entry *e, const char *id, const char *spec,
                       const char *last)
{
    json_t *j = json_loads(spec, 0, NULL), *l = last ? json_loads(last, 0, NULL) : NULL;
    e->id = rf_xstrdup(id);
    e->expr = jdup(j, "expr");
    e->file = jdup(j, "file");
    e->created_ms = (int64_t)json_integer_value(json_object_get(j, "created"));
    json_t *ps = json_object_get(j, "params");
    e->nparams = json_array_size(ps);
    e->params = rf_xcalloc(e->nparams + 1, sizeof *e->params);
    for (size_t i = 0; i < e->nparams; i++) {
        const char *p = json_string_value(json_array_get(ps, i));
        e->params[i] = rf_xstrdup(p ? p : "");
    }
    e->last_run = jdup(l, "run");
    e->last_error = jdup(l, "error");
    e->last_ms = (int64_t)json_integer_value(json_object_get(l, "at"));
    json_decref(j);
    json_decref(l);
}

int rf_sched_cron_list(rf_sched *s, rf_cron_entry **v, size_t *n, rf_err *err)
{
    rf_buf k = RF_BUF_INIT, kn = RF_BUF_INIT, kl = RF_BUF_INIT;
    rf_buf_addf(&k, "%scron", s->P);
    rf_buf_addf(&kn, "%scron:next", s->P);
    rf_buf_addf(&kl, "%scron:last", s->P);
    const char *a1[] = {"ZRANGE", kn.data, "0", "-1", "WITHSCORES"};
    redisReply *z;
    *v = NULL;
    *n = 0;
    int rc = cmd(s, 5, a1, &z, err);
    if (rc == 0) {
        *v = rf_xcalloc(z->elements / 2 + 1, sizeof **v);
        for (size_t i = 0; rc == 0 && i + 1 < z->elements; i += 2) {
            const char *id = z->element[i]->str;
            const char *a2[] = {"HGET", k.data, id};
            const char *a3[] = {"HGET", kl.data, id};
            char *spec = NULL, *last = NULL;
            if ((rc = rf_sched_get_str(s, 3, a2, &spec, err)) == 0 &&
                (rc = rf_sched_get_str(s, 3, a3, &last, err)) == 0 && spec) {
                entry_from(&(*v)[*n], id, spec, last);
                (*v)[(*n)++].next_ms = (int64_t)strtod(z->element[i + 1]->str, NULL);
            }
            free(spec);
            free(last);
        }
        freeReplyObject(z);
    }
    rf_buf_free(&k);
    rf_buf_free(&kn);
    rf_buf_free(&kl);
    if (rc < 0) {
        rf_cron_entries_free(*v, *n);
        *v = NULL;
        *n = 0;
    }
    return rc;
}

void rf_cron_entries_free(rf_cron_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].id), free(v[i].expr), free(v[i].file);
        for (size_t k = 0; k < v[i].nparams; k++)
            free(v[i].params[k]);
        free(v[i].params);
        free(v[i].last_run), free(v[i].last_error);
    }
    free(v);
}

/* Submit the schedule's workflow; records what happened in cron:last. */
static int fire(rf_sched *s, const rf_cron_entry *e, int64_t tick_at, rf_err *err)
{
    rf_workflow *wf = NULL;
    rf_wf_diags d = {0};
    rf_err why;
    char *run = NULL;
    int rc = rf_workflow_load(e->file, (const char *const *)e->params, e->nparams, &wf, &d,
                              &why);
    if (rc == 0)
        rc = rf_sched_submit(s, wf, NULL, &run, &why);
    else if (d.n)
        rf_errf(&why, RF_EINVAL, "%s:%d:%d: %s", d.v[0].file ? d.v[0].file : e->file,
                d.v[0].loc.line, d.v[0].loc.col, d.v[0].msg);
    rf_wf_diags_free(&d);
    rf_workflow_free(wf);
    if (rc == 0)
        rf_log_info(s->o.log, "cron %s (%s): submitted run %s", e->id, e->expr, run);
    else
        rf_log_warn(s->o.log, "cron %s (%s): %s", e->id, e->expr, why.msg);
    json_t *last = json_pack("{s:s,s:s,s:I,s:I}", "run", run ? run : "", "error",
                             rc == 0 ? "" : why.msg, "at", (json_int_t)rf_wall_ms(),
                             "tick", (json_int_t)tick_at);
    char *text = json_dumps(last, JSON_COMPACT);
    json_decref(last);
    rf_buf kl = RF_BUF_INIT, kg = RF_BUF_INIT;
    rf_buf_addf(&kl, "%scron:last", s->P);
    rf_buf_addf(&kg, "%scron:log:%s", s->P, e->id);
    const char *a1[] = {"HSET", kl.data, e->id, text};
    const char *a2[] = {"LPUSH", kg.data, text};
    const char *a3[] = {"LTRIM", kg.data, "0", "99"};
    redisReply *rep;
    int rr = cmd(s, 4, a1, &rep, err);
    if (rr == 0) {
        freeReplyObject(rep);
        if ((rr = cmd(s, 3, a2, &rep, err)) == 0)
            freeReplyObject(rep);
        if (rr == 0 && (rr = cmd(s, 4, a3, &rep, err)) == 0)
            freeReplyObject(rep);
    }
    rf_buf_free(&kl);
    rf_buf_free(&kg);
    free(text);
    free(run);
    return rr;   /* a workflow that fails to load is the schedule's problem, logged */
}

/* Claim the tick due at `due` (ms) of schedule e, moving it to the next. */
static int claim(rf_sched *s, const rf_cron_entry *e, int64_t due, int *won, rf_err *err)
{
    rf_cron c;
    rf_err bad;
    int64_t now = rf_wall_ms(), next = -1;
    if (rf_cron_parse(e->expr, &c, &bad) == 0) {
        next = next_ms(s, &c, due);
        if (next >= 0 && next <= now)   /* ticks missed while no scheduler ran */
            next = next_ms(s, &c, now);
    }
    char a[32], b[32];
    snprintf(a, sizeof a, "%lld", (long long)due);
    snprintf(b, sizeof b, "%lld", (long long)(next < 0 ? INT64_MAX / 2 : next));
    const char *argv[] = {s->P, e->id, a, b};
    redisReply *rep;
    if (rf_redis_eval(s->r, &rf_sched_lua_cron_fire, 0, 4, argv, NULL, &rep, err) < 0)
        return -1;
    *won = rf_sched_reply_int(rep) == 1;
    freeReplyObject(rep);
    return 0;
}

int rf_sched_cron_tick(rf_sched *s, size_t *fired, rf_err *err)
{
    if (fired)
        *fired = 0;
    rf_buf kn = RF_BUF_INIT;
    char now[32];
    rf_buf_addf(&kn, "%scron:next", s->P);
    snprintf(now, sizeof now, "%lld", (long long)rf_wall_ms());
    const char *argv[] = {"ZRANGEBYSCORE", kn.data, "-inf", now, "LIMIT", "0", "1"};
    redisReply *rep;
    int rc = cmd(s, 7, argv, &rep, err);
    rf_buf_free(&kn);
    if (rc < 0)
        return -1;
    size_t ndue = rep->elements;
    freeReplyObject(rep);
    if (!ndue)
        return 0;     /* the common case: one cheap command */
    rf_cron_entry *v;
    size_t n;
    if (rf_sched_cron_list(s, &v, &n, err) < 0)
        return -1;
    int64_t t = rf_wall_ms();
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int won = 0;
        if (v[i].next_ms > t || (rc = claim(s, &v[i], v[i].next_ms, &won, err)) < 0 || !won)
            continue;
        rc = fire(s, &v[i], v[i].next_ms, err);
        if (rc == 0 && fired)
            (*fired)++;
    }
    rf_cron_entries_free(v, n);
    return rc;
}
