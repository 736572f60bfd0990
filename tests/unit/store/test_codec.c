/* Unit tests for rf_obj and rf_codec: round trips of every type and dtype,
 * a big tensor, determinism, and every way an artifact can be corrupt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "base/rf_buf.h"
#include "store/rf_codec.h"
#include "store/rf_obj.h"

/* ---- helpers ---- */

static char tmpdir[256];

static int setup_dir(void **state)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/rf-codec-XXXXXX", base);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")))
            continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    return rmdir(tmpdir);
}

static const char *tpath(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static int count_files(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    uint8_t *p = malloc(*len ? *len : 1);
    assert_int_equal(fread(p, 1, *len, f), *len);
    fclose(f);
    return p;
}

static void spit(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    fclose(f);
}

static int obj_equal(const rf_obj *a, const rf_obj *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case RF_NIL: return 1;
    case RF_BOOL: return a->u.b == b->u.b;
    case RF_INT: return a->u.i == b->u.i;
    case RF_FLOAT: return !memcmp(&a->u.f, &b->u.f, sizeof(double));
    case RF_STR: case RF_BIN:
        return a->u.s.len == b->u.s.len && !memcmp(a->u.s.p, b->u.s.p, a->u.s.len) &&
               a->u.s.p[a->u.s.len] == '\0' && b->u.s.p[b->u.s.len] == '\0';
    case RF_ARRAY:
        if (a->u.a.len != b->u.a.len)
            return 0;
        for (size_t i = 0; i < a->u.a.len; i++)
            if (!obj_equal(a->u.a.items[i], b->u.a.items[i]))
                return 0;
        return 1;
    case RF_MAP:
        if (a->u.m.len != b->u.m.len)
            return 0;
        for (size_t i = 0; i < a->u.m.len; i++)
            if (strcmp(a->u.m.keys[i], b->u.m.keys[i]) ||
                !obj_equal(a->u.m.vals[i], b->u.m.vals[i]))
                return 0;
        return 1;
    case RF_TENSOR: {
        const rf_tensor *x = &a->u.t, *y = &b->u.t;
        size_t n;
        if (x->dtype != y->dtype || x->ndim != y->ndim ||
            memcmp(x->shape, y->shape, sizeof(uint64_t) * (size_t)x->ndim))
            return 0;
        assert_int_equal(rf_tensor_bytes(x->dtype, x->ndim, x->shape, &n), 0);
        return !n || !memcmp(x->data, y->data, n);
    }
    }
    return 0;
}

static rf_obj *tensor_filled(int dtype, int ndim, const uint64_t *shape, unsigned seed)
{
    rf_obj *t = rf_obj_tensor_new(dtype, ndim, shape);
    assert_non_null(t);
    size_t n;
    assert_int_equal(rf_tensor_bytes(dtype, ndim, shape, &n), 0);
    uint8_t *p = t->u.t.data;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 131 + seed);
    return t;
}

/* A tree using every value type and every dtype. */
static rf_obj *sample_tree(void)
{
    rf_obj *m = rf_obj_map();
    rf_obj_set(m, "nil", rf_obj_nil());
    rf_obj_set(m, "t", rf_obj_bool(1));
    rf_obj_set(m, "f", rf_obj_bool(0));
    rf_obj *ints = rf_obj_array();
    const int64_t iv[] = {0, 1, -1, 127, 128, -32, -33, 255, 256, 65535, 65536,
                          -129, -32768, -32769, INT32_MAX, (int64_t)INT32_MAX + 1,
                          INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++)
        rf_obj_push(ints, rf_obj_int(iv[i]));
    rf_obj_set(m, "ints", ints);
    rf_obj *fl = rf_obj_array();
    rf_obj_push(fl, rf_obj_float(0.1));
    rf_obj_push(fl, rf_obj_float(-1e300));
    rf_obj_push(fl, rf_obj_float(INFINITY));
    rf_obj_push(fl, rf_obj_float(NAN));
    rf_obj_set(m, "floats", fl);
    rf_obj_set(m, "empty", rf_obj_str(""));
    rf_obj_set(m, "name", rf_obj_str("ruvflow \xc3\xa9t\xc3\xa9"));
    char big[70000];
    memset(big, 'x', sizeof big);
    rf_obj_set(m, "str16", rf_obj_strn(big, 300));
    rf_obj_set(m, "str32", rf_obj_strn(big, sizeof big));
    rf_obj_set(m, "strnul", rf_obj_strn("a\0b", 3));
    rf_obj_set(m, "bin", rf_obj_bin("\x00\x01\xff", 3));
    rf_obj_set(m, "bin0", rf_obj_bin(NULL, 0));
    rf_obj_set(m, "binbig", rf_obj_bin(big, sizeof big));
    rf_obj *nest = rf_obj_array();
    rf_obj_push(nest, rf_obj_map());
    rf_obj_push(nest, rf_obj_array());
    rf_obj *arr16 = rf_obj_array();
    for (int i = 0; i < 20; i++)
        rf_obj_push(arr16, rf_obj_int(i));
    rf_obj_push(nest, arr16);
    rf_obj_set(m, "nest", nest);
    const int dt[] = {RF_F32, RF_F64, RF_I32, RF_I64, RF_U8};
    for (int i = 0; i < 5; i++) {
        char key[32];
        uint64_t shape[3] = {3, 4, (uint64_t)i + 1};
        snprintf(key, sizeof key, "w_%s", rf_dtype_name(dt[i]));
        rf_obj_set(m, key, tensor_filled(dt[i], 3, shape, (unsigned)i));
    }
    rf_obj_set(m, "scalar", tensor_filled(RF_F64, 0, NULL, 9));
    uint64_t z[2] = {5, 0};
    rf_obj_set(m, "zero", tensor_filled(RF_F32, 2, z, 0));
    uint64_t d8[8] = {1, 2, 1, 2, 1, 2, 1, 3};
    rf_obj_set(m, "eight", tensor_filled(RF_I32, 8, d8, 7));
    return m;
}

