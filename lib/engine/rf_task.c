/* rf_task: the task object behind the handler API: parameters, inputs,
 * outputs, metrics, progress, logs and state slots. See rf_task.h for the
 * handler's view, rf_task_impl.h for the runtimes that build tasks. */
#include "engine/rf_task_impl.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "base/rf_fs.h"
#include "base/rf_json.h"
#include "store/rf_codec.h"

typedef struct kv { char *k, *v; } kv;
typedef struct kvd { char *k; double v; } kvd;

struct rf_task {
    const rf_worker_def *def;
    char *id;
    int attempt;
    char *outdir;
    char *localdir;            /* local mode's --out DIR; NULL: outdir */
    kv *params; size_t nparams;
    kv *inputs; size_t ninputs;
    kv *origins; size_t norigins;   /* local input path -> the user's name for it */
    kv *outputs; size_t noutputs;
    kvd *metrics; size_t nmetrics;
    const rf_task_hooks *hooks;
    void *hook_ud;
    volatile sig_atomic_t *stop;
};

rf_task *rf_task_new(const rf_worker_def *def, const char *id, int attempt,
                     const char *outdir)
{
    rf_task *t = rf_xcalloc(1, sizeof *t);
    t->def = def;
    t->id = rf_xstrdup(id ? id : "local");
    t->attempt = attempt;
    t->outdir = rf_xstrdup(outdir);
    return t;
}

static void kv_free(kv *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].k), free(a[i].v);
    free(a);
}

void rf_task_free(rf_task *t)
{
    if (!t)
        return;
    kv_free(t->params, t->nparams);
    kv_free(t->inputs, t->ninputs);
    kv_free(t->origins, t->norigins);
    kv_free(t->outputs, t->noutputs);
    for (size_t i = 0; i < t->nmetrics; i++)
        free(t->metrics[i].k);
    free(t->metrics);
    free(t->id);
    free(t->outdir);
    free(t->localdir);
    free(t);
}

static void kv_push(kv **a, size_t *n, const char *k, const char *v)
{
    *a = rf_xrealloc(*a, (*n + 1) * sizeof **a);
    (*a)[*n].k = rf_xstrdup(k);
    (*a)[*n].v = rf_xstrdup(v);
    (*n)++;
}

void rf_task_add_param(rf_task *t, const char *key, const char *value)
{
    for (size_t i = 0; i < t->nparams; i++)
        if (strcmp(t->params[i].k, key) == 0) {
            free(t->params[i].v);
            t->params[i].v = rf_xstrdup(value);
            return;
        }
    kv_push(&t->params, &t->nparams, key, value);
}

void rf_task_add_input(rf_task *t, const char *name, const char *path)
{
    kv_push(&t->inputs, &t->ninputs, name, path);
}

void rf_task_set_input_origin(rf_task *t, const char *path, const char *origin)
{
    kv_push(&t->origins, &t->norigins, path, origin);
}

const char *rf_task_input_origin(rf_task *t, const char *path, char *buf, size_t n)
{
    for (size_t i = 0; i < t->norigins; i++) {
        const char *p = t->origins[i].k, *o = t->origins[i].v;
        size_t l = strlen(p);
        if (strncmp(path, p, l) || (path[l] && path[l] != '/'))
            continue;
        if (!strncmp(o, "file://", 7))   /* a local file: its path */
            o += 7;
        snprintf(buf, n, "%s%s", o, path + l);
        return buf;
    }
    return path;
}

void rf_task_set_hooks(rf_task *t, const rf_task_hooks *h, void *ud)
{
    t->hooks = h;
    t->hook_ud = ud;
}

void rf_task_set_stop_flag(rf_task *t, volatile sig_atomic_t *flag)
{
    t->stop = flag;
}

const char *rf_task_param(rf_task *t, const char *key)
{
    for (size_t i = 0; i < t->nparams; i++)
        if (strcmp(t->params[i].k, key) == 0)
            return t->params[i].v;
    return NULL;
}

