/* rf_gp: Gaussian-process regression for Bayesian optimisation.
 *
 * Zero-mean GP on standardised targets with an ARD Matérn-5/2 kernel of unit
 * amplitude, k(r) = (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r), r the length-
 * scaled distance, plus white noise. Length scales and noise are fitted by
 * maximising the log marginal likelihood (analytic gradient, Rprop in log
 * space); the Cholesky factor comes from LAPACK's dpotrf (OpenBLAS). */
#ifndef RF_GP_H
#define RF_GP_H

#include <stddef.h>

#include "base/rf_err.h"

#define RF_GP_MAX_DIM 64

typedef struct rf_gp {
    size_t n, d;
    double *x;                 /* n*d training inputs (row per point) */
    double ls[RF_GP_MAX_DIM];  /* length scales */
    double noise;              /* noise variance on standardised targets */
    double ymean, ystd;        /* standardisation of the targets */
    double *L;                 /* n*n lower Cholesky factor of K, column-major */
    double *alpha;             /* K^-1 (y - ymean) / ystd */
    double lml;                /* log marginal likelihood at the fit */
} rf_gp;

/* Fit to n points x (n*d) with targets y. With fit != 0 the length scales
 * and noise are optimised starting from the values in g->ls / g->noise
 * (all length scales <= 0 means "start from defaults"); with fit == 0 they
 * are used as given. *g owns copies; rf_gp_free. */
int rf_gp_fit(rf_gp *g, const double *x, const double *y, size_t n, size_t d,
              int fit, rf_err *err);
void rf_gp_free(rf_gp *g);
/* Posterior mean and variance of the latent function at m points xs (m*d),
 * in the targets' units. */
void rf_gp_predict(const rf_gp *g, const double *xs, size_t m, double *mean,
                   double *var);
/* log expected improvement below `best` of N(mean, sd^2), stable far into
 * the tail (where EI underflows). */
double rf_log_ei(double mean, double sd, double best);

#endif
