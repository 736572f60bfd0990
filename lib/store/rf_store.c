/* rf_store: the backend-independent half of the object store -- opening by
 * URL, key validation, URL splitting, and the helpers every backend gets
 * for free (put from memory, atomic get to a file, exists, batch delete
 * fallback, cross-store transfer). See rf_store.h. */
#include "store/rf_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RF_KEY_MAX 1024
#define RF_KEY_SEGMENT_MAX 255
#define RF_COPY_CHUNK (1u << 20)

int rf_store_open(const char *url, const rf_config *cfg, rf_store **out, rf_err *err)
{
    *out = NULL;
    if (!url || !*url)
        return rf_errf(err, RF_EINVAL, "empty store URL");
    if (!strncmp(url, "file://", 7))
        return rf_store_file_open(url, out, err);
    if (!strncmp(url, "s3://", 5))
        return rf_store_s3_open(url, cfg, out, err);
    return rf_errf(err, RF_EINVAL,
                   "%s: unsupported store URL (expected file:///abs/dir or s3://bucket/prefix)",
                   url);
}

void rf_store_close(rf_store *s)
{
    if (s)
        s->ops->close(s);
}

/* The first n bytes of p are '/'-separated real names: no empty, "." or
 * ".." segment, none over RF_KEY_SEGMENT_MAX bytes (what a file system
 * names; S3 would take it, so both backends refuse it alike), no control
 * character. what names p in messages. */
static int segments_valid(const char *what, const char *p, size_t n, rf_err *err)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f)
            return rf_errf(err, RF_EINVAL, "invalid %s \"%.80s\": control character 0x%02x",
                           what, p, c);
    }
    for (size_t start = 0; start <= n;) {
        const char *end = memchr(p + start, '/', n - start);
        size_t len = end ? (size_t)(end - (p + start)) : n - start;
        const char *seg = p + start;
        if (len == 0)
            return rf_errf(err, RF_EINVAL, "invalid %s \"%.80s\": empty path segment", what, p);
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return rf_errf(err, RF_EINVAL, "invalid %s \"%.80s\": \".\" or \"..\" segment",
                           what, p);
        if (len > RF_KEY_SEGMENT_MAX)
            return rf_errf(err, RF_EINVAL, "invalid %s \"%.80s...\": a segment of %zu bytes "
                           "(at most %d)", what, p, len, RF_KEY_SEGMENT_MAX);
        start += len + 1;
    }
    return 0;
}

