/* rf_baseline: majority, previous-action and Markov baselines on a fold's
 * rows. See rf_baseline.h. */
#include "ml/rf_baseline.h"

#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"

static const char *const names[RF_BASELINE_COUNT] = {"majority", "previous", "markov"};
static const char *const descriptions[RF_BASELINE_COUNT] = {
    "most common class", "same as the previous one", "bigram on the previous one"};

const char *rf_baseline_name(int kind)
{
    return kind >= 0 && kind < RF_BASELINE_COUNT ? names[kind] : "?";
}

const char *rf_baseline_description(int kind)
{
    return kind >= 0 && kind < RF_BASELINE_COUNT ? descriptions[kind] : "?";
}

int rf_baseline_applies(const rf_baseline_rows *r, int kind)
{
    return kind == RF_BASELINE_MAJORITY ||
           ((kind == RF_BASELINE_PREVIOUS || kind == RF_BASELINE_MARKOV) && r->prev_row);
}

/* The predecessor's class of row i, -1 at a sequence start. */
static int32_t prev_class(const rf_baseline_rows *r, uint32_t i)
{
    int32_t p = r->prev_row ? r->prev_row[i] : -1;
    return p < 0 ? -1 : r->y[p];
}

/* Index of the largest count; ties go to the larger prior, then the lower
 * index. -1 when every count is 0. */
static int32_t argmax(const uint64_t *c, const uint64_t *prior, size_t k)
{
    int32_t best = -1;
    for (size_t j = 0; j < k; j++) {
        if (!c[j])
            continue;
        if (best < 0 || c[j] > c[best] || (c[j] == c[best] && prior[j] > prior[best]))
            best = (int32_t)j;
    }
    return best;
}

/* Every class and predecessor index the fit or prediction reads is in
 * range: a corrupt column fails here instead of indexing out of bounds. */
static int check_rows(const rf_baseline_rows *r, rf_err *err)
{
    const uint32_t *sets[2] = {r->train, r->test};
    size_t ns[2] = {r->n_train, r->n_test};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < ns[s]; i++) {
            uint32_t row = sets[s][i];
            if (r->y[row] < 0 || (size_t)r->y[row] >= r->n_classes)
                return rf_errf(err, RF_EINVAL, "row %u: class %d is outside [0, %zu)", row,
                               r->y[row], r->n_classes);
            int32_t p = r->prev_row ? r->prev_row[row] : -1;
            if (p >= 0 && (r->y[p] < 0 || (size_t)r->y[p] >= r->n_classes))
                return rf_errf(err, RF_EINVAL, "row %u: its predecessor %d has class %d, "
                               "outside [0, %zu)", row, p, r->y[p], r->n_classes);
        }
    return 0;
}

int rf_baseline_predict(const rf_baseline_rows *r, int kind, int32_t *pred, rf_err *err)
{
    if (!rf_baseline_applies(r, kind))
        return rf_errf(err, RF_EINVAL, "baseline %s needs the rows' predecessors (prev_row)",
                       rf_baseline_name(kind));
    if (r->n_train == 0 || r->n_classes == 0)
        return rf_errf(err, RF_EINVAL, "baseline %s: no training row", rf_baseline_name(kind));
    if (check_rows(r, err) < 0)
        return -1;
    size_t k = r->n_classes;
    uint64_t *prior = rf_xcalloc(k, sizeof *prior);
    for (size_t i = 0; i < r->n_train; i++)
        prior[r->y[r->train[i]]]++;
    int32_t majority = argmax(prior, prior, k);
    uint64_t *trans = NULL;     /* (k + 1) x k: row 0 = no predecessor */
    int32_t *next = NULL;       /* argmax of each transition row */
    if (kind == RF_BASELINE_MARKOV) {
        trans = rf_xcalloc((k + 1) * k, sizeof *trans);
        for (size_t i = 0; i < r->n_train; i++) {
            uint32_t row = r->train[i];
            trans[(size_t)(prev_class(r, row) + 1) * k + (size_t)r->y[row]]++;
        }
        next = rf_xmalloc((k + 1) * sizeof *next);
        for (size_t s = 0; s <= k; s++) {
            int32_t c = argmax(trans + s * k, prior, k);
            next[s] = c < 0 ? majority : c;
        }
    }
    for (size_t i = 0; i < r->n_test; i++) {
        int32_t p = prev_class(r, r->test[i]);
        switch (kind) {
        case RF_BASELINE_PREVIOUS:
            pred[i] = p >= 0 ? p : majority;
            break;
        case RF_BASELINE_MARKOV:
            pred[i] = next[p + 1];
            break;
        default:
            pred[i] = majority;
        }
    }
    free(prior);
    free(trans);
    free(next);
    return 0;
}

int rf_baseline_mean(const float *y, size_t n_targets, const uint32_t *train,
                     size_t n_train, size_t n_test, float *y_hat, rf_err *err)
{
    if (n_train == 0 || n_targets == 0)
        return rf_errf(err, RF_EINVAL, "baseline mean: no training row");
    double *sum = rf_xcalloc(n_targets, sizeof *sum);
    for (size_t i = 0; i < n_train; i++)
        for (size_t t = 0; t < n_targets; t++)
            sum[t] += y[(size_t)train[i] * n_targets + t];
    for (size_t i = 0; i < n_test; i++)
        for (size_t t = 0; t < n_targets; t++)
            y_hat[i * n_targets + t] = (float)(sum[t] / (double)n_train);
    free(sum);
    return 0;
}
