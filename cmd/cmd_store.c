/* cmd_store: `ruvflow store put|get|ls|head|rm|cp|tier|restore`, the object
 * store from the shell. Every URL is a full object URL (file:///dir/key or
 * s3://bucket/key); see docs/storage.md. */
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "base/rf_buf.h"
#include "base/rf_config.h"
#include "store/rf_store.h"
#include "store/rf_tier.h"

typedef struct sub {
    const char *name;
    int (*fn)(int argc, char **argv, const rf_config *cfg, rf_err *err);
    int min_args, max_args;  /* positional arguments */
    const char *usage;
    const char *help;
} sub;

/* An opened object URL: the store it lives in and its key. */
typedef struct target {
    rf_store *store;
    char *key;
} target;

static int target_open(const char *url, const rf_config *cfg, target *t, rf_err *err)
{
    char *store_url;
    t->store = NULL;
    if (rf_store_split_url(url, &store_url, &t->key, err))
        return -1;
    int rc = rf_store_open(store_url, cfg, &t->store, err);
    free(store_url);
    if (rc) {
        free(t->key);
        t->key = NULL;
    }
    return rc;
}

static void target_close(target *t)
{
    rf_store_close(t->store);
    free(t->key);
}

static const char *basename_of(const char *key)
{
    const char *s = strrchr(key, '/');
    return s ? s + 1 : key;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- put ---- */

static int put_stdin(target *t, rf_err *err)
{
    rf_store_writer *w;
    if (rf_store_writer_open(t->store, t->key, NULL, &w, err))
        return -1;
    static char buf[1 << 16];
    for (;;) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rf_store_writer_abort(w);
            return rf_err_errno(err, "read stdin");
        }
        if (r == 0)
            break;
        if (rf_store_writer_write(w, buf, (size_t)r, err)) {
            rf_store_writer_abort(w);
            return -1;
        }
    }
    return rf_store_writer_commit(w, err);
}

/* "put FILE URL/" and "cp URL DIR/" keep the source's name, as cp(1) does. */
static void keep_name(target *t, const char *src)
{
    size_t n = strlen(t->key);
    if (n > 0 && t->key[n - 1] != '/')
        return;
    char *k = rf_xmalloc(n + strlen(basename_of(src)) + 1);
    sprintf(k, "%s%s", t->key, basename_of(src));
    free(t->key);
    t->key = k;
}

static int do_put(int argc, char **argv, const rf_config *cfg, rf_err *err)
{
    target t;
    if (target_open(argv[1], cfg, &t, err))
        return -1;
    if (strcmp(argv[0], "-"))
        keep_name(&t, argv[0]);
    int rc = !strcmp(argv[0], "-") ? put_stdin(&t, err)
                                   : rf_store_put_file(t.store, t.key, argv[0], NULL, err);
    target_close(&t);
    return rc;
}

/* ---- get ---- */

