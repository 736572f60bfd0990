/* rf_store_file: the file:// store backend, rooted at an absolute directory.
 *
 * Key "a/b/c" is the file <root>/a/b/c. Writes go to a unique temporary file
 * (".rftmp-XXXXXX", from mkstemp) in the destination directory, are fsync'd,
 * then rename()d over the key and the directory is fsync'd: readers see the
 * old object or the whole new one, concurrent writers never share a temp
 * file and the last rename wins. Temp names are reserved (keys may not use
 * them) and invisible to listings; a crashed writer can only leave such a
 * temp behind, never a partial object.
 *
 * file:// has no storage classes: every object is always readable
 * (restore_state 0); a storage class other than STANDARD is refused rather
 * than silently ignored, and restore answers as S3 does for an object that
 * is not archived. */
#include "store/rf_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_PREFIX ".rftmp-"
#define READ_CHUNK (1u << 20)
#define WRITE_BUF (256u << 10)   /* small writes are gathered up to this */

typedef struct fstore {
    char *root;   /* absolute, no trailing '/' (except "/" itself) */
} fstore;

typedef struct fwriter {
    rf_store_writer base;   /* first, as rf_store.h requires */
    int fd;
    int failed;             /* a write failed: commit must not publish */
    char *tmp, *path;
    char *buf;              /* WRITE_BUF bytes, allocated on first use */
    size_t len;
} fwriter;

static fwriter *FW(rf_store_writer *w) { return (fwriter *)w; }

static fstore *F(rf_store *s) { return s->impl; }

/* Copy buffers are page-aligned: the kernel copies to and from them
 * measurably faster than to malloc's 16-byte-aligned blocks. */
