/* rf_redis: reconnecting Redis connection and command routing; see
 * rf_redis.h. Scripts and pipelines are in rf_redis_eval.c, the cluster's
 * slot map and redirections in rf_redis_cluster.c. */
#include "engine/rf_redis_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rf_buf.h"
#include "base/rf_time.h"

/* Counters are written by the connection's owner and may be read by a
 * metrics thread: relaxed atomics, no lock. */
void rf_redis_count(uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

void rf_redis_count_rt(rf_redis *r, int node)
{
    rf_redis_count(&r->stats.round_trips);
    rf_redis_count(&r->conns[node].stats.round_trips);
}

void rf_redis_count_err(rf_redis *r, int node)
{
    rf_redis_count(&r->stats.errors);
    rf_redis_count(&r->conns[node].stats.errors);
}

static void load_stats(const rf_redis_stats *s, rf_redis_stats *out)
{
    out->round_trips = __atomic_load_n(&s->round_trips, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&s->errors, __ATOMIC_RELAXED);
    out->reconnects = __atomic_load_n(&s->reconnects, __ATOMIC_RELAXED);
}

void rf_redis_stats_get(const rf_redis *r, rf_redis_stats *out)
{
    load_stats(&r->stats, out);
}

int rf_redis_is_cluster(const rf_redis *r) { return r->map != NULL; }

/* r->map is set once (at connect, or by the first MOVED), with release
 * order: a metrics thread sees NULL or a complete map. */
size_t rf_redis_nodes(const rf_redis *r)
{
    const rf_redis_map *m = __atomic_load_n(&r->map, __ATOMIC_ACQUIRE);
    return m ? __atomic_load_n(&m->nnodes, __ATOMIC_ACQUIRE) : 1;
}

void rf_redis_node_stats_get(const rf_redis *r, size_t i, char *addr, size_t addrsz,
                             rf_redis_stats *out)
{
    if (addr && addrsz)
        snprintf(addr, addrsz, "%s:%d", rf_redis_node_host(r, (int)i),
                 rf_redis_node_port(r, (int)i));
    load_stats(&r->conns[i].stats, out);
}

void rf_redis_opts_default(rf_redis_opts *o)
{
    memset(o, 0, sizeof *o);   /* should_stop and any later field: unset */
    o->connect_timeout_ms = 2000;
    o->command_timeout_ms = 10000;
    o->retry_ms = 30000;
    o->log = NULL;
}

static struct timeval tv_ms(long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* ---- URLs ---------------------------------------------------------- */

void rf_redis_url_parts_free(rf_redis_url_parts *p)
{
    free(p->user);
    free(p->pass);
    free(p->host);
    for (size_t i = 0; i < p->nseeds; i++)
        free(p->seeds[i].host);
    free(p->seeds);
    memset(p, 0, sizeof *p);
}

static int parse_int(const char *s, size_t n, int lo, int hi, int *out)
{
    if (n == 0 || n > 9)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* host[:port] of s..end; the port defaults to 6379. */
static int parse_hostport(const char *s, const char *end, char **host, int *port, rf_err *err)
{
    const char *colon = memchr(s, ':', (size_t)(end - s));
    const char *hend = colon ? colon : end;
    if (hend == s)
        return rf_errf(err, RF_EINVAL, "redis URL has no host");
    *port = 6379;
    if (colon && parse_int(colon + 1, (size_t)(end - colon - 1), 1, 65535, port) != 0)
        return rf_errf(err, RF_EINVAL, "redis URL: bad port");
    *host = strndup(s, (size_t)(hend - s));
    return 0;
}

/* The comma-separated seeds of a cluster URL. */
static int parse_seeds(const char *s, const char *end, rf_redis_url_parts *p, rf_err *err)
{
    size_t n = 1;
    for (const char *q = s; q < end; q++)
        n += *q == ',';
    p->seeds = rf_xcalloc(n, sizeof *p->seeds);
    while (p->nseeds < n) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *e = comma ? comma : end;
        rf_redis_seed *sd = &p->seeds[p->nseeds];
        if (parse_hostport(s, e, &sd->host, &sd->port, err) != 0)
            return rf_err_prefix(err, "seed %zu", p->nseeds + 1);
        p->nseeds++;
        s = e + 1;
    }
    p->host = strdup(p->seeds[0].host);
    p->port = p->seeds[0].port;
    return 0;
}

int rf_redis_url_parse(const char *url, rf_redis_url_parts *p, rf_err *err)
{
    memset(p, 0, sizeof *p);
    p->port = 6379;
    const char *s;
    if (url && strncmp(url, "redis://", 8) == 0)
        s = url + 8;
    else if (url && strncmp(url, "redis+cluster://", 16) == 0)
        s = url + 16, p->cluster = 1;
    else
        return rf_errf(err, RF_EINVAL, "redis URL must look like "
                       "redis://[user:pass@]host[:port][/db] or "
                       "redis+cluster://[user:pass@]host:port[,host:port...]");
    const char *at = strrchr(s, '@');
    const char *slash = strchr(at ? at : s, '/');
    if (at && slash && at > slash)
        at = NULL;
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        if (colon) {
            if (colon > s)
                p->user = strndup(s, (size_t)(colon - s));
            p->pass = strndup(colon + 1, (size_t)(at - colon - 1));
        } else {
            /* "redis://secret@host" is a password, as in redis-cli. */
            p->pass = strndup(s, (size_t)(at - s));
        }
        s = at + 1;
    }
    const char *end = slash ? slash : s + strlen(s);
    int rc = p->cluster ? parse_seeds(s, end, p, err)
                        : parse_hostport(s, end, &p->host, &p->port, err);
    if (rc != 0) {
        rf_redis_url_parts_free(p);
        return -1;
    }
    if (slash && slash[1] && parse_int(slash + 1, strlen(slash + 1), 0, 65535, &p->db) != 0) {
        rf_redis_url_parts_free(p);
        return rf_errf(err, RF_EINVAL, "redis URL: bad database number \"%s\"", slash + 1);
    }
    if (p->cluster && p->db != 0) {
        rf_redis_url_parts_free(p);
        return rf_errf(err, RF_EINVAL, "redis URL: a cluster has database 0 only, not %s",
                       slash + 1);
    }
    return 0;
}

static char *safe_url_of(const rf_redis_url_parts *p)
{
    rf_buf b = RF_BUF_INIT;
    rf_buf_adds(&b, p->cluster ? "redis+cluster://" : "redis://");
    if (p->user || p->pass)
        rf_buf_addf(&b, "%s%s@", p->user ? p->user : "", p->pass ? ":***" : "");
    if (!p->cluster) {
        rf_buf_addf(&b, "%s:%d/%d", p->host, p->port, p->db);
        return rf_buf_detach(&b, NULL);
    }
    for (size_t i = 0; i < p->nseeds; i++)
        rf_buf_addf(&b, "%s%s:%d", i ? "," : "", p->seeds[i].host, p->seeds[i].port);
    return rf_buf_detach(&b, NULL);
}

/* ---- connection ---------------------------------------------------- */

const char *rf_redis_node_host(const rf_redis *r, int node)
{
    const rf_redis_map *m = __atomic_load_n(&r->map, __ATOMIC_ACQUIRE);
    return m ? m->nodes[node].host : r->url.host;
}

int rf_redis_node_port(const rf_redis *r, int node)
{
    const rf_redis_map *m = __atomic_load_n(&r->map, __ATOMIC_ACQUIRE);
    return m ? m->nodes[node].port : r->url.port;
}

void rf_redis_drop(rf_redis *r, int node)
{
    if (r->conns[node].c)
        redisFree(r->conns[node].c);
    r->conns[node].c = NULL;
}

/* Error reply -> rf_err. Returns -1. */
int rf_redis_reply_err(rf_err *err, const redisReply *rep, const char *what)
{
    int code = RF_EIO;
    if (!strncmp(rep->str, "NOAUTH", 6) || !strncmp(rep->str, "WRONGPASS", 9) ||
        !strncmp(rep->str, "NOPERM", 6))
        code = RF_EAUTH;
    return rf_errf(err, code, "%s: %s", what, rep->str);
}

/* AUTH or SELECT on a fresh context; -1 with err set. */
static int setup_cmd(redisContext *c, rf_err *err, const char *what, redisReply *rep)
{
    if (rep && rep->type != REDIS_REPLY_ERROR) {
        freeReplyObject(rep);
        return 0;
    }
    if (rep)
        rf_redis_reply_err(err, rep, what);
    else
        rf_errf(err, RF_ENET, "%s", c->errstr);
    freeReplyObject(rep);
    return -1;
}

/* One connection attempt to a node: connect, AUTH, SELECT. */
static int connect_once(rf_redis *r, int node, rf_err *err)
{
    const char *host = rf_redis_node_host(r, node);
    int port = rf_redis_node_port(r, node);
    redisContext *c = redisConnectWithTimeout(host, port, tv_ms(r->opts.connect_timeout_ms));
    if (!c)
        return rf_errf(err, RF_ENOMEM, "redis %s: out of memory", r->safe_url);
    if (c->err) {
        if (r->map)
            rf_errf(err, RF_ENET, "node %s:%d: %s", host, port, c->errstr);
        else
            rf_errf(err, RF_ENET, "%s", c->errstr);
        redisFree(c);
        return -1;
    }
    if (r->opts.command_timeout_ms > 0)
        redisSetTimeout(c, tv_ms(r->opts.command_timeout_ms));
    if (r->url.pass) {
        redisReply *rep = r->url.user
                              ? redisCommand(c, "AUTH %s %s", r->url.user, r->url.pass)
                              : redisCommand(c, "AUTH %s", r->url.pass);
        int rep_err = rep && rep->type == REDIS_REPLY_ERROR;
        if (setup_cmd(c, err, "redis AUTH", rep) != 0) {
            if (rep_err && err)
                err->code = RF_EAUTH;
            redisFree(c);
            return -1;
        }
    }
    if (r->url.db && setup_cmd(c, err, "redis SELECT",
                               redisCommand(c, "SELECT %d", r->url.db)) != 0) {
        redisFree(c);
        return -1;
    }
    r->conns[node].c = c;
    return 0;
}

/* Sleep ms in slices, asking should_stop between them: 1 if told to stop. */
static int nap(const rf_redis *r, long ms)
{
    while (ms > 0) {
        if (r->opts.should_stop && r->opts.should_stop(r->opts.stop_ud))
            return 1;
        long d = ms < 100 ? ms : 100;
        rf_sleep_ms(d);
        ms -= d;
    }
    return r->opts.should_stop && r->opts.should_stop(r->opts.stop_ud);
}

static void count_reconnect(rf_redis *r, int node)
{
    rf_redis_count(&r->stats.reconnects);
    rf_redis_count(&r->conns[node].stats.reconnects);
}

/* Connect, retrying with exponential backoff until the retry budget is
 * spent. Auth and URL errors are not retried: waiting will not fix them. */
static int ensure_single(rf_redis *r, rf_err *err)
{
    rf_err e = {0};
    int64_t start = rf_mono_ms();
    long delay = RF_REDIS_BACKOFF_FIRST_MS;
    for (int tries = 1;; tries++) {
        if (connect_once(r, 0, &e) == 0) {
            if (r->stats.round_trips > 0 || tries > 1)
                count_reconnect(r, 0);
            if (tries > 1 && r->opts.log)
                rf_log_info(r->opts.log, "redis %s: reconnected", r->safe_url);
            return 0;
        }
        if (e.code != RF_ENET)
            break;
        int64_t spent = rf_mono_ms() - start;
        if (spent >= r->opts.retry_ms) {
            rf_err_prefix(&e, "redis %s unreachable after %.1f s (%d attempt%s)", r->safe_url,
                          (double)spent / 1000.0, tries, tries == 1 ? "" : "s");
            break;
        }
        if (tries == 1 && r->opts.log)
            rf_log_warn(r->opts.log, "redis %s: %s; retrying with backoff for up to %ld s",
                        r->safe_url, e.msg, r->opts.retry_ms / 1000);
        long left = (long)(r->opts.retry_ms - spent);
        if (nap(r, delay < left ? delay : left)) {
            rf_errf(&e, RF_ECANCEL, "redis %s: stopped while reconnecting", r->safe_url);
            break;
        }
        delay = delay * 2 > RF_REDIS_BACKOFF_MAX_MS ? RF_REDIS_BACKOFF_MAX_MS : delay * 2;
    }
    if (err)
        *err = e;
    return -1;
}

int rf_redis_conn_ensure(rf_redis *r, int node, rf_err *err)
{
    if (r->conns[node].c)
        return 0;
    if (!r->map)
        return ensure_single(r, err);
    /* Cluster: one try; a refused node is a failover in progress, which
     * the caller's map reload and backoff ride out. */
    int had = r->conns[node].stats.round_trips > 0;
    if (connect_once(r, node, err) != 0)
        return -1;
    if (had)
        count_reconnect(r, node);
    return 0;
}

int rf_redis_backoff(rf_redis *r, int64_t start, long *delay, rf_err *err)
{
    int64_t spent = rf_mono_ms() - start;
    if (spent >= r->opts.retry_ms)
        return 0;
    long left = (long)(r->opts.retry_ms - spent);
    if (nap(r, *delay < left ? *delay : left)) {
        rf_errf(err, RF_ECANCEL, "redis %s: stopped while reconnecting", r->safe_url);
        return 0;
    }
    /* A cluster asks any live node for the map between tries, so it can
     * retry sooner: a promotion is seen within 500 ms of happening. */
    long cap = r->map ? RF_REDIS_CLUSTER_BACKOFF_MAX_MS : RF_REDIS_BACKOFF_MAX_MS;
    *delay = *delay * 2 > cap ? cap : *delay * 2;
    return 1;
}

int rf_redis_connect(const char *url, const rf_redis_opts *o, rf_redis **out,
                     rf_err *err)
{
    *out = NULL;
    rf_redis *r = rf_xcalloc(1, sizeof *r);
    if (o)
        r->opts = *o;
    else
        rf_redis_opts_default(&r->opts);
    if (rf_redis_url_parse(url, &r->url, err) != 0) {
        free(r);
        return -1;
    }
    r->safe_url = safe_url_of(&r->url);
    int rc = r->url.cluster ? rf_redis_cluster_init(r, err) : ensure_single(r, err);
    if (rc != 0) {
        rf_redis_close(r);
        return -1;
    }
    *out = r;
    return 0;
}

void rf_redis_close(rf_redis *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < RF_REDIS_MAX_NODES; i++)
        rf_redis_drop(r, (int)i);
    rf_redis_map_free(r->map);
    rf_redis_url_parts_free(&r->url);
    free(r->safe_url);
    free(r);
}

