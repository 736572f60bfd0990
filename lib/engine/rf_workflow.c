/* rf_workflow: parse a workflow file with libyaml's document API (nodes
 * carry their line and column) into the model of rf_workflow.h, collecting
 * every problem with its place and a hint. */
#include "engine/rf_workflow.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "base/rf_buf.h"
#include "base/rf_config.h"
#include "engine/rf_template.h"

const char *const rf_wf_workers[] = {
    "preprocess", "train-stage", "tune-trial", "eval-fold", "checkpoint-compact",
    "noop", "sleep", NULL
};

static const char *const top_keys[] = {"name", "description", "params", "steps", NULL};
static const char *const param_keys[] = {"type", "default", "description", NULL};
static const char *const step_keys[] = {
    "worker", "description", "with", "inputs", "needs", "foreach", "chain",
    "when", "retries", "timeout", "priority", "pool", "tier", "cache", "spawn", NULL
};
static const char *const retry_keys[] = {"count", "backoff", "cap", "jitter", NULL};
static const char *const fan_keys[] = {"list", "range", "matrix", NULL};
static const char *const type_names[] = {"string", "int", "float", "bool", "list", NULL};

typedef struct parser {
    yaml_document_t doc;
    rf_workflow *wf;
    rf_wf_diags *d;
    const char *dir;   /* of the workflow file, for relative input paths */
} parser;

/* ---------------------------------------------------------------- diags */

static void diag_at(rf_wf_diags *d, rf_wf_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void diag_at(rf_wf_diags *d, rf_wf_loc loc, const char *fmt, ...)
{
    rf_buf b = RF_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    rf_buf_grow(&b, (size_t)(n > 0 ? n : 0));
    va_start(ap, fmt);
    vsnprintf(b.data, (size_t)n + 1, fmt, ap);
    va_end(ap);
    d->v = rf_xrealloc(d->v, (d->n + 1) * sizeof *d->v);
    d->v[d->n].loc = loc;
    d->v[d->n].msg = b.data;
    d->n++;
}

static rf_wf_loc loc_of(const yaml_node_t *n)
{
    rf_wf_loc l = {0, 0};
    if (n) {
        l.line = (int)n->start_mark.line + 1;
        l.col = (int)n->start_mark.column + 1;
    }
    return l;
}

#define DIAG(p, node, ...) diag_at((p)->d, loc_of(node), __VA_ARGS__)

static int diag_cmp(const void *a, const void *b)
{
    const rf_wf_diag *x = a, *y = b;
    if (x->loc.line != y->loc.line)
        return x->loc.line - y->loc.line;
    return x->loc.col - y->loc.col;
}

void rf_wf_diags_print(const rf_wf_diags *d, const char *file, FILE *f)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->v[i].loc.line)
            fprintf(f, "%s:%d:%d: %s\n", file, d->v[i].loc.line, d->v[i].loc.col,
                    d->v[i].msg);
        else
            fprintf(f, "%s: %s\n", file, d->v[i].msg);
    }
}

void rf_wf_diags_free(rf_wf_diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].msg);
    free(d->v);
    d->v = NULL;
    d->n = 0;
}

/* ------------------------------------------------------------- yaml nodes */

static yaml_node_t *node(parser *p, int id)
{
    return yaml_document_get_node(&p->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a value";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

static int expect_scalar(parser *p, const yaml_node_t *n, const char *what)
{
    if (n->type == YAML_SCALAR_NODE)
        return 0;
    DIAG(p, n, "%s must be a single value, not %s", what, kind_name(n));
    return -1;
}

static int expect_mapping(parser *p, const yaml_node_t *n, const char *what)
{
    if (n->type == YAML_MAPPING_NODE)
        return 0;
    DIAG(p, n, "%s must be a mapping (key: value lines), not %s", what, kind_name(n));
    return -1;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 32 || lb > 32)
        return 99;
    size_t row[33];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(list[i], s))
            return 1;
    return 0;
}

static void list_join(rf_buf *b, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        rf_buf_addf(b, "%s%s", i ? ", " : "", list[i]);
}

/* "unknown key "wiht"; did you mean "with"? (known keys: ...)" */
static void unknown_word(parser *p, const yaml_node_t *n, const char *what,
                         const char *word, const char *const *known)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (size_t i = 0; known[i]; i++) {
        size_t dd = edit_distance(word, known[i]);
        if (dd < bestd)
            bestd = dd, best = known[i];
    }
    rf_buf b = RF_BUF_INIT;
    list_join(&b, known);
    if (best)
        DIAG(p, n, "unknown %s \"%s\"; did you mean \"%s\"?", what, word, best);
    else
        DIAG(p, n, "unknown %s \"%s\"; expected one of: %s", what, word, b.data);
    rf_buf_free(&b);
}

typedef int (*pair_fn)(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                       void *ud);

/* Walk a mapping: reject non-scalar and duplicate keys, unknown keys (when
 * known is given), and call fn for the others. */
static void each_pair(parser *p, yaml_node_t *map, const char *const *known,
                      const char *what, pair_fn fn, void *ud)
{
    yaml_node_pair_t *a = map->data.mapping.pairs.start;
    yaml_node_pair_t *z = map->data.mapping.pairs.top;
    for (yaml_node_pair_t *i = a; i < z; i++) {
        yaml_node_t *k = node(p, i->key), *v = node(p, i->value);
        const char *key = scalar(k);
        if (!key) {
            DIAG(p, k, "%s keys must be plain names, not %s", what, kind_name(k));
            continue;
        }
        int dup = 0;
        for (yaml_node_pair_t *j = a; j < i && !dup; j++) {
            const char *other = scalar(node(p, j->key));
            dup = other && !strcmp(other, key);
        }
        if (dup) {
            DIAG(p, k, "duplicate key \"%s\"; remove one of them", key);
            continue;
        }
        if (known && !in_list(known, key)) {
            unknown_word(p, k, "key", key, known);
            continue;
        }
        fn(p, key, k, v, ud);
    }
}

