/* rf_eval_agg: the fan-in half of cross-validation. Reduces the outputs of
 * every fold (fold.json, or a flat metrics.json) to aggregate.json: per
 * metric the mean, sample standard deviation, a 95% Student-t confidence
 * interval and the number of folds that reported it, plus a per-fold table.
 * The means (and std, ci95_low, ci95_high as <name>_std ...) become the
 * task's metrics. Runs as the eval-fold worker with `aggregate: true`.
 * With a second input `versus` (another variant's fold.json, same folds in
 * the same order) it adds the paired comparison of the two. */
#ifndef RF_EVAL_AGG_H
#define RF_EVAL_AGG_H

#include <jansson.h>

#include "base/rf_err.h"
#include "engine/rf_task.h"

/* Handler body: inputs `folds` (one path per fold, in fold order). */
int rf_eval_aggregate(rf_task *t, rf_err *err);

/* The reduction itself, on already loaded fold documents (each a fold.json
 * object with a "metrics" object, or a flat object of numbers). Returns a
 * new aggregate.json object, or NULL with *err set. */
json_t *rf_eval_aggregate_docs(json_t *const *docs, size_t n, rf_err *err);

/* Two variants on the same folds (docs[i] and other[i] are fold i of
 * each): both means and the paired per-fold gain of docs over other in
 * the headline metric (accuracy up, or RMSE down), with its 95% interval.
 * Fails when the documents name different folds. */
json_t *rf_eval_versus_docs(json_t *const *docs, json_t *const *other, size_t n,
                            rf_err *err);

#endif
