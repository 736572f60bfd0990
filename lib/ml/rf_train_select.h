/* rf_train_select: the weight penalty chosen on the validation rows.
 *
 * How much L2 a network needs depends on the data: on FANN's gene set
 * (120 binary inputs, a near-linear problem) 1e-2 takes a point off the
 * test error that 1e-4 leaves, while on thyroid or robot 1e-2 triples it.
 * `l2=auto`, the default of plain training, trains the run once per
 * candidate (1e-4, 1e-2) with the same seed and options on the
 * training rows, early-stopped on the validation rows, and keeps the
 * candidate whose best epoch scored best there (validation error for
 * classes, ties by validation loss; loss for regression). The smallest
 * penalty wins ties. Without validation rows it is 1e-4. */
#ifndef RF_TRAIN_SELECT_H
#define RF_TRAIN_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "ml/rf_train.h"

#define RF_L2_CANDIDATES 2
extern const double rf_l2_candidates[RF_L2_CANDIDATES];

/* *l2 receives the chosen penalty; score (RF_L2_CANDIDATES, may be NULL)
 * each candidate's best validation metric (lower is better). */
int rf_train_select_l2(const rf_mlp_spec *spec, const rf_train_opts *opts,
                       const rf_dataset *d, const uint32_t *train, size_t n_train,
                       const uint32_t *val, size_t n_val, double *l2, double *score,
                       rf_err *err);

#endif
