/* rf_train_stage: the handler of the train-stage worker (one curriculum
 * stage, or plain supervised training), kept in lib/ so tests can call it.
 * workers/train-stage.c is only its main(). docs/training.md describes
 * the inputs, `with` keys, outputs and metrics. */
#ifndef RF_TRAIN_STAGE_H
#define RF_TRAIN_STAGE_H

#include "rf_err.h"
#include "rf_task.h"

/* Default settings of one curriculum level (the table). */
typedef struct rf_level_defaults {
    double lr;
    long batch, epochs, patience;
    double clip, dropout;
    long accum;
    double graduate;          /* validation accuracy that ends the stage early */
} rf_level_defaults;

const rf_level_defaults *rf_level_defaults_for(int level);

int rf_train_stage_handle(rf_task *t, rf_err *err);
extern const char rf_train_stage_help[];

#endif
