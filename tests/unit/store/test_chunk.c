/* Unit tests for rf_chunk: bit-exact round trips (full and delta, every
 * element size, NaN payloads, signed zeros, denormals, odd lengths),
 * shuffle inverse, and damaged or truncated chunks detected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/rf_chunk.h"

static void fill_floats(float *f, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        f[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 0.1f;
    }
    /* special bit patterns: NaN payloads, signed zeros, inf, denormal */
    uint32_t specials[] = {0x7fc00001u, 0xffa5a5a5u, 0x80000000u, 0x00000000u,
                           0x7f800000u, 0xff800000u, 0x00000001u, 0x807fffffu};
    for (size_t i = 0; i < 8 && i < n; i++)
        memcpy(&f[i * 7 % n], &specials[i], 4);
}

static void roundtrip(const void *raw, size_t n, int elem, const void *base, int depth)
{
    rf_chunk_ctx *c = rf_chunk_ctx_new(RF_CHUNK_LEVEL);
    assert_non_null(c);
    rf_buf out = RF_BUF_INIT;
    rf_err err = {0};
    uint8_t id[RF_SHA256_LEN], bid[RF_SHA256_LEN];
    rf_sha256(raw, n, id);
    if (base)
        rf_sha256(base, n, bid);
    assert_int_equal(rf_chunk_encode(c, raw, n, elem, base, base ? bid : NULL, depth, &out,
                                     &err), 0);
    rf_chunk_head h;
    assert_int_equal(rf_chunk_head_parse(out.data, out.len, &h, &err), 0);
    assert_int_equal(h.depth, base ? depth + 1 : 0);
    assert_int_equal(h.raw_len, n);
    if (base)
        assert_memory_equal(h.base, bid, RF_SHA256_LEN);
    uint8_t *back = malloc(n + 1);
    assert_int_equal(rf_chunk_decode(c, out.data, out.len, base, id, back, &err), 0);
    assert_memory_equal(back, raw, n);
    free(back);
    rf_buf_free(&out);
    rf_chunk_ctx_free(c);
}

static void test_full_roundtrip_all_types(void **state)
{
    (void)state;
    size_t sizes[] = {0, 1, 7, 1000, 65537};
    int elems[] = {1, 2, 4, 8};
    for (size_t s = 0; s < 5; s++)
        for (size_t e = 0; e < 4; e++) {
            size_t n = sizes[s] * (size_t)elems[e];
            float *f = calloc(n / 4 + 2, 4);
            fill_floats(f, n / 4 + 1, (uint32_t)(s * 31 + e));
            roundtrip(f, n, elems[e], NULL, 0);
            free(f);
        }
}

static void test_delta_roundtrip_specials(void **state)
{
    (void)state;
    size_t n = 40000;
    float *a = malloc(n * 4), *b = malloc(n * 4);
    fill_floats(a, n, 1);
    for (size_t i = 0; i < n; i++)
        b[i] = a[i] + (i % 3 ? 1e-6f : 0);
    fill_floats(b, 8, 9);   /* NaN payloads and signed zeros in the new one too */
    memcpy(&b[100], &(uint32_t){0x80000000u}, 4);
    roundtrip(b, n * 4, 4, a, 0);
    roundtrip(b, n * 4, 4, a, 5);
    free(a);
    free(b);
}

static void test_shuffle_inverse(void **state)
{
    (void)state;
    uint8_t src[64], mid[64], back[64];
    for (int i = 0; i < 64; i++)
        src[i] = (uint8_t)(i * 37 + 1);
    size_t elems[] = {1, 2, 4, 8};
    for (size_t e = 0; e < 4; e++) {
        rf_shuffle(src, mid, 64, elems[e]);
        rf_unshuffle(mid, back, 64, elems[e]);
        assert_memory_equal(src, back, 64);
    }
    rf_shuffle(src, mid, 64, 4);
    assert_int_equal(mid[1], src[4]);      /* first bytes of elements 0, 1 */
    assert_int_equal(mid[16], src[1]);     /* second plane starts at n/4 */
}

