/* cmd_watch: `ruvflow watch-dir SOURCE WORKFLOW`, the trigger of online
 * learning. SOURCE is a local folder or a store URL (s3://bucket/prefix,
 * file:///dir). Every scan finds new or grown session logs, copies their new
 * complete lines (rf_tail: a half-written last line waits for the next scan)
 * into a batch folder, and once at least --min-new files have new content,
 * submits WORKFLOW with -p batch=FOLDER and the run id NAME-bN.
 *
 * State lives in Redis (docs/online-learning.md, "Watcher state"), so a
 * watcher killed at any point and restarted neither skips nor repeats a
 * line: a batch is staged in a folder first (redone if the watcher dies),
 * then committed with the new file positions in one Lua script that is
 * fenced on the batch number, then submitted under a run id that a second
 * submission cannot duplicate (an existing run is RF_ECONFLICT: already
 * done). A restarted watcher first submits every committed batch that has
 * no run yet. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd_engine.h"
#include "base/rf_buf.h"
#include "engine/rf_workflow.h"
#include "ml/rf_sessions.h"
#include "ml/rf_tail.h"
#include "store/rf_store.h"

static const char watch_dir_usage[] =
    "usage: ruvflow watch-dir SOURCE WORKFLOW [--name NAME] [--stage DIR] [--every SECONDS]\n"
    "                         [--min-new N] [--once] [-p KEY=VALUE]... [--redis URL]\n"
    "                         [--prefix P]\n"
    "\n"
    "Watch SOURCE (a folder, or a store URL such as s3://bucket/sessions/) for new or\n"
    "grown session logs and submit WORKFLOW with -p batch=FOLDER whenever at least N\n"
    "files have new complete lines. State is kept in Redis under PREFIXwatch:NAME:,\n"
    "so a restarted watcher neither skips nor repeats a line.\n"
    "\n"
    "  --name NAME     name of this watch (default: WORKFLOW's file name)\n"
    "  --stage DIR     where batch folders are written (default .ruvflow/watch/NAME)\n"
    "  --every S       seconds between scans (default 300)\n"
    "  --min-new N     files with new lines needed to submit (default 1)\n"
    "  --once          scan once (and submit what is pending), then exit\n"
    "  -p KEY=VALUE    passed on to the workflow (repeatable)\n"
    "\n"
    "Exit status: 0 stopped, 1 Redis, store or submit failure, 2 usage, 3 SOURCE not found.\n";

typedef struct watch {
    const char *source, *workflow, *stage;
    char name[128];
    double every;
    long min_new;
    int once;
    const char **ov;
    size_t nov;
    engine e;
    rf_store *store;           /* SOURCE as a store URL, else NULL */
    char key_files[256], key_batches[256], key_next[256];
} watch;

/* ---- Redis state ---- */

/* KEYS files batches next; ARGV batch, record, then field/value pairs.
 * Fenced: only the watcher that staged batch N may commit it. */
static const rf_script commit_script = {
    "watch commit",
    "local n = tonumber(redis.call('GET', KEYS[3]) or '1')\n"
    "if n ~= tonumber(ARGV[1]) then return redis.error_reply('batch ' .. ARGV[1] ..\n"
    "  ' already committed by another watcher (next is ' .. n .. ')') end\n"
    "for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end\n"
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
    "redis.call('SET', KEYS[3], n + 1)\n"
    "return n\n"};

static int redis_get_long(watch *w, const char *key, long def, long *out, rf_err *err)
{
    redisReply *r;
    if (rf_redis_cmd(w->e.r, &r, err, "GET %s", key) < 0)
        return -1;
    *out = r->type == REDIS_REPLY_STRING ? atol(r->str) : def;
    freeReplyObject(r);
    return 0;
}

/* The record of a file: NULL when new (caller frees). */
static char *file_record(watch *w, const char *id, rf_err *err, int *failed)
{
    redisReply *r;
    *failed = 0;
    if (rf_redis_cmd(w->e.r, &r, err, "HGET %s %s", w->key_files, id) < 0) {
        *failed = 1;
        return NULL;
    }
    char *s = r->type == REDIS_REPLY_STRING ? rf_xstrdup(r->str) : NULL;
    freeReplyObject(r);
    return s;
}

