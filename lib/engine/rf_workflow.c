/* rf_workflow: parse a workflow file with libyaml's document API (nodes
 * carry their line and column) into the model of rf_workflow.h, collecting
 * every problem with its place and a hint. */
#include "engine/rf_workflow_impl.h"

#include "base/rf_json.h"

const char *const rf_wf_workers[] = {
    "preprocess", "train-stage", "tune-trial", "eval-fold", "checkpoint-compact",
    "noop", "sleep", NULL
};

static const char *const top_keys[] = {"name", "description", "params", "steps",
                                       "retention", "on_exit", "templates", "include", NULL};
const char *const rf_workflow_param_keys[] = {"type", "default", "description", NULL};
const char *const rf_workflow_step_keys[] = {
    "worker", "description", "with", "inputs", "needs", "foreach", "chain",
    "when", "retries", "timeout", "priority", "pool", "tier", "cache", "spawn", "uses",
    "suspend", "tune", NULL
};
const char *const rf_workflow_retry_keys[] = {"count", "backoff", "cap", "jitter", NULL};
const char *const rf_workflow_fan_keys[] = {"list", "range", "matrix", NULL};
const char *const rf_workflow_type_names[] = {"string", "int", "float", "bool", "list", NULL};

/* ---------------------------------------------------------------- diags */

void rf_workflow_diag_at(rf_wf_diags *d, rf_wf_loc loc, const char *fmt, ...)
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
    d->v[d->n].file = d->cur_file ? rf_xstrdup(d->cur_file) : NULL;
    d->n++;
}

rf_wf_loc rf_workflow_loc_of(const yaml_node_t *n)
{
    rf_wf_loc l = {0, 0};
    if (n) {
        l.line = (int)n->start_mark.line + 1;
        l.col = (int)n->start_mark.column + 1;
    }
    return l;
}

static int diag_cmp(const void *a, const void *b)
{
    const rf_wf_diag *x = a, *y = b;
    if (!x->file != !y->file)
        return x->file ? 1 : -1;          /* the workflow file's first */
    if (x->file && strcmp(x->file, y->file))
        return strcmp(x->file, y->file);
    if (x->loc.line != y->loc.line)
        return x->loc.line - y->loc.line;
    return x->loc.col - y->loc.col;
}

void rf_wf_diags_print(const rf_wf_diags *d, const char *file, FILE *f)
{
    for (size_t i = 0; i < d->n; i++) {
        const char *in = d->v[i].file ? d->v[i].file : file;
        if (d->v[i].loc.line)
            fprintf(f, "%s:%d:%d: %s\n", in, d->v[i].loc.line, d->v[i].loc.col,
                    d->v[i].msg);
        else
            fprintf(f, "%s: %s\n", in, d->v[i].msg);
    }
}

void rf_wf_diags_free(rf_wf_diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].msg), free(d->v[i].file);
    free(d->v);
    d->v = NULL;
    d->n = 0;
}

/* ------------------------------------------------------------- yaml nodes */

yaml_node_t *rf_workflow_node(parser *p, int id)
{
    return yaml_document_get_node(p->cur ? p->cur : &p->doc, id);
}

const char *rf_workflow_scalar(const yaml_node_t *n)
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

int rf_workflow_expect_scalar(parser *p, const yaml_node_t *n, const char *what)
{
    if (n->type == YAML_SCALAR_NODE)
        return 0;
    DIAG(p, n, "%s must be a single value, not %s", what, kind_name(n));
    return -1;
}

int rf_workflow_expect_mapping(parser *p, const yaml_node_t *n, const char *what)
{
    if (n->type == YAML_MAPPING_NODE)
        return 0;
    DIAG(p, n, "%s must be a mapping (key: value lines), not %s", what, kind_name(n));
    return -1;
}

