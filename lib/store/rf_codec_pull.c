/* rf_codec_pull: the bounded pull reader under the decoder.
 *
 * The decoder does not use msgpack-c's unpacker, because that unpacker
 * hands out an object only once all of its bytes sit in its own buffer: a
 * 2 GiB tensor would live there and again in our tree, and the unpacker
 * would size that buffer from lengths it has not verified. Here a small
 * pull reader decompresses 128 KiB at a time into a window the parser
 * reads from (rf_codec_need); a tensor body is decompressed directly into
 * its final allocation (rf_codec_copy). Every length is checked against
 * what remains of the declared payload (rf_codec_remaining) before anything
 * is allocated, so a forged size cannot make us allocate more than the
 * (capped) payload could hold. All that is produced is hashed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/rf_codec_impl.h"

int rf_codec_fail(dec *d, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rf_errf(d->err, code, "%s (at payload byte %llu)", msg,
                   (unsigned long long)d->consumed);
}

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
        return rf_codec_fail(d, RF_ECORRUPT, "file shrank while being read");
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
            return rf_codec_fail(d, RF_ECORRUPT, "zstd: %s", ZSTD_getErrorName(r));
        d->in_pos = in.pos;
        size_t got = out->pos - before;
        if (got > d->declared - d->produced)
            return rf_codec_fail(d, RF_ECORRUPT, "payload longer than its declared %llu bytes",
                                 (unsigned long long)d->declared);
        rf_sha256_update(d->sha, (uint8_t *)out->dst + before, got);
        d->produced += got;
        d->frame_done = r == 0;
        if (eof && !got && !d->frame_done)
            return rf_codec_fail(d, RF_ECORRUPT, "truncated zstd frame");
    }
    return 0;
}

/* Point *p at the next n (<= TENSOR_HDR_MAX) bytes of payload. */
int rf_codec_need(dec *d, size_t n, const uint8_t **p)
{
    if (n > rf_codec_remaining(d))
        return rf_codec_fail(d, RF_ECORRUPT, "value runs past the end of the payload");
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
            return rf_codec_fail(d, RF_ECORRUPT, "payload shorter than its declared size");
    }
    *p = d->win + d->win_pos;
    d->win_pos += n;
    d->consumed += n;
    return 0;
}

/* Copy the next n payload bytes into dst: the window's leftover first,
 * then straight from zstd into dst. Callers check n against
 * rf_codec_remaining before allocating dst. */
int rf_codec_copy(dec *d, void *dst, size_t n)
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
        return rf_codec_fail(d, RF_ECORRUPT, "payload shorter than its declared size");
    d->consumed += n - k;
    return 0;
}

int rf_codec_uint(dec *d, int nbytes, uint64_t *v)
{
    const uint8_t *p;
    if (rf_codec_need(d, (size_t)nbytes, &p) < 0)
        return -1;
    *v = get_be(p, nbytes);
    return 0;
}

/* After the value: the payload and the zstd frame must both end, with no
 * input left over, and the hash must match. */
int rf_codec_pull_finish(dec *d, const rf_artifact_info *info)
{
    if (d->consumed != d->declared)
        return rf_codec_fail(d, RF_ECORRUPT, "%llu bytes after the payload value",
                             (unsigned long long)(d->declared - d->consumed));
    uint8_t extra;
    ZSTD_outBuffer out = {&extra, 1, 0};
    if (dec_zstd(d, &out) < 0)
        return -1;
    if (out.pos)
        return rf_codec_fail(d, RF_ECORRUPT, "payload longer than its declared size");
    int eof;
    if (dec_input(d, &eof) < 0)
        return -1;
    if (!eof)
        return rf_codec_fail(d, RF_ECORRUPT, "trailing bytes after the zstd frame");
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

int rf_codec_pull_open(dec *d, const rf_artifact_info *info, const rf_codec_limits *lim)
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
    return dec_check_frame(d);
}

void rf_codec_pull_free(dec *d)
{
    ZSTD_freeDCtx(d->dctx);
    rf_sha256_free(d->sha);
    free(d->win);
    free(d->inbuf);
}

