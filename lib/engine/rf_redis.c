/* rf_redis: reconnecting Redis connection and EVALSHA script runner; see
 * rf_redis.h. */
#include "engine/rf_redis.h"

#include <errno.h>
#include <limits.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rf_buf.h"
#include "base/rf_time.h"

#define BACKOFF_FIRST_MS 50
#define BACKOFF_MAX_MS 2000
#define MAX_SCRIPTS 32

typedef struct sha_slot {
    const rf_script *script;
    char sha[41];
} sha_slot;

struct rf_redis {
    rf_redis_url_parts url;
    char *safe_url;            /* password masked */
    rf_redis_opts opts;
    redisContext *c;           /* NULL while disconnected */
    sha_slot shas[MAX_SCRIPTS];
    size_t nshas;
    rf_redis_stats stats;      /* bumped by the owner, read by any thread */
};

/* Counters are written by the connection's owner and may be read by a
 * metrics thread: relaxed atomics, no lock. */
static void count(uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

void rf_redis_stats_get(const rf_redis *r, rf_redis_stats *out)
{
    out->round_trips = __atomic_load_n(&r->stats.round_trips, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&r->stats.errors, __ATOMIC_RELAXED);
    out->reconnects = __atomic_load_n(&r->stats.reconnects, __ATOMIC_RELAXED);
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

int rf_redis_url_parse(const char *url, rf_redis_url_parts *p, rf_err *err)
{
    memset(p, 0, sizeof *p);
    p->port = 6379;
    if (!url || strncmp(url, "redis://", 8) != 0)
        return rf_errf(err, RF_EINVAL, "redis URL must look like "
                       "redis://[user:pass@]host[:port][/db]");
    const char *s = url + 8;
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
    const char *colon = memchr(s, ':', (size_t)(end - s));
    const char *hend = colon ? colon : end;
    if (hend == s) {
        rf_redis_url_parts_free(p);
        return rf_errf(err, RF_EINVAL, "redis URL has no host");
    }
    p->host = strndup(s, (size_t)(hend - s));
    if (colon && parse_int(colon + 1, (size_t)(end - colon - 1), 1, 65535, &p->port) != 0) {
        rf_redis_url_parts_free(p);
        return rf_errf(err, RF_EINVAL, "redis URL: bad port");
    }
    if (slash && slash[1] && parse_int(slash + 1, strlen(slash + 1), 0, 65535, &p->db) != 0) {
        rf_redis_url_parts_free(p);
        return rf_errf(err, RF_EINVAL, "redis URL: bad database number \"%s\"", slash + 1);
    }
    return 0;
}

static char *safe_url_of(const rf_redis_url_parts *p)
{
    rf_buf b = RF_BUF_INIT;
    rf_buf_adds(&b, "redis://");
    if (p->user || p->pass)
        rf_buf_addf(&b, "%s%s@", p->user ? p->user : "", p->pass ? ":***" : "");
    rf_buf_addf(&b, "%s:%d/%d", p->host, p->port, p->db);
    return rf_buf_detach(&b, NULL);
}

/* ---- connection ---------------------------------------------------- */

static void drop(rf_redis *r)
{
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
}

/* Error reply -> rf_err. Returns -1. */
static int reply_err(rf_err *err, const redisReply *rep, const char *what)
{
    int code = RF_EIO;
    if (!strncmp(rep->str, "NOAUTH", 6) || !strncmp(rep->str, "WRONGPASS", 9) ||
        !strncmp(rep->str, "NOPERM", 6))
        code = RF_EAUTH;
    return rf_errf(err, code, "%s: %s", what, rep->str);
}

/* One connection attempt: connect, AUTH, SELECT. */
static int connect_once(rf_redis *r, rf_err *err)
{
    redisContext *c = redisConnectWithTimeout(r->url.host, r->url.port,
                                              tv_ms(r->opts.connect_timeout_ms));
    if (!c)
        return rf_errf(err, RF_ENOMEM, "redis %s: out of memory", r->safe_url);
    if (c->err) {
        rf_errf(err, RF_ENET, "%s", c->errstr);
        redisFree(c);
        return -1;
    }
    if (r->opts.command_timeout_ms > 0)
        redisSetTimeout(c, tv_ms(r->opts.command_timeout_ms));
    redisReply *rep = NULL;
    if (r->url.pass) {
        if (r->url.user)
            rep = redisCommand(c, "AUTH %s %s", r->url.user, r->url.pass);
        else
            rep = redisCommand(c, "AUTH %s", r->url.pass);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            if (rep)
                reply_err(err, rep, "redis AUTH");
            else
                rf_errf(err, RF_ENET, "%s", c->errstr);
            if (rep && err)
                err->code = RF_EAUTH;
            freeReplyObject(rep);
            redisFree(c);
            return -1;
        }
        freeReplyObject(rep);
    }
    if (r->url.db) {
        rep = redisCommand(c, "SELECT %d", r->url.db);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            if (rep)
                reply_err(err, rep, "redis SELECT");
            else
                rf_errf(err, RF_ENET, "%s", c->errstr);
            freeReplyObject(rep);
            redisFree(c);
            return -1;
        }
        freeReplyObject(rep);
    }
    r->c = c;
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

/* Connect, retrying with exponential backoff until the retry budget is
 * spent. Auth and URL errors are not retried: waiting will not fix them. */
static int ensure_connected(rf_redis *r, rf_err *err)
{
    if (r->c)
        return 0;
    rf_err e = {0};
    int64_t start = rf_mono_ms();
    long delay = BACKOFF_FIRST_MS;
    for (int tries = 1;; tries++) {
        if (connect_once(r, &e) == 0) {
            if (r->stats.round_trips > 0 || tries > 1)
                count(&r->stats.reconnects);
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
        delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    }
    if (err)
        *err = e;
    return -1;
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
    if (ensure_connected(r, err) != 0) {
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
    drop(r);
    rf_redis_url_parts_free(&r->url);
    free(r->safe_url);
    free(r);
}

const char *rf_redis_url(const rf_redis *r) { return r->safe_url; }

/* Replies that mean "Redis is (re)starting, ask again soon". */
static int transient_reply(const redisReply *rep)
{
    return rep->type == REDIS_REPLY_ERROR &&
           (!strncmp(rep->str, "LOADING", 7) || !strncmp(rep->str, "MASTERDOWN", 10) ||
            !strncmp(rep->str, "TRYAGAIN", 8));
}

/* Decide whether to try again after a lost connection or a transient
 * reply: sleeps with backoff and returns 1, or 0 when the budget is gone. */
static int backoff_again(rf_redis *r, int64_t start, long *delay)
{
    int64_t spent = rf_mono_ms() - start;
    if (spent >= r->opts.retry_ms)
        return 0;
    long left = (long)(r->opts.retry_ms - spent);
    if (nap(r, *delay < left ? *delay : left))
        return 0;
    *delay = *delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *delay * 2;
    return 1;
}

int rf_redis_cmdv(rf_redis *r, int argc, const char **argv, const size_t *lens,
                  redisReply **reply, rf_err *err)
{
    *reply = NULL;
    int64_t start = rf_mono_ms();
    long delay = BACKOFF_FIRST_MS;
    for (;;) {
        if (ensure_connected(r, err) != 0)
            return -1;
        redisReply *rep = redisCommandArgv(r->c, argc, argv, lens);
        count(&r->stats.round_trips);
        if (!rep) {
            count(&r->stats.errors);
            rf_errf(err, RF_ENET, "redis %s: %s", r->safe_url, r->c->errstr);
            if (r->opts.log)
                rf_log_warn(r->opts.log, "%s; reconnecting", err ? err->msg : "redis lost");
            drop(r);
            if (!backoff_again(r, start, &delay))
                return rf_err_prefix(err, "%s", argv[0]);
            continue;
        }
        if (transient_reply(rep)) {
            rf_errf(err, RF_ENET, "redis %s: %s", r->safe_url, rep->str);
            freeReplyObject(rep);
            if (!backoff_again(r, start, &delay))
                return -1;
            continue;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            reply_err(err, rep, argv[0]);
            freeReplyObject(rep);
            return -1;
        }
        *reply = rep;
        return 0;
    }
}

int rf_redis_cmd(rf_redis *r, redisReply **reply, rf_err *err, const char *fmt, ...)
{
    *reply = NULL;
    int64_t start = rf_mono_ms();
    long delay = BACKOFF_FIRST_MS;
    for (;;) {
        if (ensure_connected(r, err) != 0)
            return -1;
        va_list ap;
        va_start(ap, fmt);
        redisReply *rep = redisvCommand(r->c, fmt, ap);
        va_end(ap);
        count(&r->stats.round_trips);
        if (!rep) {
            count(&r->stats.errors);
            rf_errf(err, RF_ENET, "redis %s: %s", r->safe_url, r->c->errstr);
            drop(r);
            if (!backoff_again(r, start, &delay))
                return -1;
            continue;
        }
        if (transient_reply(rep)) {
            rf_errf(err, RF_ENET, "redis %s: %s", r->safe_url, rep->str);
            freeReplyObject(rep);
            if (!backoff_again(r, start, &delay))
                return -1;
            continue;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            reply_err(err, rep, "redis");
            freeReplyObject(rep);
            return -1;
        }
        *reply = rep;
        return 0;
    }
}

/* ---- scripts ------------------------------------------------------- */

static const char *sha_of(rf_redis *r, const rf_script *s)
{
    for (size_t i = 0; i < r->nshas; i++)
        if (r->shas[i].script == s)
            return r->shas[i].sha;
    uint8_t md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)s->src, strlen(s->src), md);
    sha_slot *slot = r->nshas < MAX_SCRIPTS ? &r->shas[r->nshas++] : &r->shas[0];
    slot->script = s;
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        sprintf(slot->sha + 2 * i, "%02x", md[i]);
    return slot->sha;
}

static int script_load(rf_redis *r, const rf_script *s, rf_err *err)
{
    const char *argv[3] = {"SCRIPT", "LOAD", s->src};
    redisReply *rep;
    if (rf_redis_cmdv(r, 3, argv, NULL, &rep, err) != 0)
        return rf_err_prefix(err, "load script %s", s->name);
    freeReplyObject(rep);
    return 0;
}

static void free_replies(rf_redis_call *calls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (calls[i].reply)
            freeReplyObject(calls[i].reply);
        calls[i].reply = NULL;
    }
}

