/* rf_tune_gp: the Gaussian-process sampler. Fits rf_gp to the complete
 * trials (running ones enter as constant liars at the best value seen, so
 * `parallel` proposals spread out), then maximises log expected improvement
 * by multi-start local search: random and near-best candidates, pattern
 * search from the best few. */
#include "ml/rf_tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml/rf_gp.h"

#define N_RANDOM 512
#define N_LOCAL 128
#define N_STARTS 4
#define SEARCH_MIN_STEP 1e-3   /* from each start */
#define REFINE_MIN_STEP 1e-5   /* then the winner */

typedef struct acq {
    const rf_gp *gp;
    double best;
} acq;

static double acq_value(const acq *a, const double *x)
{
    double m, v;
    rf_gp_predict(a->gp, x, 1, &m, &v);
    return rf_log_ei(m, sqrt(v), a->best);
}

/* Inputs for the GP: complete trials and, as liars, running ones.
 * Inactive coordinates sit at the centre. */
static size_t gather(const rf_space *s, const rf_trial *hist, size_t n_hist,
                     double *x, double *y, double *best)
{
    size_t n = 0, d = s->n;
    *best = INFINITY;
    for (size_t i = 0; i < n_hist; i++)
        if (hist[i].state == RF_TRIAL_COMPLETE && isfinite(hist[i].y[0]) &&
            hist[i].y[0] < *best)
            *best = hist[i].y[0];
    for (size_t i = 0; i < n_hist; i++) {
        int done = hist[i].state == RF_TRIAL_COMPLETE && isfinite(hist[i].y[0]);
        if (!done && hist[i].state != RF_TRIAL_RUNNING)
            continue;
        for (size_t j = 0; j < d; j++)
            x[n * d + j] = isnan(hist[i].u[j]) ? 0.5 : hist[i].u[j];
        y[n++] = done ? hist[i].y[0] : *best;
    }
    return n;
}

/* Pattern search from x (in place), halving the step when no axis move helps. */
static double local_search(const acq *a, double *x, size_t d, double fx,
                           double step, double min_step)
{
    while (step >= min_step) {
        int moved = 0;
        for (size_t j = 0; j < d; j++)
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                double old = x[j];
                x[j] = rf_tune_clamp01(old + sgn * step);
                double f = x[j] != old ? acq_value(a, x) : -INFINITY;
                if (f > fx) {
                    fx = f, moved = 1;
                    break;
                }
                x[j] = old;
            }
        if (!moved)
            step /= 2;
    }
    return fx;
}

/* Random candidates and perturbations of the best points; the N_STARTS
 * best go to local search. Returns the best point's value, point in u. */
static double maximise(const acq *a, const double *x, const double *y, size_t n,
                       size_t d, rf_rng *r, double *u, double *cand)
{
    size_t nc = N_RANDOM + N_LOCAL, top = 0;
    for (size_t i = 1; i < n; i++)
        if (y[i] < y[top])
            top = i;
    for (size_t c = 0; c < nc; c++)
        for (size_t j = 0; j < d; j++)
            cand[c * d + j] = c < N_RANDOM ? rf_tune_uniform(r)
                            : rf_tune_clamp01(x[top * d + j] + 0.05 * rf_rng_normal(r));
    double fbest = -INFINITY;
    double sv[N_STARTS];
    size_t si[N_STARTS], ns = 0;
    for (size_t c = 0; c < nc; c++) {
        double f = acq_value(a, cand + c * d);
        size_t k = ns;
        if (ns < N_STARTS)
            ns++;
        else if (f <= sv[N_STARTS - 1])
            continue;
        else
            k = N_STARTS - 1;
        while (k > 0 && sv[k - 1] < f) {
            sv[k] = sv[k - 1], si[k] = si[k - 1];
            k--;
        }
        sv[k] = f, si[k] = c;
    }
    double xs[RF_GP_MAX_DIM];
    for (size_t k = 0; k < ns; k++) {
        memcpy(xs, cand + si[k] * d, d * sizeof *xs);
        double f = local_search(a, xs, d, sv[k], 0.1, SEARCH_MIN_STEP);
        if (f > fbest || k == 0) {
            fbest = f;
            memcpy(u, xs, d * sizeof *u);
        }
    }
    return local_search(a, u, d, fbest, SEARCH_MIN_STEP, REFINE_MIN_STEP);
}

static int seen(const rf_trial *hist, size_t n_hist, const double *u, size_t d)
{
    for (size_t i = 0; i < n_hist; i++) {
        size_t j = 0;
        while (j < d && (hist[i].u[j] == u[j] ||
                         (isnan(hist[i].u[j]) && isnan(u[j]))))
            j++;
        if (j == d)
            return 1;
    }
    return 0;
}

int rf_tune_gp(const rf_space *s, const rf_tune_cfg *cfg, const rf_trial *hist,
               size_t n_hist, rf_rng *r, double *u, rf_err *err)
{
    (void)cfg;
    size_t d = s->n;
    if (d > RF_GP_MAX_DIM)
        return rf_errf(err, RF_EUNSUPP, "gp: %zu parameters (at most %d)", d,
                       RF_GP_MAX_DIM);
    double *x = calloc(n_hist * d + 1, sizeof *x);
    double *y = calloc(n_hist + 1, sizeof *y);
    double *cand = malloc((N_RANDOM + N_LOCAL) * d * sizeof *cand);
    rf_gp gp = {0};
    acq a = {&gp, 0};
    int rc = -1;
    if (!x || !y || !cand)
        rc = rf_errf(err, RF_ENOMEM, "gp: out of memory");
    else {
        size_t n = gather(s, hist, n_hist, x, y, &a.best);
        rc = rf_gp_fit(&gp, x, y, n, d, 1, err);
        if (rc == 0) {
            maximise(&a, x, y, n, d, r, u, cand);
            rf_space_activate(s, u, 0.5);
            rf_space_snap(s, u);
            if (seen(hist, n_hist, u, d))  /* snapped onto a tried point */
                rf_tune_random_point(s, r, u);
        }
    }
    rf_gp_free(&gp);
    free(x), free(y), free(cand);
    return rc;
}
