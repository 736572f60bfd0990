/* rf_sessions: log-file discovery and the streaming line reader; see
 * rf_sessions.h. */
#include "ml/rf_sessions.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "base/rf_buf.h"

/* ---- file discovery ---- */

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Length of name without a .gz/.zst suffix. */
static size_t base_len(const char *name)
{
    size_t n = strlen(name);
    if (has_suffix(name, ".gz"))
        return n - 3;
    if (has_suffix(name, ".zst"))
        return n - 4;
    return n;
}

static int is_log_name(const char *name)
{
    size_t n = base_len(name);
    static const char *const exts[] = {".jsonl", ".ndjson", ".json"};
    for (size_t i = 0; i < 3; i++) {
        size_t m = strlen(exts[i]);
        if (n > m && memcmp(name + n - m, exts[i], m) == 0)
            return 1;
    }
    return 0;
}

static void list_push(rf_file_list *l, const char *path, size_t unit)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->paths = rf_xrealloc(l->paths, l->cap * sizeof *l->paths);
        l->unit = rf_xrealloc(l->unit, l->cap * sizeof *l->unit);
    }
    l->paths[l->n] = rf_xstrdup(path);
    l->unit[l->n] = unit;
    l->n++;
}

static size_t next_unit(const rf_file_list *l)
{
    return l->n ? l->unit[l->n - 1] + 1 : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct name_list {
    char **v;
    size_t n;
} name_list;

static int read_dir_sorted(const char *dir, name_list *out, rf_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return rf_err_errno(err, "open folder %s", dir);
    out->v = NULL;
    out->n = 0;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (out->n == cap) {
            cap = cap ? 2 * cap : 32;
            out->v = rf_xrealloc(out->v, cap * sizeof *out->v);
        }
        out->v[out->n++] = rf_xstrdup(e->d_name);
    }
    closedir(d);
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, cmp_str);
    return 0;
}

static void names_free(name_list *nl)
{
    for (size_t i = 0; i < nl->n; i++)
        free(nl->v[i]);
    free(nl->v);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Every log file under dir joins unit (a session's companion folder). */
static int add_companions(rf_file_list *l, const char *dir, size_t unit, rf_err *err)
{
    name_list nl;
    if (read_dir_sorted(dir, &nl, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < nl.n && rc == 0; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, nl.v[i]);
        if (is_dir(p))
            rc = add_companions(l, p, unit, err);
        else if (is_log_name(nl.v[i]))
            list_push(l, p, unit);
    }
    names_free(&nl);
    return rc;
}

static int add_dir(rf_file_list *l, const char *dir, rf_err *err)
{
    name_list nl;
    if (read_dir_sorted(dir, &nl, err) != 0)
        return -1;
    int rc = 0;
    /* Companion folders are claimed by their session file first. */
    char *claimed = rf_xcalloc(nl.n ? nl.n : 1, 1);
    for (size_t i = 0; i < nl.n && rc == 0; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, nl.v[i]);
        if (is_dir(p) || !is_log_name(nl.v[i]))
            continue;
        size_t unit = next_unit(l);
        list_push(l, p, unit);
        /* X.jsonl[.gz|.zst] -> folder X */
        size_t stem = base_len(nl.v[i]);
        const char *dot = memrchr(nl.v[i], '.', stem);
        if (!dot)
            continue;
        for (size_t j = 0; j < nl.n; j++)
            if (!claimed[j] && strlen(nl.v[j]) == (size_t)(dot - nl.v[i]) &&
                memcmp(nl.v[j], nl.v[i], (size_t)(dot - nl.v[i])) == 0) {
                char q[PATH_MAX];
                snprintf(q, sizeof q, "%s/%s", dir, nl.v[j]);
                if (is_dir(q)) {
                    claimed[j] = 1;
                    rc = add_companions(l, q, unit, err);
                }
            }
    }
    for (size_t i = 0; i < nl.n && rc == 0; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, nl.v[i]);
        if (!claimed[i] && is_dir(p))
            rc = add_dir(l, p, err);
    }
    free(claimed);
    names_free(&nl);
    return rc;
}