static int append_call(rf_redis *r, rf_redis_call *c)
{
    int argc = c->argc + 3;
    const char *small_v[64];
    size_t small_l[64];
    const char **v = argc <= 64 ? small_v : rf_xmalloc((size_t)argc * sizeof *v);
    size_t *l = argc <= 64 ? small_l : rf_xmalloc((size_t)argc * sizeof *l);
    char nk[16];
    snprintf(nk, sizeof nk, "%d", c->nkeys);
    v[0] = "EVALSHA", l[0] = 7;
    v[1] = sha_of(r, c->script), l[1] = 40;
    v[2] = nk, l[2] = strlen(nk);
    for (int i = 0; i < c->argc; i++) {
        v[i + 3] = c->argv[i];
        l[i + 3] = c->lens ? c->lens[i] : strlen(c->argv[i]);
    }
    int rc = redisAppendCommandArgv(r->c, argc, v, l);
    if (v != small_v)
        free(v), free(l);
    return rc == REDIS_OK ? 0 : -1;
}

/* Send every call whose `todo` flag is set, read the replies. Returns 0,
 * or -1 when the connection was lost (r->c dropped, err set). */
static int pipeline(rf_redis *r, rf_redis_call *calls, size_t n, const char *todo,
                    rf_err *err)
{
    count(&r->stats.round_trips);
    for (size_t i = 0; i < n; i++)
        if (todo[i] && append_call(r, &calls[i]) != 0)
            goto lost;
    for (size_t i = 0; i < n; i++) {
        if (!todo[i])
            continue;
        void *rep = NULL;
        if (redisGetReply(r->c, &rep) != REDIS_OK)
            goto lost;
        calls[i].reply = rep;
    }
    return 0;
lost:
    count(&r->stats.errors);
    rf_errf(err, RF_ENET, "redis %s: %s", r->safe_url, r->c->errstr);
    if (r->opts.log)
        rf_log_warn(r->opts.log, "%s; reconnecting", err ? err->msg : "redis lost");
    drop(r);
    return -1;
}

