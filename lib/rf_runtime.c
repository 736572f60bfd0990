/* rf_runtime: the served worker loop. Placeholder until the engine lands:
 * it refuses to serve rather than pretend to. */
#include "rf_runtime.h"

#include <stdio.h>

int rf_runtime_serve(int argc, char **argv, const rf_worker_def *const *defs,
                     size_t ndefs)
{
    (void)argc, (void)argv, (void)defs, (void)ndefs;
    fprintf(stderr, "ruvflow: serve: the Redis runtime is not implemented yet\n");
    return 1;
}