static int valid_name(const char *s)
{
    if (!*s || strlen(s) >= RF_REF_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

/* ---------------------------------------------------------- value parsing */

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const t[] = {"true", "yes", "on", "1", NULL};
    static const char *const f[] = {"false", "no", "off", "0", NULL};
    for (size_t i = 0; t[i]; i++) {
        if (!strcasecmp(s, t[i]))
            return *out = 1, 0;
        if (!strcasecmp(s, f[i]))
            return *out = 0, 0;
    }
    return -1;
}

/* Durations: "250ms", "2s", "1.5m", "1h", or a bare number of seconds. */
static int parse_duration_ms(const char *s, long *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || !isfinite(v))
        return -1;
    double mul;
    if (!*end || !strcmp(end, "s"))
        mul = 1000;
    else if (!strcmp(end, "ms"))
        mul = 1;
    else if (!strcmp(end, "m"))
        mul = 60000;
    else if (!strcmp(end, "h"))
        mul = 3600000;
    else
        return -1;
    if (v * mul > (double)LONG_MAX / 2)
        return -1;
    *out = (long)(v * mul + 0.5);
    return 0;
}

/* Canonical text of a typed value ("1.50" as float -> "1.5"). */
static int canonical(int type, const char *s, rf_buf *out)
{
    long l;
    double d;
    int b;
    switch (type) {
    case RF_WF_INT:
        if (parse_long(s, &l) < 0)
            return -1;
        rf_buf_addf(out, "%ld", l);
        return 0;
    case RF_WF_FLOAT:
        if (parse_double(s, &d) < 0)
            return -1;
        rf_buf_addf(out, "%.17g", d);
        /* Shortest text that round-trips, so 0.1 stays "0.1". */
        for (int prec = 1; prec <= 17; prec++) {
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%.*g", prec, d);
            if (strtod(tmp, NULL) == d) {
                rf_buf_reset(out);
                rf_buf_adds(out, tmp);
                break;
            }
        }
        return 0;
    case RF_WF_BOOL:
        if (parse_bool(s, &b) < 0)
            return -1;
        rf_buf_adds(out, b ? "true" : "false");
        return 0;
    default:
        rf_buf_adds(out, s);
        return 0;
    }
}

static int infer_type(const yaml_node_t *n)
{
    if (n->type == YAML_SEQUENCE_NODE)
        return RF_WF_LIST;
    const char *s = scalar(n);
    long l;
    double d;
    if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return RF_WF_STRING;
    if (parse_long(s, &l) == 0)
        return RF_WF_INT;
    if (parse_double(s, &d) == 0)
        return RF_WF_FLOAT;
    if (!strcmp(s, "true") || !strcmp(s, "false"))
        return RF_WF_BOOL;
    return RF_WF_STRING;
}

/* ------------------------------------------------------------------ params */

static void param_set_list(rf_wf_param *pm, char **items, size_t n)
{
    for (size_t i = 0; i < pm->nitems; i++)
        free(pm->items[i]);
    free(pm->items);
    pm->items = items;
    pm->nitems = n;
    rf_buf b = RF_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        rf_buf_addf(&b, "%s%s", i ? "," : "", items[i]);
    free(pm->value);
    pm->value = rf_buf_detach(&b, NULL);
}

static void param_value(parser *p, rf_wf_param *pm, yaml_node_t *v)
{
    if (pm->type == RF_WF_LIST) {
        if (v->type != YAML_SEQUENCE_NODE) {
            DIAG(p, v, "parameter \"%s\" is a list: write [a, b, c]", pm->name);
            return;
        }
        size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        char **items = rf_xcalloc(n + 1, sizeof *items);
        size_t k = 0;
        for (yaml_node_item_t *it = v->data.sequence.items.start;
             it < v->data.sequence.items.top; it++) {
            yaml_node_t *e = node(p, *it);
            if (expect_scalar(p, e, "a list parameter's element") == 0)
                items[k++] = rf_xstrdup(scalar(e));
        }
        param_set_list(pm, items, k);
        return;
    }
    if (expect_scalar(p, v, "a parameter's default") < 0)
        return;
    rf_buf b = RF_BUF_INIT;
    if (canonical(pm->type, scalar(v), &b) < 0)
        DIAG(p, v, "default \"%s\" of parameter \"%s\" is not a valid %s; "
             "fix the value or the type", scalar(v), pm->name, type_names[pm->type]);
    else {
        free(pm->value);
        pm->value = rf_xstrdup(b.data);
    }
    rf_buf_free(&b);
}

typedef struct param_ctx {
    rf_wf_param *pm;
    yaml_node_t *def;
    int typed;
} param_ctx;

static int param_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                      void *ud)
{
    param_ctx *c = ud;
    if (!strcmp(key, "type")) {
        const char *t = scalar(v);
        int found = -1;
        for (int i = 0; t && type_names[i]; i++)
            if (!strcmp(t, type_names[i]))
                found = i;
        if (found < 0) {
            if (t)
                unknown_word(p, v, "type", t, type_names);
            else
                DIAG(p, v, "type must be one of string, int, float, bool, list");
        } else {
            c->pm->type = found;
            c->typed = 1;
        }
    } else if (!strcmp(key, "default")) {
        c->def = v;
    } else if (!strcmp(key, "description")) {
        if (expect_scalar(p, v, "description") == 0)
            c->pm->desc = rf_xstrdup(scalar(v));
    }
    return 0;
}

static int params_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                       void *ud)
{
    rf_workflow *wf = p->wf;
    if (!valid_name(key)) {
        DIAG(p, k, "parameter name \"%s\" may use only letters, digits, _ and -", key);
        return 0;
    }
    wf->params = rf_xrealloc(wf->params, (wf->nparams + 1) * sizeof *wf->params);
    rf_wf_param *pm = &wf->params[wf->nparams++];
    memset(pm, 0, sizeof *pm);
    pm->name = rf_xstrdup(key);
    pm->loc = loc_of(v);
    param_ctx c = {pm, v, 0};
    if (v->type == YAML_MAPPING_NODE) {
        c.def = NULL;
        each_pair(p, v, param_keys, "parameter", param_pair, &c);
        if (!c.def) {
            DIAG(p, v, "parameter \"%s\" has no default; add `default: VALUE`", key);
            pm->value = rf_xstrdup("");
            return 0;
        }
    }
    if (!c.typed)
        pm->type = infer_type(c.def);
    param_value(p, pm, c.def);
    if (!pm->value)
        pm->value = rf_xstrdup("");
    return 0;
}