int rf_workflow_in_list(const char *const *list, const char *s)
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
void rf_workflow_unknown_word(parser *p, const yaml_node_t *n, const char *what,
                         const char *word, const char *const *known)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (size_t i = 0; known[i]; i++) {
        size_t dd = rf_edit_distance(word, known[i]);
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

/* Walk a mapping: reject non-scalar and duplicate keys, unknown keys (when
 * known is given), and call fn for the others. */
void rf_workflow_each_pair(parser *p, yaml_node_t *map, const char *const *known,
                      const char *what, pair_fn fn, void *ud)
{
    yaml_node_pair_t *a = map->data.mapping.pairs.start;
    yaml_node_pair_t *z = map->data.mapping.pairs.top;
    for (yaml_node_pair_t *i = a; i < z; i++) {
        yaml_node_t *k = rf_workflow_node(p, i->key), *v = rf_workflow_node(p, i->value);
        const char *key = rf_workflow_scalar(k);
        if (!key) {
            DIAG(p, k, "%s keys must be plain names, not %s", what, kind_name(k));
            continue;
        }
        int dup = 0;
        for (yaml_node_pair_t *j = a; j < i && !dup; j++) {
            const char *other = rf_workflow_scalar(rf_workflow_node(p, j->key));
            dup = other && !strcmp(other, key);
        }
        if (dup) {
            DIAG(p, k, "duplicate key \"%s\"; remove one of them", key);
            continue;
        }
        if (known && !rf_workflow_in_list(known, key)) {
            rf_workflow_unknown_word(p, k, "key", key, known);
            continue;
        }
        fn(p, key, k, v, ud);
    }
}

int rf_workflow_valid_name(const char *s)
{
    if (!*s || strlen(s) >= RF_REF_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

/* ---------------------------------------------------------- value parsing */

int rf_workflow_parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno)
        return -1;
    *out = v;
    return 0;
}

int rf_workflow_parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int rf_workflow_parse_bool(const char *s, int *out)
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
int rf_workflow_parse_duration_ms(const char *s, long *out)
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
int rf_workflow_canonical(int type, const char *s, rf_buf *out)
{
    long l;
    double d;
    int b;
    switch (type) {
    case RF_WF_INT:
        if (rf_workflow_parse_long(s, &l) < 0)
            return -1;
        rf_buf_addf(out, "%ld", l);
        return 0;
    case RF_WF_FLOAT:
        if (rf_workflow_parse_double(s, &d) < 0)
            return -1;
        /* Shortest text that round-trips, so 0.1 stays "0.1"; 20 is "20". */
        {
            char tmp[64];
            rf_buf_adds(out, rf_num_fmt(tmp, sizeof tmp, d, 0));
        }
        return 0;
    case RF_WF_BOOL:
        if (rf_workflow_parse_bool(s, &b) < 0)
            return -1;
        rf_buf_adds(out, b ? "true" : "false");
        return 0;
    default:
        rf_buf_adds(out, s);
        return 0;
    }
}

int rf_workflow_infer_type(const yaml_node_t *n)
{
    if (n->type == YAML_SEQUENCE_NODE)
        return RF_WF_LIST;
    const char *s = rf_workflow_scalar(n);
    long l;
    double d;
    if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return RF_WF_STRING;
    if (rf_workflow_parse_long(s, &l) == 0)
        return RF_WF_INT;
    if (rf_workflow_parse_double(s, &d) == 0)
        return RF_WF_FLOAT;
    if (!strcmp(s, "true") || !strcmp(s, "false"))
        return RF_WF_BOOL;
    return RF_WF_STRING;
}

/* ------------------------------------------------------------- top level */

typedef struct top_ctx {
    yaml_node_t *params, *steps, *on_exit, *templates, *include;
    int has_name, steps_given;   /* steps_given: present, even if malformed */
} top_ctx;

static int top_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                    void *ud)
{
    top_ctx *c = ud;
    if (!strcmp(key, "name")) {
        c->has_name = 1;
        if (rf_workflow_expect_scalar(p, v, "name") == 0) {
            if (!rf_workflow_valid_name(rf_workflow_scalar(v)))
                DIAG(p, v, "name \"%s\" may use only letters, digits, _ and -",
                     rf_workflow_scalar(v));
            else
                p->wf->name = rf_xstrdup(rf_workflow_scalar(v));
        }
    } else if (!strcmp(key, "description")) {
        if (rf_workflow_expect_scalar(p, v, "description") == 0)
            p->wf->desc = rf_xstrdup(rf_workflow_scalar(v));
    } else if (!strcmp(key, "params")) {
        if (rf_workflow_expect_mapping(p, v, "params") == 0)
            c->params = v;
    } else if (!strcmp(key, "retention")) {
        rf_workflow_parse_retention(p, v);
    } else if (!strcmp(key, "on_exit")) {
        c->on_exit = v;
    } else if (!strcmp(key, "templates")) {
        c->templates = v;
    } else if (!strcmp(key, "include")) {
        c->include = v;
    } else if (v->type == YAML_SEQUENCE_NODE) {
        c->steps = v; /* Argo/Tekton-style list of {name: ...} (rf_workflow_list.c) */
        c->steps_given = 1;
    } else if (rf_workflow_expect_mapping(p, v, "steps") == 0) {
        c->steps = v;
        c->steps_given = 1;
    } else {
        c->steps_given = 1;
    }
    return 0;
}

