/* Unit tests for rf_train and rf_checkpoint: learning (XOR, two-spiral,
 * mushroom, thyroid), determinism, early stopping, freezing, divergence,
 * bad input, and checkpoints (resume is bit-identical to an uninterrupted
 * run; chain; transfer; incompatible networks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ml/rf_checkpoint.h"
#include "ml/rf_train.h"
#include "rf_test.h"

static char tmpdir[] = "/tmp/rf_test_train.XXXXXX";

static uint32_t *iota_rows(size_t from, size_t n)
{
    uint32_t *r = malloc((n ? n : 1) * sizeof *r);
    for (size_t i = 0; i < n; i++)
        r[i] = (uint32_t)(from + i);
    return r;
}

static void xor_dataset(rf_dataset *d)
{
    memset(d, 0, sizeof *d);
    d->kind = RF_CLASSIFICATION;
    d->n_rows = 4;
    d->n_features = 2;
    d->n_classes = 2;
    d->X = malloc(8 * sizeof(float));
    d->y_class = malloc(4 * sizeof(int32_t));
    for (int i = 0; i < 4; i++) {
        d->X[2 * i] = (float)(i & 1);
        d->X[2 * i + 1] = (float)(i >> 1);
        d->y_class[i] = (i & 1) ^ (i >> 1);
    }
}

/* Load a FANN set from $RF_SHARED; 0 if the shared folder is missing. */
static int load_shared(const char *name, rf_dataset *d)
{
    const char *shared = getenv("RF_SHARED");
    char p[1024];
    snprintf(p, sizeof p, "%s/datasets/fann/%s", shared ? shared : "../shared", name);
    rf_err e = {0};
    if (rf_dataset_load_fann(p, d, &e)) {
        print_error("%s\n", e.msg);
        return 0;
    }
    return 1;
}

/* train + test files as one dataset: rows [0, n_train) then the test rows,
 * normalized with the training rows' statistics. */
static void load_pair(const char *name, rf_dataset *d, size_t *n_train)
{
    char a[128], b[128];
    snprintf(a, sizeof a, "%s.train", name);
    snprintf(b, sizeof b, "%s.test", name);
    rf_dataset te;
    assert_true(load_shared(a, d));
    assert_true(load_shared(b, &te));
    *n_train = d->n_rows;
    size_t n = d->n_rows + te.n_rows, f = d->n_features;
    d->X = realloc(d->X, n * f * sizeof(float));
    memcpy(d->X + d->n_rows * f, te.X, te.n_rows * f * sizeof(float));
    if (d->kind == RF_CLASSIFICATION) {
        d->y_class = realloc(d->y_class, n * sizeof(int32_t));
        memcpy(d->y_class + d->n_rows, te.y_class, te.n_rows * sizeof(int32_t));
    } else {
        size_t k = d->n_targets;
        d->y_reg = realloc(d->y_reg, n * k * sizeof(float));
        memcpy(d->y_reg + d->n_rows * k, te.y_reg, te.n_rows * k * sizeof(float));
    }
    d->split = calloc(n, 1);
    memset(d->split + d->n_rows, RF_SPLIT_TEST, te.n_rows);
    d->n_rows = n;
    rf_dataset_normalize(d);
    rf_dataset_free(&te);
}

static void make_trainer_act(rf_trainer *tr, const rf_dataset *d, const size_t *hidden,
                             size_t nh, int act, const rf_train_opts *o)
{
    rf_mlp_spec s;
    rf_err e = {0};
    assert_int_equal(rf_train_spec_for(d, hidden, nh, act, &s, &e), 0);
    if (rf_trainer_init(tr, &s, o, &e))
        fail_msg("%s", e.msg);
}

static void make_trainer(rf_trainer *tr, const rf_dataset *d, const size_t *hidden, size_t nh,
                         const rf_train_opts *o)
{
    make_trainer_act(tr, d, hidden, nh, RF_ACT_RELU, o);
}

static void run_ok(rf_trainer *tr, const rf_dataset *d, const uint32_t *tr_rows, size_t ntr,
                   const uint32_t *va, size_t nva)
{
    rf_err e = {0};
    if (rf_train_run(tr, d, tr_rows, ntr, va, nva, NULL, NULL, &e))
        fail_msg("%s", e.msg);
}

