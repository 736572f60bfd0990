/* rf_tpe: the tree-structured Parzen estimator sampler (Bergstra et al.
 * 2011). Complete trials are split at the gamma quantile of the first
 * objective into good (l) and bad (g). The always-active parameters are
 * drawn jointly (multivariate, below); then each conditional one, in
 * activation order, from 24 candidates of its own l(x), the one maximising
 * l(x)/g(x) kept. A conditional parameter's densities use only the trials
 * where it was active, which is what makes conditional spaces work.
 * Continuous axes (and integers) use truncated Gaussian kernels in the unit
 * interval plus a wide prior, bandwidths and weights as Optuna 3.1 sets
 * them (the prior among the neighbours, no endpoints, the magic clip,
 * older trials ramped down past 25); choices use smoothed weighted counts. */
#include "ml/rf_tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_CANDIDATES 24
#define N_STARTUP 10
#define MAX_BELOW 25

typedef struct parzen {
    double *mu, *sigma, *w;
    size_t n;          /* kernels, the prior included */
} parzen;

typedef struct obs {
    double v;          /* the coordinate */
    double w;          /* its weight (older trials count less) */
} obs;

static int cmp_obs(const void *a, const void *b)
{
    double x = ((const obs *)a)->v, y = ((const obs *)b)->v;
    return x < y ? -1 : x > y;
}

/* Optuna's default weights for n observations in trial order: 1 for the
 * latest 25, a ramp from 1/n up to 1 for the older ones. */
static void ramp_weights(obs *o, size_t n)
{
    size_t old = n > 25 ? n - 25 : 0;
    for (size_t i = 0; i < n; i++)
        o[i].w = i >= old ? 1.0
               : old == 1 ? 1.0 / (double)n
               : 1.0 / (double)n + (1 - 1.0 / (double)n) * (double)i / (double)(old - 1);
}

/* Optuna 3.1's estimator: kernels at the sorted observations with the prior
 * N(0.5, 1) among them; each sigma the larger gap to its neighbours, the
 * outermost ones their inner gap only (the interval's ends are not
 * neighbours), clipped to [1 / min(100, kernels + 1), 1]; weights
 * normalised with the prior's at 1. o is sorted in place. */
static int parzen_build(parzen *p, obs *o, size_t n)
{
    p->n = n + 1;
    p->mu = malloc(p->n * sizeof *p->mu);
    p->sigma = malloc(p->n * sizeof *p->sigma);
    p->w = malloc(p->n * sizeof *p->w);
    if (!p->mu || !p->sigma || !p->w)
        return -1;
    qsort(o, n, sizeof *o, cmp_obs);
    size_t at = 0, k = 0;
    while (at < n && o[at].v < 0.5)   /* the prior's place, as searchsorted */
        at++;
    double wsum = 1;
    for (size_t i = 0; i <= n; i++, k++) {
        int prior = i == at;
        p->mu[k] = prior ? 0.5 : o[i - (i > at)].v;
        p->w[k] = prior ? 1 : o[i - (i > at)].w;
        wsum += prior ? 0 : p->w[k];
    }
    size_t m = p->n;
    double lo = 1.0 / (double)(m + 1 < 100 ? m + 1 : 100);
    for (size_t i = 0; i < m; i++) {
        double left = i ? p->mu[i] - p->mu[i - 1] : p->mu[i];
        double right = i + 1 < m ? p->mu[i + 1] - p->mu[i] : 1 - p->mu[i];
        double sg = left > right ? left : right;
        if (m >= 2 && i == 0)
            sg = right;
        else if (m >= 2 && i == m - 1)
            sg = left;
        p->sigma[i] = sg < lo ? lo : sg > 1 ? 1 : sg;
        p->w[i] /= wsum;
    }
    p->sigma[at] = 1;
    return 0;
}

static void parzen_free(parzen *p)
{
    free(p->mu), free(p->sigma), free(p->w);
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
        s += p->w[i] * exp(-0.5 * z * z) / (p->sigma[i] * sqrt(2 * M_PI) * mass);
    }
    return log(s);
}

static double parzen_draw(const parzen *p, rf_rng *r)
{
    double t = rf_tune_uniform(r), acc = 0;
    size_t k = 0;
    while (k + 1 < p->n && (acc += p->w[k]) <= t)
        k++;
    for (int tries = 0; tries < 100; tries++) {
        double x = p->mu[k] + p->sigma[k] * rf_rng_normal(r);
        if (x >= 0 && x < 1)
            return x;
    }
    return p->mu[k] < 0 ? 0 : p->mu[k] >= 1 ? 0.999999 : p->mu[k];
}

static double draw_continuous(obs *lo, size_t nl, obs *hi, size_t nh, rf_rng *r)
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

/* Smoothed category weights: weighted counts plus a prior of 1 spread
 * evenly. */
