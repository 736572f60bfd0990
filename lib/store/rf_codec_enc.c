/* rf_codec_enc: the artifact encoder (rf_artifact_write).
 *
 * Encoding uses msgpack-c's packer. Its write callback (enc_write) hashes
 * the bytes and feeds one zstd stream; small writes are staged so zstd sees
 * large inputs, tensor data goes from the caller's buffer straight into
 * zstd. The tree is walked twice: a sizing pass that touches no tensor data
 * gives the exact payload size, which zstd records in the frame header
 * (and uses to pick a window no larger than the payload). The file is
 * written beside its final path and renamed over it once complete.
 * rf_payload_sha256(_fed) runs the same pass hashing only: no zstd, no
 * file, and tensors without data fed by the caller (the checkpoint
 * repository's blocks), so a payload is checked without being assembled. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "store/rf_codec_impl.h"

/* Writes below this size are staged; larger ones go straight to zstd. */
#define STAGE_SIZE (128 * 1024)
/* Tensor data is hashed and compressed in slices this big, so the bytes
 * SHA-256 just read are still in cache when zstd reads them. */
#define SLICE_SIZE (256 * 1024)
#define WRITEBACK_SIZE (8 * 1024 * 1024)

typedef struct enc {
    int counting;            /* sizing pass: count bytes, touch nothing */
    int hash_only;           /* hash the msgpack bytes, no zstd, no file */
    rf_tensor_feed_fn feed;  /* hash_only: bytes of tensors without data */
    void *feed_ud;
    msgpack_packer *pk;
    uint64_t fed;            /* bytes fed for the current tensor */
    uint64_t total;          /* msgpack bytes produced */
    ZSTD_CCtx *cctx;
    rf_sha256_ctx *sha;
    int fd;
    uint64_t compressed;     /* bytes written after the header */
    uint64_t synced;         /* file offset up to which writeback started */
    uint8_t *stage;
    size_t stage_len;
    uint8_t *out;
    size_t out_cap;
    rf_err *err;
} enc;

static int write_all(int fd, const uint8_t *p, size_t n, rf_err *err)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return rf_err_errno(err, "write");
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Write n bytes of e->out. Every WRITEBACK_SIZE bytes, start the kernel's
 * writeback of what came before, so that the final fsync finds most of the
 * file already on disk instead of waiting for all of it. */
static int enc_output(enc *e, size_t n)
{
    if (write_all(e->fd, e->out, n, e->err) < 0)
        return -1;
    e->compressed += n;
    uint64_t end = RF_ART_HEADER_SIZE + e->compressed;
    if (end - e->synced >= WRITEBACK_SIZE) {
        /* Advisory, like posix_fadvise: fsync reports real failures. */
        (void)sync_file_range(e->fd, (off_t)e->synced, (off_t)(end - e->synced),
                              SYNC_FILE_RANGE_WRITE);
        e->synced = end;
    }
    return 0;
}

/* Run zstd on in (mode continue or end) and write what it produces. */
static int enc_zstd(enc *e, ZSTD_inBuffer *in, ZSTD_EndDirective mode)
{
    for (;;) {
        ZSTD_outBuffer out = {e->out, e->out_cap, 0};
        size_t r = ZSTD_compressStream2(e->cctx, &out, in, mode);
        if (ZSTD_isError(r))
            return rf_errf(e->err, RF_EIO, "zstd: %s", ZSTD_getErrorName(r));
        if (out.pos && enc_output(e, out.pos) < 0)
            return -1;
        if (mode == ZSTD_e_end ? r == 0 : in->pos == in->size)
            return 0;
    }
}

static int enc_feed(enc *e, const uint8_t *p, size_t n)
{
    while (n) {
        size_t k = n < SLICE_SIZE ? n : SLICE_SIZE;
        rf_sha256_update(e->sha, p, k);
        if (e->hash_only) {
            p += k;
            n -= k;
            continue;
        }
        ZSTD_inBuffer in = {p, k, 0};
        if (enc_zstd(e, &in, ZSTD_e_continue) < 0)
            return -1;
        p += k;
        n -= k;
    }
    return 0;
}

