/* rf_chunk: block encoding (shuffle, XOR delta, zstd) of checkpoint tensors. */
#include "store/rf_chunk.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct rf_chunk_ctx {
    ZSTD_CCtx *cc;
    ZSTD_DCtx *dc;
    int level;
    uint8_t *a, *b;        /* scratch, cap bytes each */
    size_t cap;
};

rf_chunk_ctx *rf_chunk_ctx_new(int level)
{
    rf_chunk_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cc = ZSTD_createCCtx();
    c->dc = ZSTD_createDCtx();
    c->level = level;
    if (!c->cc || !c->dc) {
        rf_chunk_ctx_free(c);
        return NULL;
    }
    return c;
}

void rf_chunk_ctx_free(rf_chunk_ctx *c)
{
    if (!c)
        return;
    ZSTD_freeCCtx(c->cc);
    ZSTD_freeDCtx(c->dc);
    free(c->a);
    free(c->b);
    free(c);
}

static int scratch(rf_chunk_ctx *c, size_t n, rf_err *err)
{
    if (n <= c->cap)
        return 0;
    uint8_t *a = realloc(c->a, n), *b = a ? realloc(c->b, n) : NULL;
    if (a)
        c->a = a;
    if (!a || !b)
        return rf_errf(err, RF_ENOMEM, "chunk scratch: out of memory (%zu bytes)", n);
    c->b = b;
    c->cap = n;
    return 0;
}

void rf_shuffle(const uint8_t *src, uint8_t *dst, size_t n, size_t elem)
{
    size_t m = n / elem;
    if (elem == 4) {
        uint8_t *d0 = dst, *d1 = dst + m, *d2 = dst + 2 * m, *d3 = dst + 3 * m;
        for (size_t i = 0; i < m; i++, src += 4) {
            d0[i] = src[0];
            d1[i] = src[1];
            d2[i] = src[2];
            d3[i] = src[3];
        }
        return;
    }
    for (size_t b = 0; b < elem; b++)
        for (size_t i = 0; i < m; i++)
            dst[b * m + i] = src[i * elem + b];
}

/* 4-byte elements, the common case (f32): each output word is built from
 * the four planes in registers, a loop the compiler vectorises; base, when
 * not NULL, is XORed in the same pass (a delta costs no second pass). */
static void unshuffle4(const uint8_t *restrict src, const uint8_t *restrict base,
                       uint8_t *restrict dst, size_t m)
{
    const uint8_t *s0 = src, *s1 = src + m, *s2 = src + 2 * m, *s3 = src + 3 * m;
    size_t i = 0;
#ifdef __SSE2__
    /* 16 elements a step: interleave planes 0+1 and 2+3 into 16-bit pairs,
     * then the pairs into 32-bit words (an SSE2 byte transpose) */
    for (; i + 16 <= m; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(s0 + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(s1 + i));
        __m128i c = _mm_loadu_si128((const __m128i *)(s2 + i));
        __m128i d = _mm_loadu_si128((const __m128i *)(s3 + i));
        __m128i ab_lo = _mm_unpacklo_epi8(a, b), ab_hi = _mm_unpackhi_epi8(a, b);
        __m128i cd_lo = _mm_unpacklo_epi8(c, d), cd_hi = _mm_unpackhi_epi8(c, d);
        __m128i w[4] = {_mm_unpacklo_epi16(ab_lo, cd_lo), _mm_unpackhi_epi16(ab_lo, cd_lo),
                        _mm_unpacklo_epi16(ab_hi, cd_hi), _mm_unpackhi_epi16(ab_hi, cd_hi)};
        for (int k = 0; k < 4; k++) {
            if (base)
                w[k] = _mm_xor_si128(w[k],
                                     _mm_loadu_si128((const __m128i *)(base + 4 * i + 16 * k)));
            _mm_storeu_si128((__m128i *)(dst + 4 * i + 16 * k), w[k]);
        }
    }
#endif
    for (; i + 8 <= m; i += 8) {
        uint32_t w[8], x[8];
        for (int k = 0; k < 8; k++)
            w[k] = (uint32_t)s0[i + k] | (uint32_t)s1[i + k] << 8 |
                   (uint32_t)s2[i + k] << 16 | (uint32_t)s3[i + k] << 24;
        if (base) {
            memcpy(x, base + 4 * i, sizeof x);
            for (int k = 0; k < 8; k++)
                w[k] ^= x[k];
        }
        memcpy(dst + 4 * i, w, sizeof w);
    }
    for (; i < m; i++) {
        uint32_t w = (uint32_t)s0[i] | (uint32_t)s1[i] << 8 | (uint32_t)s2[i] << 16 |
                     (uint32_t)s3[i] << 24, x = 0;
        if (base)
            memcpy(&x, base + 4 * i, 4);
        w ^= x;
        memcpy(dst + 4 * i, &w, 4);
    }
}

void rf_unshuffle_xor(const uint8_t *src, const uint8_t *base, uint8_t *dst, size_t n,
                      size_t elem)
{
    size_t m = n / elem;
    if (elem == 4) {
        unshuffle4(src, base, dst, m);
        return;
    }
    for (size_t b = 0; b < elem; b++)
        for (size_t i = 0; i < m; i++)
            dst[i * elem + b] = src[b * m + i] ^ (base ? base[i * elem + b] : 0);
}

void rf_unshuffle(const uint8_t *src, uint8_t *dst, size_t n, size_t elem)
{
    rf_unshuffle_xor(src, NULL, dst, n, elem);
}

void rf_xor(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        x ^= y;
        memcpy(dst + i, &x, 8);
    }
    for (; i < n; i++)
        dst[i] = a[i] ^ b[i];
}

