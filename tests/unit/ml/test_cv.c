/* Unit tests for rf_cv: split properties of every scheme and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml/rf_cv.h"

/* Deterministic pseudo-random test data (not the splitter's generator). */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Runs all k splits and checks that test parts are disjoint, cover every
 * row, and that each train part is exactly the complement. Returns the
 * fold of each row (caller frees). */
static int32_t *check_partition(const rf_cv_spec *s, const rf_cv_rows *r)
{
    int32_t *fold = malloc(r->n * sizeof *fold);
    for (size_t i = 0; i < r->n; i++)
        fold[i] = -1;
    for (size_t k = 0; k < s->folds; k++) {
        rf_cv_split sp;
        rf_err e = {0};
        assert_int_equal(rf_cv_split_fold(s, r, k, &sp, &e), 0);
        assert_int_equal(sp.n_train + sp.n_test, r->n);
        assert_true(sp.n_test > 0);
        for (size_t i = 0; i < sp.n_test; i++) {
            assert_int_equal(fold[sp.test[i]], -1);   /* disjoint */
            fold[sp.test[i]] = (int32_t)k;
            if (i)
                assert_true(sp.test[i] > sp.test[i - 1]);
        }
        for (size_t i = 0; i < sp.n_train; i++)
            assert_true(fold[sp.train[i]] != (int32_t)k);
        rf_cv_split_free(&sp);
    }
    for (size_t i = 0; i < r->n; i++)
        assert_true(fold[i] >= 0);                   /* covering */
    return fold;
}

static void fold_sizes(const int32_t *fold, size_t n, size_t k, size_t *sz)
{
    memset(sz, 0, k * sizeof *sz);
    for (size_t i = 0; i < n; i++)
        sz[fold[i]]++;
}

static void test_kfold(void **state)
{
    rf_cv_spec s;
    rf_cv_spec_default(&s);
    s.folds = 7;
    rf_cv_rows r = {.n = 103};
    int32_t *a = check_partition(&s, &r);
    size_t sz[7];
    fold_sizes(a, r.n, 7, sz);
    for (int f = 0; f < 7; f++)
        assert_true(sz[f] == 14 || sz[f] == 15);
    assert_int_equal(sz[0], 15);            /* first n % k folds larger */
    /* Deterministic from the seed; another seed gives another split. */
    int32_t *b = check_partition(&s, &r);
    assert_memory_equal(a, b, r.n * sizeof *a);
    s.seed = 7;
    int32_t *c = check_partition(&s, &r);
    assert_true(memcmp(a, c, r.n * sizeof *a) != 0);
    /* shuffle=0: contiguous blocks in row order */
    s.shuffle = 0;
    int32_t *d = check_partition(&s, &r);
    for (size_t i = 1; i < r.n; i++)
        assert_true(d[i] == d[i - 1] || d[i] == d[i - 1] + 1);
    free(a), free(b), free(c), free(d);
}

static void test_stratified_bound(void **state)
{
    /* Unbalanced classes: 61, 23, 9 and 5 rows, shuffled in row order. */
    size_t n = 98, per[4] = {61, 23, 9, 5};
    int32_t *y = malloc(n * sizeof *y);
    size_t i = 0;
    for (int c = 0; c < 4; c++)
        for (size_t j = 0; j < per[c]; j++)
            y[i++] = c;
    uint32_t seed = 1;
    for (i = n; i > 1; i--) {
        size_t j = lcg(&seed) % i;
        int32_t t = y[i - 1];
        y[i - 1] = y[j], y[j] = t;
    }
    rf_cv_rows r = {.n = n, .label = y, .n_classes = 4};
    for (size_t k = 2; k <= 5; k++) {
        rf_cv_spec s;
        rf_cv_spec_default(&s);
        s.scheme = RF_CV_STRATIFIED;
        s.folds = k;
        s.seed = 100 + k;
        int32_t *fold = check_partition(&s, &r);
        for (int c = 0; c < 4; c++) {
            double ideal = (double)per[c] / (double)k;
            for (size_t f = 0; f < k; f++) {
                size_t cnt = 0;
                for (i = 0; i < n; i++)
                    cnt += y[i] == c && fold[i] == (int32_t)f;
                assert_true(fabs((double)cnt - ideal) < 1.0);
            }
        }
        size_t sz[5];
        fold_sizes(fold, n, k, sz);
        for (size_t f = 1; f < k; f++)
            assert_true(sz[f] + 1 >= sz[0] && sz[f] <= sz[0] + 1);
        free(fold);
    }
    free(y);
}

