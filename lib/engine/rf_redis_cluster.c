/* rf_redis_cluster: Redis Cluster routing for rf_redis: the slot map
 * (loaded from any node that answers CLUSTER SLOTS), the node of a command
 * and the handling of MOVED and ASK. See rf_redis.h for the behaviour. */
#include "engine/rf_redis_impl.h"

#include <stdio.h>
#include <string.h>

#include "base/rf_time.h"

/* CLUSTER SLOTS from one node into the map; 0, or -1 with err set (RF_ENET
 * when the node could not be asked or serves no slots yet). */
static int refresh_from(rf_redis *r, int node, rf_err *err)
{
    if (rf_redis_conn_ensure(r, node, err) != 0)
        return -1;
    const char *argv[] = {"CLUSTER", "SLOTS"};
    redisReply *rep = rf_redis_send(r, node, 0, 2, argv, NULL);
    if (!rep) {
        rf_redis_count_err(r, node);
        rf_errf(err, RF_ENET, "node %s:%d: %s", rf_redis_node_host(r, node),
                rf_redis_node_port(r, node), r->conns[node].c->errstr);
        rf_redis_drop(r, node);
        return -1;
    }
    int rc = -1;
    if (rep->type == REDIS_REPLY_ERROR) {
        /* A server without cluster support will not grow it: no retry. */
        int code = strstr(rep->str, "cluster support disabled") ? RF_EUNSUPP : RF_ENET;
        rf_errf(err, code, "node %s:%d: CLUSTER SLOTS: %s", rf_redis_node_host(r, node),
                rf_redis_node_port(r, node), rep->str);
    } else if (rf_redis_map_load(r->map, rep, rf_redis_node_host(r, node), err) != 0) {
        rf_err_prefix(err, "node %s:%d", rf_redis_node_host(r, node), rf_redis_node_port(r, node));
    } else if (r->map->nslots_known == 0) {
        rf_errf(err, RF_ENET, "node %s:%d: serves no slots yet", rf_redis_node_host(r, node),
                rf_redis_node_port(r, node));
    } else {
        rc = 0;
    }
    freeReplyObject(rep);
    return rc;
}

int rf_redis_map_refresh(rf_redis *r, rf_err *err)
{
    size_t n = r->map->nnodes;
    rf_err e = {0};
    /* The node that answered last first; then every node known, seeds
     * included, so a failed primary's replica or a seed is asked next. */
    for (size_t k = 0; k < n; k++) {
        int node = (int)(((size_t)r->any + k) % n);
        if (refresh_from(r, node, &e) == 0) {
            r->any = node;
            r->stale = 0;
            return 0;
        }
        if (e.code != RF_ENET)
            break;
    }
    if (err)
        *err = e;
    return rf_err_prefix(err, "redis %s: slot map", r->safe_url);
}

int rf_redis_cluster_init(rf_redis *r, rf_err *err)
{
    r->map = rf_redis_map_new();
    for (size_t i = 0; i < r->url.nseeds; i++)
        if (rf_redis_map_node(r->map, r->url.seeds[i].host, strlen(r->url.seeds[i].host),
                              r->url.seeds[i].port, err) < 0)
            return -1;
    int64_t start = rf_mono_ms();
    long delay = RF_REDIS_BACKOFF_FIRST_MS;
    for (int tries = 1;; tries++) {
        if (rf_redis_map_refresh(r, err) == 0)
            return 0;
        if (!err || err->code != RF_ENET)
            return -1;
        if (tries == 1 && r->opts.log)
            rf_log_warn(r->opts.log, "%s; retrying with backoff for up to %ld s", err->msg,
                        r->opts.retry_ms / 1000);
        if (!rf_redis_backoff(r, start, &delay, err))
            return err && err->code == RF_ECANCEL ? -1 : rf_err_prefix(err, "unreachable after %.1f s (%d attempt%s)",
                                 (double)(rf_mono_ms() - start) / 1000.0, tries,
                                 tries == 1 ? "" : "s");
    }
}

int rf_redis_route_key(rf_redis *r, const char *key, size_t len, rf_err *err)
{
    if (!r->map)
        return 0;
    if (r->stale && rf_redis_map_refresh(r, err) != 0)
        return -1;
    int slot = rf_redis_key_slot(key, len);
    int node = r->map->slot[slot];
    if (node < 0) {
        /* Not covered (a failed primary with no replica, or a reshard
         * caught mid-way): reload before the next try. */
        r->stale = 1;
        return rf_errf(err, RF_ENET, "redis %s: slot %d has no primary", r->safe_url, slot);
    }
    return node;
}

int rf_redis_route(rf_redis *r, int argc, const char **argv, const size_t *lens, rf_err *err)
{
    if (!r->map)
        return 0;
    int k = rf_redis_cmd_key(argc, argv, lens);
    if (k >= 0)
        return rf_redis_route_key(r, argv[k], lens ? lens[k] : strlen(argv[k]), err);
    if (r->stale && rf_redis_map_refresh(r, err) != 0)
        return -1;
    return r->any;
}

/* A single-node connection told MOVED talks to a cluster node: become a
 * cluster connection whose node 0 (the same connection) is its seed. */
static int become_cluster(rf_redis *r, rf_err *err)
{
    rf_redis_map *m = rf_redis_map_new();
    if (rf_redis_map_node(m, r->url.host, strlen(r->url.host), r->url.port, err) < 0) {
        rf_redis_map_free(m);
        return -1;
    }
    r->any = 0;
    __atomic_store_n(&r->map, m, __ATOMIC_RELEASE);   /* node 0 is the same server */
    if (r->opts.log)
        rf_log_info(r->opts.log, "redis %s: a cluster node (MOVED); routing by slot",
                    r->safe_url);
    return 0;
}

int rf_redis_redirected(rf_redis *r, int from, const redisReply *rep, int *node, int *ask,
                        rf_err *err)
{
    rf_redis_redirect rd;
    if (rep->type != REDIS_REPLY_ERROR || !rf_redis_redirect_parse(rep->str, &rd))
        return 0;
    if (!rd.host[0])   /* "MOVED 12 :6380": the same host as the node asked */
        snprintf(rd.host, sizeof rd.host, "%s", rf_redis_node_host(r, from));
    if (!r->map && become_cluster(r, err) != 0)
        return -1;
    if (rd.ask) {
        *ask = 1;
        *node = rf_redis_map_node(r->map, rd.host, strlen(rd.host), rd.port, err);
        return *node < 0 ? -1 : 1;
    }
    *ask = 0;
    *node = rf_redis_map_moved(r->map, &rd, err);
    if (*node < 0)
        return -1;
    /* One slot moved usually means a reshard: reload the whole map before
     * the next command rather than learn it one MOVED at a time. */
    r->stale = 1;
    return 1;
}