static void parse_document(parser *p, yaml_node_t *root, const char *const *ov,
                           size_t nov)
{
    if (!root || (root->type == YAML_SCALAR_NODE && !*rf_workflow_scalar(root))) {
        rf_wf_loc one = {1, 1};
        rf_workflow_diag_at(p->d, one, "the file is empty; a workflow needs name and steps");
        return;
    }
    if (rf_workflow_expect_mapping(p, root, "a workflow file") < 0)
        return;
    top_ctx tc = {0};
    rf_workflow_each_pair(p, root, top_keys, "top-level", top_pair, &tc);
    if (!tc.has_name)
        DIAG(p, root, "the workflow has no name; add `name: NAME` at the top");
    if (tc.params)
        rf_workflow_each_pair(p, tc.params, NULL, "params", rf_workflow_params_pair, NULL);
    for (size_t i = 0; i < nov; i++)
        rf_workflow_apply_override(p, ov[i]);
    if (!tc.steps) {
        if (!tc.steps_given)
            DIAG(p, root, "the workflow has no steps; add a `steps:` mapping");
        return;
    }
    rf_workflow_tpl_top(p, tc.include, tc.templates);
    step_ctx *ctxs = NULL;
    int listed = tc.steps->type == YAML_SEQUENCE_NODE;
    if (listed)
        rf_workflow_steps_list(p, tc.steps, &ctxs);
    else
        rf_workflow_each_pair(p, tc.steps, NULL, "steps", rf_workflow_steps_pair, &ctxs);
    if (!p->wf->nsteps)
        DIAG(p, tc.steps, "steps is empty; add at least one step");
    if (tc.on_exit)
        rf_workflow_parse_on_exit(p, tc.on_exit, &ctxs);
    for (size_t i = 0; i < p->wf->nsteps; i++) {
        rf_workflow_resolve_step(p, i, &ctxs[i]);
        p->d->cur_file = ctxs[i].when_file;
        rf_workflow_check_when(p, &p->wf->steps[i], i, ctxs[i].when_node);
        p->d->cur_file = ctxs[i].fan_file;
        rf_workflow_check_fan_from(p, &p->wf->steps[i], i, ctxs[i].fan_node);
        p->d->cur_file = NULL;
        free(ctxs[i].need_nodes);
    }
    free(ctxs);
    rf_workflow_order_steps(p);
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
    rf_workflow_diag_at(d, l, "%s", b.data);
    rf_buf_free(&b);
}

size_t rf_workflow_max_tasks(const parser *p)
{
    size_t m = p->d->max_tasks ? p->d->max_tasks : RF_WF_MAX_TASKS_DEFAULT;
    return m < RF_WF_MAX_TASKS ? m : RF_WF_MAX_TASKS;
}

/* An anchor's size: the nodes it stands for, its aliases expanded. */
typedef struct anchor_size {
    char *name;
    size_t nodes;
} anchor_size;

typedef struct open_node {
    char *anchor;              /* NULL: not anchored */
    size_t start;              /* nodes counted before it opened */
} open_node;

/* Record an anchor's size; name becomes the table's. */
static void anchor_add(anchor_size **a, size_t *n, size_t *cap, char *name, size_t nodes)
{
    if (*n == *cap)
        *a = rf_xrealloc(*a, (*cap = *cap ? 2 * *cap : 16) * sizeof **a);
    (*a)[(*n)++] = (anchor_size){name, nodes};
}

static size_t anchor_nodes(const anchor_size *a, size_t n, const char *name)
{
    for (size_t i = n; i-- > 0;)   /* the latest definition wins, as in YAML */
        if (!strcmp(a[i].name, name))
            return a[i].nodes;
    return 1;
}

/* Read the events once before libyaml builds a tree: nesting deeper than
 * RF_WF_MAX_DEPTH, aliases that expand past RF_WF_MAX_NODES (an alias
 * bomb), and NUL bytes in scalars are refused where they start. Both would otherwise cost time
 * quadratic or exponential in the file's size. 0 ok, -1 with one diag;
 * a YAML syntax error is left for yaml_parser_load to report. */
