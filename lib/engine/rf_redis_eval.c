/* rf_redis_eval: Lua scripts by EVALSHA for rf_redis, one at a time or
 * pipelined; in a cluster, a pipeline is split per node and each call is
 * routed by its KEYS[1]. See rf_redis.h. */
#include "engine/rf_redis_impl.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "base/rf_time.h"

static const char *sha_of(rf_redis *r, const rf_script *s)
{
    for (size_t i = 0; i < r->nshas; i++)
        if (r->shas[i].script == s)
            return r->shas[i].sha;
    uint8_t md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)s->src, strlen(s->src), md);
    rf_redis_sha *slot = r->nshas < RF_REDIS_MAX_SCRIPTS ? &r->shas[r->nshas++] : &r->shas[0];
    slot->script = s;
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        sprintf(slot->sha + 2 * i, "%02x", md[i]);
    return slot->sha;
}

/* SCRIPT LOAD on one node (each node has its own script cache). */
static int script_load(rf_redis *r, int node, const rf_script *s, rf_err *err)
{
    const char *argv[3] = {"SCRIPT", "LOAD", s->src};
    redisReply *rep = rf_redis_send(r, node, 0, 3, argv, NULL);
    if (!rep) {
        rf_redis_count_err(r, node);
        rf_errf(err, RF_ENET, "redis %s: load script %s: %s", r->safe_url, s->name,
                r->conns[node].c->errstr);
        rf_redis_drop(r, node);
        r->stale = r->map != NULL;
        return -1;
    }
    int rc = 0;
    if (rep->type == REDIS_REPLY_ERROR)
        rc = rf_redis_reply_err(err, rep, "SCRIPT LOAD"), rf_err_prefix(err, "load script %s", s->name);
    freeReplyObject(rep);
    return rc;
}

static void free_replies(rf_redis_call *calls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (calls[i].reply)
            freeReplyObject(calls[i].reply);
        calls[i].reply = NULL;
    }
}

/* EVALSHA sha numkeys args... as an argv; *v and *l are small_v/small_l
 * or heap arrays the caller frees when they differ. */
typedef struct evalv {
    const char *small_v[64];
    size_t small_l[64];
    const char **v;
    size_t *l;
    int argc;
    char nk[16];
} evalv;

static void evalv_build(rf_redis *r, const rf_redis_call *c, evalv *e)
{
    e->argc = c->argc + 3;
    e->v = e->argc <= 64 ? e->small_v : rf_xmalloc((size_t)e->argc * sizeof *e->v);
    e->l = e->argc <= 64 ? e->small_l : rf_xmalloc((size_t)e->argc * sizeof *e->l);
    snprintf(e->nk, sizeof e->nk, "%d", c->nkeys);
    e->v[0] = "EVALSHA", e->l[0] = 7;
    e->v[1] = sha_of(r, c->script), e->l[1] = 40;
    e->v[2] = e->nk, e->l[2] = strlen(e->nk);
    for (int i = 0; i < c->argc; i++) {
        e->v[i + 3] = c->argv[i];
        e->l[i + 3] = c->lens ? c->lens[i] : strlen(c->argv[i]);
    }
}

static void evalv_free(evalv *e)
{
    if (e->v != e->small_v)
        free(e->v), free(e->l);
}

static int append_call(rf_redis *r, int node, const rf_redis_call *c)
{
    evalv e;
    evalv_build(r, c, &e);
    int rc = redisAppendCommandArgv(r->conns[node].c, e.argc, e.v, e.l);
    evalv_free(&e);
    return rc == REDIS_OK ? 0 : -1;
}

/* The node a call goes to: its KEYS[1]'s slot, or any node. */
static int call_node(rf_redis *r, const rf_redis_call *c, rf_err *err)
{
    if (!r->map)
        return 0;
    if (c->nkeys > 0 && c->argc > 0)
        return rf_redis_route_key(r, c->argv[0], c->lens ? c->lens[0] : strlen(c->argv[0]), err);
    if (r->stale && rf_redis_map_refresh(r, err) != 0)
        return -1;
    return r->any;
}

/* One call after ASK: ASKING + EVALSHA on the importing node, loading
 * the script there once if needed. A NULL reply: the node was lost. */
