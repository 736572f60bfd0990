/* Unit tests for rf_train_select: l2=auto keeps the candidate with the best
 * validation metric (scores reported, ties broken by validation loss), the
 * smallest without validation rows, and a failing candidate is named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml/rf_train_select.h"

#define N 200
#define F 20

/* A linear rule on feature 0, 19 noise features, 20% of labels flipped. */
static void make(rf_dataset *d)
{
    memset(d, 0, sizeof *d);
    d->kind = RF_CLASSIFICATION;
    d->n_rows = N, d->n_features = F, d->n_classes = 2;
    d->X = calloc(N * F, sizeof *d->X);
    d->y_class = calloc(N, sizeof *d->y_class);
    uint32_t s = 3;
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < F; j++) {
            s = s * 1664525u + 1013904223u;
            d->X[i * F + j] = (float)((s >> 8) % 2000) / 1000.0f - 1.0f;
        }
        s = s * 1664525u + 1013904223u;
        d->y_class[i] = (d->X[i * F] > 0) ^ ((s >> 8) % 5 == 0);
    }
}

static void test_select(void **state)
{
    (void)state;
    rf_dataset d;
    make(&d);
    uint32_t train[N], val[N];
    size_t nt = 0, nv = 0;
    for (uint32_t i = 0; i < N; i++) {
        if (i % 2)
            val[nv++] = i;
        else if (nt < 40)
            train[nt++] = i;
    }
    size_t hidden[1] = {128};
    rf_mlp_spec spec;
    rf_train_opts o;
    rf_err e = {0};
    rf_train_opts_default(&o);
    o.max_epochs = 60;
    o.patience = 20;
    assert_int_equal(rf_train_spec_for(&d, hidden, 1, RF_ACT_RELU, &spec, &e), 0);
    double l2 = 0, score[RF_L2_CANDIDATES];
    assert_int_equal(rf_train_select_l2(&spec, &o, &d, train, nt, val, nv, &l2, score, &e), 0);
    double low = INFINITY, chosen = NAN;
    for (int i = 0; i < RF_L2_CANDIDATES; i++) {
        assert_true(isfinite(score[i]) && score[i] >= 0 && score[i] <= 1);
        low = fmin(low, score[i]);
        if (l2 == rf_l2_candidates[i])
            chosen = score[i];
    }
    /* the chosen one has the lowest validation error (ties: by loss) */
    assert_true(chosen == low);
    /* no validation rows: the smallest penalty, nothing trained */
    assert_int_equal(rf_train_select_l2(&spec, &o, &d, train, nt, val, 0, &l2, NULL, &e), 0);
    assert_true(l2 == rf_l2_candidates[0]);
    /* a training error surfaces with the candidate named */
    assert_int_equal(rf_train_select_l2(&spec, &o, &d, train, 0, val, nv, &l2, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "l2=auto: candidate"));
    rf_dataset_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
