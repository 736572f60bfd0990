/* rf_tune_trial: the tune-trial worker's handler, one trial of a `tune`
 * step. Two modes:
 *   exec   with.exec is a JSON list [program, arg, ...]: the program runs
 *          directly (never through a shell) with with.params, the
 *          proposed values as one JSON object, on its stdin. Each stdout
 *          line that is a JSON object with a "step" key is an intermediate
 *          report (streamed as progress series "trial", for pruners); the
 *          last other JSON object is the trial's metrics (numbers become
 *          task metrics). Exit non-zero, no metrics object, a metric named
 *          in with.metric missing, or with.timeout seconds passing fails
 *          the trial with the program's stderr tail.
 *   train  no with.exec: the proposed values are ordinary train-stage
 *          `with` keys, and the trial is train-stage's code
 *          (rf_train_stage_handle) on the step's dataset inputs.
 * Output `trial` (trial.json): {"trial", "params", "metrics", "seconds"}. */
#ifndef RF_TUNE_TRIAL_H
#define RF_TUNE_TRIAL_H

#include <jansson.h>

#include "base/rf_buf.h"
#include "base/rf_err.h"
#include "engine/rf_task.h"

int rf_tune_trial_handler(rf_task *t, rf_err *err);
extern const char rf_tune_trial_help[];

/* Parse an exec objective's stdout: *metrics gets the last JSON object
 * without "step" (new reference), *steps an array of the step objects.
 * RF_ECORRUPT when there is no metrics object. */
int rf_tune_parse_output(const char *out, size_t len, json_t **metrics,
                         json_t **steps, rf_err *err);

/* Run the exec objective of t (with.exec, with.timeout, with.metric) on
 * params; *metrics is the program's metrics object (new reference). On
 * failure the message carries the program's stderr tail. on_line (may be
 * NULL) sees each stdout line as it comes; non-zero stops the program
 * (the call then fails with RF_ECANCEL "stopped"). */
int rf_tune_exec_objective(rf_task *t, const json_t *params,
                           int (*on_line)(void *, const char *, size_t), void *arg,
                           json_t **metrics, rf_err *err);
/* Write doc as trial.json in the outdir and register it as output `trial`. */
int rf_tune_write_trial(rf_task *t, const json_t *doc, rf_err *err);
/* 1 when k is one of keys (NULL-terminated). */
int rf_tune_listed(const char *const *keys, const char *k);
/* RF_EINVAL naming a `with` key not in own (NULL-terminated). */
int rf_tune_check_keys(rf_task *t, const char *const *own, rf_err *err);

/* rf_tune_search.c: a trial of a search (with.space): propose from the
 * history of finished trials, run, record, ask for the next trial. */
int rf_tune_search_trial(rf_task *t, rf_err *err);
/* rf_tune_summary.c: the fan-in (with.summary): trials.jsonl, best.json or
 * pareto.json. */
int rf_tune_summary(rf_task *t, rf_err *err);

#endif
