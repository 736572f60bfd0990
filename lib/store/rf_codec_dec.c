/* rf_codec_dec: msgpack values from the pull reader (rf_codec_pull.c) into
 * rf_obj trees. Every container is checked against the nesting and item
 * limits and against what remains of the payload before it is built, and
 * grows with the entries actually parsed. */
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "store/rf_codec_impl.h"

static int dec_value(dec *d, uint32_t depth, rf_obj **out);

/* A str or bin body of len bytes, NUL-terminated in memory. */
static int dec_bytes(dec *d, int type, uint64_t len, rf_obj **out)
{
    if (len > rf_codec_remaining(d))
        return rf_codec_fail(d, RF_ECORRUPT, "%s of %llu bytes runs past the end of the payload",
                             type == RF_STR ? "string" : "bin", (unsigned long long)len);
    if (len >= SIZE_MAX)   /* only possible where size_t is 32-bit */
        return rf_codec_fail(d, RF_ETOOBIG, "%llu bytes do not fit in memory",
                             (unsigned long long)len);
    char *p = malloc((size_t)len + 1);
    if (!p)
        return rf_errf(d->err, RF_ENOMEM, "out of memory for %llu bytes",
                       (unsigned long long)len);
    if (rf_codec_copy(d, p, (size_t)len) < 0) {
        free(p);
        return -1;
    }
    p[len] = '\0';
    rf_obj *o = rf_xcalloc(1, sizeof *o);
    o->type = type;
    o->u.s.p = p;
    o->u.s.len = (size_t)len;
    *out = o;
    return 0;
}

/* Account for n more container entries of min_bytes each. */
static int dec_entries(dec *d, uint64_t n, uint64_t min_bytes, uint32_t depth)
{
    if (depth >= d->max_depth)
        return rf_codec_fail(d, RF_ETOOBIG, "nesting deeper than %u levels", d->max_depth);
    if (n > rf_codec_remaining(d) / min_bytes)
        return rf_codec_fail(d, RF_ECORRUPT, "%llu entries cannot fit in the rest of the payload",
                             (unsigned long long)n);
    d->items += n;
    if (d->items > d->lim->max_items)
        return rf_codec_fail(d, RF_ETOOBIG, "more than %llu array/map entries",
                             (unsigned long long)d->lim->max_items);
    return 0;
}

static int dec_array(dec *d, uint64_t n, uint32_t depth, rf_obj **out)
{
    if (dec_entries(d, n, 1, depth) < 0)
        return -1;
    rf_obj *a = rf_obj_array();
    for (uint64_t i = 0; i < n; i++) {
        rf_obj *v;
        if (dec_value(d, depth + 1, &v) < 0) {
            rf_obj_free(a);
            return -1;
        }
        rf_obj_push(a, v);
    }
    *out = a;
    return 0;
}

/* A map key: any msgpack str without NUL bytes (keys are C strings). */
static int dec_key(dec *d, char **key)
{
    uint64_t len;
    const uint8_t *p;
    if (rf_codec_need(d, 1, &p) < 0)
        return -1;
    uint8_t b = p[0];
    if ((b & 0xe0) == 0xa0)
        len = b & 0x1f;
    else if (b >= 0xd9 && b <= 0xdb) {
        if (rf_codec_uint(d, 1 << (b - 0xd9), &len) < 0)
            return -1;
    } else
        return rf_codec_fail(d, RF_ECORRUPT, "map key is not a string (byte 0x%02x)", b);
    rf_obj *s;
    if (dec_bytes(d, RF_STR, len, &s) < 0)
        return -1;
    if (strlen(s->u.s.p) != len) {
        rf_obj_free(s);
        return rf_codec_fail(d, RF_ECORRUPT, "map key contains a NUL byte");
    }
    *key = s->u.s.p;
    free(s);
    return 0;
}

/* Append without rf_obj_set's duplicate check, which would make decoding
 * quadratic; rf_obj_get finds the last of duplicate keys, the one
 * rf_obj_set would have kept. */
static void map_append(rf_obj *m, char *key, rf_obj *val)
{
    if (m->u.m.len == m->u.m.cap) {
        size_t cap = m->u.m.cap ? 2 * m->u.m.cap : 4;
        m->u.m.keys = rf_xrealloc(m->u.m.keys, cap * sizeof(char *));
        m->u.m.vals = rf_xrealloc(m->u.m.vals, cap * sizeof(rf_obj *));
        m->u.m.cap = cap;
    }
    m->u.m.keys[m->u.m.len] = key;
    m->u.m.vals[m->u.m.len++] = val;
}

/* Containers grow with the entries actually parsed, never by the count
 * they declare. */
static int dec_map(dec *d, uint64_t n, uint32_t depth, rf_obj **out)
{
    if (dec_entries(d, n, 2, depth) < 0)
        return -1;
    rf_obj *m = rf_obj_map();
    for (uint64_t i = 0; i < n; i++) {
        char *key = NULL;
        rf_obj *v;
        if (dec_key(d, &key) < 0) {
            rf_obj_free(m);
            return -1;
        }
        if (dec_value(d, depth + 1, &v) < 0) {
            free(key);
            rf_obj_free(m);
            return -1;
        }
        map_append(m, key, v);
    }
    *out = m;
    return 0;
}

