/* rf_tail: incremental reading of growing files; see rf_tail.h. */
#include "ml/rf_tail.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rf_buf.h"

#define TAIL_CHUNK (1u << 17)

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static int pread_full(int fd, void *dst, size_t n, uint64_t off, size_t *got,
                      const char *path, rf_err *err)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = pread(fd, (char *)dst + done, n - done, (off_t)(off + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return rf_err_errno(err, "read %s", path);
        if (k == 0)
            break;
        done += (size_t)k;
    }
    *got = done;
    return 0;
}

/* Does the file still start with the bytes pos fingerprinted? */
static int head_matches(int fd, const rf_tail_pos *pos, const char *path, int *ok,
                        rf_err *err)
{
    unsigned char head[RF_TAIL_HEAD];
    size_t got = 0;
    if (pos->head_len == 0) {
        *ok = 1;
        return 0;
    }
    if (pread_full(fd, head, (size_t)pos->head_len, 0, &got, path, err) != 0)
        return -1;
    *ok = got == pos->head_len && fnv1a(head, got) == pos->head_hash;
    return 0;
}

static int is_compressed(int fd, const char *path, int *yes, rf_err *err)
{
    unsigned char m[4] = {0};
    size_t got = 0;
    if (pread_full(fd, m, 4, 0, &got, path, err) != 0)
        return -1;
    *yes = (got >= 2 && m[0] == 0x1f && m[1] == 0x8b) ||
           (got >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd);
    return 0;
}

/* Refresh the head fingerprint after the position moved. */
static int update_head(int fd, rf_tail_pos *pos, const char *path, rf_err *err)
{
    if (pos->head_len == RF_TAIL_HEAD || pos->head_len == pos->offset)
        return 0;
    unsigned char head[RF_TAIL_HEAD];
    size_t want = pos->offset < RF_TAIL_HEAD ? (size_t)pos->offset : RF_TAIL_HEAD, got = 0;
    if (pread_full(fd, head, want, 0, &got, path, err) != 0)
        return -1;
    pos->head_len = got;
    pos->head_hash = fnv1a(head, got);
    return 0;
}

typedef struct tail_run {
    int fd;
    const char *path;
    rf_tail_pos *pos;
    size_t max_line;
    rf_tail_line_fn fn;
    void *ud;
} tail_run;

static int too_long(const tail_run *t, rf_err *err)
{
    return rf_errf(err, RF_ETOOBIG, "%s:%" PRIu64 ": line longer than %zu bytes", t->path,
                   t->pos->lines + 1, t->max_line);
}

/* Hand out every complete line in buf[0, n) (which starts at pos->offset);
 * returns the bytes consumed via *used. */
static int emit_lines(tail_run *t, char *buf, size_t n, size_t *used, rf_err *err)
{
    size_t s = 0;
    for (;;) {
        char *nl = memchr(buf + s, '\n', n - s);
        if (!nl)
            break;
        size_t e = (size_t)(nl - buf), len = e - s;
        if (len > 0 && buf[e - 1] == '\r')
            len--;
        uint64_t lineno = t->pos->lines + 1;
        if (len > t->max_line) {
            *used = s;
            return too_long(t, err);
        }
        if (t->fn(t->ud, buf + s, len, lineno, err) != 0) {
            *used = s;
            return rf_err_prefix(err, "%s:%" PRIu64, t->path, lineno);
        }
        t->pos->lines = lineno;
        t->pos->offset += e + 1 - s;
        s = e + 1;
    }
    *used = s;
    return 0;
}

static int tail_loop(tail_run *t, uint64_t size, uint64_t *pending, rf_err *err)
{
    size_t cap = TAIL_CHUNK, have = 0;
    char *buf = rf_xmalloc(cap);
    int rc = 0;
    while (t->pos->offset + have < size) {
        if (have > t->max_line) {
            rc = too_long(t, err);
            break;
        }
        if (have == cap) {
            cap *= 2;
            buf = rf_xrealloc(buf, cap);
        }
        size_t want = cap - have, got = 0;
        if ((uint64_t)want > size - t->pos->offset - have)
            want = (size_t)(size - t->pos->offset - have);
        if ((rc = pread_full(t->fd, buf + have, want, t->pos->offset + have, &got, t->path,
                             err)) != 0)
            break;
        if (got == 0)
            break;   /* truncated under us: stop at what was read */
        have += got;
        size_t used = 0;
        rc = emit_lines(t, buf, have, &used, err);
        memmove(buf, buf + used, have - used);
        have -= used;
        if (rc != 0)
            break;
    }
    free(buf);
    if (pending)
        *pending = have;
    return rc;
}

int rf_tail_read(const char *path, rf_tail_pos *pos, size_t max_line, rf_tail_line_fn fn,
                 void *ud, int *restarted, uint64_t *pending, rf_err *err)
{
    *restarted = 0;
    if (pending)
        *pending = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rf_err_errno(err, "open %s", path);
    struct stat st;
    int comp = 0, ok = 1, rc = 0;
    if (fstat(fd, &st) != 0)
        rc = rf_err_errno(err, "stat %s", path);
    else if (is_compressed(fd, path, &comp, err) != 0)
        rc = -1;
    else if (comp)
        rc = rf_errf(err, RF_EUNSUPP, "%s: compressed; cannot resume at a byte offset", path);
    else if ((uint64_t)st.st_size < pos->offset)
        ok = 0;
    else if (head_matches(fd, pos, path, &ok, err) != 0)
        rc = -1;
    if (rc == 0 && !ok) {
        memset(pos, 0, sizeof *pos);
        *restarted = 1;
    }
    if (rc == 0) {
        tail_run t = {fd, path, pos, max_line ? max_line : (64u << 20), fn, ud};
        rc = tail_loop(&t, (uint64_t)st.st_size, pending, err);
        if (update_head(fd, pos, path, rc == 0 ? err : NULL) != 0 && rc == 0)
            rc = -1;
    }
    close(fd);
    return rc;
}

void rf_tail_pos_format(const rf_tail_pos *p, char out[RF_TAIL_POS_MAX])
{
    snprintf(out, RF_TAIL_POS_MAX, "%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%016" PRIx64,
             p->offset, p->lines, p->head_len, p->head_hash);
}

int rf_tail_pos_parse(const char *s, rf_tail_pos *p, rf_err *err)
{
    int used = 0;
    if (sscanf(s, "%" SCNu64 ":%" SCNu64 ":%" SCNu64 ":%" SCNx64 "%n", &p->offset,
               &p->lines, &p->head_len, &p->head_hash, &used) != 4 ||
        s[used] != '\0' || p->head_len > RF_TAIL_HEAD || p->head_len > p->offset)
        return rf_errf(err, RF_ECORRUPT, "bad file position \"%s\"", s);
    return 0;
}
