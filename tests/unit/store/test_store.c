/* Unit tests for rf_store (keys, URLs, generic helpers) and the file://
 * backend: round trips, ranged reads, listings, atomicity under concurrent
 * readers and writers, deletes, copies, and disk full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/rf_store.h"
#include "rf_test.h"

/* Each test gets a fresh temp directory and a file:// store rooted in it. */
typedef struct fx {
    char dir[64];
    char url[96];
    rf_store *s;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rf-store-test.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->url, sizeof f->url, "file://%s/root", f->dir);
    rf_err err = {0};
    if (rf_store_open(f->url, NULL, &f->s, &err))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    rf_store_close(f->s);
    char cmd[128];
    /* test_disk_full's tmpfs, should the test have failed while mounted. */
    snprintf(cmd, sizeof cmd, "%s/tmpfs", f->dir);
    umount2(cmd, MNT_DETACH);
    if (rf_test_rmtree(f->dir) != 0)
        return -1;
    free(f);
    return 0;
}

static void put_str(rf_store *s, const char *key, const char *v)
{
    rf_err err = {0};
    int rc = rf_store_put_mem(s, key, v, strlen(v), NULL, &err);
    if (rc)
        fail_msg("put %s: %s", key, err.msg);
}

static char *get_str(rf_store *s, const char *key)
{
    rf_buf b = RF_BUF_INIT;
    rf_err err = {0};
    if (rf_store_get_mem(s, key, &b, &err)) {
        rf_buf_free(&b);
        return NULL;
    }
    return rf_buf_detach(&b, NULL);
}

/* Number of directory entries in dir whose name starts with pfx. */
static int count_names(const char *dir, const char *pfx)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += !strncmp(de->d_name, pfx, strlen(pfx));
    closedir(d);
    return n;
}

/* ---- keys and URLs ---- */

