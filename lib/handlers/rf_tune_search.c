/* rf_tune_search: one trial of a hyperparameter search (a tune-trial task
 * whose `with` has a `space`). The trial is also the tuner: it rebuilds
 * the search from the trial.json of every finished trial (its inputs
 * history_trial, which the engine's dynamic steps hand to spawned tasks),
 * proposes its own point with rf_tune_propose (a pure function of that
 * history, the seed and its index, so a re-delivered or resumed task
 * proposes the same point and nothing twice), runs the objective (exec or
 * train-stage's code), records the outcome in trial.json and asks the
 * engine for one more trial (metric spawn = 1; the step's `spawn: N` caps
 * the budget). A failing objective is a failed trial, not a failed task:
 * the search goes on. */
#include "handlers/rf_tune_trial.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_hash.h"
#include "base/rf_json.h"
#include "base/rf_time.h"
#include "base/rf_version.h"
#include "engine/rf_task_impl.h"
#include "handlers/rf_train_stage.h"
#include "ml/rf_prune.h"
#include "ml/rf_space.h"
#include "ml/rf_tune.h"

#define MAX_OBJ 8

static const char *const tune_keys[] = {
    "space", "sampler", "seed", "trial", "objective", "direction", "exec",
    "timeout", "grid_points", "population", "startup", "pruner", "prune_startup",
    "prune_warmup", "min_resource", "eta", NULL};

typedef struct search {
    rf_space space;
    rf_tune_cfg cfg;
    char names[MAX_OBJ][128];
    int maximize[MAX_OBJ];
    size_t n_obj;
    long trial;
    rf_prune_cfg prune;
} search;

/* Comma-separated list into out; returns the count (at most max). */
static size_t split_list(const char *s, char out[][128], size_t max)
{
    size_t n = 0;
    while (s && *s && n < max) {
        size_t k = strcspn(s, ",");
        snprintf(out[n++], 128, "%.*s", (int)(k < 127 ? k : 127), s);
        s += k + (s[k] == ',');
    }
    return n;
}

static int parse_objective(rf_task *t, search *x, rf_err *err)
{
    const char *def = rf_task_param(t, "exec") ? "value" : "val_loss";
    x->n_obj = split_list(rf_task_param_or(t, "objective", def), x->names, MAX_OBJ);
    if (x->n_obj == 0)
        return rf_errf(err, RF_EINVAL, "with.objective: empty");
    char dirs[MAX_OBJ][128];
    size_t nd = split_list(rf_task_param_or(t, "direction", "minimize"), dirs, MAX_OBJ);
    for (size_t i = 0; i < x->n_obj; i++) {
        const char *d = dirs[nd == 1 ? 0 : i < nd ? i : 0];
        if (nd != 1 && nd != x->n_obj)
            return rf_errf(err, RF_EINVAL, "with.direction: %zu directions for %zu "
                           "objectives", nd, x->n_obj);
        if (strcmp(d, "minimize") && strcmp(d, "maximize"))
            return rf_errf(err, RF_EINVAL, "with.direction: '%s' (want minimize or "
                           "maximize)", d);
        x->maximize[i] = !strcmp(d, "maximize");
    }
    return 0;
}

