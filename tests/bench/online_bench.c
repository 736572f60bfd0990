/* online_bench: the prequential replay behind tests/bench/bench_online.sh.
 *
 *   online_bench DATASET BATCH [SEED]
 *
 * Rows of a tool-selection dataset arrive BATCH at a time in their order
 * (preprocess emits sessions in file-name order and rows in line order).
 * Every model is tested on a batch before it trains on it (prequential,
 * test-then-train). Models:
 *   incremental  fine-tuned on each batch plus a prioritized replay sample
 *                (rf_replay, IS weights) with train-stage's incremental
 *                defaults (10 epochs, lr 1e-3, replay 2x the batch;
 *                $RF_ONLINE_EPOCHS, $RF_ONLINE_LR, $RF_ONLINE_REPLAY);
 *   full         retrained from scratch on every row seen so far, after
 *                every batch, with the bootstrap settings (30 epochs, lr 3e-3);
 *   frozen       trained on the first batch only;
 * and the baselines: majority (the most frequent label seen so far) and
 * previous tool (the label of the row before in the same session).
 * All three start from the same model trained on the first batch.
 *
 * Then the drift check: the same stream with the tool distribution changed
 * halfway (from the midpoint on, rows are redrawn from those whose label is
 * outside the 3 most frequent tools); Page-Hinkley on the incremental
 * model's prequential errors and the PSI of the labels of the last 100 rows
 * against the replay buffer (threshold $RF_ONLINE_PSI, default 1.0: the
 * real logs change tools from session to session, so the textbook 0.25
 * fires on them before any synthetic change); the rows from the change to
 * the first alarm, and alarms before the change (false alarms).
 *
 * Output: key=value pairs on one line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ml/rf_dataset.h"
#include "ml/rf_drift.h"
#include "ml/rf_online.h"
#include "ml/rf_replay.h"
#include "ml/rf_train.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct stream {
    const float *X;
    const int32_t *y, *group;
    size_t n, dim, k;
} stream;

static int new_model(const stream *s, uint64_t seed, rf_trainer *tr)
{
    rf_mlp_spec spec = {0};
    spec.n_layers = 2;
    spec.sizes[0] = s->dim;
    spec.sizes[1] = 64;
    spec.sizes[2] = s->k;
    spec.hidden_act = RF_ACT_RELU;
    spec.loss = RF_LOSS_SOFTMAX_CE;
    rf_train_opts o;
    rf_train_opts_default(&o);
    o.seed = seed;
    rf_err e = {0};
    if (rf_trainer_init(tr, &spec, &o, &e)) {
        fprintf(stderr, "online_bench: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int fit(rf_trainer *tr, const stream *s, size_t from, size_t n, const float *Xr,
               const int32_t *yr, const float *w, int epochs, double lr)
{
    rf_online_opts o;
    rf_online_opts_default(&o);
    o.epochs = epochs;
    o.lr = lr;
    rf_err e = {0};
    int rc = Xr ? rf_online_fit(tr, Xr, yr, w, n, &o, NULL, &e)
                : rf_online_fit(tr, s->X + from * s->dim, s->y + from, NULL, n, &o, NULL, &e);
    if (rc)
        fprintf(stderr, "online_bench: %s\n", e.msg);
    return rc;
}

/* Correct predictions of net on rows [from, from+n); per-row correctness
 * into ok (may be NULL). */
static size_t hits(rf_mlp *net, const stream *s, size_t from, size_t n, uint8_t *ok)
{
    uint8_t *c = ok ? ok : malloc(n);
    double acc;
    rf_err e = {0};
    rf_online_score(net, s->X + from * s->dim, s->y + from, n, NULL, c, &acc, &e);
    size_t h = 0;
    for (size_t i = 0; i < n; i++)
        h += c[i];
    if (!ok)
        free(c);
    return h;
}

typedef struct result {
    double inc, full, frozen, majority, previous;   /* prequential accuracies */
    double inc_s, full_s;                           /* training seconds */
    size_t tested;
} result;

static int inc_epochs(void)
{
    const char *v = getenv("RF_ONLINE_EPOCHS");
    return v ? atoi(v) : 10;
}

static double inc_lr(void)
{
    const char *v = getenv("RF_ONLINE_LR");
    return v ? atof(v) : 1e-3;
}

