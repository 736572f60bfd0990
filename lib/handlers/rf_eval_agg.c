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

static json_t *agg_json(const rf_agg *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "mean", rf_json_num(a->mean));
    json_object_set_new(o, "std", rf_json_num(a->std));
    json_object_set_new(o, "ci95_low", rf_json_num(a->ci_low));
    json_object_set_new(o, "ci95_high", rf_json_num(a->ci_high));
    json_object_set_new(o, "n", json_integer((json_int_t)a->n));
    return o;
}

/* Metric k of every fold into v (NaN where a fold lacks it). */
static void fold_values(json_t *const *docs, size_t n, const char *k, double *v)
{
    for (size_t i = 0; i < n; i++)
        v[i] = rf_json_double(json_object_get(fold_metrics(docs[i]), k));
}

/* What a baseline is, as the folds described it ("same as the previous one"). */
static const char *baseline_description(json_t *const *docs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const json_t *b = json_object_get(json_object_get(docs[i], "baselines"), name);
        const char *d = json_string_value(json_object_get(b, "description"));
        if (d)
            return d;
    }
    return name;
}

/* The model against the best of its baselines: the one whose mean over
 * the folds is best, and the paired per-fold difference (model minus
 * baseline accuracy; for regression baseline minus model RMSE) with its
 * 95% interval. The model beats it when the interval's low end is above
 * 0. NULL when the folds carry no baseline. */
static json_t *versus_baseline(json_t *const *docs, size_t n, const json_t *names)
{
    const char *metric = NULL;
    size_t j;
    json_t *name;
    json_array_foreach(names, j, name)
        if (!strcmp(json_string_value(name), "accuracy") ||
            (!metric && !strcmp(json_string_value(name), "rmse")))
            metric = json_string_value(name);
    if (!metric)
        return NULL;
    int higher = !strcmp(metric, "accuracy");
    char suffix[32];
    snprintf(suffix, sizeof suffix, "_%s", metric);
    double *v = rf_xmalloc(n * sizeof *v), *mv = rf_xmalloc(n * sizeof *mv);
    json_t *all = json_object();
    const char *best = NULL;
    rf_agg best_a = {0}, a;
    json_array_foreach(names, j, name) {
        const char *k = json_string_value(name);
        size_t kl = strlen(k), sl = strlen(suffix);
        if (strncmp(k, "baseline_", 9) || kl <= 9 + sl || strcmp(k + kl - sl, suffix))
            continue;
        fold_values(docs, n, k, v);
        rf_metrics_aggregate(v, n, 0.95, &a);
        json_object_set_new(all, k, rf_json_num(a.mean));
        if (a.n && (!best || (higher ? a.mean > best_a.mean : a.mean < best_a.mean)))
            best = k, best_a = a;
    }
    json_t *o = NULL;
    if (best) {
        fold_values(docs, n, metric, mv);
        fold_values(docs, n, best, v);
        for (size_t i = 0; i < n; i++)
            v[i] = higher ? mv[i] - v[i] : v[i] - mv[i];
        rf_agg model, lift;
        rf_metrics_aggregate(mv, n, 0.95, &model);
        rf_metrics_aggregate(v, n, 0.95, &lift);
        char bname[128];
        snprintf(bname, sizeof bname, "%.*s", (int)(strlen(best) - 9 - strlen(suffix)),
                 best + 9);
        const char *verdict = lift.ci_low > 0 ? "beats"
                              : lift.ci_high < 0 ? "is worse than" : "does not beat";
        o = json_object();
        json_object_set_new(o, "metric", json_string(metric));
        json_object_set_new(o, "model", rf_json_num(model.mean));
        json_object_set_new(o, "baseline", json_string(bname));
        json_object_set_new(o, "description",
                            json_string(baseline_description(docs, n, bname)));
        json_object_set_new(o, "baseline_mean", rf_json_num(best_a.mean));
        json_object_set_new(o, "lift", agg_json(&lift));
        json_object_set_new(o, "beats_baseline", json_boolean(lift.ci_low > 0));
        json_object_set_new(o, "verdict", json_string(verdict));
        json_object_set_new(o, "baselines", all);
        all = NULL;
    }
    json_decref(all);
    free(v);
    free(mv);
    return o;
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
        fold_values(docs, n, k, v);
        rf_agg a;
        rf_metrics_aggregate(v, n, 0.95, &a);
        json_object_set_new(per_metric, k, agg_json(&a));
    }
    for (size_t i = 0; i < n; i++)
        json_array_append_new(table, fold_row(docs[i], i, names));
    free(v);
    json_object_set_new(agg, "n_folds", json_integer((json_int_t)n));
    json_object_set_new(agg, "confidence", json_real(0.95));
    json_object_set_new(agg, "metrics", per_metric);
    json_object_set_new(agg, "folds", table);
    json_t *vs = versus_baseline(docs, n, names);
    if (vs)
        json_object_set_new(agg, "vs_baseline", vs);
    json_decref(names);
    return agg;
}