static void apply_override(parser *p, const char *ov)
{
    const char *eq = strchr(ov, '=');
    rf_wf_loc none = {0, 0};
    if (!eq || eq == ov) {
        diag_at(p->d, none, "-p %s: expected KEY=VALUE", ov);
        return;
    }
    char *key = strndup(ov, (size_t)(eq - ov));
    const rf_wf_param *cpm = rf_workflow_param(p->wf, key);
    if (!cpm) {
        diag_at(p->d, none, "-p %s: the workflow has no parameter \"%s\"; "
                "declare it under params", ov, key);
        free(key);
        return;
    }
    rf_wf_param *pm = (rf_wf_param *)cpm;
    const char *val = eq + 1;
    if (pm->type == RF_WF_LIST) {
        size_t n = 0, cap = 4;
        char **items = rf_xcalloc(cap, sizeof *items);
        const char *s = val;
        while (*val) {
            const char *c = strchr(s, ',');
            size_t len = c ? (size_t)(c - s) : strlen(s);
            if (n + 1 >= cap)
                items = rf_xrealloc(items, (cap *= 2) * sizeof *items);
            items[n++] = strndup(s, len);
            if (!c)
                break;
            s = c + 1;
        }
        param_set_list(pm, items, n);
    } else {
        rf_buf b = RF_BUF_INIT;
        if (canonical(pm->type, val, &b) < 0)
            diag_at(p->d, none, "-p %s: \"%s\" is not a valid %s", ov, val,
                    type_names[pm->type]);
        else {
            free(pm->value);
            pm->value = rf_buf_detach(&b, NULL);
        }
        rf_buf_free(&b);
    }
    free(key);
}

/* ------------------------------------------------------------------- steps */

/* Render params (only) into s; references to anything else are an error
 * here, since fan-out specifications are fixed at submit. */
static int static_lookup(void *ud, const rf_ref *r, rf_buf *out, rf_err *err)
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
    if (rf_tpl_render(s, static_lookup, p->wf, &b, &e) < 0) {
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
            yaml_node_t *e = node(p, *it);
            if (expect_scalar(p, e, "an element of a fan-out list") < 0)
                continue;
            char *s = render_static(p, e, scalar(e));
            if (s)
                axis_push(a, s);
        }
        return;
    }
    rf_ref r;
    rf_err e;
    const char *s = scalar(v);
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
                 "[a, b, c]", r.key, type_names[pm->type], what);
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
    if (expect_scalar(p, n, "a range bound") < 0)
        return -1;
    char *s = render_static(p, n, scalar(n));
    if (!s)
        return -1;
    int rc = parse_long(s, out);
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
            if (range_bound(p, node(p, v->data.sequence.items.start[i]), &b[i]) < 0)
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
    if (count > RF_WF_MAX_TASKS) {
        DIAG(p, v, "range has %.0f elements; at most %u are allowed", count,
             RF_WF_MAX_TASKS);
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
    if (!valid_name(key)) {
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
    else if (expect_mapping(p, v, "matrix") == 0)
        each_pair(p, v, NULL, "matrix", matrix_pair, c->s);
    return 0;
}

static void parse_fan(parser *p, rf_wf_step *s, yaml_node_t *v, int chain)
{
    const char *what = chain ? "chain" : "foreach";
    if (s->fan != RF_FAN_NONE) {
        DIAG(p, v, "a step has either foreach or chain, not both; split it into two steps");
        return;
    }
    s->fan = chain ? RF_FAN_CHAIN : RF_FAN_FOREACH;
    size_t before = p->d->n;
    if (v->type == YAML_MAPPING_NODE) {
        fan_ctx c = {s, chain, 0};
        each_pair(p, v, fan_keys, what, fan_pair, &c);
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
    else if (total > RF_WF_MAX_TASKS)
        DIAG(p, v, "%s expands to %.0f tasks; at most %u are allowed", what, total,
             RF_WF_MAX_TASKS);
    else
        s->ntasks = (size_t)total;
}

/* Location of a scalar's first character of content (after a quote), so
 * offsets into its text give columns. */
static rf_wf_loc content_loc(const yaml_node_t *n)
{
    rf_wf_loc l = loc_of(n);
    if (n->type == YAML_SCALAR_NODE &&
        (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
         n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE))
        l.col++;
    return l;
}

static void kv_push(rf_wf_kv **a, size_t *n, const char *key, const char *val,
                    rf_wf_loc loc)
{
    *a = rf_xrealloc(*a, (*n + 1) * sizeof **a);
    (*a)[*n].key = rf_xstrdup(key);
    (*a)[*n].val = rf_xstrdup(val);
    (*a)[*n].loc = loc;
    (*n)++;
}

/* `with` values: scalars, or lists of scalars joined with "," ("hidden: [64,
 * 32]" reaches the worker as "64,32"). */
static int with_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                     void *ud)
{
    rf_wf_step *s = ud;
    if (!valid_name(key)) {
        DIAG(p, k, "parameter name \"%s\" may use only letters, digits, _ and -", key);
        return 0;
    }
    if (v->type == YAML_SCALAR_NODE) {
        kv_push(&s->with, &s->nwith, key, scalar(v), content_loc(v));
        return 0;
    }
    if (v->type != YAML_SEQUENCE_NODE) {
        DIAG(p, v, "with.%s must be a value or a list of values, not a mapping", key);
        return 0;
    }
    rf_buf b = RF_BUF_INIT;
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = node(p, *it);
        if (expect_scalar(p, e, "an element of a with list") == 0)
            rf_buf_addf(&b, "%s%s", b.len ? "," : "", scalar(e));
    }
    kv_push(&s->with, &s->nwith, key, b.data ? b.data : "", loc_of(v));
    rf_buf_free(&b);
    return 0;
}