static int to_stdout(void *ud, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(1, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            *(int *)ud = errno;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int do_get(int argc, char **argv, const rf_config *cfg, rf_err *err)
{
    target t;
    if (target_open(argv[0], cfg, &t, err))
        return -1;
    int rc;
    if (!strcmp(argv[1], "-")) {
        int werr = 0;
        rc = rf_store_get_stream(t.store, t.key, 0, 0, to_stdout, &werr, err);
        if (rc && werr) {
            errno = werr;
            rf_err_errno(err, "write stdout");
        }
    } else if (is_dir(argv[1])) {
        char *path = rf_xmalloc(strlen(argv[1]) + strlen(t.key) + 2);
        sprintf(path, "%s/%s", argv[1], basename_of(t.key));
        rc = rf_store_get_file(t.store, t.key, path, err);
        free(path);
    } else {
        rc = rf_store_get_file(t.store, t.key, argv[1], err);
    }
    target_close(&t);
    return rc;
}

/* ---- ls ---- */

typedef struct ls_ctx {
    const char *base;   /* store URL, to print full URLs */
    int json;           /* one JSON object a line */
} ls_ctx;

static void ls_json(const ls_ctx *c, const char *key, const rf_store_meta *m)
{
    rf_buf url = RF_BUF_INIT;
    rf_buf_addf(&url, "%s/%s", c->base, key);
    size_t n = strlen(key);
    json_t *o = n && key[n - 1] == '/'
        ? json_pack("{s:s,s:s,s:b}", "url", url.data, "key", key, "prefix", 1)
        : json_pack("{s:s,s:s,s:b,s:I,s:I,s:s}", "url", url.data, "key", key, "prefix", 0,
                    "size", (json_int_t)m->size, "mtime", (json_int_t)m->mtime,
                    "storage_class", m->storage_class);
    json_dumpf(o, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(o);
    rf_buf_free(&url);
}

static int ls_print(void *ud, const char *key, const rf_store_meta *m)
{
    const ls_ctx *c = ud;
    size_t n = strlen(key);
    if (c->json) {
        ls_json(c, key, m);
        return 0;
    }
    if (n && key[n - 1] == '/') {   /* a common prefix */
        printf("%19s %12s  %s/%s\n", "", "PRE", c->base, key);
        return 0;
    }
    char when[32];
    struct tm tm;
    time_t t = (time_t)m->mtime;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
    printf("%s %12llu  %s/%s\n", when, (unsigned long long)m->size, c->base, key);
    return 0;
}

static int do_ls(int argc, char **argv, const rf_config *cfg, rf_err *err)
{
    int recursive = 0, json = 0;
    const char *url = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-r") || !strcmp(argv[i], "--recursive"))
            recursive = 1;
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (url)
            return rf_errf(err, RF_EINVAL, "ls takes one URL");
        else
            url = argv[i];
    }
    if (!url)
        return rf_errf(err, RF_EINVAL, "ls needs a URL");
    target t;
    if (target_open(url, cfg, &t, err))
        return -1;
    ls_ctx c = {t.store->url, json};
    int rc = rf_store_list(t.store, t.key, recursive, ls_print, &c, err);
    target_close(&t);
    return rc;
}

/* ---- head ---- */

static const char *restore_state_name(int s)
{
    static const char *names[] = {"readable", "archived (restore required)",
                                  "restore in progress", "restored copy available"};
    return s >= 0 && s < 4 ? names[s] : "unknown";
}

static int do_head(int argc, char **argv, const rf_config *cfg, rf_err *err)
{
    target t;
    if (target_open(argv[0], cfg, &t, err))
        return -1;
    rf_store_meta m;
    int rc = rf_store_head(t.store, t.key, &m, err);
    if (rc == 0) {
        char when[32];
        struct tm tm;
        time_t tt = (time_t)m.mtime;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
        printf("url: %s\nsize: %llu\nmtime: %s\netag: %s\nstorage_class: %s\nstate: %s\n",
               argv[0], (unsigned long long)m.size, when, m.etag,
               m.storage_class[0] ? m.storage_class : "-", restore_state_name(m.restore_state));
    }
    target_close(&t);
    return rc;
}

/* ---- rm, cp ---- */

static int do_rm(int argc, char **argv, const rf_config *cfg, rf_err *err)
{
    for (int i = 0; i < argc; i++) {
        target t;
        if (target_open(argv[i], cfg, &t, err))
            return -1;
        int rc = rf_store_delete(t.store, t.key, err);
        target_close(&t);
        if (rc)
            return rf_err_prefix(err, "%s", argv[i]);
    }
    return 0;
}

static int do_cp(int argc, char **argv, const rf_config *cfg, rf_err *err)
{
    target src, dst;
    if (target_open(argv[0], cfg, &src, err))
        return -1;
    if (target_open(argv[1], cfg, &dst, err)) {
        target_close(&src);
        return -1;
    }
    keep_name(&dst, src.key);
    int rc;
    if (!strcmp(src.store->url, dst.store->url))   /* server-side where possible */
        rc = rf_store_copy(src.store, src.key, dst.key, NULL, err);
    else
        rc = rf_store_transfer(src.store, src.key, dst.store, dst.key, NULL, err);
    target_close(&src);
    target_close(&dst);
    return rc;
}

/* ---- tier, restore ---- */

static int do_tier(int argc, char **argv, const rf_config *cfg, rf_err *err)
{
    int to = rf_tier_parse(argv[1]);
    if (to < 0)
        return rf_errf(err, RF_EINVAL, "unknown tier \"%s\" (hot, warm or cold)", argv[1]);
    rf_tiers t;
    if (rf_tiers_open(&t, cfg, err))
        return -1;
    int from;
    char *key;
    int rc = rf_tiers_locate(&t, argv[0], &from, &key, err);
    if (rc == 0) {
        rc = rf_tier_move(&t, key, from, to, err);
        if (rc == 0)
            printf("%s/%s\n", t.url[to], key);
        free(key);
    }
    rf_tiers_close(&t);
    return rc;
}

static int do_restore(int argc, char **argv, const rf_config *cfg, rf_err *err)
{
    int days = 1;
    const char *url = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--days") && i + 1 < argc) {
            char *end;
            long d = strtol(argv[++i], &end, 10);
            if (*end || d < 1 || d > 36500)
                return rf_errf(err, RF_EINVAL, "--days: expected 1 to 36500");
            days = (int)d;
        } else if (url) {
            return rf_errf(err, RF_EINVAL, "restore takes one URL");
        } else {
            url = argv[i];
        }
    }
    if (!url)
        return rf_errf(err, RF_EINVAL, "restore needs a URL");
    target t;
    if (target_open(url, cfg, &t, err))
        return -1;
    int rc = rf_store_restore(t.store, t.key, days, err);
    if (rc == 0)
        printf("restore started: %s (poll with `ruvflow store head`)\n", url);
    target_close(&t);
    return rc;
}

