/* rf_train_online: train-stage `mode: incremental`; see rf_train_online.h. */
#include "handlers/rf_train_online.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "handlers/rf_train_stage.h"
#include "ml/rf_checkpoint.h"
#include "ml/rf_drift.h"
#include "ml/rf_ewc.h"
#include "ml/rf_online.h"
#include "ml/rf_replay.h"
#include "store/rf_modelreg.h"

static const char *const online_keys[] = {
    "mode", "registry", "model", "epochs", "bootstrap_epochs", "lr", "batch", "hidden",
    "replay", "drift_replay", "replay_cap", "ewc_lambda", "tolerance", "holdout_fraction",
    "newest_fraction", "psi_threshold", "ph_delta", "ph_lambda", "seed", NULL};

typedef struct online_cfg {
    const char *registry, *model;
    rf_train_setup net;            /* hidden layers of a bootstrap network */
    rf_online_opts fit;
    long boot_epochs, replay_cap, seed;
    double replay, drift_replay, tolerance, holdout_fraction, newest_fraction;
    double psi_threshold, ph_delta, ph_lambda;
} online_cfg;

/* Dense labelled rows, owned. */
typedef struct rowset {
    float *X;
    int32_t *y, *group;
    size_t n, dim;
} rowset;

typedef struct online_ctx {
    rf_task *t;
    online_cfg c;
    rf_store *store;
    rf_modelreg reg;
    rf_dataset d;                  /* the new rows as loaded */
    char dir[1024];                /* the task's output folder */
} online_ctx;

static int frac_ok(const char *key, double v, rf_err *err)
{
    if (!(v >= 0 && v < 1))
        return rf_errf(err, RF_EINVAL, "with.%s: expected a fraction in [0, 1), got %g", key, v);
    return 0;
}

static int parse_cfg(rf_task *t, online_cfg *c, rf_err *err)
{
    memset(c, 0, sizeof *c);
    if (rf_train_check_keys(t, online_keys, err))
        return -1;
    c->registry = rf_task_param(t, "registry");
    c->model = rf_task_param_or(t, "model", "model");
    if (!c->registry)
        return rf_errf(err, RF_EINVAL,
                       "mode incremental needs with.registry (a store URL, e.g. "
                       "file:///var/ruvflow/models)");
    if (rf_train_stage_parse_opts(t, -1, &c->net, err))
        return -1;
    long epochs, batch;
    if (rf_task_param_long(t, "epochs", 10, &epochs, err) ||
        rf_task_param_long(t, "bootstrap_epochs", 30, &c->boot_epochs, err) ||
        rf_task_param_long(t, "batch", 32, &batch, err) ||
        rf_task_param_double(t, "lr", 1e-3, &c->fit.lr, err) ||
        rf_task_param_double(t, "replay", 2.0, &c->replay, err) ||
        rf_task_param_double(t, "drift_replay", 6.0, &c->drift_replay, err) ||
        rf_task_param_long(t, "replay_cap", 5000, &c->replay_cap, err) ||
        rf_task_param_double(t, "ewc_lambda", 0, &c->fit.ewc_lambda, err) ||
        rf_task_param_double(t, "tolerance", 0.01, &c->tolerance, err) ||
        rf_task_param_double(t, "holdout_fraction", 0.2, &c->holdout_fraction, err) ||
        rf_task_param_double(t, "newest_fraction", 0.2, &c->newest_fraction, err) ||
        rf_task_param_double(t, "psi_threshold", 1.0, &c->psi_threshold, err) ||
        rf_task_param_double(t, "ph_delta", 0.05, &c->ph_delta, err) ||
        rf_task_param_double(t, "ph_lambda", 25, &c->ph_lambda, err) ||
        rf_task_param_long(t, "seed", 1, &c->seed, err))
        return -1;
    if (epochs < 1 || c->boot_epochs < 1 || batch < 1 || c->replay_cap < 1)
        return rf_errf(err, RF_EINVAL,
                       "with.epochs, bootstrap_epochs, batch and replay_cap must be >= 1");
    if (c->replay < 0 || c->drift_replay < 0 || c->fit.ewc_lambda < 0 || c->tolerance < 0)
        return rf_errf(err, RF_EINVAL,
                       "with.replay, drift_replay, ewc_lambda and tolerance must be >= 0");
    if (frac_ok("holdout_fraction", c->holdout_fraction, err) ||
        frac_ok("newest_fraction", c->newest_fraction, err))
        return -1;
    c->fit.epochs = (int)epochs;
    c->fit.batch = (size_t)batch;
    return 0;
}