static int enc_flush_stage(enc *e)
{
    int r = enc_feed(e, e->stage, e->stage_len);
    e->stage_len = 0;
    return r;
}

/* msgpack_packer_write: returns 0 or -1 (error in e->err). */
static int enc_write(void *ud, const char *buf, size_t len)
{
    enc *e = ud;
    e->total += len;
    if (e->counting || len == 0)
        return 0;
    if (e->stage_len + len > STAGE_SIZE && enc_flush_stage(e) < 0)
        return -1;
    if (len >= STAGE_SIZE)
        return enc_feed(e, (const uint8_t *)buf, len);
    memcpy(e->stage + e->stage_len, buf, len);
    e->stage_len += len;
    return 0;
}

static int enc_value(enc *e, msgpack_packer *pk, const rf_obj *o, int depth);

static int enc_bytes(enc *e, msgpack_packer *pk, const rf_obj *o)
{
    if (o->u.s.len > UINT32_MAX)
        return rf_errf(e->err, RF_ETOOBIG, "string or bin of %zu bytes (max 4 GiB)",
                       o->u.s.len);
    if (o->type == RF_STR)
        return msgpack_pack_str_with_body(pk, o->u.s.p, o->u.s.len);
    return msgpack_pack_bin_with_body(pk, o->u.s.p, o->u.s.len);
}

static int enc_array(enc *e, msgpack_packer *pk, const rf_obj *o, int depth)
{
    if (o->u.a.len > UINT32_MAX)
        return rf_errf(e->err, RF_ETOOBIG, "array of %zu items", o->u.a.len);
    if (msgpack_pack_array(pk, o->u.a.len) < 0)
        return -1;
    for (size_t i = 0; i < o->u.a.len; i++)
        if (enc_value(e, pk, o->u.a.items[i], depth + 1) < 0)
            return -1;
    return 0;
}

static int enc_map(enc *e, msgpack_packer *pk, const rf_obj *o, int depth)
{
    if (o->u.m.len > UINT32_MAX)
        return rf_errf(e->err, RF_ETOOBIG, "map of %zu entries", o->u.m.len);
    if (msgpack_pack_map(pk, o->u.m.len) < 0)
        return -1;
    for (size_t i = 0; i < o->u.m.len; i++) {
        const char *k = o->u.m.keys[i];
        if (msgpack_pack_str_with_body(pk, k, strlen(k)) < 0 ||
            enc_value(e, pk, o->u.m.vals[i], depth + 1) < 0)
            return -1;
    }
    return 0;
}

struct rf_payload_feed_ctx {
    enc e;
};

int rf_payload_feed(rf_payload_feed_ctx *f, const void *p, size_t n)
{
    f->e.fed += n;
    return msgpack_pack_ext_body(f->e.pk, p, n);
}

/* A tensor without data, its bytes fed by e->feed. */
static int enc_fed_tensor(enc *e, msgpack_packer *pk, const rf_obj *o)
{
    size_t bytes;
    if (rf_codec_pack_tensor_head(pk, &o->u.t, &bytes, e->err) < 0)
        return -1;
    e->pk = pk;
    e->fed = 0;
    if (e->feed(e->feed_ud, o, (rf_payload_feed_ctx *)e, e->err) < 0)
        return -1;
    if (e->fed != bytes)
        return rf_errf(e->err, RF_ECORRUPT, "tensor of %zu bytes got %llu", bytes,
                       (unsigned long long)e->fed);
    return 0;
}