/* ---- staging ---- */

typedef struct staged {
    rf_buf fields;             /* NUL-separated id, record, id, record ... */
    size_t nfields;
    size_t files, restarted;
    uint64_t lines;
    char dir[1024];
} staged;

static void staged_add(staged *s, const char *id, const char *rec)
{
    rf_buf_add(&s->fields, id, strlen(id) + 1);
    rf_buf_add(&s->fields, rec, strlen(rec) + 1);
    s->nfields += 2;
}

typedef struct line_sink {
    FILE *f;
    const char *path;
} line_sink;

static int write_line(void *ud, const char *line, size_t len, uint64_t lineno, rf_err *err)
{
    (void)lineno;
    line_sink *k = ud;
    if (fwrite(line, 1, len, k->f) != len || fputc('\n', k->f) == EOF)
        return rf_err_errno(err, "write %s", k->path);
    return 0;
}

static void staged_name(const staged *s, const char *id, char *out, size_t n)
{
    char flat[512];
    size_t j = 0;
    for (const char *p = id; *p && j + 1 < sizeof flat; p++)
        flat[j++] = *p == '/' || *p == ':' ? '_' : *p;
    flat[j] = 0;
    snprintf(out, n, "%s/%04zu-%s", s->dir, s->files, flat);
}

/* New complete lines of the local file `path` after record `rec` (NULL for a
 * new file) into the batch; *changed when there were any. */
static int stage_plain(staged *s, const char *id, const char *path, const char *rec,
                       rf_err *err)
{
    rf_tail_pos pos = {0};
    if (rec && rf_tail_pos_parse(rec, &pos, err) != 0)
        return rf_err_prefix(err, "watch state of %s", id);
    char out[1600];
    staged_name(s, id, out, sizeof out);
    if (!strstr(out + strlen(s->dir), ".json"))
        strncat(out, ".jsonl", sizeof out - strlen(out) - 1);
    line_sink k = {fopen(out, "w"), out};
    if (!k.f)
        return rf_err_errno(err, "create %s", out);
    int restarted;
    uint64_t before = pos.lines;
    int rc = rf_tail_read(path, &pos, 0, write_line, &k, &restarted, NULL, err);
    if (fclose(k.f) != 0 && rc == 0)
        rc = rf_err_errno(err, "write %s", out);
    if (rc != 0) {
        unlink(out);
        return -1;
    }
    uint64_t got = restarted ? pos.lines : pos.lines - before;
    if (restarted)
        fprintf(stderr, "ruvflow watch-dir: %s was replaced by a shorter or different file: "
                "reading it again from the start\n", id);
    if (got == 0 && !restarted) {
        unlink(out);
        return 0;
    }
    char r[RF_TAIL_POS_MAX];
    rf_tail_pos_format(&pos, r);
    staged_add(s, id, r);
    s->files++;
    s->lines += got;
    s->restarted += (size_t)restarted;
    return 0;
}

/* A compressed file cannot be resumed: it is staged whole when its size or
 * modification time changed. Record "z:SIZE:MTIME". */
static int stage_compressed(staged *s, const char *id, const char *path, const char *rec,
                            rf_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return rf_err_errno(err, "stat %s", path);
    char r[96];
    snprintf(r, sizeof r, "z:%lld:%lld", (long long)st.st_size, (long long)st.st_mtime);
    if (rec && strcmp(rec, r) == 0)
        return 0;
    char out[1600];
    staged_name(s, id, out, sizeof out);
    if (link(path, out) != 0) {
        FILE *in = fopen(path, "rb"), *o = fopen(out, "wb");
        int ok = in && o;
        char tmp[65536];
        size_t n;
        while (ok && (n = fread(tmp, 1, sizeof tmp, in)) > 0)
            ok = fwrite(tmp, 1, n, o) == n;
        if (in)
            fclose(in);
        if (o && fclose(o) != 0)
            ok = 0;
        if (!ok) {
            unlink(out);
            return rf_err_errno(err, "copy %s to %s", path, out);
        }
    }
    staged_add(s, id, r);
    s->files++;
    return 0;
}