/* The trivial baseline by hand: classes 0,0,0,1 in training give the
 * add-one prior (4/6, 2/6); validation rows of class 0 and 1 then cost
 * -(log 2/3 + log 1/3) / 2 and the majority class gets one of the two.
 * A regression's baseline is the training mean: MSE 1 on targets 0 and 2
 * around mean 1. */
static void test_baseline_loss(void **state)
{
    (void)state;
    rf_dataset d;
    xor_dataset(&d);
    d.n_rows = 4;
    int32_t cls[4] = {0, 0, 0, 1};
    memcpy(d.y_class, cls, sizeof cls);
    rf_train_opts o;
    rf_train_opts_default(&o);
    rf_trainer tr;
    size_t h[] = {4};
    make_trainer(&tr, &d, h, 1, &o);
    uint32_t train[] = {0, 1, 2, 3}, val[] = {0, 3};
    double loss, acc;
    rf_err e = {0};
    assert_int_equal(rf_trainer_baseline(&tr, &d, train, 4, val, 2, &loss, &acc, &e), 0);
    assert_float_equal(loss, -(log(2.0 / 3) + log(1.0 / 3)) / 2, 1e-9);
    assert_float_equal(acc, 0.5, 1e-12);
    assert_int_equal(rf_trainer_baseline(&tr, &d, train, 0, val, 2, &loss, &acc, &e), -1);
    rf_trainer_free(&tr);
    rf_dataset_free(&d);

    memset(&d, 0, sizeof d);
    d.kind = RF_REGRESSION;
    d.n_rows = 2, d.n_features = 1, d.n_targets = 1;
    d.X = calloc(2, sizeof(float));
    d.y_reg = malloc(2 * sizeof(float));
    d.y_reg[0] = 0, d.y_reg[1] = 2;
    make_trainer(&tr, &d, h, 1, &o);
    assert_int_equal(rf_trainer_baseline(&tr, &d, train, 2, train, 2, &loss, &acc, &e), 0);
    assert_float_equal(loss, 1.0, 1e-9);
    assert_true(isnan(acc));
    rf_trainer_free(&tr);
    rf_dataset_free(&d);
}

static void test_xor(void **state)
{
    rf_dataset d;
    xor_dataset(&d);
    rf_train_opts o;
    rf_train_opts_default(&o);
    o.batch = 4;
    o.max_epochs = 300;
    o.sched.lr = 0.03;
    size_t hidden[] = {8};
    rf_trainer tr;
    make_trainer_act(&tr, &d, hidden, 1, RF_ACT_TANH, &o);
    uint32_t *rows = iota_rows(0, 4);
    run_ok(&tr, &d, rows, 4, NULL, 0);
    double loss, acc;
    rf_trainer_eval(&tr, &d, rows, 4, &loss, &acc);
    assert_true(acc == 1.0);
    assert_true(loss < 0.05);
    assert_int_equal(tr.stop_reason, RF_STOP_MAX_EPOCHS);
    free(rows);
    rf_trainer_free(&tr);
    rf_dataset_free(&d);
}

static void test_two_spiral(void **state)
{
    rf_dataset d;
    assert_true(load_shared("two-spiral.train", &d));
    rf_dataset_normalize(&d);
    rf_train_opts o;
    rf_train_opts_default(&o);
    o.batch = 16;
    o.max_epochs = 600;
    o.patience = 0;
    size_t hidden[] = {64, 64, 64};
    rf_trainer tr;
    make_trainer(&tr, &d, hidden, 3, &o);
    uint32_t *rows = iota_rows(0, d.n_rows);
    run_ok(&tr, &d, rows, d.n_rows, NULL, 0);
    double loss, acc;
    rf_trainer_eval(&tr, &d, rows, d.n_rows, &loss, &acc);
    print_message("two-spiral: training accuracy %.4f\n", acc);
    assert_true(acc >= 0.95);
    free(rows);
    rf_trainer_free(&tr);
    rf_dataset_free(&d);
}