const char *rf_redis_url(const rf_redis *r) { return r->safe_url; }

/* ---- commands ------------------------------------------------------ */

int rf_redis_transient(const redisReply *rep)
{
    return rep->type == REDIS_REPLY_ERROR &&
           (!strncmp(rep->str, "LOADING", 7) || !strncmp(rep->str, "MASTERDOWN", 10) ||
            !strncmp(rep->str, "TRYAGAIN", 8) || !strncmp(rep->str, "CLUSTERDOWN", 11));
}

redisReply *rf_redis_send(rf_redis *r, int node, int asking, int argc, const char **argv,
                          const size_t *lens)
{
    redisContext *c = r->conns[node].c;
    rf_redis_count_rt(r, node);
    if (asking) {
        /* ASKING and the command in one write: the flag lasts one command. */
        void *a = NULL, *rep = NULL;
        if (redisAppendCommand(c, "ASKING") != REDIS_OK ||
            redisAppendCommandArgv(c, argc, argv, lens) != REDIS_OK ||
            redisGetReply(c, &a) != REDIS_OK || redisGetReply(c, &rep) != REDIS_OK) {
            freeReplyObject(a);
            return NULL;
        }
        freeReplyObject(a);
        return rep;
    }
    return redisCommandArgv(c, argc, argv, lens);
}

