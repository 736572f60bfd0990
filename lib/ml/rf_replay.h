/* rf_replay: a prioritized experience replay buffer of labelled rows.
 *
 * Incremental training mixes the new rows with a sample of earlier ones so
 * the model does not forget them. The buffer keeps up to `cap` rows (dense
 * features and a class label); when full, the oldest row is replaced (a
 * ring, as in Schaul et al. 2016). Each row has a priority from its last
 * loss, p_i = (loss_i + eps)^alpha, and is drawn with probability
 * P(i) = p_i / sum p, with replacement. The bias this introduces is
 * corrected by importance-sampling weights w_i = (n P(i))^-beta, divided by
 * the largest weight of the sample so they stay <= 1.
 *
 * Stored as a "ruvflow/replay" artifact (rf_codec.h) so it survives across
 * runs: {format 1, alpha, beta, eps (float), next, added (int), X f32
 * [n, dim], y i32 [n], loss f64 [n]}. A file that does not decode, or holds
 * inconsistent shapes, is an RF_ECORRUPT error naming the file. */
#ifndef RF_REPLAY_H
#define RF_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"
#include "base/rf_rng.h"

#define RF_REPLAY_CTYPE "ruvflow/replay"
/* Loading refuses buffers over these (a file cannot make us allocate more). */
#define RF_REPLAY_MAXCAP (1u << 24)
#define RF_REPLAY_MAXCELLS (1ull << 30)

typedef struct rf_replay {
    size_t cap, dim, n;      /* capacity, features per row, rows held */
    size_t next;             /* slot the next row goes to once full */
    uint64_t added;          /* rows ever added */
    double alpha, beta, eps;
    float *X;                /* cap x dim, owned */
    int32_t *y;              /* cap */
    double *loss;            /* cap: last loss of each row */
} rf_replay;

/* Empty buffer; alpha 0.6, beta 0.4, eps 1e-3 unless changed afterwards. */
int rf_replay_init(rf_replay *r, size_t cap, size_t dim, rf_err *err);
void rf_replay_free(rf_replay *r);

/* Add one row with the loss the model had on it. */
void rf_replay_add(rf_replay *r, const float *x, int32_t y, double loss);
/* Priority of slot i. */
double rf_replay_priority(const rf_replay *r, size_t i);

/* Draw k slots proportionally to priority (with replacement) into idx and
 * their normalized importance-sampling weights into w (may be NULL).
 * Returns the number drawn: k, or 0 when the buffer is empty. */
size_t rf_replay_sample(const rf_replay *r, size_t k, rf_rng *rng, uint32_t *idx, float *w);
/* New losses of sampled slots after training on them. */
void rf_replay_update(rf_replay *r, const uint32_t *idx, const double *loss, size_t k);

int rf_replay_save(const char *path, const rf_replay *r, rf_err *err);
/* Load into an uninitialized r. */
int rf_replay_load(const char *path, rf_replay *r, rf_err *err);

#endif
