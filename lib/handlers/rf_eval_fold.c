/* rf_eval_fold: one cross-validation fold, end to end. See rf_eval_fold.h. */
#include "handlers/rf_eval_fold.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/rf_buf.h"
#include "ml/rf_baseline.h"
#include "ml/rf_checkpoint.h"
#include "ml/rf_curriculum.h"
#include "ml/rf_cv.h"
#include "ml/rf_dataset.h"
#include "handlers/rf_eval_agg.h"
#include "base/rf_json.h"
#include "ml/rf_metrics.h"
#include "ml/rf_train.h"
#include "ml/rf_train_select.h"
#include "handlers/rf_train_stage.h"

const char rf_eval_fold_help[] =
    "One fold of a cross-validation. Input: dataset=FILE (dataset artifact, FANN or CSV).\n"
    "  fold=K (required, 0-based)  folds=5  seed=42  val_fraction=0.1  normalize=true\n"
    "  scheme=auto|kfold|stratified|group|stratified-group|timeseries  shuffle=true\n"
    "  fallback=false  target=COLUMN (CSV)  group=COLUMN (CSV: group ids, not a feature)\n"
    "  timeseries (rows, 0 = derive): window horizon step gap=0  expanding=true\n"
    "  training, as train-stage: hidden=512 activation=relu optimizer=adam lr=3e-3\n"
    "  batch=32 epochs=200 patience=20 dropout=0.2 l2=1e-4 l1 weight_decay clip accum\n"
    "  momentum\n"
    "  schedule=constant|step|cosine warmup=EPOCHS step_every=EPOCHS gamma\n"
    "  on_diverge=stop|lower_lr\n"
    "  curriculum=false: train in stages by difficulty level, easiest first (same epochs)\n"
    "Outputs: fold (fold.json), split (split.json), model (checkpoint artifact).\n"
    "Fan-in: aggregate=true with inputs folds=FOLD.json (one per fold, in order);\n"
    "output aggregate (aggregate.json). See docs/evaluation.md.\n";

/* Everything one fold run owns; fold_run_free releases it. */
typedef struct fold_run {
    rf_task *t;
    rf_dataset d;
    rf_cv_spec cv;
    size_t fold;
    double val_fraction;
    int normalize;
    int curriculum;                      /* with.curriculum: stages by level */
    rf_curriculum_stage stages[RF_CURRICULUM_MAX_STAGES];
    size_t n_stages;
    rf_cv_split split;
    uint32_t *train, *val, *test;        /* row indices for rf_train */
    size_t n_train, n_val, n_test;
    rf_trainer tr;
    int trainer_ready;
    double train_seconds, infer_us;
    float *out;                          /* n_test x n_out predictions */
    int32_t *y_test;                     /* classification truth of the test rows */
    float *yr_test;                      /* regression truth of the test rows */
} fold_run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- parameters --------------------------------------------------------- */

static int param_size(rf_task *t, const char *key, long def, long min, size_t *out,
                      rf_err *err)
{
    long v;
    if (rf_task_param_long(t, key, def, &v, err) < 0)
        return -1;
    if (v < min)
        return rf_errf(err, RF_EINVAL, "with.%s: must be at least %ld (got %ld)", key, min, v);
    *out = (size_t)v;
    return 0;
}

