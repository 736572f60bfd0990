/* rf_cv: cross-validation splits (which rows train and which rows test in
 * fold K), deterministic from a seed so that any fold can be recomputed
 * by any worker and checked by anyone from the recorded indices.
 *
 * Partition schemes put every row in exactly one test fold:
 *   kfold             rows shuffled (seeded) then cut into k blocks whose
 *                     sizes differ by at most one;
 *   stratified        per class, rows shuffled and dealt round-robin, so a
 *                     fold holds floor or ceil of n_c / k rows of class c;
 *   group             whole groups, largest first, each to the currently
 *                     smallest fold (ties between equal groups seeded);
 *   stratified-group  whole groups, greedily placed where they keep the
 *                     folds' class proportions closest to the whole set's
 *                     (the StratifiedGroupKFold heuristic).
 * The timeseries scheme keeps row order as time order: fold K trains on a
 * window ending at t and tests on [t + gap, t + gap + horizon); windows
 * slide by `step` and either keep their length (sliding) or grow from row 0
 * (expanding). Its test windows do not cover every row. */
#ifndef RF_CV_H
#define RF_CV_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"

enum rf_cv_scheme {
    RF_CV_KFOLD = 0, RF_CV_STRATIFIED, RF_CV_GROUP, RF_CV_STRATIFIED_GROUP,
    RF_CV_TIMESERIES
};

typedef struct rf_cv_spec {
    int scheme;        /* enum rf_cv_scheme */
    size_t folds;      /* k >= 2 */
    uint64_t seed;
    int shuffle;       /* kfold, stratified: 0 keeps row order (default 1) */
    int fallback;      /* impossible stratification -> plain k-fold (or
                          group k-fold for stratified-group) instead of an error */
    /* timeseries, in rows; 0 means "derive" (see rf_cv_timeseries_window) */
    size_t window;     /* training window length (first window when expanding) */
    size_t horizon;    /* test window length */
    size_t step;       /* shift between consecutive folds */
    size_t gap;        /* rows left out between training and test window */
    int expanding;     /* 1: training window starts at row 0 */
} rf_cv_spec;

/* What the splitter knows of the rows; label and group may be NULL when the
 * scheme does not need them. */
typedef struct rf_cv_rows {
    size_t n;
    const int32_t *label;   /* class per row, in [0, n_classes) */
    size_t n_classes;
    const int32_t *group;   /* group id per row (any int32 values) */
} rf_cv_rows;

/* One fold's split: ascending row indices. Owned; rf_cv_split_free. */
typedef struct rf_cv_split {
    size_t *train, *test;
    size_t n_train, n_test;
    int scheme_used;        /* differs from spec->scheme after a fallback */
    char note[256];         /* why a fallback happened, or "" */
} rf_cv_split;

void rf_cv_spec_default(rf_cv_spec *s);
int rf_cv_scheme_parse(const char *s);      /* -1 if unknown */
const char *rf_cv_scheme_name(int scheme);

/* Partition schemes: fold[i] in [0, k) for every row. Fails with RF_EINVAL
 * (and a message naming the cause) on impossible input; with
 * spec->fallback the weaker scheme is used instead and *used/note say so
 * (used and note may be NULL; note holds 256 bytes). */
int rf_cv_assign(const rf_cv_spec *spec, const rf_cv_rows *rows, int32_t *fold,
                 int *used, char *note, rf_err *err);

/* Timeseries: bounds of fold k's windows, all [begin, end) row ranges.
 * Derived defaults mirror scikit-learn's TimeSeriesSplit: horizon
 * n / (k + 1), step = horizon, and a first training window that makes the
 * last test window end at row n. With a window but no horizon, the k test
 * windows share the rows after the first window and gap equally. */
typedef struct rf_cv_window {
    size_t train_begin, train_end, test_begin, test_end;
} rf_cv_window;
int rf_cv_timeseries_window(const rf_cv_spec *spec, size_t n, size_t k,
                            rf_cv_window *w, rf_err *err);

/* The split of fold k (0-based) under any scheme. */
int rf_cv_split_fold(const rf_cv_spec *spec, const rf_cv_rows *rows, size_t k,
                     rf_cv_split *out, rf_err *err);
void rf_cv_split_free(rf_cv_split *s);

#endif