/* ---- rows ---------------------------------------------------------------- */

static void rowset_alloc(rowset *r, size_t n, size_t dim)
{
    r->n = 0;
    r->dim = dim;
    r->X = rf_xmalloc((n ? n : 1) * dim * sizeof *r->X);
    r->y = rf_xmalloc((n ? n : 1) * sizeof *r->y);
    r->group = rf_xmalloc((n ? n : 1) * sizeof *r->group);
}

static void rowset_push(rowset *r, const float *x, int32_t y, int32_t g)
{
    memcpy(r->X + r->n * r->dim, x, r->dim * sizeof *x);
    r->y[r->n] = y;
    r->group[r->n] = g;
    r->n++;
}

static void rowset_free(rowset *r)
{
    free(r->X), free(r->y), free(r->group);
    memset(r, 0, sizeof *r);
}

/* Undo a dataset's own normalization (preprocess normalizes each batch by
 * its statistics; the lineage keeps those of its first batch). */
static void denormalize(rf_dataset *d)
{
    if (!d->mean || !d->std)
        return;
    for (size_t i = 0; i < d->n_rows; i++)
        for (size_t j = 0; j < d->n_features; j++) {
            float s = d->std[j] > 0 ? d->std[j] : 1;
            d->X[i * d->n_features + j] = d->X[i * d->n_features + j] * s + d->mean[j];
        }
    free(d->mean), free(d->std);
    d->mean = d->std = NULL;
}

static void normalize_rows(rowset *r, const float *mean, const float *std)
{
    for (size_t i = 0; i < r->n; i++)
        for (size_t j = 0; j < r->dim; j++) {
            float s = std[j] > 0 ? std[j] : 1;
            r->X[i * r->dim + j] = (r->X[i * r->dim + j] - mean[j]) / s;
        }
}

static int load_new_rows(online_ctx *x, rf_err *err)
{
    const char *ds = rf_task_input(x->t, "dataset", 0);
    if (!ds)
        return rf_errf(err, RF_EINVAL, "mode incremental needs a `dataset` input (new rows)");
    if (rf_dataset_load_any(ds, NULL, &x->d, err))
        return rf_err_prefix(err, "dataset %s", ds);
    if (x->d.kind != RF_CLASSIFICATION || x->d.n_rows == 0)
        return rf_errf(err, RF_EINVAL, "dataset %s: mode incremental needs classification rows",
                       ds);
    denormalize(&x->d);
    return 0;
}

/* Majority-class and previous-tool (label of the row before in the same
 * group) accuracies on rows r. */
static void baselines(const rowset *r, int32_t majority, double *maj, double *prev)
{
    size_t hm = 0, hp = 0;
    for (size_t i = 0; i < r->n; i++) {
        hm += r->y[i] == majority;
        int32_t guess = i > 0 && r->group[i] == r->group[i - 1] ? r->y[i - 1] : majority;
        hp += r->y[i] == guess;
    }
    *maj = r->n ? (double)hm / (double)r->n : NAN;
    *prev = r->n ? (double)hp / (double)r->n : NAN;
}

static int32_t majority_of(const int32_t *y, size_t n, size_t k)
{
    size_t *c = rf_xcalloc(k ? k : 1, sizeof *c), best = 0;
    for (size_t i = 0; i < n; i++)
        if (y[i] >= 0 && (size_t)y[i] < k)
            c[y[i]]++;
    for (size_t j = 1; j < k; j++)
        if (c[j] > c[best])
            best = j;
    free(c);
    return (int32_t)best;
}

/* ---- the registry's side objects ----------------------------------------- */

static void local_path(const online_ctx *x, const char *leaf, char *out, size_t n)
{
    snprintf(out, n, "%s/.%s", x->dir, leaf);
}

static int get_side(online_ctx *x, const char *leaf, char *path, size_t n, rf_err *err)
{
    char key[700];
    rf_modelreg_side_key(&x->reg, leaf, key, sizeof key);
    local_path(x, leaf, path, n);
    if (rf_store_get_file(x->store, key, path, err))
        return rf_err_prefix(err, "registry %s", key);
    return 0;
}

static int put_side(online_ctx *x, const char *leaf, const char *path, rf_err *err)
{
    char key[700];
    rf_modelreg_side_key(&x->reg, leaf, key, sizeof key);
    if (rf_store_put_file(x->store, key, path, NULL, err))
        return rf_err_prefix(err, "registry %s", key);
    return 0;
}