/* Test error of a FANN set with train/val carved from .train. */
static double fann_test_error(const char *name, size_t hidden, int64_t epochs)
{
    rf_dataset d;
    size_t n_train;
    load_pair(name, &d, &n_train);
    size_t n_val = n_train / 10, n_fit = n_train - n_val;
    rf_train_opts o;
    rf_train_opts_default(&o);
    o.max_epochs = epochs;
    rf_trainer tr;
    make_trainer(&tr, &d, &hidden, 1, &o);
    /* the FANN files are not sorted by class: the last tenth validates */
    uint32_t *fit = iota_rows(0, n_fit), *val = iota_rows(n_fit, n_val);
    uint32_t *test = iota_rows(n_train, d.n_rows - n_train);
    run_ok(&tr, &d, fit, n_fit, val, n_val);
    rf_trainer_use_best(&tr);
    double loss, acc;
    rf_trainer_eval(&tr, &d, test, d.n_rows - n_train, &loss, &acc);
    print_message("%s: %lld epochs, test error %.4f\n", name, (long long)tr.epoch, 1 - acc);
    free(fit), free(val), free(test);
    rf_trainer_free(&tr);
    rf_dataset_free(&d);
    return 1 - acc;
}

static void test_mushroom(void **state)
{
    assert_true(fann_test_error("mushroom", 32, 20) < 0.01);
}

static void test_thyroid(void **state)
{
    assert_true(fann_test_error("thyroid", 16, 200) < 0.03);
}

/* Same seed, data and options: bit-identical weights; another seed: not. */
static void test_determinism(void **state)
{
    rf_dataset d;
    size_t n_train;
    load_pair("diabetes", &d, &n_train);
    rf_train_opts o;
    rf_train_opts_default(&o);
    o.max_epochs = 15;
    o.dropout = 0.2f;
    size_t hidden[] = {16, 8};
    uint32_t *rows = iota_rows(0, n_train);
    float *w[3];
    for (int k = 0; k < 3; k++) {
        o.seed = k < 2 ? 5 : 6;
        rf_trainer tr;
        make_trainer(&tr, &d, hidden, 2, &o);
        run_ok(&tr, &d, rows, n_train, NULL, 0);
        w[k] = malloc(tr.net.n_params * sizeof(float));
        memcpy(w[k], tr.net.params, tr.net.n_params * sizeof(float));
        if (k == 2) {
            assert_memory_equal(w[0], w[1], tr.net.n_params * sizeof(float));
            assert_memory_not_equal(w[0], w[2], tr.net.n_params * sizeof(float));
        }
        rf_trainer_free(&tr);
    }
    for (int k = 0; k < 3; k++)
        free(w[k]);
    free(rows);
    rf_dataset_free(&d);
}

/* Random labels: nothing generalizes, validation stops improving, and
 * patience ends the run long before max_epochs; best stays earlier. */
static void test_early_stopping(void **state)
{
    rf_dataset d;
    xor_dataset(&d);
    size_t n = 400;
    d.X = realloc(d.X, n * 2 * sizeof(float));
    d.y_class = realloc(d.y_class, n * sizeof(int32_t));
    rf_rng r;
    rf_rng_seed(&r, 9);
    for (size_t i = 0; i < n; i++) {
        d.X[2 * i] = rf_rng_float(&r);
        d.X[2 * i + 1] = rf_rng_float(&r);
        d.y_class[i] = (int32_t)rf_rng_below(&r, 2);
    }
    d.n_rows = n;
    rf_train_opts o;
    rf_train_opts_default(&o);
    o.max_epochs = 500;
    o.patience = 5;
    size_t hidden[] = {32};
    rf_trainer tr;
    make_trainer(&tr, &d, hidden, 1, &o);
    uint32_t *fit = iota_rows(0, 300), *val = iota_rows(300, 100);
    run_ok(&tr, &d, fit, 300, val, 100);
    assert_int_equal(tr.stop_reason, RF_STOP_EARLY);
    assert_true(tr.epoch < 100);
    assert_int_equal(tr.bad_epochs, 5);
    assert_true(tr.best_epoch < tr.epoch);
    assert_non_null(tr.best);
    free(fit), free(val);
    rf_trainer_free(&tr);
    rf_dataset_free(&d);
}