static int dec_ext(dec *d, uint64_t len, rf_obj **out)
{
    const uint8_t *p;
    if (rf_codec_need(d, 1, &p) < 0)
        return -1;
    int type = (int8_t)p[0];
    if (type != RF_EXT_TENSOR)
        return rf_codec_fail(d, RF_ECORRUPT, "unknown msgpack ext type %d", type);
    if (len > rf_codec_remaining(d))
        return rf_codec_fail(d, RF_ECORRUPT, "ext of %llu bytes runs past the end of the payload",
                             (unsigned long long)len);
    return rf_codec_dec_tensor(d, len, out);
}

/* 0xcc..0xcf: uint 8..64; 0xd0..0xd3: int 8..64. */
static int dec_int(dec *d, uint8_t b, rf_obj **out)
{
    uint64_t v;
    int nbytes = 1 << ((b - 0xcc) & 3);
    if (rf_codec_uint(d, nbytes, &v) < 0)
        return -1;
    if (b <= 0xcf) {
        if (v > INT64_MAX)
            return rf_codec_fail(d, RF_ECORRUPT, "integer %llu out of range",
                                 (unsigned long long)v);
        *out = rf_obj_int((int64_t)v);
        return 0;
    }
    int shift = 64 - 8 * nbytes;   /* sign-extend */
    *out = rf_obj_int((int64_t)(v << shift) >> shift);
    return 0;
}

static int dec_float(dec *d, int dbl, rf_obj **out)
{
    uint64_t v;
    if (rf_codec_uint(d, dbl ? 8 : 4, &v) < 0)
        return -1;
    if (dbl) {
        double f;
        memcpy(&f, &v, 8);
        *out = rf_obj_float(f);
    } else {
        uint32_t u = (uint32_t)v;
        float f;
        memcpy(&f, &u, 4);
        *out = rf_obj_float(f);
    }
    return 0;
}

/* One msgpack value. Lengths are big-endian: 1 << (b - first) bytes for
 * bin, ext and str; 2 << (b - first) for arrays and maps. */
static int dec_value(dec *d, uint32_t depth, rf_obj **out)
{
    const uint8_t *p;
    uint64_t n;
    if (rf_codec_need(d, 1, &p) < 0)
        return -1;
    uint8_t b = p[0];
    if (b <= 0x7f || b >= 0xe0) {
        *out = rf_obj_int((int8_t)b);
        return 0;
    }
    if (b <= 0x8f)
        return dec_map(d, b & 0x0f, depth, out);
    if (b <= 0x9f)
        return dec_array(d, b & 0x0f, depth, out);
    if (b <= 0xbf)
        return dec_bytes(d, RF_STR, b & 0x1f, out);
    switch (b) {
    case 0xc0: *out = rf_obj_nil(); return 0;
    case 0xc2: *out = rf_obj_bool(0); return 0;
    case 0xc3: *out = rf_obj_bool(1); return 0;
    case 0xca: return dec_float(d, 0, out);
    case 0xcb: return dec_float(d, 1, out);
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
    case 0xd0: case 0xd1: case 0xd2: case 0xd3:
        return dec_int(d, b, out);
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        return dec_ext(d, 1u << (b - 0xd4), out);
    case 0xc4: case 0xc5: case 0xc6:
        return rf_codec_uint(d, 1 << (b - 0xc4), &n) < 0 ? -1 : dec_bytes(d, RF_BIN, n, out);
    case 0xc7: case 0xc8: case 0xc9:
        return rf_codec_uint(d, 1 << (b - 0xc7), &n) < 0 ? -1 : dec_ext(d, n, out);
    case 0xd9: case 0xda: case 0xdb:
        return rf_codec_uint(d, 1 << (b - 0xd9), &n) < 0 ? -1 : dec_bytes(d, RF_STR, n, out);
    case 0xdc: case 0xdd:
        return rf_codec_uint(d, 2 << (b - 0xdc), &n) < 0 ? -1 : dec_array(d, n, depth, out);
    case 0xde: case 0xdf:
        return rf_codec_uint(d, 2 << (b - 0xde), &n) < 0 ? -1 : dec_map(d, n, depth, out);
    default:   /* 0xc1, the one byte msgpack never uses */
        return rf_codec_fail(d, RF_ECORRUPT, "invalid msgpack byte 0x%02x", b);
    }
}

int rf_codec_decode(dec *d, const rf_artifact_info *info, const rf_codec_limits *lim,
                    rf_obj **out)
{
    if (rf_codec_pull_open(d, info, lim) < 0)
        return -1;
    rf_obj *root = NULL;
    if (dec_value(d, 0, &root) < 0)
        return -1;
    if (rf_codec_pull_finish(d, info) < 0) {
        rf_obj_free(root);
        return -1;
    }
    *out = root;
    return 0;
}

