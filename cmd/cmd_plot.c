/* cmd_plot: `ruvflow plot` draws training curves (loss and accuracy per
 * epoch) as SVG, or PNG through ImageMagick when the output ends in .png.
 *
 *   ruvflow plot RUN STEP -o curves.svg     the run's "epoch" series, read
 *                                           from Redis (rf:run:RUN:progress,
 *                                           docs/redis-schema.md)
 *   ruvflow plot --progress PATH -o F.svg   a local progress.jsonl (or the
 *                                           --out DIR of a local run)
 *
 * A resumed task repeats the epochs after its last checkpoint; the last
 * point of each epoch wins, so the curve shows what the model went through. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd_engine.h"
#include "cmd.h"
#include "base/rf_buf.h"
#include "base/rf_config.h"
#include "base/rf_err.h"
#include "ml/rf_plot.h"
#include "ml/rf_plot_tune.h"
#include "cmd_plot_tune.h"
#include "engine/rf_redis.h"

typedef struct curve {
    rf_plot_epoch *v;
    size_t n, cap;
} curve;

static void usage(FILE *f)
{
    fputs("usage: ruvflow plot RUN STEP -o FILE.svg|FILE.png [--config FILE] [--title T]\n"
          "       ruvflow plot --progress DIR|progress.jsonl -o FILE [--title T]\n"
          "       ruvflow plot --trials trials.jsonl|trial.json [--trials ...] -o FILE\n", f);
}

/* Set one field of the point for `epoch` (created NaN-filled on demand). */
static void curve_set(curve *c, double epoch, const char *key, double v)
{
    size_t i = 0;
    while (i < c->n && c->v[i].epoch != epoch)
        i++;
    if (i == c->n) {
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 64;
            c->v = rf_xrealloc(c->v, c->cap * sizeof *c->v);
        }
        c->v[c->n++] = (rf_plot_epoch){epoch, NAN, NAN, NAN, NAN};
    }
    rf_plot_epoch *p = &c->v[i];
    if (!strcmp(key, "train_loss"))
        p->train_loss = v;
    else if (!strcmp(key, "val_loss"))
        p->val_loss = v;
    else if (!strcmp(key, "train_acc"))
        p->train_acc = v;
    else if (!strcmp(key, "val_acc"))
        p->val_acc = v;
}

static int by_epoch(const void *a, const void *b)
{
    double x = ((const rf_plot_epoch *)a)->epoch, y = ((const rf_plot_epoch *)b)->epoch;
    return (x > y) - (x < y);
}

static int read_jsonl(const char *arg, curve *c, rf_err *err)
{
    char path[4096];
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(path, sizeof path, "%s/progress.jsonl", arg);
    else
        snprintf(path, sizeof path, "%s", arg);
    FILE *f = fopen(path, "r");
    if (!f)
        return rf_err_errno(err, "open %s", path);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    int rc = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!json_is_object(o)) {
            json_decref(o);
            rc = rf_errf(err, RF_ECORRUPT, "%s:%zu: not a JSON object", path, lineno);
            break;
        }
        const char *series = json_string_value(json_object_get(o, "series"));
        json_t *step = json_object_get(o, "step");
        if (series && !strcmp(series, "epoch") && json_is_number(step)) {
            const char *k;
            json_t *v;
            json_object_foreach(o, k, v) {
                /* null is how NaN (no validation split) is written */
                curve_set(c, json_number_value(step), k, json_is_number(v)
                          ? json_number_value(v) : NAN);
            }
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    return rc;
}

/* ---- from Redis ------------------------------------------------------------ */

typedef struct task_step {   /* task id -> its step, looked up once */
    char *task;
    int match;
} task_step;

static int task_matches(rf_redis *r, const char *task, const char *step, task_step **cache,
                        size_t *n, rf_err *err)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*cache)[i].task, task))
            return (*cache)[i].match;
    redisReply *rep;
    if (rf_redis_cmd(r, &rep, err, "HGET rf:t:%s step", task))
        return -1;
    int m = rep->type == REDIS_REPLY_STRING && !strcmp(rep->str, step);
    freeReplyObject(rep);
    *cache = rf_xrealloc(*cache, (*n + 1) * sizeof **cache);
    (*cache)[(*n)++] = (task_step){rf_xstrdup(task), m};
    return m;
}