static int save_drift(online_ctx *x, const rf_ph *p, rf_err *err)
{
    char path[1100];
    local_path(x, "drift", path, sizeof path);
    FILE *f = fopen(path, "w");
    if (!f)
        return rf_err_errno(err, "write %s", path);
    fprintf(f, "ph %.17g %.17g %.17g %.17g %.17g %llu %llu %llu\n", p->delta, p->lambda,
            p->mean, p->m, p->mmin, (unsigned long long)p->n, (unsigned long long)p->seen,
            (unsigned long long)p->fired_at);
    if (fclose(f) != 0)
        return rf_err_errno(err, "write %s", path);
    return put_side(x, "drift", path, err);
}

static int load_drift(online_ctx *x, rf_ph *p, rf_err *err)
{
    char path[1100];
    if (get_side(x, "drift", path, sizeof path, err))
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return rf_err_errno(err, "read %s", path);
    unsigned long long n, seen, fired;
    int k = fscanf(f, "ph %lg %lg %lg %lg %lg %llu %llu %llu", &p->delta, &p->lambda, &p->mean,
                   &p->m, &p->mmin, &n, &seen, &fired);
    fclose(f);
    if (k != 8)
        return rf_errf(err, RF_ECORRUPT, "registry drift state %s does not parse", path);
    p->n = n, p->seen = seen, p->fired_at = fired;
    return 0;
}

/* ---- bootstrap ----------------------------------------------------------- */

/* A dataset shell over rows (borrowed arrays) for the artifact writers. */
static void shell(rf_dataset *s, const rowset *r, const rf_dataset *like, float *mean,
                  float *std)
{
    memset(s, 0, sizeof *s);
    s->kind = RF_CLASSIFICATION;
    s->n_rows = r->n;
    s->n_features = r->dim;
    s->X = r->X;
    s->y_class = r->y;
    s->group = r->group;
    s->n_classes = like->n_classes;
    s->labels = like->labels;
    s->mean = mean;
    s->std = std;
}

static void split_holdout(const online_ctx *x, rowset *train, rowset *hold)
{
    const rf_dataset *d = &x->d;
    rowset_alloc(train, d->n_rows, d->n_features);
    rowset_alloc(hold, d->n_rows, d->n_features);
    rf_rng rng;
    rf_rng_seed(&rng, (uint64_t)x->c.seed);
    for (size_t i = 0; i < d->n_rows; i++) {
        int32_t g = d->group ? d->group[i] : (int32_t)i;
        int h = rf_rng_float(&rng) < (float)x->c.holdout_fraction;
        rowset_push(h ? hold : train, d->X + i * d->n_features, d->y_class[i], g);
    }
}

static void train_stats(const rowset *r, float **mean, float **std)
{
    *mean = rf_xcalloc(r->dim, sizeof **mean);
    *std = rf_xcalloc(r->dim, sizeof **std);
    for (size_t i = 0; i < r->n; i++)
        for (size_t j = 0; j < r->dim; j++)
            (*mean)[j] += r->X[i * r->dim + j];
    for (size_t j = 0; j < r->dim; j++)
        (*mean)[j] /= (float)(r->n ? r->n : 1);
    for (size_t i = 0; i < r->n; i++)
        for (size_t j = 0; j < r->dim; j++) {
            float e = r->X[i * r->dim + j] - (*mean)[j];
            (*std)[j] += e * e;
        }
    for (size_t j = 0; j < r->dim; j++) {
        float s = sqrtf((*std)[j] / (float)(r->n ? r->n : 1));
        (*std)[j] = s > 1e-6f ? s : 1;
    }
}

static int fill_replay(rf_replay *rb, rf_mlp *net, const rowset *r, rf_err *err)
{
    double *loss = rf_xmalloc((r->n ? r->n : 1) * sizeof *loss), acc;
    int rc = rf_online_score(net, r->X, r->y, r->n, loss, NULL, &acc, err);
    for (size_t i = 0; rc == 0 && i < r->n; i++)
        rf_replay_add(rb, r->X + i * r->dim, r->y[i], loss[i]);
    free(loss);
    return rc;
}

static int save_replay(online_ctx *x, const rf_replay *rb, rf_err *err)
{
    char path[1100];
    local_path(x, "replay", path, sizeof path);
    if (rf_replay_save(path, rb, err))
        return -1;
    return put_side(x, "replay", path, err);
}