/* The headline metric of fold documents: accuracy, else RMSE. */
static const char *headline(json_t *const *docs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (json_object_get(fold_metrics(docs[i]), "accuracy"))
            return "accuracy";
    return "rmse";
}

json_t *rf_eval_versus_docs(json_t *const *docs, json_t *const *other, size_t n, rf_err *err)
{
    const char *metric = headline(docs, n);
    int higher = !strcmp(metric, "accuracy");
    double *a = rf_xmalloc(n * sizeof *a), *b = rf_xmalloc(n * sizeof *b);
    fold_values(docs, n, metric, a);
    fold_values(other, n, metric, b);
    for (size_t i = 0; i < n; i++) {
        const json_t *fa = json_object_get(docs[i], "fold"), *fb = json_object_get(other[i], "fold");
        if (fa && fb && !json_equal((json_t *)fa, (json_t *)fb)) {
            free(a);
            free(b);
            rf_errf(err, RF_EINVAL, "versus[%zu] is fold %lld, folds[%zu] is fold %lld: the "
                    "comparison must pair the same folds", i,
                    (long long)json_integer_value(fb), i, (long long)json_integer_value(fa));
            return NULL;
        }
    }
    rf_agg ma, mb, diff;
    rf_metrics_aggregate(a, n, 0.95, &ma);
    rf_metrics_aggregate(b, n, 0.95, &mb);
    for (size_t i = 0; i < n; i++)
        a[i] = higher ? a[i] - b[i] : b[i] - a[i];
    rf_metrics_aggregate(a, n, 0.95, &diff);
    json_t *o = json_object();
    json_object_set_new(o, "metric", json_string(metric));
    const char *mine = json_string_value(json_object_get(docs[0], "training"));
    const char *theirs = json_string_value(json_object_get(other[0], "training"));
    json_object_set_new(o, "training", json_string(mine ? mine : "?"));
    json_object_set_new(o, "versus_training", json_string(theirs ? theirs : "?"));
    json_object_set_new(o, "mean", agg_json(&ma));
    json_object_set_new(o, "versus_mean", agg_json(&mb));
    json_object_set_new(o, "gain", agg_json(&diff));
    json_object_set_new(o, "verdict", json_string(diff.ci_low > 0 ? "better"
                                                  : diff.ci_high < 0 ? "worse"
                                                  : "no significant difference"));
    free(a);
    free(b);
    return o;
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
    const json_t *vs = json_object_get(agg, "vs_baseline");
    if (!vs)
        return;
    const json_t *lift = json_object_get(vs, "lift");
    rf_task_metric(t, "best_baseline", rf_json_double(json_object_get(vs, "baseline_mean")));
    rf_task_metric(t, "lift", rf_json_double(json_object_get(lift, "mean")));
    rf_task_metric(t, "lift_ci95_low", rf_json_double(json_object_get(lift, "ci95_low")));
    rf_task_metric(t, "lift_ci95_high", rf_json_double(json_object_get(lift, "ci95_high")));
    rf_task_metric(t, "beats_baseline", json_is_true(json_object_get(vs, "beats_baseline")));
}

