/* rf_ckpt_merge: merges of compatible checkpoints (same network).
 *
 *   average     (a + b) / 2
 *   weighted    (1 - w) a + w b
 *   three-way   base + (a - base) + (b - base)
 *
 * applied to the parameters ("params") and, when both have them, the best
 * parameters ("best"), element by element in double precision; everything
 * else (optimizer state, RNG, history, data) comes from a. The result is a
 * ruvflow/checkpoint artifact written atomically. */
#ifndef RF_CKPT_MERGE_H
#define RF_CKPT_MERGE_H

#include "base/rf_err.h"

enum rf_merge_kind { RF_MERGE_AVERAGE = 0, RF_MERGE_WEIGHTED, RF_MERGE_THREEWAY };

/* base is required for RF_MERGE_THREEWAY and ignored otherwise; w is the
 * weight of b for RF_MERGE_WEIGHTED, in [0, 1]. */
int rf_ckpt_merge_files(const char *a, const char *b, const char *base, int kind, double w,
                        const char *out, rf_err *err);

#endif
