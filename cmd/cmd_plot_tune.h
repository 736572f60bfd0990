/* cmd_plot_tune: the trial documents `ruvflow plot` draws for a search. */
#ifndef CMD_PLOT_TUNE_H
#define CMD_PLOT_TUNE_H

#include <jansson.h>

#include "base/rf_err.h"

/* Trial documents of a run's step (a search or its summary) into arr;
 * none found leaves arr empty (the step is not a search). */
int plot_tune_step(const char *run, const char *step, json_t *arr, rf_err *err);
/* Trial documents of local files (trials.jsonl, trial.json). */
int plot_tune_files(char *const *paths, size_t n, json_t *arr, rf_err *err);

#endif