static int cv_params(fold_run *r, rf_err *err)
{
    rf_task *t = r->t;
    rf_cv_spec *s = &r->cv;
    rf_cv_spec_default(s);
    long seed;
    const char *scheme = rf_task_param_or(t, "scheme", "auto");
    if (!strcmp(scheme, "auto"))
        s->scheme = r->d.kind == RF_CLASSIFICATION ? RF_CV_STRATIFIED : RF_CV_KFOLD;
    else if ((s->scheme = rf_cv_scheme_parse(scheme)) < 0)
        return rf_errf(err, RF_EINVAL, "with.scheme: unknown \"%s\" (auto, kfold, stratified, "
                       "group, stratified-group, timeseries)", scheme);
    if (!rf_task_param(t, "fold"))
        return rf_errf(err, RF_EINVAL, "with.fold: which fold to run (0 .. folds-1) is required");
    if (param_size(t, "folds", 5, 2, &s->folds, err) < 0 ||
        param_size(t, "fold", 0, 0, &r->fold, err) < 0 ||
        rf_task_param_long(t, "seed", 42, &seed, err) < 0 ||
        rf_task_param_bool(t, "shuffle", 1, &s->shuffle, err) < 0 ||
        rf_task_param_bool(t, "fallback", 0, &s->fallback, err) < 0 ||
        param_size(t, "window", 0, 0, &s->window, err) < 0 ||
        param_size(t, "horizon", 0, 0, &s->horizon, err) < 0 ||
        param_size(t, "step", 0, 0, &s->step, err) < 0 ||
        param_size(t, "gap", 0, 0, &s->gap, err) < 0 ||
        rf_task_param_bool(t, "expanding", 1, &s->expanding, err) < 0 ||
        rf_task_param_double(t, "val_fraction", 0.1, &r->val_fraction, err) < 0 ||
        rf_task_param_bool(t, "normalize", 1, &r->normalize, err) < 0 ||
        rf_task_param_bool(t, "curriculum", 0, &r->curriculum, err) < 0)
        return -1;
    if (r->curriculum && !r->d.level)
        return rf_errf(err, RF_EINVAL, "with.curriculum: the dataset has no difficulty levels");
    s->seed = (uint64_t)seed;
    if (r->fold >= s->folds)
        return rf_errf(err, RF_EINVAL, "with.fold: %zu is outside [0, %zu)", r->fold, s->folds);
    if (!(r->val_fraction >= 0 && r->val_fraction < 1))
        return rf_errf(err, RF_EINVAL, "with.val_fraction: must be in [0, 1)");
    return 0;
}

/* eval-fold's own keys; the training keys are train-stage's
 * (rf_train_stage_parse_opts), so that they mean the same in both. A
 * misspelt key would silently train with a default: refuse it. */
static const char *const fold_keys[] = {
    "aggregate", "fold", "folds", "scheme", "seed", "shuffle", "fallback", "val_fraction",
    "window", "horizon", "step", "gap", "expanding", "target", "group", "normalize",
    "curriculum", NULL
};

/* The training options under train-stage's names and with its defaults for
 * plain (non-curriculum) training. */
static int train_params(rf_task *t, const rf_dataset *d, size_t n_train, uint64_t seed,
                        rf_mlp_spec *spec, rf_train_opts *o, int *refit, int *l2_auto,
                        rf_err *err)
{
    rf_train_setup s;
    if (rf_train_stage_parse_opts(t, -1, &s, err) < 0 ||
        rf_train_spec_for(d, s.hidden, s.n_hidden, s.act, spec, err) < 0)
        return -1;
    if (s.opts.max_epochs == 0)
        return rf_errf(err, RF_EINVAL, "with.epochs: a fold must train at least one epoch");
    *o = s.opts;
    o->seed = seed;
    *refit = s.refit == RF_REFIT_ON;   /* auto: off, the fold's estimate is as trained */
    *l2_auto = s.l2_auto;
    rf_train_schedule_in_steps(o, n_train);
    return 0;
}

/* ---- split -------------------------------------------------------------- */

static uint32_t *to_u32(const size_t *a, size_t n)
{
    uint32_t *b = rf_xmalloc((n ? n : 1) * sizeof *b);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint32_t)a[i];
    return b;
}

/* Carves the validation rows out of the training part: the last rows of
 * the window for time series (validation after training, as the test
 * window is), a seeded random subset otherwise. */
static void carve_validation(fold_run *r)
{
    size_t n = r->split.n_train;
    size_t nv = (size_t)((double)n * r->val_fraction);
    if (nv >= n)
        nv = 0;
    uint32_t *all = to_u32(r->split.train, n);
    if (r->cv.scheme != RF_CV_TIMESERIES) {
        rf_rng rng;
        rf_rng_seed(&rng, r->cv.seed ^ 0x76616c5fULL);   /* "val_" */
        rf_rng_shuffle(&rng, all, n);
    }
    r->n_train = n - nv;
    r->n_val = nv;
    r->train = all;
    r->val = rf_xmalloc((nv ? nv : 1) * sizeof *r->val);
    memcpy(r->val, all + r->n_train, nv * sizeof *r->val);
}

