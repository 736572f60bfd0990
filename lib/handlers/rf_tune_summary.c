/* rf_tune_summary: the fan-in of a search (tune-trial with summary: true,
 * input `trials` = every trial.json of the search step). Writes
 *   trials.jsonl  (output `trials`) one row per trial, by trial number:
 *                 trial, params, values, curve, metrics, state, seconds,
 *                 error;
 *   best.json     (output `best`, one objective)
 *                 {"value": v, "params": {...}, "trial": N, "baseline": b,
 *                 "beats_baseline": true|false} (the baseline when the best
 *                 trial reported metric baseline_<objective>);
 *   pareto.json   (output `pareto`, several objectives) the non-dominated
 *                 complete trials as [{"values": [...], "params", "trial"}].
 * With input `checkpoints` (the search's `checkpoint` outputs, any order),
 * the best trial's checkpoint, found by the SHA-256 its trial.json
 * records, becomes output `checkpoint` for later steps.
 * Metrics: best, baseline, beats_baseline (one objective), complete, failed,
 * pruned, pareto_size. A search in
 * which no trial reported its objective fails here, naming it. */
#include "handlers/rf_tune_trial.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_hash.h"
#include "base/rf_json.h"
#include "ml/rf_tune.h"

static int by_trial(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "trial"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "trial"));
    return x < y ? -1 : x > y;
}

static int load_trials(rf_task *t, json_t ***docs, size_t *n, rf_err *err)
{
    *n = rf_task_input_count(t, "trials");
    *docs = calloc(*n + 1, sizeof **docs);
    if (!*docs)
        return rf_errf(err, RF_ENOMEM, "summary: out of memory");
    for (size_t i = 0; i < *n; i++)
        if (rf_json_load(rf_task_input(t, "trials", i), &(*docs)[i], err) < 0)
            return rf_err_prefix(err, "input trials[%zu]", i);
    qsort(*docs, *n, sizeof **docs, by_trial);
    return 0;
}

static int write_rows(rf_task *t, json_t **docs, size_t n, rf_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/trials.jsonl", rf_task_outdir(t));
    FILE *f = fopen(path, "w");
    if (!f)
        return rf_err_errno(err, "open %s", path);
    static const char *const keep[] = {"trial", "params", "values", "curve", "metrics",
                                       "objective", "direction",
                                       "state", "seconds", "error", NULL};
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(json_string_value(json_object_get(docs[i], "state")) ?: "", "skipped"))
            continue;
        json_t *row = json_object();
        for (size_t k = 0; keep[k]; k++)
            if (json_object_get(docs[i], keep[k]))
                json_object_set(row, keep[k], json_object_get(docs[i], keep[k]));
        char *line = json_dumps(row, JSON_COMPACT | JSON_REAL_PRECISION(12));
        fprintf(f, "%s\n", line);
        free(line);
        json_decref(row);
    }
    if (fclose(f) != 0)
        return rf_err_errno(err, "write %s", path);
    return rf_task_output(t, "trials", path, err);
}

static int complete(const json_t *d)
{
    return !strcmp(json_string_value(json_object_get(d, "state")) ?: "", "complete");
}

/* Values of the complete trials, signs flipped so that all are minimised. */
static size_t minimised(json_t **docs, size_t n, size_t m, const json_t *dir,
                        double *y, size_t *idx)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!complete(docs[i]))
            continue;
        for (size_t j = 0; j < m; j++) {
            double v = rf_json_double(json_array_get(json_object_get(docs[i], "values"), j));
            const char *d = json_string_value(json_array_get(dir, j));
            y[k * m + j] = d && !strcmp(d, "maximize") ? -v : v;
        }
        idx[k++] = i;
    }
    return k;
}

static json_t *entry(const json_t *d, const char *vkey, json_t *v)
{
    json_t *e = json_object();
    json_object_set_new(e, vkey, v);
    json_object_set(e, "params", json_object_get(d, "params"));
    json_object_set(e, "trial", json_object_get(d, "trial"));
    return e;
}

/* The input among `checkpoints` whose SHA-256 the best trial recorded. */
static int best_checkpoint(rf_task *t, const json_t *best, rf_err *err)
{
    size_t n = rf_task_input_count(t, "checkpoints");
    const char *want = json_string_value(json_object_get(best, "checkpoint_sha256"));
    if (n == 0)
        return 0;
    if (!want)
        return rf_errf(err, RF_EINVAL, "summary: best trial %lld recorded no checkpoint",
                       (long long)json_integer_value(json_object_get(best, "trial")));
    for (size_t i = 0; i < n; i++) {
        char hex[RF_SHA256_HEX];
        const char *path = rf_task_input(t, "checkpoints", i);
        if (rf_sha256_file(path, hex) < 0)
            return rf_err_errno(err, "checkpoints[%zu] %s", i, path);
        if (!strcmp(hex, want))
            return rf_task_output(t, "checkpoint", path, err);
    }
    return rf_errf(err, RF_ENOTFOUND, "summary: best trial %lld's checkpoint is not "
                   "among the %zu inputs `checkpoints`",
                   (long long)json_integer_value(json_object_get(best, "trial")), n);
}

/* The best value beside the trivial baseline its trial measured on the same
 * validation rows (metric baseline_<objective>: train-stage reports
 * baseline_val_loss and baseline_val_accuracy; an exec program may report
 * its own), into e, the metrics and the log line a user reads. */
