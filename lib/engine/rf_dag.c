/* rf_dag: expansion of steps into tasks, the plan's JSON form, per-task
 * rendering of parameters and inputs, and cache keys (see rf_dag.h). */
#include "engine/rf_dag.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rf_json.h"
#include "engine/rf_template.h"
#include "engine/rf_wf_items.h"
#include "base/rf_version.h"

void rf_dag_task_id(rf_buf *out, const char *run, const char *step, size_t index)
{
    rf_buf_addf(out, "%s/%s/%zu", run, step, index);
}

/* ------------------------------------------------------------- plan JSON */

static const char *const fan_names[] = {"none", "foreach", "chain"};

static json_t *kvs_json(const rf_wf_kv *kv, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("[ss]", kv[i].key, kv[i].val));
    return a;
}

/* An axis of integers in arithmetic progression (every range) is stored as
 * [start, step, count], so a 100,000-task fan-out costs a few bytes. */
static int axis_as_range(const rf_wf_axis *a, long *start, long *step)
{
    if (a->n < 2)
        return 0;
    long prev = 0;
    for (size_t i = 0; i < a->n; i++) {
        char *end;
        errno = 0;
        long v = strtol(a->vals[i], &end, 10);
        if (end == a->vals[i] || *end || errno)
            return 0;
        char canon[32];
        snprintf(canon, sizeof canon, "%ld", v);
        if (strcmp(canon, a->vals[i]))
            return 0;
        if (i == 0)
            *start = v;
        else if (i == 1)
            *step = v - prev;
        else if (v - prev != *step)
            return 0;
        prev = v;
    }
    return 1;
}

static json_t *axis_json(const rf_wf_axis *a)
{
    long start = 0, step = 0;
    if (axis_as_range(a, &start, &step))
        return json_pack("{s:s,s:[III]}", "key", a->key, "range", (json_int_t)start,
                         (json_int_t)step, (json_int_t)a->n);
    json_t *vals = json_array();
    for (size_t i = 0; i < a->n; i++)
        json_array_append_new(vals, json_string(a->vals[i]));
    return json_pack("{s:s,s:o}", "key", a->key, "vals", vals);
}

static json_t *step_json(const rf_wf_step *s)
{
    json_t *needs = json_array(), *axes = json_array();
    for (size_t i = 0; i < s->nneeds; i++)
        json_array_append_new(needs, json_integer((json_int_t)s->needs[i]));
    for (size_t i = 0; i < s->naxes; i++)
        json_array_append_new(axes, axis_json(&s->axes[i]));
    json_t *j = json_pack(
        "{s:s,s:s,s:o,s:o,s:o,s:s,s:o,s:I,s:{s:i,s:I,s:I,s:f},s:I,s:i,s:s,s:i,s:b,s:I}",
        "name", s->name, "worker", s->worker, "with", kvs_json(s->with, s->nwith),
        "inputs", kvs_json(s->inputs, s->ninputs), "needs", needs,
        "fan", fan_names[s->fan], "axes", axes, "ntasks", (json_int_t)s->ntasks,
        "retry", "count", s->retry.count, "base", (json_int_t)s->retry.base_ms,
        "cap", (json_int_t)s->retry.cap_ms, "jitter", s->retry.jitter, "timeout", (json_int_t)s->timeout_ms,
        "priority", s->priority, "pool", s->pool, "tier", s->tier, "cache", s->cache,
        "spawn", (json_int_t)s->spawn_max);
    if (s->when)
        json_object_set_new(j, "when", json_string(s->when));
    if (s->desc)
        json_object_set_new(j, "description", json_string(s->desc));
    if (s->fan_from)
        json_object_set_new(j, "from", json_string(s->fan_from));
    if (s->on_exit)
        json_object_set_new(j, "exit", json_true());
    if (s->suspend)
        json_object_set_new(j, "suspend", json_true());
    return j;
}