static int inputs_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                       void *ud)
{
    rf_wf_step *s = ud;
    if (!valid_name(key)) {
        DIAG(p, k, "input name \"%s\" may use only letters, digits, _ and -", key);
        return 0;
    }
    if (v->type == YAML_SCALAR_NODE) {
        kv_push(&s->inputs, &s->ninputs, key, scalar(v), content_loc(v));
        return 0;
    }
    if (v->type != YAML_SEQUENCE_NODE) {
        DIAG(p, v, "inputs.%s must be a reference, a store URL or a list of them", key);
        return 0;
    }
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = node(p, *it);
        if (expect_scalar(p, e, "an input") == 0)
            kv_push(&s->inputs, &s->ninputs, key, scalar(e), content_loc(e));
    }
    return 0;
}

typedef struct step_ctx {
    rf_wf_step *s;
    yaml_node_t **need_nodes;   /* explicit needs, resolved after all steps */
    size_t nneed_nodes;
    int has_worker;
} step_ctx;

static int scalar_long(parser *p, yaml_node_t *v, const char *what, long lo, long hi,
                       long *out)
{
    long l;
    if (expect_scalar(p, v, what) < 0)
        return -1;
    if (parse_long(scalar(v), &l) < 0 || l < lo || l > hi) {
        DIAG(p, v, "%s must be an integer from %ld to %ld, not \"%s\"", what, lo, hi,
             scalar(v));
        return -1;
    }
    *out = l;
    return 0;
}

static int scalar_duration(parser *p, yaml_node_t *v, const char *what, long *out)
{
    if (expect_scalar(p, v, what) < 0)
        return -1;
    if (parse_duration_ms(scalar(v), out) < 0) {
        DIAG(p, v, "%s \"%s\" is not a duration; write e.g. 500ms, 2s, 5m or 1h",
             what, scalar(v));
        return -1;
    }
    return 0;
}

static int retry_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                      void *ud)
{
    rf_wf_retry *r = ud;
    long l;
    if (!strcmp(key, "count")) {
        if (scalar_long(p, v, "retries.count", 0, 100, &l) == 0)
            r->count = (int)l;
    } else if (!strcmp(key, "backoff")) {
        scalar_duration(p, v, "retries.backoff", &r->base_ms);
    } else if (!strcmp(key, "cap")) {
        scalar_duration(p, v, "retries.cap", &r->cap_ms);
    } else if (expect_scalar(p, v, "retries.jitter") == 0) {
        double d;
        if (parse_double(scalar(v), &d) < 0 || d < 0 || d > 1)
            DIAG(p, v, "retries.jitter must be a number from 0 to 1, not \"%s\"",
                 scalar(v));
        else
            r->jitter = d;
    }
    return 0;
}

static int step_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                     void *ud)
{
    step_ctx *c = ud;
    rf_wf_step *s = c->s;
    long l;
    if (!strcmp(key, "worker")) {
        c->has_worker = 1;
        if (expect_scalar(p, v, "worker") < 0)
            return 0;
        if (!in_list(rf_wf_workers, scalar(v)))
            unknown_word(p, v, "worker", scalar(v), rf_wf_workers);
        else
            s->worker = rf_xstrdup(scalar(v));
    } else if (!strcmp(key, "description")) {
        if (expect_scalar(p, v, "description") == 0)
            s->desc = rf_xstrdup(scalar(v));
    } else if (!strcmp(key, "with")) {
        if (expect_mapping(p, v, "with") == 0)
            each_pair(p, v, NULL, "with", with_pair, s);
    } else if (!strcmp(key, "inputs")) {
        if (expect_mapping(p, v, "inputs") == 0)
            each_pair(p, v, NULL, "inputs", inputs_pair, s);
    } else if (!strcmp(key, "needs")) {
        if (v->type == YAML_SCALAR_NODE) {
            c->need_nodes = rf_xrealloc(c->need_nodes, (c->nneed_nodes + 1) * sizeof v);
            c->need_nodes[c->nneed_nodes++] = v;
        } else if (v->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++) {
                yaml_node_t *e = node(p, *it);
                if (expect_scalar(p, e, "an element of needs") < 0)
                    continue;
                c->need_nodes = rf_xrealloc(c->need_nodes,
                                            (c->nneed_nodes + 1) * sizeof e);
                c->need_nodes[c->nneed_nodes++] = e;
            }
        } else {
            DIAG(p, v, "needs must be a step name or a list of step names");
        }
    } else if (!strcmp(key, "foreach") || !strcmp(key, "chain")) {
        parse_fan(p, s, v, key[0] == 'c');
    } else if (!strcmp(key, "when")) {
        if (expect_scalar(p, v, "when") == 0) {
            s->when = rf_xstrdup(scalar(v)); /* checked once all steps are known */
        }
    } else if (!strcmp(key, "retries")) {
        if (v->type == YAML_MAPPING_NODE)
            each_pair(p, v, retry_keys, "retries", retry_pair, &s->retry);
        else if (scalar_long(p, v, "retries", 0, 100, &l) == 0)
            s->retry.count = (int)l;
    } else if (!strcmp(key, "timeout")) {
        scalar_duration(p, v, "timeout", &s->timeout_ms);
    } else if (!strcmp(key, "priority")) {
        if (scalar_long(p, v, "priority", 0, 9, &l) == 0)
            s->priority = (int)l;
    } else if (!strcmp(key, "pool")) {
        if (expect_scalar(p, v, "pool") == 0) {
            if (!valid_name(scalar(v)))
                DIAG(p, v, "pool name \"%s\" may use only letters, digits, _ and -",
                     scalar(v));
            else {
                free(s->pool);
                s->pool = rf_xstrdup(scalar(v));
            }
        }
    } else if (!strcmp(key, "tier")) {
        static const char *const tiers[] = {"hot", "warm", "cold", NULL};
        if (expect_scalar(p, v, "tier") < 0)
            return 0;
        int t = -1;
        for (int ti = 0; tiers[ti]; ti++)
            if (!strcmp(scalar(v), tiers[ti]))
                t = ti;
        if (t < 0)
            unknown_word(p, v, "tier", scalar(v), tiers);
        else
            s->tier = t;
    } else if (!strcmp(key, "cache")) {
        if (expect_scalar(p, v, "cache") == 0 && parse_bool(scalar(v), &s->cache) < 0)
            DIAG(p, v, "cache must be true or false, not \"%s\"", scalar(v));
    } else if (!strcmp(key, "spawn")) {
        if (scalar_long(p, v, "spawn", 0, 100000, &l) == 0)
            s->spawn_max = (size_t)l;
    }
    return 0;
}