static int ask_call(rf_redis *r, int node, rf_redis_call *c, rf_err *err)
{
    if (rf_redis_conn_ensure(r, node, err) != 0)
        return -1;
    for (int loads = 0;; loads++) {
        evalv e;
        evalv_build(r, c, &e);
        redisReply *rep = rf_redis_send(r, node, 1, e.argc, e.v, e.l);
        evalv_free(&e);
        if (!rep) {
            rf_redis_count_err(r, node);
            rf_errf(err, RF_ENET, "redis %s: script %s after ASK: %s", r->safe_url,
                    c->script->name, r->conns[node].c->errstr);
            rf_redis_drop(r, node);
            r->stale = 1;
            return -1;
        }
        if (loads == 0 && rep->type == REDIS_REPLY_ERROR && !strncmp(rep->str, "NOSCRIPT", 8)) {
            freeReplyObject(rep);
            if (script_load(r, node, c->script, err) != 0)
                return -1;
            continue;
        }
        c->reply = rep;
        return 0;
    }
}

/* The state of one rf_redis_eval_many. */
typedef struct batch {
    rf_redis_call *calls;
    size_t n;
    char *todo;       /* 1: still to send */
    int *node;        /* where each todo call goes this round */
    int lost;         /* a node was lost this round: back off */
    int transient;    /* TRYAGAIN, LOADING ...: back off */
    int reload;       /* a script was loaded: send again at once */
    int hops;         /* MOVED/ASK followed */
    /* Scripts loaded this round: a pipeline of one script answers NOSCRIPT
     * once per call, but a node needs one SCRIPT LOAD. */
    struct { int node; const rf_script *s; } loaded[16];
    size_t nloaded;
} batch;

static int loaded_already(batch *b, int node, const rf_script *s)
{
    for (size_t i = 0; i < b->nloaded; i++)
        if (b->loaded[i].node == node && b->loaded[i].s == s)
            return 1;
    if (b->nloaded < sizeof b->loaded / sizeof b->loaded[0]) {
        b->loaded[b->nloaded].node = node;
        b->loaded[b->nloaded++].s = s;
    }
    return 0;
}

/* Route every todo call and open its node; -1 with err set (RF_ENET in a
 * cluster: back off and reroute). */
static int route_all(rf_redis *r, batch *b, rf_err *err)
{
    for (size_t i = 0; i < b->n; i++) {
        if (!b->todo[i])
            continue;
        b->node[i] = call_node(r, &b->calls[i], err);
        if (b->node[i] < 0 || rf_redis_conn_ensure(r, b->node[i], err) != 0)
            return -1;
    }
    return 0;
}

/* The connection of a node was lost mid-pipeline: its calls stay todo. */
static void node_lost(rf_redis *r, batch *b, int node, rf_err *err)
{
    if (!r->conns[node].c)
        return;
    rf_redis_count_err(r, node);
    rf_errf(err, RF_ENET, "redis %s: %s%s%s", r->safe_url, r->map ? rf_redis_node_host(r, node) : "",
            r->map ? ": " : "", r->conns[node].c->errstr);
    if (r->opts.log)
        rf_log_warn(r->opts.log, "%s; reconnecting", err ? err->msg : "redis lost");
    rf_redis_drop(r, node);
    r->stale = r->map != NULL;
    b->lost = 1;
}

/* Send every todo call to its node, one write per node, then read. */
static void send_round(rf_redis *r, batch *b, rf_err *err)
{
    uint64_t used = 0;   /* nodes < 64 with calls this round */
    for (size_t i = 0; i < b->n; i++) {
        int nd = b->node[i];
        if (!b->todo[i] || !r->conns[nd].c)
            continue;
        if (append_call(r, nd, &b->calls[i]) != 0)
            node_lost(r, b, nd, err);
        else
            used |= 1ull << nd;
    }
    for (int nd = 0; nd < RF_REDIS_MAX_NODES; nd++) {
        if (!(used >> nd & 1) || !r->conns[nd].c)
            continue;
        rf_redis_count_rt(r, nd);
        int done = 0;
        while (!done)
            if (redisBufferWrite(r->conns[nd].c, &done) != REDIS_OK) {
                node_lost(r, b, nd, err);
                break;
            }
    }
    for (size_t i = 0; i < b->n; i++) {
        int nd = b->node[i];
        if (!b->todo[i] || !(used >> nd & 1) || !r->conns[nd].c)
            continue;
        void *rep = NULL;
        if (redisGetReply(r->conns[nd].c, &rep) != REDIS_OK)
            node_lost(r, b, nd, err);
        else
            b->calls[i].reply = rep;
    }
}

