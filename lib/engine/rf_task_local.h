/* rf_task_local: the local mode of a worker binary,
 *   ruvflow-<worker> run --with K=V ... --input NAME=PATH ... --out DIR
 * runs the handler once on local files, with no Redis and no store (tests,
 * benchmarks, debugging). It sits above the task API, beside the served
 * runtime (rf_runtime.h); rf_worker_main.c picks between them. */
#ifndef RF_TASK_LOCAL_H
#define RF_TASK_LOCAL_H

#include <stdio.h>

#include "engine/rf_task.h"

/* Runs def->handler on one task described by argv (the words after "run").
 * Final metrics go to DIR/metrics.json; returns the process exit status. */
int rf_task_run_local(int argc, char **argv, const rf_worker_def *def);

/* The usage text of a worker binary, with def->help. */
void rf_worker_usage(const rf_worker_def *def, FILE *f);

#endif