static void cat_weights(const obs *o, size_t n, size_t levels, double *w)
{
    for (size_t c = 0; c < levels; c++)
        w[c] = 1.0 / (double)levels;
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)(o[i].v * (double)levels);
        w[c < levels ? c : levels - 1] += o[i].w;
    }
    double t = 0;
    for (size_t c = 0; c < levels; c++)
        t += w[c];
    for (size_t c = 0; c < levels; c++)
        w[c] /= t;
}

static double draw_choice(const obs *lo, size_t nl, const obs *hi, size_t nh,
                          size_t levels, rf_rng *r)
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

/* ---- the joint estimator of the parameters that are always active ------
 * (Optuna's multivariate=True, Falkner et al. 2018): one kernel per
 * observation over all of them at once, so a candidate keeps the
 * combinations good trials had. Bandwidth by Scott's rule, 0.2 n^(-1/(d+4)),
 * clipped as above; a choice's kernel puts 1 on the observed level plus a
 * prior of 1/(n+1) on each; the prior kernel is N(0.5, 1) and uniform. */

typedef struct joint {
    const rf_space *s;
    const size_t *dims;   /* the parameters, d of them */
    size_t d, n;          /* kernels: n observations, then the prior */
    const double *x;      /* n x d observed coordinates */
    double *w;            /* n + 1 mixture weights */
    double sigma;         /* of the observation kernels (unit scale) */
} joint;

static size_t level_of(double v, size_t levels)
{
    size_t c = (size_t)(v * (double)levels);
    return c < levels ? c : levels - 1;
}

static int joint_build(joint *j, const obs *o, size_t n)
{
    j->n = n;
    j->w = malloc((n + 1) * sizeof *j->w);
    if (!j->w)
        return -1;
    double t = 1;
    for (size_t k = 0; k < n; k++)
        t += (j->w[k] = o[k].w);
    j->w[n] = 1;
    for (size_t k = 0; k <= n; k++)
        j->w[k] /= t;
    double lo = 1.0 / (double)(n + 2 < 100 ? n + 2 : 100);
    double sg = 0.2 * pow((double)(n ? n : 1), -1.0 / ((double)j->d + 4));
    j->sigma = sg < lo ? lo : sg > 1 ? 1 : sg;
    return 0;
}

/* log of kernel k's density at x (d coordinates). */
static double kernel_logpdf(const joint *j, size_t k, const double *x)
{
    double s = 0;
    int prior = k == j->n;
    for (size_t a = 0; a < j->d; a++) {
        const rf_param *p = &j->s->p[j->dims[a]];
        if (p->kind == RF_P_CHOICE) {
            size_t L = p->n_choices;
            double v = 1.0 / (double)(j->n + 1);
            s += prior ? -log((double)L)
                       : log((v + (level_of(x[a], L) == level_of(j->x[k * j->d + a], L)))
                             / ((double)L * v + 1));
            continue;
        }
        double mu = prior ? 0.5 : j->x[k * j->d + a], sg = prior ? 1 : j->sigma;
        double z = (x[a] - mu) / sg;
        double mass = phi_cdf((1 - mu) / sg) - phi_cdf(-mu / sg);
        s += -0.5 * z * z - log(sg * sqrt(2 * M_PI) * mass);
    }
    return s;
}

static double joint_logpdf(const joint *j, const double *x)
{
    double m = -INFINITY, t = 0;
    for (size_t k = 0; k <= j->n; k++) {
        double v = log(j->w[k]) + kernel_logpdf(j, k, x);
        if (v > m)
            t = t * exp(m - v) + 1, m = v;
        else
            t += exp(v - m);
    }
    return m + log(t);
}

/* A draw of the mixture into x: a kernel by weight, then each coordinate. */
static void joint_draw(const joint *j, rf_rng *r, double *x)
{
    double t = rf_tune_uniform(r), acc = 0;
    size_t k = 0;
    while (k < j->n && (acc += j->w[k]) <= t)
        k++;
    for (size_t a = 0; a < j->d; a++) {
        const rf_param *p = &j->s->p[j->dims[a]];
        int prior = k == j->n;
        if (p->kind == RF_P_CHOICE) {
            size_t L = p->n_choices, own = prior ? 0 : level_of(j->x[k * j->d + a], L);
            double v = prior ? 1 : 1.0 / (double)(j->n + 1);
            double q = rf_tune_uniform(r) * ((double)L * v + (prior ? 0 : 1)), c = 0;
            size_t lv = 0;
            while (lv + 1 < L && (c += v + (!prior && lv == own)) <= q)
                lv++;
            x[a] = ((double)lv + 0.5) / (double)L;
            continue;
        }
        parzen one = {(double[]){prior ? 0.5 : j->x[k * j->d + a]},
                      (double[]){prior ? 1 : j->sigma}, (double[]){1}, 1};
        x[a] = parzen_draw(&one, r);
    }
}

