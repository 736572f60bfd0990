/* rf_plot_tune: best-so-far and Pareto-front figures of a search (see
 * rf_plot_tune.h). */
#include "ml/rf_plot_tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_json.h"
#include "ml/rf_plot.h"
#include "ml/rf_tune.h"

typedef struct pts {
    double *trial, *v1, *v2;   /* by trial number; NaN unless complete */
    size_t n;
} pts;

static int by_trial(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "trial"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "trial"));
    return x < y ? -1 : x > y;
}

static int maximised(const json_t *doc, size_t k)
{
    const char *d = json_string_value(json_array_get(json_object_get(doc, "direction"), k));
    return d && !strcmp(d, "maximize");
}

static size_t collect(const json_t *trials, pts *p)
{
    size_t n = json_array_size(trials), done = 0;
    const json_t **docs = malloc((n + 1) * sizeof *docs);
    p->trial = malloc((n + 1) * sizeof *p->trial);
    p->v1 = malloc((n + 1) * sizeof *p->v1);
    p->v2 = malloc((n + 1) * sizeof *p->v2);
    p->n = 0;
    if (!docs || !p->trial || !p->v1 || !p->v2) {
        free(docs);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        docs[i] = json_array_get(trials, i);
    qsort(docs, n, sizeof *docs, by_trial);
    for (size_t i = 0; i < n; i++) {
        const json_t *d = docs[i], *vals = json_object_get(d, "values");
        const char *st = json_string_value(json_object_get(d, "state"));
        if (st && !strcmp(st, "skipped"))
            continue;
        int ok = st && !strcmp(st, "complete");
        p->trial[p->n] = (double)json_integer_value(json_object_get(d, "trial"));
        p->v1[p->n] = ok ? rf_json_double(json_array_get(vals, 0)) : NAN;
        p->v2[p->n] = ok ? rf_json_double(json_array_get(vals, 1)) : NAN;
        done += ok && !isnan(p->v1[p->n]);
        p->n++;
    }
    free(docs);
    return done;
}

/* The front of the complete trials, sorted by objective 1, into fx/fy. */
static size_t front(const pts *p, int max1, int max2, double *fx, double *fy)
{
    size_t m = 0, k = 0;
    double *y = malloc((2 * p->n + 1) * sizeof *y);
    size_t *idx = malloc((p->n + 1) * sizeof *idx), *rank = malloc((p->n + 1) * sizeof *rank);
    double *crowd = malloc((p->n + 1) * sizeof *crowd);
    if (y && idx && rank && crowd) {
        for (size_t i = 0; i < p->n; i++)
            if (!isnan(p->v1[i]) && !isnan(p->v2[i])) {
                y[2 * m] = max1 ? -p->v1[i] : p->v1[i];
                y[2 * m + 1] = max2 ? -p->v2[i] : p->v2[i];
                idx[m++] = i;
            }
        rf_err e = {0};
        if (m && rf_nondominated_sort(y, m, 2, rank, crowd, &e) == 0)
            for (size_t i = 0; i < m; i++)
                if (rank[i] == 0) {
                    size_t j = k++;
                    while (j > 0 && fx[j - 1] > p->v1[idx[i]])
                        fx[j] = fx[j - 1], fy[j] = fy[j - 1], j--;
                    fx[j] = p->v1[idx[i]], fy[j] = p->v2[idx[i]];
                }
    }
    free(y), free(idx), free(rank), free(crowd);
    return k;
}

int rf_plot_tune_svg(rf_buf *out, const char *title, const json_t *trials, rf_err *err)
{
    pts p;
    if (collect(trials, &p) == 0) {
        free(p.trial), free(p.v1), free(p.v2);
        return rf_errf(err, RF_EINVAL, "plot: no complete trial to draw");
    }
    const json_t *d0 = json_array_get(trials, 0);
    const json_t *names = json_object_get(d0, "objective");
    const char *n1 = json_string_value(json_array_get(names, 0));
    const char *n2 = json_string_value(json_array_get(names, 1));
    int max1 = maximised(d0, 0), max2 = maximised(d0, 1);
    double *best = malloc(p.n * sizeof *best), *fx = malloc(p.n * sizeof *fx);
    double *fy = malloc(p.n * sizeof *fy);
    double b = NAN;
    for (size_t i = 0; i < p.n; i++) {
        double v = p.v1[i];
        if (!isnan(v) && (isnan(b) || (max1 ? v > b : v < b)))
            b = v;
        best[i] = b;
    }
    rf_plot_panel pan[2] = {{0}};
    pan[0] = (rf_plot_panel){.title = "best so far", .xlabel = "trial",
                             .ylabel = n1 ? n1 : "objective", .x = p.trial, .n = p.n};
    pan[0].series[0] = (rf_plot_series){.name = "best so far", .y = best};
    pan[0].series[1] = (rf_plot_series){.name = "trial", .y = p.v1, .dashed = 1};
    pan[0].n_series = 2;
    size_t np = 1;
    if (n2) {
        size_t k = front(&p, max1, max2, fx, fy);
        pan[1] = (rf_plot_panel){.title = "Pareto front", .xlabel = n1, .ylabel = n2,
                                 .x = fx, .n = k};
        pan[1].series[0] = (rf_plot_series){.name = "front", .y = fy};
        pan[1].n_series = 1;
        np = k ? 2 : 1;
    }
    rf_plot_svg(out, title, pan, np);
    free(best), free(fx), free(fy);
    free(p.trial), free(p.v1), free(p.v2);
    return 0;
}
