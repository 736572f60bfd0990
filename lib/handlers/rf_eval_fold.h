/* rf_eval_fold: the eval-fold worker's handler. One task is one fold of a
 * cross-validation: split the dataset (rf_cv), train on the training part
 * with the train-stage code (rf_train), evaluate on the held-out part
 * (rf_metrics) and write
 *   metrics.json  flat numbers (rf_task_metric),
 *   fold.json     (output `fold`) metrics, per-class table, confusion
 *                 matrix, breakdowns by level and category, resources,
 *   split.json    (output `split`) the row indices of `train`, `val` (the
 *                 part of train used for early stopping) and `test`,
 *   model.art     (output `model`) the fold's trained network as a
 *                 "ruvflow/checkpoint" artifact.
 * With `aggregate: true` the same worker is the fan-in step instead
 * (rf_eval_agg.h). Parameters are listed in rf_eval_fold_help and in
 * docs/evaluation.md. */
#ifndef RF_EVAL_FOLD_H
#define RF_EVAL_FOLD_H

#include "base/rf_err.h"
#include "engine/rf_task.h"

int rf_eval_fold_handler(rf_task *t, rf_err *err);

extern const char rf_eval_fold_help[];

#endif