static int bootstrap(online_ctx *x, rf_err *err)
{
    rowset train, hold;
    split_holdout(x, &train, &hold);
    if (train.n == 0 || hold.n == 0) {
        rowset_free(&train), rowset_free(&hold);
        return rf_errf(err, RF_EINVAL, "bootstrap: %zu rows are too few to carve a holdout",
                       x->d.n_rows);
    }
    float *mean, *std;
    train_stats(&train, &mean, &std);
    normalize_rows(&train, mean, std);
    normalize_rows(&hold, mean, std);
    rf_mlp_spec spec;
    rf_trainer tr;
    rf_replay rb = {0};
    rf_dataset sh;
    char ck[1100], hp[1100];
    snprintf(ck, sizeof ck, "%s/checkpoint.art", x->dir);
    local_path(x, "holdout", hp, sizeof hp);
    int version = 0, rc = rf_train_spec_for(&x->d, x->c.net.hidden, x->c.net.n_hidden,
                                            x->c.net.act, &spec, err);
    x->c.net.opts.seed = (uint64_t)x->c.seed;
    if (rc == 0 && (rc = rf_trainer_init(&tr, &spec, &x->c.net.opts, err)) == 0) {
        rf_online_opts boot = x->c.fit;
        boot.epochs = (int)x->c.boot_epochs;
        boot.lr = x->c.net.opts.sched.lr;
        double acc = NAN;
        shell(&sh, &train, &x->d, mean, std);
        if ((rc = rf_online_fit(&tr, train.X, train.y, NULL, train.n, &boot, NULL, err)) == 0 &&
            (rc = rf_online_score(&tr.net, hold.X, hold.y, hold.n, NULL, NULL, &acc, err)) == 0 &&
            (rc = rf_checkpoint_write(ck, &tr, &sh, RF_CKPT_CURRENT, err)) == 0 &&
            (rc = rf_replay_init(&rb, (size_t)x->c.replay_cap, train.dim, err)) == 0 &&
            (rc = fill_replay(&rb, &tr.net, &train, err)) == 0) {
            shell(&sh, &hold, &x->d, mean, std);
            double maj, prev;
            baselines(&hold, majority_of(train.y, train.n, x->d.n_classes), &maj, &prev);
            char why[200];
            snprintf(why, sizeof why, "bootstrap: holdout accuracy %.3f (majority %.3f, "
                     "previous tool %.3f)", acc, maj, prev);
            rf_ph ph;
            rf_ph_init(&ph, x->c.ph_delta, x->c.ph_lambda);
            if ((rc = rf_dataset_write(hp, &sh, err)) == 0 &&
                (rc = put_side(x, "holdout", hp, err)) == 0 &&
                (rc = save_replay(x, &rb, err)) == 0 && (rc = save_drift(x, &ph, err)) == 0 &&
                (rc = rf_modelreg_promote(&x->reg, ck, why, &version, err)) == 0) {
                rf_task_logf(x->t, "%s; promoted as version %d", why, version);
                rf_task_metric(x->t, "holdout_acc", acc);
                rf_task_metric(x->t, "holdout_majority_acc", maj);
                rf_task_metric(x->t, "holdout_previous_acc", prev);
                rc = rf_task_output(x->t, "checkpoint", ck, err);
            }
        }
        rf_trainer_free(&tr);
    }
    rf_task_metric(x->t, "bootstrap", 1);
    rf_task_metric(x->t, "promoted", rc == 0);
    rf_task_metric(x->t, "version", version);
    rf_task_metric(x->t, "new_rows", (double)x->d.n_rows);
    rf_replay_free(&rb);
    rowset_free(&train), rowset_free(&hold);
    free(mean), free(std);
    return rc;
}

/* ---- one incremental step ------------------------------------------------ */

/* What the step works with besides the context. */
typedef struct step_state {
    rf_checkpoint ck;
    char **labels;           /* the lineage's labels, from the checkpoint */
    size_t n_labels;
    const float *mean, *std; /* inside ck */
    rowset cur;              /* new rows, remapped and normalized */
    size_t unknown;          /* rows whose label the lineage does not know */
    rf_replay rb;
    rf_dataset hold;
    rf_ph ph;
} step_state;

