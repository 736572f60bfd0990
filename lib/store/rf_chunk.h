/* rf_chunk: one block of a tensor as a stored, self-checking chunk.
 *
 * A checkpoint's tensors are cut into fixed, element-aligned blocks
 * (rf_chunk_block_elems). Each block is stored once, under the SHA-256 of
 * its raw bytes (its id), in one of two encodings:
 *
 *   full   byte-plane shuffle (all first bytes of the elements, then all
 *          second bytes, ...), then zstd
 *   delta  XOR with a base block of the same length (the same block of the
 *          parent checkpoint's same tensor), then shuffle, then zstd
 *
 * The XOR of two nearby float values has mostly-zero sign, exponent and
 * high-mantissa bytes; the shuffle gathers those zeros into long runs that
 * zstd squeezes. Everything works on bit patterns, so NaN payloads, signed
 * zeros and denormals come back exactly.
 *
 * Chunk object layout (little-endian):
 *   0   4  magic "RFCK"        4  1  format (1)
 *   5   1  mode (0 full, 1 delta, 2 stored: shuffled but not compressed)
 *   6   1  element size (1, 2, 4 or 8)
 *   7   1  depth: deltas to apply to read it (0 for full)
 *   8   8  raw length in bytes
 *   16 32  base id (delta only; zeros otherwise)
 *   48 ..  zstd frame (or the shuffled bytes, mode 2)
 * Decoding checks the header and the lengths and, unless the caller checks
 * the whole payload instead, the SHA-256 of the rebuilt bytes against the
 * id: a damaged chunk is always detected, by one hash or the other. */
#ifndef RF_CHUNK_H
#define RF_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_buf.h"
#include "base/rf_err.h"
#include "base/rf_hash.h"

#define RF_CHUNK_MAGIC "RFCK"
#define RF_CHUNK_HEADER 48
#define RF_CHUNK_BLOCK_BYTES (1024u * 1024u) /* default block size, docs/checkpoints.md */
#define RF_CHUNK_LEVEL 1                    /* default zstd level, docs/checkpoints.md */

enum rf_chunk_mode { RF_CHUNK_FULL = 0, RF_CHUNK_DELTA = 1, RF_CHUNK_STORED = 2 };

typedef struct rf_chunk_head {
    int mode;
    int elem;
    int depth;
    uint64_t raw_len;
    uint8_t base[RF_SHA256_LEN];
} rf_chunk_head;

/* Reusable compression state and scratch space; one per thread. */
typedef struct rf_chunk_ctx rf_chunk_ctx;

rf_chunk_ctx *rf_chunk_ctx_new(int level);
void rf_chunk_ctx_free(rf_chunk_ctx *c);

/* Byte-plane shuffle of n bytes of elem-byte elements (n % elem == 0) and
 * its inverse; src and dst must not overlap. */
void rf_shuffle(const uint8_t *src, uint8_t *dst, size_t n, size_t elem);
void rf_unshuffle(const uint8_t *src, uint8_t *dst, size_t n, size_t elem);
/* Unshuffle and, when base is not NULL, XOR with base in the same pass:
 * dst = unshuffle(src) ^ base (base n bytes, not overlapping dst). */
void rf_unshuffle_xor(const uint8_t *src, const uint8_t *base, uint8_t *dst, size_t n,
                      size_t elem);
/* dst[i] = a[i] ^ b[i]. */
void rf_xor(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n);

/* Elements per block for a block size in bytes (at least 1). */
size_t rf_chunk_block_elems(size_t block_bytes, size_t elem);

/* Encode n raw bytes (elements of elem bytes) into *out (appended). base,
 * when not NULL, is the base block's raw bytes (n bytes too), with its id
 * and depth; the chunk then is a delta of depth base_depth + 1. */
int rf_chunk_encode(rf_chunk_ctx *c, const void *raw, size_t n, int elem,
                    const void *base, const uint8_t base_id[RF_SHA256_LEN], int base_depth,
                    rf_buf *out, rf_err *err);

/* Parse and check a chunk's header against its object size. */
int rf_chunk_head_parse(const void *p, size_t n, rf_chunk_head *h, rf_err *err);

/* Decode a chunk into raw (h->raw_len bytes, caller's buffer). base is the
 * base block's raw bytes for a delta, else NULL. When id is not NULL, checks
 * the result's SHA-256 against it; RF_ECORRUPT on any mismatch. id NULL
 * skips the hash, for a caller that checks the whole rebuilt payload
 * instead (rf_ckrepo_checkout) and rechecks chunk by chunk on a mismatch. */
int rf_chunk_decode(rf_chunk_ctx *c, const void *p, size_t n, const void *base,
                    const uint8_t id[RF_SHA256_LEN], void *raw, rf_err *err);

/* RF_ECORRUPT unless SHA-256(raw) == id. */
int rf_chunk_check(const void *raw, size_t n, const uint8_t id[RF_SHA256_LEN], rf_err *err);

#endif