static void add_baseline(rf_task *t, const json_t *d, double v, json_t *e)
{
    const char *obj = json_string_value(json_array_get(json_object_get(d, "objective"), 0));
    const char *dir = json_string_value(json_array_get(json_object_get(d, "direction"), 0));
    long long trial = (long long)json_integer_value(json_object_get(d, "trial"));
    char key[300];
    snprintf(key, sizeof key, "baseline_%.200s", obj ? obj : "");
    const json_t *b = json_object_get(json_object_get(d, "metrics"), key);
    if (!json_is_number(b) || !isfinite(json_number_value(b))) {
        rf_task_logf(t, "best %s %.6g (trial %lld); its trial reported no %s to "
                     "compare with", obj, v, trial, key);
        return;
    }
    double bv = json_number_value(b);
    int max = dir && !strcmp(dir, "maximize"), beats = max ? v > bv : v < bv;
    json_object_set_new(e, "baseline", json_real(bv));
    json_object_set_new(e, "beats_baseline", json_boolean(beats));
    rf_task_metric(t, "baseline", bv);
    rf_task_metric(t, "beats_baseline", beats);
    rf_task_logf(t, "best %s %.6g (trial %lld) %s the trivial baseline %.6g on the "
                 "same validation rows%s", obj, v, trial, beats ? "beats" : "does NOT beat",
                 bv, beats ? "" : ": no trial did better than a constant prediction");
}

static int write_front(rf_task *t, json_t **docs, size_t m, const double *y,
                       const size_t *idx, size_t k, rf_err *err)
{
    char path[4096];
    int rc = 0;
    if (m == 1) {
        size_t b = 0;
        for (size_t i = 1; i < k; i++)
            if (y[i] < y[b])
                b = i;
        const json_t *d = docs[idx[b]];
        double v = rf_json_double(json_array_get(json_object_get(d, "values"), 0));
        json_t *e = entry(d, "value", json_real(v));
        add_baseline(t, d, v, e);
        snprintf(path, sizeof path, "%s/best.json", rf_task_outdir(t));
        rc = rf_json_write(path, e, 1, err);
        json_decref(e);
        rf_task_metric(t, "best", v);
        if (rc == 0)
            rc = rf_task_output(t, "best", path, err);
        return rc < 0 ? -1 : best_checkpoint(t, d, err);
    }
    size_t *rank = malloc(k * sizeof *rank);
    double *crowd = malloc(k * sizeof *crowd);
    json_t *front = json_array();
    if (!rank || !crowd || rf_nondominated_sort(y, k, m, rank, crowd, err) < 0)
        rc = rank && crowd ? -1 : rf_errf(err, RF_ENOMEM, "summary: out of memory");
    for (size_t i = 0; rc == 0 && i < k; i++)
        if (rank[i] == 0)
            json_array_append_new(front, entry(docs[idx[i]], "values",
                                  json_incref(json_object_get(docs[idx[i]], "values"))));
    rf_task_metric(t, "pareto_size", (double)json_array_size(front));
    snprintf(path, sizeof path, "%s/pareto.json", rf_task_outdir(t));
    if (rc == 0)
        rc = rf_json_write(path, front, 1, err);
    if (rc == 0)
        rc = rf_task_output(t, "pareto", path, err);
    json_decref(front);
    free(rank), free(crowd);
    return rc;
}

int rf_tune_summary(rf_task *t, rf_err *err)
{
    json_t **docs = NULL;
    size_t n = 0;
    int rc = load_trials(t, &docs, &n, err);
    if (rc == 0 && n == 0)
        rc = rf_errf(err, RF_EINVAL, "summary: no trials (input `trials`)");
    if (rc == 0)
        rc = write_rows(t, docs, n, err);
    const json_t *obj = n ? json_object_get(docs[0], "objective") : NULL;
    const json_t *dir = n ? json_object_get(docs[0], "direction") : NULL;
    size_t m = json_array_size(obj), nc = 0, nf = 0;
    double *y = malloc((n * (m ? m : 1) + 1) * sizeof *y);
    size_t *idx = malloc((n + 1) * sizeof *idx);
    if (rc == 0 && (!y || !idx))
        rc = rf_errf(err, RF_ENOMEM, "summary: out of memory");
    if (rc == 0 && m == 0)
        rc = rf_errf(err, RF_ECORRUPT, "summary: trials name no objective");
    if (rc == 0) {
        nc = minimised(docs, n, m, dir, y, idx);
        for (size_t i = 0; i < n; i++)
            nf += !strcmp(json_string_value(json_object_get(docs[i], "state")) ?: "",
                          "failed");
        rf_task_metric(t, "complete", (double)nc);
        rf_task_metric(t, "failed", (double)nf);
        size_t np = 0;
        for (size_t i = 0; i < n; i++)
            np += !strcmp(json_string_value(json_object_get(docs[i], "state")) ?: "",
                          "pruned");
        rf_task_metric(t, "pruned", (double)np);
        if (nc == 0)
            rc = rf_errf(err, RF_EINVAL, "summary: no trial reported the objective "
                         "'%s' (%zu failed; see trials.jsonl)",
                         json_string_value(json_array_get(obj, 0)), nf);
    }
    if (rc == 0)
        rc = write_front(t, docs, m, y, idx, nc, err);
    for (size_t i = 0; docs && i < n; i++)
        json_decref(docs[i]);
    free(docs), free(y), free(idx);
    return rc;
}