char *rf_dag_plan_json(const rf_workflow *wf, json_t *digests)
{
    json_t *params = json_array(), *steps = json_array();
    for (size_t i = 0; i < wf->nparams; i++) {
        const rf_wf_param *p = &wf->params[i];
        json_t *items = json_array();
        for (size_t k = 0; k < p->nitems; k++)
            json_array_append_new(items, json_string(p->items[k]));
        json_array_append_new(params, json_pack("{s:s,s:i,s:s,s:o}", "name", p->name,
                                                "type", p->type, "value", p->value,
                                                "items", items));
    }
    for (size_t i = 0; i < wf->nsteps; i++)
        json_array_append_new(steps, step_json(&wf->steps[i]));
    json_t *j = json_pack("{s:i,s:s,s:s,s:o,s:o}", "v", 1, "name", wf->name,
                          "file", wf->file, "params", params, "steps", steps);
    if (wf->desc)
        json_object_set_new(j, "description", json_string(wf->desc));
    json_object_set_new(j, "max_tasks", json_integer((json_int_t)wf->max_tasks));
    json_object_set(j, "digests", digests ? digests : json_object());
    if (!digests)
        json_decref(json_object_get(j, "digests"));
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        abort();  /* jansson fails only on allocation */
    return s;
}

static char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? rf_xstrdup(s) : NULL;
}

static int load_kvs(json_t *a, rf_wf_kv **out, size_t *n)
{
    if (!json_is_array(a))
        return -1;
    *n = json_array_size(a);
    *out = rf_xcalloc(*n + 1, sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        json_t *e = json_array_get(a, i);
        const char *k = json_string_value(json_array_get(e, 0));
        const char *v = json_string_value(json_array_get(e, 1));
        if (!k || !v)
            return -1;
        (*out)[i].key = rf_xstrdup(k);
        (*out)[i].val = rf_xstrdup(v);
    }
    return 0;
}

static int load_axis(json_t *j, rf_wf_axis *a)
{
    a->key = jstr(j, "key");
    json_t *r = json_object_get(j, "range"), *v = json_object_get(j, "vals");
    if (!a->key)
        return -1;
    if (json_is_array(r) && json_array_size(r) == 3) {
        long start = (long)json_integer_value(json_array_get(r, 0));
        long step = (long)json_integer_value(json_array_get(r, 1));
        size_t n = (size_t)json_integer_value(json_array_get(r, 2));
        if (n > RF_WF_MAX_TASKS)
            return -1;
        a->vals = rf_xcalloc(n + 1, sizeof *a->vals);
        for (size_t i = 0; i < n; i++) {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "%ld", start + (long)i * step);
            a->vals[i] = rf_xstrdup(tmp);
        }
        a->n = n;
        return 0;
    }
    if (!json_is_array(v))
        return -1;
    a->n = json_array_size(v);
    a->vals = rf_xcalloc(a->n + 1, sizeof *a->vals);
    for (size_t i = 0; i < a->n; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (!s)
            return -1;
        a->vals[i] = rf_xstrdup(s);
    }
    return 0;
}