static int lineage_data(step_state *s, rf_err *err)
{
    rf_obj *d = rf_obj_get(s->ck.root, "data");
    rf_tensor *m = d ? rf_obj_get_tensor(d, "mean", RF_F32) : NULL;
    rf_tensor *v = d ? rf_obj_get_tensor(d, "std", RF_F32) : NULL;
    if (!s->ck.has_data || s->ck.kind != RF_CLASSIFICATION || !m || !v ||
        rf_tensor_count(m) != s->ck.spec.sizes[0] || rf_tensor_count(v) != s->ck.spec.sizes[0])
        return rf_errf(err, RF_ECORRUPT,
                       "production checkpoint has no class labels or normalization");
    s->mean = m->data;
    s->std = v->data;
    s->n_labels = s->ck.n_labels;
    s->labels = rf_xcalloc(s->n_labels ? s->n_labels : 1, sizeof *s->labels);
    for (size_t i = 0; i < s->n_labels; i++)
        s->labels[i] = rf_xstrdup(rf_checkpoint_label(&s->ck, i));
    return 0;
}

static int32_t lineage_label(const step_state *s, const char *name)
{
    for (size_t i = 0; i < s->n_labels; i++)
        if (name && strcmp(s->labels[i], name) == 0)
            return (int32_t)i;
    return -1;
}

static int remap_rows(const online_ctx *x, step_state *s, rf_err *err)
{
    const rf_dataset *d = &x->d;
    if (d->n_features != s->ck.spec.sizes[0])
        return rf_errf(err, RF_EINVAL, "new rows have %zu features, production expects %zu",
                       d->n_features, s->ck.spec.sizes[0]);
    rowset_alloc(&s->cur, d->n_rows, d->n_features);
    for (size_t i = 0; i < d->n_rows; i++) {
        const char *name = d->labels ? d->labels[d->y_class[i]] : NULL;
        int32_t y = lineage_label(s, name);
        if (y < 0) {
            s->unknown++;
            continue;
        }
        rowset_push(&s->cur, d->X + i * d->n_features, y, d->group ? d->group[i] : (int32_t)i);
    }
    normalize_rows(&s->cur, s->mean, s->std);
    if (s->cur.n < 2)
        return rf_errf(err, RF_EINVAL, "%zu of %zu new rows have labels production knows: "
                       "too few to update on", s->cur.n, d->n_rows);
    return 0;
}

static int load_step_state(online_ctx *x, int version, step_state *s, rf_err *err)
{
    char key[700], path[1100];
    rf_modelreg_key(&x->reg, version, key, sizeof key);
    local_path(x, "production.ckpt", path, sizeof path);
    if (rf_store_get_file(x->store, key, path, err) || rf_checkpoint_read(path, &s->ck, err))
        return rf_err_prefix(err, "production version %d", version);
    if (lineage_data(s, err) || remap_rows(x, s, err))
        return -1;
    if (get_side(x, "replay", path, sizeof path, err) || rf_replay_load(path, &s->rb, err))
        return -1;
    if (s->rb.dim != s->cur.dim || s->rb.n == 0)
        return rf_errf(err, RF_ECORRUPT, "replay buffer: %zu features, %zu rows", s->rb.dim,
                       s->rb.n);
    if (get_side(x, "holdout", path, sizeof path, err) || rf_dataset_read(path, &s->hold, err))
        return rf_err_prefix(err, "holdout");
    return load_drift(x, &s->ph, err);
}

static void step_state_free(step_state *s)
{
    for (size_t i = 0; s->labels && i < s->n_labels; i++)
        free(s->labels[i]);
    free(s->labels);
    rf_checkpoint_free(&s->ck);
    rowset_free(&s->cur);
    rf_replay_free(&s->rb);
    rf_dataset_free(&s->hold);
}

static int net_from_checkpoint(const online_ctx *x, const step_state *s, rf_trainer *tr,
                               rf_err *err)
{
    rf_train_opts o = x->c.net.opts;
    o.seed = (uint64_t)x->c.seed;
    if (rf_trainer_init(tr, &s->ck.spec, &o, err))
        return -1;
    if (rf_checkpoint_load_layers(tr, &s->ck, s->ck.spec.n_layers, err)) {
        rf_trainer_free(tr);
        return -1;
    }
    return 0;
}

/* Drift of this batch: Page-Hinkley on production's errors, PSI of labels
 * and features against the replay buffer. */
typedef struct drift_report {
    double preq_acc, maj_acc, prev_acc, psi_labels;
    rf_psi_summary psi_features;
    int ph_fired, drift;
} drift_report;

