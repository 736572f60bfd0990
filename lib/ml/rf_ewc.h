/* rf_ewc: Elastic Weight Consolidation (Kirkpatrick et al. 2017).
 *
 * When a model that learned earlier data is trained on new rows, EWC adds
 * the penalty (lambda / 2) * sum_j F_j (theta_j - anchor_j)^2, where anchor
 * is the model before the update and F the diagonal of the (empirical)
 * Fisher information on the earlier data: the mean over rows of the squared
 * per-row gradient of the loss. Parameters the earlier data depends on move
 * little; the rest are free to learn the new rows. */
#ifndef RF_EWC_H
#define RF_EWC_H

#include <stddef.h>

#include "base/rf_err.h"
#include "ml/rf_mlp.h"

typedef struct rf_ewc {
    size_t n;          /* parameters */
    float *anchor;     /* n, owned: the parameters before the update */
    float *fisher;     /* n, owned: diagonal Fisher information */
} rf_ewc;

/* Anchor at net's current parameters and estimate the Fisher diagonal on
 * rows of X (rows x in) with targets T (rows x out). Uses net's gradient
 * buffer and a one-row workspace; the parameters are left unchanged. */
int rf_ewc_fit(rf_ewc *e, rf_mlp *net, const float *X, const float *T, size_t rows,
               rf_err *err);
void rf_ewc_free(rf_ewc *e);

/* (lambda/2) sum F (p - anchor)^2 */
double rf_ewc_penalty(const rf_ewc *e, const float *params, double lambda);
/* grads += scale * lambda * F (p - anchor): the penalty's gradient. */
void rf_ewc_add_grad(const rf_ewc *e, const float *params, double lambda, float scale,
                     float *grads);

#endif
