/* rf_plot_tune: the figure of a hyperparameter search (rf_plot's SVG):
 * the best objective so far and each trial's value against the trial
 * number, and for two objectives a second panel with the Pareto front
 * (objective 2 against objective 1, the front's points joined in order). */
#ifndef RF_PLOT_TUNE_H
#define RF_PLOT_TUNE_H

#include <jansson.h>

#include "base/rf_buf.h"
#include "base/rf_err.h"

/* trials: a JSON array of trial documents (trial.json or trials.jsonl
 * rows: trial, state, values, and objective/direction lists). RF_EINVAL
 * when no trial is complete. */
int rf_plot_tune_svg(rf_buf *out, const char *title, const json_t *trials,
                     rf_err *err);

#endif
