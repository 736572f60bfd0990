/* rf_tune: sampler dispatch, random, grid and Sobol proposals (see
 * rf_tune.h; gp in rf_tune_gp.c, tpe in rf_tpe.c, nsga2 in rf_nsga2.c). */
#include "ml/rf_tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml/rf_sobol.h"

static const char *const sampler_names[] = {"random", "grid", "sobol", "gp",
                                            "tpe", "nsga2"};
#define N_SAMPLERS (sizeof sampler_names / sizeof *sampler_names)

int rf_sampler_parse(const char *name, int *sampler, rf_err *err)
{
    for (size_t i = 0; i < N_SAMPLERS; i++)
        if (!strcmp(name, sampler_names[i])) {
            *sampler = (int)i;
            return 0;
        }
    return rf_errf(err, RF_EINVAL, "unknown sampler '%s' (want random, grid, "
                   "sobol, gp, tpe or nsga2)", name);
}

const char *rf_sampler_name(int sampler)
{
    return sampler >= 0 && (size_t)sampler < N_SAMPLERS ? sampler_names[sampler]
                                                        : "?";
}

double rf_tune_uniform(rf_rng *r)
{
    return (double)(rf_rng_next(r) >> 11) * 0x1.0p-53;
}

double rf_tune_clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

void rf_tune_random_point(const rf_space *s, rf_rng *r, double *u)
{
    for (size_t i = 0; i < s->n; i++)
        u[i] = rf_tune_uniform(r);
    rf_space_activate(s, u, 0.5);
}

size_t *rf_tune_complete(const rf_trial *hist, size_t n_hist, size_t *n)
{
    size_t *idx = malloc((n_hist ? n_hist : 1) * sizeof *idx);
    *n = 0;
    for (size_t i = 0; idx && i < n_hist; i++)
        if (hist[i].state == RF_TRIAL_COMPLETE)
            idx[(*n)++] = i;
    return idx;
}

/* Grid values of parameter i: its levels, or `points` evenly spaced. */
static size_t grid_levels(const rf_space *s, size_t i, size_t points)
{
    size_t lv = rf_space_levels(s, i);
    return lv && (lv <= points || s->p[i].kind == RF_P_CHOICE) ? lv : points;
}

static double grid_value(const rf_space *s, size_t i, size_t points, size_t j)
{
    size_t lv = rf_space_levels(s, i), m = grid_levels(s, i, points);
    if (lv && m == lv)
        return (j + 0.5) / (double)lv;
    double u = m > 1 ? (double)j / (double)(m - 1) : 0.5;
    if (lv) {  /* an integer axis sampled at `points` values: snap */
        size_t cellv = (size_t)(u * (double)lv);
        if (cellv >= lv)
            cellv = lv - 1;
        u = (cellv + 0.5) / (double)lv;
    }
    return u;
}

/* Depth-first walk of the grid over the activation order; counts points
 * and stops at point `*want` (decrementing it), leaving it in u. */
static int grid_walk(const rf_space *s, size_t points, size_t k, double *u,
                     size_t *want, size_t *count)
{
    if (k == s->n) {
        if (*want == 0)
            return 1;
        (*want)--;
        (*count)++;
        return 0;
    }
    size_t i = s->order[k];
    if (!rf_space_active(s, u, i)) {
        u[i] = NAN;
        return grid_walk(s, points, k + 1, u, want, count);
    }
    size_t m = grid_levels(s, i, points);
    for (size_t j = 0; j < m; j++) {
        u[i] = grid_value(s, i, points, j);
        if (grid_walk(s, points, k + 1, u, want, count))
            return 1;
    }
    return 0;
}

size_t rf_grid_size(const rf_space *s, size_t points)
{
    double *u = malloc((s->n ? s->n : 1) * sizeof *u);
    size_t want = SIZE_MAX, count = 0;
    if (!u)
        return 0;
    grid_walk(s, points ? points : 5, 0, u, &want, &count);
    free(u);
    return count;
}