static const sub subs[] = {
    {"put", do_put, 2, 2, "put LOCAL|- URL",
     "Upload a local file (or stdin) as the object URL, atomically; URL/ keeps the name."},
    {"get", do_get, 2, 2, "get URL LOCAL|-",
     "Download an object to a file (atomically, via a temp file) or stdout."},
    {"ls", do_ls, 1, 3, "ls URL [-r] [--json]",
     "List objects whose key starts with URL's key; -r descends into prefixes;\n"
     "                             --json: one object a line (url, key, prefix, size, mtime,\n"
     "                             storage_class)."},
    {"head", do_head, 1, 1, "head URL", "Show an object's size, mtime, etag, class, state."},
    {"rm", do_rm, 1, 1000, "rm URL...", "Delete objects (a missing object is not an error)."},
    {"cp", do_cp, 2, 2, "cp SRC_URL DST_URL",
     "Copy an object, across stores too; DST ending in '/' keeps the name."},
    {"tier", do_tier, 2, 2, "tier URL hot|warm|cold",
     "Move an object (URL inside a configured tier) to another tier, never losing it."},
    {"restore", do_restore, 1, 3, "restore URL [--days N]",
     "Start restoring an archived (GLACIER/DEEP_ARCHIVE) object for N days (default 1)."},
};
#define NSUBS (sizeof subs / sizeof subs[0])

static void usage(FILE *f)
{
    fputs("usage: ruvflow store VERB ARGS   (URLs: file:///dir/key, s3://bucket/key)\n\n", f);
    for (size_t i = 0; i < NSUBS; i++)
        fprintf(f, "  %-26s %s\n", subs[i].usage, subs[i].help);
}

RF_CMD(store)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const sub *s = NULL;
    for (size_t i = 0; i < NSUBS; i++)
        if (!strcmp(argv[1], subs[i].name))
            s = &subs[i];
    if (!s) {
        fprintf(stderr, "ruvflow store: unknown verb \"%s\"\n\n", argv[1]);
        usage(stderr);
        return 2;
    }
    int nargs = argc - 2;
    char **args = argv + 2;
    for (int i = 0; i < nargs; i++)
        if (!strcmp(args[i], "--help") || !strcmp(args[i], "-h")) {
            printf("usage: ruvflow store %s\n\n%s\n", s->usage, s->help);
            return 0;
        }
    if (nargs < s->min_args || nargs > s->max_args) {
        fprintf(stderr, "usage: ruvflow store %s\n", s->usage);
        return 2;
    }
    rf_config cfg;
    rf_err err = {0};
    if (rf_config_load(&cfg, NULL, &err)) {
        fprintf(stderr, "ruvflow store %s: %s\n", s->name, err.msg);
        return rf_err_exit_status(&err);
    }
    int rc = s->fn(nargs, args, &cfg, &err);
    rf_config_free(&cfg);
    if (rc) {
        fprintf(stderr, "ruvflow store %s: %s\n", s->name, err.msg);
        return rf_err_exit_status(&err);
    }
    return 0;
}