static int is_compressed_file(const char *path)
{
    unsigned char m[4] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(m, 1, 4, f) : 0;
    if (f)
        fclose(f);
    return (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) ||
           (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd);
}

static int stage_local_file(watch *w, staged *s, const char *path, rf_err *err)
{
    int failed;
    char *rec = file_record(w, path, err, &failed);
    if (failed)
        return -1;
    int rc = is_compressed_file(path) || (rec && strncmp(rec, "z:", 2) == 0)
                 ? stage_compressed(s, path, path, rec, err)
                 : stage_plain(s, path, path, rec, err);
    free(rec);
    return rc;
}

static int scan_local(watch *w, staged *s, rf_err *err)
{
    rf_file_list l = {0};
    if (rf_file_list_add(&l, w->source, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < l.n && rc == 0; i++)
        rc = stage_local_file(w, s, l.paths[i], err);
    rf_file_list_free(&l);
    return rc;
}

/* ---- store sources (s3://, file:// URLs) ---- */

typedef struct obj_list {
    char **keys, **etags;
    size_t n, cap;
} obj_list;

static int is_log_key(const char *k)
{
    static const char *const ext[] = {".jsonl", ".ndjson", ".json", ".jsonl.gz",
                                      ".jsonl.zst", ".json.gz", ".json.zst"};
    size_t n = strlen(k);
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        size_t m = strlen(ext[i]);
        if (n > m && strcmp(k + n - m, ext[i]) == 0)
            return 1;
    }
    return 0;
}

static int collect_obj(void *ud, const char *key, const rf_store_meta *m)
{
    obj_list *l = ud;
    if (!is_log_key(key))
        return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->keys = rf_xrealloc(l->keys, l->cap * sizeof *l->keys);
        l->etags = rf_xrealloc(l->etags, l->cap * sizeof *l->etags);
    }
    char tag[128];
    snprintf(tag, sizeof tag, "%s/%llu", m->etag, (unsigned long long)m->size);
    l->keys[l->n] = rf_xstrdup(key);
    l->etags[l->n++] = rf_xstrdup(tag);
    return 0;
}

static void obj_list_free(obj_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->keys[i]), free(l->etags[i]);
    free(l->keys), free(l->etags);
}

/* Record of an object: "s:ETAG/SIZE|INNER", INNER as for a local file. An
 * unchanged ETAG/SIZE is not downloaded again. */
static int stage_object(watch *w, staged *s, const char *key, const char *tag, rf_err *err)
{
    char id[1200];
    snprintf(id, sizeof id, "%s/%s", w->store->url, key);
    int failed;
    char *rec = file_record(w, id, err, &failed);
    if (failed)
        return -1;
    const char *bar = rec ? strchr(rec, '|') : NULL;
    if (rec && bar && (size_t)(bar - rec) == strlen(tag) + 2 &&
        strncmp(rec + 2, tag, strlen(tag)) == 0) {
        free(rec);
        return 0;
    }
    char cache[1600];
    snprintf(cache, sizeof cache, "%s/.download", s->dir);
    int rc = rf_store_get_file(w->store, key, cache, err);
    if (rc != 0)
        rf_err_prefix(err, "watch %s", id);
    size_t before = s->nfields;
    const char *inner = bar ? bar + 1 : NULL;
    if (rc == 0)
        rc = is_compressed_file(cache) ? stage_compressed(s, id, cache, inner, err)
                                       : stage_plain(s, id, cache, inner, err);
    if (rc == 0 && s->nfields > before) {
        /* wrap the inner record with the object's tag */
        const char *in = s->fields.data + s->fields.len - 1;
        while (in > s->fields.data && in[-1])
            in--;
        char full[256];
        snprintf(full, sizeof full, "s:%s|%s", tag, in);
        s->fields.len = (size_t)(in - s->fields.data);
        rf_buf_add(&s->fields, full, strlen(full) + 1);
    }
    unlink(cache);
    free(rec);
    return rc;
}

static int scan_store(watch *w, staged *s, const char *prefix, rf_err *err)
{
    obj_list l = {0};
    int rc = rf_store_list(w->store, prefix, 1, collect_obj, &l, err);
    if (rc != 0)
        rf_err_prefix(err, "list %s", w->source);
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        rc = stage_object(w, s, l.keys[i], l.etags[i], err);
    obj_list_free(&l);
    return rc;
}