static int load_step(json_t *j, rf_wf_step *s, size_t nsteps)
{
    s->name = jstr(j, "name");
    s->worker = jstr(j, "worker");
    s->desc = jstr(j, "description");
    s->when = jstr(j, "when");
    s->pool = jstr(j, "pool");
    s->fan_from = jstr(j, "from");
    s->on_exit = json_is_true(json_object_get(j, "exit"));
    s->suspend = json_is_true(json_object_get(j, "suspend"));
    const char *fan = json_string_value(json_object_get(j, "fan"));
    if (!s->name || !s->worker || !s->pool || !fan)
        return -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(fan, fan_names[i]))
            s->fan = i;
    if (load_kvs(json_object_get(j, "with"), &s->with, &s->nwith) < 0 ||
        load_kvs(json_object_get(j, "inputs"), &s->inputs, &s->ninputs) < 0)
        return -1;
    json_t *needs = json_object_get(j, "needs"), *axes = json_object_get(j, "axes");
    if (!json_is_array(needs) || !json_is_array(axes))
        return -1;
    s->nneeds = json_array_size(needs);
    s->needs = rf_xcalloc(s->nneeds + 1, sizeof *s->needs);
    for (size_t i = 0; i < s->nneeds; i++) {
        json_int_t d = json_integer_value(json_array_get(needs, i));
        if (d < 0 || (size_t)d >= nsteps)
            return -1;
        s->needs[i] = (size_t)d;
    }
    s->naxes = json_array_size(axes);
    s->axes = rf_xcalloc(s->naxes + 1, sizeof *s->axes);
    for (size_t i = 0; i < s->naxes; i++)
        if (load_axis(json_array_get(axes, i), &s->axes[i]) < 0)
            return -1;
    json_t *r = json_object_get(j, "retry");
    s->retry.count = (int)json_integer_value(json_object_get(r, "count"));
    s->retry.base_ms = (long)json_integer_value(json_object_get(r, "base"));
    s->retry.cap_ms = (long)json_integer_value(json_object_get(r, "cap"));
    s->retry.jitter = json_number_value(json_object_get(r, "jitter"));
    s->ntasks = (size_t)json_integer_value(json_object_get(j, "ntasks"));
    s->timeout_ms = (long)json_integer_value(json_object_get(j, "timeout"));
    s->priority = (int)json_integer_value(json_object_get(j, "priority"));
    s->tier = (int)json_integer_value(json_object_get(j, "tier"));
    s->cache = json_is_true(json_object_get(j, "cache"));
    s->spawn_max = (size_t)json_integer_value(json_object_get(j, "spawn"));
    return 0;
}

int rf_dag_plan_load(const char *text, rf_workflow **out, json_t **digests,
                     rf_err *err)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    *out = NULL;
    if (!j)
        return rf_errf(err, RF_ECORRUPT, "run plan: bad JSON: %s", je.text);
    rf_workflow *wf = rf_xcalloc(1, sizeof *wf);
    json_t *params = json_object_get(j, "params"), *steps = json_object_get(j, "steps");
    wf->name = jstr(j, "name");
    wf->file = jstr(j, "file");
    wf->desc = jstr(j, "description");
    wf->max_tasks = (size_t)json_integer_value(json_object_get(j, "max_tasks"));
    int bad = !wf->name || !wf->file || !json_is_array(params) || !json_is_array(steps);
    if (!bad) {
        wf->nparams = json_array_size(params);
        wf->params = rf_xcalloc(wf->nparams + 1, sizeof *wf->params);
        for (size_t i = 0; i < wf->nparams && !bad; i++) {
            json_t *p = json_array_get(params, i);
            rf_wf_param *pm = &wf->params[i];
            pm->name = jstr(p, "name");
            pm->value = jstr(p, "value");
            pm->type = (int)json_integer_value(json_object_get(p, "type"));
            json_t *items = json_object_get(p, "items");
            pm->nitems = json_array_size(items);
            pm->items = rf_xcalloc(pm->nitems + 1, sizeof *pm->items);
            for (size_t k = 0; k < pm->nitems; k++) {
                const char *s = json_string_value(json_array_get(items, k));
                pm->items[k] = rf_xstrdup(s ? s : "");
            }
            bad = !pm->name || !pm->value;
        }
        wf->nsteps = json_array_size(steps);
        wf->steps = rf_xcalloc(wf->nsteps + 1, sizeof *wf->steps);
        for (size_t i = 0; i < wf->nsteps && !bad; i++)
            bad = load_step(json_array_get(steps, i), &wf->steps[i], wf->nsteps) < 0;
    }
    if (bad) {
        json_decref(j);
        rf_workflow_free(wf);
        return rf_errf(err, RF_ECORRUPT, "run plan: missing or malformed fields");
    }
    if (digests) {
        *digests = json_object_get(j, "digests");
        if (!json_is_object(*digests))
            *digests = json_object();
        else
            json_incref(*digests);
    }
    json_decref(j);
    *out = wf;
    return 0;
}

static const char *str_or(const char *s)
{
    return s ? s : "";
}

/* ------------------------------------------------------------ references */

typedef struct refs_ctx {
    const rf_workflow *wf;
    unsigned char *out;
    int prev;
} refs_ctx;

