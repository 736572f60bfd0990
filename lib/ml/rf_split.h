/* rf_split: grouped, stratified, seeded assignment of rows to parts.
 *
 * Rows are assigned to parts (train/val/test, or the folds of a cross-
 * validation) so that every group (a session) lands in exactly one part,
 * each part gets about its fraction of the rows, and the label distribution
 * of each part stays close to the whole's. The result depends only on the
 * inputs and the seed: same rows, same seed, same parts.
 *
 * Algorithm: groups are shuffled with the seed and ordered by size class
 * (powers of two, largest first); each then goes greedily to the part with
 * the largest relative deficit: of rows (frac[p] * n minus what p holds,
 * over frac[p] * n) plus half of the group's per-label deficit (the same in
 * each of its labels, weighted by its rows in that label). If some part
 * with a non-zero fraction is left empty while another holds more than one
 * group, the smallest group of the fullest part moves there. */
#ifndef RF_SPLIT_H
#define RF_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"

#define RF_SPLIT_MAX_PARTS 64

/* group[i]: any int32 id per row; label[i] in [0, nlabels) or NULL (then
 * only sizes are balanced). frac: nparts non-negative weights (need not sum
 * to 1). part[i] receives the part of row i. */
int rf_split_grouped(size_t n, const int32_t *group, const int32_t *label,
                     size_t nlabels, const double *frac, size_t nparts,
                     uint64_t seed, uint8_t *part, rf_err *err);

/* Parse "70/15/15" (or "0.7/0.15/0.15") into three fractions summing to 1. */
int rf_split_parse(const char *spec, double frac[3], rf_err *err);

#endif
