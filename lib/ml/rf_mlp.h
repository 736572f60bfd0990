/* rf_mlp: a fully connected network trained in batches on OpenBLAS.
 *
 * Layer l maps in_l -> out_l: Z = A W^T + b, A' = act(Z). Every layer's
 * weights W (out x in, row-major) and bias b live in ONE flat parameter
 * vector, layer after layer ([W0 b0 W1 b1 ...]), and the gradients in a
 * second vector of the same layout. Optimizers therefore work on flat
 * arrays, a checkpoint is two tensors, and freezing the first k layers is
 * "update params[offset_k ...] only".
 *
 * The forward and backward passes of a batch are three cblas_sgemm calls per
 * layer plus elementwise loops the compiler vectorizes; workspaces are
 * allocated once by rf_mlp_reserve and reused, so the hot path never
 * allocates. Derivatives are computed from the layer outputs, so Z is not
 * kept.
 *
 * Output and loss pairs: RF_LOSS_SOFTMAX_CE (output act linear, softmax
 * applied in the forward pass; targets one-hot or a distribution),
 * RF_LOSS_BCE (output sigmoid; targets in [0,1]), RF_LOSS_MSE (any output
 * activation; loss = mean over rows and outputs of (a - t)^2). */
#ifndef RF_MLP_H
#define RF_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"
#include "base/rf_rng.h"

#define RF_MLP_MAXLAYERS 16

enum rf_act {
    RF_ACT_LINEAR = 0, RF_ACT_RELU, RF_ACT_LEAKY_RELU, RF_ACT_TANH, RF_ACT_SIGMOID,
    RF_ACT_SIGMOID_SYM,   /* FANN's sigmoid-symmetric: 2/(1+e^-2x) - 1 = tanh(x) */
    RF_ACT_COUNT
};
enum rf_loss { RF_LOSS_SOFTMAX_CE = 0, RF_LOSS_BCE, RF_LOSS_MSE, RF_LOSS_COUNT };

const char *rf_act_name(int act);
int rf_act_parse(const char *s);     /* "relu", "leaky_relu", "tanh", ...; -1 if unknown */
const char *rf_loss_name(int loss);
int rf_loss_parse(const char *s);    /* "softmax_ce", "bce", "mse"; -1 if unknown */

/* The shape of a network: sizes[0] inputs, sizes[n_layers] outputs. */
typedef struct rf_mlp_spec {
    size_t n_layers;
    size_t sizes[RF_MLP_MAXLAYERS + 1];
    int hidden_act, out_act, loss;
    float leaky_alpha;               /* slope of leaky relu below 0; default 0.01 */
} rf_mlp_spec;

typedef struct rf_layer {
    size_t in, out;
    int act;
    size_t offset;                   /* of W in params; b follows W */
    float *W, *b, *dW, *db;          /* views into params / grads */
} rf_layer;

typedef struct rf_mlp {
    rf_mlp_spec spec;
    rf_layer layers[RF_MLP_MAXLAYERS];
    size_t n_params;
    float *params, *grads;           /* owned, n_params each */
    /* workspace, batch_cap rows */
    size_t batch_cap;
    float *acts[RF_MLP_MAXLAYERS];   /* output of layer l */
    float *delta[RF_MLP_MAXLAYERS];  /* dLoss/dZ of layer l */
    float *mask[RF_MLP_MAXLAYERS];   /* dropout multipliers of hidden layer l */
    const float *input;              /* the batch of the last forward pass */
    float dropout;                   /* rate used by the last forward pass */
} rf_mlp;

/* Validate spec and allocate parameters (zeroed) and gradients. */
int rf_mlp_init(rf_mlp *net, const rf_mlp_spec *spec, rf_err *err);
void rf_mlp_free(rf_mlp *net);
/* He (relu family) or Xavier (others) initialization, biases 0. */
void rf_mlp_init_weights(rf_mlp *net, rf_rng *rng);
/* Make the workspaces hold batches of up to `batch` rows. */
int rf_mlp_reserve(rf_mlp *net, size_t batch, rf_err *err);
/* Number of parameters of layers [0, k): where training of a net with its
 * first k layers frozen starts. */
size_t rf_mlp_frozen_offset(const rf_mlp *net, size_t k);

/* Forward pass of B <= batch_cap rows of X (B x sizes[0], kept by pointer
 * until the backward pass). Dropout (rate in [0,1)) applies to hidden
 * layers and needs rng; rate 0 = inference. Returns the output, B x n_out
 * (probabilities for softmax/BCE). */
const float *rf_mlp_forward(rf_mlp *net, const float *X, size_t B, float dropout,
                            rf_rng *rng);
/* Mean loss of the last forward pass against targets T (B x n_out). */
double rf_mlp_loss(const rf_mlp *net, const float *T, size_t B);
/* Backward pass for the last forward pass: gradients of the mean loss,
 * times `scale`, are written (accumulate = 0) or added (accumulate = 1) to
 * net->grads for layers [first_trainable, n_layers). */
void rf_mlp_backward(rf_mlp *net, const float *T, size_t B, float scale, int accumulate,
                     size_t first_trainable);

/* Inference over n rows in chunks of batch_cap (256 when nothing was
 * reserved yet); out is n x n_out. -1 only when that reservation fails. */
int rf_mlp_predict(rf_mlp *net, const float *X, size_t n, float *out);

#endif
