/* rf_redis: a Redis connection that survives restarts, and Lua scripts run
 * by EVALSHA; with Redis Cluster (or Valkey), one connection per primary.
 *
 * A connection is opened from a URL, redis://[user:pass@]host[:port][/db]
 * (ACL user + AUTH, then SELECT db; rediss:// is refused: no TLS build).
 *
 * Cluster mode is chosen by the URL
 * redis+cluster://[user:pass@]host:port[,host:port...][/0]: the hosts are
 * seeds, asked for the slot map (CLUSTER SLOTS); each command then goes to
 * the primary serving its key's slot (rf_redis_slot.h), over a connection
 * opened on first use. MOVED updates the map and retries; ASK sends
 * ASKING and retries once on the importing node; TRYAGAIN, CLUSTERDOWN and
 * a lost or refused node (a failover) reload the map with backoff (50 ms
 * doubling to 500 ms), within the same retry_ms budget. A plain redis:// URL that answers MOVED is
 * switched to cluster mode with that node as its seed, so pointing at any
 * one cluster node also works. Keyless commands (PING, TIME, SCRIPT ...)
 * go to one node; a command or script must keep its keys in one slot
 * (Redis answers CROSSSLOT otherwise): scripts are routed by KEYS[1], see
 * rf_redis_eval_key.
 * Every call reconnects on a lost connection with exponential backoff
 * (50 ms doubling to 2 s, never a busy loop) for up to retry_ms before it
 * fails with RF_ENET and a message naming the (redacted) URL. Passwords are
 * never logged or put into error messages.
 *
 * Scripts are static rf_script values (name + Lua source). A connection
 * computes each script's SHA-1 once, runs it with EVALSHA and, on NOSCRIPT
 * (first use, or a Redis restart that lost the script cache), loads it with
 * SCRIPT LOAD and retries once. Several calls can be pipelined in one round
 * trip with rf_redis_eval_many.
 *
 * An rf_redis is not thread-safe: give each thread its own connection. */
#ifndef RF_REDIS_H
#define RF_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "base/rf_err.h"
#include "base/rf_log.h"

typedef struct rf_redis rf_redis;

typedef struct rf_redis_opts {
    long connect_timeout_ms; /* default 2000 */
    long command_timeout_ms; /* default 10000; blocking calls add their own wait */
    long retry_ms;           /* keep reconnecting this long before failing;
                                default 30000, 0 = fail at once */
    const rf_log *log;       /* reconnect warnings; NULL = silent */
    /* Asked between reconnect attempts (every 100 ms while waiting): a
     * non-zero answer gives up at once with RF_ECANCEL, so a drain never
     * waits out the retry budget on a dead Redis. NULL = never. */
    int (*should_stop)(void *ud);
    void *stop_ud;
} rf_redis_opts;

void rf_redis_opts_default(rf_redis_opts *o);

/* Connect (and AUTH/SELECT). o may be NULL for defaults. When Redis is
 * unreachable, retries with backoff for o->retry_ms, then fails with
 * RF_ENET: "redis 127.0.0.1:6379: unreachable after 30 s: Connection
 * refused". Bad URLs fail at once with RF_EINVAL, refused AUTH with RF_EAUTH. */
int rf_redis_connect(const char *url, const rf_redis_opts *o, rf_redis **out,
                     rf_err *err);
void rf_redis_close(rf_redis *r);

/* What the connection has done, for /metrics: round trips (one per command
 * or pipeline sent), connections lost, and reconnects. Safe to call from
 * another thread than the connection's owner. */
typedef struct rf_redis_stats {
    uint64_t round_trips, errors, reconnects;
} rf_redis_stats;
void rf_redis_stats_get(const rf_redis *r, rf_redis_stats *out);

/* Cluster mode: 1 when the connection routes by slot. */
int rf_redis_is_cluster(const rf_redis *r);
/* Nodes known (1 in single-node mode), and one node's address and
 * counters; i < rf_redis_nodes(r). Safe from another thread, like
 * rf_redis_stats_get: a node, once known, keeps its index. */
size_t rf_redis_nodes(const rf_redis *r);
void rf_redis_node_stats_get(const rf_redis *r, size_t i, char *addr, size_t addrsz,
                             rf_redis_stats *out);

/* The URL with the password masked, for messages. */
const char *rf_redis_url(const rf_redis *r);

/* A command given as an argv vector (binary-safe; lens may be NULL for C
 * strings). *reply is the caller's (freeReplyObject); a Redis error reply
 * is returned as -1 with the server's message, not as a reply. */
int rf_redis_cmdv(rf_redis *r, int argc, const char **argv, const size_t *lens,
                  redisReply **reply, rf_err *err);
/* printf-style convenience (hiredis format: %s, %b, %d, %lld ...). */
int rf_redis_cmd(rf_redis *r, redisReply **reply, rf_err *err, const char *fmt, ...);

/* A Lua script. Keep instances static and const; the per-connection SHA
 * cache lives in rf_redis, so there is no shared mutable state. */
typedef struct rf_script {
    const char *name;   /* for error messages: "queue take" */
    const char *src;
} rf_script;

/* One EVALSHA: nkeys of the argv are KEYS, the rest ARGV. */
typedef struct rf_redis_call {
    const rf_script *script;
    int nkeys;
    int argc;
    const char **argv;
    const size_t *lens;   /* NULL = strlen */
    redisReply *reply;    /* out: freed by the caller (freeReplyObject) */
} rf_redis_call;

/* Run n script calls pipelined in one round trip, reloading scripts on
 * NOSCRIPT. After a lost connection the whole pipeline is sent again, so
 * scripts run this way must tolerate a repeat (all queue scripts do: they
 * are fenced or idempotent). On failure no reply is left allocated. */
int rf_redis_eval_many(rf_redis *r, rf_redis_call *calls, size_t n, rf_err *err);
int rf_redis_eval(rf_redis *r, const rf_script *s, int nkeys, int argc,
                  const char **argv, const size_t *lens, redisReply **reply,
                  rf_err *err);
/* One EVALSHA routed by route_key: it is passed as KEYS[1] (numkeys 1),
 * so Redis Cluster runs the script on the node serving route_key's slot
 * and accepts it there; argv are the script's ARGV, unchanged. On one
 * server the extra key is harmless (scripts that do not read KEYS ignore
 * it). Every key the script touches must share route_key's slot. */
int rf_redis_eval_key(rf_redis *r, const rf_script *s, const char *route_key, int argc,
                      const char **argv, const size_t *lens, redisReply **reply,
                      rf_err *err);

/* Parse a URL into parts (for tests and `ruvflow config show`). Strings are
 * malloc'd; user/pass are NULL when absent; db is 0 when absent. A
 * redis+cluster:// URL sets cluster and lists every seed (host/port are
 * the first); a cluster has database 0 only. */
typedef struct rf_redis_seed {
    char *host;
    int port;
} rf_redis_seed;
typedef struct rf_redis_url_parts {
    char *user, *pass, *host;
    int port, db;
    int cluster;
    rf_redis_seed *seeds;   /* cluster: nseeds entries */
    size_t nseeds;
} rf_redis_url_parts;
int rf_redis_url_parse(const char *url, rf_redis_url_parts *p, rf_err *err);
void rf_redis_url_parts_free(rf_redis_url_parts *p);

#endif
