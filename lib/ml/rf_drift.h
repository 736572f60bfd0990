/* rf_drift: is the stream still like the data the model was trained on?
 *
 * Population stability index: PSI = sum_b (a_b - e_b) ln(a_b / e_b) over
 * the share of rows in each bin, expected (training data) against actual
 * (a new batch); shares are floored at 1e-4 so an empty bin does not give
 * infinity. The usual reading: < 0.1 stable, 0.1-0.25 some shift, > 0.25
 * a shift. Labels are binned by class; a feature by the deciles of its
 * training values (features constant in training are skipped).
 *
 * Page-Hinkley on a stream of errors x_t (0/1 for a classifier):
 * m_t = sum_{i<=t} (x_i - mean_i - delta), M_t = min m; the test fires
 * when m_t - M_t > lambda, i.e. when the mean error rose by more than
 * delta for long enough. After firing it starts over. */
#ifndef RF_DRIFT_H
#define RF_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#define RF_PSI_BINS 10

/* PSI of two histograms of the same bins (counts, any scale). */
double rf_psi_counts(const double *expected, const double *actual, size_t bins);
/* PSI of the class distributions of two label columns. */
double rf_psi_labels(const int32_t *ref, size_t nref, const int32_t *cur, size_t ncur,
                     size_t n_classes);

typedef struct rf_psi_summary {
    double max, mean;      /* over the features compared */
    size_t worst;          /* feature of the max */
    size_t compared;       /* features not constant in the reference */
} rf_psi_summary;

/* Per-feature PSI of rows cur (ncur x dim) against ref (nref x dim). */
void rf_psi_features(const float *ref, size_t nref, const float *cur, size_t ncur, size_t dim,
                     rf_psi_summary *out);

typedef struct rf_ph {
    double delta, lambda;  /* tolerated rise of the mean; threshold */
    double mean, m, mmin;
    uint64_t n;            /* observations since the last reset */
    uint64_t seen;         /* observations in all */
    uint64_t fired_at;     /* seen when it last fired (0 = never) */
} rf_ph;

void rf_ph_init(rf_ph *p, double delta, double lambda);
/* Add one observation; 1 if the test fires on it (then it resets). */
int rf_ph_update(rf_ph *p, double x);

#endif