/* Sort out one reply: 0 (done or to send again), -1 on a final error. */
static int settle(rf_redis *r, batch *b, size_t i, rf_err *err)
{
    rf_redis_call *c = &b->calls[i];
    redisReply *rep = c->reply;
    if (rep->type != REDIS_REPLY_ERROR) {
        b->todo[i] = 0;
        return 0;
    }
    c->reply = NULL;
    int to = -1, ask = 0, rd = 0, rc = 0;
    if (!strncmp(rep->str, "NOSCRIPT", 8)) {
        if (!loaded_already(b, b->node[i], c->script) &&
            script_load(r, b->node[i], c->script, err) != 0)
            rc = err && err->code == RF_ENET ? (b->lost = 1, 0) : -1;   /* lost: again */
        b->reload = 1;
    } else if (rf_redis_transient(rep)) {
        b->transient = 1;
        r->stale = r->map != NULL;
        rf_errf(err, RF_ENET, "redis %s: %s", r->safe_url, rep->str);
    } else if ((rd = rf_redis_redirected(r, b->node[i], rep, &to, &ask, err)) == 1) {
        if (++b->hops > RF_REDIS_MAX_REDIRECTS)
            rc = rf_errf(err, RF_EIO, "script %s: redirected %d times (last: %s)",
                         c->script->name, b->hops - 1, rep->str);
        else if (ask && ask_call(r, to, c, err) != 0)
            rc = err && err->code == RF_ENET ? (b->lost = 1, 0) : -1;
        else if (ask)
            rc = settle(r, b, i, err);   /* the importing node's answer */
    } else if (rd == 0) {
        rc = rf_errf(err, RF_EIO, "script %s: %s", c->script->name, rep->str);
    } else {
        rc = -1;
    }
    freeReplyObject(rep);
    return rc;
}

int rf_redis_eval_many(rf_redis *r, rf_redis_call *calls, size_t n, rf_err *err)
{
    char small_t[64];
    int small_n[64];
    batch b = {calls, n, n <= 64 ? small_t : rf_xmalloc(n),
               n <= 64 ? small_n : rf_xmalloc(n * sizeof(int)), 0, 0, 0, 0, {{0, NULL}}, 0};
    int64_t start = rf_mono_ms();
    long delay = RF_REDIS_BACKOFF_FIRST_MS;
    int reloads = 0, rc = -1;
    for (size_t i = 0; i < n; i++)
        calls[i].reply = NULL, b.todo[i] = 1;
    for (;;) {
        b.lost = b.transient = b.reload = 0;
        b.nloaded = 0;
        if (route_all(r, &b, err) != 0) {
            if (!r->map || !err || err->code != RF_ENET)
                break;
            r->stale = 1;
            if (!rf_redis_backoff(r, start, &delay, err))
                break;
            continue;
        }
        send_round(r, &b, err);
        int left = 0;
        for (size_t i = 0; i < n; i++) {
            if (b.todo[i] && calls[i].reply && settle(r, &b, i, err) != 0)
                goto out;
            left += b.todo[i];
        }
        if (!left) {
            rc = 0;
            break;
        }
        if (b.reload && ++reloads > 3) {
            rf_errf(err, RF_EIO, "redis %s: scripts keep disappearing (NOSCRIPT)", r->safe_url);
            break;
        }
        if ((b.lost || b.transient) && !rf_redis_backoff(r, start, &delay, err)) {
            if (b.transient && !b.lost && err && err->code != RF_ECANCEL)
                rf_err_prefix(err, "still unavailable after %.1f s",
                              (double)(rf_mono_ms() - start) / 1000.0);
            break;
        }
    }
out:
    if (rc != 0)
        free_replies(calls, n);
    if (b.todo != small_t)
        free(b.todo);
    if (b.node != small_n)
        free(b.node);
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

int rf_redis_eval_key(rf_redis *r, const rf_script *s, const char *route_key, int argc,
                      const char **argv, const size_t *lens, redisReply **reply,
                      rf_err *err)
{
    const char *small_v[64];
    size_t small_l[64];
    int n = argc + 1;
    const char **v = n <= 64 ? small_v : rf_xmalloc((size_t)n * sizeof *v);
    size_t *l = n <= 64 ? small_l : rf_xmalloc((size_t)n * sizeof *l);
    v[0] = route_key, l[0] = strlen(route_key);
    for (int i = 0; i < argc; i++) {
        v[i + 1] = argv[i];
        l[i + 1] = lens ? lens[i] : strlen(argv[i]);
    }
    int rc = rf_redis_eval(r, s, 1, n, v, l, reply, err);
    if (v != small_v)
        free(v), free(l);
    return rc;
}