static int make_split(fold_run *r, rf_err *err)
{
    rf_cv_rows rows = {.n = r->d.n_rows, .group = r->d.group};
    if (r->d.kind == RF_CLASSIFICATION)
        rows.label = r->d.y_class, rows.n_classes = r->d.n_classes;
    if (r->d.n_rows > UINT32_MAX)
        return rf_errf(err, RF_ETOOBIG, "%zu rows: at most 2^32-1 per dataset", r->d.n_rows);
    if (rf_cv_split_fold(&r->cv, &rows, r->fold, &r->split, err) < 0)
        return -1;
    if (r->split.note[0])
        rf_task_logf(r->t, "split: %s", r->split.note);
    if (r->split.n_train == 0 || r->split.n_test == 0)
        return rf_errf(err, RF_EINVAL, "fold %zu has an empty %s part", r->fold,
                       r->split.n_train ? "test" : "training");
    carve_validation(r);
    r->test = to_u32(r->split.test, r->split.n_test);
    r->n_test = r->split.n_test;
    return 0;
}

/* Normalization statistics from the fold's training rows only, so that no
 * held-out row leaks into them; a dataset that preprocess already
 * normalized (mean/std present) is used as it is. */
static void normalize_for_fold(fold_run *r)
{
    if (!r->normalize || r->d.mean)
        return;
    free(r->d.split);
    r->d.split = rf_xmalloc(r->d.n_rows);
    memset(r->d.split, RF_SPLIT_TEST, r->d.n_rows);   /* rows outside every part too */
    for (size_t i = 0; i < r->n_train; i++)
        r->d.split[r->train[i]] = RF_SPLIT_TRAIN;
    for (size_t i = 0; i < r->n_val; i++)
        r->d.split[r->val[i]] = RF_SPLIT_VAL;
    rf_dataset_normalize(&r->d);
}

/* ---- train and predict -------------------------------------------------- */

static int on_epoch(void *ud, rf_trainer *tr, const rf_epoch_stats *s, rf_err *err)
{
    fold_run *r = ud;
    static const char *const keys[] = {"train_loss", "train_acc", "val_loss", "val_acc",
                                       "lr", "seconds"};
    double v[] = {s->train_loss, s->train_acc, s->val_loss, s->val_acc, s->lr, s->seconds};
    rf_task_progress(r->t, "train", s->epoch, keys, v, 6);
    if (rf_task_should_stop(r->t))
        return rf_errf(err, RF_ECANCEL, "stopped at epoch %lld", (long long)s->epoch);
    (void)tr;
    return 0;
}

/* with.refit=true: train afresh (same seed) on the training and validation
 * rows for the best epoch count of the early-stopped run, as train-stage
 * does; the fold is short, so the refit keeps no state of its own. */
static int refit(fold_run *r, rf_err *err)
{
    rf_mlp_spec spec;
    rf_train_opts o;
    int on, l2_auto;
    size_t n = r->n_train + r->n_val;
    int64_t epochs = r->tr.best_epoch;
    if (train_params(r->t, &r->d, n, r->cv.seed, &spec, &o, &on, &l2_auto, err) < 0)
        return -1;
    o.optim.l2 = r->tr.opts.optim.l2;   /* as chosen for the first run */
    o.max_epochs = epochs;
    o.patience = 0;
    o.graduate = 0;
    uint32_t *all = rf_xmalloc(n * sizeof *all);
    memcpy(all, r->train, r->n_train * sizeof *all);
    memcpy(all + r->n_train, r->val, r->n_val * sizeof *all);
    rf_trainer_free(&r->tr);
    r->trainer_ready = 0;
    int rc = rf_trainer_init(&r->tr, &spec, &o, err);
    if (!rc) {
        r->trainer_ready = 1;
        rc = rf_train_run(&r->tr, &r->d, all, n, NULL, 0, on_epoch, r, err);
        rf_trainer_drop_best(&r->tr);
    }
    free(all);
    if (!rc)
        rf_task_logf(r->t, "fold %zu: refit for %lld epochs on %zu rows", r->fold,
                     (long long)epochs, n);
    return rc ? rf_err_prefix(err, "fold %zu: refit", r->fold) : 0;
}