static void *page_buf(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, n) != 0) {
        fprintf(stderr, "ruvflow: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

/* ---- paths ---- */

static int key_reserved(const char *key)
{
    for (const char *seg = key;;) {
        if (!strncmp(seg, TMP_PREFIX, sizeof TMP_PREFIX - 1))
            return 1;
        const char *slash = strchr(seg, '/');
        if (!slash)
            return 0;
        seg = slash + 1;
    }
}

/* malloc'd "<root>/<rel>"; rel may be "" (the root itself). */
static char *join(const fstore *f, const char *rel)
{
    size_t rl = strlen(f->root), kl = strlen(rel);
    int slash = rl > 0 && f->root[rl - 1] != '/' && kl > 0;
    char *p = rf_xmalloc(rl + (size_t)slash + kl + 1);
    memcpy(p, f->root, rl);
    if (slash)
        p[rl] = '/';
    memcpy(p + rl + (size_t)slash, rel, kl + 1);
    return p;
}

static char *obj_path(const fstore *f, const char *key, rf_err *err)
{
    if (key_reserved(key)) {
        rf_errf(err, RF_EINVAL, "invalid key \"%.80s\": names starting with %s are reserved",
                key, TMP_PREFIX);
        return NULL;
    }
    return join(f, key);
}

static int storage_class_ok(const rf_put_opts *o, rf_err *err)
{
    const char *c = o ? o->storage_class : NULL;
    if (!c || !*c || !strcmp(c, "STANDARD"))
        return 0;
    return rf_errf(err, RF_EUNSUPP,
                   "storage class %s: file:// stores have no storage classes", c);
}

/* fsync a directory so that a rename, unlink or mkdir inside it is
 * durable. -1 with errno set on failure. */
static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static int fsync_parent(char *path)
{
    char *slash = strrchr(path, '/');
    if (!slash)
        return 0;
    if (slash == path)
        return fsync_dir("/");
    *slash = '\0';
    int rc = fsync_dir(path);
    *slash = '/';
    return rc;
}

/* mkdir -p (path is modified temporarily); -1 with errno set. */
static int mkdirs(char *path)
{
    if (mkdir(path, 0755) == 0)
        return fsync_parent(path);
    if (errno == EEXIST)
        return 0;   /* if it is a file, mkstemp reports ENOTDIR */
    if (errno != ENOENT)
        return -1;
    char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return -1;
    *slash = '\0';
    int rc = mkdirs(path);
    *slash = '/';
    if (rc)
        return -1;
    if (mkdir(path, 0755) == 0)
        return fsync_parent(path);
    return errno == EEXIST ? 0 : -1;
}

/* ---- writer ---- */

static void fwriter_free(fwriter *w)
{
    free(w->buf);
    free(w->tmp);
    free(w->path);
    free(w);
}

static int f_writer_open(rf_store *s, const char *key, const rf_put_opts *o,
                         rf_store_writer **out, rf_err *err)
{
    if (storage_class_ok(o, err))
        return -1;
    char *path = obj_path(F(s), key, err);
    if (!path)
        return -1;
    fwriter *w = rf_xcalloc(1, sizeof *w);
    w->base.store = s;
    w->path = path;
    size_t dl = (size_t)(strrchr(path, '/') - path);
    w->tmp = rf_xmalloc(dl + sizeof "/" TMP_PREFIX "XXXXXX");
    /* A concurrent delete may prune the directory between our mkdir and
     * mkstemp, so retry a few times on ENOENT. */
    for (int attempt = 0;; attempt++) {
        snprintf(w->tmp, dl + sizeof "/" TMP_PREFIX "XXXXXX", "%.*s/%sXXXXXX", (int)dl, path,
                 TMP_PREFIX);
        w->fd = mkstemp(w->tmp);
        if (w->fd >= 0)
            break;
        if (errno == ENOTDIR) {
            rf_errf(err, RF_ECONFLICT, "%s: a parent of it is an object, not a prefix", path);
            goto fail;
        }
        if (errno != ENOENT || attempt == 4) {
            rf_err_errno(err, "create temp file in %.*s", (int)dl, path);
            goto fail;
        }
        w->tmp[dl] = '\0';
        if (mkdirs(w->tmp) < 0) {
            if (errno == ENOTDIR)
                rf_errf(err, RF_ECONFLICT, "%s: a parent of it is an object, not a prefix",
                        path);
            else
                rf_err_errno(err, "create directory %s", w->tmp);
            goto fail;
        }
    }
    /* mkstemp creates 0600; stored objects are plain readable files. */
    if (fchmod(w->fd, 0644) < 0) {
        rf_err_errno(err, "chmod %s", w->path);
        close(w->fd);
        unlink(w->tmp);
        goto fail;
    }
    *out = &w->base;
    return 0;
fail:
    fwriter_free(w);
    return -1;
}

static int write_all(fwriter *w, const char *c, size_t n, rf_err *err)
{
    while (n > 0) {
        ssize_t r = write(w->fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            w->failed = 1;
            return rf_err_errno(err, "write %s", w->path);
        }
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static int flush(fwriter *w, rf_err *err)
{
    size_t n = w->len;
    w->len = 0;
    return write_all(w, w->buf, n, err);
}

/* Streaming encoders hand over many small pieces: gather them so the
 * kernel sees large writes. */
static int f_writer_write(rf_store_writer *bw, const void *p, size_t n, rf_err *err)
{
    fwriter *w = FW(bw);
    if (w->failed)
        return rf_errf(err, RF_EIO, "write %s: an earlier write failed", w->path);
    if (w->len + n <= WRITE_BUF) {
        if (!w->buf)
            w->buf = page_buf(WRITE_BUF);
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        return 0;
    }
    if (w->len && flush(w, err))
        return -1;
    if (n >= WRITE_BUF)
        return write_all(w, p, n, err);
    if (!w->buf)
        w->buf = page_buf(WRITE_BUF);
    memcpy(w->buf, p, n);
    w->len = n;
    return 0;
}

static void f_writer_abort(rf_store_writer *bw)
{
    fwriter *w = FW(bw);
    close(w->fd);
    unlink(w->tmp);
    fwriter_free(w);
}

static int f_writer_commit(rf_store_writer *bw, rf_err *err)
{
    fwriter *w = FW(bw);
    if (w->failed) {
        rf_errf(err, RF_EIO, "commit %s: an earlier write failed", w->path);
        f_writer_abort(bw);
        return -1;
    }
    if (w->len && flush(w, err)) {
        f_writer_abort(bw);
        return -1;
    }
    /* Data must be on disk before the rename publishes it, or a crash could
     * leave an empty or partial file under the key. */
    if (fsync(w->fd) < 0) {
        rf_err_errno(err, "fsync %s", w->path);
        f_writer_abort(bw);
        return -1;
    }
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) < 0) {
        rf_err_errno(err, "close %s", w->path);
        unlink(w->tmp);
        fwriter_free(w);
        return -1;
    }
    if (rename(w->tmp, w->path) < 0) {
        if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST)
            rf_errf(err, RF_ECONFLICT, "%s: the key is also a prefix of other objects",
                    w->path);
        else
            rf_err_errno(err, "rename %s to %s", w->tmp, w->path);
        unlink(w->tmp);
        fwriter_free(w);
        return -1;
    }
    int rc = fsync_parent(w->path) < 0 ? rf_err_errno(err, "fsync directory of %s", w->path)
                                        : 0;
    fwriter_free(w);
    return rc;
}

/* Copy the rest of in through a buffer, for files copy_file_range cannot
 * handle. */
static int copy_by_read(int in, fwriter *w, const char *src, rf_err *err)
{
    char *buf = page_buf(READ_CHUNK);
    int rc = 0;
    for (;;) {
        ssize_t r = read(in, buf, READ_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = rf_err_errno(err, "read %s", src);
        if (r <= 0 || (rc = write_all(w, buf, (size_t)r, err)))
            break;
    }
    free(buf);
    return rc;
}

/* Copy in to w's temp file in the kernel (copy_file_range; a reflink on
 * filesystems that have them): no bytes pass through user space. */
static int copy_fd(int in, fwriter *w, const char *src, rf_err *err)
{
    for (;;) {
        ssize_t r = copy_file_range(in, NULL, w->fd, NULL, 1u << 30, 0);
        if (r > 0)
            continue;
        if (r == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
            return copy_by_read(in, w, src, err);
        return rf_err_errno(err, "copy %s to %s", src, w->path);
    }
}

static int f_put_file(rf_store *s, const char *key, const char *src, const rf_put_opts *o,
                      rf_err *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return rf_err_errno(err, "put %s: open %s", key, src);
    rf_store_writer *w;
    if (f_writer_open(s, key, o, &w, err)) {
        close(in);
        return -1;
    }
    int rc = copy_fd(in, FW(w), src, err);
    close(in);
    if (rc) {
        f_writer_abort(w);
        return -1;
    }
    return f_writer_commit(w, err);
}

/* ---- reads ---- */

/* Open key for reading; *path (malloc'd) names it in messages. */
static int open_obj(rf_store *s, const char *key, char **path, int *fd, struct stat *st,
                    rf_err *err)
{
    *path = obj_path(F(s), key, err);
    if (!*path)
        return -1;
    *fd = open(*path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            rf_errf(err, RF_ENOTFOUND, "%s: no such key", *path);
        else
            rf_err_errno(err, "open %s", *path);
        goto fail;
    }
    if (fstat(*fd, st) < 0) {
        rf_err_errno(err, "stat %s", *path);
        goto fail_fd;
    }
    if (!S_ISREG(st->st_mode)) {
        if (S_ISDIR(st->st_mode))
            rf_errf(err, RF_ENOTFOUND, "%s: no such key (it is a prefix)", *path);
        else
            rf_errf(err, RF_EIO, "%s: not a regular file", *path);
        goto fail_fd;
    }
    return 0;
fail_fd:
    close(*fd);
fail:
    free(*path);
    *path = NULL;
    return -1;
}

static int f_get_stream(rf_store *s, const char *key, uint64_t off, uint64_t len,
                        rf_read_fn fn, void *ud, rf_err *err)
{
    int fd;
    struct stat st;
    char *path;
    if (open_obj(s, key, &path, &fd, &st, err))
        return -1;
    uint64_t size = (uint64_t)st.st_size;
    if (off > size) {
        rf_errf(err, RF_EINVAL, "%s: range starts at %llu, beyond the size %llu", path,
                (unsigned long long)off, (unsigned long long)size);
        close(fd);
        free(path);
        return -1;
    }
    uint64_t left = len == 0 || len > size - off ? size - off : len;
    posix_fadvise(fd, (off_t)off, (off_t)left, POSIX_FADV_SEQUENTIAL);
    char *buf = page_buf(READ_CHUNK);
    int rc = 0;
    while (left > 0) {
        size_t want = left < READ_CHUNK ? (size_t)left : READ_CHUNK;
        ssize_t r = pread(fd, buf, want, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = rf_err_errno(err, "read %s", path);
            break;
        }
        if (r == 0) {
            /* The inode we opened cannot be replaced, only truncated in
             * place by someone bypassing the store. */
            rc = rf_errf(err, RF_ECORRUPT, "%s: object shrank while being read", path);
            break;
        }
        if (fn(ud, buf, (size_t)r)) {
            rc = rf_errf(err, RF_ECANCEL, "%s: read stopped by the consumer", path);
            break;
        }
        off += (uint64_t)r;
        left -= (uint64_t)r;
    }
    free(buf);
    close(fd);
    free(path);
    return rc;
}

/* The object read straight into out: no bounce buffer, no copy (the
 * checkpoint repository reads thousands of chunks this way). */
static int f_get_mem(rf_store *s, const char *key, rf_buf *out, rf_err *err)
{
    int fd;
    struct stat st;
    char *path;
    if (open_obj(s, key, &path, &fd, &st, err))
        return -1;
    size_t left = (size_t)st.st_size;
    rf_buf_grow(out, left);
    int rc = 0;
    while (left > 0) {
        ssize_t r = read(fd, out->data + out->len, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r ? rf_err_errno(err, "read %s", path)
                   : rf_errf(err, RF_ECORRUPT, "%s: object shrank while being read", path);
            break;
        }
        out->len += (size_t)r;
        left -= (size_t)r;
    }
    out->data[out->len] = '\0';
    close(fd);
    free(path);
    return rc;
}

static void fill_meta(const struct stat *st, rf_store_meta *m)
{
    memset(m, 0, sizeof *m);
    m->size = (uint64_t)st->st_size;
    m->mtime = (int64_t)st->st_mtim.tv_sec;
    /* Not a content hash: inode + mtime + size changes whenever the object
     * is replaced, which is what an etag promises. The '-' marks it as not
     * an MD5, as S3 does for multipart etags. */
    snprintf(m->etag, sizeof m->etag, "%llx-%llx%09lx-%llx",
             (unsigned long long)st->st_ino, (unsigned long long)st->st_mtim.tv_sec,
             (unsigned long)st->st_mtim.tv_nsec, (unsigned long long)st->st_size);
}

static int f_head(rf_store *s, const char *key, rf_store_meta *m, rf_err *err)
{
    char *path = obj_path(F(s), key, err);
    if (!path)
        return -1;
    struct stat st;
    int rc = 0;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            rc = rf_errf(err, RF_ENOTFOUND, "%s: no such key", path);
        else
            rc = rf_err_errno(err, "stat %s", path);
    } else if (!S_ISREG(st.st_mode)) {
        rc = rf_errf(err, RF_ENOTFOUND, "%s: no such key", path);
    } else {
        fill_meta(&st, m);
    }
    free(path);
    return rc;
}

/* ---- listing ---- */

typedef struct entry {
    char *key;
    rf_store_meta m;   /* zeroed for a common prefix */
} entry;

typedef struct entries {
    entry *v;
    size_t n, cap;
} entries;

static void entries_add(entries *es, char *key, const rf_store_meta *m)
{
    if (es->n == es->cap) {
        es->cap = es->cap ? es->cap * 2 : 64;
        es->v = rf_xrealloc(es->v, es->cap * sizeof *es->v);
    }
    entry *e = &es->v[es->n++];
    e->key = key;
    if (m)
        e->m = *m;
    else
        memset(&e->m, 0, sizeof e->m);
}

static int skip_name(const char *name)
{
    return !strcmp(name, ".") || !strcmp(name, "..") ||
           !strncmp(name, TMP_PREFIX, sizeof TMP_PREFIX - 1);
}

/* Does the directory hold at least one object, at any depth? Empty
 * directories are leftovers (S3 has none), not prefixes. */
static int dir_has_object(int dfd)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return 0;
    }
    int found = 0;
    struct dirent *de;
    while (!found && (de = readdir(d))) {
        if (skip_name(de->d_name))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, 0) < 0)
            continue;
        if (S_ISREG(st.st_mode))
            found = 1;
        else if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            found = sub >= 0 && dir_has_object(sub);
        }
    }
    closedir(d);
    return found;
}