static int parse_search(rf_task *t, search *x, rf_err *err)
{
    json_error_t je;
    long seed, gp, pop, start;
    memset(x, 0, sizeof *x);
    const char *text = rf_task_param(t, "space");
    if (!strcmp(text, "default"))
        text = rf_space_train_default;
    json_t *sp = json_loads(text, 0, &je);
    if (!sp)
        return rf_errf(err, RF_EINVAL, "with.space: not JSON (%s)", je.text);
    int rc = rf_space_parse(sp, &x->space, err);
    json_decref(sp);
    if (rc < 0)
        return rf_err_prefix(err, "with.space");
    if (parse_objective(t, x, err) < 0 ||
        rf_task_param_long(t, "trial", -1, &x->trial, err) < 0 ||
        rf_task_param_long(t, "seed", 0, &seed, err) < 0 ||
        rf_task_param_long(t, "grid_points", 0, &gp, err) < 0 ||
        rf_task_param_long(t, "population", 0, &pop, err) < 0 ||
        rf_task_param_long(t, "startup", 0, &start, err) < 0)
        return -1;
    if (x->trial < 0)
        return rf_errf(err, RF_EINVAL, "with.trial: required (\"${{ index }}\")");
    const char *smp = rf_task_param_or(t, "sampler", x->n_obj > 1 ? "nsga2" : "tpe");
    if (rf_sampler_parse(smp, &x->cfg.sampler, err) < 0)
        return rf_err_prefix(err, "with.sampler");
    if (x->n_obj > 1 && (x->cfg.sampler == RF_SAMPLER_GP ||
                         x->cfg.sampler == RF_SAMPLER_TPE))
        return rf_errf(err, RF_EINVAL, "with.sampler: %s optimises one objective; "
                       "use nsga2 for %zu", smp, x->n_obj);
    int pruner;
    long ps, pw, mr, eta;
    if (rf_pruner_parse(rf_task_param_or(t, "pruner", "none"), &pruner, err) < 0)
        return rf_err_prefix(err, "with.pruner");
    rf_prune_cfg_default(&x->prune, pruner);
    if (rf_task_param_long(t, "prune_startup", (long)x->prune.startup, &ps, err) < 0 ||
        rf_task_param_long(t, "prune_warmup", 0, &pw, err) < 0 ||
        rf_task_param_long(t, "min_resource", 1, &mr, err) < 0 ||
        rf_task_param_long(t, "eta", 3, &eta, err) < 0)
        return -1;
    if (ps < 0 || pw < 0 || mr < 1 || eta < 2)
        return rf_errf(err, RF_EINVAL, "with: prune_startup, prune_warmup >= 0, "
                       "min_resource >= 1, eta >= 2");
    x->prune.startup = (size_t)ps, x->prune.warmup = (size_t)pw;
    x->prune.min_resource = (size_t)mr, x->prune.eta = (size_t)eta;
    x->cfg.seed = (uint64_t)seed;
    x->cfg.n_obj = x->n_obj;
    x->cfg.grid_points = gp > 0 ? (size_t)gp : 0;
    x->cfg.population = pop > 0 ? (size_t)pop : 0;
    x->cfg.n_startup = start > 0 ? (size_t)start : 0;
    return 0;
}

/* Running trials a GP proposal conditions on (rf_tune_propose_pending):
 * the most recent ones, which are the ones in flight beside this trial. */
#define MAX_PENDING 32

typedef struct history {
    double *u, *y;
    rf_trial *tr;
    size_t n;
    long *numbers;      /* trial number of every history document */
    size_t n_numbers;
    rf_curve *curves;   /* intermediate values of the first objective, minimised */
    size_t n_curves;
} history;

/* The trial's "curve" (first objective per intermediate report). */
static void load_curve(const search *x, const json_t *doc, history *h)
{
    const json_t *c = json_object_get(doc, "curve");
    size_t n = json_array_size(c);
    double *v = n ? malloc(n * sizeof *v) : NULL;
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        double d = rf_json_double(json_array_get(c, i));
        v[i] = x->maximize[0] ? -d : d;
    }
    h->curves[h->n_curves++] = (rf_curve){v, n};
}

static int state_of(const char *s)
{
    return !s ? RF_TRIAL_FAILED : !strcmp(s, "complete") ? RF_TRIAL_COMPLETE
         : !strcmp(s, "pruned") ? RF_TRIAL_PRUNED : RF_TRIAL_FAILED;
}

/* The finished trials, in the order the engine lists them. A trial whose
 * values no longer fit the space (an edited workflow) is left out. */