/* Build an artifact by hand around an arbitrary msgpack payload, with a
 * correct checksum, so that the parser's own checks are what is tested. */
static uint8_t *craft(const void *payload, size_t plen, size_t *len)
{
    size_t cap = ZSTD_compressBound(plen);
    uint8_t *a = calloc(1, RF_ART_HEADER_SIZE + cap);
    size_t c = ZSTD_compress(a + RF_ART_HEADER_SIZE, cap, payload, plen, 1);
    assert_false(ZSTD_isError(c));
    memcpy(a, RF_ART_MAGIC, 8);
    a[8] = 1;
    a[10] = 1;
    for (int i = 0; i < 8; i++) {
        a[16 + i] = (uint8_t)((uint64_t)plen >> (8 * i));
        a[120 + i] = (uint8_t)((uint64_t)c >> (8 * i));
    }
    rf_sha256(payload, plen, a + 24);
    memcpy(a + 56, "test/crafted", 12);
    *len = RF_ART_HEADER_SIZE + c;
    return a;
}

static int read_crafted(const void *payload, size_t plen, const rf_codec_limits *lim,
                        rf_err *err)
{
    size_t len;
    uint8_t *a = craft(payload, plen, &len);
    rf_obj *o = (rf_obj *)1;
    int r = rf_artifact_read_mem(a, len, lim, NULL, &o, err);
    if (r < 0)
        assert_null(o);
    rf_obj_free(o);
    free(a);
    return r;
}

static void expect_corrupt(const void *payload, size_t plen, int code, const char *what)
{
    rf_err err = {0};
    assert_int_equal(read_crafted(payload, plen, NULL, &err), -1);
    if (err.code != code || !strstr(err.msg, what))
        fail_msg("want %s containing \"%s\", got %s: %s", rf_code_name(code), what,
                 rf_code_name(err.code), err.msg);
}

/* ---- rf_obj ---- */

static void test_obj_api(void **state)
{
    rf_obj *m = rf_obj_map();
    rf_obj_set(m, "a", rf_obj_int(1));
    rf_obj_set(m, "b", rf_obj_str("x"));
    rf_obj_set(m, "a", rf_obj_float(2.5));   /* replaces, frees the old value */
    assert_int_equal(m->u.m.len, 2);
    double f;
    int64_t i;
    assert_int_equal(rf_obj_get_float(m, "a", &f), 0);
    assert_true(f == 2.5);
    assert_int_equal(rf_obj_get_int(m, "a", &i), -1);
    assert_string_equal(rf_obj_get_str(m, "b"), "x");
    assert_null(rf_obj_get_str(m, "a"));
    assert_null(rf_obj_get(m, "zz"));
    assert_null(rf_obj_get(rf_obj_get(m, "b"), "a"));   /* not a map */
    rf_obj_set(m, "n", rf_obj_int(-7));
    assert_int_equal(rf_obj_get_float(m, "n", &f), 0);
    assert_true(f == -7.0);

    uint64_t shape[2] = {3, 5};
    rf_obj *t = rf_obj_tensor_new(RF_F32, 2, shape);
    assert_non_null(t);
    assert_int_equal((uintptr_t)t->u.t.data % 64, 0);
    assert_int_equal(rf_tensor_count(&t->u.t), 15);
    for (int k = 0; k < 15; k++)
        assert_true(((float *)t->u.t.data)[k] == 0.0f);
    rf_obj_set(m, "w", t);
    assert_non_null(rf_obj_get_tensor(m, "w", RF_F32));
    assert_null(rf_obj_get_tensor(m, "w", RF_F64));

    /* Overflowing and invalid shapes fail softly. */
    uint64_t huge[3] = {1ULL << 32, 1ULL << 32, 2};
    assert_null(rf_obj_tensor_new(RF_U8, 3, huge));
    assert_null(rf_obj_tensor_new(RF_F64, 2, (uint64_t[]){1ULL << 62, 1}));
    assert_null(rf_obj_tensor_new(9, 1, shape));
    assert_null(rf_obj_tensor_new(RF_F32, RF_TENSOR_MAXDIM + 1, huge));
    assert_null(rf_obj_tensor_wrap(RF_F32, 2, shape, NULL));
    uint64_t z[2] = {0, 1ULL << 63};
    rf_obj *e = rf_obj_tensor_new(RF_F64, 2, z);   /* empty, whatever the rest */
    assert_non_null(e);
    assert_int_equal(rf_tensor_count(&e->u.t), 0);
    rf_obj_free(e);
    assert_int_equal(rf_dtype_size(RF_I64), 8);
    assert_int_equal(rf_dtype_size(0), 0);
    assert_string_equal(rf_dtype_name(RF_U8), "u8");
    rf_obj_free(m);
    rf_obj_free(NULL);
}

