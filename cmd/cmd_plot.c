/* cmd_plot: `ruvflow plot` draws training curves (loss and accuracy per
 * epoch) as SVG, or PNG through ImageMagick when the output ends in .png.
 *
 *   ruvflow plot RUN STEP -o curves.svg     the training series of the step's
 *                                           tasks, read from Redis
 *                                           (rf:run:RUN:progress,
 *                                           docs/redis-schema.md): one color
 *                                           per task; a chain's stages one
 *                                           after another on the epoch axis
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

/* One task's curve, keyed by task id. */
typedef struct task_curve {
    char *task;
    size_t index;       /* the task's index in its step */
    int match;          /* belongs to the step plotted */
    curve c;
} task_curve;

typedef struct task_curves {
    task_curve *v;
    size_t n;
} task_curves;

static void task_curves_free(task_curves *tc)
{
    for (size_t i = 0; i < tc->n; i++) {
        free(tc->v[i].task);
        free(tc->v[i].c.v);
    }
    free(tc->v);
}

/* The curve of task, looked up (and its step checked) once. */
static task_curve *curve_of(rf_redis *r, const char *prefix, const char *task,
                            const char *step, task_curves *tc, rf_err *err)
{
    for (size_t i = 0; i < tc->n; i++)
        if (!strcmp(tc->v[i].task, task))
            return &tc->v[i];
    redisReply *rep;
    if (rf_redis_cmd(r, &rep, err, "HMGET %st:%s step idx", prefix, task))
        return NULL;
    int m = rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
            rep->element[0]->type == REDIS_REPLY_STRING && !strcmp(rep->element[0]->str, step);
    size_t idx = m && rep->element[1]->type == REDIS_REPLY_STRING
                 ? (size_t)strtoull(rep->element[1]->str, NULL, 10) : 0;
    freeReplyObject(rep);
    tc->v = rf_xrealloc(tc->v, (tc->n + 1) * sizeof *tc->v);
    tc->v[tc->n] = (task_curve){rf_xstrdup(task), idx, m, {0}};
    return &tc->v[tc->n++];
}

/* Training series: train-stage's "epoch", eval-fold's "train" (a refit
 * streams "refit", drawn by neither). */
static int is_training_series(const char *s)
{
    return !strcmp(s, "epoch") || !strcmp(s, "train");
}

/* One stream entry: [id, [field, value, ...]]. */
static int add_entry(rf_redis *r, const char *prefix, const redisReply *fields,
                     const char *step, task_curves *tc, rf_err *err)
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
    if (!task || !series || !is_training_series(series) || !isfinite(epoch))
        return 0;
    task_curve *t = curve_of(r, prefix, task, step, tc, err);
    if (!t)
        return -1;
    if (!t->match)
        return 0;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const char *k = fields->element[i]->str, *v = fields->element[i + 1]->str;
        if (k && v)
            curve_set(&t->c, epoch, k, strtod(v, NULL));   /* "nan" parses to NaN */
    }
    return 0;
}

/* The run's step, or an error saying there is no such run or step. */
static int find_step(engine *e, const char *run, const char *step, int *chain, rf_err *err)
{
    rf_run_status st;
    if (rf_sched_status(e->s, run, &st, err) < 0)
        return err->code == RF_ENOTFOUND ? rf_errf(err, RF_ENOTFOUND, "no such run %s", run)
                                         : -1;
    int rc = -1;
    rf_buf names = RF_BUF_INIT;
    for (size_t i = 0; i < st.nsteps; i++) {
        rf_buf_addf(&names, "%s%s", i ? ", " : "", st.steps[i].name);
        if (!strcmp(st.steps[i].name, step)) {
            *chain = st.steps[i].fan == RF_FAN_CHAIN;
            rc = 0;
        }
    }
    if (rc)
        rf_errf(err, RF_ENOTFOUND, "run %s has no step %s (its steps: %s)", run, step,
                names.data ? names.data : "none");
    rf_buf_free(&names);
    rf_run_status_free(&st);
    return rc;
}

static int read_stream(engine *e, const char *prefix, const char *run, const char *step,
                       task_curves *tc, rf_err *err)
{
    char key[512], start[64] = "-";
    snprintf(key, sizeof key, "%srun:%s:progress", prefix, run);
    for (;;) {
        redisReply *rep;
        if (rf_redis_cmd(e->r, &rep, err, "XRANGE %s %s + COUNT 1000", key, start))
            return -1;
        size_t n = rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0;
        int rc = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            redisReply *en = rep->element[i];
            if (en->type == REDIS_REPLY_ARRAY && en->elements == 2 &&
                en->element[1]->type == REDIS_REPLY_ARRAY)
                rc = add_entry(e->r, prefix, en->element[1], step, tc, err);
            if (i + 1 == n && en->type == REDIS_REPLY_ARRAY && en->element[0]->str)
                snprintf(start, sizeof start, "(%s", en->element[0]->str);
        }
        freeReplyObject(rep);
        if (rc)
            return -1;
        if (n < 1000)
            return 0;
    }
}