/* Collect the keys under directory rel ("" or "a/b/") whose name starts
 * with name_prefix. Takes ownership of dfd. */
static int walk(int dfd, const char *rel, const char *name_prefix, int recursive,
                entries *out, rf_err *err)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return rf_err_errno(err, "list %s", rel);
    }
    size_t npl = strlen(name_prefix);
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while (rc == 0 && (de = readdir(d))) {
        const char *name = de->d_name;
        if (skip_name(name) || strncmp(name, name_prefix, npl))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), name, &st, 0) < 0)
            continue;   /* deleted under us: simply no longer listed */
        rf_buf k = RF_BUF_INIT;
        rf_buf_addf(&k, "%s%s", rel, name);
        if (S_ISREG(st.st_mode)) {
            rf_store_meta m;
            fill_meta(&st, &m);
            entries_add(out, rf_buf_detach(&k, NULL), &m);
        } else if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            rf_buf_adds(&k, "/");
            if (sub < 0) {
                rf_buf_free(&k);
                continue;
            }
            if (recursive)
                rc = walk(sub, k.data, "", 1, out, err);
            else if (dir_has_object(sub)) {
                entries_add(out, rf_buf_detach(&k, NULL), NULL);
                continue;
            }
        }
        rf_buf_free(&k);
        errno = 0;
    }
    if (rc == 0 && errno)
        rc = rf_err_errno(err, "list %s", rel);
    closedir(d);
    return rc;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->key, ((const entry *)b)->key);
}