const char *rf_task_param_or(rf_task *t, const char *key, const char *def)
{
    const char *v = rf_task_param(t, key);
    return v ? v : def;
}

const char *rf_task_param_key(rf_task *t, size_t i)
{
    return i < t->nparams ? t->params[i].k : NULL;
}

int rf_task_param_long(rf_task *t, const char *key, long def, long *out, rf_err *err)
{
    const char *v = rf_task_param(t, key);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end)
        return rf_errf(err, RF_EINVAL, "with.%s: expected an integer, got \"%s\"", key, v);
    *out = x;
    return 0;
}

int rf_task_param_double(rf_task *t, const char *key, double def, double *out, rf_err *err)
{
    const char *v = rf_task_param(t, key);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x))
        return rf_errf(err, RF_EINVAL, "with.%s: expected a number, got \"%s\"", key, v);
    *out = x;
    return 0;
}

int rf_task_param_bool(rf_task *t, const char *key, int def, int *out, rf_err *err)
{
    const char *v = rf_task_param(t, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes"))
        *out = 1;
    else if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no"))
        *out = 0;
    else
        return rf_errf(err, RF_EINVAL, "with.%s: expected true or false, got \"%s\"", key, v);
    return 0;
}

/* 1 if path is a regular file starting with the artifact magic. */
static int is_artifact(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    unsigned char head[16];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;   /* the handler's own open reports it */
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    return rf_artifact_sniff(head, got);
}

int rf_task_check_inputs(rf_task *t, uint64_t max_bytes, rf_err *err)
{
    for (size_t i = 0; i < t->ninputs; i++) {
        const char *path = t->inputs[i].v;
        if (!is_artifact(path))
            continue;
        char buf[1024];
        const char *who = rf_task_input_origin(t, path, buf, sizeof buf);
        rf_artifact_info info;
        if (rf_artifact_read_header(path, &info, err) != 0)
            return rf_err_prefix(err, "input %s (%s)", t->inputs[i].k, who);
        if (info.payload_size > max_bytes)
            return rf_errf(err, RF_ETOOBIG, "input %s (%s): the artifact declares %llu bytes, "
                           "over the %llu-byte limit (codec.max_artifact, "
                           "RUVFLOW_MAX_ARTIFACT)", t->inputs[i].k, who,
                           (unsigned long long)info.payload_size,
                           (unsigned long long)max_bytes);
    }
    return 0;
}

size_t rf_task_input_count(rf_task *t, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < t->ninputs; i++)
        n += strcmp(t->inputs[i].k, name) == 0;
    return n;
}

const char *rf_task_input(rf_task *t, const char *name, size_t idx)
{
    for (size_t i = 0; i < t->ninputs; i++)
        if (strcmp(t->inputs[i].k, name) == 0 && idx-- == 0)
            return t->inputs[i].v;
    return NULL;
}

const char *rf_task_outdir(rf_task *t) { return t->outdir; }

void rf_task_set_outdir(rf_task *t, const char *dir)
{
    free(t->outdir);
    t->outdir = rf_xstrdup(dir);
}

void rf_task_set_local_dir(rf_task *t, const char *dir)
{
    free(t->localdir);
    t->localdir = rf_xstrdup(dir);
}

/* Where local state slots and live progress go: they outlive a failed or
 * killed attempt, unlike the outputs in outdir. */
static const char *local_dir(const rf_task *t)
{
    return t->localdir ? t->localdir : t->outdir;
}

static void state_dir(rf_task *t, char *out, size_t n)
{
    snprintf(out, n, "%s/.state", local_dir(t));
}

const char *rf_task_id(rf_task *t) { return t->id; }
int rf_task_attempt(rf_task *t) { return t->attempt; }

int rf_task_output(rf_task *t, const char *name, const char *path, rf_err *err)
{
    if (access(path, R_OK) != 0)
        return rf_err_errno(err, "output %s: %s", name, path);
    for (size_t i = 0; i < t->noutputs; i++)
        if (strcmp(t->outputs[i].k, name) == 0) {
            free(t->outputs[i].v);
            t->outputs[i].v = rf_xstrdup(path);
            return 0;
        }
    kv_push(&t->outputs, &t->noutputs, name, path);
    return 0;
}

