/* rf_worker_main: main() of every worker binary. `run` is the local mode
 * (rf_task_local.c), `serve` the Redis-served runtime (rf_runtime.c). */
#include "engine/rf_worker_main.h"

#include <stdio.h>
#include <string.h>

#include "engine/rf_runtime.h"
#include "engine/rf_task_local.h"

int rf_worker_main(int argc, char **argv, const rf_worker_def *def)
{
    if (argc >= 2 && !strcmp(argv[1], "run"))
        return rf_task_run_local(argc - 2, argv + 2, def);
    if (argc >= 2 && !strcmp(argv[1], "serve")) {
        const rf_worker_def *defs[1] = {def};
        return rf_runtime_serve(argc - 2, argv + 2, defs, 1);
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("ruvflow-%s %s\n", def->name, def->version);
        return 0;
    }
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        rf_worker_usage(def, stdout);
        return 0;
    }
    rf_worker_usage(def, stderr);
    return 2;
}