static int note_ref(void *ud, const rf_ref *r, size_t off, size_t len, rf_err *err)
{
    refs_ctx *c = ud;
    size_t i;
    if (r->prev)
        c->prev = 1;
    else if (rf_ref_is_dynamic(r) && rf_workflow_step(c->wf, r->step, &i) && c->out)
        c->out[i] = 1;
    return 0;
}

static void scan_step(const rf_workflow *wf, size_t step, refs_ctx *c)
{
    const rf_wf_step *s = &wf->steps[step];
    rf_err e;
    for (size_t k = 0; k < s->nwith; k++)
        rf_tpl_scan(s->with[k].val, note_ref, c, NULL, &e);
    for (size_t k = 0; k < s->ninputs; k++) {
        rf_ref r;
        if (rf_tpl_single_ref(s->inputs[k].val, &r, &e) == 1)
            note_ref(c, &r, 0, 0, &e);
    }
    if (s->when)
        rf_tpl_scan(s->when, note_ref, c, NULL, &e);
}

void rf_dag_step_refs(const rf_workflow *wf, size_t step, unsigned char *out)
{
    memset(out, 0, wf->nsteps);
    refs_ctx c = {wf, out, 0};
    scan_step(wf, step, &c);
}

int rf_dag_uses_prev(const rf_workflow *wf, size_t step)
{
    refs_ctx c = {wf, NULL, 0};
    scan_step(wf, step, &c);
    return c.prev;
}

/* ------------------------------------------------------------- rendering */

typedef struct render {
    const rf_dag_ctx *c;
    const rf_wf_step *s;
    size_t idx;
} render;

static void add_number(rf_buf *out, double d)
{
    char tmp[64];
    rf_buf_adds(out, rf_num_fmt(tmp, sizeof tmp, d, 0));
}

/* Append result r's value for ref (output URL(s) or metric), with sep
 * between values. Skipped tasks contribute nothing. */
static int result_value(json_t *r, const rf_ref *ref, const char *who, rf_buf *out,
                        int *first, rf_err *err)
{
    if (!r || !strcmp(str_or(json_string_value(json_object_get(r, "h"))), "skip"))
        return 0;
    int metric = ref->kind == RF_REF_METRIC;
    json_t *v = json_object_get(json_object_get(r, metric ? "m" : "o"), ref->key);
    if (!v)
        return rf_errf(err, RF_ENOTFOUND, "%s has no %s \"%s\"", who,
                       metric ? "metric" : "output", ref->key);
    json_t *one;
    size_t i;
    if (json_is_array(v)) {
        json_array_foreach(v, i, one) {
            rf_buf_adds(out, *first ? "" : ",");
            rf_buf_adds(out, str_or(json_string_value(one)));
            *first = 0;
        }
        return 0;
    }
    rf_buf_adds(out, *first ? "" : ",");
    *first = 0;
    if (json_is_number(v))
        add_number(out, json_number_value(v));
    else
        rf_buf_adds(out, str_or(json_string_value(v)));
    return 0;
}

/* The tasks of step si whose results a reference means: all of a foreach
 * (fan-in), the last of a chain, the only one otherwise. */
static void ref_range(const rf_wf_step *s, json_t *arr, size_t *from, size_t *to)
{
    size_t n = json_array_size(arr);
    *from = 0;
    *to = n;
    if (s->fan == RF_FAN_CHAIN && n)
        *from = n - 1;
}

