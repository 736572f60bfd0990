/* rf_gp: GP regression with a Matérn-5/2 ARD kernel, fitted by marginal
 * likelihood, on LAPACK's Cholesky (see rf_gp.h). */
#include "ml/rf_gp.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK (OpenBLAS), Fortran ABI with the hidden string lengths. */
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda,
                    int *info, size_t uplo_len);
extern void dpotri_(const char *uplo, const int *n, double *a, const int *lda,
                    int *info, size_t uplo_len);

#define SQRT5 2.23606797749978969641
#define LS_MIN 1e-2
#define LS_MAX 20.0
#define NOISE_MIN 1e-6
#define NOISE_MAX 0.5
#define FIT_ITERS 25

static double scaled_dist2(const double *a, const double *b, const double *ls,
                           size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = (a[j] - b[j]) / ls[j];
        s += t * t;
    }
    return s;
}

static double matern52(double r2)
{
    double r = sqrt(r2);
    return (1 + SQRT5 * r + 5.0 / 3.0 * r2) * exp(-SQRT5 * r);
}

/* K = k(x, x) + noise I into K (n*n), then its Cholesky factor in place;
 * also alpha. Returns -1 when K is not positive definite. */
static int factor(const rf_gp *g, const double *ys, double *K, double *alpha)
{
    size_t n = g->n, d = g->d;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) {
            double k = matern52(scaled_dist2(g->x + i * d, g->x + j * d, g->ls, d));
            if (i == j)
                k += g->noise + 1e-9;
            K[i + j * n] = K[j + i * n] = k;
        }
    int nn = (int)n, info = 0;
    dpotrf_("L", &nn, K, &nn, &info, 1);
    if (info != 0)
        return -1;
    memcpy(alpha, ys, n * sizeof *alpha);
    cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, nn, K, nn,
                alpha, 1);
    cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, nn, K, nn,
                alpha, 1);
    return 0;
}

static double log_marginal(const rf_gp *g, const double *L, const double *alpha,
                           const double *ys)
{
    double lml = -0.5 * g->n * log(2 * M_PI);
    for (size_t i = 0; i < g->n; i++)
        lml += -0.5 * ys[i] * alpha[i] - log(L[i + i * g->n]);
    return lml;
}

/* Gradient of the log marginal likelihood in (log ls_1..d, log noise),
 * from W = alpha alpha^T - K^-1: dL/dt = 1/2 sum W .* dK/dt. Destroys L. */
static int gradient(const rf_gp *g, double *L, const double *alpha, double *grad)
{
    size_t n = g->n, d = g->d;
    int nn = (int)n, info = 0;
    dpotri_("L", &nn, L, &nn, &info, 1);
    if (info != 0)
        return -1;
    memset(grad, 0, (d + 1) * sizeof *grad);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) {
            double w = alpha[i] * alpha[j] - L[i + j * n];
            if (i == j) {
                grad[d] += 0.5 * w * g->noise;
                continue;
            }
            const double *a = g->x + i * d, *b = g->x + j * d;
            double r2 = scaled_dist2(a, b, g->ls, d), r = sqrt(r2);
            double c = 5.0 / 3.0 * (1 + SQRT5 * r) * exp(-SQRT5 * r);
            for (size_t k = 0; k < d; k++) {
                double t = (a[k] - b[k]) / g->ls[k];
                grad[k] += w * c * t * t;  /* both triangles: 2 * 1/2 */
            }
        }
    return 0;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Rprop on the log hyperparameters, keeping the best point seen. */
static void optimise(rf_gp *g, const double *ys, double *K, double *alpha)
{
    size_t d = g->d;
    double th[RF_GP_MAX_DIM + 1], step[RF_GP_MAX_DIM + 1], best[RF_GP_MAX_DIM + 1];
    double grad[RF_GP_MAX_DIM + 1], prev[RF_GP_MAX_DIM + 1] = {0};
    double best_lml = -INFINITY;
    for (size_t k = 0; k < d; k++)
        th[k] = log(g->ls[k]);
    th[d] = log(g->noise);
    for (size_t k = 0; k <= d; k++)
        step[k] = 0.3, best[k] = th[k];
    for (int it = 0; it < FIT_ITERS; it++) {
        for (size_t k = 0; k < d; k++)
            g->ls[k] = exp(th[k]);
        g->noise = exp(th[d]);
        if (factor(g, ys, K, alpha) < 0)
            break;
        double lml = log_marginal(g, K, alpha, ys);
        if (lml > best_lml) {
            best_lml = lml;
            memcpy(best, th, (d + 1) * sizeof *th);
        }
        if (gradient(g, K, alpha, grad) < 0)
            break;
        for (size_t k = 0; k <= d; k++) {
            double s = grad[k] * prev[k];
            if (s > 0)
                step[k] = fmin(step[k] * 1.2, 1.0);
            else if (s < 0)
                step[k] *= 0.5, grad[k] = 0;
            th[k] += grad[k] > 0 ? step[k] : grad[k] < 0 ? -step[k] : 0;
            prev[k] = grad[k];
        }
        for (size_t k = 0; k < d; k++)
            th[k] = clampd(th[k], log(LS_MIN), log(LS_MAX));
        th[d] = clampd(th[d], log(NOISE_MIN), log(NOISE_MAX));
    }
    for (size_t k = 0; k < d; k++)
        g->ls[k] = exp(best[k]);
    g->noise = exp(best[d]);
}

