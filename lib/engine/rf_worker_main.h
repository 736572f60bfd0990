/* rf_worker_main: main() of every worker binary. Worker binaries are thin:
 * a handler (lib/handlers/) plus this, which dispatches
 *   run ...     the local mode (rf_task_local.h)
 *   serve ...   the served runtime (rf_runtime.h)
 *   --version, --help */
#ifndef RF_WORKER_MAIN_H
#define RF_WORKER_MAIN_H

#include "engine/rf_task.h"

/* Returns the process exit status. */
int rf_worker_main(int argc, char **argv, const rf_worker_def *def);

#endif
