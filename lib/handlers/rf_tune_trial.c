/* rf_tune_trial: one trial of a hyperparameter search, by an exec
 * objective or by train-stage's code (see rf_tune_trial.h). */
#include "handlers/rf_tune_trial.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_json.h"
#include "base/rf_proc.h"
#include "base/rf_time.h"
#include "handlers/rf_train_stage.h"

const char rf_tune_trial_help[] =
    "with: exec=[\"prog\", \"arg\", ...] params={...} metric=NAME[,NAME] "
    "timeout=SECONDS trial=N\n"
    "      without exec: the train-stage keys and inputs (docs/training.md)\n"
    "output: trial (trial.json)\n";

static const char *const own_keys[] = {"exec", "params", "metric", "timeout",
                                       "trial", NULL};

int rf_tune_parse_output(const char *out, size_t len, json_t **metrics,
                         json_t **steps, rf_err *err)
{
    *metrics = NULL;
    *steps = json_array();
    const char *p = out, *end = out + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *o = json_loadb(p, n, JSON_DECODE_ANY, NULL);
        if (json_is_object(o) && json_object_get(o, "step")) {
            json_array_append(*steps, o);
        } else if (json_is_object(o)) {
            json_decref(*metrics);
            *metrics = json_incref(o);
        }
        json_decref(o);
        p += n + 1;
    }
    if (!*metrics) {   /* one object over several lines */
        json_t *o = json_loadb(out, len, 0, NULL);
        if (json_is_object(o))
            *metrics = o;
        else
            json_decref(o);
    }
    if (!*metrics) {
        json_decref(*steps);
        *steps = NULL;
        return rf_errf(err, RF_ECORRUPT, "printed no JSON object of metrics");
    }
    return 0;
}

static char **exec_argv(const char *spec, rf_err *err)
{
    json_error_t je;
    json_t *a = json_loads(spec, 0, &je);
    char **argv = NULL;
    if (!json_is_array(a) || json_array_size(a) == 0) {
        rf_errf(err, RF_EINVAL, "with.exec: want a JSON list [program, arg, ...]");
        goto out;
    }
    argv = calloc(json_array_size(a) + 1, sizeof *argv);
    for (size_t i = 0; argv && i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s || !(argv[i] = strdup(s))) {
            for (size_t j = 0; j < i; j++)
                free(argv[j]);
            free(argv);
            argv = NULL;
            rf_errf(err, RF_EINVAL, "with.exec[%zu]: want a string", i);
        }
    }
out:
    json_decref(a);
    return argv;
}

static void free_argv(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

typedef struct watch {
    rf_task *t;
    int (*line)(void *, const char *, size_t);
    void *arg;
} watch;

static int watch_stop(void *w)
{
    return rf_task_should_stop(((watch *)w)->t);
}

static int watch_line(void *w, const char *line, size_t n)
{
    watch *x = w;
    return x->line ? x->line(x->arg, line, n) : 0;
}

static void report_steps(rf_task *t, const json_t *steps)
{
    size_t i;
    json_t *o;
    json_array_foreach(steps, i, o) {
        const char *keys[32];
        double vals[32];
        size_t n = 0;
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v)
            if (strcmp(k, "step") && json_is_number(v) && n < 32)
                keys[n] = k, vals[n++] = json_number_value(v);
        rf_task_progress(t, "trial", (int64_t)json_integer_value(
                             json_object_get(o, "step")), keys, vals, n);
    }
}

/* Every metric the step's objective names must be there, as a number. */
static int check_metrics(rf_task *t, const json_t *metrics, rf_err *err)
{
    const char *want = rf_task_param(t, "metric");
    char name[256];
    while (want && *want) {
        size_t n = strcspn(want, ",");
        snprintf(name, sizeof name, "%.*s", (int)(n < 255 ? n : 255), want);
        if (!json_is_number(json_object_get(metrics, name)))
            return rf_errf(err, RF_ECORRUPT, "reported no number '%s'", name);
        want += n + (want[n] == ',');
    }
    return 0;
}

int rf_tune_write_trial(rf_task *t, const json_t *doc, rf_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/trial.json", rf_task_outdir(t));
    if (rf_json_write(path, doc, 1, err) < 0)
        return -1;
    return rf_task_output(t, "trial", path, err);
}

/* "...; stderr: <its last lines>" so a failed trial says why. */
static void append_stderr(rf_err *err, const char *tail)
{
    size_t n = strlen(tail);
    while (n && (tail[n - 1] == '\n' || tail[n - 1] == ' '))
        n--;
    if (!n)
        return;
    const char *p = n > 400 ? tail + n - 400 : tail;
    char m[sizeof err->msg + 512];
    snprintf(m, sizeof m, "%s; stderr: %.*s", err->msg, (int)(tail + n - p), p);
    size_t len = strlen(m) < sizeof err->msg - 1 ? strlen(m) : sizeof err->msg - 1;
    memcpy(err->msg, m, len);
    err->msg[len] = 0;
}

