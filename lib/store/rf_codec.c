/* rf_codec: artifact encoder and decoder; see rf_codec.h and docs/artifacts.md.
 *
 * Encoding uses msgpack-c's packer. Its write callback (enc_write) hashes
 * the bytes and feeds one zstd stream; small writes are staged so zstd sees
 * large inputs, tensor data goes from the caller's buffer straight into
 * zstd. The tree is walked twice: a sizing pass that touches no tensor data
 * gives the exact payload size, which zstd records in the frame header
 * (and uses to pick a window no larger than the payload).
 *
 * Decoding is hand-written instead of using msgpack-c's unpacker, because
 * that unpacker hands out an object only once all of its bytes sit in its
 * own buffer: a 2 GiB tensor would live there and again in our tree, and
 * the unpacker would size that buffer from lengths it has not verified.
 * Here a small pull reader decompresses 128 KiB at a time into a window
 * and parses msgpack from it; a tensor body is decompressed directly into
 * its final allocation. Every length is checked against what remains of
 * the declared payload before anything is allocated, so a forged size
 * cannot make us allocate more than the (capped) payload could hold. */
#include "store/rf_codec.h"

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "base/rf_buf.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "rf_codec streams tensor data as stored in memory: little-endian hosts only"
#endif

/* msgpack ext type of a tensor. Body: u8 dtype, u8 ndim, u16 flags (0),
 * ndim x u64le shape, then the row-major little-endian data. */
#define RF_EXT_TENSOR 1
#define TENSOR_HDR_FIXED 4
#define TENSOR_HDR_MAX (TENSOR_HDR_FIXED + 8 * RF_TENSOR_MAXDIM)

/* Recursion bound for both directions, whatever the limits say: the
 * encoder and decoder recurse once per nesting level. */
#define DEPTH_HARD_MAX 1024

/* Writes below this size are staged; larger ones go straight to zstd. */
#define STAGE_SIZE (128 * 1024)
/* Tensor data is hashed and compressed in slices this big, so the bytes
 * SHA-256 just read are still in cache when zstd reads them. */
#define SLICE_SIZE (256 * 1024)
#define READ_SIZE (256 * 1024)
#define WRITEBACK_SIZE (8 * 1024 * 1024)

void rf_codec_limits_default(rf_codec_limits *l)
{
    l->max_payload = 16ULL << 30;
    l->max_depth = 64;
    l->max_items = 1ULL << 28;
}

void rf_codec_opts_default(rf_codec_opts *o)
{
    o->level = 3;
    o->threads = 0;
}

/* ---- little-endian header fields ---- */

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void header_pack(uint8_t h[RF_ART_HEADER_SIZE], const rf_artifact_info *in)
{
    memset(h, 0, RF_ART_HEADER_SIZE);
    memcpy(h, RF_ART_MAGIC, sizeof RF_ART_MAGIC);
    put_le(h + 8, (uint64_t)in->version, 2);
    put_le(h + 10, (uint64_t)in->codec, 2);
    put_le(h + 16, in->payload_size, 8);
    memcpy(h + 24, in->sha256, RF_SHA256_LEN);
    memcpy(h + 56, in->content_type, strlen(in->content_type));
    put_le(h + 120, in->compressed_size, 8);
}

static int ctype_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