/* Groups of uneven sizes; returns the number of distinct groups. */
static size_t make_groups(size_t n, int32_t *g, int32_t *y)
{
    uint32_t seed = 9;
    size_t i = 0, ng = 0;
    while (i < n) {
        size_t len = 1 + lcg(&seed) % 12;
        int32_t cls = (int32_t)(lcg(&seed) % 3);
        for (size_t j = 0; j < len && i < n; j++, i++) {
            g[i] = (int32_t)(1000 - 7 * ng);       /* ids need not be dense */
            /* mostly one class per group, as sessions tend to be */
            y[i] = (lcg(&seed) % 5) ? cls : (int32_t)(lcg(&seed) % 3);
        }
        ng++;
    }
    return ng;
}

static void check_groups_whole(const int32_t *g, const int32_t *fold, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (g[i] == g[j])
                assert_int_equal(fold[i], fold[j]);
}

static void test_group(void **state)
{
    size_t n = 300;
    int32_t g[300], y[300];
    size_t ng = make_groups(n, g, y);
    assert_true(ng >= 20);
    rf_cv_rows r = {.n = n, .label = y, .n_classes = 3, .group = g};
    rf_cv_spec s;
    rf_cv_spec_default(&s);
    s.scheme = RF_CV_GROUP;
    s.folds = 5;
    int32_t *fold = check_partition(&s, &r);
    check_groups_whole(g, fold, n);
    size_t sz[5], mn = n, mx = 0;
    fold_sizes(fold, n, 5, sz);
    for (int f = 0; f < 5; f++)
        mn = sz[f] < mn ? sz[f] : mn, mx = sz[f] > mx ? sz[f] : mx;
    assert_true(mx - mn <= 12);   /* within the largest group's size */
    free(fold);

    s.scheme = RF_CV_STRATIFIED_GROUP;
    fold = check_partition(&s, &r);
    check_groups_whole(g, fold, n);
    free(fold);
}

static void test_timeseries(void **state)
{
    rf_cv_spec s;
    rf_cv_spec_default(&s);
    s.scheme = RF_CV_TIMESERIES;
    s.folds = 3;
    s.expanding = 1;
    rf_cv_rows r = {.n = 10};
    /* scikit-learn's TimeSeriesSplit(3) on 10 rows: test [4,6) [6,8) [8,10). */
    for (size_t k = 0; k < 3; k++) {
        rf_cv_window w;
        rf_err e = {0};
        assert_int_equal(rf_cv_timeseries_window(&s, 10, k, &w, &e), 0);
        assert_int_equal(w.train_begin, 0);
        assert_int_equal(w.train_end, 4 + 2 * k);
        assert_int_equal(w.test_begin, 4 + 2 * k);
        assert_int_equal(w.test_end, 6 + 2 * k);
    }
    /* Sliding with a gap: constant training length, gap respected, and
     * every training row before every test row. */
    s.expanding = 0;
    s.folds = 4;
    s.window = 30, s.horizon = 10, s.step = 15, s.gap = 5;
    r.n = 200;
    for (size_t k = 0; k < 4; k++) {
        rf_cv_split sp;
        rf_err e = {0};
        assert_int_equal(rf_cv_split_fold(&s, &r, k, &sp, &e), 0);
        assert_int_equal(sp.n_train, 30);
        assert_int_equal(sp.n_test, 10);
        assert_int_equal(sp.test[0] - sp.train[sp.n_train - 1] - 1, 5);
        assert_int_equal(sp.train[0], 15 * k);
        for (size_t i = 1; i < sp.n_test; i++)
            assert_int_equal(sp.test[i], sp.test[i - 1] + 1);
        rf_cv_split_free(&sp);
    }
    /* A window without a horizon: the test windows share what follows it. */
    s.horizon = s.step = 0;
    s.window = 600, s.gap = 10;
    rf_cv_window w;
    rf_err e = {0};
    assert_int_equal(rf_cv_timeseries_window(&s, 2104, 3, &w, &e), 0);
    assert_int_equal(w.test_end - w.test_begin, (2104 - 600 - 10) / 4);
    assert_int_equal(w.test_begin, 600 + 3 * 373 + 10);
    assert_int_equal(w.train_begin, 3 * 373);
    s.window = 2100;
    assert_int_equal(rf_cv_timeseries_window(&s, 2104, 0, &w, &e), -1);
    assert_non_null(strstr(e.msg, "empty test window"));
}