size_t rf_chunk_block_elems(size_t block_bytes, size_t elem)
{
    size_t e = elem ? block_bytes / elem : 0;
    return e ? e : 1;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int elem_ok(int elem)
{
    return elem == 1 || elem == 2 || elem == 4 || elem == 8;
}

int rf_chunk_encode(rf_chunk_ctx *c, const void *raw, size_t n, int elem,
                    const void *base, const uint8_t base_id[RF_SHA256_LEN], int base_depth,
                    rf_buf *out, rf_err *err)
{
    if (!elem_ok(elem) || n % (size_t)elem)
        return rf_errf(err, RF_EINVAL, "chunk: %zu bytes is not a whole number of "
                       "%d-byte elements", n, elem);
    if (base && base_depth >= 255)
        return rf_errf(err, RF_EINVAL, "chunk: delta chain too deep");
    if (scratch(c, n ? n : 1, err))
        return -1;
    const uint8_t *src = raw;
    if (base) {
        rf_xor(raw, base, c->a, n);
        src = c->a;
    }
    rf_shuffle(src, c->b, n, (size_t)elem);
    size_t bound = ZSTD_compressBound(n);
    size_t at = out->len;
    rf_buf_grow(out, RF_CHUNK_HEADER + bound);
    uint8_t *h = (uint8_t *)out->data + at;
    memset(h, 0, RF_CHUNK_HEADER);
    memcpy(h, RF_CHUNK_MAGIC, 4);
    h[4] = 1;
    h[5] = base ? RF_CHUNK_DELTA : RF_CHUNK_FULL;
    h[6] = (uint8_t)elem;
    h[7] = base ? (uint8_t)(base_depth + 1) : 0;
    put_u64(h + 8, n);
    if (base)
        memcpy(h + 16, base_id, RF_SHA256_LEN);
    size_t z = ZSTD_compressCCtx(c->cc, h + RF_CHUNK_HEADER, bound, c->b, n, c->level);
    if (ZSTD_isError(z))
        return rf_errf(err, RF_EIO, "chunk: zstd: %s", ZSTD_getErrorName(z));
    if (!base && z >= n) {   /* incompressible: keep the shuffled bytes */
        h[5] = RF_CHUNK_STORED;
        memcpy(h + RF_CHUNK_HEADER, c->b, n);
        z = n;
    }
    out->len = at + RF_CHUNK_HEADER + z;
    out->data[out->len] = 0;
    return 0;
}

int rf_chunk_head_parse(const void *p, size_t n, rf_chunk_head *h, rf_err *err)
{
    const uint8_t *b = p;
    memset(h, 0, sizeof *h);
    if (n < RF_CHUNK_HEADER || memcmp(b, RF_CHUNK_MAGIC, 4))
        return rf_errf(err, RF_ECORRUPT, "not a chunk (bad magic or %zu bytes)", n);
    if (b[4] != 1)
        return rf_errf(err, RF_ECORRUPT, "chunk format %u unknown", b[4]);
    h->mode = b[5];
    h->elem = b[6];
    h->depth = b[7];
    h->raw_len = get_u64(b + 8);
    memcpy(h->base, b + 16, RF_SHA256_LEN);
    if (h->mode > RF_CHUNK_STORED || !elem_ok(h->elem) || h->raw_len % (uint64_t)h->elem ||
        (h->mode == RF_CHUNK_DELTA) != (h->depth > 0) || h->raw_len > (1ull << 34))
        return rf_errf(err, RF_ECORRUPT, "chunk header is inconsistent");
    if (h->mode == RF_CHUNK_STORED && n - RF_CHUNK_HEADER != h->raw_len)
        return rf_errf(err, RF_ECORRUPT, "chunk truncated: %zu of %llu bytes",
                       n - RF_CHUNK_HEADER, (unsigned long long)h->raw_len);
    return 0;
}

int rf_chunk_check(const void *raw, size_t n, const uint8_t id[RF_SHA256_LEN], rf_err *err)
{
    uint8_t got[RF_SHA256_LEN];
    rf_sha256(raw, n, got);
    if (memcmp(got, id, RF_SHA256_LEN))
        return rf_errf(err, RF_ECORRUPT, "chunk content does not match its SHA-256");
    return 0;
}

int rf_chunk_decode(rf_chunk_ctx *c, const void *p, size_t n, const void *base,
                    const uint8_t id[RF_SHA256_LEN], void *raw, rf_err *err)
{
    rf_chunk_head h;
    if (rf_chunk_head_parse(p, n, &h, err))
        return -1;
    if ((h.mode == RF_CHUNK_DELTA) != (base != NULL))
        return rf_errf(err, RF_EINVAL, "chunk: delta needs its base block");
    size_t len = (size_t)h.raw_len;
    if (scratch(c, len ? len : 1, err))
        return -1;
    const uint8_t *body = (const uint8_t *)p + RF_CHUNK_HEADER;
    size_t blen = n - RF_CHUNK_HEADER;
    if (h.mode == RF_CHUNK_STORED) {
        memcpy(c->b, body, len);
    } else {
        size_t z = ZSTD_decompressDCtx(c->dc, c->b, len, body, blen);
        if (ZSTD_isError(z))
            return rf_errf(err, RF_ECORRUPT, "chunk data: zstd: %s", ZSTD_getErrorName(z));
        if (z != len)
            return rf_errf(err, RF_ECORRUPT, "chunk data: %zu of %zu bytes", z, len);
    }
    rf_unshuffle_xor(c->b, base, raw, len, (size_t)h.elem);
    return id ? rf_chunk_check(raw, len, id, err) : 0;
}