static int f_list(rf_store *s, const char *prefix, int recursive, rf_list_fn fn, void *ud,
                  rf_err *err)
{
    const char *slash = strrchr(prefix, '/');
    size_t dl = slash ? (size_t)(slash - prefix) + 1 : 0;
    char *rel = rf_xmalloc(dl + 1);
    memcpy(rel, prefix, dl);
    rel[dl] = '\0';
    char *dir = join(F(s), rel);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = errno;
    free(dir);
    entries es = {0};
    int rc = 0;
    if (dfd >= 0)
        rc = walk(dfd, rel, prefix + dl, recursive, &es, err);
    else if (e != ENOENT && e != ENOTDIR) {
        errno = e;
        rc = rf_err_errno(err, "list %s", prefix);
    }
    /* Sort like S3 (byte order of the whole key) so listings are stable
     * and comparable across backends. */
    if (rc == 0 && es.n)
        qsort(es.v, es.n, sizeof *es.v, entry_cmp);
    for (size_t i = 0; rc == 0 && i < es.n; i++)
        if (fn(ud, es.v[i].key, &es.v[i].m))
            break;
    for (size_t i = 0; i < es.n; i++)
        free(es.v[i].key);
    free(es.v);
    free(rel);
    return rc;
}

/* ---- delete, restore ---- */