/* ---- commit and submit ---- */

static void fault(const char *where)
{
    const char *f = getenv("RUVFLOW_WATCH_FAULT");   /* tests: die here, as kill -9 */
    if (f && strcmp(f, where) == 0)
        raise(SIGKILL);
}

static void run_id(const watch *w, long n, char *out, size_t len)
{
    snprintf(out, len, "%s-b%ld", w->name, n);
}

static int commit(watch *w, long n, const staged *s, rf_err *err)
{
    size_t argc = 5 + 2 + s->nfields;
    const char **argv = rf_xcalloc(argc, sizeof *argv);
    char nb[32], record[1200];
    snprintf(nb, sizeof nb, "%ld", n);
    snprintf(record, sizeof record, "staged %s", s->dir);
    argv[0] = w->key_files, argv[1] = w->key_batches, argv[2] = w->key_next;
    argv[3] = nb, argv[4] = record;
    const char *p = s->fields.data;
    for (size_t i = 0; i < s->nfields; i++, p += strlen(p) + 1)
        argv[5 + i] = p;
    rf_redis_call c = {&commit_script, 3, (int)(5 + s->nfields), argv, NULL, NULL};
    int rc = rf_redis_eval_many(w->e.r, &c, 1, err);
    if (c.reply)
        freeReplyObject(c.reply);
    free(argv);
    return rc;
}

static int submit_batch(watch *w, long n, const char *dir, rf_err *err)
{
    const char **ov = rf_xcalloc(w->nov + 1, sizeof *ov);
    memcpy(ov, w->ov, w->nov * sizeof *ov);
    char bp[1200];
    snprintf(bp, sizeof bp, "batch=%s", dir);
    ov[w->nov] = bp;
    rf_workflow *wf;
    rf_wf_diags d = {0};
    int rc = rf_workflow_load(w->workflow, ov, w->nov + 1, &wf, &d, err);
    free(ov);
    if (rc != 0) {
        rf_wf_diags_print(&d, w->workflow, stderr);
        rf_wf_diags_free(&d);
        return -1;
    }
    char id[200];
    run_id(w, n, id, sizeof id);
    rf_submit_opts so = {0, id};
    char *run = NULL;
    rc = rf_sched_submit(w->e.s, wf, &so, &run, err);
    rf_workflow_free(wf);
    free(run);
    if (rc != 0 && err->code == RF_ECONFLICT)
        rc = 0;   /* submitted before the watcher died: the same run */
    if (rc != 0)
        return rf_err_prefix(err, "submit batch %ld", n);
    fault("submitted");
    redisReply *r;
    char rec[300];
    snprintf(rec, sizeof rec, "submitted %s", id);
    if (rf_redis_cmd(w->e.r, &r, err, "HSET %s %ld %s", w->key_batches, n, rec) < 0)
        return -1;
    freeReplyObject(r);
    printf("batch %ld: submitted run %s (%s)\n", n, id, dir);
    fflush(stdout);
    return 0;
}

/* Committed batches without a run (the watcher died between the two). */
static int submit_pending(watch *w, rf_err *err)
{
    redisReply *r;
    if (rf_redis_cmd(w->e.r, &r, err, "HGETALL %s", w->key_batches) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i + 1 < r->elements; i += 2)
        if (strncmp(r->element[i + 1]->str, "staged ", 7) == 0)
            rc = submit_batch(w, atol(r->element[i]->str), r->element[i + 1]->str + 7, err);
    freeReplyObject(r);
    return rc;
}

static int make_dirs(const char *path, rf_err *err)
{
    char p[1024];
    snprintf(p, sizeof p, "%s", path);
    for (char *q = p + 1; *q; q++)
        if (*q == '/') {
            *q = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return rf_err_errno(err, "mkdir %s", p);
            *q = '/';
        }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return rf_err_errno(err, "mkdir %s", p);
    return 0;
}

/* Remove a batch folder that was staged but not committed (flat: the
 * watcher writes only files into it). */
