/* rf_redis_slot: CRC16-XMODEM and the Redis Cluster key slot; see
 * rf_redis_slot.h. */
#include "engine/rf_redis_slot.h"

#include <string.h>
#include <strings.h>

/* Bitwise rather than a 512-byte table: keys are short and a slot is
 * computed once per command, next to a network round trip. */
uint16_t rf_redis_crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint8_t)buf[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

int rf_redis_key_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t from = (size_t)(open - key) + 1;
        const char *close = memchr(key + from, '}', len - from);
        /* "{}" is no tag: the whole key is hashed. */
        if (close && close > key + from)
            return rf_redis_crc16(key + from, (size_t)(close - key - from)) & (RF_REDIS_SLOTS - 1);
    }
    return rf_redis_crc16(key, len) & (RF_REDIS_SLOTS - 1);
}

static int is(const char *a, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(a, word, n) == 0;
}

static size_t len_of(const char **argv, const size_t *lens, int i)
{
    return lens ? lens[i] : strlen(argv[i]);
}

/* Commands that name no key; sent to any node. */
static const char *const keyless[] = {
    "PING", "TIME", "INFO", "SCRIPT", "CLUSTER", "AUTH", "SELECT", "ACL", "CONFIG",
    "CLIENT", "COMMAND", "DBSIZE", "FLUSHDB", "FLUSHALL", "SCAN", "KEYS",
    "RANDOMKEY", "ECHO", "HELLO", "MULTI", "EXEC", "DISCARD", "WAIT", "FUNCTION",
    "SLOWLOG", "LASTSAVE", "SAVE", "BGSAVE", "BGREWRITEAOF", "DEBUG", "READONLY",
    "READWRITE", "ASKING", "PUBLISH", "LATENCY", "ROLE", "SHUTDOWN", "SWAPDB",
    "FAILOVER", "REPLICAOF", "SLAVEOF", "QUIT", "RESET", "MONITOR", NULL};

int rf_redis_cmd_key(int argc, const char **argv, const size_t *lens)
{
    if (argc < 1)
        return -1;
    const char *c = argv[0];
    size_t n = len_of(argv, lens, 0);
    for (int i = 0; keyless[i]; i++)
        if (is(c, n, keyless[i]))
            return -1;
    if (is(c, n, "EVAL") || is(c, n, "EVALSHA") || is(c, n, "EVAL_RO") ||
        is(c, n, "EVALSHA_RO") || is(c, n, "FCALL") || is(c, n, "FCALL_RO")) {
        if (argc < 4)
            return -1;
        size_t kl = len_of(argv, lens, 2);
        /* numkeys "0" (or anything not starting 1-9) names no key. */
        return kl > 0 && argv[2][0] >= '1' && argv[2][0] <= '9' ? 3 : -1;
    }
    if (is(c, n, "XREAD") || is(c, n, "XREADGROUP")) {
        for (int i = 1; i + 1 < argc; i++)
            if (is(argv[i], len_of(argv, lens, i), "STREAMS"))
                return i + 1;
        return -1;
    }
    if (is(c, n, "OBJECT") || is(c, n, "MEMORY") || is(c, n, "XINFO") || is(c, n, "XGROUP"))
        return argc > 2 ? 2 : -1;
    return argc > 1 ? 1 : -1;
}
