/* rf_train_stage: one train-stage task, from inputs and `with` keys to
 * checkpoints and metrics. The steps: read the configuration (level
 * defaults, then overrides), load the data (a dataset artifact, or train and
 * test files), pick the stage's rows, build the trainer (resumed from this
 * task's saved progress, started from an input checkpoint, or fresh), train
 * with a per-epoch callback that streams progress and saves state, then
 * write the outputs. Outputs are written only after training succeeded, each
 * atomically, so a failed task leaves nothing half-written. */
#include "handlers/rf_train_stage.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "handlers/rf_train_online.h"
#include "ml/rf_checkpoint.h"
#include "ml/rf_dataset.h"
#include "ml/rf_train.h"
#include "ml/rf_train_select.h"
#include "handlers/rf_train_graduate.h"

const char rf_train_stage_help[] =
    "inputs:  dataset=ARTIFACT | train=FILE test=FILE (FANN or CSV)  [checkpoint=ARTIFACT]\n"
    "with:    hidden=512 activation=relu optimizer=adam|adamw|sgd|nesterov|rprop\n"
    "         lr batch epochs patience l1 l2 weight_decay dropout clip accum momentum\n"
    "         schedule=constant|step|cosine warmup=EPOCHS step_every=EPOCHS gamma\n"
    "         seed level=trivial|easy|medium|hard|expert retain graduate freeze=K\n"
    "         transfer=replace|add checkpoint_every=N val_fraction target=COLUMN\n"
    "         normalize=auto|true|false on_diverge=stop|lower_lr refit=auto|true|false\n"
    "outputs: checkpoint (final; the refit model after a refit), best (best validation)\n"
    "metrics: epochs seconds train_loss val_loss val_accuracy baseline_val_loss\n"
    "         baseline_val_accuracy best_epoch\n"
    "         test_accuracy | test_mse, graduated, train_rows, refit_epochs\n";

/* ... and those of a curriculum stage alone. */
static const char *const stage_keys[] = {
    "seed", "level", "retain", "graduate", "freeze", "transfer", "checkpoint_every",
    "val_fraction", "target", "normalize", "mode", NULL
};

typedef struct stage_cfg {
    rf_train_setup net;
    int level;                /* -1: all rows */
    rf_graduate grad;         /* when the stage ends early (with.graduate) */
    double retain, val_fraction;
    int normalize;            /* -1 auto */
    long checkpoint_every;
    int transfer;
    const char *target;
} stage_cfg;

typedef struct row_set {
    uint32_t *v;
    size_t n;
} row_set;

/* ---- configuration ------------------------------------------------------- */

static int parse_transfer(const char *s)
{
    return !strcmp(s, "none") ? RF_TRANSFER_NONE : !strcmp(s, "replace") ? RF_TRANSFER_REPLACE
           : !strcmp(s, "add") ? RF_TRANSFER_ADD : -1;
}

static int parse_normalize(const char *s)
{
    if (!strcmp(s, "auto"))
        return -1;
    return !strcmp(s, "true") || !strcmp(s, "1") ? 1 : !strcmp(s, "false") || !strcmp(s, "0")
                                                           ? 0 : -2;
}

static int parse_level(rf_task *t, int *level, rf_err *err)
{
    const char *v = rf_task_param(t, "level");
    *level = -1;
    if (!v || !strcmp(v, "none") || !*v)
        return 0;
    if ((*level = rf_level_parse(v)) < 0)
        return rf_errf(err, RF_EINVAL, "with.level: \"%s\" is not trivial, easy, medium, "
                       "hard, expert or none", v);
    return 0;
}

