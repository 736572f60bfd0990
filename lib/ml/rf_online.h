/* rf_online: the training side of online learning.
 *
 * Incremental updates fine-tune the production network on new rows plus a
 * replay sample of earlier ones, each row with a weight (1 for new rows,
 * the importance-sampling weight for replayed ones; rf_replay.h), and
 * optionally an EWC penalty (rf_ewc.h). Row weights are applied exactly
 * within one batched pass: for every supported output/loss pair the
 * gradient at the output is linear in (a - t), so training towards the
 * target t' = a - w (a - t) gives w times the row's gradient.
 *
 * The gate compares a candidate with the production model on a fixed
 * holdout and on the newest rows (not trained on): the candidate is
 * promoted only if it is not worse on either by more than a tolerance. */
#ifndef RF_ONLINE_H
#define RF_ONLINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"
#include "ml/rf_ewc.h"
#include "ml/rf_train.h"

typedef struct rf_online_opts {
    size_t batch;          /* rows per step, default 32 */
    int epochs;            /* passes over the rows, default 3 */
    double lr;             /* default 1e-3 */
    double ewc_lambda;     /* 0 = no EWC */
} rf_online_opts;

void rf_online_opts_default(rf_online_opts *o);

/* Fine-tune tr's network (classification, softmax output) on rows X
 * (n x inputs) with classes y and weights w (NULL = all 1), using tr's
 * optimizer and RNG. ewc may be NULL. Fails with RF_EINVAL on an
 * out-of-range class or when training diverges. */
int rf_online_fit(rf_trainer *tr, const float *X, const int32_t *y, const float *w, size_t n,
                  const rf_online_opts *o, const rf_ewc *ewc, rf_err *err);

/* Per-row cross-entropy (loss, may be NULL), correctness (correct, may be
 * NULL) and accuracy of net on rows X with classes y. */
int rf_online_score(rf_mlp *net, const float *X, const int32_t *y, size_t n, double *loss,
                    uint8_t *correct, double *acc, rf_err *err);

typedef struct rf_gate {
    double tolerance;            /* accuracy points, as a fraction (0.01 = 1 point) */
    double cand_holdout, prod_holdout;
    double cand_newest, prod_newest;
    size_t n_holdout, n_newest;
    int promote;                 /* out */
    char reason[320];            /* out */
} rf_gate;

/* Decide and explain. A side with no rows does not count. */
void rf_gate_decide(rf_gate *g);

#endif
