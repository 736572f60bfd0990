/* rf_metrics: how good a model's predictions are, and how sure we may be.
 *
 * Per fold: classification, regression and time-series metrics of one set
 * of predictions, optionally broken down by a per-row key (difficulty
 * level, category). Across folds: mean, sample standard deviation and a
 * 95% Student-t confidence interval of each metric.
 *
 * Conventions follow scikit-learn so that results can be checked against
 * it: precision of a class never predicted is 0; macro averages run over
 * the classes present in the truth or the predictions; log loss clips
 * probabilities to [1e-15, 1 - 1e-15] and renormalizes each row; R² of a
 * constant target is 1 for a perfect fit and 0 otherwise; multi-target
 * regression averages the per-target metrics. MAPE is a fraction (0.05 is
 * 5%); rows whose target is 0 are left out of it and counted instead of
 * being divided by an epsilon. Any NaN or infinite prediction is an error. */
#ifndef RF_METRICS_H
#define RF_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"

/* Predictions of one model on n rows, with the truth. Borrowed arrays. */
typedef struct rf_preds {
    int kind;                 /* enum rf_task_kind (rf_dataset.h) */
    size_t n;
    /* classification */
    size_t n_classes;
    const int32_t *y_class;   /* n true classes */
    const float *prob;        /* n x n_classes probabilities, or NULL */
    const int32_t *pred;      /* n predicted classes, or NULL: argmax of prob */
    /* regression */
    size_t n_targets;
    const float *y_reg;       /* n x n_targets truth */
    const float *y_hat;       /* n x n_targets predictions */
} rf_preds;

typedef struct rf_cls_metrics {
    size_t n, n_classes;
    double accuracy, f1_macro, f1_micro, precision_macro, recall_macro;
    double log_loss;          /* NaN without probabilities */
    double *precision, *recall, *f1;   /* per class */
    uint64_t *support;        /* true rows per class */
    uint64_t *confusion;      /* [true * n_classes + predicted] */
} rf_cls_metrics;

typedef struct rf_reg_metrics {
    size_t n, n_targets;
    double mse, rmse, mae, mape, r2;
    uint64_t mape_zero;       /* target cells equal to 0, left out of MAPE */
    double directional;       /* share of steps whose predicted direction of
                                 change from the previous true value matches
                                 the true one; NaN unless time series, n >= 2 */
} rf_reg_metrics;

typedef struct rf_metrics {
    int kind;
    rf_cls_metrics cls;       /* kind == RF_CLASSIFICATION */
    rf_reg_metrics reg;       /* kind == RF_REGRESSION */
} rf_metrics;

/* Metrics of all rows of p. time_series adds directional accuracy (rows
 * in time order). Fails on NaN/Inf predictions, classes out of range, n 0. */
int rf_metrics_compute(const rf_preds *p, int time_series, rf_metrics *m,
                       rf_err *err);
void rf_metrics_free(rf_metrics *m);

/* Breakdown: out[j] receives the metrics of the rows with key[i] == j, for
 * j in [0, n_keys); rows with other keys (-1: none) are skipped; count[j]
 * is the number of rows (0 leaves out[j] zeroed: nothing to free). */
int rf_metrics_by_key(const rf_preds *p, const int32_t *key, size_t n_keys,
                      rf_metrics *out, size_t *count, rf_err *err);

/* Student t distribution: CDF and quantile (inverse CDF), df > 0. Exact to
 * about 1e-12 (regularized incomplete beta by continued fraction). */
double rf_student_t_cdf(double t, double df);
double rf_student_t_quantile(double p, double df);

/* Across folds: NaN values are left out of n. std is the sample standard
 * deviation (n - 1); std and the interval are NaN below n = 2. */
typedef struct rf_agg {
    size_t n;
    double mean, std, ci_low, ci_high;
} rf_agg;
void rf_metrics_aggregate(const double *v, size_t n, double confidence, rf_agg *a);

#endif