static int lookup(void *ud, const rf_ref *r, rf_buf *out, rf_err *err)
{
    render *rd = ud;
    const rf_dag_ctx *c = rd->c;
    const rf_wf_step *s = rd->s;
    switch (r->kind) {
    case RF_REF_PARAM: {
        const rf_wf_param *p = rf_workflow_param(c->wf, r->key);
        if (!p)
            return rf_errf(err, RF_EINVAL, "unknown parameter \"%s\"", r->key);
        rf_buf_adds(out, p->value);
        return 0;
    }
    case RF_REF_ITEM:
        if (s->fan_from && r->key[0])
            return rf_wf_item_key(rf_wf_item(s, 0, rd->idx), r->key, out, err);
        for (size_t a = 0; a < s->naxes; a++)
            if (!strcmp(s->axes[a].key, r->key)) {
                const char *v = rf_wf_item(s, a, rd->idx);
                rf_buf_adds(out, v ? v : "");
            }
        return 0;
    case RF_REF_INDEX:
        rf_buf_addf(out, "%zu", rd->idx);
        return 0;
    case RF_REF_RUN_ID:
        rf_buf_adds(out, c->run);
        return 0;
    case RF_REF_WORKFLOW:
        if (!strcmp(r->key, "status"))
            rf_buf_adds(out, str_or(c->wf_status));
        else
            rf_buf_adds(out, c->wf_failures ? c->wf_failures : "[]");
        return 0;
    default:
        break;
    }
    int first = 1;
    if (r->prev)
        return result_value(c->prev, r, "the previous chain task", out, &first, err);
    size_t si;
    const rf_wf_step *dep = rf_workflow_step(c->wf, r->step, &si);
    if (!dep)
        return rf_errf(err, RF_EINVAL, "no step \"%s\"", r->step);
    json_t *arr = c->results ? c->results[si] : NULL;
    if (!arr)
        return rf_errf(err, RF_ESTATE, "results of step \"%s\" are not available",
                       r->step);
    size_t from, to;
    ref_range(dep, arr, &from, &to);
    for (size_t i = from; i < to; i++) {
        char who[RF_REF_NAME_MAX + 40];
        snprintf(who, sizeof who, "step \"%s\" (task %zu)", r->step, i);
        if (result_value(json_array_get(arr, i), r, who, out, &first, err) < 0)
            return -1;
    }
    return 0;
}

int rf_dag_when(const rf_dag_ctx *c, size_t step, size_t idx, int *truth, rf_err *err)
{
    const rf_wf_step *s = &c->wf->steps[step];
    *truth = 1;
    if (!s->when)
        return 0;
    render rd = {c, s, idx};
    if (rf_expr_eval(s->when, lookup, &rd, truth, err) < 0)
        return rf_err_prefix(err, "step %s: when", s->name);
    return 0;
}

static json_t *input_list(json_t *inputs, const char *name)
{
    json_t *l = json_object_get(inputs, name);
    if (!l) {
        l = json_array();
        json_object_set_new(inputs, name, l);
    }
    return l;
}

/* Append output `key` of result r (URL or list of URLs) to list l. */
static int append_output(json_t *l, json_t *r, const char *key, const char *who,
                         rf_err *err)
{
    if (!r || !strcmp(str_or(json_string_value(json_object_get(r, "h"))), "skip"))
        return 0;
    json_t *v = json_object_get(json_object_get(r, "o"), key);
    if (!v) {
        json_t *o = json_object_get(r, "o");
        rf_buf have = RF_BUF_INIT;
        const char *k;
        json_t *x;
        json_object_foreach(o, k, x) rf_buf_addf(&have, "%s%s", have.len ? ", " : "", k);
        rf_errf(err, RF_ENOTFOUND, "%s has no output \"%s\" (it has: %s)", who, key,
                have.len ? have.data : "none");
        rf_buf_free(&have);
        return -1;
    }
    if (json_is_string(v))
        return json_array_append(l, v), 0;
    size_t i;
    json_t *one;
    json_array_foreach(v, i, one) if (json_is_string(one)) json_array_append(l, one);
    return 0;
}