static void test_graduation(void **state)
{
    rf_dataset d;
    xor_dataset(&d);
    rf_train_opts o;
    rf_train_opts_default(&o);
    o.batch = 4;
    o.max_epochs = 1000;
    o.sched.lr = 0.03;
    o.graduate = 1.0;
    o.patience = 0;
    size_t hidden[] = {8};
    rf_trainer tr;
    make_trainer_act(&tr, &d, hidden, 1, RF_ACT_TANH, &o);
    uint32_t *rows = iota_rows(0, 4);
    run_ok(&tr, &d, rows, 4, rows, 4);
    assert_int_equal(tr.stop_reason, RF_STOP_GRADUATED);
    assert_true(tr.epoch < 1000);
    free(rows);
    rf_trainer_free(&tr);
    rf_dataset_free(&d);
}

static void test_freeze(void **state)
{
    rf_dataset d;
    size_t n_train;
    load_pair("diabetes", &d, &n_train);
    rf_train_opts o;
    rf_train_opts_default(&o);
    o.max_epochs = 5;
    o.freeze = 1;
    size_t hidden[] = {16, 8};
    rf_trainer tr;
    make_trainer(&tr, &d, hidden, 2, &o);
    size_t off = rf_mlp_frozen_offset(&tr.net, 1);
    float *before = malloc(tr.net.n_params * sizeof(float));
    memcpy(before, tr.net.params, tr.net.n_params * sizeof(float));
    uint32_t *rows = iota_rows(0, n_train);
    run_ok(&tr, &d, rows, n_train, NULL, 0);
    assert_memory_equal(before, tr.net.params, off * sizeof(float));
    assert_memory_not_equal(before + off, tr.net.params + off,
                            (tr.net.n_params - off) * sizeof(float));
    free(before);
    free(rows);
    rf_trainer_free(&tr);
    /* freezing every layer leaves nothing to train */
    o.freeze = 3;
    rf_mlp_spec s;
    rf_err e = {0};
    assert_int_equal(rf_train_spec_for(&d, hidden, 2, RF_ACT_RELU, &s, &e), 0);
    assert_int_equal(rf_trainer_init(&tr, &s, &o, &e), -1);
    rf_dataset_free(&d);
}

static void test_divergence(void **state)
{
    rf_dataset d;
    size_t n_train;
    load_pair("building", &d, &n_train);   /* regression */
    rf_train_opts o;
    rf_train_opts_default(&o);
    o.max_epochs = 5;
    rf_optim_cfg_default(&o.optim, RF_OPT_SGD);
    o.sched.lr = 1e6;
    size_t hidden[] = {16};
    rf_mlp_spec s;
    rf_err e = {0};
    assert_int_equal(rf_train_spec_for(&d, hidden, 1, RF_ACT_RELU, &s, &e), 0);
    s.out_act = RF_ACT_LINEAR;   /* a sigmoid output would saturate, not diverge */
    rf_trainer tr;
    assert_int_equal(rf_trainer_init(&tr, &s, &o, &e), 0);
    uint32_t *rows = iota_rows(0, n_train);
    assert_int_equal(rf_train_run(&tr, &d, rows, n_train, NULL, 0, NULL, NULL, &e), -1);
    assert_int_equal(e.code, RF_EINVAL);
    assert_non_null(strstr(e.msg, "diverged at epoch 1"));
    rf_trainer_free(&tr);
    /* configured to lower the rate: 1e6 -> ... -> 1e-2 recovers */
    o.on_diverge = RF_DIVERGE_LOWER_LR;
    o.max_lr_drops = 9;
    assert_int_equal(rf_trainer_init(&tr, &s, &o, &e), 0);
    if (rf_train_run(&tr, &d, rows, n_train, NULL, 0, NULL, NULL, &e))
        fail_msg("%s", e.msg);
    assert_true(tr.lr_scale < 1e-6);
    assert_int_equal(tr.epoch, 5);
    assert_true(isfinite(tr.history[4].train_loss));
    rf_trainer_free(&tr);
    free(rows);
    rf_dataset_free(&d);
}