int rf_file_list_add(rf_file_list *l, const char *path, rf_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return rf_err_errno(err, "input %s", path);
    if (S_ISDIR(st.st_mode))
        return add_dir(l, path, err);
    list_push(l, path, next_unit(l));
    return 0;
}

void rf_file_list_free(rf_file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    free(l->unit);
    memset(l, 0, sizeof *l);
}

/* ---- line reader ---- */

#define IN_CHUNK (1u << 17)

struct rf_lines {
    int fd;
    int comp;
    char *path;
    gzFile gz;
    ZSTD_DStream *zs;
    char *zin;                 /* compressed input for zstd */
    ZSTD_inBuffer zbuf;
    size_t zneed;              /* ZSTD_decompressStream's last hint: 0 = frame done */
    int eof;                   /* no more decompressed bytes */
    char *buf;                 /* [start, end) unread data */
    size_t cap, start, end, scan;
    size_t max_line;
    int discarding;            /* inside an over-cap line */
    uint64_t lineno, bytes;
};

static int sniff(int fd, int *comp, rf_err *err, const char *path)
{
    unsigned char m[4] = {0};
    ssize_t n = pread(fd, m, sizeof m, 0);
    if (n < 0)
        return rf_err_errno(err, "read %s", path);
    if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
        *comp = RF_COMP_GZIP;
    else if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
        *comp = RF_COMP_ZSTD;
    else
        *comp = RF_COMP_NONE;
    return 0;
}

int rf_lines_open(const char *path, size_t max_line, rf_lines **out, rf_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rf_err_errno(err, "open %s", path);
    int comp = RF_COMP_NONE;
    if (sniff(fd, &comp, err, path) != 0) {
        close(fd);
        return -1;
    }
    rf_lines *r = rf_xcalloc(1, sizeof *r);
    r->fd = fd;
    r->comp = comp;
    r->path = rf_xstrdup(path);
    r->max_line = max_line ? max_line : RF_LINE_CAP_DEFAULT;
    r->cap = r->max_line < (1u << 20) ? r->max_line + 1 : (1u << 20);
    r->buf = rf_xmalloc(r->cap + 1);
    if (comp == RF_COMP_GZIP) {
        r->gz = gzdopen(fd, "rb");
        if (!r->gz) {
            rf_lines_close(r);
            return rf_errf(err, RF_ENOMEM, "%s: gzip reader", path);
        }
        r->fd = -1;   /* owned by gz now */
        gzbuffer(r->gz, IN_CHUNK);
    } else if (comp == RF_COMP_ZSTD) {
        r->zs = ZSTD_createDStream();
        r->zin = rf_xmalloc(ZSTD_DStreamInSize());
        if (!r->zs || ZSTD_isError(ZSTD_initDStream(r->zs))) {
            rf_lines_close(r);
            return rf_errf(err, RF_ENOMEM, "%s: zstd reader", path);
        }
    }
    *out = r;
    return 0;
}

/* zlib names a gzdopen'ed file "<fd:N>: "; the caller names the path. */
static const char *gz_msg(const char *m)
{
    if (strncmp(m, "<fd:", 4) == 0) {
        const char *c = strstr(m, ">: ");
        if (c)
            return c + 3;
    }
    return m;
}

/* Append up to room decompressed bytes at dst; returns bytes, 0 at EOF.
 * Errors name no path: rf_lines_next adds "path:line". */
