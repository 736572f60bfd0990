/* rf_redis_impl.h: what rf_redis.c (connections, commands),
 * rf_redis_eval.c (scripts, pipelines) and rf_redis_cluster.c (slot map,
 * routing, redirections) share. Not for other modules. */
#ifndef RF_REDIS_IMPL_H
#define RF_REDIS_IMPL_H

#include "engine/rf_redis.h"
#include "engine/rf_redis_map.h"

#define RF_REDIS_BACKOFF_FIRST_MS 50
#define RF_REDIS_BACKOFF_MAX_MS 2000
#define RF_REDIS_CLUSTER_BACKOFF_MAX_MS 500
#define RF_REDIS_MAX_SCRIPTS 32
/* MOVED/ASK hops one command may take before it is given up: a slot
 * bounced between nodes this often means a broken cluster, not a move. */
#define RF_REDIS_MAX_REDIRECTS 16

typedef struct rf_redis_sha {
    const rf_script *script;
    char sha[41];
} rf_redis_sha;

/* One node's connection; single-node mode uses conns[0] only. */
typedef struct rf_redis_conn {
    redisContext *c;           /* NULL while disconnected (or never opened) */
    rf_redis_stats stats;      /* this node's share of rf_redis.stats */
} rf_redis_conn;

struct rf_redis {
    rf_redis_url_parts url;
    char *safe_url;            /* password masked */
    rf_redis_opts opts;
    rf_redis_map *map;         /* NULL: one server (url.host:url.port) */
    int stale;                 /* cluster: reload the map before routing */
    int any;                   /* cluster: node for keyless commands */
    rf_redis_conn conns[RF_REDIS_MAX_NODES];
    rf_redis_sha shas[RF_REDIS_MAX_SCRIPTS];
    size_t nshas;
    rf_redis_stats stats;      /* totals; bumped by the owner, read by any thread */
};

/* rf_redis.c */
void rf_redis_count(uint64_t *c);
void rf_redis_count_rt(rf_redis *r, int node);       /* one round trip to node */
void rf_redis_count_err(rf_redis *r, int node);
void rf_redis_drop(rf_redis *r, int node);
const char *rf_redis_node_host(const rf_redis *r, int node);
int rf_redis_node_port(const rf_redis *r, int node);
/* Connected to node, or -1 (err set). Single-node mode waits out the
 * retry budget with backoff; cluster mode tries once, and the caller
 * reloads the map and backs off. */
int rf_redis_conn_ensure(rf_redis *r, int node, rf_err *err);
/* Sleep with backoff before trying again: 1, or 0 when the budget since
 * start is spent (err untouched) or should_stop said stop (err set to
 * RF_ECANCEL). */
int rf_redis_backoff(rf_redis *r, int64_t start, long *delay, rf_err *err);
/* LOADING, MASTERDOWN, TRYAGAIN, CLUSTERDOWN: ask again soon. */
int rf_redis_transient(const redisReply *rep);
int rf_redis_reply_err(rf_err *err, const redisReply *rep, const char *what);
/* One command on one node, following nothing: a NULL reply means the
 * connection was lost (it is dropped). asking: send ASKING first. */
redisReply *rf_redis_send(rf_redis *r, int node, int asking, int argc, const char **argv,
                          const size_t *lens);

/* rf_redis_cluster.c */
/* The node that serves argv (cluster mode), reloading a stale map first.
 * -1 with err set when no node answers (RF_ENET: back off and retry). */
int rf_redis_route(rf_redis *r, int argc, const char **argv, const size_t *lens, rf_err *err);
/* The node of a key's slot; route for a script call's KEYS[1]. */
int rf_redis_route_key(rf_redis *r, const char *key, size_t len, rf_err *err);
/* An error reply that is a redirection: updates the map for MOVED (and
 * switches a single-node connection into cluster mode), returns 1 and the
 * node to try next in *node (*ask set for ASK); 0 when rep is no
 * redirection; -1 with err set when the target cannot be used. */
int rf_redis_redirected(rf_redis *r, int from, const redisReply *rep, int *node, int *ask,
                        rf_err *err);
/* Load the map from the first node that answers CLUSTER SLOTS. */
int rf_redis_map_refresh(rf_redis *r, rf_err *err);
int rf_redis_cluster_init(rf_redis *r, rf_err *err);

#endif