static void report_versus(rf_task *t, const json_t *v)
{
    const json_t *g = json_object_get(v, "gain");
    static const char *const parts[] = {"mean", "ci95_low", "ci95_high"};
    static const char *const names[] = {"versus_gain", "versus_gain_ci95_low",
                                        "versus_gain_ci95_high"};
    for (int i = 0; i < 3; i++)
        rf_task_metric(t, names[i], rf_json_double(json_object_get(g, parts[i])));
    rf_task_logf(t, "%s %s %.3f vs %s %.3f: %+.3f [%.3f, %.3f], %s",
                 json_string_value(json_object_get(v, "training")),
                 json_string_value(json_object_get(v, "metric")),
                 rf_json_double(json_object_get(json_object_get(v, "mean"), "mean")),
                 json_string_value(json_object_get(v, "versus_training")),
                 rf_json_double(json_object_get(json_object_get(v, "versus_mean"), "mean")),
                 rf_json_double(json_object_get(g, "mean")),
                 rf_json_double(json_object_get(g, "ci95_low")),
                 rf_json_double(json_object_get(g, "ci95_high")),
                 json_string_value(json_object_get(v, "verdict")));
}

/* Loads the n documents of input `name` into docs. */
static int load_docs(rf_task *t, const char *name, json_t **docs, size_t n, rf_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (rf_json_load(rf_task_input(t, name, i), &docs[i], err) < 0)
            return rf_err_prefix(err, "%s[%zu]", name, i);
    return 0;
}

/* One line a user reads: the model against its best baseline. */
static void log_verdict(rf_task *t, const json_t *agg)
{
    const json_t *vs = json_object_get(agg, "vs_baseline");
    if (!vs)
        return;
    const json_t *lift = json_object_get(vs, "lift");
    rf_task_logf(t, "model %s %.3f %s the best baseline (%s) %.3f: lift %+.3f [%.3f, %.3f]",
                 json_string_value(json_object_get(vs, "metric")),
                 rf_json_double(json_object_get(vs, "model")),
                 json_string_value(json_object_get(vs, "verdict")),
                 json_string_value(json_object_get(vs, "description")),
                 rf_json_double(json_object_get(vs, "baseline_mean")),
                 rf_json_double(json_object_get(lift, "mean")),
                 rf_json_double(json_object_get(lift, "ci95_low")),
                 rf_json_double(json_object_get(lift, "ci95_high")));
}

int rf_eval_aggregate(rf_task *t, rf_err *err)
{
    size_t n = rf_task_input_count(t, "folds");
    if (n == 0)
        return rf_errf(err, RF_EINVAL,
                       "aggregate needs the input `folds` (the fold.json of every fold)");
    size_t nv = rf_task_input_count(t, "versus");
    if (nv && nv != n)
        return rf_errf(err, RF_EINVAL, "input `versus` has %zu folds, `folds` %zu: the "
                       "comparison pairs the same folds", nv, n);
    json_t **docs = rf_xcalloc(n, sizeof *docs), **other = rf_xcalloc(n, sizeof *other);
    int rc = -1;
    json_t *agg = NULL;
    if (load_docs(t, "folds", docs, n, err) < 0 || load_docs(t, "versus", other, nv, err) < 0)
        goto out;
    agg = rf_eval_aggregate_docs(docs, n, err);
    if (!agg)
        goto out;
    if (nv) {
        json_t *v = rf_eval_versus_docs(docs, other, n, err);
        if (!v)
            goto out;
        json_object_set_new(agg, "versus", v);
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/aggregate.json", rf_task_outdir(t));
    if (rf_json_write(path, agg, 1, err) < 0 ||
        rf_task_output(t, "aggregate", path, err) < 0)
        goto out;
    report_metrics(t, agg);
    log_table(t, agg);
    log_verdict(t, agg);
    if (nv)
        report_versus(t, json_object_get(agg, "versus"));
    rc = 0;
out:
    json_decref(agg);
    for (size_t i = 0; i < n; i++) {
        json_decref(docs[i]);
        json_decref(other[i]);
    }
    free(docs);
    free(other);
    return rc;
}
