/* rf_sobol: the Sobol low-discrepancy sequence with Joe and Kuo's published
 * direction numbers (new-joe-kuo-6.21201, first 64 dimensions), in Gray-code
 * order as in their sobol.cc: point 0 is all zeros, point 1 all halves.
 * Used for the first points of a search. Pure function of (index, dim). */
#ifndef RF_SOBOL_H
#define RF_SOBOL_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"

#define RF_SOBOL_MAX_DIM 64

/* Point `index` of the d-dimensional sequence into x[0..d); an optional
 * digital shift (XOR of 32-bit fractions, 0 for none) randomises it while
 * keeping its net structure. d > RF_SOBOL_MAX_DIM is an error. */
int rf_sobol_point(uint64_t index, size_t d, const uint32_t *shift, double *x,
                   rf_err *err);

#endif