static int load_history(rf_task *t, const search *x, history *h, rf_err *err)
{
    size_t n = rf_task_input_count(t, "history_trial"), d = x->space.n;
    h->u = calloc(n * d + 1, sizeof *h->u);
    h->y = calloc(n * x->n_obj + 1, sizeof *h->y);
    h->tr = calloc(n + 1, sizeof *h->tr);
    h->curves = calloc(n + 1, sizeof *h->curves);
    h->numbers = calloc(n + 1, sizeof *h->numbers);
    h->n = 0;
    if (!h->u || !h->y || !h->tr || !h->curves || !h->numbers)
        return rf_errf(err, RF_ENOMEM, "tune: out of memory for %zu trials", n);
    for (size_t i = 0; i < n; i++) {
        json_t *doc;
        if (rf_json_load(rf_task_input(t, "history_trial", i), &doc, err) < 0)
            return rf_err_prefix(err, "history trial %zu", i);
        double *u = h->u + h->n * d, *y = h->y + h->n * x->n_obj;
        const json_t *no = json_object_get(doc, "trial");
        if (json_is_integer(no))
            h->numbers[h->n_numbers++] = (long)json_integer_value(no);
        load_curve(x, doc, h);
        rf_err skip = {0};
        if (rf_space_encode(&x->space, json_object_get(doc, "params"), u, &skip) == 0) {
            const json_t *vals = json_object_get(doc, "values");
            for (size_t k = 0; k < x->n_obj; k++) {
                double v = rf_json_double(json_array_get(vals, k));
                y[k] = x->maximize[k] ? -v : v;
            }
            int st = state_of(json_string_value(json_object_get(doc, "state")));
            h->tr[h->n++] = (rf_trial){u, y, st};
        }
        json_decref(doc);
    }
    return 0;
}

static void history_free(history *h)
{
    for (size_t i = 0; i < h->n_curves; i++)
        free((double *)h->curves[i].v);
    free(h->u), free(h->y), free(h->tr), free(h->curves), free(h->numbers);
}

/* The trials numbered below this one that are not finished: they are
 * running beside it (at most MAX_PENDING, the latest). Returns the count. */
static size_t running_trials(const history *h, long trial, uint64_t *out)
{
    size_t n = 0;
    for (long t = trial - 1; t >= 0 && n < MAX_PENDING; t--) {
        size_t i = 0;
        while (i < h->n_numbers && h->numbers[i] != t)
            i++;
        if (i == h->n_numbers)
            out[n++] = (uint64_t)t;
    }
    for (size_t i = 0; i < n / 2; i++) {   /* oldest first, as they were proposed */
        uint64_t v = out[i];
        out[i] = out[n - 1 - i], out[n - 1 - i] = v;
    }
    return n;
}

/* The running trial's own curve and the pruner's verdict on it. */
typedef struct pruning {
    rf_task *t;
    const search *x;
    const history *h;
    double *v;         /* minimised */
    json_t *curve;     /* as reported */
    size_t n, cap;
    int pruned;
    volatile sig_atomic_t stop;   /* train mode: the child task's stop flag */
    char ckpt_sha[RF_SHA256_HEX]; /* train mode: the checkpoint's SHA-256 */
} pruning;

/* One intermediate value: record it, ask the pruner. 1: stop the trial. */
static int report(pruning *p, double value)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        double *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return 0;
        p->v = v, p->cap = cap;
    }
    json_array_append_new(p->curve, json_real(value));
    p->v[p->n++] = p->x->maximize[0] ? -value : value;
    rf_curve self = {p->v, p->n};
    int stop = 0;
    rf_err e = {0};
    if (rf_prune_check(&p->x->prune, &self, p->h->curves, p->h->n_curves, &stop, &e) < 0)
        return 0;
    if (stop) {
        p->pruned = 1;
        rf_task_logf(p->t, "trial %ld pruned at report %zu (%s)", p->x->trial, p->n,
                     p->x->prune.pruner == RF_PRUNER_ASHA ? "asha" : "median");
    }
    return stop;
}

static int exec_line(void *arg, const char *line, size_t n)
{
    pruning *p = arg;
    json_t *o = json_loadb(line, n, 0, NULL);
    int stop = 0;
    const json_t *v = json_object_get(o, p->x->names[0]);
    if (json_object_get(o, "step") && json_is_number(v))
        stop = report(p, json_number_value(v));
    json_decref(o);
    return stop;
}