static int render_inputs(render *rd, json_t *inputs, rf_err *err)
{
    const rf_dag_ctx *c = rd->c;
    const rf_wf_step *s = rd->s;
    for (size_t k = 0; k < s->ninputs; k++) {
        const rf_wf_kv *kv = &s->inputs[k];
        rf_ref r;
        int one = rf_tpl_single_ref(kv->val, &r, err);
        if (one < 0)
            return -1;
        json_t *l = input_list(inputs, kv->key);
        if (one == 0 || r.kind != RF_REF_OUTPUT) {
            json_array_append_new(l, json_string(kv->val));
            continue;
        }
        if (r.prev) {
            if (append_output(l, c->prev, r.key, "the previous chain task", err) < 0)
                return -1;
            continue;
        }
        size_t si, from, to;
        const rf_wf_step *dep = rf_workflow_step(c->wf, r.step, &si);
        json_t *arr = dep && c->results ? c->results[si] : NULL;
        if (!arr)
            return rf_errf(err, RF_ESTATE, "inputs.%s: results of step \"%s\" are "
                           "not available", kv->key, r.step);
        ref_range(dep, arr, &from, &to);
        for (size_t i = from; i < to; i++) {
            char who[2 * RF_REF_NAME_MAX + 64];
            snprintf(who, sizeof who, "inputs.%s: step \"%s\" (task %zu)", kv->key,
                     r.step, i);
            if (append_output(l, json_array_get(arr, i), r.key, who, err) < 0)
                return -1;
        }
    }
    return 0;
}

/* Drop empty lists (a skipped step's outputs, prev.* of a chain's first). */
static void prune_inputs(json_t *inputs)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(inputs, tmp, k, v) if (!json_array_size(v))
        json_object_del(inputs, k);
}

/* Chains pass every output on, unless the step says which ones. */
static void chain_defaults(const rf_dag_ctx *c, size_t step, json_t *inputs)
{
    const char *k;
    json_t *v;
    json_t *o = json_object_get(c->prev, "o");
    if (!o || rf_dag_uses_prev(c->wf, step))
        return;
    json_object_foreach(o, k, v) {
        if (json_object_get(inputs, k))
            continue;
        json_t *l = input_list(inputs, k);
        if (json_is_string(v))
            json_array_append(l, v);
        else if (json_is_array(v))
            json_array_extend(l, v);
    }
}

/* Spawned tasks see what their step has produced so far. */
static void history_inputs(const rf_dag_ctx *c, json_t *inputs)
{
    size_t i;
    json_t *r;
    json_array_foreach(c->history, i, r) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(r, "o"), k, v) {
            char name[RF_REF_NAME_MAX + 16];
            snprintf(name, sizeof name, "history_%s", k);
            json_t *l = input_list(inputs, name);
            if (json_is_string(v))
                json_array_append(l, v);
            else if (json_is_array(v))
                json_array_extend(l, v);
        }
    }
}

int rf_dag_render(const rf_dag_ctx *c, size_t step, size_t idx, char **params,
                  char **inputs, rf_err *err)
{
    const rf_wf_step *s = &c->wf->steps[step];
    render rd = {c, s, idx};
    json_t *p = json_object(), *in = json_object();
    rf_buf b = RF_BUF_INIT;
    *params = *inputs = NULL;
    for (size_t k = 0; k < s->nwith; k++) {
        rf_buf_reset(&b);
        if (rf_tpl_render(s->with[k].val, lookup, &rd, &b, err) < 0) {
            rf_err_prefix(err, "step %s: with.%s", s->name, s->with[k].key);
            goto fail;
        }
        json_object_set_new(p, s->with[k].key, json_string(b.data ? b.data : ""));
    }
    if (render_inputs(&rd, in, err) < 0) {
        rf_err_prefix(err, "step %s", s->name);
        goto fail;
    }
    if (s->fan == RF_FAN_CHAIN && c->prev)
        chain_defaults(c, step, in);
    if (c->history)
        history_inputs(c, in);
    prune_inputs(in);
    *params = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
    *inputs = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS);
    rf_buf_free(&b);
    json_decref(p);
    json_decref(in);
    return 0;
fail:
    rf_buf_free(&b);
    json_decref(p);
    json_decref(in);
    return -1;
}

/* ------------------------------------------------------------ cache keys */

