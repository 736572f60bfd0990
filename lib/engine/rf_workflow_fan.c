/* rf_workflow_fan: foreach and chain fan-out: lists, ranges and matrices,
 * rendered at load time into the step's axes. */
#include "engine/rf_workflow_impl.h"

/* ------------------------------------------------------------------- steps */

/* Render params (only) into s; references to anything else are an error
 * here, since fan-out specifications are fixed at submit. */
int rf_workflow_static_lookup(void *ud, const rf_ref *r, rf_buf *out, rf_err *err)
{
    const rf_workflow *wf = ud;
    if (r->kind == RF_REF_PARAM) {
        const rf_wf_param *pm = rf_workflow_param(wf, r->key);
        if (!pm)
            return rf_errf(err, RF_EINVAL, "unknown parameter \"%s\"; declare it "
                           "under params", r->key);
        rf_buf_adds(out, pm->value);
        return 0;
    }
    return rf_errf(err, RF_EINVAL, "only params.NAME may be used here: fan-out "
                   "is decided when the run is submitted");
}

static char *render_static(parser *p, yaml_node_t *n, const char *s)
{
    rf_buf b = RF_BUF_INIT;
    rf_err e;
    if (rf_tpl_render(s, rf_workflow_static_lookup, p->wf, &b, &e) < 0) {
        DIAG(p, n, "%s", e.msg);
        rf_buf_free(&b);
        return NULL;
    }
    return rf_buf_detach(&b, NULL);
}

static void axis_push(rf_wf_axis *a, char *v)
{
    if ((a->n & (a->n - 1)) == 0 || a->n == 0)
        a->vals = rf_xrealloc(a->vals, (a->n ? a->n * 2 : 1) * sizeof *a->vals);
    a->vals[a->n++] = v;
}

/* A list given as a YAML sequence, or as "${{ params.X }}" of a list param. */
static void fan_list(parser *p, yaml_node_t *v, rf_wf_axis *a, const char *what)
{
    if (v->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = v->data.sequence.items.start;
             it < v->data.sequence.items.top; it++) {
            yaml_node_t *e = rf_workflow_node(p, *it);
            if (rf_workflow_expect_scalar(p, e, "an element of a fan-out list") < 0)
                continue;
            char *s = render_static(p, e, rf_workflow_scalar(e));
            if (s)
                axis_push(a, s);
        }
        return;
    }
    rf_ref r;
    rf_err e;
    const char *s = rf_workflow_scalar(v);
    int one = s ? rf_tpl_single_ref(s, &r, &e) : 0;
    if (one < 0) {
        DIAG(p, v, "%s", e.msg);
        return;
    }
    if (one == 1 && r.kind == RF_REF_PARAM) {
        const rf_wf_param *pm = rf_workflow_param(p->wf, r.key);
        if (!pm)
            DIAG(p, v, "unknown parameter \"%s\"; declare it under params", r.key);
        else if (pm->type != RF_WF_LIST)
            DIAG(p, v, "parameter \"%s\" is a %s; %s needs a list parameter or "
                 "[a, b, c]", r.key, rf_workflow_type_names[pm->type], what);
        else
            for (size_t i = 0; i < pm->nitems; i++)
                axis_push(a, rf_xstrdup(pm->items[i]));
        return;
    }
    DIAG(p, v, "%s must be a list ([a, b, c]), ${{ params.LIST }}, or a mapping "
         "with list, range or matrix", what);
}

static int range_bound(parser *p, yaml_node_t *n, long *out)
{
    if (rf_workflow_expect_scalar(p, n, "a range bound") < 0)
        return -1;
    char *s = render_static(p, n, rf_workflow_scalar(n));
    if (!s)
        return -1;
    int rc = rf_workflow_parse_long(s, out);
    if (rc < 0)
        DIAG(p, n, "range bound \"%s\" is not an integer", s);
    free(s);
    return rc;
}

/* range: N | [start, stop] | [start, stop, step]; stop is exclusive. */
static void fan_range(parser *p, yaml_node_t *v, rf_wf_axis *a)
{
    long b[3] = {0, 0, 1};
    size_t n = 0;
    if (v->type == YAML_SEQUENCE_NODE) {
        n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        if (n < 2 || n > 3) {
            DIAG(p, v, "range takes N, [start, stop] or [start, stop, step]");
            return;
        }
        for (size_t i = 0; i < n; i++)
            if (range_bound(p, rf_workflow_node(p, v->data.sequence.items.start[i]), &b[i]) < 0)
                return;
    } else if (range_bound(p, v, &b[1]) < 0) {
        return;
    }
    if (b[2] == 0) {
        DIAG(p, v, "range step must not be 0");
        return;
    }
    double count = ceil(((double)b[1] - (double)b[0]) / (double)b[2]);
    if (count < 1) {
        DIAG(p, v, "range [%ld, %ld) with step %ld is empty; check the bounds",
             b[0], b[1], b[2]);
        return;
    }
    if (count > (double)rf_workflow_max_tasks(p)) {
        DIAG(p, v, "range has %.0f elements; a workflow may have at most %zu tasks "
             "(raise it with --max-tasks)", count, rf_workflow_max_tasks(p));
        return;
    }
    a->vals = rf_xmalloc((size_t)count * sizeof *a->vals);
    for (long i = 0; i < (long)count; i++) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%ld", b[0] + i * b[2]);
        a->vals[i] = rf_xstrdup(tmp);
    }
    a->n = (size_t)count;
}