static int train(fold_run *r, rf_err *err)
{
    rf_mlp_spec spec;
    rf_train_opts o;
    int want_refit, l2_auto;
    if (train_params(r->t, &r->d, r->n_train, r->cv.seed, &spec, &o, &want_refit, &l2_auto,
                     err) < 0 ||
        (l2_auto && rf_train_select_l2(&spec, &o, &r->d, r->train, r->n_train, r->val, r->n_val,
                                       &o.optim.l2, NULL, err) < 0) ||
        rf_trainer_init(&r->tr, &spec, &o, err) < 0)
        return -1;
    if (l2_auto && r->n_val)
        rf_task_logf(r->t, "fold %zu: l2=auto chose %g on the validation rows", r->fold,
                     o.optim.l2);
    r->trainer_ready = 1;
    double t0 = now();
    int rc = r->curriculum
                 ? rf_train_curriculum(&r->tr, &r->d, r->train, r->n_train, r->val, r->n_val,
                                       on_epoch, r, r->stages, &r->n_stages, err)
                 : rf_train_run(&r->tr, &r->d, r->train, r->n_train, r->val, r->n_val,
                                on_epoch, r, err);
    if (rc < 0)
        return rf_err_prefix(err, "fold %zu: train", r->fold);
    if (want_refit && r->n_val && r->tr.best_epoch > 0 && refit(r, err) < 0)
        return -1;
    r->train_seconds = r->tr.opts.record_time ? now() - t0 : 0;
    rf_trainer_use_best(&r->tr);
    return 0;
}

/* Predicts the test rows, timing inference alone: rows are gathered first,
 * and the pass is repeated until it has run for 20 ms, so that the per-row
 * time of a small fold is not all clock resolution. */
static void predict(fold_run *r)
{
    size_t f = r->d.n_features, n = r->n_test;
    size_t n_out = r->tr.net.spec.sizes[r->tr.net.spec.n_layers];
    float *X = rf_xmalloc(n * f * sizeof *X);
    for (size_t i = 0; i < n; i++)
        memcpy(X + i * f, r->d.X + (size_t)r->test[i] * f, f * sizeof *X);
    r->out = rf_xmalloc(n * n_out * sizeof *r->out);
    if (!r->tr.opts.record_time) {  /* timings=false: one pass, no clock in fold.json */
        rf_mlp_predict(&r->tr.net, X, n, r->out);
        r->infer_us = 0;
        free(X);
        return;
    }
    size_t reps = 0;
    double t0 = now(), el;
    do {
        rf_mlp_predict(&r->tr.net, X, n, r->out);
        reps++;
        el = now() - t0;
    } while (el < 0.02 && reps < 1000);
    r->infer_us = el * 1e6 / ((double)reps * (double)n);
    free(X);
}

static void gather_truth(fold_run *r, rf_preds *p)
{
    memset(p, 0, sizeof *p);
    p->kind = r->d.kind;
    p->n = r->n_test;
    if (r->d.kind == RF_CLASSIFICATION) {
        r->y_test = rf_xmalloc(r->n_test * sizeof *r->y_test);
        for (size_t i = 0; i < r->n_test; i++)
            r->y_test[i] = r->d.y_class[r->test[i]];
        p->n_classes = r->d.n_classes;
        p->y_class = r->y_test;
        p->prob = r->out;
    } else {
        size_t t = r->d.n_targets;
        r->yr_test = rf_xmalloc(r->n_test * t * sizeof *r->yr_test);
        for (size_t i = 0; i < r->n_test; i++)
            memcpy(r->yr_test + i * t, r->d.y_reg + (size_t)r->test[i] * t,
                   t * sizeof *r->yr_test);
        p->n_targets = t;
        p->y_reg = r->yr_test;
        p->y_hat = r->out;
    }
}

/* ---- outputs ------------------------------------------------------------ */

/* The flat metrics of m into obj (and, with t, as task metrics). */
static void put_metric(json_t *obj, rf_task *t, const char *name, double v)
{
    json_object_set_new(obj, name, rf_json_num(v));
    if (t)
        rf_task_metric(t, name, v);
}

static json_t *flat_metrics(const rf_metrics *m, rf_task *t)
{
    json_t *o = json_object();
    if (m->kind == RF_CLASSIFICATION) {
        const rf_cls_metrics *c = &m->cls;
        put_metric(o, t, "accuracy", c->accuracy);
        put_metric(o, t, "f1_macro", c->f1_macro);
        put_metric(o, t, "f1_micro", c->f1_micro);
        put_metric(o, t, "precision_macro", c->precision_macro);
        put_metric(o, t, "recall_macro", c->recall_macro);
        put_metric(o, t, "log_loss", c->log_loss);
        put_metric(o, t, "n", (double)c->n);
    } else {
        const rf_reg_metrics *g = &m->reg;
        put_metric(o, t, "mse", g->mse);
        put_metric(o, t, "rmse", g->rmse);
        put_metric(o, t, "mae", g->mae);
        put_metric(o, t, "mape", g->mape);
        put_metric(o, t, "mape_zero_rows", (double)g->mape_zero);
        put_metric(o, t, "r2", g->r2);
        if (!isnan(g->directional))
            put_metric(o, t, "directional_accuracy", g->directional);
        put_metric(o, t, "n", (double)g->n);
    }
    return o;
}

