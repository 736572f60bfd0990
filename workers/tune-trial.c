/* ruvflow-tune-trial: one trial of a `tune` step per task; the logic is in
 * lib/handlers/rf_tune_trial.c. */
#include "handlers/rf_tune_trial.h"
#include "engine/rf_worker_main.h"
#include "base/rf_version.h"

int main(int argc, char **argv)
{
    static const rf_worker_def def = {"tune-trial", RF_VERSION, rf_tune_trial_handler,
                                      rf_tune_trial_help};
    return rf_worker_main(argc, argv, &def);
}
