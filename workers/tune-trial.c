/* ruvflow-tune-trial: worker binary. Its issue has not landed yet, so every task
 * fails with "not implemented": nothing may report success without work. */
#include "engine/rf_worker_main.h"
#include "base/rf_version.h"

static int handle(rf_task *t, rf_err *err)
{
    (void)t;
    return rf_errf(err, RF_EUNSUPP, "tune-trial: not implemented");
}

int main(int argc, char **argv)
{
    static const rf_worker_def def = {"tune-trial", RF_VERSION, handle, NULL};
    return rf_worker_main(argc, argv, &def);
}