static int steps_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                      void *ud)
{
    step_ctx **ctxs = ud;
    rf_workflow *wf = p->wf;
    if (!valid_name(key) || !strcmp(key, "prev")) {
        DIAG(p, k, "step name \"%s\" may use only letters, digits, _ and - "
             "(and cannot be \"prev\")", key);
        return 0;
    }
    if (expect_mapping(p, v, "a step") < 0)
        return 0;
    wf->steps = rf_xrealloc(wf->steps, (wf->nsteps + 1) * sizeof *wf->steps);
    *ctxs = rf_xrealloc(*ctxs, (wf->nsteps + 1) * sizeof **ctxs);
    rf_wf_step *s = &wf->steps[wf->nsteps];
    step_ctx *c = &(*ctxs)[wf->nsteps++];
    memset(s, 0, sizeof *s);
    memset(c, 0, sizeof *c);
    c->s = s;
    s->name = rf_xstrdup(key);
    s->loc = loc_of(k);
    s->ntasks = 1;
    s->retry = (rf_wf_retry){2, 1000, 60000, 0.2};
    s->timeout_ms = 3600000;
    s->priority = 5;
    s->pool = rf_xstrdup("default");
    s->tier = RF_TIER_HOT;
    s->cache = 1;
    each_pair(p, v, step_keys, "step", step_pair, c);
    if (!c->has_worker)
        DIAG(p, k, "step \"%s\" has no worker; add `worker: NAME` (one of "
             "preprocess, train-stage, tune-trial, eval-fold, checkpoint-compact, "
             "noop, sleep)", key);
    if (s->retry.cap_ms < s->retry.base_ms)
        s->retry.cap_ms = s->retry.base_ms;
    return 0;
}

/* ------------------------------------------------------------ references */

static void add_need(rf_wf_step *s, size_t dep)
{
    for (size_t i = 0; i < s->nneeds; i++)
        if (s->needs[i] == dep)
            return;
    s->needs = rf_xrealloc(s->needs, (s->nneeds + 1) * sizeof *s->needs);
    s->needs[s->nneeds++] = dep;
}

typedef struct ref_ctx {
    parser *p;
    rf_wf_step *s;
    size_t self;
    rf_wf_loc loc;
    const char *where;    /* "with.lr", "inputs.data", "when" */
} ref_ctx;

static int has_axis(const rf_wf_step *s, const char *key)
{
    for (size_t i = 0; i < s->naxes; i++)
        if (!strcmp(s->axes[i].key, key))
            return 1;
    return 0;
}

/* Check one reference in a step's template; record implied needs. */
static int check_ref(void *ud, const rf_ref *r, size_t off, size_t len, rf_err *err)
{
    ref_ctx *c = ud;
    rf_wf_step *s = c->s;
    rf_workflow *wf = c->p->wf;
    switch (r->kind) {
    case RF_REF_PARAM:
        if (!rf_workflow_param(wf, r->key))
            return rf_errf(err, RF_EINVAL, "%s: unknown parameter \"%s\"; declare it "
                           "under params", c->where, r->key);
        return 0;
    case RF_REF_ITEM:
        if (s->fan == RF_FAN_NONE)
            return rf_errf(err, RF_EINVAL, "%s: ${{ item }} is only defined in "
                           "steps with foreach or chain", c->where);
        if (r->key[0] && !has_axis(s, r->key))
            return rf_errf(err, RF_EINVAL, "%s: item.%s: the step's foreach has no "
                           "matrix key \"%s\"", c->where, r->key, r->key);
        if (!r->key[0] && s->naxes == 1 && s->axes[0].key[0])
            return rf_errf(err, RF_EINVAL, "%s: use item.%s for a matrix",
                           c->where, s->axes[0].key);
        if (!r->key[0] && s->naxes > 1)
            return rf_errf(err, RF_EINVAL, "%s: a matrix item has several keys; "
                           "use item.KEY", c->where);
        return 0;
    case RF_REF_INDEX:
    case RF_REF_RUN_ID:
        return 0;
    default:
        break;
    }
    if (r->prev) {
        if (s->fan != RF_FAN_CHAIN)
            return rf_errf(err, RF_EINVAL, "%s: prev.* is only defined in chain steps",
                           c->where);
        return 0;
    }
    size_t dep;
    if (!rf_workflow_step(wf, r->step, &dep))
        return rf_errf(err, RF_EINVAL, "%s: no step named \"%s\"; check the name "
                       "under steps", c->where, r->step);
    if (dep == c->self)
        return rf_errf(err, RF_EINVAL, "%s: step \"%s\" refers to its own results",
                       c->where, r->step);
    add_need(s, dep);
    return 0;
}

/* Column of byte off inside a scalar, for plain and single-line quoted
 * styles; multi-line scalars point at the value's start. */
static rf_wf_loc loc_in(rf_wf_loc base, const char *val, size_t off)
{
    if (memchr(val, '\n', off))
        return base;
    base.col += (int)off;
    return base;
}

static void check_template(parser *p, ref_ctx *c, const char *val)
{
    rf_err e;
    size_t bad = 0;
    if (rf_tpl_scan(val, check_ref, c, &bad, &e) < 0)
        diag_at(p->d, loc_in(c->loc, val, bad), "%s", e.msg);
}

/* Values of `when` are checked by evaluating them with every reference
 * standing for 0: that finds syntax errors without knowing any result. */
static int zero_lookup(void *ud, const rf_ref *r, rf_buf *out, rf_err *err)
{
    rf_buf_adds(out, "0");
    return 0;
}

/* A local path input becomes a file:// URL of its canonical path: relative
 * to the workflow file (so it runs from anywhere), without "." or ".."
 * segments (the store refuses those) and naming a file that exists now,
 * rather than failing later in a worker. */
