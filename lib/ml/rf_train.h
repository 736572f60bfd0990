/* rf_train: the training loop. A trainer owns a network, its optimizer, its
 * random generator and its history; rf_train_run trains it on rows of an
 * rf_dataset for whole epochs (shuffled mini-batches, gradient accumulation,
 * dropout, schedules), evaluates the validation rows after each epoch,
 * tracks the best parameters, stops early (patience, graduation) and
 * detects divergence. Everything a resumed run needs is in the trainer, and
 * rf_checkpoint.h saves and restores it bit for bit.
 *
 * Typical use (one fold of a cross-validation, one curriculum stage):
 *
 *     rf_train_opts o;  rf_train_opts_default(&o);  o.max_epochs = 50;
 *     rf_mlp_spec s;    rf_train_spec_for(d, hidden, 2, RF_ACT_RELU, &s);
 *     rf_trainer tr;    rf_trainer_init(&tr, &s, &o, err);
 *     rf_train_run(&tr, d, train_rows, n_train, val_rows, n_val, cb, ud, err);
 *     rf_trainer_use_best(&tr);   // weights of the best validation epoch
 *     rf_trainer_eval(&tr, d, test_rows, n_test, &loss, &acc);
 *     rf_trainer_free(&tr);
 *
 * Determinism: the same seed, data, options and OpenBLAS thread count give
 * bit-identical weights; no other source of randomness is used. */
#ifndef RF_TRAIN_H
#define RF_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "ml/rf_dataset.h"
#include "base/rf_err.h"
#include "ml/rf_mlp.h"
#include "ml/rf_optim.h"
#include "base/rf_rng.h"

enum rf_diverge { RF_DIVERGE_STOP = 0, RF_DIVERGE_LOWER_LR = 1 };
enum rf_stop_reason {
    RF_STOP_NONE = 0, RF_STOP_MAX_EPOCHS, RF_STOP_EARLY, RF_STOP_GRADUATED, RF_STOP_CALLBACK
};
const char *rf_stop_reason_name(int r);

typedef struct rf_train_opts {
    size_t batch;             /* rows per mini-batch (rprop: whole split) */
    int accum;                /* mini-batches per optimizer step (>= 1) */
    int64_t max_epochs;       /* total epochs, counting resumed ones */
    int patience;             /* epochs without improvement; 0 = no early stop */
    double min_delta;         /* improvement smaller than this does not count */
    float dropout;            /* hidden-layer dropout rate during training */
    size_t freeze;            /* first k layers are not trained */
    uint64_t seed;            /* weights, shuffling, dropout */
    double graduate;          /* stop once val accuracy >= this (0 = off) */
    int on_diverge;           /* enum rf_diverge */
    int max_lr_drops;         /* RF_DIVERGE_LOWER_LR: divide lr by 10 at most N times */
    int record_time;          /* 1 (default): history keeps each epoch's wall time;
                                 0: 0 there, so checkpoints are reproducible bit
                                 for bit (the same inputs give the same bytes) */
    rf_optim_cfg optim;
    rf_schedule sched;        /* sched.lr is the base learning rate; sched.total
                                 is filled in from max_epochs when 0 */
} rf_train_opts;

/* Adam, lr 3e-3, batch 32, 100 epochs, patience 10, seed 1 (tuned on the
 * FANN benchmark sets, see docs/training.md). */
void rf_train_opts_default(rf_train_opts *o);

/* One epoch's numbers; accuracies are NaN for regression, val_* NaN when
 * there is no validation split. */
typedef struct rf_epoch_stats {
    int64_t epoch;            /* 1-based */
    double train_loss, train_acc, val_loss, val_acc, lr, seconds;
} rf_epoch_stats;

typedef struct rf_trainer {
    rf_mlp net;
    rf_optim opt;
    rf_rng rng;
    rf_train_opts opts;
    int64_t epoch;            /* epochs completed */
    int64_t step;             /* optimizer steps taken */
    rf_epoch_stats *history;  /* n_history entries, owned */
    size_t n_history;
    float *best;              /* parameters of the best epoch (owned), NULL before one */
    double best_metric;       /* lower is better: val error (classes) or val loss,
                                 train loss without validation rows */
    double best_tie;          /* val loss, breaking ties of val error */
    int64_t best_epoch;
    int bad_epochs;           /* epochs since the best one */
    double lr_scale;          /* 1, divided by 10 per divergence recovery */
    int stop_reason;          /* enum rf_stop_reason of the last run */
    /* scratch owned by the trainer */
    float *Xb, *Tb, *snap;
    float *Xfull, *Tfull;     /* the gathered rows of a full-batch run */
    int full_ready;
    uint32_t *perm;
    size_t perm_cap;
} rf_trainer;

/* Called after every epoch (after history, best and patience are updated).
 * Return 0 to go on, 1 to stop cleanly (stop_reason = CALLBACK), -1 with
 * *err set to abort the run with that error. */
typedef int (*rf_epoch_fn)(void *ud, rf_trainer *tr, const rf_epoch_stats *s, rf_err *err);

/* The output layer a dataset needs: classes -> softmax over n_classes;
 * regression -> MSE over n_targets, with a sigmoid output when every target
 * lies in [0, 1], linear otherwise. hidden lists the hidden widths. */
int rf_train_spec_for(const rf_dataset *d, const size_t *hidden, size_t n_hidden,
                      int hidden_act, rf_mlp_spec *spec, rf_err *err);

/* Fresh trainer: network initialized from opts->seed. */
int rf_trainer_init(rf_trainer *tr, const rf_mlp_spec *spec, const rf_train_opts *opts,
                    rf_err *err);
void rf_trainer_free(rf_trainer *tr);

/* Train on the given rows (indices into d) until max_epochs, early stop,
 * graduation or the callback says stop. n_val may be 0 (no early stopping
 * then; the best model is the one with the lowest training loss). Fails
 * with RF_EINVAL on shape mismatch or empty training rows, and on divergence
 * (NaN/Inf loss) with a message naming the epoch unless configured to lower
 * the learning rate. */
int rf_train_run(rf_trainer *tr, const rf_dataset *d, const uint32_t *train_rows,
                 size_t n_train, const uint32_t *val_rows, size_t n_val, rf_epoch_fn cb,
                 void *ud, rf_err *err);

/* The trivial baseline a model must beat, on the trainer's loss: the best
 * constant output fitted on the training rows (class prior with add-one
 * smoothing for softmax cross-entropy, the mean target for MSE and BCE).
 * Its mean loss on rows, and for classes the accuracy of always answering
 * the majority training class (NaN for regression). */
int rf_trainer_baseline(const rf_trainer *tr, const rf_dataset *d, const uint32_t *train,
                        size_t n_train, const uint32_t *rows, size_t n, double *loss,
                        double *acc, rf_err *err);

/* Mean loss and accuracy (NaN for regression) of the current weights on rows. */
void rf_trainer_eval(rf_trainer *tr, const rf_dataset *d, const uint32_t *rows, size_t n,
                     double *loss, double *acc);
/* Copy the best epoch's parameters into the network (no-op without one). */
void rf_trainer_use_best(rf_trainer *tr);
/* Forget the best epoch, so that the current weights are the model (a
 * refit has no validation rows to choose an epoch by). */
void rf_trainer_drop_best(rf_trainer *tr);
/* Check that d fits the network (features, outputs). */
int rf_trainer_check_data(const rf_trainer *tr, const rf_dataset *d, rf_err *err);

#endif
