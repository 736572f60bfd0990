/* rf_curriculum: training in order of difficulty, on the rows of one run.
 *
 * The rows' levels (rf_dataset.level) are sorted into stages, easiest
 * first; stage s trains on every training row of its level and the easier
 * ones (cumulative, so nothing learnt earlier is dropped), continuing the
 * same trainer. The budget is the trainer's max_epochs, shared out evenly
 * over the stages, so a curriculum run and a shuffled run of the same
 * options train for the same number of epochs. Rows without a level join
 * the last stage. Patience applies within a stage; the best validation
 * epoch is tracked over the whole run, as in a plain run.
 *
 * eval-fold's `curriculum=true` uses this to compare curriculum and
 * shuffled training on the same folds (docs/training.md). */
#ifndef RF_CURRICULUM_H
#define RF_CURRICULUM_H

#include <stddef.h>
#include <stdint.h>

#include "ml/rf_train.h"

typedef struct rf_curriculum_stage {
    int level;              /* enum rf_level; RF_LEVEL_NONE: rows without one */
    size_t n_rows;          /* training rows of this stage (cumulative) */
    int64_t epochs;         /* epochs trained in this stage */
    int stop_reason;        /* enum rf_stop_reason */
    double val_acc;         /* validation accuracy after its last epoch */
} rf_curriculum_stage;

#define RF_CURRICULUM_MAX_STAGES (RF_LEVEL_COUNT + 1)

/* Trains tr on train rows stage by stage (see above); stages receives one
 * entry per stage (at most RF_CURRICULUM_MAX_STAGES), *n_stages their
 * number. d must carry levels. Errors as rf_train_run. */
int rf_train_curriculum(rf_trainer *tr, const rf_dataset *d, const uint32_t *train,
                        size_t n_train, const uint32_t *val, size_t n_val, rf_epoch_fn cb,
                        void *ud, rf_curriculum_stage *stages, size_t *n_stages,
                        rf_err *err);

#endif