static int measure_drift(online_ctx *x, step_state *s, rf_mlp *prod, drift_report *r,
                         rf_err *err)
{
    uint8_t *ok = rf_xmalloc(s->cur.n);
    int rc = rf_online_score(prod, s->cur.X, s->cur.y, s->cur.n, NULL, ok, &r->preq_acc, err);
    for (size_t i = 0; rc == 0 && i < s->cur.n; i++)
        r->ph_fired |= rf_ph_update(&s->ph, ok[i] ? 0.0 : 1.0);
    free(ok);
    baselines(&s->cur, majority_of(s->rb.y, s->rb.n, s->n_labels), &r->maj_acc, &r->prev_acc);
    r->psi_labels = rf_psi_labels(s->rb.y, s->rb.n, s->cur.y, s->cur.n, s->n_labels);
    size_t nref = s->rb.n < 2000 ? s->rb.n : 2000;
    rf_psi_features(s->rb.X, nref, s->cur.X, s->cur.n, s->cur.dim, &r->psi_features);
    r->drift = r->ph_fired || r->psi_labels > x->c.psi_threshold ||
               r->psi_features.mean > x->c.psi_threshold;
    return rc;
}

/* The rows to fit: the new ones but the newest (weight 1) plus a replay
 * sample (IS weights); idx receives the replay slots drawn. */
static void fit_rows(const online_ctx *x, const step_state *s, size_t n_train, int drift,
                     rowset *fit, float **w, uint32_t **idx, size_t *k)
{
    double ratio = drift ? x->c.drift_replay : x->c.replay;
    *k = (size_t)(ratio * (double)n_train + 0.5);
    rowset_alloc(fit, n_train + *k, s->cur.dim);
    *w = rf_xmalloc((n_train + *k + 1) * sizeof **w);
    *idx = rf_xmalloc((*k + 1) * sizeof **idx);
    for (size_t i = 0; i < n_train; i++) {
        rowset_push(fit, s->cur.X + i * s->cur.dim, s->cur.y[i], s->cur.group[i]);
        (*w)[i] = 1;
    }
    rf_rng rng;
    rf_rng_seed(&rng, (uint64_t)x->c.seed ^ s->rb.added);
    *k = rf_replay_sample(&s->rb, *k, &rng, *idx, *w + n_train);
    for (size_t j = 0; j < *k; j++)
        rowset_push(fit, s->rb.X + (size_t)(*idx)[j] * s->rb.dim, s->rb.y[(*idx)[j]], -1);
}

static int fit_ewc(const rowset *fit, size_t from, rf_trainer *cand, size_t n_out, rf_ewc *e,
                   rf_err *err)
{
    size_t n = fit->n - from < 512 ? fit->n - from : 512;
    if (n == 0)
        return rf_errf(err, RF_EINVAL, "ewc_lambda needs replayed rows to estimate Fisher on");
    float *T = rf_xcalloc(n * n_out, sizeof *T);
    for (size_t i = 0; i < n; i++)
        T[i * n_out + (size_t)fit->y[from + i]] = 1;
    int rc = rf_ewc_fit(e, &cand->net, fit->X + from * fit->dim, T, n, err);
    free(T);
    return rc;
}

static int gate_scores(rf_mlp *cand, rf_mlp *prod, const step_state *s, size_t first_newest,
                       rf_gate *g, rf_err *err)
{
    const float *nx = s->cur.X + first_newest * s->cur.dim;
    const int32_t *ny = s->cur.y + first_newest;
    g->n_holdout = s->hold.n_rows;
    g->n_newest = s->cur.n - first_newest;
    if (rf_online_score(cand, s->hold.X, s->hold.y_class, g->n_holdout, NULL, NULL,
                        &g->cand_holdout, err) ||
        rf_online_score(prod, s->hold.X, s->hold.y_class, g->n_holdout, NULL, NULL,
                        &g->prod_holdout, err) ||
        rf_online_score(cand, nx, ny, g->n_newest, NULL, NULL, &g->cand_newest, err) ||
        rf_online_score(prod, nx, ny, g->n_newest, NULL, NULL, &g->prod_newest, err))
        return -1;
    rf_gate_decide(g);
    return 0;
}

