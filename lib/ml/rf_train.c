/* rf_train: the epoch loop around rf_mlp and rf_optim. */
#include "ml/rf_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const stop_names[] = {"none", "max_epochs", "early_stop", "graduated",
                                         "callback"};

const char *rf_stop_reason_name(int r)
{
    return r >= 0 && r <= RF_STOP_CALLBACK ? stop_names[r] : "?";
}

void rf_train_opts_default(rf_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 32;
    o->accum = 1;
    o->max_epochs = 100;
    o->patience = 10;
    o->seed = 1;
    o->max_lr_drops = 3;
    o->record_time = 1;
    rf_optim_cfg_default(&o->optim, RF_OPT_ADAM);
    o->sched.kind = RF_SCHED_CONSTANT;
    o->sched.lr = 3e-3;
    o->sched.gamma = 0.1;
}

int rf_train_spec_for(const rf_dataset *d, const size_t *hidden, size_t n_hidden,
                      int hidden_act, rf_mlp_spec *spec, rf_err *err)
{
    memset(spec, 0, sizeof *spec);
    if (n_hidden + 1 > RF_MLP_MAXLAYERS)
        return rf_errf(err, RF_EINVAL, "at most %d hidden layers", RF_MLP_MAXLAYERS - 1);
    if (d->n_features == 0)
        return rf_errf(err, RF_EINVAL, "dataset has no features");
    spec->n_layers = n_hidden + 1;
    spec->sizes[0] = d->n_features;
    for (size_t i = 0; i < n_hidden; i++)
        spec->sizes[i + 1] = hidden[i];
    spec->hidden_act = hidden_act;
    spec->out_act = RF_ACT_LINEAR;
    if (d->kind == RF_CLASSIFICATION) {
        if (d->n_classes < 2)
            return rf_errf(err, RF_EINVAL, "classification needs at least 2 classes, got %zu",
                           d->n_classes);
        spec->sizes[n_hidden + 1] = d->n_classes;
        spec->loss = RF_LOSS_SOFTMAX_CE;
    } else {
        if (d->n_targets == 0)
            return rf_errf(err, RF_EINVAL, "regression dataset has no targets");
        spec->sizes[n_hidden + 1] = d->n_targets;
        spec->loss = RF_LOSS_MSE;
        /* Targets bounded in [0, 1] get a sigmoid output: predictions stay
         * in range, and on small sets it generalizes markedly better. */
        int unit = 1;
        for (size_t i = 0; unit && i < d->n_rows * d->n_targets; i++)
            unit = d->y_reg[i] >= 0 && d->y_reg[i] <= 1;
        if (unit)
            spec->out_act = RF_ACT_SIGMOID;
    }
    return 0;
}

int rf_trainer_init(rf_trainer *tr, const rf_mlp_spec *spec, const rf_train_opts *opts,
                    rf_err *err)
{
    memset(tr, 0, sizeof *tr);
    if (opts->batch == 0 || opts->accum < 1 || opts->max_epochs < 0 || opts->dropout < 0 ||
        opts->dropout >= 1 || !(opts->sched.lr > 0) || opts->patience < 0)
        return rf_errf(err, RF_EINVAL, "bad training options (batch %zu, accum %d, dropout "
                       "%g, lr %g, patience %d)", opts->batch, opts->accum,
                       (double)opts->dropout, opts->sched.lr, opts->patience);
    if (opts->freeze >= spec->n_layers && spec->n_layers > 0)
        return rf_errf(err, RF_EINVAL, "cannot freeze %zu of %zu layers: nothing would train",
                       opts->freeze, spec->n_layers);
    if (rf_mlp_init(&tr->net, spec, err))
        return -1;
    tr->opts = *opts;
    rf_rng_seed(&tr->rng, opts->seed);
    rf_mlp_init_weights(&tr->net, &tr->rng);
    if (rf_optim_init(&tr->opt, &opts->optim, tr->net.n_params, err)) {
        rf_mlp_free(&tr->net);
        return -1;
    }
    tr->best_metric = tr->best_tie = INFINITY;
    tr->lr_scale = 1.0;
    return 0;
}

