/* rf_train_graduate: when a curriculum stage has learnt enough to move on.
 *
 * A fixed accuracy (0.98 for trivial ... 0.85 for expert) means nothing on
 * a 17-class tool-selection task, where no stage reaches it. The default,
 * `graduate=baseline`, is derived from the stage's own data: the stage
 * graduates once its validation accuracy reaches the best trivial baseline
 * (majority class, previous action, Markov; rf_baseline.h) fitted on the
 * stage's training rows and scored on its validation rows -- it has then
 * learnt at least what the trivial predictor knows. A number still sets a
 * fixed threshold; 0 turns graduation off. Every stage reports the
 * threshold, its basis and its best validation accuracy, and one that does
 * not graduate says why (metrics graduate_threshold, graduate_basis,
 * best_val_accuracy, and a log line). */
#ifndef RF_TRAIN_GRADUATE_H
#define RF_TRAIN_GRADUATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"
#include "engine/rf_task.h"
#include "ml/rf_dataset.h"
#include "ml/rf_train.h"

enum rf_grad_basis {
    RF_GRAD_OFF = -1,       /* no graduation */
    RF_GRAD_FIXED = 0,      /* with.graduate=NUMBER */
    RF_GRAD_MAJORITY = 1,   /* 1 + rf_baseline_kind of the best baseline */
    RF_GRAD_PREVIOUS = 2,
    RF_GRAD_MARKOV = 3,
    RF_GRAD_BASELINE = 9    /* baseline requested, not derived yet */
};

typedef struct rf_graduate {
    int basis;              /* enum rf_grad_basis */
    double threshold;       /* validation accuracy that ends the stage */
    size_t n_val;           /* validation rows it was derived on */
    int derived;            /* graduate=baseline was asked for */
} rf_graduate;

/* with.graduate: "baseline" (the default of a curriculum stage, level >= 0),
 * a number in [0, 1] (0: off), or absent for plain training (off). */
int rf_graduate_parse(rf_task *t, int level, rf_graduate *g, rf_err *err);

/* Derives a baseline threshold from the stage's rows (classification with
 * validation rows; otherwise graduation is off). */
int rf_graduate_derive(rf_graduate *g, const rf_dataset *d, const uint32_t *train,
                       size_t n_train, const uint32_t *val, size_t n_val, rf_err *err);

/* Metrics and the log line of a finished stage (tr: the early-stopped run). */
void rf_graduate_report(rf_task *t, const rf_graduate *g, const rf_trainer *tr);

#endif