static void rm_staged(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* One scan: stage batch N; commit and submit it when big enough. */
static int scan_once(watch *w, rf_err *err)
{
    long n;
    if (redis_get_long(w, w->key_next, 1, &n, err) < 0)
        return -1;
    staged s = {RF_BUF_INIT, 0, 0, 0, 0, ""};
    snprintf(s.dir, sizeof s.dir, "%s/batch-%06ld", w->stage, n);
    rm_staged(s.dir);   /* left by a watcher that died before committing */
    int rc = make_dirs(s.dir, err);
    if (rc == 0)
        rc = w->store ? scan_store(w, &s, "", err)
                      : scan_local(w, &s, err);
    if (rc == 0 && (long)s.files >= w->min_new && s.files > 0) {
        fault("staged");
        rc = commit(w, n, &s, err);
        if (rc == 0) {
            printf("batch %ld: %zu files, %llu new lines%s\n", n, s.files,
                   (unsigned long long)s.lines, s.restarted ? " (some files started over)" : "");
            fflush(stdout);
            fault("committed");
            rc = submit_batch(w, n, s.dir, err);
        }
    } else if (rc == 0) {
        rm_staged(s.dir);
    }
    rf_buf_free(&s.fields);
    return rc;
}

/* ---- the verb ---- */

static volatile sig_atomic_t watch_stop;

static void on_stop(int sig)
{
    (void)sig;
    watch_stop = 1;
}

static int parse_args(watch *w, int argc, char **argv, const char **redis, const char **prefix)
{
    w->every = 300;
    w->min_new = 1;
    w->ov = rf_xcalloc((size_t)argc + 1, sizeof *w->ov);
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return fputs(watch_dir_usage, stdout), 0;
        else if (!strcmp(a, "-p") && more)
            w->ov[w->nov++] = argv[++i];
        else if (!strcmp(a, "--name") && more)
            name = argv[++i];
        else if (!strcmp(a, "--stage") && more)
            w->stage = argv[++i];
        else if (!strcmp(a, "--every") && more)
            w->every = atof(argv[++i]);
        else if (!strcmp(a, "--min-new") && more)
            w->min_new = atol(argv[++i]);
        else if (!strcmp(a, "--redis") && more)
            *redis = argv[++i];
        else if (!strcmp(a, "--prefix") && more)
            *prefix = argv[++i];
        else if (!strcmp(a, "--once"))
            w->once = 1;
        else if (a[0] == '-' || (w->source && w->workflow))
            return fputs(watch_dir_usage, stderr), 2;
        else if (!w->source)
            w->source = a;
        else
            w->workflow = a;
    }
    if (!w->source || !w->workflow || w->every < 0 || w->min_new < 1)
        return fputs(watch_dir_usage, stderr), 2;
    if (!name) {
        const char *b = strrchr(w->workflow, '/');
        b = b ? b + 1 : w->workflow;
        snprintf(w->name, sizeof w->name, "%.*s", (int)strcspn(b, "."), b);
    } else {
        snprintf(w->name, sizeof w->name, "%s", name);
    }
    return -1;   /* go on */
}