int rf_redis_eval_many(rf_redis *r, rf_redis_call *calls, size_t n, rf_err *err)
{
    char small[64];
    char *todo = n <= sizeof small ? small : rf_xmalloc(n);
    int64_t start = rf_mono_ms();
    long delay = BACKOFF_FIRST_MS;
    int reloads = 0, rc = -1;
    for (size_t i = 0; i < n; i++)
        calls[i].reply = NULL, todo[i] = 1;
    for (;;) {
        if (ensure_connected(r, err) != 0)
            break;
        if (pipeline(r, calls, n, todo, err) != 0) {
            free_replies(calls, n);
            memset(todo, 1, n);
            if (!backoff_again(r, start, &delay))
                break;
            continue;
        }
        /* Scripts missing (first use, or Redis restarted): load, redo those. */
        int again = 0, transient = 0;
        for (size_t i = 0; i < n; i++) {
            redisReply *rep = calls[i].reply;
            todo[i] = 0;
            if (rep->type != REDIS_REPLY_ERROR)
                continue;
            if (!strncmp(rep->str, "NOSCRIPT", 8)) {
                if (script_load(r, calls[i].script, err) != 0)
                    goto out;
                again = todo[i] = 1;
            } else if (transient_reply(rep)) {
                transient = todo[i] = 1;
            } else {
                rf_errf(err, RF_EIO, "script %s: %s", calls[i].script->name, rep->str);
                goto out;
            }
            freeReplyObject(rep);
            calls[i].reply = NULL;
        }
        if (!again && !transient) {
            rc = 0;
            break;
        }
        if (again && ++reloads > 3) {
            rf_errf(err, RF_EIO, "redis %s: scripts keep disappearing (NOSCRIPT)", r->safe_url);
            goto out;
        }
        if (transient && !backoff_again(r, start, &delay)) {
            rf_errf(err, RF_ENET, "redis %s: still loading its data", r->safe_url);
            goto out;
        }
    }
out:
    if (rc != 0)
        free_replies(calls, n);
    if (todo != small)
        free(todo);
    return rc;
}

int rf_redis_eval(rf_redis *r, const rf_script *s, int nkeys, int argc,
                  const char **argv, const size_t *lens, redisReply **reply,
                  rf_err *err)
{
    rf_redis_call c = {s, nkeys, argc, argv, lens, NULL};
    *reply = NULL;
    if (rf_redis_eval_many(r, &c, 1, err) != 0)
        return -1;
    *reply = c.reply;
    return 0;
}