void rf_trainer_free(rf_trainer *tr)
{
    rf_mlp_free(&tr->net);
    rf_optim_free(&tr->opt);
    free(tr->history);
    free(tr->best);
    free(tr->Xb);
    free(tr->Tb);
    free(tr->snap);
    free(tr->perm);
    free(tr->Xfull);
    free(tr->Tfull);
    memset(tr, 0, sizeof *tr);
}

void rf_trainer_use_best(rf_trainer *tr)
{
    if (tr->best)
        memcpy(tr->net.params, tr->best, tr->net.n_params * sizeof(float));
}

void rf_trainer_drop_best(rf_trainer *tr)
{
    free(tr->best);
    tr->best = NULL;
    tr->best_epoch = 0;
    tr->best_metric = tr->best_tie = INFINITY;
}

static size_t n_out(const rf_trainer *tr)
{
    return tr->net.spec.sizes[tr->net.spec.n_layers];
}

int rf_trainer_check_data(const rf_trainer *tr, const rf_dataset *d, rf_err *err)
{
    const rf_mlp_spec *s = &tr->net.spec;
    if (d->n_features != s->sizes[0])
        return rf_errf(err, RF_EINVAL, "dataset has %zu features, the network takes %zu",
                       d->n_features, s->sizes[0]);
    size_t k = n_out(tr);
    if (d->kind == RF_CLASSIFICATION) {
        int binary = k == 1 && d->n_classes == 2 && s->loss != RF_LOSS_SOFTMAX_CE;
        if (k != d->n_classes && !binary)
            return rf_errf(err, RF_EINVAL, "dataset has %zu classes, the network has %zu "
                           "outputs", d->n_classes, k);
    } else {
        if (s->loss != RF_LOSS_MSE)
            return rf_errf(err, RF_EINVAL, "regression needs the mse loss, not %s",
                           rf_loss_name(s->loss));
        if (d->n_targets != k)
            return rf_errf(err, RF_EINVAL, "dataset has %zu targets, the network has %zu "
                           "outputs", d->n_targets, k);
    }
    return 0;
}

/* ---- batches ------------------------------------------------------------- */

/* Low target of a class output: -1 for symmetric outputs trained with MSE. */
static float target_low(const rf_trainer *tr)
{
    int act = tr->net.spec.out_act;
    return tr->net.spec.loss == RF_LOSS_MSE &&
                   (act == RF_ACT_TANH || act == RF_ACT_SIGMOID_SYM) ? -1.0f : 0.0f;
}

static void gather_into(const rf_trainer *tr, const rf_dataset *d, const uint32_t *rows,
                        size_t B, float *Xb, float *Tb)
{
    size_t f = d->n_features, k = n_out(tr);
    float lo = target_low(tr);
    for (size_t i = 0; i < B; i++)
        memcpy(Xb + i * f, d->X + (size_t)rows[i] * f, f * sizeof(float));
    if (d->kind == RF_CLASSIFICATION) {
        for (size_t i = 0; i < B; i++) {
            float *t = Tb + i * k;
            int32_t y = d->y_class[rows[i]];
            if (k == 1) {
                t[0] = y ? 1.0f : lo;
            } else {
                for (size_t j = 0; j < k; j++)
                    t[j] = lo;
                t[y] = 1.0f;
            }
        }
    } else {
        for (size_t i = 0; i < B; i++)
            memcpy(Tb + i * k, d->y_reg + (size_t)rows[i] * k, k * sizeof(float));
    }
}

static void gather(rf_trainer *tr, const rf_dataset *d, const uint32_t *rows, size_t B)
{
    gather_into(tr, d, rows, B, tr->Xb, tr->Tb);
}