/* Remove now-empty parent directories up to the root, as S3 has no
 * directories. Failure (ENOTEMPTY, a concurrent writer) just stops. */
static void prune(const fstore *f, char *path)
{
    size_t rl = strlen(f->root);
    for (char *slash = strrchr(path, '/'); slash && (size_t)(slash - path) > rl;
         slash = strrchr(path, '/')) {
        *slash = '\0';
        if (rmdir(path) < 0)
            break;
    }
}

static int f_del(rf_store *s, const char *key, rf_err *err)
{
    char *path = obj_path(F(s), key, err);
    if (!path)
        return -1;
    int rc = 0;
    if (unlink(path) < 0) {
        if (errno != ENOENT && errno != ENOTDIR && errno != EISDIR)
            rc = rf_err_errno(err, "delete %s", path);
    } else {
        if (fsync_parent(path) < 0)
            rc = rf_err_errno(err, "fsync directory of %s", path);
        prune(F(s), path);
    }
    free(path);
    return rc;
}

static int f_restore(rf_store *s, const char *key, int days, rf_err *err)
{
    rf_store_meta m;
    if (f_head(s, key, &m, err))
        return -1;
    /* As S3 answers for a STANDARD object (InvalidObjectState): there is no
     * archived copy to restore; the object is readable as it is. */
    return rf_errf(err, RF_ESTATE,
                   "%s/%s: not archived, nothing to restore (file:// objects are always "
                   "readable)", s->url, key);
}