/* One stream entry: [id, [field, value, ...]]. */
static int add_entry(rf_redis *r, const redisReply *fields, const char *step, curve *c,
                     task_step **cache, size_t *nc, rf_err *err)
{
    const char *task = NULL, *series = NULL;
    double epoch = NAN;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const char *k = fields->element[i]->str, *v = fields->element[i + 1]->str;
        if (!k || !v)
            continue;
        if (!strcmp(k, "task"))
            task = v;
        else if (!strcmp(k, "series"))
            series = v;
        else if (!strcmp(k, "step"))
            epoch = strtod(v, NULL);
    }
    if (!task || !series || strcmp(series, "epoch") || !isfinite(epoch))
        return 0;
    int m = task_matches(r, task, step, cache, nc, err);
    if (m <= 0)
        return m;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const char *k = fields->element[i]->str, *v = fields->element[i + 1]->str;
        if (k && v)
            curve_set(c, epoch, k, strtod(v, NULL));   /* "nan" parses to NaN */
    }
    return 0;
}

static int read_redis(const char *config, const char *run, const char *step, curve *c,
                      rf_err *err)
{
    rf_config cfg;
    if (rf_config_load(&cfg, config, err))
        return -1;
    rf_redis_opts o;
    rf_redis_opts_default(&o);
    o.retry_ms = 0;
    rf_redis *r;
    /* An explicit --config names the Redis; otherwise find it as the run
     * verbs do (environment, config, or the stack of `ruvflow up`). */
    int rc = rf_redis_connect(config ? cfg.redis_url : engine_redis_url(NULL), &o, &r, err);
    rf_config_free(&cfg);
    if (rc)
        return -1;
    char key[512], start[64] = "-";
    snprintf(key, sizeof key, "%srun:%s:progress", engine_prefix(NULL), run);
    task_step *cache = NULL;
    size_t nc = 0;
    for (;;) {
        redisReply *rep;
        if ((rc = rf_redis_cmd(r, &rep, err, "XRANGE %s %s + COUNT 1000", key, start)))
            break;
        size_t n = rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0;
        for (size_t i = 0; i < n && !rc; i++) {
            redisReply *e = rep->element[i];
            if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
                e->element[1]->type == REDIS_REPLY_ARRAY)
                rc = add_entry(r, e->element[1], step, c, &cache, &nc, err);
            if (i + 1 == n && e->type == REDIS_REPLY_ARRAY && e->element[0]->str)
                snprintf(start, sizeof start, "(%s", e->element[0]->str);
        }
        freeReplyObject(rep);
        if (rc || n < 1000)
            break;
    }
    for (size_t i = 0; i < nc; i++)
        free(cache[i].task);
    free(cache);
    rf_redis_close(r);
    if (!rc && c->n == 0)
        rc = rf_errf(err, RF_ENOTFOUND, "run %s has no epoch curve for step %s", run, step);
    return rc;
}

/* ---- output ---------------------------------------------------------------- */

