/* rf_drift: PSI and Page-Hinkley drift tests; see rf_drift.h. */
#include "ml/rf_drift.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"

#define PSI_FLOOR 1e-4

double rf_psi_counts(const double *expected, const double *actual, size_t bins)
{
    double te = 0, ta = 0, psi = 0;
    for (size_t b = 0; b < bins; b++) {
        te += expected[b];
        ta += actual[b];
    }
    if (te <= 0 || ta <= 0)
        return 0;
    for (size_t b = 0; b < bins; b++) {
        double e = fmax(expected[b] / te, PSI_FLOOR), a = fmax(actual[b] / ta, PSI_FLOOR);
        psi += (a - e) * log(a / e);
    }
    return psi;
}

double rf_psi_labels(const int32_t *ref, size_t nref, const int32_t *cur, size_t ncur,
                     size_t n_classes)
{
    if (n_classes == 0)
        return 0;
    double *e = rf_xcalloc(n_classes, sizeof *e), *a = rf_xcalloc(n_classes, sizeof *a);
    for (size_t i = 0; i < nref; i++)
        if (ref[i] >= 0 && (size_t)ref[i] < n_classes)
            e[ref[i]]++;
    for (size_t i = 0; i < ncur; i++)
        if (cur[i] >= 0 && (size_t)cur[i] < n_classes)
            a[cur[i]]++;
    double psi = rf_psi_counts(e, a, n_classes);
    free(e);
    free(a);
    return psi;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Bin of v among the RF_PSI_BINS-1 ascending cut points. */
static size_t bin_of(const float *cuts, size_t ncuts, float v)
{
    size_t b = 0;
    while (b < ncuts && v > cuts[b])
        b++;
    return b;
}

/* Deciles of column j of ref as cut points (duplicates removed); the number
 * of cuts, 0 for a constant column. */
static size_t decile_cuts(const float *ref, size_t nref, size_t dim, size_t j, float *col,
                          float *cuts)
{
    for (size_t i = 0; i < nref; i++)
        col[i] = ref[i * dim + j];
    qsort(col, nref, sizeof *col, cmp_float);
    if (col[0] == col[nref - 1])
        return 0;
    size_t n = 0;
    for (size_t q = 1; q < RF_PSI_BINS; q++) {
        float c = col[(q * nref) / RF_PSI_BINS];
        if (n == 0 || c > cuts[n - 1])
            cuts[n++] = c;
    }
    return n;
}

void rf_psi_features(const float *ref, size_t nref, const float *cur, size_t ncur, size_t dim,
                     rf_psi_summary *out)
{
    memset(out, 0, sizeof *out);
    if (nref == 0 || ncur == 0)
        return;
    float *col = rf_xmalloc(nref * sizeof *col), cuts[RF_PSI_BINS];
    double sum = 0;
    for (size_t j = 0; j < dim; j++) {
        size_t nc = decile_cuts(ref, nref, dim, j, col, cuts);
        if (nc == 0)
            continue;
        double e[RF_PSI_BINS] = {0}, a[RF_PSI_BINS] = {0};
        for (size_t i = 0; i < nref; i++)
            e[bin_of(cuts, nc, ref[i * dim + j])]++;
        for (size_t i = 0; i < ncur; i++)
            a[bin_of(cuts, nc, cur[i * dim + j])]++;
        double psi = rf_psi_counts(e, a, nc + 1);
        sum += psi;
        if (out->compared == 0 || psi > out->max) {
            out->max = psi;
            out->worst = j;
        }
        out->compared++;
    }
    out->mean = out->compared ? sum / (double)out->compared : 0;
    free(col);
}

void rf_ph_init(rf_ph *p, double delta, double lambda)
{
    memset(p, 0, sizeof *p);
    p->delta = delta;
    p->lambda = lambda;
}

int rf_ph_update(rf_ph *p, double x)
{
    p->seen++;
    p->n++;
    p->mean += (x - p->mean) / (double)p->n;
    p->m += x - p->mean - p->delta;
    if (p->m < p->mmin)
        p->mmin = p->m;
    if (p->m - p->mmin > p->lambda) {
        p->fired_at = p->seen;
        p->n = 0;
        p->mean = p->m = p->mmin = 0;
        return 1;
    }
    return 0;
}