/* The incremental update of one batch: new rows plus a replay sample. */
static int incremental_step(rf_trainer *tr, rf_replay *rb, const stream *s, size_t from,
                            size_t n, rf_rng *rng)
{
    const char *rv = getenv("RF_ONLINE_REPLAY");
    size_t k = (size_t)((rv ? atof(rv) : 2.0) * (double)n + 0.5);
    size_t tot = n + k;
    float *X = malloc(tot * s->dim * sizeof *X), *w = malloc(tot * sizeof *w);
    int32_t *y = malloc(tot * sizeof *y);
    uint32_t *idx = malloc((k + 1) * sizeof *idx);
    memcpy(X, s->X + from * s->dim, n * s->dim * sizeof *X);
    memcpy(y, s->y + from, n * sizeof *y);
    for (size_t i = 0; i < n; i++)
        w[i] = 1;
    k = rf_replay_sample(rb, k, rng, idx, w + n);
    for (size_t j = 0; j < k; j++) {
        memcpy(X + (n + j) * s->dim, rb->X + (size_t)idx[j] * s->dim, s->dim * sizeof *X);
        y[n + j] = rb->y[idx[j]];
    }
    int rc = fit(tr, s, 0, n + k, X, y, w, inc_epochs(), inc_lr());
    double *loss = malloc((n + 1) * sizeof *loss), acc;
    rf_err e = {0};
    if (rc == 0 && rf_online_score(&tr->net, s->X + from * s->dim, s->y + from, n, loss, NULL,
                                   &acc, &e) == 0)
        for (size_t i = 0; i < n; i++)
            rf_replay_add(rb, s->X + (from + i) * s->dim, s->y[from + i], loss[i]);
    free(X), free(w), free(y), free(idx), free(loss);
    return rc;
}

static int32_t majority(const size_t *count, size_t k)
{
    size_t b = 0;
    for (size_t j = 1; j < k; j++)
        if (count[j] > count[b])
            b = j;
    return (int32_t)b;
}

static int replay(const stream *s, size_t B, uint64_t seed, result *r)
{
    memset(r, 0, sizeof *r);
    rf_trainer inc, frozen;
    if (new_model(s, seed, &inc) || new_model(s, seed, &frozen))
        return -1;
    rf_replay rb;
    rf_err e = {0};
    rf_replay_init(&rb, 5000, s->dim, &e);
    rf_rng rng;
    rf_rng_seed(&rng, seed);
    size_t *count = calloc(s->k, sizeof *count);
    /* the first batch: all three models start from the same training */
    if (fit(&inc, s, 0, B, NULL, NULL, NULL, 30, 3e-3))
        return -1;
    memcpy(frozen.net.params, inc.net.params, inc.net.n_params * sizeof(float));
    for (size_t i = 0; i < B; i++) {
        rf_replay_add(&rb, s->X + i * s->dim, s->y[i], 1.0);
        count[s->y[i]]++;
    }
    size_t h_inc = 0, h_full = 0, h_frozen = 0, h_maj = 0, h_prev = 0;
    rf_trainer full;
    int have_full = 0;
    for (size_t from = B; from < s->n; from += B) {
        size_t n = s->n - from < B ? s->n - from : B;
        /* test */
        h_inc += hits(&inc.net, s, from, n, NULL);
        h_frozen += hits(&frozen.net, s, from, n, NULL);
        /* before the first retrain, full is the shared start */
        h_full += hits(have_full ? &full.net : &inc.net, s, from, n, NULL);
        int32_t maj = majority(count, s->k);
        for (size_t i = from; i < from + n; i++) {
            h_maj += s->y[i] == maj;
            int32_t prev = i > 0 && s->group[i] == s->group[i - 1] ? s->y[i - 1] : maj;
            h_prev += s->y[i] == prev;
        }
        /* then train */
        double t0 = now();
        if (incremental_step(&inc, &rb, s, from, n, &rng))
            return -1;
        double t1 = now();
        if (have_full)
            rf_trainer_free(&full);
        if (new_model(s, seed, &full) || fit(&full, s, 0, from + n, NULL, NULL, NULL, 30, 3e-3))
            return -1;
        have_full = 1;
        double t2 = now();
        r->inc_s += t1 - t0;
        r->full_s += t2 - t1;
        for (size_t i = from; i < from + n; i++)
            count[s->y[i]]++;
        r->tested += n;
    }
    double t = (double)r->tested;
    r->inc = h_inc / t, r->full = h_full / t, r->frozen = h_frozen / t;
    r->majority = h_maj / t, r->previous = h_prev / t;
    rf_trainer_free(&inc), rf_trainer_free(&frozen);
    if (have_full)
        rf_trainer_free(&full);
    rf_replay_free(&rb);
    free(count);
    return 0;
}

/* The drifted stream: rows [0, n/2) as they are, then n - n/2 rows drawn
 * from those whose label is not among the 3 most frequent. */