void rf_task_metric(rf_task *t, const char *name, double value)
{
    size_t i;
    for (i = 0; i < t->nmetrics; i++)
        if (strcmp(t->metrics[i].k, name) == 0)
            break;
    if (i == t->nmetrics) {
        t->metrics = rf_xrealloc(t->metrics, (t->nmetrics + 1) * sizeof *t->metrics);
        t->metrics[i].k = rf_xstrdup(name);
        t->nmetrics++;
    }
    t->metrics[i].v = value;
    if (t->hooks && t->hooks->metric)
        t->hooks->metric(t->hook_ud, name, value);
}

size_t rf_task_metric_count(const rf_task *t) { return t->nmetrics; }
const char *rf_task_metric_name(const rf_task *t, size_t i) { return t->metrics[i].k; }
double rf_task_metric_value(const rf_task *t, size_t i) { return t->metrics[i].v; }
size_t rf_task_output_count(const rf_task *t) { return t->noutputs; }
const char *rf_task_output_name(const rf_task *t, size_t i) { return t->outputs[i].k; }
const char *rf_task_output_path(const rf_task *t, size_t i) { return t->outputs[i].v; }

void rf_task_progress(rf_task *t, const char *series, int64_t step,
                      const char *const *keys, const double *vals, size_t n)
{
    if (t->hooks && t->hooks->progress) {
        t->hooks->progress(t->hook_ud, series, step, keys, vals, n);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "series", json_string(series));
    json_object_set_new(o, "step", json_integer(step));
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, keys[i], rf_json_num(vals[i]));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/progress.jsonl", local_dir(t));
    FILE *f = fopen(path, "a");
    if (f) {
        json_dumpf(o, f, JSON_COMPACT);
        fputc('\n', f);
        fclose(f);
    }
    json_decref(o);
}

void rf_task_logf(rf_task *t, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (t->hooks && t->hooks->log)
        t->hooks->log(t->hook_ud, line);
    else
        fprintf(stderr, "%s: %s\n", t->def ? t->def->name : "task", line);
}

int rf_task_should_stop(rf_task *t)
{
    return t->stop && *t->stop;
}

static int state_path(rf_task *t, const char *name, char *out, size_t n, rf_err *err)
{
    char dir[PATH_MAX];
    state_dir(t, dir, sizeof dir);
    return rf_path_join(out, n, dir, name, err);
}

int rf_task_state_save(rf_task *t, const char *name, const char *path, rf_err *err)
{
    if (t->hooks && t->hooks->state_save)
        return t->hooks->state_save(t->hook_ud, name, path, err);
    char dir[PATH_MAX], dst[PATH_MAX];
    state_dir(t, dir, sizeof dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return rf_err_errno(err, "mkdir %s", dir);
    if (state_path(t, name, dst, sizeof dst, err) != 0)
        return -1;
    return rf_copy_file(path, dst, err);
}

int rf_task_state_load(rf_task *t, const char *name, const char *path, rf_err *err)
{
    if (t->hooks && t->hooks->state_load)
        return t->hooks->state_load(t->hook_ud, name, path, err);
    char src[PATH_MAX];
    if (state_path(t, name, src, sizeof src, err) != 0)
        return -1;
    if (access(src, R_OK) != 0)
        return 0;
    return rf_copy_file(src, path, err) == 0 ? 1 : -1;
}

int rf_task_write_metrics_json(const rf_task *t, const char *path, rf_err *err)
{
    json_t *o = json_object();
    for (size_t i = 0; i < t->nmetrics; i++)
        json_object_set_new(o, t->metrics[i].k, rf_json_num(t->metrics[i].v));
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int rc = json_dump_file(o, tmp, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    if (rc != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return rf_err_errno(err, "write %s", path);
    }
    return 0;
}
