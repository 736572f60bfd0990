/* rf_rng: the deterministic random numbers of training (xoshiro256**,
 * seeded through splitmix64). A value type with no hidden state: the trainer
 * owns one, and checkpoints save its four words, so a resumed run draws the
 * same numbers the uninterrupted run would have drawn. */
#ifndef RF_RNG_H
#define RF_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rf_rng {
    uint64_t s[4];
} rf_rng;

void rf_rng_seed(rf_rng *r, uint64_t seed);
uint64_t rf_rng_next(rf_rng *r);
/* Uniform in [0, 1) with 24 random bits (exact in float). */
float rf_rng_float(rf_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t rf_rng_below(rf_rng *r, uint64_t n);
/* Standard normal (Box-Muller; one value per call, deterministic). */
double rf_rng_normal(rf_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
void rf_rng_shuffle(rf_rng *r, uint32_t *idx, size_t n);

#endif