static void f_close(rf_store *s)
{
    free(F(s)->root);
    free(s->impl);
    free(s->url);
    free(s);
}

static const struct rf_store_ops file_ops = {
    .scheme = "file",
    .put_file = f_put_file,
    .get_stream = f_get_stream,
    .get_mem = f_get_mem,
    .head = f_head,
    .list = f_list,
    .del = f_del,
    .del_many = NULL,       /* generic fallback: one unlink per key */
    .copy = NULL,           /* generic transfer: read, then atomic write */
    .restore = f_restore,
    .writer_open = f_writer_open,
    .writer_write = f_writer_write,
    .writer_commit = f_writer_commit,
    .writer_abort = f_writer_abort,
    .close = f_close,
};

int rf_store_file_open(const char *url, rf_store **out, rf_err *err)
{
    *out = NULL;
    if (strncmp(url, "file://", 7) != 0)
        return rf_errf(err, RF_EINVAL, "%s: not a file:// URL", url);
    const char *path = url + 7;
    if (path[0] != '/')
        return rf_errf(err, RF_EINVAL,
                       "%s: file URLs need an absolute path (file:///dir, no host)", url);
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p < 0x20)
            return rf_errf(err, RF_EINVAL, "%s: control character in path", url);
    /* A root is named, not resolved: "." and ".." would let two URLs name
     * one object and defeat key checks made on URLs. */
    if (strstr(path, "/../") || strstr(path, "/./") ||
        (strlen(path) >= 3 && !strcmp(path + strlen(path) - 3, "/..")) ||
        (strlen(path) >= 2 && !strcmp(path + strlen(path) - 2, "/.")))
        return rf_errf(err, RF_EINVAL, "%s: \".\" and \"..\" are not allowed in store URLs",
                       url);
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    /* The root need not exist yet: the first write creates it. */
    struct stat st;
    fstore *f = rf_xcalloc(1, sizeof *f);
    f->root = rf_xmalloc(n + 1);
    memcpy(f->root, path, n);
    f->root[n] = '\0';
    if (stat(f->root, &st) == 0 && !S_ISDIR(st.st_mode)) {
        rf_errf(err, RF_EINVAL, "%s: not a directory", url);
        free(f->root);
        free(f);
        return -1;
    }
    rf_store *s = rf_xcalloc(1, sizeof *s);
    s->ops = &file_ops;
    s->impl = f;
    s->url = rf_xmalloc(7 + n + 1);
    snprintf(s->url, 7 + n + 1, "file://%s", f->root);
    *out = s;
    return 0;
}
