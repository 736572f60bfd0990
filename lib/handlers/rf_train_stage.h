/* rf_train_stage: the handler of the train-stage worker (one curriculum
 * stage, or plain supervised training), kept in lib/ so tests can call it.
 * workers/train-stage.c is only its main(). docs/training.md describes
 * the inputs, `with` keys, outputs and metrics. */
#ifndef RF_TRAIN_STAGE_H
#define RF_TRAIN_STAGE_H

#include "base/rf_err.h"
#include "engine/rf_task.h"
#include "ml/rf_train.h"

/* Default settings of one curriculum level (the table). */
typedef struct rf_level_defaults {
    double lr;
    long batch, epochs, patience;
    double clip, dropout;
    long accum;
    double graduate;          /* validation accuracy that ends the stage early */
} rf_level_defaults;

const rf_level_defaults *rf_level_defaults_for(int level);

/* The network and training options of a `with`, shared by the workers that
 * train (train-stage, eval-fold) so that a key means the same everywhere. */
typedef struct rf_train_setup {
    size_t hidden[RF_MLP_MAXLAYERS - 1];
    size_t n_hidden;
    int act;                  /* enum rf_act of the hidden layers */
    rf_train_opts opts;       /* sched.warmup and step_every still in epochs */
    int refit;                /* enum rf_refit */
    int l2_auto;              /* l2=auto: chosen on the validation rows (rf_train_select.h) */
} rf_train_setup;

/* with.refit: after early stopping on the validation rows found the best
 * epoch E, train afresh on training plus validation rows for E epochs. */
enum rf_refit { RF_REFIT_AUTO = -1, RF_REFIT_OFF = 0, RF_REFIT_ON = 1 };

/* with.KEY through parse (a name -> enum value, -1 if unknown), def when
 * absent; RF_EINVAL "with.KEY: unknown value" otherwise. */
int rf_train_param_enum(rf_task *t, const char *key, const char *def,
                        int (*parse)(const char *), int *out, rf_err *err);

/* The training keys rf_train_stage_parse_opts reads (NULL-terminated). */
extern const char *const rf_train_opt_keys[];

/* Reads the training keys of t's `with` over the defaults of `level`
 * (rf_level_defaults_for; -1 for plain training): hidden, activation,
 * optimizer, lr, batch, epochs, patience, accum, dropout, clip, l1, l2,
 * weight_decay, momentum, schedule, warmup, step_every, gamma, on_diverge,
 * refit (auto|true|false: the worker decides what auto means), timings
 * (default true; false records no wall time in outputs: reproducible).
 * opts.graduate is 0: a stage derives its threshold (rf_train_graduate.h);
 * seed and freeze are the caller's.
 * RF_EINVAL naming the key on a bad value. */
int rf_train_stage_parse_opts(rf_task *t, int level, rf_train_setup *s, rf_err *err);

/* Fails with RF_EINVAL on a `with` key that is neither a training key nor
 * in own (the worker's keys, NULL-terminated): a misspelt key would
 * otherwise train with a default. */
int rf_train_check_keys(rf_task *t, const char *const *own, rf_err *err);

/* Converts the epoch-denominated warmup and step_every to optimizer steps
 * for n_train training rows. */
void rf_train_schedule_in_steps(rf_train_opts *o, size_t n_train);

int rf_train_stage_handle(rf_task *t, rf_err *err);
extern const char rf_train_stage_help[];

#endif