typedef struct fan_ctx {
    rf_wf_step *s;
    int chain;
    int seen;
} fan_ctx;

static rf_wf_axis *new_axis(rf_wf_step *s, const char *key)
{
    s->axes = rf_xrealloc(s->axes, (s->naxes + 1) * sizeof *s->axes);
    rf_wf_axis *a = &s->axes[s->naxes++];
    memset(a, 0, sizeof *a);
    a->key = rf_xstrdup(key);
    return a;
}

static int matrix_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                       void *ud)
{
    rf_wf_step *s = ud;
    if (!rf_workflow_valid_name(key)) {
        DIAG(p, k, "matrix key \"%s\" may use only letters, digits, _ and -", key);
        return 0;
    }
    fan_list(p, v, new_axis(s, key), "a matrix axis");
    return 0;
}

static int fan_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                    void *ud)
{
    fan_ctx *c = ud;
    if (c->seen++) {
        DIAG(p, k, "use only one of list, range and matrix");
        return 0;
    }
    if (!strcmp(key, "list"))
        fan_list(p, v, new_axis(c->s, ""), "list");
    else if (!strcmp(key, "range"))
        fan_range(p, v, new_axis(c->s, ""));
    else if (c->chain)
        DIAG(p, k, "chain cannot use a matrix; use list or range");
    else if (rf_workflow_expect_mapping(p, v, "matrix") == 0)
        rf_workflow_each_pair(p, v, NULL, "matrix", matrix_pair, c->s);
    return 0;
}

/* `foreach: ${{ steps.a.outputs.list }}` (Argo's withParam): the items are
 * an earlier step's output, read when it finishes, so the step has no tasks
 * at submit. 1 when v is such a reference (checked later, once every step
 * is known: rf_workflow_check_fan_from), 0 otherwise. */
static int fan_from_output(parser *p, rf_wf_step *s, yaml_node_t *v, int chain)
{
    rf_ref r;
    rf_err e;
    const char *txt = rf_workflow_scalar(v);
    if (!txt || !strstr(txt, "${{") || rf_tpl_single_ref(txt, &r, &e) != 1 ||
        (r.kind != RF_REF_OUTPUT && r.kind != RF_REF_METRIC) || r.prev)
        return 0;
    if (chain)
        DIAG(p, v, "chain cannot run over a step's output; use foreach");
    else if (r.kind == RF_REF_METRIC)
        DIAG(p, v, "foreach over a step's result needs an output "
             "(steps.%s.outputs.NAME, a JSON list), not a metric", r.step);
    s->fan_from = rf_xstrdup(txt);
    s->axes = rf_xcalloc(1, sizeof *s->axes);
    s->axes[0].key = rf_xstrdup("");
    s->naxes = 1;
    s->ntasks = 0;
    return 1;
}

void rf_workflow_parse_fan(parser *p, rf_wf_step *s, yaml_node_t *v, int chain)
{
    const char *what = chain ? "chain" : "foreach";
    if (s->fan != RF_FAN_NONE) {
        DIAG(p, v, "a step has either foreach or chain, not both; split it into two steps");
        return;
    }
    s->fan = chain ? RF_FAN_CHAIN : RF_FAN_FOREACH;
    if (fan_from_output(p, s, v, chain))
        return;
    size_t before = p->d->n;
    if (v->type == YAML_MAPPING_NODE) {
        fan_ctx c = {s, chain, 0};
        rf_workflow_each_pair(p, v, rf_workflow_fan_keys, what, fan_pair, &c);
        if (!c.seen)
            DIAG(p, v, "%s needs one of list, range or matrix", what);
    } else {
        fan_list(p, v, new_axis(s, ""), what);
    }
    if (p->d->n != before)
        return;   /* the axis already said what is wrong */
    double total = 1;
    for (size_t i = 0; i < s->naxes; i++)
        total *= (double)s->axes[i].n;
    if (s->naxes && total == 0)
        DIAG(p, v, "%s is empty: the step would have no tasks", what);
    else if (total > (double)rf_workflow_max_tasks(p))
        DIAG(p, v, "%s expands to %.0f tasks; a workflow may have at most %zu "
             "(raise it with --max-tasks)", what, total, rf_workflow_max_tasks(p));
    else
        s->ntasks = (size_t)total;
}

/* Location of a scalar's first character of content (after a quote), so
 * offsets into its text give columns. */