static void local_input(parser *p, rf_wf_kv *kv, const char *path)
{
    rf_buf abs = RF_BUF_INIT;
    if (path[0] != '/')
        rf_buf_addf(&abs, "%s/", p->dir);
    rf_buf_adds(&abs, path);
    char *real = realpath(abs.data, NULL);
    if (!real) {
        diag_at(p->d, kv->loc, "inputs.%s: %s: %s; give an existing file or folder "
                "(a relative path is relative to the workflow file)", kv->key, abs.data,
                strerror(errno));
    } else {
        rf_buf u = RF_BUF_INIT;
        rf_buf_addf(&u, "file://%s", real);
        free(kv->val);
        kv->val = rf_buf_detach(&u, NULL);
    }
    free(real);
    rf_buf_free(&abs);
}

static void check_input(parser *p, ref_ctx *c, rf_wf_kv *kv)
{
    rf_ref r;
    rf_err e;
    int one = rf_tpl_single_ref(kv->val, &r, &e);
    if (one < 0) {
        diag_at(p->d, kv->loc, "inputs.%s: %s", kv->key, e.msg);
        return;
    }
    if (one == 1 && r.kind != RF_REF_PARAM) {
        if (r.kind != RF_REF_OUTPUT) {
            diag_at(p->d, kv->loc, "inputs.%s: an input must be an output "
                    "(steps.STEP.outputs.NAME), a store URL or a path", kv->key);
            return;
        }
        check_ref(c, &r, 0, 0, &e) < 0 ? diag_at(p->d, kv->loc, "%s", e.msg) : (void)0;
        return;
    }
    /* A URL or path, maybe built from params: fixed at submit. */
    rf_buf b = RF_BUF_INIT;
    if (rf_tpl_render(kv->val, static_lookup, p->wf, &b, &e) < 0) {
        diag_at(p->d, kv->loc, "inputs.%s: %s", kv->key, e.msg);
        rf_buf_free(&b);
        return;
    }
    const char *v = b.data;
    if (!*v) {
        diag_at(p->d, kv->loc, "inputs.%s is empty; give a reference, URL or path",
                kv->key);
    } else if (strstr(v, "://")) {
        if (strncmp(v, "file://", 7) && strncmp(v, "s3://", 5))
            diag_at(p->d, kv->loc, "inputs.%s: unsupported URL \"%s\"; use file:// "
                    "or s3://", kv->key, v);
        free(kv->val);
        kv->val = rf_buf_detach(&b, NULL);
    } else {
        local_input(p, kv, v);
    }
    rf_buf_free(&b);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files under dir (recursively, dot files skipped), sorted, appended. */
static int list_files(const char *dir, char ***out, size_t *n, int depth)
{
    DIR *d = opendir(dir);
    if (!d || depth > 16) {
        if (d)
            closedir(d);
        return -1;
    }
    struct dirent *e;
    char **mine = NULL;
    size_t nmine = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        rf_buf b = RF_BUF_INIT;
        rf_buf_addf(&b, "%s/%s", dir, e->d_name);
        mine = rf_xrealloc(mine, (nmine + 1) * sizeof *mine);
        mine[nmine++] = rf_buf_detach(&b, NULL);
    }
    closedir(d);
    qsort(mine, nmine, sizeof *mine, name_cmp);
    int rc = 0;
    for (size_t i = 0; i < nmine; i++) {
        struct stat st;
        if (rc == 0 && stat(mine[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = list_files(mine[i], out, n, depth + 1);
        } else if (rc == 0 && *n < 10000) {
            *out = rf_xrealloc(*out, (*n + 1) * sizeof **out);
            (*out)[(*n)++] = mine[i];
            mine[i] = NULL;
        } else if (rc == 0) {
            rc = -1;
        }
        free(mine[i]);
    }
    free(mine);
    return rc;
}

/* An input that names a local folder stands for the files in it: the
 * runtime fetches objects, not folders. */
static void expand_folders(parser *p, rf_wf_step *s)
{
    rf_wf_kv *out = NULL;
    size_t n = 0;
    for (size_t k = 0; k < s->ninputs; k++) {
        rf_wf_kv *kv = &s->inputs[k];
        struct stat st;
        char **files = NULL;
        size_t nf = 0;
        if (strncmp(kv->val, "file://", 7) || stat(kv->val + 7, &st) < 0 ||
            !S_ISDIR(st.st_mode)) {
            out = rf_xrealloc(out, (n + 1) * sizeof *out);
            out[n++] = *kv;
            continue;
        }
        if (list_files(kv->val + 7, &files, &nf, 0) < 0 || nf == 0)
            diag_at(p->d, kv->loc, "inputs.%s: folder %s %s", kv->key, kv->val + 7,
                    nf ? "has more than 10,000 files (or unreadable ones); name "
                         "files or a store prefix instead" : "has no files");
        for (size_t i = 0; i < nf; i++) {
            rf_buf u = RF_BUF_INIT;
            rf_buf_addf(&u, "file://%s", files[i]);
            out = rf_xrealloc(out, (n + 1) * sizeof *out);
            out[n].key = rf_xstrdup(kv->key);
            out[n].val = rf_buf_detach(&u, NULL);
            out[n++].loc = kv->loc;
            free(files[i]);
        }
        free(files);
        free(kv->key);
        free(kv->val);
    }
    free(s->inputs);
    s->inputs = out;
    s->ninputs = n;
}

static void resolve_step(parser *p, size_t i, step_ctx *c)
{
    rf_workflow *wf = p->wf;
    rf_wf_step *s = &wf->steps[i];
    for (size_t k = 0; k < c->nneed_nodes; k++) {
        const char *name = scalar(c->need_nodes[k]);
        size_t dep;
        if (!rf_workflow_step(wf, name, &dep))
            DIAG(p, c->need_nodes[k], "needs: no step named \"%s\"; check the name "
                 "under steps", name);
        else if (dep == i)
            DIAG(p, c->need_nodes[k], "needs: step \"%s\" cannot need itself", name);
        else
            add_need(s, dep);
    }
    char where[200];
    ref_ctx rc = {p, s, i, {0, 0}, where};
    for (size_t k = 0; k < s->nwith; k++) {
        snprintf(where, sizeof where, "with.%s", s->with[k].key);
        rc.loc = s->with[k].loc;
        check_template(p, &rc, s->with[k].val);
    }
    for (size_t k = 0; k < s->ninputs; k++) {
        snprintf(where, sizeof where, "inputs.%s", s->inputs[k].key);
        rc.loc = s->inputs[k].loc;
        check_input(p, &rc, &s->inputs[k]);
    }
    expand_folders(p, s);
}

static void check_when(parser *p, rf_wf_step *s, size_t i, yaml_node_t *wn)
{
    if (!s->when)
        return;
    ref_ctx rc = {p, s, i, content_loc(wn), "when"};
    size_t nd = p->d->n;
    check_template(p, &rc, s->when);
    if (p->d->n != nd)
        return;
    rf_err e;
    int truth;
    if (rf_expr_eval(s->when, zero_lookup, NULL, &truth, &e) < 0)
        DIAG(p, wn, "when: %s", e.msg);
}

/* Find the `when` node of step mapping v, for its location. */
static yaml_node_t *find_key(parser *p, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *i = map->data.mapping.pairs.start;
         i < map->data.mapping.pairs.top; i++) {
        const char *k = scalar(node(p, i->key));
        if (k && !strcmp(k, key))
            return node(p, i->value);
    }
    return NULL;
}

/* ------------------------------------------------------------ ordering */

/* Kahn's algorithm; on a cycle, report one with its path and stop. */
static void order_steps(parser *p)
{
    rf_workflow *wf = p->wf;
    size_t n = wf->nsteps;
    size_t *indeg = rf_xcalloc(n + 1, sizeof *indeg);
    size_t *order = rf_xcalloc(n + 1, sizeof *order);
    size_t *pos = rf_xcalloc(n + 1, sizeof *pos);
    for (size_t i = 0; i < n; i++)
        indeg[i] = wf->steps[i].nneeds;
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < n; i++)
        if (!indeg[i])
            order[tail++] = i;
    while (head < tail) {
        size_t u = order[head++];
        for (size_t v = 0; v < n; v++)
            for (size_t k = 0; k < wf->steps[v].nneeds; k++)
                if (wf->steps[v].needs[k] == u && --indeg[v] == 0)
                    order[tail++] = v;
    }
    if (tail < n) {
        /* Walk needs from a blocked step until a step repeats. */
        size_t u = 0;
        while (!indeg[u])
            u++;
        size_t *seen = rf_xcalloc(n, sizeof *seen);
        size_t *path = rf_xcalloc(n, sizeof *path), len = 0;
        while (!seen[u]) {
            seen[u] = ++len;
            path[len - 1] = u;
            size_t next = u;
            for (size_t k = 0; k < wf->steps[u].nneeds; k++)
                if (indeg[wf->steps[u].needs[k]]) {
                    next = wf->steps[u].needs[k];
                    break;
                }
            u = next;
        }
        rf_buf b = RF_BUF_INIT;
        for (size_t k = seen[u] - 1; k < len; k++)
            rf_buf_addf(&b, "%s needs ", wf->steps[path[k]].name);
        rf_buf_adds(&b, wf->steps[u].name);
        diag_at(p->d, wf->steps[u].loc, "dependency cycle: %s; "
                "remove one of these needs or references", b.data);
        rf_buf_free(&b);
        free(seen);
        free(path);
        goto out;
    }
    /* Permute steps into dependency order and remap needs. */
    for (size_t i = 0; i < n; i++)
        pos[order[i]] = i;
    rf_wf_step *sorted = rf_xmalloc((n + 1) * sizeof *sorted);
    for (size_t i = 0; i < n; i++) {
        sorted[i] = wf->steps[order[i]];
        for (size_t k = 0; k < sorted[i].nneeds; k++)
            sorted[i].needs[k] = pos[sorted[i].needs[k]];
    }
    free(wf->steps);
    wf->steps = sorted;
out:
    free(indeg);
    free(order);
    free(pos);
}

