/* rf_preprocess: the preprocess worker's handler.
 *
 *   with:  task      tool-selection (default) | error-recovery | tabular
 *          seed      split seed (default 42)
 *          split     TRAIN/VAL/TEST (default 70/15/15)
 *          stratify  label (default) | level: what the grouped splits balance
 *          hash_dim  hashed text features (default 4096)
 *          k_prev    previous tools as features (default 3)
 *          target    CSV label/target column (tabular; default the last)
 *          max_line  line size cap in bytes (default 64 MiB)
 *   input: sessions  log files or folders (several allowed), or for
 *                    task=tabular a FANN/CSV file (also accepted as data)
 *   output: dataset (ruvflow/dataset), tables (ruvflow/tables: sequences,
 *           plans, recoveries, comms, threads, signals), summary
 *           (summary.json; names documented in docs/preprocess.md)
 *
 * The scanning core is exposed for tests, the fuzzer and the benchmark. */
#ifndef RF_PREPROCESS_H
#define RF_PREPROCESS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"
#include "ml/rf_extract.h"
#include "engine/rf_task.h"

/* One raw line (as rf_lines_next hands it out): count, validate, extract.
 * Never fails: bad lines are counted as skipped with a reason. */
void rf_preprocess_line(rf_extractor *x, rf_file_stats *st, const char *line,
                        size_t len, int flags, uint64_t lineno);

/* Every line of one file. Fails only when the file cannot be read. */
int rf_preprocess_file(rf_extractor *x, rf_file_stats *st, const char *path,
                       size_t max_line, rf_err *err);

/* summary.json fields of one file (or of the total). New reference. */
json_t *rf_file_stats_json(const rf_file_stats *s);
/* Add b's counts to a (paths, skipped examples and formats excepted). */
void rf_file_stats_add(rf_file_stats *a, const rf_file_stats *b);

int rf_preprocess_handler(rf_task *t, rf_err *err);

#endif
