/* rf_redis_map: a Redis Cluster's slot map (which primary serves which
 * hash slot), loaded from CLUSTER SLOTS and patched by MOVED replies; and
 * the parsing of MOVED / ASK redirections. Pure: no I/O, so the unit tests
 * feed it replies built by hiredis's own reader.
 *
 * Nodes are interned into an append-only table: a node's index never
 * changes while the map lives, so per-node connections and counters kept
 * by index stay valid across reloads. */
#ifndef RF_REDIS_MAP_H
#define RF_REDIS_MAP_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "base/rf_err.h"
#include "engine/rf_redis_slot.h"

/* Primaries, plus nodes named by redirections; a cluster of more than 64
 * primaries is refused with a clear error. */
#define RF_REDIS_MAX_NODES 64
#define RF_REDIS_HOST_MAX 256

typedef struct rf_redis_node_id {
    char host[RF_REDIS_HOST_MAX];
    int port;
} rf_redis_node_id;

typedef struct rf_redis_map {
    rf_redis_node_id nodes[RF_REDIS_MAX_NODES];
    size_t nnodes;                 /* written with release order: see rf_redis */
    int16_t slot[RF_REDIS_SLOTS];  /* node index, -1 = owner unknown */
    size_t nslots_known;           /* slots with an owner */
} rf_redis_map;

/* Heap-allocated (about 50 KiB), no nodes, every slot unknown. */
rf_redis_map *rf_redis_map_new(void);
void rf_redis_map_free(rf_redis_map *m);

/* The index of host:port, added when new; -1 (err set) when the table is
 * full or the host is too long. */
int rf_redis_map_node(rf_redis_map *m, const char *host, size_t hlen, int port, rf_err *err);

/* Replace the slot table from a CLUSTER SLOTS reply:
 *   [[start, end, [host, port, id, ...], replica...], ...]
 * An empty host ("" or "?", a node that does not know its own address)
 * means asked_host, the node the reply came from. On error the map is
 * unchanged. */
int rf_redis_map_load(rf_redis_map *m, const redisReply *slots, const char *asked_host,
                      rf_err *err);

/* "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381". */
typedef struct rf_redis_redirect {
    int ask;                       /* 1 for ASK, 0 for MOVED */
    int slot;
    char host[RF_REDIS_HOST_MAX];  /* "" when the server left it out */
    int port;
} rf_redis_redirect;

/* 1 and *out filled for a well-formed MOVED or ASK error message, 0 for
 * any other message (then *out is untouched). */
int rf_redis_redirect_parse(const char *msg, rf_redis_redirect *out);

/* Apply a MOVED: the slot now belongs to its node (interned). Returns the
 * node index, or -1 with err set. */
int rf_redis_map_moved(rf_redis_map *m, const rf_redis_redirect *rd, rf_err *err);

#endif
