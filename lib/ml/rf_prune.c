/* rf_prune: median stopping and ASHA decisions (see rf_prune.h). */
#include "ml/rf_prune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int rf_pruner_parse(const char *name, int *pruner, rf_err *err)
{
    if (!strcmp(name, "none"))
        *pruner = RF_PRUNER_NONE;
    else if (!strcmp(name, "median"))
        *pruner = RF_PRUNER_MEDIAN;
    else if (!strcmp(name, "asha"))
        *pruner = RF_PRUNER_ASHA;
    else
        return rf_errf(err, RF_EINVAL, "unknown pruner '%s' (want none, median "
                       "or asha)", name);
    return 0;
}

void rf_prune_cfg_default(rf_prune_cfg *c, int pruner)
{
    memset(c, 0, sizeof *c);
    c->pruner = pruner;
    c->startup = 5;
    c->min_resource = 1;
    c->eta = 3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double value_at(const rf_curve *c, size_t step)
{
    return step < c->n ? c->v[step] : NAN;
}

/* Values the others reported at `step`, sorted, into buf; their count. */
static size_t values_at(const rf_curve *others, size_t n_others, size_t step,
                        double *buf)
{
    size_t k = 0;
    for (size_t i = 0; i < n_others; i++) {
        double v = value_at(&others[i], step);
        if (!isnan(v))
            buf[k++] = v;
    }
    qsort(buf, k, sizeof *buf, cmp_double);
    return k;
}

static int median_stop(const rf_prune_cfg *c, const rf_curve *self,
                       const rf_curve *others, size_t n_others, double *buf)
{
    size_t step = self->n - 1;
    if (step < c->warmup)
        return 0;
    double best = INFINITY;
    for (size_t i = 0; i < self->n; i++)
        if (!isnan(self->v[i]) && self->v[i] < best)
            best = self->v[i];
    size_t k = values_at(others, n_others, step, buf);
    if (k == 0 || k < c->startup || !isfinite(best))
        return 0;
    double med = k % 2 ? buf[k / 2] : 0.5 * (buf[k / 2 - 1] + buf[k / 2]);
    return best > med;
}

static int asha_stop(const rf_prune_cfg *c, const rf_curve *self,
                     const rf_curve *others, size_t n_others, double *buf)
{
    size_t step = self->n;   /* resource used so far, in steps */
    size_t rung = c->min_resource;
    while (rung < step)
        rung *= c->eta;
    if (rung != step)
        return 0;            /* not at a rung: carry on */
    double v = self->v[step - 1];
    if (isnan(v))
        return 0;
    size_t k = values_at(others, n_others, step - 1, buf);
    buf[k++] = v;
    qsort(buf, k, sizeof *buf, cmp_double);
    size_t top = k / c->eta;
    if (top == 0)
        return 0;
    return v > buf[top - 1];
}

int rf_prune_check(const rf_prune_cfg *c, const rf_curve *self,
                   const rf_curve *others, size_t n_others, int *stop,
                   rf_err *err)
{
    *stop = 0;
    if (c->pruner == RF_PRUNER_NONE || self->n == 0)
        return 0;
    if (c->pruner == RF_PRUNER_ASHA && (c->eta < 2 || c->min_resource < 1))
        return rf_errf(err, RF_EINVAL, "asha: eta must be >= 2 and min_resource "
                       ">= 1");
    double *buf = malloc((n_others + 1) * sizeof *buf);
    if (!buf)
        return rf_errf(err, RF_ENOMEM, "prune: out of memory");
    *stop = c->pruner == RF_PRUNER_MEDIAN
                ? median_stop(c, self, others, n_others, buf)
                : asha_stop(c, self, others, n_others, buf);
    free(buf);
    return 0;
}