static int by_index(const void *a, const void *b)
{
    const task_curve *x = a, *y = b;   /* the step's tasks first, by index */
    if (x->match != y->match)
        return y->match - x->match;
    return (x->index > y->index) - (x->index < y->index);
}

/* The step's tasks' curves, in task order; chain stages one after the other
 * on the epoch axis. *nc curves of the first tc->n entries are the step's. */
static int read_redis(const char *config, const char *run, const char *step, task_curves *tc,
                      size_t *nc, int *chain, rf_err *err)
{
    rf_config cfg;
    if (rf_config_load(&cfg, config, err))
        return -1;
    /* An explicit --config names the Redis; otherwise find it as the run
     * verbs do (environment, config, or the stack of `ruvflow up`). */
    const char *prefix = engine_prefix(NULL);
    engine e;
    int rc = engine_open(&e, config ? cfg.redis_url : engine_redis_url(NULL), prefix, 0, NULL,
                         NULL, err);
    rf_config_free(&cfg);
    if (rc)
        return -1;
    rc = find_step(&e, run, step, chain, err);
    if (!rc)
        rc = read_stream(&e, prefix, run, step, tc, err);
    engine_close(&e);
    if (rc)
        return -1;
    qsort(tc->v, tc->n, sizeof *tc->v, by_index);
    for (*nc = 0; *nc < tc->n && tc->v[*nc].match; (*nc)++)
        qsort(tc->v[*nc].c.v, tc->v[*nc].c.n, sizeof *tc->v[*nc].c.v, by_epoch);
    if (*nc == 0)
        return rf_errf(err, RF_ENOTFOUND, "run %s: step %s streamed no training curve "
                       "(series \"epoch\" or \"train\")", run, step);
    return 0;
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

/* Write svg to out, as SVG or, for a .png name, PNG. svg stays the
 * caller's. */
static int emit(const rf_buf *svg, const char *out, rf_err *err)
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
    return rc;
}

/* The step's curves: one series per task; chain stages follow each other
 * on the epoch axis (stage k starts where stage k-1 ended). */
static int draw_tasks(const task_curves *tc, size_t nc, int chain, const char *title,
                      const char *out, rf_err *err)
{
    rf_plot_curve *cv = rf_xcalloc(nc, sizeof *cv);
    char (*labels)[320] = rf_xcalloc(nc, sizeof *labels);
    double offset = 0;
    for (size_t i = 0; i < nc; i++) {
        const task_curve *t = &tc->v[i];
        const char *slash = strrchr(t->task, '/'), *step = t->task;
        /* "<run>/<step>/<idx>": show "<step>/<idx>" */
        for (const char *p = t->task; p < slash; p++)
            if (*p == '/')
                step = p + 1;
        snprintf(labels[i], sizeof labels[i], "%s", step);
        cv[i] = (rf_plot_curve){labels[i], t->c.v, t->c.n, chain ? offset : 0};
        if (chain && t->c.n)
            offset += t->c.v[t->c.n - 1].epoch;
    }
    if (nc > RF_PLOT_MAXCURVES)
        fprintf(stderr, "ruvflow plot: drawing the first %d of %zu tasks\n", RF_PLOT_MAXCURVES,
                nc);
    rf_buf svg = RF_BUF_INIT;
    rf_plot_curves_svg(&svg, title, chain ? "epoch (stages one after another)" : "epoch", cv,
                       nc);
    int rc = emit(&svg, out, err);
    rf_buf_free(&svg);
    free(labels);
    free(cv);
    return rc;
}

/* A search: best so far per trial and, for two objectives, the front. */
static int draw_tune(const json_t *trials, const char *title, const char *out,
                     rf_err *err)
{
    rf_buf svg = RF_BUF_INIT;
    int rc = rf_plot_tune_svg(&svg, title, trials, err);
    if (rc == 0)
        rc = emit(&svg, out, err);
    rf_buf_free(&svg);
    return rc;
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
    int rc;
    if (progress) {
        rc = read_jsonl(progress, &c, &err);
        if (!rc && c.n == 0)
            rc = rf_errf(&err, RF_ENOTFOUND, "%s: no \"epoch\" series points", progress);
        if (!rc) {
            qsort(c.v, c.n, sizeof *c.v, by_epoch);
            rf_buf svg = RF_BUF_INIT;
            rf_plot_training_svg(&svg, title ? title : deftitle, c.v, c.n);
            rc = emit(&svg, out, &err);
            rf_buf_free(&svg);
        }
    } else {
        task_curves tc = {0};
        size_t nc = 0;
        int chain = 0;
        rc = read_redis(config, pos[0], pos[1], &tc, &nc, &chain, &err);
        if (!rc)
            rc = draw_tasks(&tc, nc, chain, title ? title : deftitle, out, &err);
        task_curves_free(&tc);
    }
    free(c.v);
    if (rc) {
        fprintf(stderr, "ruvflow plot: %s\n", err.msg);
        return rf_err_exit_status(&err);
    }
    return 0;
}