/* ------------------------------------------------------------- top level */

typedef struct top_ctx {
    yaml_node_t *params, *steps;
    int has_name;
} top_ctx;

static int top_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                    void *ud)
{
    top_ctx *c = ud;
    if (!strcmp(key, "name")) {
        c->has_name = 1;
        if (expect_scalar(p, v, "name") == 0) {
            if (!valid_name(scalar(v)))
                DIAG(p, v, "name \"%s\" may use only letters, digits, _ and -",
                     scalar(v));
            else
                p->wf->name = rf_xstrdup(scalar(v));
        }
    } else if (!strcmp(key, "description")) {
        if (expect_scalar(p, v, "description") == 0)
            p->wf->desc = rf_xstrdup(scalar(v));
    } else if (!strcmp(key, "params")) {
        if (expect_mapping(p, v, "params") == 0)
            c->params = v;
    } else if (expect_mapping(p, v, "steps") == 0) {
        c->steps = v;
    }
    return 0;
}

static void parse_document(parser *p, yaml_node_t *root, const char *const *ov,
                           size_t nov)
{
    if (!root || (root->type == YAML_SCALAR_NODE && !*scalar(root))) {
        rf_wf_loc one = {1, 1};
        diag_at(p->d, one, "the file is empty; a workflow needs name and steps");
        return;
    }
    if (expect_mapping(p, root, "a workflow file") < 0)
        return;
    top_ctx tc = {0};
    each_pair(p, root, top_keys, "top-level", top_pair, &tc);
    if (!tc.has_name)
        DIAG(p, root, "the workflow has no name; add `name: NAME` at the top");
    if (tc.params)
        each_pair(p, tc.params, NULL, "params", params_pair, NULL);
    for (size_t i = 0; i < nov; i++)
        apply_override(p, ov[i]);
    if (!tc.steps) {
        DIAG(p, root, "the workflow has no steps; add a `steps:` mapping");
        return;
    }
    step_ctx *ctxs = NULL;
    each_pair(p, tc.steps, NULL, "steps", steps_pair, &ctxs);
    if (!p->wf->nsteps)
        DIAG(p, tc.steps, "steps is empty; add at least one step");
    for (size_t i = 0; i < p->wf->nsteps; i++) {
        resolve_step(p, i, &ctxs[i]);
        yaml_node_t *sv = find_key(p, tc.steps, p->wf->steps[i].name);
        check_when(p, &p->wf->steps[i], i, find_key(p, sv, "when"));
        free(ctxs[i].need_nodes);
    }
    free(ctxs);
    order_steps(p);
}

