/* rf_runtime: the served worker loop (Redis queues + object store).
 * `ruvflow-<worker> serve` and `ruvflow worker` call rf_runtime_serve. */
#ifndef RF_RUNTIME_H
#define RF_RUNTIME_H

#include "rf_task.h"

/* Serve tasks of def's type (and, for the CLI, extra built-in types) until
 * SIGTERM/SIGINT. argv holds the options after "serve". Exit status. */
int rf_runtime_serve(int argc, char **argv, const rf_worker_def *const *defs,
                     size_t ndefs);

#endif