/* The vectorised 4-byte path against the plain definition, for lengths
 * around its 16- and 8-element steps, with and without the fused XOR. */
static void test_unshuffle_xor_lengths(void **state)
{
    (void)state;
    size_t ms[] = {0, 1, 7, 8, 15, 16, 17, 31, 33, 100, 1027};
    uint8_t *src = malloc(1027 * 8), *base = malloc(1027 * 8), *got = malloc(1027 * 8 + 1),
            *want = malloc(1027 * 8);
    for (size_t i = 0; i < 1027 * 8; i++) {
        src[i] = (uint8_t)(i * 131 + 7);
        base[i] = (uint8_t)(i * 29 + 3);
    }
    size_t elems[] = {1, 2, 4, 8};
    for (size_t e = 0; e < 4; e++) {
        for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++) {
            size_t el = elems[e], m = ms[k], n = m * el;
            for (int x = 0; x < 2; x++) {
                for (size_t i = 0; i < m; i++)
                    for (size_t b = 0; b < el; b++)
                        want[i * el + b] = src[b * m + i] ^ (x ? base[i * el + b] : 0);
                memset(got, 0xee, n + 1);
                rf_unshuffle_xor(src, x ? base : NULL, got, n, el);
                assert_memory_equal(got, want, n);
                assert_int_equal(got[n], 0xee);   /* nothing past the end */
            }
        }
    }
    free(src);
    free(base);
    free(got);
    free(want);
}

static void test_damage_detected(void **state)
{
    (void)state;
    size_t n = 8192;
    float *f = malloc(n * 4);
    fill_floats(f, n, 3);
    rf_chunk_ctx *c = rf_chunk_ctx_new(RF_CHUNK_LEVEL);
    rf_buf out = RF_BUF_INIT;
    rf_err err = {0};
    uint8_t id[RF_SHA256_LEN];
    rf_sha256(f, n * 4, id);
    assert_int_equal(rf_chunk_encode(c, f, n * 4, 4, NULL, NULL, 0, &out, &err), 0);
    uint8_t *back = malloc(n * 4);
    /* truncated */
    assert_int_equal(rf_chunk_decode(c, out.data, out.len - 5, NULL, id, back, &err), -1);
    assert_int_equal(err.code, RF_ECORRUPT);
    /* a flipped bit in the body, then in the header */
    out.data[out.len - 20] ^= 0x10;
    assert_int_equal(rf_chunk_decode(c, out.data, out.len, NULL, id, back, &err), -1);
    assert_int_equal(err.code, RF_ECORRUPT);
    out.data[out.len - 20] ^= 0x10;
    out.data[0] = 'X';
    assert_int_equal(rf_chunk_decode(c, out.data, out.len, NULL, id, back, &err), -1);
    out.data[0] = 'R';
    /* the wrong id: content does not match */
    id[0] ^= 1;
    assert_int_equal(rf_chunk_decode(c, out.data, out.len, NULL, id, back, &err), -1);
    assert_non_null(strstr(err.msg, "SHA-256"));
    /* a delta decoded without its base */
    assert_int_equal(rf_chunk_encode(c, f, n * 4, 4, f, id, 0, &out, &err), 0);
    free(back);
    free(f);
    rf_buf_free(&out);
    rf_chunk_ctx_free(c);
}

static void test_block_elems(void **state)
{
    (void)state;
    assert_int_equal(rf_chunk_block_elems(RF_CHUNK_BLOCK_BYTES, 4), RF_CHUNK_BLOCK_BYTES / 4);
    assert_int_equal(rf_chunk_block_elems(3, 8), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_roundtrip_all_types),
        cmocka_unit_test(test_delta_roundtrip_specials),
        cmocka_unit_test(test_shuffle_inverse),
        cmocka_unit_test(test_unshuffle_xor_lengths),
        cmocka_unit_test(test_damage_detected),
        cmocka_unit_test(test_block_elems),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
