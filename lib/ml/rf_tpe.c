/* rf_tpe: the tree-structured Parzen estimator sampler (Bergstra et al.
 * 2011, univariate as in Optuna). Complete trials are split at the gamma
 * quantile of the first objective into good (l) and bad (g); each active
 * parameter, in activation order, is drawn from 24 candidates of l(x) and
 * the one maximising l(x)/g(x) kept. A parameter's densities use only the
 * trials where it was active, which is what makes conditional spaces work.
 * Continuous axes (and integers) use truncated Gaussian kernels in the unit
 * interval plus a wide prior; choices use smoothed counts. */
#include "ml/rf_tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_CANDIDATES 24
#define N_STARTUP 10
#define MAX_BELOW 25

typedef struct parzen {
    double *mu, *sigma;
    size_t n;          /* kernels, the prior included */
} parzen;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Kernels at the sorted observations, each sigma the larger gap to its
 * neighbours (or the interval's ends), clipped as in Optuna; then the prior
 * N(0.5, 1) as the last kernel. */
static int parzen_build(parzen *p, const double *obs, size_t n)
{
    p->n = n + 1;
    p->mu = malloc(p->n * sizeof *p->mu);
    p->sigma = malloc(p->n * sizeof *p->sigma);
    if (!p->mu || !p->sigma)
        return -1;
    memcpy(p->mu, obs, n * sizeof *obs);
    qsort(p->mu, n, sizeof *p->mu, cmp_double);
    double lo = 1.0 / (double)(p->n < 100 ? p->n : 100);
    for (size_t i = 0; i < n; i++) {
        double left = i ? p->mu[i] - p->mu[i - 1] : p->mu[i];
        double right = i + 1 < n ? p->mu[i + 1] - p->mu[i] : 1 - p->mu[i];
        double sg = left > right ? left : right;
        p->sigma[i] = sg < lo ? lo : sg > 1 ? 1 : sg;
    }
    p->mu[n] = 0.5;
    p->sigma[n] = 1;
    return 0;
}

static void parzen_free(parzen *p)
{
    free(p->mu), free(p->sigma);
}

static double phi_cdf(double z)
{
    return 0.5 * erfc(-z / M_SQRT2);
}

static double parzen_logpdf(const parzen *p, double x)
{
    double s = 0;
    for (size_t i = 0; i < p->n; i++) {
        double z = (x - p->mu[i]) / p->sigma[i];
        double mass = phi_cdf((1 - p->mu[i]) / p->sigma[i]) -
                      phi_cdf(-p->mu[i] / p->sigma[i]);
        s += exp(-0.5 * z * z) / (p->sigma[i] * sqrt(2 * M_PI) * mass);
    }
    return log(s / (double)p->n);
}

static double parzen_draw(const parzen *p, rf_rng *r)
{
    size_t k = (size_t)rf_rng_below(r, p->n);
    for (int tries = 0; tries < 100; tries++) {
        double x = p->mu[k] + p->sigma[k] * rf_rng_normal(r);
        if (x >= 0 && x < 1)
            return x;
    }
    return p->mu[k] < 0 ? 0 : p->mu[k] >= 1 ? 0.999999 : p->mu[k];
}

static double draw_continuous(const double *lo, size_t nl, const double *hi,
                              size_t nh, rf_rng *r)
{
    parzen l = {0}, g = {0};
    double best = rf_tune_uniform(r), bscore = -INFINITY;
    if (parzen_build(&l, lo, nl) == 0 && parzen_build(&g, hi, nh) == 0)
        for (int c = 0; c < N_CANDIDATES; c++) {
            double x = parzen_draw(&l, r);
            double sc = parzen_logpdf(&l, x) - parzen_logpdf(&g, x);
            if (sc > bscore)
                bscore = sc, best = x;
        }
    parzen_free(&l), parzen_free(&g);
    return best;
}

/* Smoothed category weights: counts plus a prior of 1 spread evenly. */
static void cat_weights(const double *obs, size_t n, size_t levels, double *w)
{
    for (size_t c = 0; c < levels; c++)
        w[c] = 1.0 / (double)levels;
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)(obs[i] * (double)levels);
        w[c < levels ? c : levels - 1] += 1;
    }
    double t = 0;
    for (size_t c = 0; c < levels; c++)
        t += w[c];
    for (size_t c = 0; c < levels; c++)
        w[c] /= t;
}