static void test_bad_input(void **state)
{
    rf_dataset d, other;
    xor_dataset(&d);
    rf_train_opts o;
    rf_train_opts_default(&o);
    size_t hidden[] = {4};
    rf_trainer tr;
    make_trainer(&tr, &d, hidden, 1, &o);
    rf_err e = {0};
    uint32_t *rows = iota_rows(0, 4);
    /* empty split */
    assert_int_equal(rf_train_run(&tr, &d, rows, 0, NULL, 0, NULL, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "empty"));
    /* rows out of range */
    uint32_t bad[1] = {99};
    assert_int_equal(rf_train_run(&tr, &d, bad, 1, NULL, 0, NULL, NULL, &e), -1);
    /* a dataset of another shape */
    assert_true(load_shared("diabetes.train", &other));
    assert_int_equal(rf_train_run(&tr, &other, rows, 4, NULL, 0, NULL, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "features"));
    rf_dataset_free(&other);
    rf_trainer_free(&tr);
    /* bad options */
    o.batch = 0;
    rf_mlp_spec s;
    assert_int_equal(rf_train_spec_for(&d, hidden, 1, RF_ACT_RELU, &s, &e), 0);
    assert_int_equal(rf_trainer_init(&tr, &s, &o, &e), -1);
    free(rows);
    rf_dataset_free(&d);
}

/* ---- checkpoints ---------------------------------------------------------- */

typedef struct stop_at {
    int64_t epoch;
    const char *path;
    const rf_dataset *d;
} stop_at;

static int save_and_stop(void *ud, rf_trainer *tr, const rf_epoch_stats *s, rf_err *err)
{
    stop_at *x = ud;
    if (s->epoch != x->epoch)
        return 0;
    if (rf_checkpoint_write(x->path, tr, x->d, RF_CKPT_CURRENT, err))
        return -1;
    return 1;
}

/* 10 epochs straight == 4 epochs, checkpoint, a new trainer resumed from
 * it, 6 more: bit for bit, with dropout, Adam moments and a schedule. */