static int write_gate_json(const online_ctx *x, const rf_gate *g, const drift_report *r,
                           int version, rf_err *err)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/gate.json", x->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return rf_err_errno(err, "write %s", path);
    fprintf(f, "{\"promoted\": %s, \"version\": %d, \"reason\": \"%s\",\n"
            " \"holdout\": {\"candidate\": %.6f, \"production\": %.6f, \"rows\": %zu},\n"
            " \"newest\": {\"candidate\": %.6f, \"production\": %.6f, \"rows\": %zu},\n"
            " \"prequential_acc\": %.6f, \"majority_acc\": %.6f, \"previous_acc\": %.6f,\n"
            " \"drift\": %s, \"page_hinkley\": %s, \"psi_labels\": %.6f,"
            " \"psi_features_max\": %.6f, \"psi_features_mean\": %.6f}\n",
            g->promote ? "true" : "false", version, g->reason, g->cand_holdout,
            g->prod_holdout, g->n_holdout, g->cand_newest, g->prod_newest, g->n_newest,
            r->preq_acc, r->maj_acc, r->prev_acc, r->drift ? "true" : "false",
            r->ph_fired ? "true" : "false", r->psi_labels, r->psi_features.max,
            r->psi_features.mean);
    if (fclose(f) != 0)
        return rf_err_errno(err, "write %s", path);
    return rf_task_output(x->t, "gate", path, err);
}

static void report(rf_task *t, const step_state *s, const drift_report *r, const rf_gate *g,
                   int version, size_t replayed)
{
    rf_task_metric(t, "bootstrap", 0);
    rf_task_metric(t, "promoted", g->promote);
    rf_task_metric(t, "version", version);
    rf_task_metric(t, "new_rows", (double)s->cur.n);
    rf_task_metric(t, "unknown_label_rows", (double)s->unknown);
    rf_task_metric(t, "replayed_rows", (double)replayed);
    rf_task_metric(t, "prequential_acc", r->preq_acc);
    rf_task_metric(t, "majority_acc", r->maj_acc);
    rf_task_metric(t, "previous_acc", r->prev_acc);
    rf_task_metric(t, "drift", r->drift);
    rf_task_metric(t, "page_hinkley", r->ph_fired);
    rf_task_metric(t, "psi_labels", r->psi_labels);
    rf_task_metric(t, "psi_features_max", r->psi_features.max);
    rf_task_metric(t, "psi_features_mean", r->psi_features.mean);
    rf_task_metric(t, "candidate_holdout_acc", g->cand_holdout);
    rf_task_metric(t, "production_holdout_acc", g->prod_holdout);
    rf_task_metric(t, "candidate_newest_acc", g->cand_newest);
    rf_task_metric(t, "production_newest_acc", g->prod_newest);
    rf_task_logf(t, "prequential accuracy %.3f on %zu new rows (majority %.3f, previous tool "
                 "%.3f)%s; drift: %s (Page-Hinkley %s, PSI labels %.3f, features mean %.3f)",
                 r->preq_acc, s->cur.n, r->maj_acc, r->prev_acc,
                 r->preq_acc <= fmax(r->maj_acc, r->prev_acc)
                     ? " -- production does NOT beat the baselines" : "",
                 r->drift ? "yes, larger replay share" : "no", r->ph_fired ? "fired" : "quiet",
                 r->psi_labels, r->psi_features.mean);
    rf_task_logf(t, "%s", g->reason);
}

/* Keep the new rows (and the replayed rows' new losses under the model now
 * in production) in the buffer. */
static int update_replay(online_ctx *x, step_state *s, rf_mlp *now, const uint32_t *idx,
                         size_t k, rf_err *err)
{
    double *loss = rf_xmalloc((k + s->cur.n + 1) * sizeof *loss), acc;
    int32_t *y = rf_xmalloc((k + 1) * sizeof *y);
    float *X = rf_xmalloc((k + 1) * s->rb.dim * sizeof *X);
    for (size_t j = 0; j < k; j++) {
        memcpy(X + j * s->rb.dim, s->rb.X + (size_t)idx[j] * s->rb.dim, s->rb.dim * sizeof *X);
        y[j] = s->rb.y[idx[j]];
    }
    int rc = rf_online_score(now, X, y, k, loss, NULL, &acc, err);
    if (rc == 0)
        rf_replay_update(&s->rb, idx, loss, k);
    if (rc == 0 && (rc = rf_online_score(now, s->cur.X, s->cur.y, s->cur.n, loss, NULL, &acc,
                                         err)) == 0)
        for (size_t i = 0; i < s->cur.n; i++)
            rf_replay_add(&s->rb, s->cur.X + i * s->cur.dim, s->cur.y[i], loss[i]);
    free(loss), free(y), free(X);
    return rc ? rc : save_replay(x, &s->rb, err);
}