/* Correct predictions in a batch of outputs. */
static size_t count_correct(const rf_trainer *tr, const rf_dataset *d, const uint32_t *rows,
                            const float *y, size_t B)
{
    size_t k = n_out(tr), hits = 0;
    float thresh = target_low(tr) < 0 ? 0.0f : 0.5f;
    for (size_t i = 0; i < B; i++) {
        const float *o = y + i * k;
        int32_t pred = 0;
        if (k == 1) {
            pred = o[0] > thresh;
        } else {
            for (size_t j = 1; j < k; j++)
                if (o[j] > o[pred])
                    pred = (int32_t)j;
        }
        hits += pred == d->y_class[rows[i]];
    }
    return hits;
}

static int reserve(rf_trainer *tr, size_t f, size_t B, size_t n_rows, rf_err *err)
{
    size_t cap = B > 256 ? B : 256;
    if (cap <= tr->net.batch_cap && tr->perm_cap >= n_rows && tr->Xb)
        return 0;
    if (rf_mlp_reserve(&tr->net, cap, err))
        return -1;
    size_t k = n_out(tr);
    free(tr->Xb);
    free(tr->Tb);
    free(tr->perm);
    tr->Xb = malloc(cap * f * sizeof(float));
    tr->Tb = malloc(cap * k * sizeof(float));
    tr->perm = malloc((n_rows ? n_rows : 1) * sizeof(uint32_t));
    tr->perm_cap = n_rows;
    if (!tr->Xb || !tr->Tb || !tr->perm)
        return rf_errf(err, RF_ENOMEM, "training buffers: out of memory");
    return 0;
}

/* Separate buffers for a full-batch run (eval reuses Xb/Tb in between). */
static int reserve_full(rf_trainer *tr, size_t f, size_t n, rf_err *err)
{
    free(tr->Xfull);
    free(tr->Tfull);
    tr->Xfull = malloc(n * f * sizeof(float));
    tr->Tfull = malloc(n * n_out(tr) * sizeof(float));
    tr->full_ready = 0;
    if (!tr->Xfull || !tr->Tfull)
        return rf_errf(err, RF_ENOMEM, "full-batch buffers: out of memory");
    return 0;
}

/* Loss of the constant output c against one row's targets t (k outputs),
 * summed as rf_mlp_loss sums it before dividing. */
static double const_loss(int loss, const double *c, const float *t, size_t k)
{
    double s = 0;
    for (size_t j = 0; j < k; j++) {
        if (loss == RF_LOSS_SOFTMAX_CE)
            s -= t[j] > 0 ? t[j] * log(c[j]) : 0;
        else if (loss == RF_LOSS_BCE)
            s -= t[j] * log(c[j]) + (1 - t[j]) * log(1 - c[j]);
        else
            s += (c[j] - t[j]) * (c[j] - t[j]);
    }
    return s;
}