static void test_resume_bit_identical(void **state)
{
    rf_dataset d;
    size_t n_train;
    load_pair("diabetes", &d, &n_train);
    size_t n_fit = n_train - 40;
    uint32_t *fit = iota_rows(0, n_fit), *val = iota_rows(n_fit, 40);
    rf_train_opts o;
    rf_train_opts_default(&o);
    o.max_epochs = 10;
    o.patience = 0;
    o.dropout = 0.1f;
    o.sched.kind = RF_SCHED_COSINE;
    size_t hidden[] = {16, 8};
    rf_trainer a, b;
    make_trainer(&a, &d, hidden, 2, &o);
    run_ok(&a, &d, fit, n_fit, val, 40);

    char path[600];
    snprintf(path, sizeof path, "%s/ck.art", tmpdir);
    stop_at x = {4, path, &d};
    rf_err e = {0};
    make_trainer(&b, &d, hidden, 2, &o);
    assert_int_equal(rf_train_run(&b, &d, fit, n_fit, val, 40, save_and_stop, &x, &e), 0);
    assert_int_equal(b.stop_reason, RF_STOP_CALLBACK);
    rf_trainer_free(&b);

    rf_checkpoint ck;
    if (rf_checkpoint_read(path, &ck, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(ck.epoch, 4);
    assert_true(ck.has_data);
    make_trainer(&b, &d, hidden, 2, &o);
    if (rf_checkpoint_resume(&b, &ck, &e))
        fail_msg("%s", e.msg);
    rf_checkpoint_free(&ck);
    assert_int_equal(b.epoch, 4);
    assert_int_equal(b.n_history, 4);
    double l0, a0;   /* evaluating a resumed trainer before any run works */
    rf_trainer_eval(&b, &d, val, 40, &l0, &a0);
    assert_true(isfinite(l0) && a0 > 0.4);
    run_ok(&b, &d, fit, n_fit, val, 40);
    assert_int_equal(b.epoch, 10);
    assert_memory_equal(a.net.params, b.net.params, a.net.n_params * sizeof(float));
    assert_memory_equal(a.best, b.best, a.net.n_params * sizeof(float));
    assert_true(a.history[9].val_loss == b.history[9].val_loss);
    rf_trainer_free(&a);
    rf_trainer_free(&b);
    free(fit), free(val);
    rf_dataset_free(&d);
}

static void test_checkpoint_incompatible_and_transfer(void **state)
{
    rf_dataset d, x;
    size_t n_train;
    load_pair("diabetes", &d, &n_train);
    rf_train_opts o;
    rf_train_opts_default(&o);
    o.max_epochs = 2;
    size_t hidden[] = {16, 8}, other[] = {12};
    rf_trainer tr, t2;
    make_trainer(&tr, &d, hidden, 2, &o);
    uint32_t *rows = iota_rows(0, n_train);
    run_ok(&tr, &d, rows, n_train, NULL, 0);
    char path[600];
    snprintf(path, sizeof path, "%s/tr.art", tmpdir);
    rf_err e = {0};
    assert_int_equal(rf_checkpoint_write(path, &tr, &d, RF_CKPT_BEST, &e), 0);
    rf_checkpoint ck;
    assert_int_equal(rf_checkpoint_read(path, &ck, &e), 0);
    assert_string_equal(rf_checkpoint_label(&ck, 1), "1");

    /* resuming into another network fails and names both */
    make_trainer(&t2, &d, other, 1, &o);
    assert_int_equal(rf_checkpoint_resume(&t2, &ck, &e), -1);
    assert_non_null(strstr(e.msg, "incompatible checkpoint"));
    assert_non_null(strstr(e.msg, "8-16-8-2"));
    rf_trainer_free(&t2);

    /* a 3-class task: chaining is refused, replace and add work */
    xor_dataset(&x);
    rf_mlp_spec want, s;
    size_t ncopy;
    d.n_classes = 3;   /* only the spec is derived from it */
    assert_int_equal(rf_train_spec_for(&d, hidden, 2, RF_ACT_RELU, &want, &e), 0);
    d.n_classes = 2;
    assert_int_equal(rf_checkpoint_transfer_spec(&ck, &want, RF_TRANSFER_NONE, &s, &ncopy, &e),
                     -1);
    assert_non_null(strstr(e.msg, "transfer=replace"));
    assert_int_equal(rf_checkpoint_transfer_spec(&ck, &want, RF_TRANSFER_REPLACE, &s, &ncopy,
                                                 &e), 0);
    assert_int_equal(s.n_layers, 3);
    assert_int_equal(s.sizes[3], 3);
    assert_int_equal(ncopy, 2);
    o.freeze = 2;
    assert_int_equal(rf_trainer_init(&t2, &s, &o, &e), 0);
    assert_int_equal(rf_checkpoint_load_layers(&t2, &ck, ncopy, &e), 0);
    size_t off = rf_mlp_frozen_offset(&t2.net, 2);
    assert_memory_equal(t2.net.params, tr.best, off * sizeof(float));
    rf_trainer_free(&t2);
    assert_int_equal(rf_checkpoint_transfer_spec(&ck, &want, RF_TRANSFER_ADD, &s, &ncopy, &e),
                     0);
    assert_int_equal(s.n_layers, 4);
    assert_int_equal(s.sizes[3], 2);
    assert_int_equal(s.sizes[4], 3);
    assert_int_equal(ncopy, 3);
    /* a network over other inputs */
    assert_int_equal(rf_train_spec_for(&x, hidden, 2, RF_ACT_RELU, &want, &e), 0);
    assert_int_equal(rf_checkpoint_transfer_spec(&ck, &want, RF_TRANSFER_REPLACE, &s, &ncopy,
                                                 &e), -1);
    assert_non_null(strstr(e.msg, "inputs"));
    rf_checkpoint_free(&ck);

    /* not a checkpoint */
    snprintf(path, sizeof path, "%s/ds.art", tmpdir);
    assert_int_equal(rf_dataset_write(path, &d, &e), 0);
    assert_int_equal(rf_checkpoint_read(path, &ck, &e), -1);
    assert_non_null(strstr(e.msg, "ruvflow/dataset"));

    rf_trainer_free(&tr);
    free(rows);
    rf_dataset_free(&x);
    rf_dataset_free(&d);
}

static int setup(void **state)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    return rf_test_rmtree(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xor),
        cmocka_unit_test(test_two_spiral),
        cmocka_unit_test(test_mushroom),
        cmocka_unit_test(test_thyroid),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_early_stopping),
        cmocka_unit_test(test_graduation),
        cmocka_unit_test(test_freeze),
        cmocka_unit_test(test_divergence),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_resume_bit_identical),
        cmocka_unit_test(test_checkpoint_incompatible_and_transfer),
        cmocka_unit_test(test_baseline_loss),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
