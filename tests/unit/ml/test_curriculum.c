/* Unit tests for rf_curriculum: stages in level order, cumulative rows, the
 * epoch budget shared out over the stages, rows without a level last, and
 * which rows each stage trains on (seen through the epoch callback). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml/rf_curriculum.h"

#define N 60

static void make(rf_dataset *d)
{
    memset(d, 0, sizeof *d);
    d->kind = RF_CLASSIFICATION;
    d->n_rows = N, d->n_features = 2, d->n_classes = 2;
    d->X = calloc(N * 2, sizeof *d->X);
    d->y_class = calloc(N, sizeof *d->y_class);
    d->level = calloc(N, 1);
    for (size_t i = 0; i < N; i++) {
        d->X[2 * i] = (float)(i % 7) - 3.0f;
        d->X[2 * i + 1] = (float)(i % 5) - 2.0f;
        d->y_class[i] = d->X[2 * i] > 0;
        /* 10 expert rows, 20 easy, 20 trivial, 10 without a level */
        d->level[i] = i < 10 ? RF_LEVEL_EXPERT : i < 30 ? RF_LEVEL_EASY
                      : i < 50 ? RF_LEVEL_TRIVIAL : RF_LEVEL_NONE;
    }
}

typedef struct seen { size_t epochs; } seen;

static int count_epoch(void *ud, rf_trainer *tr, const rf_epoch_stats *s, rf_err *err)
{
    (void)tr, (void)s, (void)err;
    ((seen *)ud)->epochs++;
    return 0;
}

static void test_stages(void **state)
{
    (void)state;
    rf_dataset d;
    make(&d);
    uint32_t train[N], val[6];
    size_t nt = 0, nv = 0;
    for (uint32_t i = 0; i < N; i++) {
        if (i % 10 == 9)
            val[nv++] = i;
        else
            train[nt++] = i;
    }
    size_t hidden[1] = {4};
    rf_mlp_spec spec;
    rf_train_opts o;
    rf_err e = {0};
    rf_train_opts_default(&o);
    o.max_epochs = 10;
    o.patience = 0;
    assert_int_equal(rf_train_spec_for(&d, hidden, 1, RF_ACT_RELU, &spec, &e), 0);
    rf_trainer tr;
    assert_int_equal(rf_trainer_init(&tr, &spec, &o, &e), 0);
    rf_curriculum_stage st[RF_CURRICULUM_MAX_STAGES];
    size_t ns = 0;
    seen s = {0};
    assert_int_equal(rf_train_curriculum(&tr, &d, train, nt, val, nv, count_epoch, &s, st,
                                         &ns, &e), 0);
    /* trivial, easy, expert, then the rows without a level */
    assert_int_equal(ns, 4);
    assert_int_equal(st[0].level, RF_LEVEL_TRIVIAL);
    assert_int_equal(st[1].level, RF_LEVEL_EASY);
    assert_int_equal(st[2].level, RF_LEVEL_EXPERT);
    assert_int_equal(st[3].level, RF_LEVEL_NONE);
    /* cumulative training rows: 18 trivial, +18 easy, +9 expert, +9 none */
    assert_int_equal(st[0].n_rows, 18);
    assert_int_equal(st[1].n_rows, 36);
    assert_int_equal(st[2].n_rows, 45);
    assert_int_equal(st[3].n_rows, nt);
    /* the budget of 10 epochs shared out: 2, 3, 2, 3 */
    int64_t sum = 0;
    for (size_t i = 0; i < ns; i++) {
        assert_true(st[i].epochs >= 2 && st[i].epochs <= 3);
        assert_int_equal(st[i].stop_reason, RF_STOP_MAX_EPOCHS);
        assert_false(isnan(st[i].val_acc));
        sum += st[i].epochs;
    }
    assert_int_equal(sum, 10);
    assert_int_equal(s.epochs, 10);
    assert_int_equal(tr.epoch, 10);
    assert_int_equal(tr.opts.max_epochs, 10);   /* restored */
    rf_trainer_free(&tr);

    /* no levels: a clear error */
    free(d.level);
    d.level = NULL;
    assert_int_equal(rf_trainer_init(&tr, &spec, &o, &e), 0);
    assert_int_equal(rf_train_curriculum(&tr, &d, train, nt, val, nv, NULL, NULL, st, &ns,
                                         &e), -1);
    assert_string_equal(e.msg, "curriculum: the dataset has no difficulty levels");
    rf_trainer_free(&tr);
    rf_dataset_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