static double draw_choice(const double *lo, size_t nl, const double *hi,
                          size_t nh, size_t levels, rf_rng *r)
{
    double *wl = malloc(2 * levels * sizeof *wl);
    if (!wl)
        return rf_tune_uniform(r);
    double *wg = wl + levels;
    cat_weights(lo, nl, levels, wl);
    cat_weights(hi, nh, levels, wg);
    size_t best = 0;
    double bscore = -INFINITY;
    for (int c = 0; c < N_CANDIDATES; c++) {
        double t = rf_tune_uniform(r), acc = 0;
        size_t k = 0;
        while (k + 1 < levels && (acc += wl[k]) <= t)
            k++;
        double sc = log(wl[k]) - log(wg[k]);
        if (sc > bscore)
            bscore = sc, best = k;
    }
    free(wl);
    return (best + 0.5) / (double)levels;
}

/* Complete trials with a finite first objective, best first. */
static size_t *ranked(const rf_trial *hist, size_t n_hist, size_t *n)
{
    size_t *idx = rf_tune_complete(hist, n_hist, n);
    size_t k = 0;
    for (size_t i = 0; idx && i < *n; i++)
        if (isfinite(hist[idx[i]].y[0]))
            idx[k++] = idx[i];
    *n = k;
    if (!idx)
        return NULL;
    /* insertion sort: stable, so ties keep finishing order */
    for (size_t i = 1; i < k; i++) {
        size_t v = idx[i], j = i;
        while (j > 0 && (hist[idx[j - 1]].y[0] > hist[v].y[0]))
            idx[j] = idx[j - 1], j--;
        idx[j] = v;
    }
    return idx;
}

int rf_tune_tpe(const rf_space *s, const rf_tune_cfg *cfg, const rf_trial *hist,
                size_t n_hist, rf_rng *r, double *u, rf_err *err)
{
    size_t n = 0, *idx = ranked(hist, n_hist, &n);
    size_t n_start = cfg->n_startup ? cfg->n_startup : N_STARTUP;
    if (!idx)
        return rf_errf(err, RF_ENOMEM, "tpe: out of memory");
    if (n < n_start) {
        free(idx);
        rf_tune_random_point(s, r, u);
        return 0;
    }
    size_t n_below = (n + 9) / 10;
    n_below = n_below > MAX_BELOW ? MAX_BELOW : n_below ? n_below : 1;
    double *lo = malloc(2 * n * sizeof *lo);
    if (!lo) {
        free(idx);
        return rf_errf(err, RF_ENOMEM, "tpe: out of memory");
    }
    double *hi = lo + n;
    for (size_t i = 0; i < s->n; i++)
        u[i] = NAN;
    for (size_t k = 0; k < s->n; k++) {
        size_t i = s->order[k], nl = 0, nh = 0;
        if (!rf_space_active(s, u, i))
            continue;
        for (size_t t = 0; t < n; t++) {
            double v = hist[idx[t]].u[i];
            if (isnan(v))
                continue;
            if (t < n_below)
                lo[nl++] = v;
            else
                hi[nh++] = v;
        }
        if (s->p[i].kind == RF_P_CHOICE)
            u[i] = draw_choice(lo, nl, hi, nh, s->p[i].n_choices, r);
        else
            u[i] = draw_continuous(lo, nl, hi, nh, r);
    }
    free(lo), free(idx);
    rf_space_activate(s, u, 0.5);
    return 0;
}
