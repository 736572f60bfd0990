/* ruvflow-train-stage: trains one curriculum stage (or a plain supervised
 * run) of an MLP; the handler is lib/rf_train_stage.c. */
#include "engine/rf_worker_main.h"
#include "handlers/rf_train_stage.h"
#include "base/rf_version.h"

int main(int argc, char **argv)
{
    static const rf_worker_def def = {"train-stage", RF_VERSION, rf_train_stage_handle,
                                      rf_train_stage_help};
    return rf_worker_main(argc, argv, &def);
}