static void standardise(rf_gp *g, const double *y, double *ys)
{
    size_t n = g->n;
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++)
        m += y[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++)
        v += (y[i] - m) * (y[i] - m);
    v = n > 1 ? v / (double)(n - 1) : 0;
    g->ymean = m;
    g->ystd = v > 1e-300 ? sqrt(v) : 1;
    for (size_t i = 0; i < n; i++)
        ys[i] = (y[i] - m) / g->ystd;
}

int rf_gp_fit(rf_gp *g, const double *x, const double *y, size_t n, size_t d,
              int fit, rf_err *err)
{
    double ls[RF_GP_MAX_DIM], noise = g->noise;
    if (d == 0 || d > RF_GP_MAX_DIM || n == 0)
        return rf_errf(err, RF_EINVAL, "gp: %zu points in %zu dimensions", n, d);
    memcpy(ls, g->ls, sizeof ls);
    memset(g, 0, sizeof *g);
    g->n = n, g->d = d;
    int defaults = 1;
    for (size_t k = 0; k < d; k++)
        defaults &= !(ls[k] > 0);
    for (size_t k = 0; k < d; k++)
        g->ls[k] = defaults ? 0.5 * sqrt((double)d) : ls[k];
    g->noise = noise > 0 ? noise : 1e-3;
    g->x = malloc(n * d * sizeof *g->x);
    g->L = malloc(n * n * sizeof *g->L);
    g->alpha = malloc(n * sizeof *g->alpha);
    double *ys = malloc(n * sizeof *ys);
    if (!g->x || !g->L || !g->alpha || !ys) {
        free(ys);
        rf_gp_free(g);
        return rf_errf(err, RF_ENOMEM, "gp: out of memory for %zu points", n);
    }
    memcpy(g->x, x, n * d * sizeof *x);
    standardise(g, y, ys);
    if (fit)
        optimise(g, ys, g->L, g->alpha);
    int rc = factor(g, ys, g->L, g->alpha);
    for (int k = 0; rc < 0 && k < 8; k++) {  /* add jitter until it factors */
        g->noise = g->noise * 10 + 1e-6;
        rc = factor(g, ys, g->L, g->alpha);
    }
    if (rc == 0)
        g->lml = log_marginal(g, g->L, g->alpha, ys);
    free(ys);
    if (rc < 0) {
        rf_gp_free(g);
        return rf_errf(err, RF_ECORRUPT, "gp: kernel matrix not positive definite");
    }
    return 0;
}

void rf_gp_free(rf_gp *g)
{
    free(g->x);
    free(g->L);
    free(g->alpha);
    g->x = g->L = g->alpha = NULL;
    g->n = 0;
}

void rf_gp_predict(const rf_gp *g, const double *xs, size_t m, double *mean,
                   double *var)
{
    size_t n = g->n, d = g->d;
    double *ks = malloc(n * sizeof *ks);
    if (!ks) {
        for (size_t i = 0; i < m; i++)
            mean[i] = g->ymean, var[i] = g->ystd * g->ystd;
        return;
    }
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++)
            ks[j] = matern52(scaled_dist2(xs + i * d, g->x + j * d, g->ls, d));
        double mu = cblas_ddot((int)n, ks, 1, g->alpha, 1);
        cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)n,
                    g->L, (int)n, ks, 1);
        double v = 1 - cblas_ddot((int)n, ks, 1, ks, 1);
        mean[i] = g->ymean + g->ystd * mu;
        var[i] = (v > 1e-12 ? v : 1e-12) * g->ystd * g->ystd;
    }
    free(ks);
}

double rf_log_ei(double mean, double sd, double best)
{
    if (!(sd > 0))
        return mean < best ? log(best - mean) : -INFINITY;
    double z = (best - mean) / sd;
    if (z > -6) {
        double cdf = 0.5 * erfc(-z / M_SQRT2);
        double pdf = exp(-0.5 * z * z) / sqrt(2 * M_PI);
        double ei = z * cdf + pdf;
        return ei > 0 ? log(sd) + log(ei) : -INFINITY;
    }
    /* z Phi(z) + phi(z) ~ phi(z) / z^2 (1 - 3/z^2) as z -> -inf */
    double z2 = z * z;
    return log(sd) - 0.5 * z2 - 0.5 * log(2 * M_PI) - log(z2) + log1p(-3 / z2);
}