static char *dir_of(const char *file)
{
    char *abs = realpath(file, NULL);
    const char *f = abs ? abs : file;
    const char *slash = strrchr(f, '/');
    char *d;
    if (slash)
        d = strndup(f, (size_t)(slash > f ? slash - f : 1));
    else
        d = getcwd(NULL, 0);
    free(abs);
    return d ? d : rf_xstrdup(".");
}

/* libyaml's message, where the construct began, and the one mistake that
 * templates invite: "${{ }}" unquoted inside a { } or [ ] flow collection. */
static void yaml_diag(const yaml_parser_t *yp, const char *text, size_t len,
                      rf_wf_diags *d)
{
    rf_wf_loc l = {(int)yp->problem_mark.line + 1, (int)yp->problem_mark.column + 1};
    rf_buf b = RF_BUF_INIT;
    rf_buf_addf(&b, "YAML syntax: %s%s%s", yp->problem ? yp->problem : "error",
                yp->context ? " " : "", yp->context ? yp->context : "");
    if (yp->context && yp->context_mark.line != yp->problem_mark.line)
        rf_buf_addf(&b, " (begun at line %zu, column %zu)", yp->context_mark.line + 1,
                    yp->context_mark.column + 1);
    size_t at = yp->problem_mark.index < len ? yp->problem_mark.index : len;
    size_t start = at;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    const char *nl = memchr(text + start, '\n', len - start);
    size_t end = nl ? (size_t)(nl - text) : len;
    if (yp->context && strstr(yp->context, "flow") &&
        memmem(text + start, end - start, "${{", 3))
        rf_buf_adds(&b, "; inside { } or [ ], quote values that contain ${{ }}");
    else
        rf_buf_adds(&b, "; check indentation and quoting");
    diag_at(d, l, "%s", b.data);
    rf_buf_free(&b);
}

int rf_workflow_parse(const char *text, size_t len, const char *file,
                      const char *const *ov, size_t nov, rf_workflow **out,
                      rf_wf_diags *diags, rf_err *err)
{
    *out = NULL;
    parser p = {0};
    p.d = diags;
    p.wf = rf_xcalloc(1, sizeof *p.wf);
    p.wf->file = rf_xstrdup(file);
    char *dir = dir_of(file);
    p.dir = dir;
    size_t before = diags->n;

    yaml_parser_t yp;
    yaml_parser_initialize(&yp);
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    if (!yaml_parser_load(&yp, &p.doc)) {
        yaml_diag(&yp, text, len, diags);
        yaml_parser_delete(&yp);
        goto done;
    }
    parse_document(&p, yaml_document_get_root_node(&p.doc), ov, nov);
    yaml_document_delete(&p.doc);
    yaml_parser_delete(&yp);
done:
    free(dir);
    if (diags->n > before) {
        qsort(diags->v + before, diags->n - before, sizeof *diags->v, diag_cmp);
        rf_workflow_free(p.wf);
        return rf_errf(err, RF_EINVAL, "%s: %zu problem%s", file, diags->n - before,
                       diags->n - before == 1 ? "" : "s");
    }
    *out = p.wf;
    return 0;
}

int rf_workflow_load(const char *path, const char *const *ov, size_t nov,
                     rf_workflow **out, rf_wf_diags *diags, rf_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rf_err_errno(err, "%s", path);
    rf_buf b = RF_BUF_INIT;
    char chunk[16384];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > (64u << 20)) {
            fclose(f);
            rf_buf_free(&b);
            return rf_errf(err, RF_ETOOBIG, "%s: larger than 64 MiB", path);
        }
        rf_buf_add(&b, chunk, n);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        rf_buf_free(&b);
        return rf_errf(err, RF_EIO, "%s: read error", path);
    }
    int rc = rf_workflow_parse(b.data ? b.data : "", b.len, path, ov, nov, out, diags,
                               err);
    rf_buf_free(&b);
    return rc;
}

static void free_kvs(rf_wf_kv *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].key), free(a[i].val);
    free(a);
}

void rf_workflow_free(rf_workflow *wf)
{
    if (!wf)
        return;
    for (size_t i = 0; i < wf->nparams; i++) {
        rf_wf_param *pm = &wf->params[i];
        free(pm->name), free(pm->desc), free(pm->value);
        for (size_t k = 0; k < pm->nitems; k++)
            free(pm->items[k]);
        free(pm->items);
    }
    for (size_t i = 0; i < wf->nsteps; i++) {
        rf_wf_step *s = &wf->steps[i];
        free(s->name), free(s->desc), free(s->worker), free(s->when), free(s->pool);
        free_kvs(s->with, s->nwith);
        free_kvs(s->inputs, s->ninputs);
        free(s->needs);
        for (size_t a = 0; a < s->naxes; a++) {
            for (size_t k = 0; k < s->axes[a].n; k++)
                free(s->axes[a].vals[k]);
            free(s->axes[a].vals);
            free(s->axes[a].key);
        }
        free(s->axes);
    }
    free(wf->params);
    free(wf->steps);
    free(wf->file), free(wf->name), free(wf->desc);
    free(wf);
}

const rf_wf_step *rf_workflow_step(const rf_workflow *wf, const char *name,
                                   size_t *index)
{
    for (size_t i = 0; i < wf->nsteps; i++)
        if (!strcmp(wf->steps[i].name, name)) {
            if (index)
                *index = i;
            return &wf->steps[i];
        }
    return NULL;
}

const rf_wf_param *rf_workflow_param(const rf_workflow *wf, const char *name)
{
    for (size_t i = 0; i < wf->nparams; i++)
        if (!strcmp(wf->params[i].name, name))
            return &wf->params[i];
    return NULL;
}

const char *rf_wf_item(const rf_wf_step *s, size_t a, size_t i)
{
    if (i >= s->ntasks || a >= s->naxes)
        return NULL;
    /* Mixed radix: the last axis varies fastest. */
    for (size_t k = s->naxes - 1; k > a; k--)
        i /= s->axes[k].n;
    return s->axes[a].vals[i % s->axes[a].n];
}
