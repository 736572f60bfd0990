/* rf_tune: the samplers of a hyperparameter search. Given the space, the
 * trials so far (in the order they finished, running ones included) and the
 * number of the trial to propose, a sampler returns the trial's point in
 * the unit cube (see rf_space.h). Proposals are pure functions of these
 * inputs and the seed: the same history gives the same proposal, so a
 * restarted tuner re-derives, and never repeats, what it proposed.
 *
 * Samplers: random; grid (exact enumeration, `grid_points` per continuous
 * axis); sobol (Joe-Kuo, digitally shifted by the seed); gp (Sobol for the
 * first n_startup, default 2 * dims + 1, then a Matérn-5/2 GP with expected improvement, running
 * trials conditioned on as constant liars); tpe (random for the first
 * n_startup, default 10, then the tree-structured Parzen estimator, per parameter over the trials where it is active); nsga2
 * (several objectives: non-dominated sorting and crowding distance). All
 * objectives are minimised: negate maximised ones before. */
#ifndef RF_TUNE_H
#define RF_TUNE_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"
#include "base/rf_rng.h"
#include "ml/rf_space.h"

enum rf_sampler {
    RF_SAMPLER_RANDOM = 0, RF_SAMPLER_GRID, RF_SAMPLER_SOBOL, RF_SAMPLER_GP,
    RF_SAMPLER_TPE, RF_SAMPLER_NSGA2
};

enum rf_trial_state {
    RF_TRIAL_RUNNING = 0, RF_TRIAL_COMPLETE, RF_TRIAL_PRUNED, RF_TRIAL_FAILED
};

typedef struct rf_trial {
    const double *u;   /* space->n coordinates, NaN where inactive */
    const double *y;   /* n_obj objective values (minimised); unused unless complete */
    int state;         /* enum rf_trial_state */
} rf_trial;

typedef struct rf_tune_cfg {
    int sampler;        /* enum rf_sampler */
    uint64_t seed;
    size_t n_obj;       /* objectives, >= 1 */
    size_t n_startup;   /* gp, tpe: quasi-random/random trials first; 0 = default */
    size_t grid_points; /* grid: values per continuous axis; 0 = 5 */
    size_t population;  /* nsga2: population size; 0 = 20 */
} rf_tune_cfg;

/* Name <-> enum ("random", "grid", "sobol", "gp", "tpe", "nsga2"). */
int rf_sampler_parse(const char *name, int *sampler, rf_err *err);
const char *rf_sampler_name(int sampler);

/* Propose trial number `trial_no` into u (space->n values). A grid that is
 * exhausted is RF_ENOTFOUND: the search is over. */
int rf_tune_propose(const rf_space *s, const rf_tune_cfg *cfg,
                    const rf_trial *hist, size_t n_hist, uint64_t trial_no,
                    double *u, rf_err *err);

/* As rf_tune_propose, while the trials numbered pending[0..n_pending) are
 * still running (proposed, no result yet). The GP sampler re-derives their
 * points in that order, each as if it had seen hist and the pending ones
 * before it (exact for trials spawned from the same history, and for the
 * quasi-random first ones), and conditions on them as constant liars, so
 * parallel trials do not propose the same point. Other samplers ignore
 * pending. Still a pure function of its inputs. */
int rf_tune_propose_pending(const rf_space *s, const rf_tune_cfg *cfg,
                            const rf_trial *hist, size_t n_hist,
                            const uint64_t *pending, size_t n_pending,
                            uint64_t trial_no, double *u, rf_err *err);

/* Grid: number of points, and point `index` (RF_ENOTFOUND past the end). */
size_t rf_grid_size(const rf_space *s, size_t points);
int rf_grid_point(const rf_space *s, size_t points, size_t index, double *u,
                  rf_err *err);

/* Shared by the samplers (rf_tune*.c, rf_tpe.c, rf_nsga2.c). */
void rf_tune_random_point(const rf_space *s, rf_rng *r, double *u);
double rf_tune_uniform(rf_rng *r);   /* in [0, 1) with 53 bits */
double rf_tune_clamp01(double v);
/* Indices of complete trials (caller frees), their count in *n. */
size_t *rf_tune_complete(const rf_trial *hist, size_t n_hist, size_t *n);

int rf_tune_gp(const rf_space *s, const rf_tune_cfg *cfg, const rf_trial *hist,
               size_t n_hist, rf_rng *r, double *u, rf_err *err);
int rf_tune_tpe(const rf_space *s, const rf_tune_cfg *cfg, const rf_trial *hist,
                size_t n_hist, rf_rng *r, double *u, rf_err *err);
int rf_tune_nsga2(const rf_space *s, const rf_tune_cfg *cfg,
                  const rf_trial *hist, size_t n_hist, rf_rng *r, double *u,
                  rf_err *err);

/* NSGA-II's ranking: rank[i] = front number (0 = non-dominated) of point i
 * of n points with m objectives (y row-major), crowd[i] its crowding
 * distance within its front (INFINITY at the front's ends). */
int rf_nondominated_sort(const double *y, size_t n, size_t m, size_t *rank,
                         double *crowd, rf_err *err);

#endif
