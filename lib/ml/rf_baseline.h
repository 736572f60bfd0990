/* rf_baseline: the trivial predictors every model is measured against.
 *
 * A model's accuracy means little alone: on a skewed label set, always
 * answering the most common class scores well, and on sequences (which
 * tool comes next) "the same as the previous one" often does better still.
 * These baselines are fitted on a fold's training rows and predict its
 * test rows, so they stand beside the model on exactly the same split:
 *
 *   majority  the most common training class, for every row;
 *   previous  the class of the row's predecessor in its sequence
 *             (prev_row), the majority class where there is none;
 *   markov    first-order Markov chain (bigram): the most common class
 *             following the predecessor's class among the training rows;
 *             a sequence start is its own state ("no predecessor"); a
 *             predecessor class never seen in training falls back to the
 *             majority class.
 *
 * Ties go to the class more common in training, then the lower index, so
 * a baseline is a pure function of its training rows. previous and markov
 * need prev_row (sequence tasks: tool selection, error recovery); without
 * it only majority exists. Regression gets the training mean per target. */
#ifndef RF_BASELINE_H
#define RF_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"

enum rf_baseline_kind {
    RF_BASELINE_MAJORITY, RF_BASELINE_PREVIOUS, RF_BASELINE_MARKOV, RF_BASELINE_COUNT
};
const char *rf_baseline_name(int kind);          /* "majority", "previous", "markov" */
const char *rf_baseline_description(int kind);   /* "most common class", ... */

/* Rows of one fold, borrowed. prev_row[i] is the index of row i's
 * predecessor in its sequence or -1; NULL when the rows are no sequence. */
typedef struct rf_baseline_rows {
    const int32_t *y;            /* class of every row of the dataset */
    size_t n_classes;
    const int32_t *prev_row;     /* may be NULL */
    const uint32_t *train;       /* indices of the training rows */
    size_t n_train;
    const uint32_t *test;        /* indices of the rows to predict */
    size_t n_test;
} rf_baseline_rows;

/* Whether kind applies to these rows (previous/markov need prev_row). */
int rf_baseline_applies(const rf_baseline_rows *r, int kind);

/* pred (n_test) receives the baseline's class for every test row. Fails
 * on a class or predecessor index out of range, or no training row. */
int rf_baseline_predict(const rf_baseline_rows *r, int kind, int32_t *pred, rf_err *err);

/* Regression: y_hat (n_test x n_targets) receives the training mean. */
int rf_baseline_mean(const float *y, size_t n_targets, const uint32_t *train,
                     size_t n_train, size_t n_test, float *y_hat, rf_err *err);

#endif
