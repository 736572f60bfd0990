/* rf_checkpoint: a trainer saved as a "ruvflow/checkpoint" artifact.
 *
 * A checkpoint holds everything needed to continue training bit for bit:
 * the network shape, its parameters, the best parameters so far, the
 * optimizer state (moments / step sizes and step count), the RNG state,
 * epoch, step, patience and divergence counters and the per-epoch metric
 * history; plus what inference needs from the data (kind, class labels,
 * normalization mean/std). Payload (one map):
 *
 *   format 1;  epoch step best_epoch bad_epochs stop_reason (int)
 *   best_metric best_tie lr_scale (float)
 *   spec       {sizes: i64 [n_layers+1], hidden_act, out_act, loss (str),
 *               leaky_alpha (float)}
 *   params     f32 [n_params]        best  f32 [n_params] (optional)
 *   optim      {kind (str), t (int), m f32 [n_params], v f32 [n_params]}
 *   rng        i64 [4]               (xoshiro256** words, bit-cast)
 *   history    f64 [n_epochs, 7]     columns in history_columns
 *   data       {kind (str), labels [str], mean f32, std f32} (optional)
 *
 * Three ways to use one: resume (rf_checkpoint_resume: same network, the
 * whole state), chain (a curriculum stage: the weights, a fresh optimizer)
 * and transfer (the first layers' weights into a network whose output layer
 * is replaced or added; see rf_checkpoint_transfer_spec). */
#ifndef RF_CHECKPOINT_H
#define RF_CHECKPOINT_H

#include "ml/rf_dataset.h"
#include "base/rf_err.h"
#include "store/rf_obj.h"
#include "ml/rf_train.h"

#define RF_CKPT_CTYPE "ruvflow/checkpoint"

enum rf_ckpt_which { RF_CKPT_CURRENT = 0, RF_CKPT_BEST = 1 };

/* Write tr (with its best parameters in place of the current ones when
 * which == RF_CKPT_BEST) atomically to path. d may be NULL; otherwise its
 * kind, labels and mean/std are recorded. */
int rf_checkpoint_write(const char *path, const rf_trainer *tr, const rf_dataset *d,
                        int which, rf_err *err);

typedef struct rf_checkpoint {
    rf_mlp_spec spec;
    const float *params;      /* n_params, inside root */
    size_t n_params;
    int64_t epoch, step;
    int has_data;
    int kind;                 /* enum rf_task_kind, when has_data */
    size_t n_labels;          /* when has_data and classification */
    rf_obj *root;             /* the decoded payload, owned */
} rf_checkpoint;

/* Read and validate (shapes, sizes, names). */
int rf_checkpoint_read(const char *path, rf_checkpoint *c, rf_err *err);
void rf_checkpoint_free(rf_checkpoint *c);
/* Label i of the recorded data (NULL if none). */
const char *rf_checkpoint_label(const rf_checkpoint *c, size_t i);

/* Restore the whole training state into tr, which was initialized with the
 * same spec and options. Fails with RF_EINVAL if the network differs. */
int rf_checkpoint_resume(rf_trainer *tr, const rf_checkpoint *c, rf_err *err);

/* Copy the parameters of layers [0, n_layers) from c into tr's network;
 * each copied layer must have the same shape. */
int rf_checkpoint_load_layers(rf_trainer *tr, const rf_checkpoint *c, size_t n_layers,
                              rf_err *err);

enum rf_transfer { RF_TRANSFER_NONE = 0, RF_TRANSFER_REPLACE, RF_TRANSFER_ADD };
/* The network to train when starting from c on data that needs `want`
 * (as rf_train_spec_for makes it): the checkpoint's own network when the
 * outputs agree (chain: all layers copied); otherwise, with mode REPLACE,
 * its hidden layers and want's output layer (all but the last copied); with
 * ADD, all its layers plus want's output layer on top (all copied). Input
 * widths must agree. *n_copy receives how many layers to copy. */
int rf_checkpoint_transfer_spec(const rf_checkpoint *c, const rf_mlp_spec *want, int mode,
                                rf_mlp_spec *out, size_t *n_copy, rf_err *err);

#endif
