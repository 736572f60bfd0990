/* rf_dataset: the dataset that preprocess writes and train/eval read.
 *
 * Rows are samples: X is n_rows x n_features f32, row-major. A dataset is
 * either classification (y_class: class index per row, label names in
 * labels[]) or regression (y_reg: n_rows x n_targets f32). Optional per-row
 * columns: split (RF_SPLIT_*), group (e.g. session index, for grouped
 * splits), level (difficulty, RF_LEVEL_*, or RF_LEVEL_NONE), category
 * (index into categories[], or -1), prev_row (sequence tasks: index of the
 * previous row of the same sequence, -1 at its start). Normalization statistics (mean, std per
 * feature) are computed on the training split only.
 *
 * Stored as an artifact with content type "ruvflow/dataset" (rf_codec.h).
 * The struct owns every pointer; rf_dataset_free releases them. */
#ifndef RF_DATASET_H
#define RF_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"

enum rf_split { RF_SPLIT_TRAIN = 0, RF_SPLIT_VAL = 1, RF_SPLIT_TEST = 2 };
enum rf_level {
    RF_LEVEL_TRIVIAL = 0, RF_LEVEL_EASY, RF_LEVEL_MEDIUM, RF_LEVEL_HARD,
    RF_LEVEL_EXPERT, RF_LEVEL_COUNT, RF_LEVEL_NONE = 255
};
enum rf_task_kind { RF_CLASSIFICATION = 0, RF_REGRESSION = 1 };

typedef struct rf_dataset {
    int kind;                 /* enum rf_task_kind */
    size_t n_rows, n_features;
    float *X;                 /* n_rows * n_features */
    /* classification */
    int32_t *y_class;         /* n_rows, values in [0, n_classes) */
    size_t n_classes;
    char **labels;            /* n_classes names (may be NULL: "0", "1", ...) */
    /* regression */
    float *y_reg;             /* n_rows * n_targets */
    size_t n_targets;
    /* optional per-row columns (NULL when absent) */
    uint8_t *split;           /* enum rf_split */
    int32_t *group;           /* group id per row */
    uint8_t *level;           /* enum rf_level */
    int32_t *category;        /* index into categories or -1 */
    int32_t *prev_row;        /* sequences: the row before it in its sequence
                                 (same group), -1 at a start (rf_baseline.h) */
    char **categories;        /* n_categories names */
    size_t n_categories;
    char **feature_names;     /* n_features names, optional */
    float *mean, *std;        /* n_features each, optional */
    char *name;               /* free-form description, optional */
} rf_dataset;

void rf_dataset_free(rf_dataset *d);   /* frees members, not d itself */
const char *rf_level_name(int level);  /* "trivial" ... "expert", "none" */
int rf_level_parse(const char *s);     /* -1 if unknown */

int rf_dataset_write(const char *path, const rf_dataset *d, rf_err *err);
int rf_dataset_read(const char *path, rf_dataset *d, rf_err *err);

/* The bytes a tabular reader may plan for a dataset: half of the smaller
 * of physical memory and the process's address-space limit (ulimit -v). */
uint64_t rf_dataset_mem_limit(void);
/* Refuse rows x cols cells (8 bytes each: the float matrix plus what
 * normalization and training copy of it) over limit, before anything is
 * allocated for them: RF_ETOOBIG with "path:1:1: ..." naming both counts. */
int rf_dataset_check_size(const char *path, uint64_t rows, uint64_t cols, uint64_t limit,
                          rf_err *err);

/* Tabular readers. FANN: "N IN OUT" then input/output lines. One-hot
 * outputs (every output row 0/1 with exactly one 1, or -1/1 symmetric)
 * become classification; otherwise regression with OUT targets. CSV: header
 * row, numeric cells; `target` names the label/target column (NULL = the
 * last column other than "level"); a non-numeric target column makes
 * classification with its distinct values as labels. A column named "level"
 * holding trivial/easy/medium/hard/expert becomes the per-row level.
 * Errors name file:line. Both check the header's (FANN) or the counted
 * (CSV: lines x header cells) size with rf_dataset_check_size against
 * rf_dataset_mem_limit before they allocate a row. */
int rf_dataset_load_fann(const char *path, rf_dataset *d, rf_err *err);
int rf_dataset_load_csv(const char *path, const char *target, rf_dataset *d,
                        rf_err *err);
/* Sniff by content: artifact, FANN or CSV. */
int rf_dataset_load_any(const char *path, const char *target, rf_dataset *d,
                        rf_err *err);

/* Compute mean/std over rows with split == RF_SPLIT_TRAIN (all rows when
 * split is NULL) and apply (x - mean) / std in place (std 0 -> 1). */
void rf_dataset_normalize(rf_dataset *d);

#endif