static int yaml_prescan(const char *text, size_t len, rf_wf_diags *d)
{
    yaml_parser_t yp;
    yaml_parser_initialize(&yp);
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    open_node stack[RF_WF_MAX_DEPTH + 1];
    int depth = 0, rc = 0;
    size_t nodes = 0, na = 0, cap = 0;
    anchor_size *as = NULL;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&yp, &ev))
            break;
        yaml_event_type_t t = ev.type;
        rf_wf_loc at = {(int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1};
        const unsigned char *anchor = t == YAML_SCALAR_EVENT ? ev.data.scalar.anchor
                                    : t == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                    : t == YAML_MAPPING_START_EVENT ? ev.data.mapping_start.anchor
                                    : NULL;
        /* libyaml keeps a "\0" escape as a NUL byte, which every C string
         * after this would cut: a step name "a\0../x" would read as "a". */
        if (t == YAML_SCALAR_EVENT && memchr(ev.data.scalar.value, 0, ev.data.scalar.length)) {
            rf_workflow_diag_at(d, at, "a NUL byte (\\0) in a value; workflow values "
                                "cannot hold one");
            rc = -1;
        }
        if (t == YAML_ALIAS_EVENT)
            nodes += anchor_nodes(as, na, (const char *)ev.data.alias.anchor);
        else if (t == YAML_SCALAR_EVENT)
            nodes++;
        if (anchor && t == YAML_SCALAR_EVENT)
            anchor_add(&as, &na, &cap, rf_xstrdup((const char *)anchor), 1);
        if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
            if (depth == RF_WF_MAX_DEPTH) {
                rf_workflow_diag_at(d, at, "nesting deeper than %d levels; a workflow "
                                    "needs only a few", RF_WF_MAX_DEPTH);
                rc = -1;
            } else {
                stack[depth].anchor = anchor ? rf_xstrdup((const char *)anchor) : NULL;
                stack[depth++].start = nodes++;
            }
        } else if ((t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) && depth) {
            open_node *o = &stack[--depth];
            if (o->anchor)
                anchor_add(&as, &na, &cap, o->anchor, nodes - o->start);
        }
        if (rc == 0 && nodes > RF_WF_MAX_NODES) {
            rf_workflow_diag_at(d, at, "aliases expand this file past %u nodes (an alias "
                                "bomb?); write the values out", RF_WF_MAX_NODES);
            rc = -1;
        }
        int end = t == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (end || rc)
            break;
    }
    while (depth > 0)
        free(stack[--depth].anchor);
    for (size_t i = 0; i < na; i++)
        free(as[i].name);
    free(as);
    yaml_parser_delete(&yp);
    return rc;
}

/* The same problem found through several aliases of one node is one
 * problem: drop repeats of (place, message) from the sorted diags. */
static void diags_unique(rf_wf_diags *d, size_t from)
{
    size_t w = from;
    for (size_t i = from; i < d->n; i++) {
        rf_wf_diag *x = &d->v[i];
        if (w > from && d->v[w - 1].loc.line == x->loc.line &&
            d->v[w - 1].loc.col == x->loc.col && !strcmp(d->v[w - 1].msg, x->msg) &&
            !d->v[w - 1].file == !x->file &&
            (!x->file || !strcmp(d->v[w - 1].file, x->file))) {
            free(x->msg), free(x->file);
            continue;
        }
        d->v[w++] = *x;
    }
    d->n = w;
}

int rf_workflow_yaml_doc(const char *text, size_t len, yaml_document_t *doc,
                         rf_wf_diags *d)
{
    if (yaml_prescan(text, len, d) != 0)
        return -1;
    yaml_parser_t yp;
    yaml_parser_initialize(&yp);
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    int ok = yaml_parser_load(&yp, doc);
    if (!ok)
        yaml_diag(&yp, text, len, d);
    yaml_parser_delete(&yp);
    return ok ? 0 : -1;
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

    if (rf_workflow_yaml_doc(text, len, &p.doc, diags) != 0)
        goto done;
    parse_document(&p, yaml_document_get_root_node(&p.doc), ov, nov);
    if (diags->n == before) {
        double total = 0;
        for (size_t i = 0; i < p.wf->nsteps; i++)
            total += (double)p.wf->steps[i].ntasks;
        if (total > (double)rf_workflow_max_tasks(&p))
            rf_workflow_diag_at(diags, (rf_wf_loc){0, 0}, "the workflow has %.0f tasks; "
                                "at most %zu are allowed (raise it with --max-tasks)",
                                total, rf_workflow_max_tasks(&p));
    }
    yaml_document_delete(&p.doc);
done:
    rf_workflow_tpl_free(&p);
    free(dir);
    if (diags->n > before) {
        qsort(diags->v + before, diags->n - before, sizeof *diags->v, diag_cmp);
        diags_unique(diags, before);
        rf_workflow_free(p.wf);
        return rf_errf(err, RF_EINVAL, "%s: %zu problem%s", file, diags->n - before,
                       diags->n - before == 1 ? "" : "s");
    }
    p.wf->max_tasks = rf_workflow_max_tasks(&p);
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
        free(s->fan_from);
        for (size_t m = 0; m < s->nmarks; m++)
            free(s->marks[m].path);
        free(s->marks);
    }
    for (size_t i = 0; i < wf->nfiles; i++)
        free(wf->files[i]);
    free(wf->files);
    free(wf->params);
    free(wf->steps);
    free(wf->file), free(wf->name), free(wf->desc);
    free(wf);
}

rf_wf_loc rf_wf_mark_loc(const rf_wf_step *s, const char *path, rf_wf_loc fallback)
{
    for (size_t i = 0; i < s->nmarks; i++)
        if (!strcmp(s->marks[i].path, path))
            return s->marks[i].loc;
    return fallback;
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