static int enc_value(enc *e, msgpack_packer *pk, const rf_obj *o, int depth)
{
    if (!o)
        return rf_errf(e->err, RF_EINVAL, "NULL value in payload tree");
    if ((o->type == RF_ARRAY || o->type == RF_MAP) && depth >= DEPTH_HARD_MAX)
        return rf_errf(e->err, RF_EINVAL, "payload nested deeper than %d (a cycle?)",
                       DEPTH_HARD_MAX);
    switch (o->type) {
    case RF_NIL: return msgpack_pack_nil(pk);
    case RF_BOOL: return o->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    case RF_INT: return msgpack_pack_int64(pk, o->u.i);
    case RF_FLOAT: return msgpack_pack_double(pk, o->u.f);
    case RF_STR: case RF_BIN: return enc_bytes(e, pk, o);
    case RF_ARRAY: return enc_array(e, pk, o, depth);
    case RF_MAP: return enc_map(e, pk, o, depth);
    case RF_TENSOR:
        if (e->feed && !o->u.t.data)
            return enc_fed_tensor(e, pk, o);
        return rf_codec_pack_tensor(pk, &o->u.t, e->err);
    default: return rf_errf(e->err, RF_EINVAL, "unknown value type %d", o->type);
    }
}

/* One pass over the tree; the packer reports failures as -1 from our
 * callback, after the callback has filled e->err. */
static int enc_pass(enc *e, const rf_obj *payload)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, e, enc_write);
    e->total = 0;
    rf_err_clear(e->err);
    if (enc_value(e, &pk, payload, 0) < 0) {
        if (e->err && !e->err->code)
            rf_errf(e->err, RF_EIO, "msgpack encoding failed");
        return -1;
    }
    return 0;
}

static int enc_stream(enc *e, const rf_obj *payload, const rf_codec_opts *o,
                      uint64_t size, uint8_t sha[RF_SHA256_LEN])
{
    e->cctx = ZSTD_createCCtx();
    e->sha = rf_sha256_new();
    e->out_cap = ZSTD_CStreamOutSize();
    e->out = malloc(e->out_cap);
    e->stage = malloc(STAGE_SIZE);
    if (!e->cctx || !e->out || !e->stage)
        return rf_errf(e->err, RF_ENOMEM, "out of memory for the zstd stream");
    size_t r = ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_compressionLevel, o->level);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_nbWorkers, o->threads);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setPledgedSrcSize(e->cctx, size);
    if (ZSTD_isError(r))
        return rf_errf(e->err, RF_EINVAL, "zstd level %d threads %d: %s", o->level,
                       o->threads, ZSTD_getErrorName(r));
    e->counting = 0;
    if (enc_pass(e, payload) < 0 || enc_flush_stage(e) < 0)
        return -1;
    if (e->total != size)
        return rf_errf(e->err, RF_EINVAL, "payload changed while being written");
    ZSTD_inBuffer in = {NULL, 0, 0};
    if (enc_zstd(e, &in, ZSTD_e_end) < 0)
        return -1;
    rf_sha256_final(e->sha, sha);
    return 0;
}

static void enc_free(enc *e)
{
    ZSTD_freeCCtx(e->cctx);
    rf_sha256_free(e->sha);
    free(e->out);
    free(e->stage);
}

/* Create a fresh temporary file beside path (same file system, so rename
 * is atomic); *tmp is malloc'd. Mode 0666 & ~umask, like any new file. */
