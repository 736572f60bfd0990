/* fuzz_redis_map: what a Redis Cluster node sends us, on arbitrary bytes:
 * a CLUSTER SLOTS reply (through hiredis's reader, as the client gets it),
 * a MOVED/ASK error line, and keys and commands for the slot routing.
 * Must never crash or read out of bounds; a loaded map only names known
 * nodes and counts its slots right; a refused reply leaves the map as it
 * was; a parsed redirection is in range and, applied, routes its slot. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "engine/rf_redis_map.h"
#include "engine/rf_redis_slot.h"

static void check_map(const rf_redis_map *m)
{
    size_t known = 0;
    if (m->nnodes > RF_REDIS_MAX_NODES)
        abort();
    for (int s = 0; s < RF_REDIS_SLOTS; s++) {
        if (m->slot[s] >= (int)m->nnodes)
            abort();
        known += m->slot[s] >= 0;
    }
    if (known != m->nslots_known)
        abort();
}

static void fuzz_slots(rf_redis_map *m, const uint8_t *data, size_t size)
{
    redisReader *rd = redisReaderCreate();
    void *rep = NULL;
    if (rd && redisReaderFeed(rd, (const char *)data, size) == REDIS_OK &&
        redisReaderGetReply(rd, &rep) == REDIS_OK && rep) {
        int16_t *before = malloc(sizeof m->slot);
        memcpy(before, m->slot, sizeof m->slot);
        size_t known = m->nslots_known;
        rf_err err;
        if (rf_redis_map_load(m, rep, "10.0.0.1", &err) != 0 &&
            (memcmp(before, m->slot, sizeof m->slot) != 0 || known != m->nslots_known))
            abort();
        check_map(m);
        free(before);
        freeReplyObject(rep);
    }
    redisReaderFree(rd);
}

static void fuzz_redirect(rf_redis_map *m, const char *s)
{
    rf_redis_redirect rd;
    if (!rf_redis_redirect_parse(s, &rd))
        return;
    if (rd.slot < 0 || rd.slot >= RF_REDIS_SLOTS || rd.port < 1 || rd.port > 65535 ||
        strlen(rd.host) >= RF_REDIS_HOST_MAX || (rd.ask != 0 && rd.ask != 1))
        abort();
    rf_err err;
    int node = rd.host[0] ? rf_redis_map_moved(m, &rd, &err) : -1;
    if (node >= 0 && (m->slot[rd.slot] != node || m->nodes[node].port != rd.port ||
                      strcmp(m->nodes[node].host, rd.host) != 0))
        abort();
    check_map(m);
}

/* Words of s as a command: the routing key is absent or one of them. */
static void fuzz_route(char *s, size_t size)
{
    const char *argv[16];
    int argc = 0;
    for (char *w = strtok(s, " \n"); w && argc < 16; w = strtok(NULL, " \n"))
        argv[argc++] = w;
    int k = rf_redis_cmd_key(argc, argv, NULL);
    if (k < -1 || k == 0 || k >= (argc > 0 ? argc : 1))
        abort();
    (void)size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (rf_redis_key_slot((const char *)data, size) >= RF_REDIS_SLOTS)
        abort();
    rf_redis_map *m = rf_redis_map_new();
    fuzz_slots(m, data, size);
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    fuzz_redirect(m, s);
    fuzz_route(s, size);
    free(s);
    rf_redis_map_free(m);
    return 0;
}
