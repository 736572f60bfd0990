/* ruvflow-checkpoint-compact: compacts a run's checkpoints into versions of
 * the checkpoint repository and promotes the best; the logic is in
 * lib/handlers/rf_ckpt_compact.c. */
#include "handlers/rf_ckpt_compact.h"
#include "engine/rf_worker_main.h"
#include "base/rf_version.h"

int main(int argc, char **argv)
{
    static const rf_worker_def def = {"checkpoint-compact", RF_VERSION, rf_ckpt_compact_handler,
                                      rf_ckpt_compact_help};
    return rf_worker_main(argc, argv, &def);
}
