/* rf_redis_map: Redis Cluster slot map and MOVED/ASK parsing; see
 * rf_redis_map.h. */
#include "engine/rf_redis_map.h"

#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"

rf_redis_map *rf_redis_map_new(void)
{
    rf_redis_map *m = rf_xcalloc(1, sizeof *m);
    for (int i = 0; i < RF_REDIS_SLOTS; i++)
        m->slot[i] = -1;
    return m;
}

void rf_redis_map_free(rf_redis_map *m)
{
    free(m);
}

int rf_redis_map_node(rf_redis_map *m, const char *host, size_t hlen, int port, rf_err *err)
{
    if (hlen == 0 || hlen >= RF_REDIS_HOST_MAX)
        return rf_errf(err, RF_EINVAL, "redis cluster: bad node address (%zu-byte host)", hlen);
    for (size_t i = 0; i < m->nnodes; i++)
        if (m->nodes[i].port == port && strlen(m->nodes[i].host) == hlen &&
            memcmp(m->nodes[i].host, host, hlen) == 0)
            return (int)i;
    if (m->nnodes >= RF_REDIS_MAX_NODES)
        return rf_errf(err, RF_EUNSUPP, "redis cluster: more than %d nodes", RF_REDIS_MAX_NODES);
    rf_redis_node_id *n = &m->nodes[m->nnodes];
    memcpy(n->host, host, hlen);
    n->host[hlen] = 0;
    n->port = port;
    /* Published after the entry is complete, for a stats reader. */
    __atomic_store_n(&m->nnodes, m->nnodes + 1, __ATOMIC_RELEASE);
    return (int)(m->nnodes - 1);
}

/* The node of one slot range's primary entry [host, port, id, ...]. */
static int range_node(rf_redis_map *m, const redisReply *e, const char *asked, rf_err *err)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_INTEGER)
        return rf_errf(err, RF_ECORRUPT, "CLUSTER SLOTS: a node is not [host, port, ...]");
    const char *h = e->element[0]->str;
    size_t hl = e->element[0]->len;
    if (hl == 0 || (hl == 1 && h[0] == '?'))
        h = asked, hl = strlen(asked);
    long long port = e->element[1]->integer;
    if (port < 1 || port > 65535)
        return rf_errf(err, RF_ECORRUPT, "CLUSTER SLOTS: port %lld", port);
    return rf_redis_map_node(m, h, hl, (int)port, err);
}

int rf_redis_map_load(rf_redis_map *m, const redisReply *slots, const char *asked_host,
                      rf_err *err)
{
    if (!slots || slots->type != REDIS_REPLY_ARRAY)
        return rf_errf(err, RF_ECORRUPT, "CLUSTER SLOTS: not an array");
    int16_t *tab = rf_xmalloc(sizeof m->slot);
    for (int i = 0; i < RF_REDIS_SLOTS; i++)
        tab[i] = -1;
    size_t known = 0;
    for (size_t i = 0; i < slots->elements; i++) {
        const redisReply *r = slots->element[i];
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
            r->element[0]->type != REDIS_REPLY_INTEGER ||
            r->element[1]->type != REDIS_REPLY_INTEGER) {
            free(tab);
            return rf_errf(err, RF_ECORRUPT, "CLUSTER SLOTS: entry %zu is not [start, end, node...]", i);
        }
        long long a = r->element[0]->integer, b = r->element[1]->integer;
        if (a < 0 || b < a || b >= RF_REDIS_SLOTS) {
            free(tab);
            return rf_errf(err, RF_ECORRUPT, "CLUSTER SLOTS: bad range %lld-%lld", a, b);
        }
        int node = range_node(m, r->element[2], asked_host, err);
        if (node < 0) {
            free(tab);
            return -1;
        }
        for (long long s = a; s <= b; s++) {
            known += tab[s] < 0;
            tab[s] = (int16_t)node;
        }
    }
    memcpy(m->slot, tab, sizeof m->slot);
    m->nslots_known = known;
    free(tab);
    return 0;
}

int rf_redis_redirect_parse(const char *msg, rf_redis_redirect *out)
{
    int ask;
    const char *p;
    if (!strncmp(msg, "MOVED ", 6))
        ask = 0, p = msg + 6;
    else if (!strncmp(msg, "ASK ", 4))
        ask = 1, p = msg + 4;
    else
        return 0;
    int slot = 0, digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
        slot = slot * 10 + (*p - '0');
    if (digits == 0 || slot >= RF_REDIS_SLOTS || *p != ' ')
        return 0;
    const char *addr = p + 1;
    /* The port follows the last colon, so IPv6 hosts keep theirs. */
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= RF_REDIS_HOST_MAX ||
        memchr(addr, ' ', (size_t)(colon - addr)))
        return 0;
    int port = 0;
    digits = 0;
    for (p = colon + 1; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
        port = port * 10 + (*p - '0');
    if (digits == 0 || *p || port < 1 || port > 65535)
        return 0;
    out->ask = ask;
    out->slot = slot;
    memcpy(out->host, addr, (size_t)(colon - addr));
    out->host[colon - addr] = 0;
    out->port = port;
    return 1;
}

int rf_redis_map_moved(rf_redis_map *m, const rf_redis_redirect *rd, rf_err *err)
{
    int node = rf_redis_map_node(m, rd->host, strlen(rd->host), rd->port, err);
    if (node < 0)
        return -1;
    if (m->slot[rd->slot] < 0)
        m->nslots_known++;
    m->slot[rd->slot] = (int16_t)node;
    return node;
}
