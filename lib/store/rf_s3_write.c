/* rf_s3_write: the write operations. A file is one signed PUT below the
 * multipart threshold, else a multipart upload; the streaming writer keeps
 * one part in memory, sends it as a single PUT at commit if it is all there
 * is, else starts an upload with the first full part. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "base/rf_hash.h"
#include "store/rf_s3_impl.h"

static int hash_fd(int fd, uint64_t size, char hex[RF_SHA256_HEX], rf_err *err)
{
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        return rf_errf(err, RF_ENOMEM, "out of memory");
    rf_sha256_ctx *h = rf_sha256_new();
    uint64_t off = 0;
    int rc = 0;
    while (off < size) {
        size_t want = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
        ssize_t got = pread(fd, buf, want, (off_t)off);
        if (got <= 0) {
            rc = got < 0 ? rf_err_errno(err, "read") : rf_errf(err, RF_EIO, "short read");
            break;
        }
        rf_sha256_update(h, buf, (size_t)got);
        off += (uint64_t)got;
    }
    uint8_t sum[RF_SHA256_LEN];
    rf_sha256_final(h, sum);
    rf_sha256_free(h);
    free(buf);
    rf_hex(hex, sum, RF_SHA256_LEN);
    return rc;
}

int rf_s3_put_file(rf_store *st, const char *key, const char *path,
                   const rf_put_opts *o, rf_err *err)
{
    s3_store *s = impl(st);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rf_err_errno(err, "%s", path);
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        rf_err_errno(err, "%s", path);
        close(fd);
        return -1;
    }
    uint64_t size = (uint64_t)sb.st_size;
    int rc;
    if (size >= rf_s3_client_conf(s->cl)->multipart_threshold) {
        rc = rf_s3_put_multipart_fd(s, key, fd, size, o, err);
    } else {
        char hex[RF_SHA256_HEX];
        rc = hash_fd(fd, size, hex, err);
        if (rc == 0) {
            char *fk = rf_s3_full_key(s, key);
            rf_s3_req rq;
            rf_s3_resp resp;
            rf_s3_req_init(&rq, "PUT", fk);
            rf_s3_put_headers(&rq, o);
            rq.fd = fd;
            rq.body_len = size;
            rq.body_sha256 = hex;
            rc = rf_s3_do(s->cl, &rq, &resp, err);
            rf_s3_resp_free(&resp);
            free(fk);
        }
    }
    close(fd);
    return rc;
}

/* The generic writer header comes first: rf_store's dispatch reaches the
 * backend's ops through it. */
typedef struct s3_writer {
    rf_store_writer base;
    char *key;
    rf_put_opts opts;       /* strings owned */
    uint8_t *buf;           /* one part */
    size_t len, cap;
    rf_s3_mpu m;            /* upload_id set once the first part is sent */
    int failed;
} s3_writer;

static void writer_free(s3_writer *w)
{
    rf_s3_mpu_free(&w->m);
    free(w->key);
    free((char *)w->opts.storage_class);
    free((char *)w->opts.content_type);
    free(w->buf);
    free(w);
}

int rf_s3_writer_open(rf_store *st, const char *key, const rf_put_opts *o,
                      rf_store_writer **out, rf_err *err)
{
    s3_store *s = impl(st);
    s3_writer *w = rf_xcalloc(1, sizeof *w);
    w->base.store = st;
    w->key = rf_xstrdup(key);
    if (o && o->storage_class)
        w->opts.storage_class = rf_xstrdup(o->storage_class);
    if (o && o->content_type)
        w->opts.content_type = rf_xstrdup(o->content_type);
    w->cap = (size_t)rf_s3_part_size_for(s, 0);
    w->buf = malloc(w->cap);
    if (!w->buf) {
        size_t cap = w->cap;
        writer_free(w);
        return rf_errf(err, RF_ENOMEM, "s3: no memory for a %zu-byte part buffer", cap);
    }
    *out = &w->base;
    return 0;
}

static int writer_flush_part(s3_writer *w, rf_err *err)
{
    s3_store *s = impl(w->base.store);
    if (!w->m.upload_id && rf_s3_mpu_begin(s, w->key, &w->opts, &w->m, err) < 0)
        return -1;
    if (rf_s3_mpu_part(&w->m, w->buf, w->len, err) < 0)
        return -1;
    w->len = 0;
    return 0;
}

int rf_s3_writer_write(rf_store_writer *bw, const void *p, size_t n, rf_err *err)
{
    s3_writer *w = (s3_writer *)bw;
    if (w->failed)
        return rf_errf(err, RF_EINVAL, "s3 write %s: the writer already failed", w->key);
    const uint8_t *src = p;
    while (n) {
        size_t take = w->cap - w->len < n ? w->cap - w->len : n;
        memcpy(w->buf + w->len, src, take);
        w->len += take, src += take, n -= take;
        if (w->len == w->cap && writer_flush_part(w, err) < 0) {
            w->failed = 1;
            rf_s3_mpu_abort(&w->m, err);
            return -1;
        }
    }
    return 0;
}

/* Commit releases the writer, whether it succeeds or not. */
int rf_s3_writer_commit(rf_store_writer *bw, rf_err *err)
{
    s3_writer *w = (s3_writer *)bw;
    s3_store *s = impl(w->base.store);
    int rc = 0;
    if (w->failed) {
        rc = rf_errf(err, RF_EINVAL, "s3 commit %s: the writer already failed", w->key);
    } else if (!w->m.upload_id) {
        char *fk = rf_s3_full_key(s, w->key);
        rf_s3_req rq;
        rf_s3_resp resp;
        rf_s3_req_init(&rq, "PUT", fk);
        rf_s3_put_headers(&rq, &w->opts);
        rq.body = w->buf;
        rq.body_len = w->len;
        rc = rf_s3_do(s->cl, &rq, &resp, err);
        rf_s3_resp_free(&resp);
        free(fk);
    } else {
        if (w->len)
            rc = writer_flush_part(w, err);
        if (rc == 0)
            rc = rf_s3_mpu_complete(&w->m, err);
        if (rc < 0)
            rf_s3_mpu_abort(&w->m, err);
    }
    writer_free(w);
    return rc;
}

void rf_s3_writer_abort(rf_store_writer *bw)
{
    s3_writer *w = (s3_writer *)bw;
    if (!w)
        return;
    rf_s3_mpu_abort(&w->m, NULL);
    writer_free(w);
}