static void test_key_valid(void **state)
{
    static const char *good[] = {"a", "a/b/c", "runs/r1/model.rfa", ".hidden", "a..b",
                                 "...", "x/.y/z", "cas/ab/0123", "sp ace", "ünï"};
    static const char *bad[] = {"", "/a", "a/", "a//b", "..", ".", "a/../b", "a/./b",
                                "../x", "a/..", "tab\there", "nl\n", "del\x7f"};
    rf_err err = {0};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (rf_store_key_valid(good[i], &err))
            fail_msg("refused good key \"%s\": %s", good[i], err.msg);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err.code = 0;
        if (rf_store_key_valid(bad[i], &err) == 0)
            fail_msg("accepted bad key \"%s\"", bad[i]);
        assert_int_equal(err.code, RF_EINVAL);
    }
    assert_int_equal(rf_store_key_valid(NULL, &err), -1);
    char big[1100];
    memset(big, 'k', sizeof big);
    for (size_t i = 200; i < sizeof big; i += 201)
        big[i] = '/';   /* segments of 200 bytes */
    big[1024] = '\0';
    assert_int_equal(rf_store_key_valid(big, &err), 0);
    big[1025] = '\0';
    big[1024] = 'k';
    assert_int_equal(rf_store_key_valid(big, &err), -1);
    assert_non_null(strstr(err.msg, "1025 bytes"));
    /* One segment over 255 bytes (a file name no file system takes) is
     * refused by the key check, so by both backends alike. */
    char seg[300];
    memset(seg, 's', sizeof seg);
    seg[255] = '\0';
    assert_int_equal(rf_store_key_valid(seg, &err), 0);
    seg[255] = 's';
    seg[256] = '\0';
    err.code = 0;
    assert_int_equal(rf_store_key_valid(seg, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    assert_non_null(strstr(err.msg, "segment of 256 bytes"));
}

static void check_split(const char *url, const char *want_store, const char *want_key)
{
    char *su, *k;
    rf_err err = {0};
    if (rf_store_split_url(url, &su, &k, &err))
        fail_msg("split %s: %s", url, err.msg);
    assert_string_equal(su, want_store);
    assert_string_equal(k, want_key);
    free(su);
    free(k);
}

static void test_split_url(void **state)
{
    check_split("s3://bucket/a/b/key", "s3://bucket", "a/b/key");
    check_split("s3://bucket", "s3://bucket", "");
    check_split("s3://bucket/", "s3://bucket", "");
    check_split("file:///tmp/x/y/key", "file:///tmp/x/y", "key");
    check_split("file:///tmp/x/", "file:///tmp/x", "");
    check_split("file:///k", "file:///", "k");
    char *su, *k;
    rf_err err = {0};
    assert_int_equal(rf_store_split_url("s3:///key", &su, &k, &err), -1);
    assert_int_equal(rf_store_split_url("file://host/x", &su, &k, &err), -1);
    assert_int_equal(rf_store_split_url("http://x/y", &su, &k, &err), -1);
    assert_int_equal(rf_store_split_url("file:///a/../b", &su, &k, &err), -1);
    assert_int_equal(rf_store_split_url("file:///a//b", &su, &k, &err), -1);
    assert_int_equal(rf_store_split_url("file:///a/./b", &su, &k, &err), -1);
    assert_int_equal(rf_store_split_url("file:///a/b/..", &su, &k, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    assert_null(su);
}

static void test_open_errors(void **state)
{
    fx *f = *state;
    rf_store *s;
    rf_err err = {0};
    assert_int_equal(rf_store_open("file://relative/dir", NULL, &s, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    assert_int_equal(rf_store_open("ftp://x", NULL, &s, &err), -1);
    assert_int_equal(rf_store_open("", NULL, &s, &err), -1);
    assert_int_equal(rf_store_open("file:///tmp/../etc", NULL, &s, &err), -1);
    assert_int_equal(rf_store_open("file:///tmp/x/..", NULL, &s, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    /* A root that is a file is refused; a missing root is created lazily. */
    put_str(f->s, "plain", "x");
    char url[160];
    snprintf(url, sizeof url, "%s/plain", f->url);
    assert_int_equal(rf_store_open(url, NULL, &s, &err), -1);
    assert_non_null(strstr(err.msg, "not a directory"));
    snprintf(url, sizeof url, "file://%s/not/yet///", f->dir);
    assert_int_equal(rf_store_open(url, NULL, &s, &err), 0);
    snprintf(url, sizeof url, "file://%s/not/yet", f->dir);
    assert_string_equal(s->url, url);
    put_str(s, "k", "v");
    char *v = get_str(s, "k");
    assert_string_equal(v, "v");
    free(v);
    rf_store_close(s);
}

/* ---- round trips ---- */

static void test_round_trip(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    put_str(f->s, "a/b/c.txt", "hello");
    char *v = get_str(f->s, "a/b/c.txt");
    assert_string_equal(v, "hello");
    free(v);
    put_str(f->s, "a/b/c.txt", "replaced");
    v = get_str(f->s, "a/b/c.txt");
    assert_string_equal(v, "replaced");
    free(v);

    /* Empty object. */
    assert_int_equal(rf_store_put_mem(f->s, "empty", "", 0, NULL, &err), 0);
    rf_store_meta m;
    assert_int_equal(rf_store_head(f->s, "empty", &m, &err), 0);
    assert_int_equal(m.size, 0);
    assert_int_equal(m.restore_state, 0);
    assert_string_equal(m.storage_class, "");

    /* Larger than one read chunk, through put_file and get_file. */
    size_t n = 3u << 20;
    unsigned char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 2654435761u >> 13);
    char src[128], dst[128];
    snprintf(src, sizeof src, "%s/src.bin", f->dir);
    snprintf(dst, sizeof dst, "%s/dst.bin", f->dir);
    FILE *fp = fopen(src, "wb");
    assert_int_equal(fwrite(big, 1, n, fp), n);
    fclose(fp);
    assert_int_equal(rf_store_put_file(f->s, "big/obj", src, NULL, &err), 0);
    assert_int_equal(rf_store_head(f->s, "big/obj", &m, &err), 0);
    assert_int_equal(m.size, n);
    assert_true(m.mtime > 1600000000);
    assert_true(strlen(m.etag) > 2);
    assert_int_equal(rf_store_get_file(f->s, "big/obj", dst, &err), 0);
    rf_buf b = RF_BUF_INIT;
    assert_int_equal(rf_store_get_mem(f->s, "big/obj", &b, &err), 0);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, big, n);
    rf_buf_free(&b);
    fp = fopen(dst, "rb");
    unsigned char *back = malloc(n + 1);
    assert_int_equal(fread(back, 1, n + 1, fp), n);
    fclose(fp);
    assert_memory_equal(back, big, n);
    struct stat st;
    assert_int_equal(stat(dst, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    free(back);
    free(big);
    assert_int_equal(count_names(f->dir, "dst.bin.rftmp-"), 0);

    /* exists */
    assert_int_equal(rf_store_exists(f->s, "big/obj", &err), 1);
    assert_int_equal(rf_store_exists(f->s, "big/none", &err), 0);
    assert_int_equal(rf_store_exists(f->s, "big", &err), 0);   /* a prefix, not a key */
    assert_int_equal(rf_store_exists(f->s, "../x", &err), -1);
}

static void test_missing_and_bad_keys(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    rf_buf b = RF_BUF_INIT;
    assert_int_equal(rf_store_get_mem(f->s, "nope", &b, &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
    assert_int_equal(rf_store_get_mem(f->s, "../../etc/passwd", &b, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    assert_int_equal(b.len, 0);
    rf_buf_free(&b);
    rf_store_meta m;
    assert_int_equal(rf_store_head(f->s, "nope", &m, &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
    assert_int_equal(rf_store_put_mem(f->s, "/abs", "x", 1, NULL, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    /* Temp names are reserved so listings can hide them. */
    assert_int_equal(rf_store_put_mem(f->s, "a/.rftmp-x", "x", 1, NULL, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    /* A failed get_file leaves no file and no temp behind. */
    char dst[128];
    snprintf(dst, sizeof dst, "%s/out", f->dir);
    assert_int_equal(rf_store_get_file(f->s, "nope", dst, &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
    assert_int_equal(access(dst, F_OK), -1);
    assert_int_equal(count_names(f->dir, "out"), 0);
    snprintf(dst, sizeof dst, "%s/no/such/dir/out", f->dir);
    put_str(f->s, "k", "v");
    assert_int_equal(rf_store_get_file(f->s, "k", dst, &err), -1);
    assert_int_equal(rf_store_put_file(f->s, "k2", dst, NULL, &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
    assert_int_equal(rf_store_exists(f->s, "k2", &err), 0);
}

/* An object and a prefix cannot share a name on a filesystem. */
static void test_key_prefix_conflict(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    put_str(f->s, "a", "object");
    assert_int_equal(rf_store_put_mem(f->s, "a/b", "x", 1, NULL, &err), -1);
    assert_int_equal(err.code, RF_ECONFLICT);
    put_str(f->s, "p/q", "object");
    assert_int_equal(rf_store_put_mem(f->s, "p", "x", 1, NULL, &err), -1);
    assert_int_equal(err.code, RF_ECONFLICT);
    char *v = get_str(f->s, "p/q");
    assert_string_equal(v, "object");
    free(v);
    char dir[160];
    snprintf(dir, sizeof dir, "%s/root", f->dir);
    assert_int_equal(count_names(dir, ".rftmp-"), 0);
}

/* ---- ranged reads ---- */

static int to_buf(void *ud, const void *p, size_t n)
{
    rf_buf_add(ud, p, n);
    return 0;
}

static void check_range(rf_store *s, uint64_t off, uint64_t len, const char *want)
{
    rf_buf b = RF_BUF_INIT;
    rf_err err = {0};
    if (rf_store_get_stream(s, "r", off, len, to_buf, &b, &err))
        fail_msg("range %llu+%llu: %s", (unsigned long long)off, (unsigned long long)len,
                 err.msg);
    assert_int_equal(b.len, strlen(want));
    if (b.len)
        assert_memory_equal(b.data, want, b.len);
    rf_buf_free(&b);
}

static int stop_at_once(void *ud, const void *p, size_t n)
{
    return -1;
}

static void test_ranged_reads(void **state)
{
    fx *f = *state;
    put_str(f->s, "r", "0123456789");
    check_range(f->s, 0, 0, "0123456789");
    check_range(f->s, 3, 4, "3456");
    check_range(f->s, 7, 0, "789");
    check_range(f->s, 8, 100, "89");   /* clipped at the end, as S3 does */
    check_range(f->s, 10, 0, "");
    rf_err err = {0};
    rf_buf b = RF_BUF_INIT;
    assert_int_equal(rf_store_get_stream(f->s, "r", 11, 1, to_buf, &b, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    assert_int_equal(rf_store_get_stream(f->s, "r", 0, 0, stop_at_once, NULL, &err), -1);
    assert_int_equal(err.code, RF_ECANCEL);
    rf_buf_free(&b);
}

/* ---- listing ---- */

typedef struct seen {
    char keys[32][64];
    int prefix[32];
    uint64_t size[32];
    int n, stop_after;
} seen;

static int collect(void *ud, const char *key, const rf_store_meta *m)
{
    seen *s = ud;
    if (s->n < 32) {
        snprintf(s->keys[s->n], sizeof s->keys[0], "%s", key);
        s->prefix[s->n] = key[strlen(key) - 1] == '/';
        s->size[s->n] = m->size;
        s->n++;
    }
    return s->stop_after && s->n >= s->stop_after;
}

static seen list(rf_store *s, const char *prefix, int recursive)
{
    seen r = {0};
    rf_err err = {0};
    if (rf_store_list(s, prefix, recursive, collect, &r, &err))
        fail_msg("list %s: %s", prefix, err.msg);
    return r;
}

static void test_list(void **state)
{
    fx *f = *state;
    put_str(f->s, "runs/r1/a", "1");
    put_str(f->s, "runs/r1/b", "22");
    put_str(f->s, "runs/r2/x/y", "333");
    put_str(f->s, "runs-old", "4444");
    put_str(f->s, "top", "5");
    /* Leftovers that are not objects: a writer's temp file, an empty dir. */
    char p[256];
    snprintf(p, sizeof p, "%s/root/runs/r1/.rftmp-abc123", f->dir);
    close(open(p, O_CREAT | O_WRONLY, 0600));
    snprintf(p, sizeof p, "%s/root/runs/empty", f->dir);
    mkdir(p, 0755);

    seen r = list(f->s, "", 1);
    assert_int_equal(r.n, 5);
    /* Byte order of whole keys: '-' (0x2d) sorts before '/' (0x2f). */
    assert_string_equal(r.keys[0], "runs-old");
    assert_string_equal(r.keys[1], "runs/r1/a");
    assert_string_equal(r.keys[2], "runs/r1/b");
    assert_string_equal(r.keys[3], "runs/r2/x/y");
    assert_string_equal(r.keys[4], "top");
    assert_int_equal(r.size[0], 4);
    assert_int_equal(r.size[3], 3);

    r = list(f->s, "", 0);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.keys[0], "runs-old");
    assert_string_equal(r.keys[1], "runs/");
    assert_int_equal(r.prefix[1], 1);
    assert_string_equal(r.keys[2], "top");

    r = list(f->s, "runs/", 0);   /* the empty dir is not a prefix */
    assert_int_equal(r.n, 2);
    assert_string_equal(r.keys[0], "runs/r1/");
    assert_string_equal(r.keys[1], "runs/r2/");

    r = list(f->s, "runs/r", 1);
    assert_int_equal(r.n, 3);
    r = list(f->s, "runs", 1);    /* a string prefix, as on S3 */
    assert_int_equal(r.n, 4);
    r = list(f->s, "runs/r1/a", 1);
    assert_int_equal(r.n, 1);
    r = list(f->s, "nothing/here/", 1);
    assert_int_equal(r.n, 0);
    r = list(f->s, "top/below", 1);   /* under an object: nothing, not an error */
    assert_int_equal(r.n, 0);

    seen stop = {.stop_after = 2};
    rf_err err = {0};
    assert_int_equal(rf_store_list(f->s, "", 1, collect, &stop, &err), 0);
    assert_int_equal(stop.n, 2);
    assert_int_equal(rf_store_list(f->s, "../", 1, collect, &stop, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
}

/* ---- writers ---- */

/* Many small writes and some large ones, in any mix, arrive in order. */
static void test_writer_chunks(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    rf_buf want = RF_BUF_INIT;
    rf_store_writer *w;
    assert_int_equal(rf_store_writer_open(f->s, "chunks", NULL, &w, &err), 0);
    unsigned seed = 1;
    for (int i = 0; i < 600; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = i % 97 == 0 ? 300000 + seed % 5000 : seed % 3000;
        char *p = malloc(n + 1);
        for (size_t j = 0; j < n; j++)
            p[j] = (char)(seed >> (j % 24));
        assert_int_equal(rf_store_writer_write(w, p, n, &err), 0);
        rf_buf_add(&want, p, n);
        free(p);
    }
    assert_int_equal(rf_store_writer_commit(w, &err), 0);
    rf_buf got = RF_BUF_INIT;
    assert_int_equal(rf_store_get_mem(f->s, "chunks", &got, &err), 0);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    rf_buf_free(&got);
    rf_buf_free(&want);
}

static void test_writer_abort(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    put_str(f->s, "w/obj", "old");
    rf_store_writer *w;
    assert_int_equal(rf_store_writer_open(f->s, "w/obj", NULL, &w, &err), 0);
    assert_int_equal(rf_store_writer_write(w, "new data", 8, &err), 0);
    char dir[160];
    snprintf(dir, sizeof dir, "%s/root/w", f->dir);
    assert_int_equal(count_names(dir, ".rftmp-"), 1);
    char *v = get_str(f->s, "w/obj");   /* not visible before commit */
    assert_string_equal(v, "old");
    free(v);
    rf_store_writer_abort(w);
    assert_int_equal(count_names(dir, ".rftmp-"), 0);
    v = get_str(f->s, "w/obj");
    assert_string_equal(v, "old");
    free(v);
    rf_store_writer_abort(NULL);

    assert_int_equal(rf_store_writer_open(f->s, "w/obj", NULL, &w, &err), 0);
    assert_int_equal(rf_store_writer_write(w, "new", 3, &err), 0);
    assert_int_equal(rf_store_writer_commit(w, &err), 0);
    v = get_str(f->s, "w/obj");
    assert_string_equal(v, "new");
    free(v);
    assert_int_equal(count_names(dir, ".rftmp-"), 0);

    /* file:// has no storage classes: refused, not silently ignored. */
    rf_put_opts o = {"GLACIER", NULL};
    assert_int_equal(rf_store_put_mem(f->s, "w/cold", "x", 1, &o, &err), -1);
    assert_int_equal(err.code, RF_EUNSUPP);
    o.storage_class = "STANDARD";
    assert_int_equal(rf_store_put_mem(f->s, "w/std", "x", 1, &o, &err), 0);
}

/* Content for version v of an object: distinct size and fill per version,
 * so a reader can tell a whole version from a mix or a prefix. */
static size_t version_size(int v) { return 65536 + (size_t)v * 4099; }

static int check_version(const rf_buf *b)
{
    if (b->len == 0)
        return -1;
    unsigned char c = (unsigned char)b->data[0];
    int v = c - 'A';
    if (v < 0 || v > 25 || b->len != version_size(v))
        return -1;
    for (size_t i = 0; i < b->len; i++)
        if ((unsigned char)b->data[i] != c)
            return -1;
    return v;
}

static void put_version(rf_store *s, const char *key, int v)
{
    size_t n = version_size(v);
    char *p = malloc(n);
    memset(p, 'A' + v, n);
    rf_err err = {0};
    if (rf_store_put_mem(s, key, p, n, NULL, &err))
        fail_msg("put version %d: %s", v, err.msg);
    free(p);
}

/* A forked reader hammers the key while the parent replaces it over and
 * over: every read must be one whole version. */
static void test_atomic_replace(void **state)
{
    fx *f = *state;
    put_version(f->s, "hot/key", 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int bad = 0, reads = 0;
        for (; reads < 400 && !bad; reads++) {
            rf_buf b = RF_BUF_INIT;
            rf_err err = {0};
            if (rf_store_get_mem(f->s, "hot/key", &b, &err) || check_version(&b) < 0)
                bad = 1;
            rf_buf_free(&b);
        }
        _exit(bad);
    }
    int status = 0, v = 1;
    while (waitpid(pid, &status, WNOHANG) == 0)
        put_version(f->s, "hot/key", v++ % 26);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(v > 2);
}

/* Several processes replace one key at once: no write is torn, the final
 * object is one writer's whole version, no temp file is left. */
static void test_concurrent_writers(void **state)
{
    fx *f = *state;
    enum { WRITERS = 4, ROUNDS = 40 };
    pid_t pids[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            rf_err err = {0};
            for (int r = 0; r < ROUNDS; r++) {
                size_t n = version_size(i);
                char *p = malloc(n);
                memset(p, 'A' + i, n);
                if (rf_store_put_mem(f->s, "shared/key", p, n, NULL, &err))
                    _exit(1);
                free(p);
                /* Each writer also creates keys of its own in the same dir. */
                char k[32];
                snprintf(k, sizeof k, "shared/w%d-%d", i, r);
                if (rf_store_put_mem(f->s, k, "x", 1, NULL, &err))
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < WRITERS; i++) {
        int status;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    rf_buf b = RF_BUF_INIT;
    rf_err err = {0};
    assert_int_equal(rf_store_get_mem(f->s, "shared/key", &b, &err), 0);
    int v = check_version(&b);
    assert_true(v >= 0 && v < WRITERS);
    rf_buf_free(&b);
    seen r = list(f->s, "shared/", 1);
    assert_int_equal(r.n, 32);   /* collect() caps at 32; 161 keys exist */
    char dir[160];
    snprintf(dir, sizeof dir, "%s/root/shared", f->dir);
    assert_int_equal(count_names(dir, ".rftmp-"), 0);
    assert_int_equal(count_names(dir, "w"), WRITERS * ROUNDS);
}

/* Deletes prune empty directories while a writer recreates them: writes
 * must still succeed (the writer retries when its directory vanishes). */
static void test_put_while_pruning(void **state)
{
    fx *f = *state;
    enum { ROUNDS = 300 };
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        rf_err err = {0};
        for (int r = 0; r < ROUNDS; r++)
            if (rf_store_delete(f->s, "p/q/r/k", &err))
                _exit(1);
        _exit(0);
    }
    rf_err err = {0};
    int failures = 0;
    for (int r = 0; r < ROUNDS; r++)
        if (rf_store_put_mem(f->s, "p/q/r/k", "v", 1, NULL, &err)) {
            print_message("put failed: %s\n", err.msg);
            failures++;
        }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(failures, 0);
    assert_int_equal(rf_store_put_mem(f->s, "p/q/r/k", "v", 1, NULL, &err), 0);
    char *v = get_str(f->s, "p/q/r/k");
    assert_string_equal(v, "v");
    free(v);
}

/* ---- delete and copy ---- */

static void test_delete(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    put_str(f->s, "d/e/f/obj", "x");
    put_str(f->s, "d/keep", "y");
    assert_int_equal(rf_store_delete(f->s, "d/e/f/obj", &err), 0);
    assert_int_equal(rf_store_exists(f->s, "d/e/f/obj", &err), 0);
    /* Empty parents are pruned (S3 has no directories), up to non-empty d. */
    char p[256];
    snprintf(p, sizeof p, "%s/root/d/e", f->dir);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof p, "%s/root/d", f->dir);
    assert_int_equal(access(p, F_OK), 0);
    /* Deleting a missing key succeeds, as on S3. */
    assert_int_equal(rf_store_delete(f->s, "d/e/f/obj", &err), 0);
    assert_int_equal(rf_store_delete(f->s, "never/was", &err), 0);
    assert_int_equal(rf_store_delete(f->s, "d/..", &err), -1);
    /* The root itself is never pruned. */
    assert_int_equal(rf_store_delete(f->s, "d/keep", &err), 0);
    snprintf(p, sizeof p, "%s/root", f->dir);
    assert_int_equal(access(p, F_OK), 0);

    /* Batch delete: the generic fallback deletes each key. */
    const char *keys[] = {"m/1", "m/2", "m/3"};
    for (int i = 0; i < 3; i++)
        put_str(f->s, keys[i], "z");
    assert_int_equal(rf_store_delete_many(f->s, keys, 3, &err), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rf_store_exists(f->s, keys[i], &err), 0);
    const char *badkeys[] = {"m/4", "../m"};
    put_str(f->s, "m/4", "z");
    assert_int_equal(rf_store_delete_many(f->s, badkeys, 2, &err), -1);
    assert_int_equal(rf_store_exists(f->s, "m/4", &err), 1);   /* validated first */
}

static void test_copy(void **state)
{
    fx *f = *state;
    rf_err err = {0};
    put_str(f->s, "c/src", "payload");
    assert_int_equal(rf_store_copy(f->s, "c/src", "c/dst/deep", NULL, &err), 0);
    char *v = get_str(f->s, "c/dst/deep");
    assert_string_equal(v, "payload");
    free(v);
    v = get_str(f->s, "c/src");
    assert_string_equal(v, "payload");
    free(v);
    /* Copy onto itself keeps the content. */
    assert_int_equal(rf_store_copy(f->s, "c/src", "c/src", NULL, &err), 0);
    v = get_str(f->s, "c/src");
    assert_string_equal(v, "payload");
    free(v);
    put_str(f->s, "c/old", "old");
    assert_int_equal(rf_store_copy(f->s, "c/missing", "c/old", NULL, &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
    v = get_str(f->s, "c/old");
    assert_string_equal(v, "old");
    free(v);

    /* Across stores. */
    char url[160];
    snprintf(url, sizeof url, "file://%s/other", f->dir);
    rf_store *o;
    assert_int_equal(rf_store_open(url, NULL, &o, &err), 0);
    assert_int_equal(rf_store_transfer(f->s, "c/src", o, "x/y", NULL, &err), 0);
    v = get_str(o, "x/y");
    assert_string_equal(v, "payload");
    free(v);
    rf_store_close(o);

    /* restore: file objects are never archived; answered like S3 does. */
    assert_int_equal(rf_store_restore(f->s, "c/src", 1, &err), -1);
    assert_int_equal(err.code, RF_ESTATE);
    assert_int_equal(rf_store_restore(f->s, "c/none", 1, &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
}

/* ---- disk full ---- */

/* A full disk must give a clear error, remove the temp file and leave the
 * previous object intact. */
static void check_disk_full(rf_store *s, const char *dir)
{
    rf_err err = {0};
    put_str(s, "full/obj", "the old version");
    size_t n = 1u << 20;
    char *big = calloc(1, n);
    int rc = rf_store_put_mem(s, "full/obj", big, n, NULL, &err);
    free(big);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, RF_EIO);
    if (!strstr(err.msg, "No space left") && !strstr(err.msg, "File too large"))
        fail_msg("unclear disk-full error: %s", err.msg);
    char *v = get_str(s, "full/obj");
    assert_non_null(v);
    assert_string_equal(v, "the old version");
    free(v);
    char sub[256];
    snprintf(sub, sizeof sub, "%s/full", dir);
    assert_int_equal(count_names(sub, ".rftmp-"), 0);

    /* Through put_file (a kernel-side copy). */
    char src[256];
    snprintf(src, sizeof src, "/tmp/rf-store-full-src.%d", (int)getpid());
    FILE *fp = fopen(src, "wb");
    char block[4096] = {0};
    for (int i = 0; i < 256; i++)
        fwrite(block, 1, sizeof block, fp);
    fclose(fp);
    assert_int_equal(rf_store_put_file(s, "full/obj", src, NULL, &err), -1);
    unlink(src);
    assert_int_equal(err.code, RF_EIO);
    v = get_str(s, "full/obj");
    assert_string_equal(v, "the old version");
    free(v);
    assert_int_equal(count_names(sub, ".rftmp-"), 0);

    /* Small streamed writes: the failure may surface in a later write or
     * only at commit; either way the same outcome. */
    rf_store_writer *w;
    assert_int_equal(rf_store_writer_open(s, "full/obj", NULL, &w, &err), 0);
    char chunk[4096] = {0};
    rc = 0;
    for (int i = 0; i < 256 && rc == 0; i++)
        rc = rf_store_writer_write(w, chunk, sizeof chunk, &err);
    if (rc)
        rf_store_writer_abort(w);
    else
        rc = rf_store_writer_commit(w, &err);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, RF_EIO);
    v = get_str(s, "full/obj");
    assert_string_equal(v, "the old version");
    free(v);
    assert_int_equal(count_names(sub, ".rftmp-"), 0);
}

static void test_disk_full(void **state)
{
    fx *f = *state;
    char mnt[128], url[160];
    snprintf(mnt, sizeof mnt, "%s/tmpfs", f->dir);
    assert_int_equal(mkdir(mnt, 0755), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k") == 0) {
        snprintf(url, sizeof url, "file://%s", mnt);
        rf_store *s;
        rf_err err = {0};
        assert_int_equal(rf_store_open(url, NULL, &s, &err), 0);
        check_disk_full(s, mnt);
        rf_store_close(s);
        assert_int_equal(umount(mnt), 0);
        return;
    }
    /* No permission to mount: a file size limit in a child process makes
     * write() fail the same way (EFBIG instead of ENOSPC). */
    print_message("mount tmpfs: %s; using RLIMIT_FSIZE instead\n", strerror(errno));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {256 << 10, 256 << 10};
        setrlimit(RLIMIT_FSIZE, &rl);
        char root[160];
        snprintf(root, sizeof root, "%s/root", f->dir);
        check_disk_full(f->s, root);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_valid),
        cmocka_unit_test(test_split_url),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_bad_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_prefix_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranged_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_while_pruning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