/* ---- round trips ---- */

static void test_roundtrip_file(void **state)
{
    rf_obj *m = sample_tree();
    rf_artifact_info wi, ri, hi;
    rf_err err = {0};
    const char *p = tpath("sample.rfa");
    assert_int_equal(rf_artifact_write(p, "ruvflow/test", m, NULL, &wi, &err), 0);
    assert_int_equal(wi.version, 1);
    assert_int_equal(wi.codec, 1);
    assert_string_equal(wi.content_type, "ruvflow/test");
    assert_int_equal(strlen(wi.sha256_hex), 64);

    rf_obj *back = NULL;
    if (rf_artifact_read(p, NULL, &ri, &back, &err) < 0)
        fail_msg("%s", err.msg);
    assert_true(obj_equal(m, back));
    assert_memory_equal(&wi, &ri, sizeof wi);
    assert_int_equal((uintptr_t)rf_obj_get_tensor(back, "w_f32", RF_F32)->data % 64, 0);
    assert_true(isnan(rf_obj_get(back, "floats")->u.a.items[3]->u.f));

    assert_int_equal(rf_artifact_read_header(p, &hi, &err), 0);
    assert_memory_equal(&wi, &hi, sizeof wi);
    size_t len;
    uint8_t *bytes = slurp(p, &len);
    assert_int_equal(len, RF_ART_HEADER_SIZE + wi.compressed_size);
    assert_true(rf_artifact_sniff(bytes, len));
    assert_false(rf_artifact_sniff(bytes, 7));
    assert_false(rf_artifact_sniff("RVFLARX", 8));

    rf_obj *back2 = NULL;
    assert_int_equal(rf_artifact_read_mem(bytes, len, NULL, &ri, &back2, &err), 0);
    assert_true(obj_equal(m, back2));
    assert_int_equal(count_files(), 1);   /* no temporary file left behind */
    free(bytes);
    rf_obj_free(back);
    rf_obj_free(back2);
    rf_obj_free(m);
}

static void roundtrip_mem(const rf_obj *o, const rf_codec_opts *opts)
{
    rf_err err = {0};
    const char *p = tpath("rt.rfa");
    rf_obj *back = NULL;
    assert_int_equal(rf_artifact_write(p, "", o, opts, NULL, &err), 0);
    if (rf_artifact_read(p, NULL, NULL, &back, &err) < 0)
        fail_msg("%s", err.msg);
    assert_true(obj_equal(o, back));
    rf_obj_free(back);
}

static void test_roundtrip_scalars(void **state)
{
    /* Every value type as the root, each dtype in several shapes. */
    rf_obj *roots[] = {rf_obj_nil(), rf_obj_bool(1), rf_obj_int(-5), rf_obj_float(1.5),
                       rf_obj_str("s"), rf_obj_bin("b", 1), rf_obj_array(), rf_obj_map()};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        roundtrip_mem(roots[i], NULL);
        rf_obj_free(roots[i]);
    }
    const int dt[] = {RF_F32, RF_F64, RF_I32, RF_I64, RF_U8};
    const uint64_t shapes[][3] = {{1, 1, 1}, {7, 1, 1}, {0, 3, 1}, {2, 3, 4}, {1000, 33, 1}};
    for (int i = 0; i < 5; i++)
        for (int s = 0; s < 5; s++)
            for (int nd = 0; nd <= 3; nd++) {
                rf_obj *t = tensor_filled(dt[i], nd, shapes[s], (unsigned)(i + s));
                roundtrip_mem(t, NULL);
                rf_obj_free(t);
            }
    /* A borrowed tensor encodes like an owned one. */
    double data[6] = {1, 2, 3, 4, 5, 6};
    rf_obj *w = rf_obj_tensor_wrap(RF_F64, 2, (uint64_t[]){2, 3}, data);
    roundtrip_mem(w, NULL);
    rf_obj_free(w);
    assert_true(data[5] == 6);
    /* Other levels and threads decode the same. */
    rf_codec_opts o = {.level = 19, .threads = 0};
    rf_obj *m = sample_tree();
    roundtrip_mem(m, &o);
    o.level = -5;
    roundtrip_mem(m, &o);
    rf_obj_free(m);
}

/* Resident set size in KiB: "VmRSS" now, or "VmHWM", the peak since the
 * last reset_peak(). -1 where /proc does not tell. */
static long rss_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static int reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static void test_big_tensor(void **state)
{
    uint64_t shape[2] = {4096, 4096};   /* 64 MiB of f32 */
    rf_obj *t = rf_obj_tensor_new(RF_F32, 2, shape);
    float *w = t->u.t.data;
    uint32_t x = 12345;
    for (size_t i = 0; i < 4096 * 4096; i++) {
        x = x * 1664525u + 1013904223u;
        w[i] = (float)(x >> 8) / 16777216.0f - 0.5f;
    }
    rf_obj *m = rf_obj_map();
    rf_obj_set(m, "w", t);
    rf_obj_set(m, "step", rf_obj_int(42));
    rf_err err = {0};
    rf_artifact_info info;
    const char *p = tpath("big.rfa");
    /* Streaming, measured: encoding adds next to nothing to the resident
     * set, decoding adds the tensor and little more, never a second copy. */
    int measure = reset_peak() == 0 && rss_kib("VmHWM") > 0;
    long base = rss_kib("VmRSS");
    assert_int_equal(rf_artifact_write(p, "ruvflow/weights", m, NULL, &info, &err), 0);
    long enc_growth = rss_kib("VmHWM") - base;
    assert_true(info.payload_size > 64u << 20);
    rf_obj *back = NULL;
    reset_peak();
    base = rss_kib("VmRSS");
    if (rf_artifact_read(p, NULL, NULL, &back, &err) < 0)
        fail_msg("%s", err.msg);
    long dec_growth = rss_kib("VmHWM") - base;
    if (measure) {
        print_message("peak RSS growth: encode %ld KiB, decode %ld KiB (tensor 65536 KiB)\n",
                      enc_growth, dec_growth);
        assert_true(enc_growth < 16 * 1024);
        assert_true(dec_growth < (64 + 16) * 1024);
    }
    rf_tensor *bt = rf_obj_get_tensor(back, "w", RF_F32);
    assert_non_null(bt);
    assert_memory_equal(bt->data, w, 64u << 20);
    rf_obj_free(back);
    rf_obj_free(m);
    unlink(p);
}

