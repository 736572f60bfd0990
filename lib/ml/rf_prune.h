/* rf_prune: early stopping of unpromising trials from their intermediate
 * metrics (per-epoch validation loss, say), minimised.
 *
 *   median  (Google Vizier's median stopping rule, Optuna's MedianPruner):
 *           after `warmup` steps and once `startup` other trials reported,
 *           stop a trial whose best value so far is worse than the median
 *           of the other trials' values at the same step;
 *   asha    (asynchronous successive halving, Li et al. 2020): rungs at
 *           steps min_resource * eta^k; a trial reaching a rung continues
 *           only if its value is among the top 1/eta of the values recorded
 *           at that rung (every trial continues while a rung holds fewer
 *           than eta values).
 * Stateless: the decision is a function of the curves given. */
#ifndef RF_PRUNE_H
#define RF_PRUNE_H

#include <stddef.h>

#include "base/rf_err.h"

enum rf_pruner { RF_PRUNER_NONE = 0, RF_PRUNER_MEDIAN, RF_PRUNER_ASHA };

typedef struct rf_prune_cfg {
    int pruner;           /* enum rf_pruner */
    size_t startup;       /* median: other trials needed first (default 5) */
    size_t warmup;        /* median: steps never pruned (default 0) */
    size_t min_resource;  /* asha: first rung step, >= 1 (default 1) */
    size_t eta;           /* asha: reduction factor, >= 2 (default 3) */
} rf_prune_cfg;

/* One trial's intermediate values: v[step] (NaN where not reported). */
typedef struct rf_curve {
    const double *v;
    size_t n;
} rf_curve;

int rf_pruner_parse(const char *name, int *pruner, rf_err *err);
void rf_prune_cfg_default(rf_prune_cfg *c, int pruner);

/* Should `self`, which just reported step self->n - 1, stop? *stop = 1 or 0.
 * `others` are the other trials' curves (complete, pruned or running). */
int rf_prune_check(const rf_prune_cfg *c, const rf_curve *self,
                   const rf_curve *others, size_t n_others, int *stop,
                   rf_err *err);

#endif