/* A proposed value as a train-stage `with` value: lists comma-joined. */
static void with_value(const json_t *v, char *buf, size_t cap)
{
    size_t i, off = 0;
    json_t *e;
    buf[0] = 0;
    if (json_is_string(v))
        snprintf(buf, cap, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, cap, "%.10g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_array(v))
        json_array_foreach(v, i, e) {
            if (off + 2 >= cap)
                break;
            if (i)
                buf[off++] = ',';
            with_value(e, buf + off, cap - off);
            off += strlen(buf + off);
        }
}

static void fwd_metric(void *ud, const char *name, double v)
{
    rf_task_metric(((pruning *)ud)->t, name, v);
}

/* Per-epoch curves go to the run and, for the objective, to the pruner. */
static void fwd_progress(void *ud, const char *series, int64_t step,
                         const char *const *keys, const double *vals, size_t n)
{
    pruning *p = ud;
    rf_task_progress(p->t, series, step, keys, vals, n);
    for (size_t i = 0; !strcmp(series, "epoch") && i < n; i++)
        if (!strcmp(keys[i], p->x->names[0]) && report(p, vals[i]))
            p->stop = 1;
    if (rf_task_should_stop(p->t))
        p->stop = 1;
}

static const rf_task_hooks fwd_hooks = {fwd_metric, fwd_progress, NULL, NULL, NULL};

/* train-stage's code on the step's datasets with the proposed values as
 * its `with`; its metrics into *metrics, its outputs (the checkpoint)
 * registered on t. */
static int train_objective(rf_task *t, const json_t *params, pruning *pr,
                           json_t **metrics, rf_err *err)
{
    static const rf_worker_def def = {"train-stage", RF_VERSION, rf_train_stage_handle,
                                      NULL};
    static const char *const inputs[] = {"train", "test", "dataset", "checkpoint", NULL};
    rf_task *c = rf_task_new(&def, rf_task_id(t), rf_task_attempt(t), rf_task_outdir(t));
    char buf[4096];
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)params, k, v) {
        with_value(v, buf, sizeof buf);
        rf_task_add_param(c, k, buf);
    }
    for (size_t i = 0; (k = rf_task_param_key(t, i)); i++)  /* fixed keys */
        if (!json_object_get(params, k) && !rf_tune_listed(tune_keys, k))
            rf_task_add_param(c, k, rf_task_param(t, k));
    for (size_t i = 0; inputs[i]; i++)
        for (size_t j = 0; j < rf_task_input_count(t, inputs[i]); j++)
            rf_task_add_input(c, inputs[i], rf_task_input(t, inputs[i], j));
    rf_task_set_hooks(c, &fwd_hooks, pr);
    rf_task_set_stop_flag(c, &pr->stop);
    int rc = rf_train_stage_handle(c, err);
    *metrics = json_object();
    for (size_t i = 0; i < rf_task_metric_count(c); i++)
        json_object_set_new(*metrics, rf_task_metric_name(c, i),
                            rf_json_num(rf_task_metric_value(c, i)));
    for (size_t i = 0; rc == 0 && i < rf_task_output_count(c); i++) {
        const char *name = rf_task_output_name(c, i), *path = rf_task_output_path(c, i);
        rc = rf_task_output(t, name, path, err);
        if (rc == 0 && !strcmp(name, "checkpoint") && rf_sha256_file(path, pr->ckpt_sha) < 0)
            rc = rf_err_errno(err, "checkpoint %s", path);
    }
    rf_task_free(c);
    if (rc < 0) {
        json_decref(*metrics);
        *metrics = NULL;
    }
    return rc;
}

/* The objective values from the metrics, or -1 naming the missing one. */
static int objective_values(const search *x, const json_t *metrics, json_t *vals,
                            rf_err *err)
{
    for (size_t k = 0; k < x->n_obj; k++) {
        const json_t *v = json_object_get(metrics, x->names[k]);
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return rf_errf(err, RF_ECORRUPT, "objective '%s' not reported as a "
                           "finite number", x->names[k]);
        json_array_append_new(vals, json_real(json_number_value(v)));
    }
    return 0;
}

static json_t *trial_doc(const search *x, const json_t *params)
{
    json_t *doc = json_object(), *obj = json_array(), *dir = json_array();
    for (size_t k = 0; k < x->n_obj; k++) {
        json_array_append_new(obj, json_string(x->names[k]));
        json_array_append_new(dir, json_string(x->maximize[k] ? "maximize" : "minimize"));
    }
    json_object_set_new(doc, "trial", json_integer(x->trial));
    json_object_set(doc, "params", (json_t *)params);
    json_object_set_new(doc, "objective", obj);
    json_object_set_new(doc, "direction", dir);
    json_object_set_new(doc, "sampler", json_string(rf_sampler_name(x->cfg.sampler)));
    return doc;
}