/* Validate a header on its own (no limits, no payload). */
static int header_parse(const uint8_t *h, rf_artifact_info *info, rf_err *err)
{
    if (!rf_artifact_sniff(h, RF_ART_HEADER_SIZE))
        return rf_errf(err, RF_ECORRUPT, "not an artifact (bad magic)");
    memset(info, 0, sizeof *info);
    info->version = (int)get_le(h + 8, 2);
    info->codec = (int)get_le(h + 10, 2);
    if (info->version != RF_ART_VERSION)
        return rf_errf(err, RF_ECORRUPT, "unsupported artifact format version %d",
                       info->version);
    if (info->codec != 1)
        return rf_errf(err, RF_ECORRUPT, "unknown artifact codec %d", info->codec);
    if (get_le(h + 12, 4) != 0)
        return rf_errf(err, RF_ECORRUPT, "unknown artifact flags 0x%x",
                       (unsigned)get_le(h + 12, 4));
    info->payload_size = get_le(h + 16, 8);
    memcpy(info->sha256, h + 24, RF_SHA256_LEN);
    rf_hex(info->sha256_hex, info->sha256, RF_SHA256_LEN);
    const char *ct = (const char *)h + 56;
    size_t ctlen = strnlen(ct, RF_ART_CTYPE_MAX);
    for (size_t i = ctlen; i < RF_ART_CTYPE_MAX; i++)
        if (ct[i])
            return rf_errf(err, RF_ECORRUPT, "content type is not NUL-padded");
    if (!ctype_valid(ct, ctlen))
        return rf_errf(err, RF_ECORRUPT, "content type is not printable ASCII");
    memcpy(info->content_type, ct, ctlen);
    info->compressed_size = get_le(h + 120, 8);
    /* Every msgpack value takes at least one byte, and zstd never expands
     * input beyond its bound: anything else is a forged size. */
    if (info->payload_size == 0)
        return rf_errf(err, RF_ECORRUPT, "payload size is 0");
    if (info->payload_size <= SIZE_MAX / 2 &&
        info->compressed_size > ZSTD_compressBound((size_t)info->payload_size))
        return rf_errf(err, RF_ECORRUPT,
                       "compressed size %llu is impossible for payload size %llu",
                       (unsigned long long)info->compressed_size,
                       (unsigned long long)info->payload_size);
    return 0;
}

int rf_artifact_sniff(const void *data, size_t len)
{
    return len >= sizeof RF_ART_MAGIC && !memcmp(data, RF_ART_MAGIC, sizeof RF_ART_MAGIC);
}

void rf_codec_cas_key(char *out, size_t n, const char *sha256_hex)
{
    snprintf(out, n, "cas/%.2s/%s", sha256_hex, sha256_hex);
}

/* ---- encoder ---- */

