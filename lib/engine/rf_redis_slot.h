/* rf_redis_slot: the Redis Cluster hash slot of a key, and which argument
 * of a command is the key it is routed by (pure).
 *
 * As the Redis Cluster specification defines it: CRC16-XMODEM (poly 0x1021,
 * init 0) of the key modulo 16384, where a key holding "{...}" with at
 * least one byte between the first '{' and the first '}' after it hashes
 * only that part (its hash tag), so keys that share a tag share a slot. */
#ifndef RF_REDIS_SLOT_H
#define RF_REDIS_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define RF_REDIS_SLOTS 16384

uint16_t rf_redis_crc16(const char *buf, size_t len);
/* The slot, 0..16383, of a key of len bytes (binary-safe). */
int rf_redis_key_slot(const char *key, size_t len);

/* The index in argv of the key a command is routed by, or -1 for a command
 * with no key (PING, TIME, INFO, SCRIPT, CLUSTER ...: any node will do).
 * EVAL/EVALSHA/FCALL: the first of KEYS when numkeys > 0; XREAD and
 * XREADGROUP: the first stream after STREAMS; OBJECT, MEMORY, XINFO,
 * XGROUP: the argument after the subcommand; otherwise argv[1]. A command
 * given several keys is routed by the first; Redis refuses it with
 * CROSSSLOT when they are not in one slot. */
int rf_redis_cmd_key(int argc, const char **argv, const size_t *lens);

#endif