static void drifted(const stream *s, uint64_t seed, float **X, int32_t **y, int32_t **g)
{
    size_t *count = calloc(s->k, sizeof *count);
    for (size_t i = 0; i < s->n; i++)
        count[s->y[i]]++;
    int32_t top[3] = {-1, -1, -1};
    for (int t = 0; t < 3; t++)
        for (size_t j = 0; j < s->k; j++)
            if ((top[t] < 0 || count[j] > count[top[t]]) && (int32_t)j != top[0] &&
                (int32_t)j != top[1])
                top[t] = (int32_t)j;
    size_t *pool = malloc(s->n * sizeof *pool), np = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->y[i] != top[0] && s->y[i] != top[1] && s->y[i] != top[2])
            pool[np++] = i;
    *X = malloc(s->n * s->dim * sizeof **X);
    *y = malloc(s->n * sizeof **y);
    *g = malloc(s->n * sizeof **g);
    rf_rng rng;
    rf_rng_seed(&rng, seed);
    for (size_t i = 0; i < s->n; i++) {
        size_t src = i < s->n / 2 || np == 0 ? i : pool[rf_rng_below(&rng, np)];
        memcpy(*X + i * s->dim, s->X + src * s->dim, s->dim * sizeof **X);
        (*y)[i] = s->y[src];
        (*g)[i] = s->group[src];
    }
    free(pool);
    free(count);
}

#define PSI_WINDOW 100

static double psi_threshold(void)
{
    const char *v = getenv("RF_ONLINE_PSI");
    return v ? atof(v) : 1.0;
}

typedef struct drift_result {
    long delay;            /* rows from the change to the first alarm, -1 none */
    size_t false_alarms;   /* alarms before the change */
    const char *by;        /* which test fired first */
} drift_result;

static int drift_run(const stream *s, size_t B, uint64_t seed, drift_result *r)
{
    rf_trainer inc;
    if (new_model(s, seed, &inc) || fit(&inc, s, 0, B, NULL, NULL, NULL, 30, 3e-3))
        return -1;
    rf_replay rb;
    rf_err e = {0};
    rf_replay_init(&rb, 5000, s->dim, &e);
    for (size_t i = 0; i < B; i++)
        rf_replay_add(&rb, s->X + i * s->dim, s->y[i], 1.0);
    rf_rng rng;
    rf_rng_seed(&rng, seed);
    rf_ph ph;
    rf_ph_init(&ph, 0.05, 25);
    size_t change = s->n / 2;
    r->delay = -1;
    r->false_alarms = 0;
    r->by = "none";
    uint8_t *ok = malloc(B);
    for (size_t from = B; from < s->n && r->delay < 0; from += B) {
        size_t n = s->n - from < B ? s->n - from : B;
        hits(&inc.net, s, from, n, ok);
        for (size_t i = 0; i < n && r->delay < 0; i++)
            if (rf_ph_update(&ph, ok[i] ? 0.0 : 1.0)) {
                if (from + i >= change)
                    r->delay = (long)(from + i + 1 - change), r->by = "page-hinkley";
                else
                    r->false_alarms++;
            }
        /* PSI over the last PSI_WINDOW rows: a batch of 20 rows over a few
         * dozen tools is too noisy on its own */
        size_t wfrom = from + n > PSI_WINDOW ? from + n - PSI_WINDOW : 0;
        double psi = rf_psi_labels(rb.y, rb.n, s->y + wfrom, from + n - wfrom, s->k);
        if (r->delay < 0 && psi > psi_threshold()) {
            if (from + n > change)
                r->delay = (long)(from + n - change), r->by = "psi-labels";
            else
                r->false_alarms++;
        }
        if (incremental_step(&inc, &rb, s, from, n, &rng))
            return -1;
    }
    free(ok);
    rf_trainer_free(&inc);
    rf_replay_free(&rb);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: online_bench DATASET BATCH [SEED]\n");
        return 2;
    }
    rf_dataset d;
    rf_err e = {0};
    if (rf_dataset_read(argv[1], &d, &e)) {
        fprintf(stderr, "online_bench: %s\n", e.msg);
        return 1;
    }
    size_t B = (size_t)atol(argv[2]);
    uint64_t seed = argc > 3 ? (uint64_t)atoll(argv[3]) : 1;
    if (d.kind != RF_CLASSIFICATION || !d.group || B == 0 || d.n_rows < 4 * B) {
        fprintf(stderr, "online_bench: need a classification dataset with groups and >= 4 "
                "batches\n");
        return 1;
    }
    stream s = {d.X, d.y_class, d.group, d.n_rows, d.n_features, d.n_classes};
    result r;
    if (replay(&s, B, seed, &r))
        return 1;
    float *X;
    int32_t *y, *g;
    drifted(&s, seed, &X, &y, &g);
    stream ds = {X, y, g, s.n, s.dim, s.k};
    drift_result dr;
    if (drift_run(&ds, B, seed, &dr))
        return 1;
    printf("rows=%zu batch=%zu tested=%zu inc_acc=%.4f full_acc=%.4f frozen_acc=%.4f "
           "majority_acc=%.4f previous_acc=%.4f inc_seconds=%.4f full_seconds=%.4f "
           "drift_delay=%ld drift_by=%s false_alarms=%zu\n",
           s.n, B, r.tested, r.inc, r.full, r.frozen, r.majority, r.previous, r.inc_s,
           r.full_s, dr.delay, dr.by, dr.false_alarms);
    free(X), free(y), free(g);
    rf_dataset_free(&d);
    return 0;
}
