/* rf_eval_agg: cross-validation fan-in. See rf_eval_agg.h. */
#include "handlers/rf_eval_agg.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "base/rf_json.h"
#include "ml/rf_metrics.h"

/* The flat metrics of one fold document. */
static const json_t *fold_metrics(const json_t *doc)
{
    const json_t *m = json_object_get(doc, "metrics");
    return json_is_object(m) ? m : doc;
}

/* Metric names in order of first appearance across folds, as a JSON array
 * of strings. Only numbers count, and "fold" is the fold's index, not a
 * metric (a flat metrics.json carries it). */
static json_t *metric_names(json_t *const *docs, size_t n)
{
    json_t *names = json_array(), *seen = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)fold_metrics(docs[i]), k, v) {
            if ((json_is_number(v) || json_is_null(v)) && strcmp(k, "fold") &&
                !json_object_get(seen, k)) {
                json_object_set_new(seen, k, json_true());
                json_array_append_new(names, json_string(k));
            }
        }
    }
    json_decref(seen);
    return names;
}

static json_t *fold_row(const json_t *doc, size_t i, const json_t *names)
{
    json_t *row = json_object();
    const json_t *f = json_object_get(doc, "fold");
    if (!json_is_integer(f))
        f = json_object_get(fold_metrics(doc), "fold");
    json_object_set_new(row, "fold", json_is_integer(f) ? json_copy((json_t *)f)
                                                        : json_integer((json_int_t)i));
    size_t j;
    json_t *name;
    json_array_foreach(names, j, name) {
        const char *k = json_string_value(name);
        json_object_set_new(row, k, rf_json_num(rf_json_double(
                                        json_object_get(fold_metrics(doc), k))));
    }
    return row;
}

json_t *rf_eval_aggregate_docs(json_t *const *docs, size_t n, rf_err *err)
{
    if (n == 0) {
        rf_errf(err, RF_EINVAL, "aggregate needs at least one fold");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!json_is_object(docs[i])) {
            rf_errf(err, RF_EINVAL, "fold %zu: not a JSON object", i);
            return NULL;
        }
    json_t *names = metric_names(docs, n);
    json_t *agg = json_object(), *per_metric = json_object(), *table = json_array();
    double *v = rf_xmalloc(n * sizeof *v);
    size_t j;
    json_t *name;
    json_array_foreach(names, j, name) {
        const char *k = json_string_value(name);
        for (size_t i = 0; i < n; i++)
            v[i] = rf_json_double(json_object_get(fold_metrics(docs[i]), k));
        rf_agg a;
        rf_metrics_aggregate(v, n, 0.95, &a);
        json_t *o = json_object();
        json_object_set_new(o, "mean", rf_json_num(a.mean));
        json_object_set_new(o, "std", rf_json_num(a.std));
        json_object_set_new(o, "ci95_low", rf_json_num(a.ci_low));
        json_object_set_new(o, "ci95_high", rf_json_num(a.ci_high));
        json_object_set_new(o, "n", json_integer((json_int_t)a.n));
        json_object_set_new(per_metric, k, o);
    }
    for (size_t i = 0; i < n; i++)
        json_array_append_new(table, fold_row(docs[i], i, names));
    free(v);
    json_object_set_new(agg, "n_folds", json_integer((json_int_t)n));
    json_object_set_new(agg, "confidence", json_real(0.95));
    json_object_set_new(agg, "metrics", per_metric);
    json_object_set_new(agg, "folds", table);
    json_decref(names);
    return agg;
}

/* A readable table for the task log: one line per metric. */
static void log_table(rf_task *t, const json_t *agg)
{
    const char *k;
    json_t *o;
    rf_task_logf(t, "%-24s %12s %12s %25s %3s", "metric", "mean", "std", "95% CI", "n");
    json_object_foreach((json_t *)json_object_get(agg, "metrics"), k, o) {
        rf_task_logf(t, "%-24s %12.6g %12.6g [%11.6g, %11.6g] %3d", k,
                     rf_json_double(json_object_get(o, "mean")),
                     rf_json_double(json_object_get(o, "std")),
                     rf_json_double(json_object_get(o, "ci95_low")),
                     rf_json_double(json_object_get(o, "ci95_high")),
                     (int)json_integer_value(json_object_get(o, "n")));
    }
}

static void report_metrics(rf_task *t, const json_t *agg)
{
    static const char *const parts[] = {"std", "ci95_low", "ci95_high"};
    const char *k;
    json_t *o;
    json_object_foreach((json_t *)json_object_get(agg, "metrics"), k, o) {
        rf_task_metric(t, k, rf_json_double(json_object_get(o, "mean")));
        for (size_t i = 0; i < 3; i++) {
            char name[256];
            snprintf(name, sizeof name, "%s_%s", k, parts[i]);
            rf_task_metric(t, name, rf_json_double(json_object_get(o, parts[i])));
        }
    }
    rf_task_metric(t, "n_folds", (double)json_integer_value(json_object_get(agg, "n_folds")));
}

int rf_eval_aggregate(rf_task *t, rf_err *err)
{
    size_t n = rf_task_input_count(t, "folds");
    if (n == 0)
        return rf_errf(err, RF_EINVAL,
                       "aggregate needs the input `folds` (the fold.json of every fold)");
    json_t **docs = rf_xcalloc(n, sizeof *docs);
    int rc = -1;
    json_t *agg = NULL;
    for (size_t i = 0; i < n; i++)
        if (rf_json_load(rf_task_input(t, "folds", i), &docs[i], err) < 0) {
            rf_err_prefix(err, "folds[%zu]", i);
            goto out;
        }
    agg = rf_eval_aggregate_docs(docs, n, err);
    if (!agg)
        goto out;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/aggregate.json", rf_task_outdir(t));
    if (rf_json_write(path, agg, 1, err) < 0 ||
        rf_task_output(t, "aggregate", path, err) < 0)
        goto out;
    report_metrics(t, agg);
    log_table(t, agg);
    rc = 0;
out:
    json_decref(agg);
    for (size_t i = 0; i < n; i++)
        json_decref(docs[i]);
    free(docs);
    return rc;
}
