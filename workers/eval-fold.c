/* ruvflow-eval-fold: one cross-validation fold per task, or (aggregate=true)
 * the fan-in that reduces all folds. The logic is in lib/rf_eval_fold.c. */
#include "handlers/rf_eval_fold.h"
#include "engine/rf_worker_main.h"
#include "base/rf_version.h"

int main(int argc, char **argv)
{
    static const rf_worker_def def = {"eval-fold", RF_VERSION, rf_eval_fold_handler,
                                      rf_eval_fold_help};
    return rf_worker_main(argc, argv, &def);
}