static void test_bad_input(void **state)
{
    rf_err e = {0};
    rf_cv_spec s;
    rf_cv_spec_default(&s);
    rf_cv_split sp;
    rf_cv_rows r = {.n = 4};
    s.folds = 5;
    assert_int_equal(rf_cv_split_fold(&s, &r, 0, &sp, &e), -1);
    assert_int_equal(e.code, RF_EINVAL);
    assert_non_null(strstr(e.msg, "5 folds but only 4 rows"));

    /* Rarest class smaller than k: error, or plain k-fold with fallback. */
    int32_t y[20];
    for (int i = 0; i < 20; i++)
        y[i] = i < 17 ? 0 : 1;
    r = (rf_cv_rows){.n = 20, .label = y, .n_classes = 2};
    s.scheme = RF_CV_STRATIFIED;
    assert_int_equal(rf_cv_split_fold(&s, &r, 0, &sp, &e), -1);
    assert_non_null(strstr(e.msg, "rarest class has only 3 rows"));
    s.fallback = 1;
    assert_int_equal(rf_cv_split_fold(&s, &r, 0, &sp, &e), 0);
    assert_int_equal(sp.scheme_used, RF_CV_KFOLD);
    assert_non_null(strstr(sp.note, "fell back to kfold"));
    rf_cv_split_free(&sp);

    /* A single class makes stratification meaningless. */
    for (int i = 0; i < 20; i++)
        y[i] = 1;
    s.fallback = 0;
    assert_int_equal(rf_cv_split_fold(&s, &r, 0, &sp, &e), -1);
    assert_non_null(strstr(e.msg, "single class"));
    r.label = NULL;
    assert_int_equal(rf_cv_split_fold(&s, &r, 0, &sp, &e), -1);
    assert_non_null(strstr(e.msg, "class labels"));

    /* Groups: fewer groups than folds never falls back. */
    int32_t g[20];
    for (int i = 0; i < 20; i++)
        g[i] = i % 3;
    r = (rf_cv_rows){.n = 20, .group = g};
    s.scheme = RF_CV_GROUP;
    s.fallback = 1;
    assert_int_equal(rf_cv_split_fold(&s, &r, 0, &sp, &e), -1);
    assert_non_null(strstr(e.msg, "only 3 groups"));
    r.group = NULL;
    assert_int_equal(rf_cv_split_fold(&s, &r, 0, &sp, &e), -1);
    assert_non_null(strstr(e.msg, "group per row"));

    /* Class label out of range. */
    for (int i = 0; i < 20; i++)
        y[i] = i % 2;
    y[3] = 7;
    r = (rf_cv_rows){.n = 20, .label = y, .n_classes = 2};
    s.scheme = RF_CV_STRATIFIED;
    assert_int_equal(rf_cv_split_fold(&s, &r, 0, &sp, &e), -1);
    assert_non_null(strstr(e.msg, "row 3"));

    /* Empty windows. */
    s.scheme = RF_CV_TIMESERIES;
    s.folds = 5;
    r = (rf_cv_rows){.n = 4};
    assert_int_equal(rf_cv_split_fold(&s, &r, 0, &sp, &e), -1);
    assert_non_null(strstr(e.msg, "empty test window"));
    r.n = 100;
    s.window = 50, s.horizon = 10, s.step = 10, s.gap = 0;
    assert_int_equal(rf_cv_split_fold(&s, &r, 4, &sp, &e), 0);   /* fits exactly */
    assert_int_equal(sp.test[sp.n_test - 1], 99);
    rf_cv_split_free(&sp);
    s.gap = 1;
    assert_int_equal(rf_cv_split_fold(&s, &r, 0, &sp, &e), -1);
    assert_non_null(strstr(e.msg, "ends at row 101 but there are 100 rows"));
    s.window = 0, s.horizon = 20, s.step = 20;
    assert_int_equal(rf_cv_split_fold(&s, &r, 0, &sp, &e), -1);
    assert_non_null(strstr(e.msg, "empty training window"));
    s.horizon = 10;
    assert_int_equal(rf_cv_split_fold(&s, &r, 5, &sp, &e), -1);
    assert_non_null(strstr(e.msg, "fold 5 outside"));

    assert_int_equal(rf_cv_scheme_parse("stratified-group"), RF_CV_STRATIFIED_GROUP);
    assert_int_equal(rf_cv_scheme_parse("nope"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kfold),
        cmocka_unit_test(test_stratified_bound),
        cmocka_unit_test(test_group),
        cmocka_unit_test(test_timeseries),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