static int parse_cfg(rf_task *t, stage_cfg *c, rf_err *err)
{
    memset(c, 0, sizeof *c);
    rf_train_opts *o = &c->net.opts;
    long freeze, seed;
    if (rf_train_check_keys(t, stage_keys, err) || parse_level(t, &c->level, err) ||
        rf_train_stage_parse_opts(t, c->level, &c->net, err) ||
        rf_graduate_parse(t, c->level, &c->grad, err) ||
        rf_task_param_long(t, "freeze", 0, &freeze, err) ||
        rf_task_param_long(t, "seed", 1, &seed, err) ||
        rf_task_param_long(t, "checkpoint_every", 5, &c->checkpoint_every, err) ||
        rf_task_param_double(t, "retain", 0.2, &c->retain, err) ||
        rf_task_param_double(t, "val_fraction", 0.1, &c->val_fraction, err) ||
        rf_train_param_enum(t, "transfer", "none", parse_transfer, &c->transfer, err))
        return -1;
    c->normalize = parse_normalize(rf_task_param_or(t, "normalize", "auto"));
    if (c->normalize == -2)
        return rf_errf(err, RF_EINVAL, "with.normalize: expected auto, true or false");
    if (freeze < 0 || c->checkpoint_every < 0 || c->retain < 0 || c->retain > 1 ||
        c->val_fraction < 0 || c->val_fraction >= 1)
        return rf_errf(err, RF_EINVAL, "with: a value is out of range (freeze and "
                       "checkpoint_every not negative; val_fraction in [0,1); retain in "
                       "[0,1])");
    o->freeze = (size_t)freeze;
    o->seed = (uint64_t)seed;
    c->target = rf_task_param(t, "target");
    return 0;
}

/* ---- data ---------------------------------------------------------------- */

static int check_finite(const rf_dataset *d, rf_err *err)
{
    for (size_t i = 0; i < d->n_rows * d->n_features; i++)
        if (!isfinite(d->X[i]))
            return rf_errf(err, RF_EINVAL, "feature %zu of row %zu is %s", i % d->n_features,
                           i / d->n_features, isnan(d->X[i]) ? "NaN" : "infinite");
    for (size_t i = 0; d->y_reg && i < d->n_rows * d->n_targets; i++)
        if (!isfinite(d->y_reg[i]))
            return rf_errf(err, RF_EINVAL, "target %zu of row %zu is not finite",
                           i % d->n_targets, i / d->n_targets);
    return 0;
}

static int32_t label_index(const rf_dataset *d, const char *name)
{
    for (size_t i = 0; i < d->n_classes; i++)
        if (d->labels && !strcmp(d->labels[i], name))
            return (int32_t)i;
    return -1;
}

/* Append test's rows to d as RF_SPLIT_TEST (d's rows become TRAIN). */
static int append_test(rf_dataset *d, const rf_dataset *te, const char *path, rf_err *err)
{
    if (te->n_features != d->n_features || te->kind != d->kind ||
        (d->kind == RF_REGRESSION && te->n_targets != d->n_targets))
        return rf_errf(err, RF_EINVAL, "test file %s does not match the training file "
                       "(%zu features, %s)", path, d->n_features,
                       d->kind == RF_CLASSIFICATION ? "classes" : "targets");
    size_t n = d->n_rows + te->n_rows, f = d->n_features;
    float *X = realloc(d->X, n * f * sizeof *X);
    uint8_t *split = calloc(n, 1);
    if (!X || !split) {
        free(split);
        if (X)
            d->X = X;
        return rf_errf(err, RF_ENOMEM, "test rows: out of memory");
    }
    d->X = X;
    memcpy(X + d->n_rows * f, te->X, te->n_rows * f * sizeof *X);
    memset(split + d->n_rows, RF_SPLIT_TEST, te->n_rows);
    if (d->kind == RF_CLASSIFICATION) {
        int32_t *y = rf_xrealloc(d->y_class, n * sizeof *y);
        d->y_class = y;
        for (size_t i = 0; i < te->n_rows; i++) {
            /* labels match by name (CSV) or by position (FANN's "0", "1", ...) */
            const char *name = te->labels ? te->labels[te->y_class[i]] : NULL;
            int32_t k = name ? label_index(d, name) : te->y_class[i];
            if (k < 0 || (size_t)k >= d->n_classes) {
                free(split);
                return rf_errf(err, RF_EINVAL, "test file %s, row %zu: label \"%s\" does not "
                               "occur in the training file", path, i + 1, name ? name : "?");
            }
            y[d->n_rows + i] = k;
        }
    } else {
        size_t k = d->n_targets;
        d->y_reg = rf_xrealloc(d->y_reg, n * k * sizeof(float));
        memcpy(d->y_reg + d->n_rows * k, te->y_reg, te->n_rows * k * sizeof(float));
    }
    free(d->split);
    d->split = split;
    if (d->level) {   /* test rows of a file pair carry no level unless both do */
        uint8_t *lv = rf_xrealloc(d->level, n);
        for (size_t i = 0; i < te->n_rows; i++)
            lv[d->n_rows + i] = te->level ? te->level[i] : RF_LEVEL_NONE;
        d->level = lv;
    }
    d->n_rows = n;
    return 0;
}