typedef struct enc {
    int counting;            /* sizing pass: count bytes, touch nothing */
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

static int enc_tensor(enc *e, msgpack_packer *pk, const rf_tensor *t)
{
    size_t bytes;
    if (rf_tensor_bytes(t->dtype, t->ndim, t->shape, &bytes) < 0)
        return rf_errf(e->err, RF_EINVAL, "invalid tensor (dtype %d, ndim %d)",
                       t->dtype, t->ndim);
    if (bytes && !t->data)
        return rf_errf(e->err, RF_EINVAL, "tensor without data");
    uint8_t hdr[TENSOR_HDR_MAX] = {(uint8_t)t->dtype, (uint8_t)t->ndim, 0, 0};
    size_t hlen = TENSOR_HDR_FIXED;
    for (int d = 0; d < t->ndim; d++, hlen += 8)
        put_le(hdr + hlen, t->shape[d], 8);
    if (bytes > UINT32_MAX - hlen)
        return rf_errf(e->err, RF_ETOOBIG,
                       "tensor of %zu bytes: one tensor must stay under 4 GiB", bytes);
    if (msgpack_pack_ext(pk, hlen + bytes, RF_EXT_TENSOR) < 0 ||
        msgpack_pack_ext_body(pk, hdr, hlen) < 0 ||
        msgpack_pack_ext_body(pk, t->data, bytes) < 0)
        return -1;
    return 0;
}

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
    case RF_TENSOR: return enc_tensor(e, pk, &o->u.t);
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
        header_pack(h, hi);
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
    if (ctlen > RF_ART_CTYPE_MAX || !ctype_valid(content_type ? content_type : "", ctlen))
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

/* ---- decoder ---- */

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

static int dec_fail(dec *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int dec_fail(dec *d, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rf_errf(d->err, code, "%s (at payload byte %llu)", msg,
                   (unsigned long long)d->consumed);
}

static uint64_t dec_remaining(const dec *d) { return d->declared - d->consumed; }

/* Make compressed input available, or set *eof when there is none left. */
static int dec_input(dec *d, int *eof)
{
    *eof = 0;
    if (d->in_pos < d->in_len)
        return 0;
    if (d->fd < 0 || d->in_left == 0) {
        *eof = 1;
        return 0;
    }
    size_t want = d->in_left < READ_SIZE ? (size_t)d->in_left : READ_SIZE;
    ssize_t r;
    do
        r = read(d->fd, d->inbuf, want);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return rf_err_errno(d->err, "read");
    if (r == 0)
        return dec_fail(d, RF_ECORRUPT, "file shrank while being read");
    d->in = d->inbuf;
    d->in_pos = 0;
    d->in_len = (size_t)r;
    d->in_left -= (uint64_t)r;
    return 0;
}

/* Decompress into out until it is full or the frame ends; hashes what it
 * produces. Fails on truncated input and on output beyond the declared size. */
static int dec_zstd(dec *d, ZSTD_outBuffer *out)
{
    while (out->pos < out->size && !d->frame_done) {
        int eof;
        if (dec_input(d, &eof) < 0)
            return -1;
        /* At end of input zstd may still hold decoded bytes: let it flush. */
        ZSTD_inBuffer in = {d->in, d->in_len, d->in_pos};
        size_t before = out->pos;
        size_t r = ZSTD_decompressStream(d->dctx, out, &in);
        if (ZSTD_isError(r))
            return dec_fail(d, RF_ECORRUPT, "zstd: %s", ZSTD_getErrorName(r));
        d->in_pos = in.pos;
        size_t got = out->pos - before;
        if (got > d->declared - d->produced)
            return dec_fail(d, RF_ECORRUPT, "payload longer than its declared %llu bytes",
                            (unsigned long long)d->declared);
        rf_sha256_update(d->sha, (uint8_t *)out->dst + before, got);
        d->produced += got;
        d->frame_done = r == 0;
        if (eof && !got && !d->frame_done)
            return dec_fail(d, RF_ECORRUPT, "truncated zstd frame");
    }
    return 0;
}

/* Point *p at the next n (<= TENSOR_HDR_MAX) bytes of payload. */
static int dec_need(dec *d, size_t n, const uint8_t **p)
{
    if (n > dec_remaining(d))
        return dec_fail(d, RF_ECORRUPT, "value runs past the end of the payload");
    if (d->win_len - d->win_pos < n) {
        memmove(d->win, d->win + d->win_pos, d->win_len - d->win_pos);
        d->win_len -= d->win_pos;
        d->win_pos = 0;
        uint64_t ahead = d->declared - d->produced;
        size_t room = d->win_cap - d->win_len;
        ZSTD_outBuffer out = {d->win, d->win_len + (ahead < room ? (size_t)ahead : room),
                              d->win_len};
        if (dec_zstd(d, &out) < 0)
            return -1;
        d->win_len = out.pos;
        if (d->win_len < n)
            return dec_fail(d, RF_ECORRUPT, "payload shorter than its declared size");
    }
    *p = d->win + d->win_pos;
    d->win_pos += n;
    d->consumed += n;
    return 0;
}

/* Copy the next n payload bytes into dst: the window's leftover first,
 * then straight from zstd into dst. Callers check n against
 * dec_remaining before allocating dst. */
static int dec_copy(dec *d, void *dst, size_t n)
{
    size_t have = d->win_len - d->win_pos;
    size_t k = have < n ? have : n;
    memcpy(dst, d->win + d->win_pos, k);
    d->win_pos += k;
    d->consumed += k;
    if (k == n)
        return 0;
    ZSTD_outBuffer out = {dst, n, k};
    if (dec_zstd(d, &out) < 0)
        return -1;
    if (out.pos < n)
        return dec_fail(d, RF_ECORRUPT, "payload shorter than its declared size");
    d->consumed += n - k;
    return 0;
}

static int dec_uint(dec *d, int nbytes, uint64_t *v)
{
    const uint8_t *p;
    if (dec_need(d, (size_t)nbytes, &p) < 0)
        return -1;
    *v = get_be(p, nbytes);
    return 0;
}

static int dec_value(dec *d, uint32_t depth, rf_obj **out);

/* A str or bin body of len bytes, NUL-terminated in memory. */
static int dec_bytes(dec *d, int type, uint64_t len, rf_obj **out)
{
    if (len > dec_remaining(d))
        return dec_fail(d, RF_ECORRUPT, "%s of %llu bytes runs past the end of the payload",
                        type == RF_STR ? "string" : "bin", (unsigned long long)len);
    if (len >= SIZE_MAX)   /* only possible where size_t is 32-bit */
        return dec_fail(d, RF_ETOOBIG, "%llu bytes do not fit in memory",
                        (unsigned long long)len);
    char *p = malloc((size_t)len + 1);
    if (!p)
        return rf_errf(d->err, RF_ENOMEM, "out of memory for %llu bytes",
                       (unsigned long long)len);
    if (dec_copy(d, p, (size_t)len) < 0) {
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
        return dec_fail(d, RF_ETOOBIG, "nesting deeper than %u levels", d->max_depth);
    if (n > dec_remaining(d) / min_bytes)
        return dec_fail(d, RF_ECORRUPT, "%llu entries cannot fit in the rest of the payload",
                        (unsigned long long)n);
    d->items += n;
    if (d->items > d->lim->max_items)
        return dec_fail(d, RF_ETOOBIG, "more than %llu array/map entries",
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
    if (dec_need(d, 1, &p) < 0)
        return -1;
    uint8_t b = p[0];
    if ((b & 0xe0) == 0xa0)
        len = b & 0x1f;
    else if (b >= 0xd9 && b <= 0xdb) {
        if (dec_uint(d, 1 << (b - 0xd9), &len) < 0)
            return -1;
    } else
        return dec_fail(d, RF_ECORRUPT, "map key is not a string (byte 0x%02x)", b);
    rf_obj *s;
    if (dec_bytes(d, RF_STR, len, &s) < 0)
        return -1;
    if (strlen(s->u.s.p) != len) {
        rf_obj_free(s);
        return dec_fail(d, RF_ECORRUPT, "map key contains a NUL byte");
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

static int dec_tensor(dec *d, uint64_t len, rf_obj **out)
{
    const uint8_t *p;
    if (len < TENSOR_HDR_FIXED)
        return dec_fail(d, RF_ECORRUPT, "tensor ext of %llu bytes is too short",
                        (unsigned long long)len);
    if (dec_need(d, TENSOR_HDR_FIXED, &p) < 0)
        return -1;
    int dtype = p[0], ndim = p[1];
    if (!rf_dtype_size(dtype))
        return dec_fail(d, RF_ECORRUPT, "invalid tensor dtype %d", dtype);
    if (ndim > RF_TENSOR_MAXDIM)
        return dec_fail(d, RF_ECORRUPT, "tensor has %d dimensions (max %d)", ndim,
                        RF_TENSOR_MAXDIM);
    if (p[2] || p[3])
        return dec_fail(d, RF_ECORRUPT, "unknown tensor flags");
    uint64_t hlen = TENSOR_HDR_FIXED + 8 * (uint64_t)ndim;
    if (len < hlen)
        return dec_fail(d, RF_ECORRUPT, "tensor ext too short for %d dimensions", ndim);
    uint64_t shape[RF_TENSOR_MAXDIM];
    if (ndim && dec_need(d, 8 * (size_t)ndim, &p) < 0)
        return -1;
    for (int i = 0; i < ndim; i++)
        shape[i] = get_le(p + 8 * i, 8);
    size_t bytes;
    if (rf_tensor_bytes(dtype, ndim, shape, &bytes) < 0 || bytes != len - hlen)
        return dec_fail(d, RF_ECORRUPT, "tensor data of %llu bytes does not match "
                        "its %s shape", (unsigned long long)(len - hlen),
                        rf_dtype_name(dtype));
    rf_obj *t = rf_obj_tensor_alloc(dtype, ndim, shape);
    if (!t)
        return rf_errf(d->err, RF_ENOMEM, "out of memory for a tensor of %zu bytes",
                       bytes);
    if (dec_copy(d, t->u.t.data, bytes) < 0) {
        rf_obj_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

static int dec_ext(dec *d, uint64_t len, rf_obj **out)
{
    const uint8_t *p;
    if (dec_need(d, 1, &p) < 0)
        return -1;
    int type = (int8_t)p[0];
    if (type != RF_EXT_TENSOR)
        return dec_fail(d, RF_ECORRUPT, "unknown msgpack ext type %d", type);
    if (len > dec_remaining(d))
        return dec_fail(d, RF_ECORRUPT, "ext of %llu bytes runs past the end of the payload",
                        (unsigned long long)len);
    return dec_tensor(d, len, out);
}

/* 0xcc..0xcf: uint 8..64; 0xd0..0xd3: int 8..64. */
static int dec_int(dec *d, uint8_t b, rf_obj **out)
{
    uint64_t v;
    int nbytes = 1 << ((b - 0xcc) & 3);
    if (dec_uint(d, nbytes, &v) < 0)
        return -1;
    if (b <= 0xcf) {
        if (v > INT64_MAX)
            return dec_fail(d, RF_ECORRUPT, "integer %llu out of range",
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
    if (dec_uint(d, dbl ? 8 : 4, &v) < 0)
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
    if (dec_need(d, 1, &p) < 0)
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
        return dec_uint(d, 1 << (b - 0xc4), &n) < 0 ? -1 : dec_bytes(d, RF_BIN, n, out);
    case 0xc7: case 0xc8: case 0xc9:
        return dec_uint(d, 1 << (b - 0xc7), &n) < 0 ? -1 : dec_ext(d, n, out);
    case 0xd9: case 0xda: case 0xdb:
        return dec_uint(d, 1 << (b - 0xd9), &n) < 0 ? -1 : dec_bytes(d, RF_STR, n, out);
    case 0xdc: case 0xdd:
        return dec_uint(d, 2 << (b - 0xdc), &n) < 0 ? -1 : dec_array(d, n, depth, out);
    case 0xde: case 0xdf:
        return dec_uint(d, 2 << (b - 0xde), &n) < 0 ? -1 : dec_map(d, n, depth, out);
    default:   /* 0xc1, the one byte msgpack never uses */
        return dec_fail(d, RF_ECORRUPT, "invalid msgpack byte 0x%02x", b);
    }
}

/* After the value: the payload and the zstd frame must both end, with no
 * input left over, and the hash must match. */
static int dec_finish(dec *d, const rf_artifact_info *info)
{
    if (d->consumed != d->declared)
        return dec_fail(d, RF_ECORRUPT, "%llu bytes after the payload value",
                        (unsigned long long)(d->declared - d->consumed));
    uint8_t extra;
    ZSTD_outBuffer out = {&extra, 1, 0};
    if (dec_zstd(d, &out) < 0)
        return -1;
    if (out.pos)
        return dec_fail(d, RF_ECORRUPT, "payload longer than its declared size");
    int eof;
    if (dec_input(d, &eof) < 0)
        return -1;
    if (!eof)
        return dec_fail(d, RF_ECORRUPT, "trailing bytes after the zstd frame");
    uint8_t sha[RF_SHA256_LEN];
    rf_sha256_final(d->sha, sha);
    if (memcmp(sha, info->sha256, RF_SHA256_LEN)) {
        char hex[RF_SHA256_HEX];
        rf_hex(hex, sha, RF_SHA256_LEN);
        return rf_errf(d->err, RF_ECORRUPT, "checksum mismatch: header says %s, "
                       "payload hashes to %s", info->sha256_hex, hex);
    }
    return 0;
}

/* The frame must declare its content size, equal to the header's: zstd
 * then sizes its buffers by it, and a forged header is caught up front. */
static int dec_check_frame(dec *d)
{
    int eof;
    if (dec_input(d, &eof) < 0)
        return -1;
    unsigned long long fcs = ZSTD_CONTENTSIZE_ERROR;
    if (!eof)
        fcs = ZSTD_getFrameContentSize(d->in + d->in_pos, d->in_len - d->in_pos);
    if (fcs == ZSTD_CONTENTSIZE_ERROR)
        return rf_errf(d->err, RF_ECORRUPT, "bad or truncated zstd frame header");
    if (fcs != d->declared)
        return rf_errf(d->err, RF_ECORRUPT,
                       "zstd frame content size does not match the header's %llu bytes",
                       (unsigned long long)d->declared);
    return 0;
}

static int dec_run(dec *d, const rf_artifact_info *info, const rf_codec_limits *lim,
                   rf_obj **out)
{
    if (info->payload_size > lim->max_payload)
        return rf_errf(d->err, RF_ETOOBIG, "payload of %llu bytes exceeds the %llu-byte limit",
                       (unsigned long long)info->payload_size,
                       (unsigned long long)lim->max_payload);
    d->declared = info->payload_size;
    d->lim = lim;
    d->max_depth = lim->max_depth < DEPTH_HARD_MAX ? lim->max_depth : DEPTH_HARD_MAX;
    d->dctx = ZSTD_createDCtx();
    d->win_cap = ZSTD_DStreamOutSize();
    d->win = malloc(d->win_cap);
    d->sha = rf_sha256_new();
    if (!d->dctx || !d->win)
        return rf_errf(d->err, RF_ENOMEM, "out of memory for the zstd stream");
    /* zstd's own buffers: min(window, frame content size), and the window
     * at most 2^27 (what levels up to 22 use), whatever a frame asks for. */
    size_t r = ZSTD_DCtx_setParameter(d->dctx, ZSTD_d_windowLogMax, 27);
    if (ZSTD_isError(r))
        return rf_errf(d->err, RF_EIO, "zstd: %s", ZSTD_getErrorName(r));
    if (dec_check_frame(d) < 0)
        return -1;
    rf_obj *root = NULL;
    if (dec_value(d, 0, &root) < 0)
        return -1;
    if (dec_finish(d, info) < 0) {
        rf_obj_free(root);
        return -1;
    }
    *out = root;
    return 0;
}

static void dec_free(dec *d)
{
    ZSTD_freeDCtx(d->dctx);
    rf_sha256_free(d->sha);
    free(d->win);
    free(d->inbuf);
}

static const rf_codec_limits *limits_or_default(const rf_codec_limits *lim,
                                                rf_codec_limits *def)
{
    if (lim)
        return lim;
    rf_codec_limits_default(def);
    return def;
}

int rf_artifact_read_mem(const void *data, size_t len, const rf_codec_limits *lim,
                         rf_artifact_info *info, rf_obj **out, rf_err *err)
{
    rf_codec_limits def;
    rf_artifact_info hi;
    *out = NULL;
    if (len < RF_ART_HEADER_SIZE)
        return rf_errf(err, RF_ECORRUPT, "artifact of %zu bytes is shorter than its header",
                       len);
    if (header_parse(data, &hi, err) < 0)
        return -1;
    if (hi.compressed_size != len - RF_ART_HEADER_SIZE)
        return rf_errf(err, RF_ECORRUPT, "artifact is %zu bytes, header says %llu",
                       len, (unsigned long long)(hi.compressed_size + RF_ART_HEADER_SIZE));
    dec d = {.fd = -1, .in = (const uint8_t *)data + RF_ART_HEADER_SIZE,
             .in_len = len - RF_ART_HEADER_SIZE, .err = err};
    int r = dec_run(&d, &hi, limits_or_default(lim, &def), out);
    dec_free(&d);
    if (r == 0 && info)
        *info = hi;
    return r;
}

static int read_full(int fd, uint8_t *p, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = read(fd, p + *got, n - *got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -1 : 0;
        *got += (size_t)r;
    }
    return 0;
}

/* Open path and validate its header and size against the file. */
static int open_artifact(const char *path, rf_artifact_info *info, rf_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rf_err_errno(err, "open %s", path);
    uint8_t h[RF_ART_HEADER_SIZE];
    size_t got;
    struct stat st;
    if (read_full(fd, h, sizeof h, &got) < 0 || fstat(fd, &st) < 0) {
        rf_err_errno(err, "read %s", path);
        goto fail;
    }
    if (got < sizeof h) {
        rf_errf(err, RF_ECORRUPT, "%s: %zu bytes is shorter than an artifact header",
                path, got);
        goto fail;
    }
    if (header_parse(h, info, err) < 0) {
        rf_err_prefix(err, "%s", path);
        goto fail;
    }
    if ((uint64_t)st.st_size - RF_ART_HEADER_SIZE != info->compressed_size) {
        rf_errf(err, RF_ECORRUPT, "%s: file is %llu bytes, header says %llu", path,
                (unsigned long long)st.st_size,
                (unsigned long long)(info->compressed_size + RF_ART_HEADER_SIZE));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

int rf_artifact_read_header(const char *path, rf_artifact_info *info, rf_err *err)
{
    int fd = open_artifact(path, info, err);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

int rf_artifact_read(const char *path, const rf_codec_limits *lim,
                     rf_artifact_info *info, rf_obj **out, rf_err *err)
{
    rf_codec_limits def;
    rf_artifact_info hi;
    *out = NULL;
    int fd = open_artifact(path, &hi, err);
    if (fd < 0)
        return -1;
    /* Advisory: doubles read-ahead on a cold cache; failure costs nothing. */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    dec d = {.fd = fd, .in_left = hi.compressed_size, .err = err};
    d.inbuf = malloc(READ_SIZE);
    int r = d.inbuf ? dec_run(&d, &hi, limits_or_default(lim, &def), out)
                    : rf_errf(err, RF_ENOMEM, "out of memory");
    dec_free(&d);
    close(fd);
    if (r < 0)
        return rf_err_prefix(err, "%s", path);
    if (info)
        *info = hi;
    return 0;
}