int rf_store_key_valid(const char *key, rf_err *err)
{
    if (!key || !*key)
        return rf_errf(err, RF_EINVAL, "invalid key: empty");
    size_t n = strlen(key);
    if (n > RF_KEY_MAX)
        return rf_errf(err, RF_EINVAL, "invalid key: %zu bytes (at most %d)", n, RF_KEY_MAX);
    if (key[0] == '/')
        return rf_errf(err, RF_EINVAL, "invalid key \"%.80s\": absolute", key);
    return segments_valid("key", key, n, err);
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = rf_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int rf_store_split_url(const char *url, char **store_url, char **key, rf_err *err)
{
    *store_url = *key = NULL;
    if (!url)
        return rf_errf(err, RF_EINVAL, "empty URL");
    if (!strncmp(url, "s3://", 5)) {
        const char *b = url + 5;
        const char *slash = strchr(b, '/');
        size_t blen = slash ? (size_t)(slash - b) : strlen(b);
        if (blen == 0)
            return rf_errf(err, RF_EINVAL, "%s: missing bucket name", url);
        *store_url = xstrndup(url, 5 + blen);
        *key = rf_xstrdup(slash ? slash + 1 : "");
        return 0;
    }
    if (!strncmp(url, "file://", 7)) {
        const char *path = url + 7;
        if (path[0] != '/')
            return rf_errf(err, RF_EINVAL,
                           "%s: file URLs need an absolute path (file:///dir/key)", url);
        /* Refuse "..", "." and "//" anywhere, as an S3 key would: a URL
         * names one object, it is not a path to normalize. */
        size_t pl = strlen(path + 1);
        if (pl > 0 && path[pl] == '/')
            pl--;
        if (pl > 0 && segments_valid("URL", path + 1, pl, NULL))
            return rf_errf(err, RF_EINVAL,
                           "%s: invalid URL: \"..\", \".\", empty segments and control "
                           "characters are not allowed", url);
        const char *last = strrchr(path, '/');
        /* The root of "file:///k" is "/" itself. */
        size_t rootlen = last == path ? 1 : (size_t)(last - path);
        *store_url = rf_xmalloc(7 + rootlen + 1);
        memcpy(*store_url, "file://", 7);
        memcpy(*store_url + 7, path, rootlen);
        (*store_url)[7 + rootlen] = '\0';
        *key = rf_xstrdup(last + 1);
        return 0;
    }
    return rf_errf(err, RF_EINVAL, "%s: unsupported URL (expected file:///... or s3://...)",
                   url);
}

/* ---- writes ---- */


int rf_store_writer_open(rf_store *s, const char *key, const rf_put_opts *o,
                         rf_store_writer **w, rf_err *err)
{
    *w = NULL;
    if (rf_store_key_valid(key, err))
        return -1;
    return s->ops->writer_open(s, key, o, w, err);
}

int rf_store_writer_write(rf_store_writer *w, const void *p, size_t n, rf_err *err)
{
    if (n == 0)
        return 0;
    return w->store->ops->writer_write(w, p, n, err);
}

int rf_store_writer_commit(rf_store_writer *w, rf_err *err)
{
    return w->store->ops->writer_commit(w, err);
}

void rf_store_writer_abort(rf_store_writer *w)
{
    if (w)
        w->store->ops->writer_abort(w);
}

int rf_store_put_mem(rf_store *s, const char *key, const void *p, size_t n,
                     const rf_put_opts *o, rf_err *err)
{
    rf_store_writer *w;
    if (rf_store_writer_open(s, key, o, &w, err))
        return rf_err_prefix(err, "put %s", key);
    if (rf_store_writer_write(w, p, n, err)) {
        rf_store_writer_abort(w);
        return rf_err_prefix(err, "put %s", key);
    }
    if (rf_store_writer_commit(w, err))
        return rf_err_prefix(err, "put %s", key);
    return 0;
}

/* Streams a local file through a writer: for backends without put_file. */
static int put_file_stream(rf_store *s, const char *key, const char *path,
                           const rf_put_opts *o, rf_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rf_err_errno(err, "put %s: open %s", key, path);
    rf_store_writer *w;
    if (rf_store_writer_open(s, key, o, &w, err)) {
        close(fd);
        return rf_err_prefix(err, "put %s", key);
    }
    char *buf = rf_xmalloc(RF_COPY_CHUNK);
    int rc = 0;
    for (;;) {
        ssize_t r = read(fd, buf, RF_COPY_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = rf_err_errno(err, "put %s: read %s", key, path);
            break;
        }
        if (r == 0)
            break;
        if (rf_store_writer_write(w, buf, (size_t)r, err)) {
            rc = rf_err_prefix(err, "put %s", key);
            break;
        }
    }
    free(buf);
    close(fd);
    if (rc) {
        rf_store_writer_abort(w);
        return -1;
    }
    if (rf_store_writer_commit(w, err))
        return rf_err_prefix(err, "put %s", key);
    return 0;
}

int rf_store_put_file(rf_store *s, const char *key, const char *path,
                      const rf_put_opts *o, rf_err *err)
{
    if (!s->ops->put_file)
        return put_file_stream(s, key, path, o, err);
    if (rf_store_key_valid(key, err))
        return rf_err_prefix(err, "put");
    return s->ops->put_file(s, key, path, o, err);
}

/* ---- reads ---- */

int rf_store_get_stream(rf_store *s, const char *key, uint64_t off, uint64_t len,
                        rf_read_fn fn, void *ud, rf_err *err)
{
    if (rf_store_key_valid(key, err))
        return rf_err_prefix(err, "get");
    return s->ops->get_stream(s, key, off, len, fn, ud, err);
}

static int to_buf(void *ud, const void *p, size_t n)
{
    rf_buf_add(ud, p, n);
    return 0;
}

int rf_store_get_mem(rf_store *s, const char *key, rf_buf *out, rf_err *err)
{
    size_t mark = out->len;
    int rc;
    if (!s->ops->get_mem)
        rc = rf_store_get_stream(s, key, 0, 0, to_buf, out, err);
    else if ((rc = rf_store_key_valid(key, err)) != 0)
        rf_err_prefix(err, "get");
    else
        rc = s->ops->get_mem(s, key, out, err);
    if (rc) {
        out->len = mark;   /* drop a partial read */
        if (out->data)
            out->data[mark] = '\0';
        return -1;
    }
    return 0;
}

typedef struct fd_sink {
    int fd;
    int err_no;
} fd_sink;

static int to_fd(void *ud, const void *p, size_t n)
{
    fd_sink *k = ud;
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(k->fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            k->err_no = errno;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int rf_store_get_file(rf_store *s, const char *key, const char *path, rf_err *err)
{
    size_t plen = strlen(path);
    char *tmp = rf_xmalloc(plen + 16);
    snprintf(tmp, plen + 16, "%s.rftmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rf_err_errno(err, "get %s: create temp file beside %s", key, path);
        free(tmp);
        return -1;
    }
    fd_sink k = {fd, 0};
    int rc = rf_store_get_stream(s, key, 0, 0, to_fd, &k, err);
    if (rc && k.err_no) {
        errno = k.err_no;
        rf_err_errno(err, "get %s: write %s", key, tmp);
    }
    /* mkstemp makes 0600; a downloaded file should look like any other. */
    if (!rc && fchmod(fd, 0644) < 0)
        rc = rf_err_errno(err, "get %s: chmod %s", key, tmp);
    if (!rc && fsync(fd) < 0)
        rc = rf_err_errno(err, "get %s: fsync %s", key, tmp);
    if (close(fd) < 0 && !rc)
        rc = rf_err_errno(err, "get %s: close %s", key, tmp);
    if (!rc && rename(tmp, path) < 0)
        rc = rf_err_errno(err, "get %s: rename to %s", key, path);
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

int rf_store_head(rf_store *s, const char *key, rf_store_meta *m, rf_err *err)
{
    memset(m, 0, sizeof *m);
    if (rf_store_key_valid(key, err))
        return rf_err_prefix(err, "head");
    return s->ops->head(s, key, m, err);
}

int rf_store_exists(rf_store *s, const char *key, rf_err *err)
{
    rf_store_meta m;
    if (rf_store_head(s, key, &m, err) == 0)
        return 1;
    if (err && err->code == RF_ENOTFOUND) {
        rf_err_clear(err);
        return 0;
    }
    return -1;
}

/* A list prefix may be empty or end in '/'; otherwise it follows key rules. */
static int prefix_valid(const char *prefix, rf_err *err)
{
    size_t n = strlen(prefix);
    if (n == 0)
        return 0;
    if (prefix[n - 1] != '/')
        return rf_store_key_valid(prefix, err);
    char *p = xstrndup(prefix, n - 1);
    int rc = rf_store_key_valid(p, err);
    free(p);
    return rc;
}

int rf_store_list(rf_store *s, const char *prefix, int recursive, rf_list_fn fn,
                  void *ud, rf_err *err)
{
    if (!prefix)
        prefix = "";
    if (prefix_valid(prefix, err))
        return rf_err_prefix(err, "list");
    return s->ops->list(s, prefix, recursive, fn, ud, err);
}

/* ---- deletes and copies ---- */

int rf_store_delete(rf_store *s, const char *key, rf_err *err)
{
    if (rf_store_key_valid(key, err))
        return rf_err_prefix(err, "delete");
    return s->ops->del(s, key, err);
}

int rf_store_delete_many(rf_store *s, const char *const *keys, size_t n, rf_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (rf_store_key_valid(keys[i], err))
            return rf_err_prefix(err, "delete");
    if (s->ops->del_many)
        return s->ops->del_many(s, keys, n, err);
    /* Fallback: try every key, report the first failure. */
    int rc = 0;
    rf_err first = {0};
    for (size_t i = 0; i < n; i++) {
        rf_err e = {0};
        if (s->ops->del(s, keys[i], &e) && rc == 0) {
            first = e;
            rc = -1;
        }
    }
    if (rc && err)
        *err = first;
    return rc;
}

int rf_store_copy(rf_store *s, const char *src, const char *dst,
                  const rf_put_opts *o, rf_err *err)
{
    if (rf_store_key_valid(src, err) || rf_store_key_valid(dst, err))
        return rf_err_prefix(err, "copy");
    if (!s->ops->copy)
        return rf_store_transfer(s, src, s, dst, o, err);
    return s->ops->copy(s, src, dst, o, err);
}

int rf_store_restore(rf_store *s, const char *key, int days, rf_err *err)
{
    if (rf_store_key_valid(key, err))
        return rf_err_prefix(err, "restore");
    if (days < 1)
        return rf_errf(err, RF_EINVAL, "restore %s: days must be at least 1", key);
    if (!s->ops->restore)
        return rf_errf(err, RF_EUNSUPP, "restore %s: not supported by %s stores", key,
                       s->ops->scheme);
    return s->ops->restore(s, key, days, err);
}

typedef struct pipe_ctx {
    rf_store_writer *w;
    rf_err werr;
    int failed;
} pipe_ctx;

static int to_writer(void *ud, const void *p, size_t n)
{
    pipe_ctx *c = ud;
    if (rf_store_writer_write(c->w, p, n, &c->werr)) {
        c->failed = 1;
        return -1;
    }
    return 0;
}

int rf_store_transfer(rf_store *src, const char *src_key, rf_store *dst,
                      const char *dst_key, const rf_put_opts *o, rf_err *err)
{
    pipe_ctx c = {0};
    if (rf_store_writer_open(dst, dst_key, o, &c.w, err))
        return rf_err_prefix(err, "copy %s to %s", src_key, dst_key);
    if (rf_store_get_stream(src, src_key, 0, 0, to_writer, &c, err)) {
        if (c.failed && err)
            *err = c.werr;   /* the write side failed: its error says why */
        rf_store_writer_abort(c.w);
        return rf_err_prefix(err, "copy %s to %s", src_key, dst_key);
    }
    if (rf_store_writer_commit(c.w, err))
        return rf_err_prefix(err, "copy %s to %s", src_key, dst_key);
    return 0;
}