/* Note a lost node: dropped, and in a cluster the map may be out of date
 * (its replica is being promoted). */
static void lost(rf_redis *r, int node, rf_err *err)
{
    rf_redis_count_err(r, node);
    if (r->map)
        rf_errf(err, RF_ENET, "redis %s: node %s:%d: %s", r->safe_url,
                rf_redis_node_host(r, node), rf_redis_node_port(r, node),
                r->conns[node].c->errstr);
    else
        rf_errf(err, RF_ENET, "redis %s: %s", r->safe_url, r->conns[node].c->errstr);
    if (r->opts.log)
        rf_log_warn(r->opts.log, "%s; reconnecting", err ? err->msg : "redis lost");
    rf_redis_drop(r, node);
    r->stale = r->map != NULL;
}

int rf_redis_cmdv(rf_redis *r, int argc, const char **argv, const size_t *lens,
                  redisReply **reply, rf_err *err)
{
    *reply = NULL;
    int64_t start = rf_mono_ms();
    long delay = RF_REDIS_BACKOFF_FIRST_MS;
    int hops = 0, ask = 0, node = -1;
    for (;;) {
        if (node < 0)
            node = r->map ? rf_redis_route(r, argc, argv, lens, err) : 0;
        if (node < 0 || rf_redis_conn_ensure(r, node, err) != 0) {
            /* Only a cluster gets here with a network error still worth
             * waiting for: single-node mode waited out its budget. */
            if (!r->map || !err || err->code != RF_ENET)
                return -1;
            r->stale = 1, node = -1, ask = 0;
            if (!rf_redis_backoff(r, start, &delay, err))
                return rf_err_prefix(err, "%s", argv[0]);
            continue;
        }
        redisReply *rep = rf_redis_send(r, node, ask, argc, argv, lens);
        ask = 0;
        if (!rep) {
            lost(r, node, err);
            node = r->map ? -1 : 0;
            if (!rf_redis_backoff(r, start, &delay, err))
                return rf_err_prefix(err, "%s", argv[0]);
            continue;
        }
        if (rf_redis_transient(rep)) {
            rf_errf(err, RF_ENET, "redis %s: %s", r->safe_url, rep->str);
            freeReplyObject(rep);
            if (r->map)
                r->stale = 1, node = -1;
            if (!rf_redis_backoff(r, start, &delay, err))
                return -1;
            continue;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            int to = -1, rd = rf_redis_redirected(r, node, rep, &to, &ask, err);
            if (rd == 1 && ++hops <= RF_REDIS_MAX_REDIRECTS) {
                freeReplyObject(rep);
                node = to;
                continue;
            }
            if (rd == 0)
                rf_redis_reply_err(err, rep, argv[0]);
            else if (rd == 1)
                rf_errf(err, RF_EIO, "%s: redirected %d times (last: %s)", argv[0], hops,
                        rep->str);
            freeReplyObject(rep);
            return -1;
        }
        *reply = rep;
        return 0;
    }
}