static const char *label_name(const rf_dataset *d, size_t c, char *buf, size_t n)
{
    if (d->labels && d->labels[c])
        return d->labels[c];
    snprintf(buf, n, "%zu", c);
    return buf;
}

static json_t *per_class(const rf_dataset *d, const rf_cls_metrics *c)
{
    json_t *a = json_array();
    for (size_t k = 0; k < c->n_classes; k++) {
        char buf[32];
        json_t *o = json_object();
        json_object_set_new(o, "label", json_string(label_name(d, k, buf, sizeof buf)));
        json_object_set_new(o, "precision", rf_json_num(c->precision[k]));
        json_object_set_new(o, "recall", rf_json_num(c->recall[k]));
        json_object_set_new(o, "f1", rf_json_num(c->f1[k]));
        json_object_set_new(o, "support", json_integer((json_int_t)c->support[k]));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *confusion(const rf_cls_metrics *c)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < c->n_classes; i++) {
        json_t *row = json_array();
        for (size_t j = 0; j < c->n_classes; j++)
            json_array_append_new(row, json_integer((json_int_t)c->confusion[i * c->n_classes + j]));
        json_array_append_new(rows, row);
    }
    return rows;
}

/* {name: {metrics}} for every key value with rows among the test rows. */
static int breakdown(const rf_preds *p, const int32_t *key, size_t n_keys,
                     const char *(*name)(const rf_dataset *, size_t), const rf_dataset *d,
                     json_t **out, rf_err *err)
{
    rf_metrics *m = rf_xcalloc(n_keys, sizeof *m);
    size_t *count = rf_xcalloc(n_keys, sizeof *count);
    *out = NULL;
    if (rf_metrics_by_key(p, key, n_keys, m, count, err) == 0) {
        *out = json_object();
        for (size_t j = 0; j < n_keys; j++) {
            if (!count[j])
                continue;
            json_object_set_new(*out, name(d, j), flat_metrics(&m[j], NULL));
            rf_metrics_free(&m[j]);
        }
    }
    free(m);
    free(count);
    return *out ? 0 : -1;
}

static const char *level_key_name(const rf_dataset *d, size_t j)
{
    (void)d;
    return rf_level_name((int)j);
}

static const char *category_key_name(const rf_dataset *d, size_t j)
{
    return d->categories && d->categories[j] ? d->categories[j] : "?";
}

/* Adds by_level / by_category to doc when the dataset carries them. */
static int breakdowns(fold_run *r, const rf_preds *p, json_t *doc, rf_err *err)
{
    int32_t *key = rf_xmalloc(r->n_test * sizeof *key);
    json_t *b;
    int rc = 0;
    if (r->d.level) {
        for (size_t i = 0; i < r->n_test; i++) {
            uint8_t lv = r->d.level[r->test[i]];
            key[i] = lv < RF_LEVEL_COUNT ? lv : -1;
        }
        rc = breakdown(p, key, RF_LEVEL_COUNT, level_key_name, &r->d, &b, err);
        if (rc == 0)
            json_object_set_new(doc, "by_level", b);
    }
    if (rc == 0 && r->d.category && r->d.n_categories) {
        for (size_t i = 0; i < r->n_test; i++)
            key[i] = r->d.category[r->test[i]];
        rc = breakdown(p, key, r->d.n_categories, category_key_name, &r->d, &b, err);
        if (rc == 0)
            json_object_set_new(doc, "by_category", b);
    }
    free(key);
    return rc;
}

/* Writes doc (consumed) as outdir/file and registers it as output name. */
static int write_output(fold_run *r, const char *name, const char *file, json_t *doc,
                        int pretty, rf_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", rf_task_outdir(r->t), file);
    int rc = rf_json_write(path, doc, pretty, err);
    json_decref(doc);
    return rc < 0 ? -1 : rf_task_output(r->t, name, path, err);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* A JSON array of row indices; sorted (on a copy) when asked, since
 * ascending order reads better and diffs cleanly. */
static json_t *index_array(const uint32_t *a, size_t n, int sort)
{
    json_t *arr = json_array();
    uint32_t *s = NULL;
    if (sort) {
        s = rf_xmalloc((n ? n : 1) * sizeof *s);
        memcpy(s, a, n * sizeof *s);
        qsort(s, n, sizeof *s, cmp_u32);
        a = s;
    }
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_integer(a[i]));
    free(s);
    return arr;
}

