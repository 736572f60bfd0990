/* rf_codec: the artifact container; see rf_codec.h and docs/artifacts.md.
 *
 * This file holds the 128-byte header (packing, validation), the defaults,
 * and the read entry points, which check the header and the file's size
 * before the decoder (rf_codec_dec.c over rf_codec_pull.c) sees a byte of
 * payload. The encoder is rf_codec_enc.c; tensors are rf_codec_tensor.c. */
#include "store/rf_codec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/rf_codec_impl.h"

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

/* ---- the header ---- */

void rf_codec_header_pack(uint8_t h[RF_ART_HEADER_SIZE], const rf_artifact_info *in)
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

int rf_codec_ctype_valid(const char *s, size_t n)
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
    if (!rf_codec_ctype_valid(ct, ctlen))
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

/* ---- reading ---- */

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
    int r = rf_codec_decode(&d, &hi, limits_or_default(lim, &def), out);
    rf_codec_pull_free(&d);
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
    int r = d.inbuf ? rf_codec_decode(&d, &hi, limits_or_default(lim, &def), out)
                    : rf_errf(err, RF_ENOMEM, "out of memory");
    rf_codec_pull_free(&d);
    close(fd);
    if (r < 0)
        return rf_err_prefix(err, "%s", path);
    if (info)
        *info = hi;
    return 0;
}
