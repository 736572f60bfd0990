/* rf_codec_impl.h: private to rf_codec*.c.
 *
 *   rf_codec.c         the 128-byte header, defaults, the read entry points
 *   rf_codec_enc.c     the encoder: msgpack -> SHA-256 + zstd -> atomic file
 *   rf_codec_pull.c    the bounded pull reader under the decoder
 *   rf_codec_dec.c     msgpack values from the pull reader into rf_obj trees
 *   rf_codec_tensor.c  tensors: msgpack ext type 1, both directions */
#ifndef RF_CODEC_IMPL_H
#define RF_CODEC_IMPL_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

#include "store/rf_codec.h"

/* msgpack ext type of a tensor. Body: u8 dtype, u8 ndim, u16 flags (0),
 * ndim x u64le shape, then the row-major little-endian data. */
#define RF_EXT_TENSOR 1
#define TENSOR_HDR_FIXED 4
#define TENSOR_HDR_MAX (TENSOR_HDR_FIXED + 8 * RF_TENSOR_MAXDIM)

/* Recursion bound for both directions, whatever the limits say: the
 * encoder and decoder recurse once per nesting level. */
#define DEPTH_HARD_MAX 1024

/* Compressed input is read from a file in chunks this big. */
#define READ_SIZE (256 * 1024)

/* ---- little-endian header fields, big-endian msgpack lengths ---- */

static inline void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static inline uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* rf_codec.c */
void rf_codec_header_pack(uint8_t h[RF_ART_HEADER_SIZE], const rf_artifact_info *in);
int rf_codec_ctype_valid(const char *s, size_t n);

/* ---- the decoder's state (rf_codec_pull.c) ---- */

typedef struct dec {
    /* compressed input: in[in_pos..in_len) is unread; in_left more bytes
     * remain in the file (fd >= 0) or nowhere (memory) */
    int fd;
    const uint8_t *in;
    size_t in_pos, in_len;
    uint64_t in_left;
    uint8_t *inbuf;
    ZSTD_DCtx *dctx;
    int frame_done;
    /* decompressed window: win[win_pos..win_len) is unparsed */
    uint8_t *win;
    size_t win_pos, win_len, win_cap;
    uint64_t produced;       /* decompressed bytes so far */
    uint64_t consumed;       /* bytes handed to the parser */
    uint64_t declared;       /* payload size from the header */
    uint64_t items;
    uint32_t max_depth;
    const rf_codec_limits *lim;
    rf_sha256_ctx *sha;
    rf_err *err;
} dec;

/* Fail with the payload position appended to the message. Returns -1. */
int rf_codec_fail(dec *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline uint64_t rf_codec_remaining(const dec *d) { return d->declared - d->consumed; }

/* Set up d for the payload info declares, within lim, and check the zstd
 * frame header against it. */
int rf_codec_pull_open(dec *d, const rf_artifact_info *info, const rf_codec_limits *lim);
/* Point *p at the next n (<= TENSOR_HDR_MAX) bytes of payload. */
int rf_codec_need(dec *d, size_t n, const uint8_t **p);
/* Copy the next n payload bytes into dst (n checked against
 * rf_codec_remaining before allocating dst). */
int rf_codec_copy(dec *d, void *dst, size_t n);
/* A big-endian unsigned integer of nbytes bytes. */
int rf_codec_uint(dec *d, int nbytes, uint64_t *v);
/* After the value: payload and frame ended, nothing left, hash matches. */
int rf_codec_pull_finish(dec *d, const rf_artifact_info *info);
void rf_codec_pull_free(dec *d);

/* rf_codec_dec.c: decode the one payload value of an artifact into *out. */
int rf_codec_decode(dec *d, const rf_artifact_info *info, const rf_codec_limits *lim,
                    rf_obj **out);

/* rf_codec_tensor.c */
int rf_codec_pack_tensor(msgpack_packer *pk, const rf_tensor *t, rf_err *err);
/* The ext header and tensor header only; *bytes gets the data size that
 * must follow. */
int rf_codec_pack_tensor_head(msgpack_packer *pk, const rf_tensor *t, size_t *bytes,
                              rf_err *err);
/* The body of a tensor ext of len bytes (its type byte already read). */
int rf_codec_dec_tensor(dec *d, uint64_t len, rf_obj **out);

#endif
