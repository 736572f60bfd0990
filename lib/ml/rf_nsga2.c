/* rf_nsga2: NSGA-II for several objectives (Deb et al. 2002), in the
 * steady-state form a trial-at-a-time tuner needs. Once `population`
 * trials are complete, the parents are the best `population` of all
 * complete trials by (front, crowding distance), elitist like NSGA-II's
 * (mu + lambda) survival; each proposal is a child of two binary-tournament
 * winners by simulated binary crossover and polynomial mutation in the unit
 * cube (choices: uniform crossover, resampled on mutation). */
#include "ml/rf_tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define POPULATION 20
#define ETA_CROSS 15.0
#define ETA_MUTATE 20.0
#define P_CROSS 0.9

static int dominates(const double *a, const double *b, size_t m)
{
    int better = 0;
    for (size_t k = 0; k < m; k++) {
        if (a[k] > b[k])
            return 0;
        better |= a[k] < b[k];
    }
    return better;
}

static void crowding(const double *y, size_t m, const size_t *front, size_t nf,
                     double *crowd, size_t *tmp)
{
    for (size_t i = 0; i < nf; i++)
        crowd[front[i]] = 0;
    for (size_t k = 0; k < m; k++) {
        memcpy(tmp, front, nf * sizeof *tmp);
        for (size_t i = 1; i < nf; i++) {   /* insertion sort on objective k */
            size_t v = tmp[i], j = i;
            while (j > 0 && y[tmp[j - 1] * m + k] > y[v * m + k])
                tmp[j] = tmp[j - 1], j--;
            tmp[j] = v;
        }
        double lo = y[tmp[0] * m + k], hi = y[tmp[nf - 1] * m + k];
        crowd[tmp[0]] = crowd[tmp[nf - 1]] = INFINITY;
        for (size_t i = 1; i + 1 < nf && hi > lo; i++)
            crowd[tmp[i]] += (y[tmp[i + 1] * m + k] - y[tmp[i - 1] * m + k]) /
                             (hi - lo);
    }
}

int rf_nondominated_sort(const double *y, size_t n, size_t m, size_t *rank,
                         double *crowd, rf_err *err)
{
    size_t *count = calloc(n + 1, sizeof *count);   /* dominated by how many */
    size_t *front = malloc((n + 1) * sizeof *front);
    size_t *next = malloc((n + 1) * sizeof *next);
    size_t *tmp = malloc((n + 1) * sizeof *tmp);
    if (!count || !front || !next || !tmp) {
        free(count), free(front), free(next), free(tmp);
        return rf_errf(err, RF_ENOMEM, "nsga2: out of memory for %zu points", n);
    }
    size_t nf = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++)
            if (j != i && dominates(y + j * m, y + i * m, m))
                count[i]++;
        if (count[i] == 0)
            front[nf++] = i;
    }
    for (size_t r = 0; nf > 0; r++) {
        size_t nn = 0;
        for (size_t a = 0; a < nf; a++)
            rank[front[a]] = r;
        crowding(y, m, front, nf, crowd, tmp);
        for (size_t a = 0; a < nf; a++)
            for (size_t j = 0; j < n; j++)
                if (dominates(y + front[a] * m, y + j * m, m) && --count[j] == 0)
                    next[nn++] = j;
        memcpy(front, next, nn * sizeof *front);
        nf = nn;
    }
    free(count), free(front), free(next), free(tmp);
    return 0;
}

static int better(const size_t *rank, const double *crowd, size_t a, size_t b)
{
    return rank[a] < rank[b] || (rank[a] == rank[b] && crowd[a] > crowd[b]);
}

static size_t tournament(const size_t *pool, size_t np, const size_t *rank,
                         const double *crowd, rf_rng *r)
{
    size_t a = pool[rf_rng_below(r, np)], b = pool[rf_rng_below(r, np)];
    return better(rank, crowd, a, b) || (!better(rank, crowd, b, a) && a < b) ? a : b;
}

/* SBX of two values in [0, 1] (one child, the spread factor beta). */
static double sbx(double a, double b, rf_rng *r)
{
    double u = rf_tune_uniform(r);
    double beta = u <= 0.5 ? pow(2 * u, 1 / (ETA_CROSS + 1))
                           : pow(1 / (2 * (1 - u)), 1 / (ETA_CROSS + 1));
    double sgn = rf_tune_uniform(r) < 0.5 ? -1 : 1;
    return rf_tune_clamp01(0.5 * ((a + b) + sgn * beta * (a - b)));
}

static double poly_mutate(double x, rf_rng *r)
{
    double u = rf_tune_uniform(r);
    double delta = u < 0.5 ? pow(2 * u, 1 / (ETA_MUTATE + 1)) - 1
                           : 1 - pow(2 * (1 - u), 1 / (ETA_MUTATE + 1));
    return rf_tune_clamp01(x + delta);
}

static void make_child(const rf_space *s, const double *pa, const double *pb,
                       rf_rng *r, double *u)
{
    int cross = rf_tune_uniform(r) < P_CROSS;
    double pm = 1.0 / (double)s->n;
    for (size_t i = 0; i < s->n; i++) {
        double a = pa[i], b = pb[i];
        if (isnan(a))
            a = isnan(b) ? rf_tune_uniform(r) : b;
        if (isnan(b))
            b = a;
        int choice = s->p[i].kind == RF_P_CHOICE;
        if (!cross)
            u[i] = a;
        else if (choice)
            u[i] = rf_tune_uniform(r) < 0.5 ? a : b;
        else
            u[i] = sbx(a, b, r);
        if (rf_tune_uniform(r) < pm)
            u[i] = choice ? rf_tune_uniform(r) : poly_mutate(u[i], r);
    }
    rf_space_activate(s, u, 0.5);
    rf_space_snap(s, u);
}

int rf_tune_nsga2(const rf_space *s, const rf_tune_cfg *cfg,
                  const rf_trial *hist, size_t n_hist, rf_rng *r, double *u,
                  rf_err *err)
{
    size_t m = cfg->n_obj ? cfg->n_obj : 1, pop = cfg->population ? cfg->population
                                                                  : POPULATION;
    size_t n = 0, *idx = rf_tune_complete(hist, n_hist, &n), k = 0;
    for (size_t i = 0; idx && i < n; i++) {
        size_t j = 0;
        while (j < m && isfinite(hist[idx[i]].y[j]))
            j++;
        if (j == m)
            idx[k++] = idx[i];
    }
    n = k;
    if (!idx || n < pop) {
        free(idx);
        rf_tune_random_point(s, r, u);
        return 0;
    }
    double *y = malloc(n * m * sizeof *y), *crowd = malloc(n * sizeof *crowd);
    size_t *rank = malloc(n * sizeof *rank), *pool = malloc(n * sizeof *pool);
    int rc = -1;
    if (!y || !crowd || !rank || !pool) {
        rf_errf(err, RF_ENOMEM, "nsga2: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(y + i * m, hist[idx[i]].y, m * sizeof *y);
    if (rf_nondominated_sort(y, n, m, rank, crowd, err) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {   /* survivors: best `pop` by (rank, crowd) */
        size_t v = i, j = i;
        pool[i] = v;
        while (j > 0 && better(rank, crowd, v, pool[j - 1]))
            pool[j] = pool[j - 1], j--;
        pool[j] = v;
    }
    size_t a = tournament(pool, pop, rank, crowd, r);
    size_t b = tournament(pool, pop, rank, crowd, r);
    make_child(s, hist[idx[a]].u, hist[idx[b]].u, r, u);
    rc = 0;
out:
    free(y), free(crowd), free(rank), free(pool), free(idx);
    return rc;
}
