/* bench_eval: seconds to compute the classification metrics of N
 * predictions over K classes (accuracy, per-class and macro precision,
 * recall, F1, log loss, confusion matrix) and to assign N rows to 5
 * stratified folds. tests/bench/bench_eval.sh runs scikit-learn on the same
 * sizes. Usage: bench_eval N K; prints "metrics SECONDS" and "split SECONDS"
 * (best of 3). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/rf_buf.h"
#include "ml/rf_cv.h"
#include "ml/rf_dataset.h"
#include "ml/rf_metrics.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    size_t k = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
    int32_t *y = rf_xmalloc(n * sizeof *y), *fold = rf_xmalloc(n * sizeof *fold);
    float *prob = rf_xmalloc(n * k * sizeof *prob);
    uint32_t s = 1;
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)((s = s * 1664525u + 1013904223u) >> 8) % (int32_t)k;
        float sum = 0;
        for (size_t j = 0; j < k; j++) {
            s = s * 1664525u + 1013904223u;
            prob[i * k + j] = (float)(s >> 8) / 16777216.0f + (j == (size_t)y[i]);
            sum += prob[i * k + j];
        }
        for (size_t j = 0; j < k; j++)
            prob[i * k + j] /= sum;
    }
    rf_preds p = {.kind = RF_CLASSIFICATION, .n = n, .n_classes = k, .y_class = y,
                  .prob = prob};
    rf_cv_rows rows = {.n = n, .label = y, .n_classes = k};
    rf_cv_spec spec;
    rf_cv_spec_default(&spec);
    spec.scheme = RF_CV_STRATIFIED;
    double best_m = 1e30, best_s = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        rf_metrics m;
        rf_err e = {0};
        double t0 = now();
        if (rf_metrics_compute(&p, 0, &m, &e) < 0) {
            fprintf(stderr, "bench_eval: %s\n", e.msg);
            return 1;
        }
        double t1 = now();
        rf_metrics_free(&m);
        if (rf_cv_assign(&spec, &rows, fold, NULL, NULL, &e) < 0) {
            fprintf(stderr, "bench_eval: %s\n", e.msg);
            return 1;
        }
        double t2 = now();
        best_m = t1 - t0 < best_m ? t1 - t0 : best_m;
        best_s = t2 - t1 < best_s ? t2 - t1 : best_s;
    }
    printf("metrics %.6f\nsplit %.6f\n", best_m, best_s);
    free(y);
    free(fold);
    free(prob);
    return 0;
}