static int tmp_create(const char *path, char **tmp, rf_err *err)
{
    size_t n = strlen(path) + 64;
    char *name = rf_xmalloc(n);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (unsigned i = 0; i < 100; i++) {
        snprintf(name, n, "%s.tmp.%ld.%lx%u", path, (long)getpid(),
                 (unsigned long)ts.tv_nsec, i);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            *tmp = name;
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    rf_err_errno(err, "create temporary file %s", name);
    free(name);
    return -1;
}

static int fsync_dir(const char *path, rf_err *err)
{
    char *copy = rf_xstrdup(path);
    char *slash = strrchr(copy, '/');
    const char *dir = ".";
    if (slash == copy)
        dir = "/";
    else if (slash) {
        *slash = '\0';
        dir = copy;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = 0;
    if (fd < 0 || fsync(fd) < 0)
        r = rf_err_errno(err, "fsync directory of %s", path);
    if (fd >= 0)
        close(fd);
    free(copy);
    return r;
}

/* Finish the temporary file fd (r: 0 if its payload is complete): header
 * at offset 0, fsync, close, rename over path, fsync the directory. On any
 * failure the temporary file is removed and nothing changes at path. */
static int tmp_commit(int fd, int r, const char *tmp, const char *path,
                      const rf_artifact_info *hi, rf_err *err)
{
    uint8_t h[RF_ART_HEADER_SIZE];
    if (r == 0) {
        rf_codec_header_pack(h, hi);
        if (pwrite(fd, h, sizeof h, 0) != (ssize_t)sizeof h || fsync(fd) < 0)
            r = rf_err_errno(err, "write %s", tmp);
    }
    if (close(fd) < 0 && r == 0)
        r = rf_err_errno(err, "close %s", tmp);
    if (r == 0 && rename(tmp, path) < 0)
        r = rf_err_errno(err, "rename %s", tmp);
    if (r < 0) {
        unlink(tmp);
        return -1;
    }
    return fsync_dir(path, err);
}

int rf_payload_sha256(const rf_obj *payload, uint64_t *size, uint8_t sha[RF_SHA256_LEN],
                      rf_err *err)
{
    return rf_payload_sha256_fed(payload, NULL, NULL, size, sha, err);
}

int rf_payload_sha256_fed(const rf_obj *payload, rf_tensor_feed_fn fn, void *ud,
                          uint64_t *size, uint8_t sha[RF_SHA256_LEN], rf_err *err)
{
    enc e = {.hash_only = 1, .fd = -1, .err = err, .feed = fn, .feed_ud = ud};
    e.sha = rf_sha256_new();
    e.stage = malloc(STAGE_SIZE);
    int r = e.sha && e.stage ? 0 : rf_errf(err, RF_ENOMEM, "payload hash: out of memory");
    if (r == 0)
        r = enc_pass(&e, payload);
    if (r == 0)
        r = enc_flush_stage(&e);
    if (r == 0) {
        rf_sha256_final(e.sha, sha);
        *size = e.total;
    }
    enc_free(&e);
    return r < 0 ? rf_err_prefix(err, "payload hash") : 0;
}

int rf_artifact_write(const char *path, const char *content_type,
                      const rf_obj *payload, const rf_codec_opts *opts,
                      rf_artifact_info *info, rf_err *err)
{
    rf_codec_opts defopts;
    if (!opts) {
        rf_codec_opts_default(&defopts);
        opts = &defopts;
    }
    if (opts->level < ZSTD_minCLevel() || opts->level > ZSTD_maxCLevel() ||
        opts->threads < 0)
        return rf_errf(err, RF_EINVAL, "write %s: bad zstd level %d or threads %d",
                       path, opts->level, opts->threads);
    size_t ctlen = content_type ? strlen(content_type) : 0;
    if (ctlen > RF_ART_CTYPE_MAX || !rf_codec_ctype_valid(content_type ? content_type : "", ctlen))
        return rf_errf(err, RF_EINVAL, "write %s: content type must be <= %d printable "
                       "ASCII characters", path, RF_ART_CTYPE_MAX);

    rf_artifact_info hi = {.version = RF_ART_VERSION, .codec = 1};
    memcpy(hi.content_type, content_type ? content_type : "", ctlen);
    enc e = {.counting = 1, .fd = -1, .err = err};
    if (enc_pass(&e, payload) < 0)
        return rf_err_prefix(err, "write %s", path);
    hi.payload_size = e.total;

    char *tmp = NULL;
    e.fd = tmp_create(path, &tmp, err);
    if (e.fd < 0)
        return rf_err_prefix(err, "write %s", path);
    /* A zeroed placeholder: until the real header lands, the file is not
     * an artifact (bad magic), whoever might look at it. */
    uint8_t zero[RF_ART_HEADER_SIZE] = {0};
    int r = write_all(e.fd, zero, sizeof zero, err);
    if (r == 0)
        r = enc_stream(&e, payload, opts, hi.payload_size, hi.sha256);
    if (r == 0) {
        hi.compressed_size = e.compressed;
        rf_hex(hi.sha256_hex, hi.sha256, RF_SHA256_LEN);
    }
    r = tmp_commit(e.fd, r, tmp, path, &hi, err);
    enc_free(&e);
    free(tmp);
    if (r < 0)
        return rf_err_prefix(err, "write %s", path);
    if (info)
        *info = hi;
    return 0;
}