int rf_dag_cache_key(const char *type, const char *params, const char *inputs,
                     json_t *digests, char hex[RF_SHA256_HEX], rf_err *err)
{
    json_error_t je;
    json_t *in = json_loads(inputs, 0, &je);
    if (!json_is_object(in)) {
        json_decref(in);
        return rf_errf(err, RF_ECORRUPT, "cache key: inputs are not a JSON object");
    }
    const char *k;
    json_t *l;
    json_object_foreach(in, k, l) {
        size_t i;
        json_t *u;
        json_array_foreach(l, i, u) {
            json_t *d = json_object_get(digests, str_or(json_string_value(u)));
            if (json_is_string(d))
                json_array_set(l, i, d);
        }
    }
    char *canon = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(in);
    rf_sha256_ctx *h = rf_sha256_new();
    static const char tag[] = "ruvflow-cache-v1";
    rf_sha256_update(h, tag, sizeof tag);
    rf_sha256_update(h, type, strlen(type) + 1);
    rf_sha256_update(h, RF_VERSION, sizeof RF_VERSION);
    rf_sha256_update(h, params, strlen(params) + 1);
    rf_sha256_update(h, canon, strlen(canon) + 1);
    free(canon);
    uint8_t md[RF_SHA256_LEN];
    rf_sha256_final(h, md);
    rf_sha256_free(h);
    rf_hex(hex, md, RF_SHA256_LEN);
    return 0;
}

static int digest_path(const char *path, rf_sha256_ctx *h, int depth, rf_err *err);

static int digest_dir(const char *path, rf_sha256_ctx *h, int depth, rf_err *err)
{
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0)
        return rf_err_errno(err, "%s", path);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        if (rc == 0 && strcmp(nm, ".") && strcmp(nm, "..")) {
            rf_buf sub = RF_BUF_INIT;
            rf_buf_addf(&sub, "%s/%s", path, nm);
            rf_sha256_update(h, nm, strlen(nm) + 1);
            rc = digest_path(sub.data, h, depth + 1, err);
            rf_buf_free(&sub);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static int digest_path(const char *path, rf_sha256_ctx *h, int depth, rf_err *err)
{
    struct stat st;
    if (depth > 64)
        return rf_errf(err, RF_EINVAL, "%s: folders nested too deeply", path);
    if (stat(path, &st) < 0)
        return rf_err_errno(err, "%s", path);
    if (S_ISDIR(st.st_mode)) {
        rf_sha256_update(h, "d", 1);
        return digest_dir(path, h, depth, err);
    }
    char hex[RF_SHA256_HEX];
    if (rf_sha256_file(path, hex) < 0)
        return rf_err_errno(err, "%s", path);
    rf_sha256_update(h, "f", 1);
    rf_sha256_update(h, hex, RF_SHA256_HEX);
    return 0;
}

int rf_dag_input_digest(const char *url, char hex[RF_SHA256_HEX], rf_err *err)
{
    rf_sha256_ctx *h = rf_sha256_new();
    int rc = 0;
    if (!strncmp(url, "file://", 7))
        rc = digest_path(url + 7, h, 0, err);
    else
        rf_sha256_update(h, url, strlen(url));
    uint8_t md[RF_SHA256_LEN];
    rf_sha256_final(h, md);
    rf_sha256_free(h);
    if (rc < 0)
        return rf_err_prefix(err, "input digest");
    rf_hex(hex, md, RF_SHA256_LEN);
    return 0;
}

/* ------------------------------------------------------------- expansion */

int rf_dag_expand(const rf_workflow *wf, rf_dag_task **tasks, size_t *n, rf_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < wf->nsteps; i++) {
        total += wf->steps[i].ntasks;
        if (total > 100u * RF_WF_MAX_TASKS)
            return rf_errf(err, RF_ETOOBIG, "the workflow expands to too many tasks");
    }
    rf_dag_task *t = rf_xcalloc(total + 1, sizeof *t);
    size_t k = 0;
    for (size_t i = 0; i < wf->nsteps; i++)
        for (size_t j = 0; j < wf->steps[i].ntasks; j++) {
            t[k].step = i;
            t[k].index = j;
            t[k].after = wf->steps[i].fan == RF_FAN_CHAIN && j ? j : 0;
            k++;
        }
    *tasks = t;
    *n = total;
    return 0;
}