static void pause_for(double s)
{
    for (double t = 0; t < s && !watch_stop; t += 0.05) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int watch_loop(watch *w)
{
    rf_err err;
    int rc = 0;
    while (!watch_stop) {
        if (submit_pending(w, &err) != 0 || scan_once(w, &err) != 0) {
            fprintf(stderr, "ruvflow watch-dir: %s\n", err.msg);
            rc = err.code == RF_ENOTFOUND ? 3 : err.code == RF_EINVAL ? 2 : 1;
            if (w->once || err.code == RF_EAUTH || err.code == RF_EINVAL ||
                err.code == RF_ENOTFOUND)
                break;   /* nothing a retry would fix */
        } else if (w->once) {
            break;
        }
        pause_for(w->every);
    }
    return rc;
}

RF_CMD(watch_dir)
{
    watch w;
    memset(&w, 0, sizeof w);
    const char *redis = NULL, *prefix = NULL;
    int rc = parse_args(&w, argc, argv, &redis, &prefix);
    if (rc >= 0) {
        free(w.ov);
        return rc;
    }
    /* batch folders are named in runs: absolute, whatever the cwd of a worker */
    char stage[1024], cwd[512];
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, ".");
    if (!w.stage)
        snprintf(stage, sizeof stage, "%s/%s/watch/%s", cwd, RF_STACK_DIR, w.name);
    else if (w.stage[0] != '/')
        snprintf(stage, sizeof stage, "%s/%s", cwd, w.stage);
    else
        snprintf(stage, sizeof stage, "%s", w.stage);
    w.stage = stage;
    rf_err err;
    struct stat st;
    if (strstr(w.source, "://")) {
        if (rf_store_open(w.source, NULL, &w.store, &err) != 0) {
            fprintf(stderr, "ruvflow watch-dir: %s\n", err.msg);
            free(w.ov);
            return err.code == RF_EINVAL ? 2 : 1;
        }
    } else if (stat(w.source, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ruvflow watch-dir: %s: not a folder\n", w.source);
        free(w.ov);
        return 3;
    }
    if (engine_open(&w.e, engine_redis_url(redis), engine_prefix(prefix), 3000, NULL,
                    NULL, &err) < 0) {
        fprintf(stderr, "ruvflow watch-dir: %s\n", err.msg);
        rf_store_close(w.store);
        free(w.ov);
        return 1;
    }
    const char *p = engine_prefix(prefix);
    snprintf(w.key_files, sizeof w.key_files, "%swatch:%s:files", p, w.name);
    snprintf(w.key_batches, sizeof w.key_batches, "%swatch:%s:batches", p, w.name);
    snprintf(w.key_next, sizeof w.key_next, "%swatch:%s:next", p, w.name);
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    rc = watch_loop(&w);
    engine_close(&w.e);
    rf_store_close(w.store);
    free(w.ov);
    return rc;
}

/* ---- what `ruvflow status` shows of online runs ---- */

static double metric_of(json_t *m, const char *k)
{
    json_t *v = json_object_get(m, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void print_online_task(FILE *f, const char *step, size_t i, json_t *m)
{
    if (metric_of(m, "bootstrap") == 1) {
        fprintf(f, "  online %s/%zu: bootstrap, version %.0f in production (holdout accuracy "
                "%.3f, majority %.3f, previous tool %.3f)\n", step, i, metric_of(m, "version"),
                metric_of(m, "holdout_acc"), metric_of(m, "holdout_majority_acc"),
                metric_of(m, "holdout_previous_acc"));
        return;
    }
    int drift = metric_of(m, "drift") == 1;
    fprintf(f, "  online %s/%zu: prequential accuracy %.3f (majority %.3f, previous tool %.3f); "
            "drift %s (Page-Hinkley %s, PSI labels %.2f, features %.2f)%s\n", step, i,
            metric_of(m, "prequential_acc"), metric_of(m, "majority_acc"),
            metric_of(m, "previous_acc"), drift ? "DETECTED" : "no",
            metric_of(m, "page_hinkley") == 1 ? "fired" : "quiet", metric_of(m, "psi_labels"),
            metric_of(m, "psi_features_mean"), drift ? ": larger replay share" : "");
    fprintf(f, "  online %s/%zu: %s; version %.0f in production\n", step, i,
            metric_of(m, "promoted") == 1 ? "update promoted" : "update gated out, production kept",
            metric_of(m, "version"));
}

void cmd_online_status(rf_sched *s, const rf_run_status *st, FILE *f)
{
    for (size_t i = 0; i < st->nsteps; i++) {
        if (strcmp(st->steps[i].worker, "train-stage") != 0)
            continue;
        char *js = NULL;
        rf_err err;
        if (rf_sched_results(s, st->id, st->steps[i].name, &js, &err) != 0)
            continue;
        json_t *a = json_loads(js, 0, NULL);
        free(js);
        for (size_t k = 0; json_is_array(a) && k < json_array_size(a); k++) {
            json_t *m = json_object_get(json_array_get(a, k), "m");
            if (json_is_object(m) && json_object_get(m, "promoted") &&
                json_object_get(m, "version"))
                print_online_task(f, st->steps[i].name, k, m);
        }
        json_decref(a);
    }
}