static ssize_t fill_raw(rf_lines *r, char *dst, size_t room, rf_err *err)
{
    if (r->comp == RF_COMP_NONE) {
        for (;;) {
            ssize_t n = read(r->fd, dst, room);
            if (n >= 0)
                return n;
            if (errno != EINTR)
                return rf_err_errno(err, "read");
        }
    }
    if (r->comp == RF_COMP_GZIP) {
        if (room > INT_MAX)
            room = INT_MAX;
        int n = gzread(r->gz, dst, (unsigned)room);
        if (n < 0) {
            int zerr;
            const char *m = gzerror(r->gz, &zerr);
            return rf_errf(err, RF_ECORRUPT, "gzip: %s", gz_msg(m));
        }
        if (n == 0) {
            /* zlib reports a cut stream as Z_BUF_ERROR "unexpected end of
             * file" and still returns 0, as at a clean end. */
            int zerr;
            const char *m = gzerror(r->gz, &zerr);
            if (zerr != Z_OK)
                return rf_errf(err, RF_ECORRUPT, "gzip: %s (the file is "
                               "damaged or truncated)", gz_msg(m));
        }
        return n;
    }
    ZSTD_outBuffer ob = {dst, room, 0};
    while (ob.pos == 0) {
        if (r->zbuf.pos == r->zbuf.size) {
            ssize_t n;
            do
                n = read(r->fd, r->zin, ZSTD_DStreamInSize());
            while (n < 0 && errno == EINTR);
            if (n < 0)
                return rf_err_errno(err, "read");
            if (n == 0) {
                if (r->zneed != 0)
                    return rf_errf(err, RF_ECORRUPT, "zstd: premature end "
                                   "of frame (the file is truncated)");
                return 0;
            }
            r->zbuf.src = r->zin;
            r->zbuf.size = (size_t)n;
            r->zbuf.pos = 0;
        }
        size_t rc = ZSTD_decompressStream(r->zs, &ob, &r->zbuf);
        if (ZSTD_isError(rc))
            return rf_errf(err, RF_ECORRUPT, "zstd: %s", ZSTD_getErrorName(rc));
        r->zneed = rc;
    }
    return (ssize_t)ob.pos;
}

/* Make room after end: compact, then grow up to the cap. 0 if full. */
static size_t make_room(rf_lines *r)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->scan -= r->start;
        r->start = 0;
    }
    if (r->end == r->cap && r->cap < r->max_line + 1) {
        size_t cap = r->cap * 2;
        if (cap > r->max_line + 1)
            cap = r->max_line + 1;
        r->buf = rf_xrealloc(r->buf, cap + 1);
        r->cap = cap;
    }
    return r->cap - r->end;
}

int rf_lines_next(rf_lines *r, char **line, size_t *len, int *flags, rf_err *err)
{
    *flags = 0;
    for (;;) {
        char *nl = r->scan < r->end
                       ? memchr(r->buf + r->scan, '\n', r->end - r->scan)
                       : NULL;
        if (nl) {
            size_t s = r->start, e = (size_t)(nl - r->buf);
            r->start = r->scan = e + 1;
            r->lineno++;
            if (r->discarding) {
                r->discarding = 0;
                *flags |= RF_LINE_TOOLONG;
                *line = r->buf + s;
                *len = 0;
                return 1;
            }
            if (e > s && r->buf[e - 1] == '\r')
                e--;
            *line = r->buf + s;
            *len = e - s;
            return 1;
        }
        r->scan = r->end;
        if (r->eof) {
            if (r->start == r->end && !r->discarding)
                return 0;
            r->lineno++;
            *flags |= RF_LINE_NO_NEWLINE;
            *line = r->buf + r->start;
            *len = r->discarding ? 0 : r->end - r->start;
            if (r->discarding)
                *flags |= RF_LINE_TOOLONG;
            r->discarding = 0;
            r->start = r->scan = r->end;
            return 1;
        }
        size_t room = make_room(r);
        if (room == 0) {
            /* Over the cap: drop what we have and skip to the next '\n'. */
            r->discarding = 1;
            r->start = r->scan = r->end = 0;
            room = r->cap;
        }
        ssize_t n = fill_raw(r, r->buf + r->end, room, err);
        if (n < 0) {
            rf_err_prefix(err, "%s:%llu", r->path, (unsigned long long)r->lineno + 1);
            return -1;
        }
        if (n == 0)
            r->eof = 1;
        r->end += (size_t)n;
        r->bytes += (uint64_t)n;
    }
}

uint64_t rf_lines_lineno(const rf_lines *r) { return r->lineno; }
uint64_t rf_lines_bytes(const rf_lines *r) { return r->bytes; }
int rf_lines_compression(const rf_lines *r) { return r->comp; }

void rf_lines_close(rf_lines *r)
{
    if (!r)
        return;
    if (r->gz)
        gzclose(r->gz);
    if (r->fd >= 0)
        close(r->fd);
    ZSTD_freeDStream(r->zs);
    free(r->zin);
    free(r->buf);
    free(r->path);
    free(r);
}