static int write_split(fold_run *r, rf_err *err)
{
    json_t *o = json_object();
    json_object_set_new(o, "fold", json_integer((json_int_t)r->fold));
    json_object_set_new(o, "folds", json_integer((json_int_t)r->cv.folds));
    json_object_set_new(o, "scheme", json_string(rf_cv_scheme_name(r->split.scheme_used)));
    json_object_set_new(o, "seed", json_integer((json_int_t)r->cv.seed));
    uint32_t *train = to_u32(r->split.train, r->split.n_train);
    json_object_set_new(o, "train", index_array(train, r->split.n_train, 0));
    free(train);
    json_object_set_new(o, "val", index_array(r->val, r->n_val, 1));
    json_object_set_new(o, "test", index_array(r->test, r->n_test, 0));
    return write_output(r, "split", "split.json", o, 0, err);
}

static int write_model(fold_run *r, double *file_bytes, rf_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/model.art", rf_task_outdir(r->t));
    if (rf_checkpoint_write(path, &r->tr, &r->d, RF_CKPT_BEST, err) < 0)
        return rf_err_prefix(err, "fold %zu: model", r->fold);
    struct stat st;
    *file_bytes = stat(path, &st) == 0 ? (double)st.st_size : NAN;
    return rf_task_output(r->t, "model", path, err);
}

static json_t *fold_header(fold_run *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "fold", json_integer((json_int_t)r->fold));
    json_object_set_new(o, "folds", json_integer((json_int_t)r->cv.folds));
    json_object_set_new(o, "scheme", json_string(rf_cv_scheme_name(r->cv.scheme)));
    json_object_set_new(o, "scheme_used", json_string(rf_cv_scheme_name(r->split.scheme_used)));
    if (r->split.note[0])
        json_object_set_new(o, "note", json_string(r->split.note));
    json_object_set_new(o, "seed", json_integer((json_int_t)r->cv.seed));
    json_object_set_new(o, "kind", json_string(r->d.kind == RF_CLASSIFICATION
                                                   ? "classification" : "regression"));
    json_object_set_new(o, "n_train", json_integer((json_int_t)r->n_train));
    json_object_set_new(o, "n_val", json_integer((json_int_t)r->n_val));
    json_object_set_new(o, "n_test", json_integer((json_int_t)r->n_test));
    json_object_set_new(o, "stop_reason", json_string(rf_stop_reason_name(r->tr.stop_reason)));
    json_object_set_new(o, "training", json_string(r->curriculum ? "curriculum" : "shuffled"));
    if (r->curriculum) {
        json_t *a = json_array();
        for (size_t i = 0; i < r->n_stages; i++) {
            const rf_curriculum_stage *st = &r->stages[i];
            json_t *e = json_object();
            json_object_set_new(e, "level", json_string(rf_level_name(st->level)));
            json_object_set_new(e, "train_rows", json_integer((json_int_t)st->n_rows));
            json_object_set_new(e, "epochs", json_integer((json_int_t)st->epochs));
            json_object_set_new(e, "stop_reason",
                                json_string(rf_stop_reason_name(st->stop_reason)));
            json_object_set_new(e, "val_accuracy", rf_json_num(st->val_acc));
            json_array_append_new(a, e);
        }
        json_object_set_new(o, "curriculum", a);
    }
    return o;
}

/* One baseline's predictions on the test rows, as metrics in doc's
 * "baselines" and as flat baseline_<name>_<metric> metrics. */
