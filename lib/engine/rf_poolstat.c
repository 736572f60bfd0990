/* rf_poolstat: queue and pool figures, desired workers; see rf_poolstat.h. */
#include "engine/rf_poolstat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"

extern const char rf_lua_poolstat[];
static const rf_script s_poolstat = {"pool stats", rf_lua_poolstat};

void rf_scale_opts_default(rf_scale_opts *o)
{
    o->slots = NULL;
    o->min_workers = 0;
    o->max_workers = 100;
}

/* Walk "N" or "POOL=N,...": for each part, pool ("" for a bare N) and n.
 * Stops at the first part that does not parse (returns -1). */
static int slots_find(const char *spec, const char *pool, long *out, rf_err *err)
{
    const char *p = spec;
    while (p && *p) {
        size_t len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        const char *num = eq ? eq + 1 : p;
        size_t plen = eq ? (size_t)(eq - p) : 0;
        char digits[24];
        size_t dl = len - (size_t)(num - p);
        char *end = NULL;
        long v = 0;
        if (dl > 0 && dl < sizeof digits) {
            memcpy(digits, num, dl);
            digits[dl] = '\0';
            v = strtol(digits, &end, 10);
        }
        if (!end || *end || v < 1 || v > 100000 || (eq && plen == 0))
            return rf_errf(err, RF_EINVAL,
                           "slots: bad part \"%.*s\" (want N or POOL=N, N in 1..100000)",
                           (int)len, p);
        if (!eq || (pool && strlen(pool) == plen && !strncmp(p, pool, plen)))
            *out = v;  /* a named pool wins over a bare N: keep looking */
        if (eq && pool && strlen(pool) == plen && !strncmp(p, pool, plen))
            return 0;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

int rf_scale_opts_check(const rf_scale_opts *o, rf_err *err)
{
    long v = 1;
    if (o->min_workers < 0 || o->max_workers < 1 || o->min_workers > o->max_workers)
        return rf_errf(err, RF_EINVAL, "workers bounds: want 0 <= min <= max, max >= 1 "
                       "(have min %ld, max %ld)", o->min_workers, o->max_workers);
    return slots_find(o->slots, NULL, &v, err);
}

long rf_scale_slots(const rf_scale_opts *o, const char *pool)
{
    long v = 1;
    rf_err e = {0};
    if (slots_find(o->slots, pool, &v, &e) != 0)
        return 1;
    return v;
}

int64_t rf_scale_desired(const rf_scale_opts *o, int64_t waiting, int64_t in_flight,
                         long slots)
{
    int64_t need = waiting + in_flight, per = slots > 0 ? slots : 1;
    int64_t d = (need + per - 1) / per;
    if (d < o->min_workers)
        d = o->min_workers;
    if (d > o->max_workers)
        d = o->max_workers;
    return d;
}

static rf_pstat *pool_of(rf_poolstat *s, const char *pool)
{
    for (size_t i = 0; i < s->npools; i++)
        if (!strcmp(s->pools[i].pool, pool))
            return &s->pools[i];
    s->pools = rf_xrealloc(s->pools, (s->npools + 1) * sizeof *s->pools);
    rf_pstat *p = &s->pools[s->npools++];
    memset(p, 0, sizeof *p);
    snprintf(p->pool, sizeof p->pool, "%s", pool);
    return p;
}

static const char *str_at(const redisReply *rep, size_t i)
{
    const redisReply *e = rep->element[i];
    return e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS ? e->str : "";
}

static int64_t int_at(const redisReply *rep, size_t i)
{
    const redisReply *e = rep->element[i];
    return e->type == REDIS_REPLY_INTEGER ? (int64_t)e->integer : atoll(str_at(rep, i));
}

static void parse_reply(const redisReply *rep, rf_poolstat *s)
{
    size_t i = 0;
    for (; i + 7 <= rep->elements && strcmp(str_at(rep, i), "--") != 0; i += 7) {
        s->queues = rf_xrealloc(s->queues, (s->nqueues + 1) * sizeof *s->queues);
        rf_qstat *q = &s->queues[s->nqueues++];
        snprintf(q->pool, sizeof q->pool, "%s", str_at(rep, i));
        snprintf(q->type, sizeof q->type, "%s", str_at(rep, i + 1));
        q->ready = int_at(rep, i + 2);
        q->delayed = int_at(rep, i + 3);
        q->leased = int_at(rep, i + 4);
        q->dead = int_at(rep, i + 5);
        q->head_age_ms = int_at(rep, i + 6);
        rf_pstat *p = pool_of(s, q->pool);
        p->waiting += q->ready + q->delayed;
        p->in_flight += q->leased;
    }
    for (i++; i < rep->elements; i++)
        pool_of(s, str_at(rep, i))->workers++;
}

int rf_poolstat_read(rf_redis *r, const char *prefix, const rf_scale_opts *o,
                     rf_poolstat *out, rf_err *err)
{
    memset(out, 0, sizeof *out);
    const char *argv[] = {prefix};
    redisReply *rep = NULL;
    if (rf_redis_eval(r, &s_poolstat, 0, 1, argv, NULL, &rep, err) != 0)
        return rf_err_prefix(err, "pool stats");
    if (rep->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(rep);
        return rf_errf(err, RF_EIO, "pool stats: unexpected reply");
    }
    parse_reply(rep, out);
    freeReplyObject(rep);
    for (size_t i = 0; i < out->npools; i++) {
        rf_pstat *p = &out->pools[i];
        p->slots = rf_scale_slots(o, p->pool);
        p->desired = rf_scale_desired(o, p->waiting, p->in_flight, p->slots);
    }
    return 0;
}

void rf_poolstat_free(rf_poolstat *s)
{
    free(s->queues);
    free(s->pools);
    memset(s, 0, sizeof *s);
}
