/* rf_tune_lint: the checks of tune-trial steps that the workflow parser
 * cannot make (it knows no search spaces): `ruvflow lint` and `submit` run
 * them after the parser, so a bad space, sampler, direction or objective
 * is refused with FILE:LINE:COL before anything runs. */
#ifndef RF_TUNE_LINT_H
#define RF_TUNE_LINT_H

#include "engine/rf_workflow.h"

/* Appends one diagnostic per problem to d; returns how many it added. */
size_t rf_tune_lint(const rf_workflow *wf, rf_wf_diags *d);

#endif