static int baseline_metrics(fold_run *r, const rf_preds *truth, int kind, json_t *flat,
                            json_t *bases, double *score, rf_err *err)
{
    rf_preds p = *truth;
    int32_t *pred = NULL;
    float *y_hat = NULL;
    rf_baseline_rows rows = {r->d.y_class, r->d.n_classes, r->d.prev_row, r->train,
                             r->n_train, r->test, r->n_test};
    int rc;
    if (r->d.kind == RF_CLASSIFICATION) {
        pred = rf_xmalloc((r->n_test ? r->n_test : 1) * sizeof *pred);
        rc = rf_baseline_predict(&rows, kind, pred, err);
        p.prob = NULL;
        p.pred = pred;
    } else {
        y_hat = rf_xmalloc((r->n_test ? r->n_test : 1) * r->d.n_targets * sizeof *y_hat);
        rc = rf_baseline_mean(r->d.y_reg, r->d.n_targets, r->train, r->n_train, r->n_test,
                              y_hat, err);
        p.y_hat = y_hat;
    }
    rf_metrics m;
    if (rc == 0 && (rc = rf_metrics_compute(&p, 0, &m, err)) == 0) {
        const char *name = r->d.kind == RF_CLASSIFICATION ? rf_baseline_name(kind) : "mean";
        const char *metric = r->d.kind == RF_CLASSIFICATION ? "accuracy" : "rmse";
        *score = r->d.kind == RF_CLASSIFICATION ? m.cls.accuracy : m.reg.rmse;
        json_t *o = flat_metrics(&m, NULL);
        json_object_set_new(o, "description", json_string(
            r->d.kind == RF_CLASSIFICATION ? rf_baseline_description(kind) : "training mean"));
        json_object_set_new(bases, name, o);
        char key[64];
        snprintf(key, sizeof key, "baseline_%s_%s", name, metric);
        put_metric(flat, r->t, key, *score);
        rf_metrics_free(&m);
    }
    free(pred);
    free(y_hat);
    return rc;
}

/* The trivial baselines on the same training and test rows as the model
 * (rf_baseline.h), and the model's lift over the best of them on this
 * fold: accuracy above it, or for regression RMSE below it. */
static int baselines(fold_run *r, const rf_preds *truth, double model, json_t *doc,
                     json_t *flat, rf_err *err)
{
    int cls = r->d.kind == RF_CLASSIFICATION;
    rf_baseline_rows rows = {.prev_row = r->d.prev_row};
    json_t *bases = json_object();
    double best = NAN;
    int best_kind = -1;
    for (int k = 0; k < (cls ? RF_BASELINE_COUNT : 1); k++) {
        double v = NAN;
        if (!rf_baseline_applies(&rows, k))
            continue;
        if (baseline_metrics(r, truth, k, flat, bases, &v, err) < 0) {
            json_decref(bases);
            return rf_err_prefix(err, "fold %zu: baseline %s", r->fold, rf_baseline_name(k));
        }
        if (best_kind < 0 || (cls ? v > best : v < best))
            best = v, best_kind = k;
    }
    json_object_set_new(doc, "baselines", bases);
    /* the aggregate picks the best baseline over all folds (rf_eval_agg) */
    double lift = cls ? model - best : best - model;
    rf_task_logf(r->t, "fold %zu: model %s %.4f, best baseline (%s) %.4f: lift %+.4f",
                 r->fold, cls ? "accuracy" : "rmse", model,
                 cls ? rf_baseline_description(best_kind) : "training mean", best, lift);
    return 0;
}

static int evaluate(fold_run *r, rf_err *err)
{
    rf_preds p;
    rf_metrics m;
    double file_bytes = NAN;
    gather_truth(r, &p);
    if (rf_metrics_compute(&p, r->cv.scheme == RF_CV_TIMESERIES, &m, err) < 0)
        return rf_err_prefix(err, "fold %zu: evaluate", r->fold);
    json_t *doc = fold_header(r);
    json_t *flat = flat_metrics(&m, r->t);
    put_metric(flat, r->t, "epochs", (double)r->tr.epoch);
    put_metric(flat, r->t, "train_seconds", r->train_seconds);
    put_metric(flat, r->t, "inference_us_per_sample", r->infer_us);
    put_metric(flat, r->t, "model_bytes", (double)(r->tr.net.n_params * sizeof(float)));
    json_object_set_new(doc, "metrics", flat);
    if (baselines(r, &p, m.kind == RF_CLASSIFICATION ? m.cls.accuracy : m.reg.rmse, doc, flat,
                  err) < 0) {
        rf_metrics_free(&m);
        json_decref(doc);
        return -1;
    }
    if (m.kind == RF_CLASSIFICATION) {
        json_object_set_new(doc, "per_class", per_class(&r->d, &m.cls));
        json_object_set_new(doc, "confusion", confusion(&m.cls));
    }
    rf_metrics_free(&m);
    if (breakdowns(r, &p, doc, err) < 0 || write_model(r, &file_bytes, err) < 0) {
        json_decref(doc);
        return -1;
    }
    put_metric(flat, r->t, "model_artifact_bytes", file_bytes);
    rf_task_metric(r->t, "fold", (double)r->fold);
    return write_output(r, "fold", "fold.json", doc, 1, err);
}