static int load_data(rf_task *t, const stage_cfg *c, rf_dataset *d, int *normalized,
                     rf_err *err)
{
    const char *ds = rf_task_input(t, "dataset", 0), *tr = rf_task_input(t, "train", 0);
    const char *te = rf_task_input(t, "test", 0);
    *normalized = 0;
    if (ds && (tr || te))
        return rf_errf(err, RF_EINVAL, "give either input dataset or inputs train and test, "
                       "not both");
    if (ds) {
        if (rf_dataset_load_any(ds, c->target, d, err))
            return -1;
        *normalized = d->mean != NULL;   /* preprocess normalizes and says so */
    } else if (tr) {
        if (rf_dataset_load_any(tr, c->target, d, err))
            return -1;
        if (te) {
            rf_dataset tst;
            if (rf_dataset_load_any(te, c->target, &tst, err))
                return -1;
            int rc = append_test(d, &tst, te, err);
            rf_dataset_free(&tst);
            if (rc)
                return -1;
        }
    } else {
        return rf_errf(err, RF_EINVAL, "no input data: give input dataset=ARTIFACT or "
                       "train=FILE [test=FILE]");
    }
    if (d->n_rows == 0)
        return rf_errf(err, RF_EINVAL, "the dataset has no rows");
    return check_finite(d, err);
}