int rf_trainer_baseline(const rf_trainer *tr, const rf_dataset *d, const uint32_t *train,
                        size_t n_train, const uint32_t *rows, size_t n, double *loss,
                        double *acc, rf_err *err)
{
    size_t k = n_out(tr), f = d->n_features;
    int lf = tr->net.spec.loss;
    *loss = *acc = NAN;
    if (n_train == 0 || n == 0)
        return rf_errf(err, RF_EINVAL, "baseline: %zu training and %zu rows", n_train, n);
    double *c = calloc(k, sizeof *c);
    size_t *votes = d->kind == RF_CLASSIFICATION ? calloc(d->n_classes, sizeof *votes) : NULL;
    float *x = malloc((f ? f : 1) * sizeof *x), *t = malloc(k * sizeof *t);
    if (!c || !x || !t || (d->kind == RF_CLASSIFICATION && !votes)) {
        free(c), free(votes), free(x), free(t);
        return rf_errf(err, RF_ENOMEM, "baseline: out of memory");
    }
    for (size_t i = 0; i < n_train; i++) {
        gather_into(tr, d, train + i, 1, x, t);
        for (size_t j = 0; j < k; j++)
            c[j] += t[j];
        if (votes)
            votes[d->y_class[train[i]]]++;
    }
    for (size_t j = 0; j < k; j++) {
        c[j] = lf == RF_LOSS_SOFTMAX_CE ? (c[j] + 1) / ((double)n_train + (double)k)
                                        : c[j] / (double)n_train;
        if (lf == RF_LOSS_BCE)   /* rf_mlp_loss clamps probabilities the same way */
            c[j] = fmin(fmax(c[j], 1e-7), 1 - 1e-7);
    }
    size_t major = 0, hits = 0;
    for (size_t j = 1; votes && j < d->n_classes; j++)
        if (votes[j] > votes[major])
            major = j;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        gather_into(tr, d, rows + i, 1, x, t);
        s += const_loss(lf, c, t, k);
        hits += votes && (size_t)d->y_class[rows[i]] == major;
    }
    *loss = lf == RF_LOSS_MSE ? s / ((double)n * (double)k) : s / (double)n;
    if (votes)
        *acc = (double)hits / (double)n;
    free(c), free(votes), free(x), free(t);
    return 0;
}

void rf_trainer_eval(rf_trainer *tr, const rf_dataset *d, const uint32_t *rows, size_t n,
                     double *loss, double *acc)
{
    rf_err e;
    if (reserve(tr, d->n_features, 256, 0, &e)) {   /* before any run, e.g. after resume */
        *loss = *acc = NAN;
        return;
    }
    double l = 0;
    size_t hits = 0, cap = tr->net.batch_cap;
    for (size_t r = 0; r < n; r += cap) {
        size_t B = n - r < cap ? n - r : cap;
        gather(tr, d, rows + r, B);
        const float *y = rf_mlp_forward(&tr->net, tr->Xb, B, 0.0f, NULL);
        l += rf_mlp_loss(&tr->net, tr->Tb, B) * (double)B;
        if (d->kind == RF_CLASSIFICATION)
            hits += count_correct(tr, d, rows + r, y, B);
    }
    *loss = n ? l / (double)n : NAN;
    *acc = n && d->kind == RF_CLASSIFICATION ? (double)hits / (double)n : NAN;
}

/* ---- the loop ------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t batch_size(const rf_trainer *tr, size_t n_train)
{
    /* iRPROP- is a full-batch method: its sign logic needs the true gradient */
    if (tr->opts.optim.kind == RF_OPT_RPROP || tr->opts.batch > n_train)
        return n_train;
    return tr->opts.batch;
}

/* One pass over the shuffled training rows. Returns 0, or 1 when the loss
 * or the gradient stopped being finite. */