/* The text loaders refuse NaN and Inf; an artifact might carry them, and
 * they would surface later as a misleading divergence. */
static int check_finite(const rf_dataset *d, rf_err *err)
{
    for (size_t i = 0; i < d->n_rows * d->n_features; i++)
        if (!isfinite(d->X[i]))
            return rf_errf(err, RF_EINVAL, "row %zu: feature %zu is %s", i / d->n_features,
                           i % d->n_features, isnan(d->X[i]) ? "NaN" : "infinite");
    for (size_t i = 0; d->y_reg && i < d->n_rows * d->n_targets; i++)
        if (!isfinite(d->y_reg[i]))
            return rf_errf(err, RF_EINVAL, "row %zu: target %zu is not finite",
                           i / d->n_targets, i % d->n_targets);
    return 0;
}

/* with.group=COLUMN: a CSV's feature column becomes the group id of each
 * row (sessions, patients, ...) and stops being a feature. */
static int group_from_column(rf_dataset *d, const char *name, rf_err *err)
{
    size_t f = d->n_features, j = 0;
    while (d->feature_names && j < f && strcmp(d->feature_names[j], name))
        j++;
    if (!d->feature_names || j == f)
        return rf_errf(err, RF_EINVAL, "with.group: no feature column \"%s\"", name);
    if (f < 2)
        return rf_errf(err, RF_EINVAL, "with.group: \"%s\" is the only feature", name);
    free(d->group);
    d->group = rf_xmalloc(d->n_rows * sizeof *d->group);
    for (size_t i = 0; i < d->n_rows; i++) {
        float v = d->X[i * f + j];
        if (v != floorf(v) || fabsf(v) > 2147483520.0f)
            return rf_errf(err, RF_EINVAL, "with.group: row %zu: \"%s\" is %g, not an "
                           "integer id", i, name, (double)v);
        d->group[i] = (int32_t)v;
    }
    /* drop column j: rows shift left in place, one row at a time */
    for (size_t i = 0, o = 0; i < d->n_rows; i++)
        for (size_t k = 0; k < f; k++)
            if (k != j)
                d->X[o++] = d->X[i * f + k];
    free(d->feature_names[j]);
    memmove(d->feature_names + j, d->feature_names + j + 1,
            (f - j - 1) * sizeof *d->feature_names);
    d->n_features = f - 1;
    return 0;
}

static void fold_run_free(fold_run *r)
{
    if (r->trainer_ready)
        rf_trainer_free(&r->tr);
    rf_cv_split_free(&r->split);
    rf_dataset_free(&r->d);
    free(r->train);
    free(r->val);
    free(r->test);
    free(r->out);
    free(r->y_test);
    free(r->yr_test);
}

static int run_fold(rf_task *t, rf_err *err)
{
    const char *path = rf_task_input(t, "dataset", 0);
    if (!path)
        return rf_errf(err, RF_EINVAL, "input `dataset` (artifact, FANN or CSV file) is required");
    fold_run r = {.t = t};
    int rc = -1;
    const char *group = rf_task_param(t, "group");
    if (rf_dataset_load_any(path, rf_task_param(t, "target"), &r.d, err) < 0 ||
        check_finite(&r.d, err) < 0 || (group && group_from_column(&r.d, group, err) < 0)) {
        rf_err_prefix(err, "dataset");
        goto out;
    }
    if (cv_params(&r, err) < 0 || make_split(&r, err) < 0)
        goto out;
    normalize_for_fold(&r);
    rf_task_logf(t, "fold %zu/%zu (%s): %zu train, %zu validation, %zu test rows", r.fold,
                 r.cv.folds, rf_cv_scheme_name(r.split.scheme_used), r.n_train, r.n_val,
                 r.n_test);
    if (write_split(&r, err) < 0 || train(&r, err) < 0)
        goto out;
    predict(&r);
    rc = evaluate(&r, err);
out:
    fold_run_free(&r);
    return rc;
}

int rf_eval_fold_handler(rf_task *t, rf_err *err)
{
    int aggregate;
    if (rf_train_check_keys(t, fold_keys, err) < 0 || rf_task_param_bool(t, "aggregate", 0, &aggregate, err) < 0)
        return -1;
    return aggregate ? rf_eval_aggregate(t, err) : run_fold(t, err);
}
