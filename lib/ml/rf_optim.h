/* rf_optim: parameter updates for rf_mlp's flat parameter vector.
 *
 * SGD (momentum, Nesterov), Adam, AdamW (decoupled weight decay) and
 * iRPROP- (Igel and Huesken 2000, FANN's default; full-batch, ignores lr).
 * One step applies, in order: L2 and L1 penalties and coupled weight decay
 * (weights only, never biases) to the gradient, global gradient-norm
 * clipping, then the update. Frozen layers are skipped by starting at a
 * parameter offset (rf_mlp_frozen_offset). Learning-rate schedules are
 * pure functions of the step, so a resumed run computes the same rate.
 *
 * State is two flat vectors (m, v) plus a step counter; checkpoints save
 * them as they are. */
#ifndef RF_OPTIM_H
#define RF_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"
#include "ml/rf_mlp.h"

enum rf_opt { RF_OPT_SGD = 0, RF_OPT_ADAM, RF_OPT_ADAMW, RF_OPT_RPROP, RF_OPT_COUNT };
enum rf_sched { RF_SCHED_CONSTANT = 0, RF_SCHED_STEP, RF_SCHED_COSINE, RF_SCHED_COUNT };

const char *rf_opt_name(int opt);
int rf_opt_parse(const char *s);     /* sgd, nesterov (sgd + nesterov), adam, adamw, rprop */
const char *rf_sched_name(int s);
int rf_sched_parse(const char *s);   /* constant, step, cosine */

typedef struct rf_optim_cfg {
    int kind;                 /* enum rf_opt */
    double momentum;          /* sgd, default 0.9 */
    int nesterov;
    double beta1, beta2, eps; /* adam: 0.9, 0.999, 1e-8 */
    double l1, l2;            /* penalties added to the weight gradient */
    double weight_decay;      /* adamw: decoupled; others: added like l2 */
    double clip;              /* max global gradient L2 norm; 0 = off */
    /* iRPROP-, FANN's defaults */
    double rprop_increase, rprop_decrease, rprop_delta_min, rprop_delta_max,
        rprop_delta_zero;
} rf_optim_cfg;

void rf_optim_cfg_default(rf_optim_cfg *c, int kind);

typedef struct rf_optim {
    rf_optim_cfg cfg;
    size_t n;
    float *m, *v;             /* adam: moments; sgd: velocity (v unused);
                                 rprop: previous gradient and step size */
    int64_t t;                /* updates applied */
} rf_optim;

int rf_optim_init(rf_optim *o, const rf_optim_cfg *cfg, size_t n_params, rf_err *err);
void rf_optim_free(rf_optim *o);
void rf_optim_reset(rf_optim *o);

/* One update of net->params[begin..] from net->grads[begin..] (which are
 * modified: penalties, clipping). Returns the gradient norm before
 * clipping (NaN/Inf tells the caller the run diverged). */
double rf_optim_step(rf_optim *o, rf_mlp *net, size_t begin, double lr);

/* Learning-rate schedule. */
typedef struct rf_schedule {
    int kind;                 /* enum rf_sched */
    double lr;                /* base rate */
    int64_t warmup;           /* linear warm-up steps from lr/warmup to lr */
    int64_t total;            /* cosine: steps to decay over */
    int64_t step_every;       /* step: decay every N steps ... */
    double gamma;             /* ... by this factor (default 0.1) */
    double min_lr;            /* cosine floor */
} rf_schedule;

double rf_schedule_lr(const rf_schedule *s, int64_t step);

#endif
