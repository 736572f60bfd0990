/* rf_codec: the artifact container every worker reads and writes.
 *
 * File layout (all integers little-endian):
 *   offset  size  field
 *   0       8     magic "RVFLART\0"
 *   8       2     format version (1)
 *   10      2     codec (1 = zstd)
 *   12      4     flags (0)
 *   16      8     uncompressed payload size in bytes
 *   24      32    SHA-256 of the uncompressed payload
 *   56      64    content type, NUL-padded ASCII (e.g. "ruvflow/dataset")
 *   120     8     compressed size in bytes
 *   128     ...   one zstd frame holding the msgpack-encoded payload value
 *
 * Tensors are msgpack ext type 1 (dtype, ndim, shape, raw data); the full
 * format, limits and checks are in docs/artifacts.md.
 *
 * The SHA-256 of the uncompressed payload is the artifact's content address:
 * stores keep it under cas/<2 hex>/<64 hex> (rf_codec_cas_key), so the same
 * payload is stored once and a retried task rewriting it is harmless.
 *
 * Encoding and decoding stream: a tensor's bytes go from the caller's buffer
 * through the zstd stream to disk and back into one final allocation, so a
 * 2 GiB artifact needs about 1x its size in memory, not 2x. Decoding checks
 * everything against rf_codec_limits and fails with RF_ECORRUPT/RF_ETOOBIG,
 * never crashes and never allocates more than the limits allow. */
#ifndef RF_CODEC_H
#define RF_CODEC_H

#include <stdint.h>
#include <stdio.h>

#include "base/rf_err.h"
#include "base/rf_hash.h"
#include "store/rf_obj.h"

#define RF_ART_MAGIC "RVFLART"
#define RF_ART_VERSION 1
#define RF_ART_HEADER_SIZE 128
#define RF_ART_CTYPE_MAX 64

typedef struct rf_artifact_info {
    int version;
    int codec;
    uint64_t payload_size;            /* uncompressed */
    uint64_t compressed_size;
    uint8_t sha256[RF_SHA256_LEN];
    char sha256_hex[RF_SHA256_HEX];
    char content_type[RF_ART_CTYPE_MAX + 1];
} rf_artifact_info;

typedef struct rf_codec_limits {
    uint64_t max_payload;   /* default 16 GiB; declared or actual size above fails */
    uint32_t max_depth;     /* default 64: nesting bombs fail */
    uint64_t max_items;     /* default 1<<28 array/map entries in total */
} rf_codec_limits;

typedef struct rf_codec_opts {
    int level;              /* zstd level, default 3 */
    int threads;            /* zstd worker threads, default 0 (single) */
} rf_codec_opts;

void rf_codec_limits_default(rf_codec_limits *l);
void rf_codec_opts_default(rf_codec_opts *o);

/* Encode payload into path atomically (temp file, fsync, rename). info, if
 * non-NULL, receives the header written. content_type <= 64 chars. */
int rf_artifact_write(const char *path, const char *content_type,
                      const rf_obj *payload, const rf_codec_opts *opts,
                      rf_artifact_info *info, rf_err *err);

/* The msgpack size and SHA-256 of payload (what rf_artifact_write would
 * record), without compressing or writing anything. */
int rf_payload_sha256(const rf_obj *payload, uint64_t *size, uint8_t sha[RF_SHA256_LEN],
                      rf_err *err);

/* Where a tensor without data gets its bytes while the payload is hashed:
 * fn passes them, in order, to rf_payload_feed, exactly the tensor's size
 * in all. Lets a caller hash a payload whose tensors live elsewhere (the
 * checkpoint repository's blocks) without assembling them. */
typedef struct rf_payload_feed_ctx rf_payload_feed_ctx;
typedef int (*rf_tensor_feed_fn)(void *ud, const rf_obj *node, rf_payload_feed_ctx *f,
                                 rf_err *err);
int rf_payload_feed(rf_payload_feed_ctx *f, const void *p, size_t n);
/* rf_payload_sha256, with fn called for every tensor whose data is NULL. */
int rf_payload_sha256_fed(const rf_obj *payload, rf_tensor_feed_fn fn, void *ud,
                          uint64_t *size, uint8_t sha[RF_SHA256_LEN], rf_err *err);

/* Decode a file. lim may be NULL for defaults. *out is the caller's. */
int rf_artifact_read(const char *path, const rf_codec_limits *lim,
                     rf_artifact_info *info, rf_obj **out, rf_err *err);

/* Decode from memory (what the fuzzer drives). */
int rf_artifact_read_mem(const void *data, size_t len,
                         const rf_codec_limits *lim, rf_artifact_info *info,
                         rf_obj **out, rf_err *err);

/* Read and validate only the header of a file. */
int rf_artifact_read_header(const char *path, rf_artifact_info *info, rf_err *err);
/* 1 if the first bytes are the artifact magic. */
int rf_artifact_sniff(const void *data, size_t len);

/* "cas/ab/abcdef..." for a hex digest; out needs >= 72 bytes. */
void rf_codec_cas_key(char *out, size_t n, const char *sha256_hex);

#endif