static int write_file(const char *path, const rf_buf *b, rf_err *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return rf_err_errno(err, "create %s", tmp);
    int ok = fwrite(b->data, 1, b->len, f) == b->len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        rf_err_errno(err, "write %s", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcasecmp(s + a - b, suf);
}

/* PNG through ImageMagick's convert (no raster code of our own). */
static int svg_to_png(const char *svg, const char *png, rf_err *err)
{
    pid_t pid = fork();
    if (pid < 0)
        return rf_err_errno(err, "fork");
    if (pid == 0) {
        execlp("convert", "convert", "-density", "144", svg, png, (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return rf_err_errno(err, "waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return rf_errf(err, WEXITSTATUS(st) == 127 ? RF_EUNSUPP : RF_EIO,
                       "PNG output needs ImageMagick's convert (%s); write .svg instead",
                       WEXITSTATUS(st) == 127 ? "not found" : "failed");
    return 0;
}

/* Write svg to out, as PNG when out ends in .png. */
static int emit(rf_buf *svg, const char *out, rf_err *err)
{
    int rc;
    if (ends_with(out, ".png")) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.%d.svg", out, (int)getpid());
        rc = write_file(tmp, svg, err);
        if (!rc)
            rc = svg_to_png(tmp, out, err);
        unlink(tmp);
    } else {
        rc = write_file(out, svg, err);
    }
    rf_buf_free(svg);
    return rc;
}

static int draw(const curve *c, const char *title, const char *out, rf_err *err)
{
    rf_buf svg = RF_BUF_INIT;
    rf_plot_training_svg(&svg, title, c->v, c->n);
    return emit(&svg, out, err);
}

/* A search: best so far per trial and, for two objectives, the front. */
static int draw_tune(const json_t *trials, const char *title, const char *out,
                     rf_err *err)
{
    rf_buf svg = RF_BUF_INIT;
    if (rf_plot_tune_svg(&svg, title, trials, err) < 0) {
        rf_buf_free(&svg);
        return -1;
    }
    return emit(&svg, out, err);
}

RF_CMD(plot)
{
    const char *out = NULL, *progress = NULL, *config = NULL, *title = NULL;
    const char *pos[2] = {NULL, NULL};
    char *tfiles[256];
    size_t npos = 0, ntf = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && v)
            out = v, i++;
        else if (!strcmp(a, "--progress") && v)
            progress = v, i++;
        else if (!strcmp(a, "--trials") && v && ntf < 256)
            tfiles[ntf++] = (char *)v, i++;
        else if (!strcmp(a, "--config") && v)
            config = v, i++;
        else if (!strcmp(a, "--title") && v)
            title = v, i++;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (a[0] != '-' && npos < 2)
            pos[npos++] = a;
        else {
            fprintf(stderr, "ruvflow plot: unexpected argument \"%s\"\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!out || (progress || ntf ? npos != 0 : npos != 2)) {
        usage(stderr);
        return 2;
    }
    curve c = {0};
    rf_err err = {0};
    json_t *trials = json_array();
    int trc = ntf ? plot_tune_files(tfiles, ntf, trials, &err)
                  : progress ? 0 : plot_tune_step(pos[0], pos[1], trials, &err);
    if (trc < 0 && !ntf && err.code == RF_ENOTFOUND)
        trc = 0;   /* no such run or step in the plan: maybe curves exist */
    if (trc == 0 && json_array_size(trials) > 0) {
        char tt[600];
        snprintf(tt, sizeof tt, "%s%s%s", ntf ? "search" : pos[0], ntf ? "" : " / ",
                 ntf ? "" : pos[1]);
        trc = draw_tune(trials, title ? title : tt, out, &err);
    } else if (trc == 0 && ntf) {
        trc = rf_errf(&err, RF_ENOTFOUND, "%s: no trial documents", tfiles[0]);
    }
    size_t ntrials = json_array_size(trials);
    json_decref(trials);
    if (trc < 0 || ntf || ntrials > 0) {
        if (trc < 0) {
            fprintf(stderr, "ruvflow plot: %s\n", err.msg);
            return rf_err_exit_status(&err);
        }
        return 0;
    }
    char deftitle[600];
    snprintf(deftitle, sizeof deftitle, "%s%s%s", progress ? "training curves" : pos[0],
             progress ? "" : " / ", progress ? "" : pos[1]);
    int rc = progress ? read_jsonl(progress, &c, &err)
                      : read_redis(config, pos[0], pos[1], &c, &err);
    if (!rc && c.n == 0)
        rc = rf_errf(&err, RF_ENOTFOUND, "%s: no \"epoch\" series points", progress);
    if (!rc) {
        qsort(c.v, c.n, sizeof *c.v, by_epoch);
        rc = draw(&c, title ? title : deftitle, out, &err);
    }
    free(c.v);
    if (rc) {
        fprintf(stderr, "ruvflow plot: %s\n", err.msg);
        return rf_err_exit_status(&err);
    }
    return 0;
}