static int train_epoch(rf_trainer *tr, const rf_dataset *d, const uint32_t *rows, size_t n,
                       double *loss, double *acc, double *lr_used)
{
    rf_mlp *net = &tr->net;
    size_t B = batch_size(tr, n), nb = (n + B - 1) / B;
    int accum = tr->opts.accum;
    size_t begin = rf_mlp_frozen_offset(net, tr->opts.freeze);
    const float *Xb = tr->Xb, *Tb = tr->Tb;
    if (nb == 1) {
        /* full batch: order does not matter, so gather the rows once per
         * run instead of once per epoch (iRPROP- runs thousands of these) */
        if (!tr->full_ready) {
            memcpy(tr->perm, rows, n * sizeof *rows);
            gather_into(tr, d, rows, n, tr->Xfull, tr->Tfull);
            tr->full_ready = 1;
        }
        Xb = tr->Xfull;
        Tb = tr->Tfull;
    } else {
        memcpy(tr->perm, rows, n * sizeof *rows);
        rf_rng_shuffle(&tr->rng, tr->perm, n);
    }
    double l = 0, lr = 0;
    size_t hits = 0;
    for (size_t k = 0; k < nb; k++) {
        size_t off = k * B, b = n - off < B ? n - off : B;
        const uint32_t *idx = tr->perm + off;
        if (nb > 1)
            gather(tr, d, idx, b);
        const float *y = rf_mlp_forward(net, Xb, b, tr->opts.dropout, &tr->rng);
        double bl = rf_mlp_loss(net, Tb, b);
        if (!isfinite(bl))
            return 1;
        l += bl * (double)b;
        if (d->kind == RF_CLASSIFICATION)
            hits += count_correct(tr, d, idx, y, b);
        int first = k % (size_t)accum == 0;
        rf_mlp_backward(net, Tb, b, 1.0f / (float)accum, !first, tr->opts.freeze);
        if ((k + 1) % (size_t)accum == 0 || k + 1 == nb) {
            lr = rf_schedule_lr(&tr->opts.sched, tr->step) * tr->lr_scale;
            double norm = rf_optim_step(&tr->opt, net, begin, lr);
            tr->step++;
            if (!isfinite(norm))
                return 1;
        }
    }
    *loss = l / (double)n;
    *acc = d->kind == RF_CLASSIFICATION ? (double)hits / (double)n : NAN;
    *lr_used = lr;
    return 0;
}

static int params_finite(const rf_mlp *net)
{
    for (size_t i = 0; i < net->n_params; i++)
        if (!isfinite(net->params[i]))
            return 0;
    return 1;
}

static int push_history(rf_trainer *tr, const rf_epoch_stats *s)
{
    rf_epoch_stats *h = realloc(tr->history, (tr->n_history + 1) * sizeof *h);
    if (!h)
        return -1;
    tr->history = h;
    h[tr->n_history++] = *s;
    return 0;
}

/* Best-model tracking and patience. The metric is the validation error for
 * classes (ties broken by the loss: cross-entropy keeps rising on an
 * overconfident net whose accuracy still improves, so the loss alone stops
 * too early), the validation loss for regression, and the training loss
 * without a validation split. Returns 1 when patience ran out. */
static int track_best(rf_trainer *tr, const rf_epoch_stats *s, int classes, size_t n_val)
{
    double metric = n_val ? (classes ? 1.0 - s->val_acc : s->val_loss) : s->train_loss;
    double tie = n_val && classes ? s->val_loss : 0.0;
    int better = isfinite(metric) &&
                 (metric < tr->best_metric - tr->opts.min_delta ||
                  (metric <= tr->best_metric && tie < tr->best_tie));
    if (better) {
        /* patience waits for the metric itself; a tie-break only moves the
         * best model (else a set at 100% accuracy would never stop) */
        tr->bad_epochs = metric < tr->best_metric - tr->opts.min_delta ? 0 : tr->bad_epochs + 1;
        tr->best_metric = metric;
        tr->best_tie = tie;
        tr->best_epoch = tr->epoch;
        if (!tr->best)
            tr->best = malloc(tr->net.n_params * sizeof(float));
        if (tr->best)
            memcpy(tr->best, tr->net.params, tr->net.n_params * sizeof(float));
    } else {
        tr->bad_epochs++;
    }
    return tr->opts.patience > 0 && tr->bad_epochs >= tr->opts.patience;
}

static int check_rows(const rf_dataset *d, const uint32_t *rows, size_t n, const char *what,
                      rf_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i] >= d->n_rows)
            return rf_errf(err, RF_EINVAL, "%s row %u is out of range (dataset has %zu rows)",
                           what, rows[i], d->n_rows);
    return 0;
}

/* A diverged epoch: either a clear error, or back to the epoch's start
 * with a tenth of the learning rate. Returns 0 to retry the epoch. */