int rf_grid_point(const rf_space *s, size_t points, size_t index, double *u,
                  rf_err *err)
{
    size_t want = index, count = 0;
    if (!grid_walk(s, points ? points : 5, 0, u, &want, &count))
        return rf_errf(err, RF_ENOTFOUND, "grid: point %zu past its %zu points",
                       index, count);
    return 0;
}

static int sobol_proposal(const rf_space *s, rf_rng *r, uint64_t trial_no,
                          double *u, rf_err *err)
{
    uint32_t shift[RF_SOBOL_MAX_DIM];
    for (size_t j = 0; j < RF_SOBOL_MAX_DIM; j++)
        shift[j] = (uint32_t)(rf_rng_next(r) >> 32);
    if (rf_sobol_point(trial_no, s->n, shift, u, err) < 0)
        return -1;
    rf_space_activate(s, u, 0.5);
    return 0;
}

int rf_tune_propose(const rf_space *s, const rf_tune_cfg *cfg,
                    const rf_trial *hist, size_t n_hist, uint64_t trial_no,
                    double *u, rf_err *err)
{
    rf_rng run, r;
    rf_rng_seed(&run, cfg->seed);   /* per-search stream (the Sobol shift) */
    rf_rng_seed(&r, cfg->seed ^ (0x9E3779B97F4A7C15ull * (trial_no + 1)));
    switch (cfg->sampler) {
    case RF_SAMPLER_RANDOM:
        rf_tune_random_point(s, &r, u);
        return 0;
    case RF_SAMPLER_GRID:
        return rf_grid_point(s, cfg->grid_points, (size_t)trial_no, u, err);
    case RF_SAMPLER_SOBOL:
        return sobol_proposal(s, &run, trial_no, u, err);
    case RF_SAMPLER_GP: {
        size_t n_done = 0, n_start = cfg->n_startup ? cfg->n_startup
                                                    : (2 * s->n + 1 > 5 ? 2 * s->n + 1 : 5);
        free(rf_tune_complete(hist, n_hist, &n_done));
        if (n_done < n_start || trial_no < n_start)
            return sobol_proposal(s, &run, trial_no, u, err);
        return rf_tune_gp(s, cfg, hist, n_hist, &r, u, err);
    }
    case RF_SAMPLER_TPE:
        return rf_tune_tpe(s, cfg, hist, n_hist, &r, u, err);
    case RF_SAMPLER_NSGA2:
        return rf_tune_nsga2(s, cfg, hist, n_hist, &r, u, err);
    }
    return rf_errf(err, RF_EINVAL, "tune: unknown sampler %d", cfg->sampler);
}

int rf_tune_propose_pending(const rf_space *s, const rf_tune_cfg *cfg,
                            const rf_trial *hist, size_t n_hist,
                            const uint64_t *pending, size_t n_pending,
                            uint64_t trial_no, double *u, rf_err *err)
{
    if (cfg->sampler != RF_SAMPLER_GP || n_pending == 0)
        return rf_tune_propose(s, cfg, hist, n_hist, trial_no, u, err);
    size_t d = s->n ? s->n : 1;
    rf_trial *h = malloc((n_hist + n_pending) * sizeof *h);
    double *pu = malloc(n_pending * d * sizeof *pu);
    int rc = 0;
    if (!h || !pu)
        rc = rf_errf(err, RF_ENOMEM, "tune: out of memory for %zu running trials",
                     n_pending);
    if (rc == 0 && n_hist)
        memcpy(h, hist, n_hist * sizeof *h);
    for (size_t i = 0; rc == 0 && i < n_pending; i++) {
        rc = rf_tune_propose(s, cfg, h, n_hist + i, pending[i], pu + i * d, err);
        h[n_hist + i] = (rf_trial){pu + i * d, NULL, RF_TRIAL_RUNNING};
    }
    if (rc == 0)
        rc = rf_tune_propose(s, cfg, h, n_hist + n_pending, trial_no, u, err);
    free(h), free(pu);
    return rc;
}