static void test_determinism(void **state)
{
    rf_obj *a = sample_tree(), *b = sample_tree();
    rf_artifact_info ia, ib;
    rf_err err = {0};
    assert_int_equal(rf_artifact_write(tpath("a.rfa"), "x", a, NULL, &ia, &err), 0);
    assert_int_equal(rf_artifact_write(tpath("b.rfa"), "x", b, NULL, &ib, &err), 0);
    assert_string_equal(ia.sha256_hex, ib.sha256_hex);
    size_t la, lb;
    uint8_t *pa = slurp(tpath("a.rfa"), &la), *pb = slurp(tpath("b.rfa"), &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(pa, pb, la);
    /* The content address is the payload's: level and content type do not
     * change it, a different value does. */
    rf_codec_opts o = {.level = 9};
    assert_int_equal(rf_artifact_write(tpath("c.rfa"), "y", a, &o, &ib, &err), 0);
    assert_string_equal(ia.sha256_hex, ib.sha256_hex);
    rf_obj_set(b, "extra", rf_obj_nil());
    assert_int_equal(rf_artifact_write(tpath("b.rfa"), "x", b, NULL, &ib, &err), 0);
    assert_string_not_equal(ia.sha256_hex, ib.sha256_hex);
    char key[72];
    rf_codec_cas_key(key, sizeof key, ia.sha256_hex);
    assert_int_equal(strlen(key), 71);
    assert_memory_equal(key, "cas/", 4);
    assert_memory_equal(key + 4, ia.sha256_hex, 2);
    assert_string_equal(key + 7, ia.sha256_hex);
    /* Overwriting is atomic and leaves one file per name. */
    assert_int_equal(count_files(), 3);
    free(pa);
    free(pb);
    rf_obj_free(a);
    rf_obj_free(b);
}

/* The hash-only pass gives what the writer records; fed tensors (data
 * NULL, bytes supplied in pieces) give the same, and a wrong count fails. */
typedef struct feed_src {
    const rf_obj *tree;     /* the same tree with its data */
    size_t piece;
    int short_by;
} feed_src;

/* The target-th tensor of the tree, in the encoder's walk order. */
static const rf_obj *tensor_at(const rf_obj *o, int *k, int target)
{
    if (o->type == RF_TENSOR)
        return (*k)++ == target ? o : NULL;
    const rf_obj *hit = NULL;
    if (o->type == RF_MAP)
        for (size_t i = 0; i < o->u.m.len && !hit; i++)
            hit = tensor_at(o->u.m.vals[i], k, target);
    if (o->type == RF_ARRAY)
        for (size_t i = 0; i < o->u.a.len && !hit; i++)
            hit = tensor_at(o->u.a.items[i], k, target);
    return hit;
}

static int feeds_seen;

static int feed_pieces(void *ud, const rf_obj *node, rf_payload_feed_ctx *f, rf_err *err)
{
    feed_src *s = ud;
    int k = 0;
    (void)node;
    const rf_obj *src = tensor_at(s->tree, &k, feeds_seen++);
    size_t bytes;
    assert_non_null(src);
    assert_int_equal(rf_tensor_bytes(src->u.t.dtype, src->u.t.ndim, src->u.t.shape, &bytes), 0);
    if (bytes >= (size_t)s->short_by)
        bytes -= (size_t)s->short_by;
    for (size_t off = 0; off < bytes; off += s->piece) {
        size_t n = bytes - off < s->piece ? bytes - off : s->piece;
        if (rf_payload_feed(f, (const uint8_t *)src->u.t.data + off, n) < 0)
            return -1;
    }
    return 0;
}

static void blank_tensors(rf_obj *o)
{
    if (o->type == RF_TENSOR) {
        if (o->u.t.owned)
            free(o->u.t.data);
        o->u.t.data = NULL;
        o->u.t.owned = 0;
    } else if (o->type == RF_MAP) {
        for (size_t i = 0; i < o->u.m.len; i++)
            blank_tensors(o->u.m.vals[i]);
    } else if (o->type == RF_ARRAY) {
        for (size_t i = 0; i < o->u.a.len; i++)
            blank_tensors(o->u.a.items[i]);
    }
}

static void test_payload_sha256(void **state)
{
    rf_obj *a = sample_tree(), *blank = sample_tree();
    blank_tensors(blank);
    rf_artifact_info ia;
    rf_err err = {0};
    assert_int_equal(rf_artifact_write(tpath("h.rfa"), "x", a, NULL, &ia, &err), 0);
    uint8_t sum[RF_SHA256_LEN];
    uint64_t size;
    assert_int_equal(rf_payload_sha256(a, &size, sum, &err), 0);
    assert_int_equal(size, ia.payload_size);
    assert_memory_equal(sum, ia.sha256, RF_SHA256_LEN);
    size_t pieces[] = {1, 7, 4096, 1u << 20};
    for (size_t i = 0; i < 4; i++) {
        feed_src s = {a, pieces[i], 0};
        feeds_seen = 0;
        memset(sum, 0, sizeof sum);
        assert_int_equal(rf_payload_sha256_fed(blank, feed_pieces, &s, &size, sum, &err), 0);
        assert_true(feeds_seen > 0);
        assert_int_equal(size, ia.payload_size);
        assert_memory_equal(sum, ia.sha256, RF_SHA256_LEN);
    }
    feed_src bad = {a, 4096, 1};
    feeds_seen = 0;
    assert_int_equal(rf_payload_sha256_fed(blank, feed_pieces, &bad, &size, sum, &err), -1);
    assert_int_equal(err.code, RF_ECORRUPT);
    rf_obj_free(a);
    rf_obj_free(blank);
}

/* ---- encoder refusals ---- */

static void test_write_errors(void **state)
{
    rf_err err = {0};
    rf_obj *m = rf_obj_map();
    assert_int_equal(rf_artifact_write(tpath("nodir/x.rfa"), "x", m, NULL, NULL, &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
    char longct[80];
    memset(longct, 'a', sizeof longct - 1);
    longct[79] = '\0';
    assert_int_equal(rf_artifact_write(tpath("x.rfa"), longct, m, NULL, NULL, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    assert_int_equal(rf_artifact_write(tpath("x.rfa"), "a\nb", m, NULL, NULL, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    rf_obj *t = rf_obj_tensor_new(RF_F32, 1, (uint64_t[]){4});
    t->u.t.dtype = 42;
    rf_obj_set(m, "bad", t);
    assert_int_equal(rf_artifact_write(tpath("x.rfa"), "x", m, NULL, NULL, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    assert_non_null(strstr(err.msg, "invalid tensor"));
    t->u.t.dtype = RF_F32;
    rf_codec_opts o = {.level = 3, .threads = -1};
    assert_int_equal(rf_artifact_write(tpath("x.rfa"), "x", m, &o, NULL, &err), -1);
    assert_int_equal(count_files(), 0);   /* nothing half-written is visible */
    rf_obj_free(m);
}

/* In a child whose file size limit is 256 KiB, write() fails like on a
 * full disk. Returns the number of the first failed check, 0 if all hold. */
static int disk_full_child(const char *path)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {256 << 10, 256 << 10};
    setrlimit(RLIMIT_FSIZE, &rl);
    rf_obj *m = rf_obj_map();
    uint64_t shape[1] = {1 << 20};
    rf_obj *t = rf_obj_tensor_new(RF_U8, 1, shape);
    uint32_t x = 1;
    for (size_t i = 0; i < shape[0]; i++, x = x * 1664525u + 1013904223u)
        ((uint8_t *)t->u.t.data)[i] = (uint8_t)(x >> 24);   /* incompressible */
    rf_obj_set(m, "w", t);
    rf_err err = {0};
    if (rf_artifact_write(path, "x", m, NULL, NULL, &err) != -1 || err.code != RF_EIO)
        return 1;
    if (!strstr(err.msg, "File too large") || !strstr(err.msg, path))
        return 2;
    rf_obj *old = NULL;
    if (rf_artifact_read(path, NULL, NULL, &old, &err) < 0 || old->type != RF_STR)
        return 3;
    rf_obj_free(old);
    rf_obj_free(m);
    return count_files() == 1 ? 0 : 4;
}

static void test_disk_full(void **state)
{
    const char *p = tpath("full.rfa");
    rf_obj *old = rf_obj_str("the old version");
    rf_err err = {0};
    assert_int_equal(rf_artifact_write(p, "x", old, NULL, NULL, &err), 0);
    rf_obj_free(old);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(disk_full_child(p));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Writers racing on one name while a reader reads it: every read sees one
 * complete artifact, and no temporary file survives. */
static void test_concurrent_writers(void **state)
{
    const char *p = tpath("race.rfa");
    rf_err err = {0};
    rf_obj *first = rf_obj_str("first");
    assert_int_equal(rf_artifact_write(p, "x", first, NULL, NULL, &err), 0);
    rf_obj_free(first);
    pid_t pids[2];
    for (int w = 0; w < 2; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            rf_obj *m = rf_obj_map();
            rf_obj_set(m, "writer", rf_obj_int(w));
            rf_obj_set(m, "w", tensor_filled(RF_F32, 1, (uint64_t[]){50000}, (unsigned)w));
            int bad = 0;
            for (int i = 0; i < 20; i++)
                bad |= rf_artifact_write(p, "x", m, NULL, NULL, &err) != 0;
            rf_obj_free(m);
            _exit(bad);
        }
    }
    int reads = 0, running = 2;
    while (running) {
        rf_obj *o = NULL;
        if (rf_artifact_read(p, NULL, NULL, &o, &err) < 0)
            fail_msg("read during writes: %s", err.msg);
        int64_t w;
        assert_true(o->type == RF_STR || (rf_obj_get_int(o, "writer", &w) == 0 && w >= 0 &&
                                          w <= 1));
        rf_obj_free(o);
        reads++;
        int status;
        for (int k = 0; k < 2; k++)
            if (pids[k] > 0 && waitpid(pids[k], &status, WNOHANG) == pids[k]) {
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                pids[k] = 0;
                running--;
            }
    }
    assert_true(reads > 0);
    assert_int_equal(count_files(), 1);
}

/* ---- corruption ---- */

static uint8_t *sample_bytes(size_t *len)
{
    rf_obj *m = rf_obj_map();
    rf_obj_set(m, "k", rf_obj_str("value"));
    rf_obj_set(m, "n", rf_obj_int(1234567));
    rf_obj_set(m, "w", tensor_filled(RF_F32, 2, (uint64_t[]){4, 8}, 1));
    rf_obj_set(m, "l", rf_obj_array());
    rf_obj_push(rf_obj_get(m, "l"), rf_obj_float(0.25));
    rf_err err = {0};
    assert_int_equal(rf_artifact_write(tpath("s.rfa"), "ruvflow/s", m, NULL, NULL, &err), 0);
    rf_obj_free(m);
    uint8_t *p = slurp(tpath("s.rfa"), len);
    unlink(tpath("s.rfa"));
    return p;
}

static void test_flip_every_byte(void **state)
{
    size_t len;
    uint8_t *good = sample_bytes(&len);
    uint8_t *a = malloc(len);
    rf_obj *ref = NULL;
    rf_err err = {0};
    assert_int_equal(rf_artifact_read_mem(good, len, NULL, NULL, &ref, &err), 0);
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(a, good, len);
            a[i] ^= (uint8_t)(1 << bit);
            rf_obj *o = NULL;
            int r = rf_artifact_read_mem(a, len, NULL, NULL, &o, &err);
            if (i >= 56 && i < 120 && r == 0) {
                /* The content type is a label outside the checksum: a
                 * flip to another printable character is still valid. */
                assert_true(obj_equal(o, ref));
            } else if (r == 0 || (err.code != RF_ECORRUPT && err.code != RF_ETOOBIG)) {
                fail_msg("byte %zu bit %d: r=%d %s %s", i, bit, r,
                         rf_code_name(err.code), err.msg);
            }
            rf_obj_free(o);
        }
    rf_obj_free(ref);
    free(a);
    free(good);
}

static void test_truncate_everywhere(void **state)
{
    size_t len;
    uint8_t *good = sample_bytes(&len);
    rf_err err = {0};
    for (size_t n = 0; n < len; n++) {
        rf_obj *o = NULL;
        assert_int_equal(rf_artifact_read_mem(good, n, NULL, NULL, &o, &err), -1);
        assert_int_equal(err.code, RF_ECORRUPT);
        assert_null(o);
    }
    /* Truncated files, and files whose header claims the truncated size:
     * the zstd frame itself is cut short. */
    for (size_t n = 0; n < len; n += 7) {
        spit(tpath("t.rfa"), good, n);
        rf_obj *o = NULL;
        assert_int_equal(rf_artifact_read(tpath("t.rfa"), NULL, NULL, &o, &err), -1);
        assert_int_equal(err.code, RF_ECORRUPT);
        if (n > RF_ART_HEADER_SIZE) {
            uint8_t *cut = malloc(n);
            memcpy(cut, good, n);
            for (int i = 0; i < 8; i++)
                cut[120 + i] = (uint8_t)((uint64_t)(n - RF_ART_HEADER_SIZE) >> (8 * i));
            assert_int_equal(rf_artifact_read_mem(cut, n, NULL, NULL, &o, &err), -1);
            assert_int_equal(err.code, RF_ECORRUPT);
            spit(tpath("t.rfa"), cut, n);
            assert_int_equal(rf_artifact_read(tpath("t.rfa"), NULL, NULL, &o, &err), -1);
            assert_int_equal(err.code, RF_ECORRUPT);
            free(cut);
        }
    }
    unlink(tpath("t.rfa"));
    free(good);
}

static void set_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void expect_mem_error(const uint8_t *a, size_t len, int code, const char *what)
{
    rf_err err = {0};
    rf_obj *o = NULL;
    assert_int_equal(rf_artifact_read_mem(a, len, NULL, NULL, &o, &err), -1);
    assert_null(o);
    if (err.code != code || !strstr(err.msg, what))
        fail_msg("want %s containing \"%s\", got %s: %s", rf_code_name(code), what,
                 rf_code_name(err.code), err.msg);
}

static void test_bad_headers(void **state)
{
    size_t len;
    uint8_t *good = sample_bytes(&len);
    uint8_t *a = malloc(len + 16);
    struct {
        size_t off;
        uint8_t val;
        const char *what;
    } cases[] = {
        {0, 'X', "bad magic"},
        {7, '!', "bad magic"},
        {8, 2, "version 2"},
        {10, 2, "codec 2"},
        {12, 1, "flags"},
        {56 + 20, 'x', "NUL-padded"},
        {56, 0x01, "printable"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(a, good, len);
        a[cases[i].off] = cases[i].val;
        expect_mem_error(a, len, RF_ECORRUPT, cases[i].what);
    }
    /* Forged sizes. */
    uint64_t psize = 0, csize = len - RF_ART_HEADER_SIZE;
    for (int i = 0; i < 8; i++)
        psize |= (uint64_t)good[16 + i] << (8 * i);
    memcpy(a, good, len);
    set_le64(a + 16, psize + 1);
    expect_mem_error(a, len, RF_ECORRUPT, "content size");
    set_le64(a + 16, psize - 1);
    expect_mem_error(a, len, RF_ECORRUPT, "content size");
    set_le64(a + 16, 0);
    expect_mem_error(a, len, RF_ECORRUPT, "payload size is 0");
    set_le64(a + 16, 1ULL << 62);
    expect_mem_error(a, len, RF_ETOOBIG, "exceeds");
    memcpy(a, good, len);
    set_le64(a + 120, csize + 1);
    expect_mem_error(a, len, RF_ECORRUPT, "header says");
    set_le64(a + 120, UINT64_MAX);
    expect_mem_error(a, len, RF_ECORRUPT, "impossible");
    /* Checksum mismatch. */
    memcpy(a, good, len);
    a[24] ^= 0x80;
    expect_mem_error(a, len, RF_ECORRUPT, "checksum mismatch");
    /* Trailing garbage, in memory and in a file. */
    memcpy(a, good, len);
    memset(a + len, 0, 16);
    expect_mem_error(a, len + 16, RF_ECORRUPT, "header says");
    set_le64(a + 120, csize + 16);
    expect_mem_error(a, len + 16, RF_ECORRUPT, "trailing bytes");
    spit(tpath("g.rfa"), a, len + 16);
    rf_err err = {0};
    rf_obj *o = NULL;
    assert_int_equal(rf_artifact_read(tpath("g.rfa"), NULL, NULL, &o, &err), -1);
    assert_non_null(strstr(err.msg, "trailing bytes"));
    assert_non_null(strstr(err.msg, "g.rfa"));
    rf_artifact_info hi;
    assert_int_equal(rf_artifact_read_header(tpath("g.rfa"), &hi, &err), 0);
    spit(tpath("g.rfa"), "hello", 5);
    assert_int_equal(rf_artifact_read_header(tpath("g.rfa"), &hi, &err), -1);
    assert_int_equal(err.code, RF_ECORRUPT);
    assert_int_equal(rf_artifact_read_header(tpath("missing.rfa"), &hi, &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
    unlink(tpath("g.rfa"));
    free(a);
    free(good);
}

static void test_crafted_payloads(void **state)
{
    /* A valid crafted payload first, so the failures below mean something. */
    rf_err err = {0};
    assert_int_equal(read_crafted("\x81\xa1k\x01", 4, NULL, &err), 0);

    expect_corrupt("\xc1", 1, RF_ECORRUPT, "0xc1");
    expect_corrupt("\xc0\xc0", 2, RF_ECORRUPT, "after the payload value");
    expect_corrupt("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9, RF_ECORRUPT, "out of range");
    expect_corrupt("\xcd\x01", 2, RF_ECORRUPT, "past the end");
    expect_corrupt("\xdd\xff\xff\xff\xff\xc0", 6, RF_ECORRUPT, "cannot fit");
    expect_corrupt("\xdf\x7f\xff\xff\xff\xc0\xc0", 7, RF_ECORRUPT, "cannot fit");
    expect_corrupt("\xdb\xff\xff\xff\xf0xx", 7, RF_ECORRUPT, "past the end");
    expect_corrupt("\xc6\x00\x00\x00\x09xx", 7, RF_ECORRUPT, "past the end");
    expect_corrupt("\x81\x01\xc0", 3, RF_ECORRUPT, "not a string");
    expect_corrupt("\x81\xa3k\x00y\xc0", 6, RF_ECORRUPT, "NUL byte");
    expect_corrupt("\xd4\x05\x00", 3, RF_ECORRUPT, "ext type 5");
    /* Tensors: ext type 1 = dtype, ndim, flags(2), shape (u64le), data. */
    expect_corrupt("\xc7\x03\x01\x01\x00\x00", 6, RF_ECORRUPT, "too short");
    expect_corrupt("\xc7\x05\x01\x09\x00\x00\x00\x00", 8, RF_ECORRUPT, "dtype 9");
    expect_corrupt("\xc7\x05\x01\x00\x00\x00\x00\x00", 8, RF_ECORRUPT, "dtype 0");
    expect_corrupt("\xc7\x04\x01\x05\x09\x00\x00", 7, RF_ECORRUPT, "dimensions");
    expect_corrupt("\xc7\x04\x01\x05\x00\x01\x00", 7, RF_ECORRUPT, "flags");
    expect_corrupt("\xc7\x04\x01\x05\x01\x00\x00", 7, RF_ECORRUPT, "too short for 1");
    /* u8 [3] with 2 data bytes; f32 [1] with 1; u8 [2^63] with 2 */
    expect_corrupt("\xc7\x0e\x01\x05\x01\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x01\x02",
                   17, RF_ECORRUPT, "does not match");
    expect_corrupt("\xc7\x0d\x01\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01",
                   16, RF_ECORRUPT, "does not match");
    expect_corrupt("\xc7\x0e\x01\x05\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x01\x02",
                   17, RF_ECORRUPT, "does not match");
    /* ... and one that is right: u8 [2] = {7, 9}. */
    size_t len;
    uint8_t *a = craft("\xc7\x0e\x01\x05\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x07\x09",
                       17, &len);
    rf_obj *o = NULL;
    assert_int_equal(rf_artifact_read_mem(a, len, NULL, NULL, &o, &err), 0);
    assert_int_equal(o->type, RF_TENSOR);
    assert_int_equal(((uint8_t *)o->u.t.data)[1], 9);
    rf_obj_free(o);
    free(a);
    /* Duplicate keys: the last one wins, as with rf_obj_set. */
    a = craft("\x82\xa1k\x01\xa1k\x02", 7, &len);
    assert_int_equal(rf_artifact_read_mem(a, len, NULL, NULL, &o, &err), 0);
    int64_t v;
    assert_int_equal(rf_obj_get_int(o, "k", &v), 0);
    assert_int_equal(v, 2);
    rf_obj_free(o);
    free(a);
    /* Float32 and every integer width decode. */
    a = craft("\x94\xca\x3f\xc0\x00\x00\xd0\x80\xd1\x80\x00\xce\xff\xff\xff\xff", 16, &len);
    assert_int_equal(rf_artifact_read_mem(a, len, NULL, NULL, &o, &err), 0);
    assert_true(o->u.a.items[0]->u.f == 1.5);
    assert_int_equal(o->u.a.items[1]->u.i, -128);
    assert_int_equal(o->u.a.items[2]->u.i, -32768);
    assert_int_equal(o->u.a.items[3]->u.i, 4294967295LL);
    rf_obj_free(o);
    free(a);
}

static void test_nesting_bomb(void **state)
{
    /* 100000 nested one-element arrays around a nil. */
    size_t n = 100000;
    uint8_t *p = malloc(n + 1);
    memset(p, 0x91, n);
    p[n] = 0xc0;
    expect_corrupt(p, n + 1, RF_ETOOBIG, "nesting deeper than 64");
    /* Just under the limit decodes; over a raised limit is still capped. */
    rf_codec_limits lim;
    rf_codec_limits_default(&lim);
    rf_err err = {0};
    assert_int_equal(read_crafted(p + n - 64, 65, &lim, &err), 0);
    assert_int_equal(read_crafted(p + n - 65, 66, &lim, &err), -1);
    lim.max_depth = UINT32_MAX;
    assert_int_equal(read_crafted(p, n + 1, &lim, &err), -1);
    assert_int_equal(err.code, RF_ETOOBIG);
    /* Nested maps too. */
    for (size_t i = 0; i < n / 3; i++)
        memcpy(p + 3 * i, "\x81\xa1k", 3);
    p[n / 3 * 3] = 0xc0;
    expect_corrupt(p, n / 3 * 3 + 1, RF_ETOOBIG, "nesting deeper");
    free(p);
}

static void test_limits(void **state)
{
    rf_obj *m = rf_obj_map();
    rf_obj *a = rf_obj_array();
    for (int i = 0; i < 100; i++)
        rf_obj_push(a, rf_obj_int(i));
    rf_obj_set(m, "a", a);
    rf_obj *deep = rf_obj_array(), *cur = deep;
    for (int i = 0; i < 9; i++) {
        rf_obj *next = rf_obj_array();
        rf_obj_push(cur, next);
        cur = next;
    }
    rf_obj_set(m, "deep", deep);   /* depth 11 counting the root map */
    rf_err err = {0};
    rf_artifact_info info;
    const char *p = tpath("lim.rfa");
    assert_int_equal(rf_artifact_write(p, "x", m, NULL, &info, &err), 0);
    rf_codec_limits lim;
    rf_obj *o = NULL;

    rf_codec_limits_default(&lim);
    lim.max_payload = info.payload_size;
    assert_int_equal(rf_artifact_read(p, &lim, NULL, &o, &err), 0);
    rf_obj_free(o);
    lim.max_payload = info.payload_size - 1;
    assert_int_equal(rf_artifact_read(p, &lim, NULL, &o, &err), -1);
    assert_int_equal(err.code, RF_ETOOBIG);
    assert_int_equal(rf_err_exit_status(&err), 4);

    rf_codec_limits_default(&lim);
    lim.max_depth = 11;
    assert_int_equal(rf_artifact_read(p, &lim, NULL, &o, &err), 0);
    rf_obj_free(o);
    lim.max_depth = 10;
    assert_int_equal(rf_artifact_read(p, &lim, NULL, &o, &err), -1);
    assert_int_equal(err.code, RF_ETOOBIG);

    rf_codec_limits_default(&lim);
    lim.max_items = 2 + 100 + 9;   /* root map, array, nested arrays */
    assert_int_equal(rf_artifact_read(p, &lim, NULL, &o, &err), 0);
    rf_obj_free(o);
    lim.max_items--;
    assert_int_equal(rf_artifact_read(p, &lim, NULL, &o, &err), -1);
    assert_int_equal(err.code, RF_ETOOBIG);
    assert_non_null(strstr(err.msg, "entries"));
    assert_null(o);
    rf_obj_free(m);
    unlink(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_obj_api),
        cmocka_unit_test_setup_teardown(test_roundtrip_file, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_roundtrip_scalars, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_big_tensor, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_determinism, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_payload_sha256, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_write_errors, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_disk_full, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_flip_every_byte, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_truncate_everywhere, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_bad_headers, setup_dir, teardown_dir),
        cmocka_unit_test(test_crafted_payloads),
        cmocka_unit_test(test_nesting_bomb),
        cmocka_unit_test_setup_teardown(test_limits, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