/* Run the objective and fill doc with state, values, curve, metrics,
 * error. -1 only when the worker is draining (the task runs again). */
static int run_trial(rf_task *t, const search *x, const history *h,
                     const json_t *params, json_t *doc, rf_err *err)
{
    json_t *metrics = NULL, *vals = json_array();
    pruning pr = {t, x, h, NULL, json_array(), 0, 0, 0, 0, ""};
    rf_err terr = {0};
    int64_t t0 = rf_mono_ms();
    int rc = rf_task_param(t, "exec")
                 ? rf_tune_exec_objective(t, params, exec_line, &pr, &metrics, &terr)
                 : train_objective(t, params, &pr, &metrics, &terr);
    if (rc == 0)
        rc = objective_values(x, metrics, vals, &terr);
    if (rc < 0 && !pr.pruned && terr.code == RF_ECANCEL && rf_task_should_stop(t)) {
        json_decref(metrics), json_decref(vals), json_decref(pr.curve);
        free(pr.v);
        *err = terr;
        return -1;
    }
    const char *state = pr.pruned ? "pruned" : rc == 0 ? "complete" : "failed";
    json_object_set_new(doc, "state", json_string(state));
    if (pr.pruned)
        json_array_append(vals, json_array_get(pr.curve, pr.n - 1));
    json_object_set_new(doc, "values", rc == 0 || pr.pruned ? vals : json_null());
    if (!(rc == 0 || pr.pruned))
        json_decref(vals);
    json_object_set_new(doc, "curve", pr.curve);
    if (pr.ckpt_sha[0])   /* lets the summary pick the best trial's checkpoint */
        json_object_set_new(doc, "checkpoint_sha256", json_string(pr.ckpt_sha));
    json_object_set_new(doc, "metrics", metrics ? metrics : json_object());
    if (rc != 0 && !pr.pruned)
        json_object_set_new(doc, "error", json_string(terr.msg));
    json_object_set_new(doc, "seconds", json_real((double)(rf_mono_ms() - t0) / 1000.0));
    for (size_t k = 0; rc == 0 && !pr.pruned && k < x->n_obj; k++)
        rf_task_metric(t, x->names[k], json_real_value(json_array_get(vals, k)));
    if (rc != 0 && !pr.pruned)
        rf_task_logf(t, "trial %ld failed: %s", x->trial, terr.msg);
    free(pr.v);
    return 0;
}

int rf_tune_search_trial(rf_task *t, rf_err *err)
{
    search x;
    history h = {0};
    double *u = NULL;
    json_t *params = NULL, *doc = NULL;
    int rc = -1;
    if (parse_search(t, &x, err) < 0)
        goto out;
    if (rf_task_param(t, "exec") && rf_tune_check_keys(t, tune_keys, err) < 0)
        goto out;
    if (load_history(t, &x, &h, err) < 0)
        goto out;
    u = calloc(x.space.n, sizeof *u);
    rf_err perr = {0};
    uint64_t pending[MAX_PENDING];
    size_t n_pending = running_trials(&h, x.trial, pending);
    if (rf_tune_propose_pending(&x.space, &x.cfg, h.tr, h.n, pending, n_pending,
                                (uint64_t)x.trial, u, &perr) < 0) {
        if (perr.code != RF_ENOTFOUND) {
            *err = perr;
            goto out;
        }
        doc = trial_doc(&x, json_object());    /* grid exhausted: no trial */
        json_object_set_new(doc, "state", json_string("skipped"));
        rf_task_metric(t, "spawn", 0);
    } else {
        params = rf_space_decode(&x.space, u);
        doc = trial_doc(&x, params);
        if (run_trial(t, &x, &h, params, doc, err) < 0)
            goto out;
        rf_task_metric(t, "spawn", 1);
    }
    rf_task_metric(t, "trial", (double)x.trial);
    rc = rf_tune_write_trial(t, doc, err);
out:
    json_decref(params), json_decref(doc);
    free(u);
    history_free(&h);
    rf_space_free(&x.space);
    return rc;
}