static int fail_exec(const char *prog, const rf_proc_result *res, rf_err *err)
{
    if (strncmp(err->msg, "exec ", 5))   /* rf_proc's own errors name it */
        rf_err_prefix(err, "exec %s", prog);
    append_stderr(err, res->err_tail);
    return -1;
}

int rf_tune_exec_objective(rf_task *t, const json_t *params,
                           int (*on_line)(void *, const char *, size_t), void *arg,
                           json_t **metrics, rf_err *err)
{
    double timeout;
    *metrics = NULL;
    if (rf_task_param_double(t, "timeout", 0, &timeout, err) < 0)
        return -1;
    char **argv = exec_argv(rf_task_param_or(t, "exec", ""), err);
    if (!argv)
        return -1;
    char *in = json_dumps(params, JSON_COMPACT);
    rf_buf out = RF_BUF_INIT;
    rf_proc_result res;
    watch wa = {t, on_line, arg};
    rf_proc_watch w = {watch_stop, watch_line, &wa};
    int rc = rf_proc_run(argv, in, strlen(in), (long)(timeout * 1000), &w, &out, &res,
                         err);
    free(in);
    json_t *steps = NULL;
    if (rc == 0 && res.stopped)
        rc = rf_errf(err, RF_ECANCEL, "stopped");
    else if (rc == 0 && res.timed_out)
        rc = rf_errf(err, RF_ECANCEL, "timed out after %gs", timeout);
    else if (rc == 0 && !(res.exited && res.code == 0))
        rc = rf_errf(err, RF_EINVAL, "%s %d", res.exited ? "exited with" : "killed by signal",
                     res.code);
    else if (rc == 0)
        rc = rf_tune_parse_output(out.data ? out.data : "", out.len, metrics, &steps, err);
    if (rc == 0 && (rc = check_metrics(t, *metrics, err)) == 0)
        report_steps(t, steps);
    if (rc < 0) {
        fail_exec(argv[0], &res, err);
        json_decref(*metrics);
        *metrics = NULL;
    }
    json_decref(steps);
    rf_buf_free(&out);
    free_argv(argv);
    return rc;
}

int rf_tune_listed(const char *const *keys, const char *k)
{
    for (size_t i = 0; keys[i]; i++)
        if (!strcmp(keys[i], k))
            return 1;
    return 0;
}

int rf_tune_check_keys(rf_task *t, const char *const *own, rf_err *err)
{
    const char *k;
    for (size_t i = 0; (k = rf_task_param_key(t, i)); i++)
        if (!rf_tune_listed(own, k))
            return rf_errf(err, RF_EINVAL, "with.%s: not a tune-trial key here", k);
    return 0;
}

/* One trial with given values (with.params) and an exec objective. */
static int run_given(rf_task *t, rf_err *err)
{
    json_error_t je;
    json_t *params = json_loads(rf_task_param_or(t, "params", "{}"), 0, &je);
    json_t *metrics = NULL;
    if (!json_is_object(params)) {
        json_decref(params);
        return rf_errf(err, RF_EINVAL, "with.params: want a JSON object");
    }
    int64_t t0 = rf_mono_ms();
    int rc = rf_tune_exec_objective(t, params, NULL, NULL, &metrics, err);
    if (rc == 0) {
        const char *k;
        json_t *v;
        json_object_foreach(metrics, k, v)
            if (json_is_number(v))
                rf_task_metric(t, k, json_number_value(v));
        json_t *doc = json_object();
        json_object_set_new(doc, "trial", json_integer(atol(rf_task_param_or(t, "trial", "0"))));
        json_object_set(doc, "params", params);
        json_object_set(doc, "metrics", metrics);
        json_object_set_new(doc, "state", json_string("complete"));
        json_object_set_new(doc, "seconds", json_real((double)(rf_mono_ms() - t0) / 1000.0));
        rc = rf_tune_write_trial(t, doc, err);
        json_decref(doc);
    }
    json_decref(params), json_decref(metrics);
    return rc;
}

int rf_tune_trial_handler(rf_task *t, rf_err *err)
{
    if (rf_task_param(t, "summary"))
        return rf_tune_summary(t, err);
    if (rf_task_param(t, "space"))
        return rf_tune_search_trial(t, err);
    if (!rf_task_param(t, "exec"))
        return rf_train_stage_handle(t, err);
    if (rf_tune_check_keys(t, own_keys, err) < 0)
        return -1;
    return run_given(t, err);
}