static int diverged(rf_trainer *tr, rf_err *err)
{
    int64_t e = tr->epoch + 1;
    if (tr->opts.on_diverge != RF_DIVERGE_LOWER_LR || !tr->snap)
        return rf_errf(err, RF_EINVAL, "training diverged at epoch %lld: the loss became "
                       "NaN/Inf (lower the learning rate, add clipping, or set "
                       "on_diverge=lower_lr)", (long long)e);
    if (tr->opts.max_lr_drops <= 0 || tr->lr_scale <= pow(0.1, tr->opts.max_lr_drops) * 1.5)
        return rf_errf(err, RF_EINVAL, "training diverged at epoch %lld even after lowering "
                       "the learning rate %d times", (long long)e, tr->opts.max_lr_drops);
    memcpy(tr->net.params, tr->snap, tr->net.n_params * sizeof(float));
    rf_optim_reset(&tr->opt);
    tr->lr_scale *= 0.1;
    return 0;
}

int rf_train_run(rf_trainer *tr, const rf_dataset *d, const uint32_t *train_rows,
                 size_t n_train, const uint32_t *val_rows, size_t n_val, rf_epoch_fn cb,
                 void *ud, rf_err *err)
{
    /* a resumed trainer that had already stopped for good stays stopped */
    if (tr->stop_reason == RF_STOP_EARLY || tr->stop_reason == RF_STOP_GRADUATED)
        return 0;
    tr->stop_reason = RF_STOP_NONE;
    if (n_train == 0)
        return rf_errf(err, RF_EINVAL, "the training split is empty");
    if (rf_trainer_check_data(tr, d, err) || check_rows(d, train_rows, n_train, "train", err) ||
        check_rows(d, val_rows, n_val, "validation", err))
        return -1;
    size_t B = batch_size(tr, n_train);
    if (reserve(tr, d->n_features, B, n_train, err) ||
        (B == n_train && reserve_full(tr, d->n_features, n_train, err)))
        return -1;
    if (tr->opts.sched.total == 0) {
        int64_t steps = (int64_t)(((n_train + B - 1) / B + (size_t)tr->opts.accum - 1) /
                                  (size_t)tr->opts.accum);
        tr->opts.sched.total = steps * tr->opts.max_epochs;
    }
    if (tr->opts.on_diverge == RF_DIVERGE_LOWER_LR && !tr->snap) {
        tr->snap = malloc(tr->net.n_params * sizeof(float));
        if (!tr->snap)
            return rf_errf(err, RF_ENOMEM, "snapshot: out of memory");
    }
    while (tr->epoch < tr->opts.max_epochs) {
        double t0 = now();
        rf_epoch_stats s = {.epoch = tr->epoch + 1};
        if (tr->snap)
            memcpy(tr->snap, tr->net.params, tr->net.n_params * sizeof(float));
        if (train_epoch(tr, d, train_rows, n_train, &s.train_loss, &s.train_acc, &s.lr) ||
            !params_finite(&tr->net)) {
            if (diverged(tr, err))
                return -1;
            continue;
        }
        s.val_loss = s.val_acc = NAN;
        if (n_val)
            rf_trainer_eval(tr, d, val_rows, n_val, &s.val_loss, &s.val_acc);
        s.seconds = tr->opts.record_time ? now() - t0 : 0;
        tr->epoch++;
        if (push_history(tr, &s))
            return rf_errf(err, RF_ENOMEM, "history: out of memory");
        int patience_out = track_best(tr, &s, d->kind == RF_CLASSIFICATION, n_val);
        if (cb) {
            int rc = cb(ud, tr, &s, err);
            if (rc < 0)
                return -1;
            if (rc > 0) {
                tr->stop_reason = RF_STOP_CALLBACK;
                return 0;
            }
        }
        if (tr->opts.graduate > 0 && n_val && s.val_acc >= tr->opts.graduate) {
            tr->stop_reason = RF_STOP_GRADUATED;
            return 0;
        }
        if (patience_out && n_val) {
            tr->stop_reason = RF_STOP_EARLY;
            return 0;
        }
    }
    tr->stop_reason = RF_STOP_MAX_EPOCHS;
    return 0;
}
