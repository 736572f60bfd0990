/* ruvflow-preprocess: Claude Code session logs and tabular data into
 * training datasets. The logic lives in lib/rf_preprocess.c. */
#include "handlers/rf_preprocess.h"
#include "engine/rf_worker_main.h"
#include "base/rf_version.h"

static const char help[] =
    "with:   task=tool-selection|error-recovery|tabular (default tool-selection)\n"
    "        seed=N (42)  split=TRAIN/VAL/TEST (70/15/15)  hash_dim=N (4096)\n"
    "        k_prev=N (3)  stratify=label|level (label)  target=COLUMN (CSV)\n"
    "        max_line=BYTES (67108864)  allow_empty=true|false (false: no rows\n"
    "        fails the task; true keeps summary and tables of logs with no rows)\n"
    "input:  sessions=PATH  log files or folders (.jsonl/.json/.ndjson, .gz, .zst);\n"
    "        data=PATH      FANN or CSV file for task=tabular\n"
    "output: dataset (ruvflow/dataset), tables (ruvflow/tables), summary (summary.json)\n";

int main(int argc, char **argv)
{
    static const rf_worker_def def = {"preprocess", RF_VERSION, rf_preprocess_handler, help};
    return rf_worker_main(argc, argv, &def);
}