/* The always-active parameters dims[0..d) of u, from the observations of
 * the good (lo) and bad (hi) trials, rows of xl and xh. */
static int draw_joint(const rf_space *s, const size_t *dims, size_t d, const double *xl,
                      const obs *lo, size_t nl, const double *xh, const obs *hi,
                      size_t nh, rf_rng *r, double *u)
{
    joint l = {s, dims, d, 0, xl, NULL, 0}, g = {s, dims, d, 0, xh, NULL, 0};
    double *x = malloc(2 * d * sizeof *x), *best = x + d, bscore = -INFINITY;
    int rc = -1;
    if (x && joint_build(&l, lo, nl) == 0 && joint_build(&g, hi, nh) == 0) {
        for (int c = 0; c < N_CANDIDATES; c++) {
            joint_draw(&l, r, x);
            double sc = joint_logpdf(&l, x) - joint_logpdf(&g, x);
            if (sc > bscore || c == 0)
                bscore = sc, memcpy(best, x, d * sizeof *x);
        }
        for (size_t a = 0; a < d; a++)
            u[dims[a]] = best[a];
        rc = 0;
    }
    free(l.w), free(g.w), free(x);
    return rc;
}

/* Joint draw of the always-active parameters (when there are two or more):
 * the good and bad trials' coordinates in finishing order. */
static int tpe_joint(const rf_space *s, const rf_trial *hist, size_t n_hist,
                     const unsigned char *good, size_t n, rf_rng *r, double *u,
                     unsigned char *done)
{
    size_t d = 0, nl = 0, nh = 0;
    size_t *dims = malloc((s->n ? s->n : 1) * sizeof *dims);
    double *xl = malloc((n * s->n + 1) * sizeof *xl), *xh = malloc((n * s->n + 1) * sizeof *xh);
    obs *o = malloc(2 * (n + 1) * sizeof *o);
    int rc = -1;
    if (dims && xl && xh && o) {
        for (size_t i = 0; i < s->n; i++)
            if (s->p[i].parent < 0)
                dims[d++] = i;
        for (size_t t = 0; d >= 2 && t < n_hist; t++) {
            if (!good[t])
                continue;
            double *row = good[t] == 2 ? xl + nl * d : xh + nh * d;
            for (size_t a = 0; a < d; a++)
                row[a] = hist[t].u[dims[a]];
            good[t] == 2 ? nl++ : nh++;
        }
        obs *lo = o, *hi = o + n + 1;
        ramp_weights(lo, nl), ramp_weights(hi, nh);
        rc = d < 2 ? 0 : draw_joint(s, dims, d, xl, lo, nl, xh, hi, nh, r, u);
        for (size_t a = 0; rc == 0 && a < d && d >= 2; a++)
            done[dims[a]] = 1;
    }
    free(dims), free(xl), free(xh), free(o);
    return rc;
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
    /* good[t]: trial idx[t] is among the best n_below; observations are
     * then taken in finishing order, as Optuna weighs them */
    obs *lo = malloc(2 * n * sizeof *lo);
    unsigned char *good = calloc(n_hist + 1, 1);
    if (!lo || !good) {
        free(idx), free(lo), free(good);
        return rf_errf(err, RF_ENOMEM, "tpe: out of memory");
    }
    obs *hi = lo + n;
    for (size_t t = 0; t < n; t++)
        good[idx[t]] = t < n_below ? 2 : 1;
    for (size_t i = 0; i < s->n; i++)
        u[i] = NAN;
    unsigned char *done = calloc(s->n + 1, 1);
    if (!done || tpe_joint(s, hist, n_hist, good, n, r, u, done) < 0) {
        free(lo), free(idx), free(good), free(done);
        return rf_errf(err, RF_ENOMEM, "tpe: out of memory");
    }
    for (size_t k = 0; k < s->n; k++) {
        size_t i = s->order[k], nl = 0, nh = 0;
        if (done[i] || !rf_space_active(s, u, i))
            continue;
        for (size_t t = 0; t < n_hist; t++) {
            double v = good[t] ? hist[t].u[i] : NAN;
            if (isnan(v))
                continue;
            if (good[t] == 2)
                lo[nl++].v = v;
            else
                hi[nh++].v = v;
        }
        ramp_weights(lo, nl), ramp_weights(hi, nh);
        if (s->p[i].kind == RF_P_CHOICE)
            u[i] = draw_choice(lo, nl, hi, nh, s->p[i].n_choices, r);
        else
            u[i] = draw_continuous(lo, nl, hi, nh, r);
    }
    free(lo), free(idx), free(good), free(done);
    rf_space_activate(s, u, 0.5);
    return 0;
}
