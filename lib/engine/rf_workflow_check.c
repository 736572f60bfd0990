/* rf_workflow_check: the validator after parsing: template references and
 * the needs they imply, when conditions, and the step order (cycles are
 * errors with the cycle named). */
#include "engine/rf_workflow_impl.h"

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
        if (r->key[0] && !has_axis(s, r->key) && !s->fan_from)
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
    case RF_REF_WORKFLOW:
        if (!s->on_exit)
            return rf_errf(err, RF_EINVAL, "%s: workflow.%s is only defined in on_exit "
                           "steps (it is known once the other steps are over)", c->where,
                           r->key);
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
    if (wf->steps[dep].on_exit && !s->on_exit)
        return rf_errf(err, RF_EINVAL, "%s: \"%s\" is an on_exit step, which runs after "
                       "every other step; only on_exit steps may refer to it", c->where,
                       r->step);
    /* An exit handler sees the other steps as the run left them: no need. */
    if (wf->steps[dep].on_exit == s->on_exit)
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
        rf_workflow_diag_at(p->d, loc_in(c->loc, val, bad), "%s", e.msg);
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
        rf_workflow_diag_at(p->d, kv->loc, "inputs.%s: %s: %s; give an existing file or folder "
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
        rf_workflow_diag_at(p->d, kv->loc, "inputs.%s: %s", kv->key, e.msg);
        return;
    }
    if (one == 1 && r.kind != RF_REF_PARAM) {
        if (r.kind != RF_REF_OUTPUT) {
            rf_workflow_diag_at(p->d, kv->loc, "inputs.%s: an input must be an output "
                    "(steps.STEP.outputs.NAME), a store URL or a path", kv->key);
            return;
        }
        check_ref(c, &r, 0, 0, &e) < 0 ? rf_workflow_diag_at(p->d, kv->loc, "%s", e.msg) : (void)0;
        return;
    }
    /* A URL or path, maybe built from params: fixed at submit. */
    rf_buf b = RF_BUF_INIT;
    if (rf_tpl_render(kv->val, rf_workflow_static_lookup, p->wf, &b, &e) < 0) {
        rf_workflow_diag_at(p->d, kv->loc, "inputs.%s: %s", kv->key, e.msg);
        rf_buf_free(&b);
        return;
    }
    const char *v = b.data;
    if (!*v) {
        rf_workflow_diag_at(p->d, kv->loc, "inputs.%s is empty; give a reference, URL or path",
                kv->key);
    } else if (strstr(v, "://")) {
        if (strncmp(v, "file://", 7) && strncmp(v, "s3://", 5))
            rf_workflow_diag_at(p->d, kv->loc, "inputs.%s: unsupported URL \"%s\"; use file:// "
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
        p->d->cur_file = kv->file;
        if (list_files(kv->val + 7, &files, &nf, 0) < 0 || nf == 0)
            rf_workflow_diag_at(p->d, kv->loc, "inputs.%s: folder %s %s", kv->key, kv->val + 7,
                    nf ? "has more than 10,000 files (or unreadable ones); name "
                         "files or a store prefix instead" : "has no files");
        for (size_t i = 0; i < nf; i++) {
            rf_buf u = RF_BUF_INIT;
            rf_buf_addf(&u, "file://%s", files[i]);
            out = rf_xrealloc(out, (n + 1) * sizeof *out);
            out[n].key = rf_xstrdup(kv->key);
            out[n].val = rf_buf_detach(&u, NULL);
            out[n].file = kv->file;
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

void rf_workflow_resolve_step(parser *p, size_t i, step_ctx *c)
{
    rf_workflow *wf = p->wf;
    rf_wf_step *s = &wf->steps[i];
    for (size_t k = 0; k < c->nneed_nodes; k++) {
        const char *name = rf_workflow_scalar(c->need_nodes[k]);
        size_t dep;
        if (!rf_workflow_step(wf, name, &dep))
            DIAG(p, c->need_nodes[k], "needs: no step named \"%s\"; check the name "
                 "under steps", name);
        else if (dep == i)
            DIAG(p, c->need_nodes[k], "needs: step \"%s\" cannot need itself", name);
        else if (wf->steps[dep].on_exit != s->on_exit)
            DIAG(p, c->need_nodes[k], "needs: %s", s->on_exit ?
                 "an on_exit step runs after all the other steps; it may need only "
                 "on_exit steps" : "on_exit steps run last; no other step may need one");
        else
            add_need(s, dep);
    }
    char where[200];
    ref_ctx rc = {p, s, i, {0, 0}, where};
    /* Values from a template name the file they are in (d->cur_file). */
    for (size_t k = 0; k < s->nwith; k++) {
        snprintf(where, sizeof where, "with.%s", s->with[k].key);
        rc.loc = s->with[k].loc;
        p->d->cur_file = s->with[k].file;
        check_template(p, &rc, s->with[k].val);
    }
    for (size_t k = 0; k < s->ninputs; k++) {
        snprintf(where, sizeof where, "inputs.%s", s->inputs[k].key);
        rc.loc = s->inputs[k].loc;
        p->d->cur_file = s->inputs[k].file;
        check_input(p, &rc, &s->inputs[k]);
    }
    expand_folders(p, s);
    p->d->cur_file = NULL;
}

/* foreach over steps.A.outputs.NAME: A must exist and not be this step;
 * like every reference, it makes this step need A. */
void rf_workflow_check_fan_from(parser *p, rf_wf_step *s, size_t i, yaml_node_t *fn)
{
    rf_ref r;
    rf_err e;
    if (!s->fan_from || rf_tpl_single_ref(s->fan_from, &r, &e) != 1)
        return;
    size_t dep;
    if (!rf_workflow_step(p->wf, r.step, &dep))
        DIAG(p, fn, "foreach: no step named \"%s\"; the items of foreach "
             "${{ steps.STEP.outputs.NAME }} come from an earlier step", r.step);
    else if (dep == i)
        DIAG(p, fn, "foreach: step \"%s\" cannot fan out over its own output",
             r.step);
    else if (p->wf->steps[dep].on_exit != s->on_exit)
        DIAG(p, fn, "foreach: \"%s\" and this step must both be on_exit steps, or "
             "neither", r.step);
    else
        add_need(s, dep);
}

void rf_workflow_check_when(parser *p, rf_wf_step *s, size_t i, yaml_node_t *wn)
{
    if (!s->when)
        return;
    ref_ctx rc = {p, s, i, rf_workflow_content_loc(wn), "when"};
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
yaml_node_t *rf_workflow_find_key(parser *p, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *i = map->data.mapping.pairs.start;
         i < map->data.mapping.pairs.top; i++) {
        const char *k = rf_workflow_scalar(rf_workflow_node(p, i->key));
        if (k && !strcmp(k, key))
            return rf_workflow_node(p, i->value);
    }
    return NULL;
}

/* ------------------------------------------------------------ ordering */

/* Kahn's algorithm; on a cycle, report one with its path and stop. */
void rf_workflow_order_steps(parser *p)
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
        rf_workflow_diag_at(p->d, wf->steps[u].loc, "dependency cycle: %s; "
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
