/* rf_train_online: train-stage `mode: incremental`, one step of online
 * learning against a model registry (store/rf_modelreg.h).
 *
 * The first run on an empty registry bootstraps: it carves a fixed holdout
 * from the rows, trains a fresh network, promotes it as version 1 and
 * saves the holdout, the replay buffer and the drift state beside it.
 * Every later run starts from the production checkpoint and
 *   1. scores production on the new rows before training on them
 *      (prequential accuracy, next to the majority and previous-tool
 *      baselines), runs Page-Hinkley on those errors and the PSI of the
 *      features and labels against the replay buffer: drift;
 *   2. fine-tunes on the new rows (all but the newest share) plus a
 *      prioritized replay sample (a larger share after drift), with
 *      importance-sampling weights and an optional EWC penalty;
 *   3. gates: promotes the candidate only if it is not worse than
 *      production on the holdout and on the newest rows by more than the
 *      tolerance; otherwise records why and leaves production as it was;
 *   4. adds the new rows to the replay buffer and saves it and the drift
 *      state.
 * docs/online-learning.md describes the keys, outputs and metrics. */
#ifndef RF_TRAIN_ONLINE_H
#define RF_TRAIN_ONLINE_H

#include "base/rf_err.h"
#include "engine/rf_task.h"

int rf_train_online_handle(rf_task *t, rf_err *err);

#endif