static void push_row(row_set *s, uint32_t i)
{
    s->v = rf_xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    s->v[s->n++] = i;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Marks whole sessions (groups) of the training rows for validation, in a
 * seeded order, until at least `want` rows are marked; a session that would
 * leave no training row is skipped. Returns the number of rows marked, 0
 * when the rows come from fewer than two sessions. */
static size_t carve_sessions(const rf_dataset *d, const row_set *tr, size_t want, rf_rng *r,
                             uint8_t *to_val, size_t *n_sessions)
{
    int32_t *g = rf_xmalloc(tr->n * sizeof *g);
    size_t n_g = 0, marked = 0;
    for (size_t i = 0; i < tr->n; i++)
        g[i] = d->group[tr->v[i]];
    qsort(g, tr->n, sizeof *g, cmp_i32);
    for (size_t i = 0; i < tr->n; i++)
        if (!n_g || g[n_g - 1] != g[i])
            g[n_g++] = g[i];
    *n_sessions = 0;
    if (n_g >= 2) {
        rf_rng_shuffle(r, (uint32_t *)g, n_g);
        for (size_t k = 0; k < n_g && marked < want; k++) {
            size_t rows = 0;
            for (size_t i = 0; i < tr->n; i++)
                rows += d->group[tr->v[i]] == g[k];
            if (marked + rows >= tr->n)
                continue;
            for (size_t i = 0; i < tr->n; i++)
                if (d->group[tr->v[i]] == g[k])
                    to_val[i] = 1;
            marked += rows;
            ++*n_sessions;
        }
    }
    free(g);
    return marked;
}

/* A stage without validation rows carves val_fraction of its training rows
 * out: whole sessions when the rows come from two or more, so that no
 * session sits in both parts; otherwise single rows, chosen by a seeded
 * shuffle so reruns pick the same rows. Carved rows are marked
 * RF_SPLIT_VAL in d, which keeps them out of the normalization. */
static int carve_validation(rf_task *t, rf_dataset *d, const stage_cfg *c, row_set *tr,
                            row_set *va, rf_err *err)
{
    size_t n = tr->n, want = (size_t)ceil(c->val_fraction * (double)n), sessions = 0;
    if (want >= n)
        return rf_errf(err, RF_EINVAL, "%zu training rows are too few to carve a validation "
                       "split from (set val_fraction=0 to train without one)", n);
    rf_rng r;
    rf_rng_seed(&r, c->net.opts.seed ^ 0x76616c6964ull);
    uint8_t *to_val = rf_xcalloc(n, 1);
    size_t marked = d->group ? carve_sessions(d, tr, want, &r, to_val, &sessions) : 0;
    if (!marked) {
        uint32_t *idx = rf_xmalloc(n * sizeof *idx);
        for (size_t i = 0; i < n; i++)
            idx[i] = (uint32_t)i;
        rf_rng_shuffle(&r, idx, n);
        for (size_t i = 0; i < want; i++)
            to_val[idx[i]] = 1;
        free(idx);
        marked = want;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (to_val[i]) {
            d->split[tr->v[i]] = RF_SPLIT_VAL;
            push_row(va, tr->v[i]);
        } else {
            tr->v[k++] = tr->v[i];
        }
    }
    tr->n = k;
    free(to_val);
    if (sessions)
        rf_task_logf(t, "no validation rows: carved %zu of %zu training rows out as "
                     "validation, %zu whole session%s", marked, n, sessions,
                     sessions == 1 ? "" : "s");
    else
        rf_task_logf(t, "no validation rows: carved %zu of %zu training rows out as "
                     "validation%s", marked, n, d->group ? " (one session: its rows are in "
                     "both parts)" : "");
    return 0;
}

/* The stage's rows: its level (all rows without levels), plus a seeded
 * `retain` fraction of earlier levels' training rows. A level without
 * training rows of its own trains on the retained rows alone, so that a
 * curriculum chain passes through it; without those either it fails. */
static int select_rows(rf_task *t, rf_dataset *d, const stage_cfg *c, row_set *tr,
                       row_set *va, row_set *te, rf_err *err)
{
    int by_level = c->level >= 0 && d->level;
    row_set earlier = {0};
    if (!d->split)
        d->split = rf_xcalloc(d->n_rows, 1);
    for (size_t i = 0; i < d->n_rows; i++) {
        int lv = d->level ? d->level[i] : RF_LEVEL_NONE;
        int mine = !by_level || lv == c->level;
        row_set *s = d->split[i] == RF_SPLIT_TRAIN ? tr : d->split[i] == RF_SPLIT_VAL ? va : te;
        if (mine)
            push_row(s, (uint32_t)i);
        else if (by_level && lv < c->level && d->split[i] == RF_SPLIT_TRAIN)
            push_row(&earlier, (uint32_t)i);
    }
    size_t own = tr->n, kept = 0;
    if (earlier.n && c->retain > 0) {
        rf_rng r;
        rf_rng_seed(&r, c->net.opts.seed ^ 0x72657461696eull);
        rf_rng_shuffle(&r, earlier.v, earlier.n);
        kept = (size_t)ceil(c->retain * (double)earlier.n);
        for (size_t i = 0; i < kept; i++)
            push_row(tr, earlier.v[i]);
    }
    free(earlier.v);
    const char *lvl = rf_level_name(c->level);
    if (!by_level && own == 0)
        return rf_errf(err, RF_EINVAL, "the training split is empty");
    if (tr->n == 0)
        return rf_errf(err, RF_EINVAL, "level %s has no training rows (%zu validation, %zu "
                       "test) and there are no earlier levels' training rows to retain "
                       "(%zu, retain=%g)", lvl, va->n, te->n, earlier.n, c->retain);
    if (by_level)
        rf_task_logf(t, "level %s: %zu training rows of its own, %zu retained of %zu from "
                     "earlier levels, %zu validation, %zu test", lvl, own, kept, earlier.n,
                     va->n, te->n);
    if (by_level && own == 0)
        rf_task_logf(t, "level %s has no training rows of its own: training on the %zu rows "
                     "retained from earlier levels", lvl, kept);
    if (va->n == 0 && c->val_fraction > 0)
        return carve_validation(t, d, c, tr, va, err);
    return 0;
}

/* ---- the trainer --------------------------------------------------------- */

typedef struct stage_ctx {
    rf_task *t;
    const rf_dataset *d;
    const stage_cfg *c;
    const char *state_name;   /* "progress", or "refit" during the refit */
    char state_path[4096];
    int cancelled;
} stage_ctx;

static int save_state(stage_ctx *x, rf_trainer *tr, rf_err *err)
{
    if (rf_checkpoint_write(x->state_path, tr, x->d, RF_CKPT_CURRENT, err) ||
        rf_task_state_save(x->t, x->state_name, x->state_path, err))
        return rf_err_prefix(err, "saving progress at epoch %lld", (long long)tr->epoch);
    return 0;
}

static int on_epoch(void *ud, rf_trainer *tr, const rf_epoch_stats *s, rf_err *err)
{
    stage_ctx *x = ud;
    static const char *const keys[] = {"train_loss", "val_loss", "train_acc", "val_acc", "lr",
                                       "epoch_seconds"};
    double vals[6] = {s->train_loss, s->val_loss, s->train_acc, s->val_acc, s->lr, s->seconds};
    /* the refit streams its own series: its epochs would overwrite the
     * early-stopped run's points in `ruvflow plot` */
    rf_task_progress(x->t, strcmp(x->state_name, "refit") ? "epoch" : "refit", s->epoch, keys,
                     vals, 6);
    int stop = rf_task_should_stop(x->t);
    if (stop || (x->c->checkpoint_every > 0 && s->epoch % x->c->checkpoint_every == 0)) {
        if (save_state(x, tr, err))
            return -1;
    }
    if (stop) {
        x->cancelled = 1;
        return 1;
    }
    return 0;
}

static int build_trainer(stage_ctx *x, rf_trainer *tr, const rf_train_opts *opts,
                         int *resumed, rf_err *err)
{
    rf_task *t = x->t;
    const stage_cfg *c = x->c;
    rf_mlp_spec want, spec;
    if (rf_train_spec_for(x->d, c->net.hidden, c->net.n_hidden, c->net.act, &want, err))
        return -1;
    *resumed = 0;
    int have = rf_task_state_load(t, x->state_name, x->state_path, err);
    if (have < 0)
        return rf_err_prefix(err, "loading saved progress");
    rf_checkpoint ck;
    if (have) {
        if (rf_checkpoint_read(x->state_path, &ck, err))
            return rf_err_prefix(err, "saved progress");
        int rc = rf_trainer_init(tr, &ck.spec, opts, err) || rf_checkpoint_resume(tr, &ck, err);
        rf_checkpoint_free(&ck);
        if (rc) {
            rf_trainer_free(tr);
            return rf_err_prefix(err, "resuming from saved progress");
        }
        rf_task_logf(t, "resuming %s at epoch %lld (step %lld)", strcmp(x->state_name,
                     "refit") ? "training" : "the refit", (long long)tr->epoch,
                     (long long)tr->step);
        *resumed = 1;
        if (rf_trainer_check_data(tr, x->d, err)) {
            rf_trainer_free(tr);
            return -1;
        }
        return 0;
    }
    const char *from = rf_task_input(t, "checkpoint", 0);
    if (!from)
        return rf_trainer_init(tr, &want, opts, err);
    size_t n_copy;
    if (rf_checkpoint_read(from, &ck, err))
        return -1;
    int rc = rf_checkpoint_transfer_spec(&ck, &want, c->transfer, &spec, &n_copy, err);
    if (!rc && !(rc = rf_trainer_init(tr, &spec, opts, err))) {
        rc = rf_checkpoint_load_layers(tr, &ck, n_copy, err);
        if (rc)
            rf_trainer_free(tr);
    }
    rf_checkpoint_free(&ck);
    char shown[PATH_MAX];   /* the checkpoint's URL, not the worker's copy */
    const char *name = rf_task_input_origin(t, from, shown, sizeof shown);
    if (rc)
        return rf_err_prefix(err, "starting from checkpoint %s", name);
    rf_task_logf(t, "starting from %s: %zu of %zu layers copied, %zu frozen", name, n_copy,
                 spec.n_layers, opts->freeze);
    return 0;
}

/* ---- results ------------------------------------------------------------- */

/* checkpoint: fin's current weights (the refit, or the last epoch); best:
 * the best validation epoch of the early-stopped run. */
static int write_outputs(stage_ctx *x, rf_trainer *fin, rf_trainer *first, rf_err *err)
{
    const char *dir = rf_task_outdir(x->t);
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint.art", dir);
    if (rf_checkpoint_write(path, fin, x->d, RF_CKPT_CURRENT, err) ||
        rf_task_output(x->t, "checkpoint", path, err))
        return -1;
    snprintf(path, sizeof path, "%s/best.art", dir);
    if (rf_checkpoint_write(path, first, x->d, RF_CKPT_BEST, err) ||
        rf_task_output(x->t, "best", path, err))
        return -1;
    return 0;
}

static double seconds_of(const rf_trainer *tr)
{
    double secs = 0;
    for (size_t i = 0; tr && i < tr->n_history; i++)
        secs += tr->history[i].seconds;
    return secs;
}

/* tr is the early-stopped run, whose history the validation metrics come
 * from; fin the final model (tr itself, or the refit), which the test rows
 * measure. */
static void report_metrics(stage_ctx *x, rf_trainer *tr, rf_trainer *fin, size_t train_rows,
                           const row_set *te)
{
    rf_task *t = x->t;
    rf_task_metric(t, "epochs", (double)tr->epoch);
    rf_task_metric(t, "seconds", seconds_of(tr) + (fin != tr ? seconds_of(fin) : 0));
    rf_task_metric(t, "train_rows", (double)train_rows);
    rf_task_metric(t, "refit_epochs", fin != tr ? (double)fin->epoch : 0);
    rf_task_metric(t, "best_epoch", (double)tr->best_epoch);
    if (tr->n_history) {
        const rf_epoch_stats *last = &tr->history[tr->n_history - 1];
        rf_task_metric(t, "train_loss", last->train_loss);
        rf_task_metric(t, "val_loss", last->val_loss);
        if (x->d->kind == RF_CLASSIFICATION) {
            rf_task_metric(t, "train_accuracy", last->train_acc);
            rf_task_metric(t, "val_accuracy", last->val_acc);
        }
    }
    rf_task_metric(t, "graduated", tr->stop_reason == RF_STOP_GRADUATED);
    rf_graduate_report(t, &x->c->grad, tr);
    if (te->n) {
        double loss, acc;
        rf_trainer_use_best(fin);
        rf_trainer_eval(fin, x->d, te->v, te->n, &loss, &acc);
        rf_task_metric(t, "test_loss", loss);
        if (x->d->kind == RF_CLASSIFICATION)
            rf_task_metric(t, "test_accuracy", acc);
        else
            rf_task_metric(t, "test_mse", loss);
    }
}

/* The trivial baseline on the same validation rows (rf_trainer_baseline),
 * so val_loss is never read alone: baseline_val_loss and, for classes,
 * baseline_val_accuracy (the majority class). */
static int report_baseline(stage_ctx *x, const rf_trainer *tr, const row_set *train,
                           const row_set *va, rf_err *err)
{
    double loss, acc;
    if (va->n == 0)
        return 0;   /* no val_loss to stand beside */
    if (rf_trainer_baseline(tr, x->d, train->v, train->n, va->v, va->n, &loss, &acc, err))
        return -1;
    rf_task_metric(x->t, "baseline_val_loss", loss);
    if (x->d->kind == RF_CLASSIFICATION)
        rf_task_metric(x->t, "baseline_val_accuracy", acc);
    return 0;
}

/* Whether to refit after early stopping. auto: plain training (no level)
 * on train/test files, whose validation rows are carved from the training
 * file; a curriculum stage graduates on its validation accuracy, and a
 * dataset's own validation split stays held out. */
static int wants_refit(stage_ctx *x, const rf_trainer *tr, size_t n_val)
{
    int on = x->c->net.refit == RF_REFIT_AUTO
             ? x->c->level < 0 && rf_task_input(x->t, "train", 0) != NULL
             : x->c->net.refit == RF_REFIT_ON;
    if (on && (n_val == 0 || tr->best_epoch == 0)) {
        rf_task_logf(x->t, "refit skipped: no validation rows to choose the epoch count by");
        return 0;
    }
    return on;
}

/* The refit: a trainer built as the first one was (same seed, or the same
 * input checkpoint), trained on training plus validation rows for the best
 * epoch count of the early-stopped run, without validation, patience or
 * graduation; its final weights are the model. It keeps its own state
 * ("refit"), so a task killed during the refit resumes there. */
static int run_refit(stage_ctx *x, const rf_trainer *first, rf_train_opts o, const row_set *tr,
                     const row_set *va, rf_trainer *out, rf_err *err)
{
    row_set all = {rf_xmalloc((tr->n + va->n) * sizeof *all.v), tr->n + va->n};
    memcpy(all.v, tr->v, tr->n * sizeof *all.v);
    memcpy(all.v + tr->n, va->v, va->n * sizeof *all.v);
    o.max_epochs = first->best_epoch;
    o.patience = 0;
    o.graduate = 0;
    rf_train_schedule_in_steps(&o, all.n);
    x->state_name = "refit";
    snprintf(x->state_path, sizeof x->state_path, "%s/.refit.art", rf_task_outdir(x->t));
    rf_task_logf(x->t, "refit: %lld epochs (the best of the early-stopped run) on all %zu "
                 "training rows", (long long)o.max_epochs, all.n);
    int resumed, rc = build_trainer(x, out, &o, &resumed, err);
    if (!rc) {
        rc = rf_train_run(out, x->d, all.v, all.n, NULL, 0, on_epoch, x, err);
        if (!rc && x->cancelled)
            rc = rf_errf(err, RF_ECANCEL, "stopped at refit epoch %lld; progress saved",
                         (long long)out->epoch);
        if (!rc) {
            rf_trainer_drop_best(out);
            rc = save_state(x, out, err);
        }
        if (rc)
            rf_trainer_free(out);
    }
    free(all.v);
    return rc ? rf_err_prefix(err, "refit") : 0;
}

/* Trains (and refits), writes the outputs and reports the metrics. The
 * finished state is saved too: a re-delivered task then only rewrites the
 * outputs instead of training again. */
static int train_and_report(stage_ctx *x, rf_trainer *first, const rf_train_opts *epoch_opts,
                            const row_set *tr, const row_set *va, const row_set *te,
                            rf_err *err)
{
    if (rf_train_run(first, x->d, tr->v, tr->n, va->v, va->n, on_epoch, x, err))
        return -1;
    if (x->cancelled)
        return rf_errf(err, RF_ECANCEL, "stopped at epoch %lld; progress saved",
                       (long long)first->epoch);
    if (save_state(x, first, err))
        return -1;
    rf_task_logf(x->t, "%lld epochs, stopped by %s, best epoch %lld", (long long)first->epoch,
                 rf_stop_reason_name(first->stop_reason), (long long)first->best_epoch);
    rf_trainer refit, *fin = first;
    size_t rows = tr->n;
    if (wants_refit(x, first, va->n)) {
        if (run_refit(x, first, *epoch_opts, tr, va, &refit, err))
            return -1;
        fin = &refit;
        rows += va->n;
    }
    int rc = write_outputs(x, fin, first, err);
    if (!rc)
        report_metrics(x, first, fin, rows, te);
    if (!rc)
        rc = report_baseline(x, first, tr, va, err);
    if (fin != first)
        rf_trainer_free(&refit);
    return rc;
}

/* l2=auto: the candidate that does best on the validation rows. */
static int pick_l2(stage_ctx *x, const rf_dataset *d, rf_train_setup *net, const row_set *tr,
                   const row_set *va, rf_err *err)
{
    rf_mlp_spec spec;
    double score[RF_L2_CANDIDATES];
    if (rf_train_spec_for(d, net->hidden, net->n_hidden, net->act, &spec, err) ||
        rf_train_select_l2(&spec, &net->opts, d, tr->v, tr->n, va->v, va->n,
                           &net->opts.optim.l2, score, err))
        return -1;
    if (va->n)
        rf_task_logf(x->t, "l2=auto: %g (best validation metric %g with %g, %g with %g)",
                     net->opts.optim.l2, score[0], rf_l2_candidates[0], score[1],
                     rf_l2_candidates[1]);
    rf_task_metric(x->t, "l2", net->opts.optim.l2);
    return 0;
}

/* Rows are selected (and validation carved) before normalizing, so the
 * statistics come from training rows only. */
static int run_stage(stage_ctx *x, rf_dataset *d, stage_cfg *c, int normalized, rf_err *err)
{
    row_set tr = {0}, va = {0}, te = {0};
    if (select_rows(x->t, d, c, &tr, &va, &te, err)) {
        free(tr.v), free(va.v), free(te.v);
        return -1;
    }
    if (c->normalize == 1 || (c->normalize == -1 && !normalized))
        rf_dataset_normalize(d);
    if (rf_graduate_derive(&c->grad, d, tr.v, tr.n, va.v, va.n, err)) {
        free(tr.v), free(va.v), free(te.v);
        return -1;
    }
    c->net.opts.graduate = c->grad.basis == RF_GRAD_OFF ? 0 : fmax(c->grad.threshold, 1e-9);
    rf_train_opts epoch_opts = c->net.opts;   /* the refit converts for its own rows */
    rf_train_schedule_in_steps(&c->net.opts, tr.n);
    if (c->net.l2_auto && !rf_task_input(x->t, "checkpoint", 0) &&
        pick_l2(x, d, &c->net, &tr, &va, err)) {
        free(tr.v), free(va.v), free(te.v);
        return -1;
    }
    epoch_opts.optim.l2 = c->net.opts.optim.l2;
    rf_trainer trainer;
    int resumed, rc = build_trainer(x, &trainer, &c->net.opts, &resumed, err);
    if (!rc) {
        rc = train_and_report(x, &trainer, &epoch_opts, &tr, &va, &te, err);
        rf_trainer_free(&trainer);
    }
    free(tr.v), free(va.v), free(te.v);
    return rc;
}

int rf_train_stage_handle(rf_task *t, rf_err *err)
{
    const char *mode = rf_task_param_or(t, "mode", "full");
    if (strcmp(mode, "incremental") == 0)
        return rf_train_online_handle(t, err);
    if (strcmp(mode, "full") != 0)
        return rf_errf(err, RF_EINVAL, "with.mode: expected full or incremental, got \"%s\"",
                       mode);
    stage_cfg c;
    if (parse_cfg(t, &c, err))
        return -1;
    rf_dataset d;
    int normalized;
    memset(&d, 0, sizeof d);
    if (load_data(t, &c, &d, &normalized, err)) {
        rf_dataset_free(&d);
        return -1;
    }
    stage_ctx x = {.t = t, .d = &d, .c = &c, .state_name = "progress"};
    snprintf(x.state_path, sizeof x.state_path, "%s/.progress.art", rf_task_outdir(t));
    int rc = run_stage(&x, &d, &c, normalized, err);
    rf_dataset_free(&d);
    return rc;
}