/* A command formatted by hiredis ("*N\r\n$len\r\nbytes\r\n"...) back into
 * an argv pointing into it, so printf-style commands are routed too. */
static int split_resp(char *cmd, int len, int *argc, const char ***argv, size_t **lens)
{
    char *p = cmd, *end = cmd + len;
    if (p >= end || *p != '*')
        return -1;
    long n = strtol(p + 1, &p, 10);
    if (n < 1 || n > INT_MAX / 2 || p + 2 > end)
        return -1;
    p += 2;
    *argv = rf_xmalloc((size_t)n * sizeof **argv);
    *lens = rf_xmalloc((size_t)n * sizeof **lens);
    for (long i = 0; i < n; i++) {
        if (p >= end || *p != '$')
            goto bad;
        long l = strtol(p + 1, &p, 10);
        if (l < 0 || p + 2 + l + 2 > end)
            goto bad;
        p += 2;
        (*argv)[i] = p;
        (*lens)[i] = (size_t)l;
        p[l] = 0;   /* the '\r' after the bytes: each argument a C string too */
        p += l + 2;
    }
    *argc = (int)n;
    return 0;
bad:
    free(*argv);
    free(*lens);
    return -1;
}

int rf_redis_cmd(rf_redis *r, redisReply **reply, rf_err *err, const char *fmt, ...)
{
    *reply = NULL;
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0)
        return rf_errf(err, RF_EINVAL, "redis: bad command format \"%s\"", fmt);
    int argc = 0;
    const char **argv = NULL;
    size_t *lens = NULL;
    if (split_resp(cmd, len, &argc, &argv, &lens) != 0) {
        redisFreeCommand(cmd);
        return rf_errf(err, RF_EINVAL, "redis: empty command \"%s\"", fmt);
    }
    int rc = rf_redis_cmdv(r, argc, argv, lens, reply, err);
    free(argv);
    free(lens);
    redisFreeCommand(cmd);
    return rc;
}