static int write_candidate(online_ctx *x, const step_state *s, rf_trainer *cand, char *ck,
                           size_t n, rf_err *err)
{
    rf_dataset sh;
    rowset none = {0};
    none.dim = s->cur.dim;
    rf_dataset like = {0};
    like.n_classes = s->n_labels;
    like.labels = s->labels;
    shell(&sh, &none, &like, (float *)s->mean, (float *)s->std);
    snprintf(ck, n, "%s/checkpoint.art", x->dir);
    return rf_checkpoint_write(ck, cand, &sh, RF_CKPT_CURRENT, err);
}

static int train_and_gate(online_ctx *x, step_state *s, rf_trainer *prod, int *version,
                          rf_err *err)
{
    drift_report r = {0};
    if (measure_drift(x, s, &prod->net, &r, err))
        return -1;
    size_t first_newest = s->cur.n - (size_t)(x->c.newest_fraction * (double)s->cur.n);
    if (first_newest == s->cur.n && x->c.newest_fraction > 0)
        first_newest--;
    rowset fit;
    float *w;
    uint32_t *idx;
    size_t k;
    fit_rows(x, s, first_newest, r.drift, &fit, &w, &idx, &k);
    rf_trainer cand;
    rf_ewc ewc = {0};
    rf_gate g = {0};
    g.tolerance = x->c.tolerance;
    char ck[1100];
    int rc = net_from_checkpoint(x, s, &cand, err);
    if (rc == 0) {
        if (x->c.fit.ewc_lambda > 0)
            rc = fit_ewc(&fit, first_newest, &cand, s->n_labels, &ewc, err);
        if (rc == 0)
            rc = rf_online_fit(&cand, fit.X, fit.y, w, fit.n, &x->c.fit,
                               x->c.fit.ewc_lambda > 0 ? &ewc : NULL, err);
        if (rc == 0)
            rc = gate_scores(&cand.net, &prod->net, s, first_newest, &g, err);
        if (rc == 0)
            rc = write_candidate(x, s, &cand, ck, sizeof ck, err);
        if (rc == 0 && g.promote)
            rc = rf_modelreg_promote(&x->reg, ck, g.reason, version, err);
        else if (rc == 0)
            rc = rf_modelreg_reject(&x->reg, g.reason, err);
        if (rc == 0)
            rc = update_replay(x, s, g.promote ? &cand.net : &prod->net, idx, k, err);
        if (rc == 0)
            rc = save_drift(x, &s->ph, err);
        if (rc == 0) {
            report(x->t, s, &r, &g, *version, k);
            rc = write_gate_json(x, &g, &r, *version, err);
        }
        if (rc == 0)
            rc = rf_task_output(x->t, "checkpoint", ck, err);
        rf_trainer_free(&cand);
    }
    rf_ewc_free(&ewc);
    rowset_free(&fit);
    free(w), free(idx);
    return rc;
}

static int online_step(online_ctx *x, int version, rf_err *err)
{
    step_state s;
    memset(&s, 0, sizeof s);
    rf_trainer prod;
    int rc = load_step_state(x, version, &s, err);
    if (rc == 0 && (rc = net_from_checkpoint(x, &s, &prod, err)) == 0) {
        rc = train_and_gate(x, &s, &prod, &version, err);
        rf_trainer_free(&prod);
    }
    step_state_free(&s);
    return rc;
}

int rf_train_online_handle(rf_task *t, rf_err *err)
{
    online_ctx x;
    memset(&x, 0, sizeof x);
    x.t = t;
    snprintf(x.dir, sizeof x.dir, "%s", rf_task_outdir(t));
    if (parse_cfg(t, &x.c, err))
        return -1;
    if (rf_store_open(x.c.registry, NULL, &x.store, err))
        return rf_err_prefix(err, "with.registry");
    rf_modelreg_init(&x.reg, x.store, x.c.model);
    int version, rc = load_new_rows(&x, err);
    if (rc == 0 && rf_modelreg_current(&x.reg, &version, NULL, 0, err) != 0) {
        if (err && err->code == RF_ENOTFOUND) {
            rf_err_clear(err);
            version = 0;
        } else {
            rc = -1;
        }
    }
    if (rc == 0)
        rc = version == 0 ? bootstrap(&x, err) : online_step(&x, version, err);
    rf_dataset_free(&x.d);
    rf_store_close(x.store);
    return rc;
}
