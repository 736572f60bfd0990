/* rf_workflow_tpl: reusable step templates. `templates:` at the top level
 * names step bodies; a step `uses: NAME` gets the template's keys, its own
 * keys winning (`with` merges key by key, so the step overrides or adds
 * parameters); `include: [FILE...]` brings the templates of other files,
 * relative to the including file. An included file holds only `templates`
 * and `include`; a missing file or a cycle of includes is an error at the
 * include's line and column, and problems inside an included file name
 * that file (rf_wf_diag.file). Templates are expanded here, at load: the
 * run's plan holds ordinary steps. */
#include "engine/rf_workflow_impl.h"

#define MAX_INCLUDE_DEPTH 16
#define MAX_INCLUDE_BYTES (16u << 20)

typedef struct tpl {
    char *name;
    yaml_node_t *body;
    yaml_document_t *doc;       /* NULL: the workflow file's */
    const char *file;           /* NULL: the workflow file; else wf->files[i] */
    rf_wf_loc loc;
} tpl;

struct rf_wf_incl {
    yaml_document_t **docs;     /* included files, alive until the load ends */
    size_t ndocs;
    char **stack;               /* canonical paths being included (cycles) */
    size_t depth;
    tpl *t;
    size_t nt;
};

static struct rf_wf_incl *incl_of(parser *p)
{
    if (!p->incl)
        p->incl = rf_xcalloc(1, sizeof *p->incl);
    return p->incl;
}

void rf_workflow_tpl_free(parser *p)
{
    struct rf_wf_incl *in = p->incl;
    if (!in)
        return;
    for (size_t i = 0; i < in->ndocs; i++) {
        yaml_document_delete(in->docs[i]);
        free(in->docs[i]);
    }
    for (size_t i = 0; i < in->nt; i++)
        free(in->t[i].name);
    free(in->docs);
    free(in->t);
    free(in->stack);
    free(in);
    p->incl = NULL;
}

static const tpl *find_tpl(const struct rf_wf_incl *in, const char *name)
{
    for (size_t i = 0; in && i < in->nt; i++)
        if (!strcmp(in->t[i].name, name))
            return &in->t[i];
    return NULL;
}

static int tpl_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
    struct rf_wf_incl *in = incl_of(p);
    const tpl *old = find_tpl(in, key);
    (void)ud;
    if (!rf_workflow_valid_name(key)) {
        DIAG(p, k, "template name \"%s\" may use only letters, digits, _ and -", key);
    } else if (old) {
        DIAG(p, k, "template \"%s\" is defined twice (also at %s:%d:%d); rename one",
             key, old->file ? old->file : p->wf->file, old->loc.line, old->loc.col);
    } else if (rf_workflow_expect_mapping(p, v, "a template (a step body)") == 0) {
        in->t = rf_xrealloc(in->t, (in->nt + 1) * sizeof *in->t);
        in->t[in->nt++] = (tpl){rf_xstrdup(key), v, p->cur, p->d->cur_file,
                                rf_workflow_loc_of(k)};
    }
    return 0;
}

/* "dir-of-includer/name" (as the user would type it from here). */
static char *include_path(const char *includer, const char *name)
{
    const char *slash = strrchr(includer, '/');
    rf_buf b = RF_BUF_INIT;
    if (name[0] == '/' || !slash)
        rf_buf_adds(&b, name);
    else
        rf_buf_addf(&b, "%.*s/%s", (int)(slash - includer), includer, name);
    return rf_buf_detach(&b, NULL);
}

static int read_text(const char *path, rf_buf *b, rf_err *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))   /* not a fifo, a tty... */
        return rf_errf(err, RF_EINVAL, "%s is not a regular file", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return rf_err_errno(err, "%s", path);
    char chunk[16384];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b->len <= MAX_INCLUDE_BYTES)
        rf_buf_add(b, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return rf_errf(err, RF_EIO, "%s: read error", path);
    if (b->len > MAX_INCLUDE_BYTES)
        return rf_errf(err, RF_ETOOBIG, "%s: larger than 16 MiB", path);
    return 0;
}

static void include_list(parser *p, yaml_node_t *v, const char *includer);

static const char *const incl_keys[] = {"templates", "include", NULL};

typedef struct incl_top {
    yaml_node_t *templates, *include;
} incl_top;

static int incl_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
    incl_top *t = ud;
    (void)p, (void)k;
    if (!strcmp(key, "templates"))
        t->templates = v;
    else
        t->include = v;
    return 0;
}

/* The templates of the file an include entry `at` names. */
static void load_include(parser *p, yaml_node_t *at, const char *includer)
{
    struct rf_wf_incl *in = incl_of(p);
    char *path = include_path(includer, rf_workflow_scalar(at));
    char *real = realpath(path, NULL);
    if (!real) {
        DIAG(p, at, "include: %s: %s (looked for %s); give a file relative to %s",
             rf_workflow_scalar(at), strerror(errno), path, includer);
        free(path);
        return;
    }
    for (size_t i = 0; i < in->depth; i++)
        if (!strcmp(in->stack[i], real)) {
            DIAG(p, at, "include: %s is already being included (a cycle of "
                 "includes); remove one of them", path);
            free(real), free(path);
            return;
        }
    if (in->depth == MAX_INCLUDE_DEPTH) {
        DIAG(p, at, "include: more than %d levels of includes", MAX_INCLUDE_DEPTH);
        free(real), free(path);
        return;
    }
    rf_buf text = RF_BUF_INIT;
    rf_err e;
    if (read_text(path, &text, &e) < 0) {
        DIAG(p, at, "include: %s", e.msg);
        rf_buf_free(&text), free(real), free(path);
        return;
    }
    /* From here on, problems are in the included file: name it. */
    p->wf->files = rf_xrealloc(p->wf->files, (p->wf->nfiles + 1) * sizeof *p->wf->files);
    const char *name = p->wf->files[p->wf->nfiles++] = path;
    const char *saved_file = p->d->cur_file;
    yaml_document_t *saved_doc = p->cur;
    yaml_document_t *doc = rf_xcalloc(1, sizeof *doc);
    p->d->cur_file = name;
    if (rf_workflow_yaml_doc(text.data ? text.data : "", text.len, doc, p->d) == 0) {
        in->docs = rf_xrealloc(in->docs, (in->ndocs + 1) * sizeof *in->docs);
        in->docs[in->ndocs++] = doc;
        in->stack = rf_xrealloc(in->stack, (in->depth + 1) * sizeof *in->stack);
        in->stack[in->depth++] = real;
        p->cur = doc;
        yaml_node_t *root = yaml_document_get_root_node(doc);
        incl_top t = {0};
        if (!root || rf_workflow_expect_mapping(p, root, "an included file") == 0) {
            if (root)
                rf_workflow_each_pair(p, root, incl_keys, "included-file", incl_pair, &t);
            if (t.include)
                include_list(p, t.include, name);
            if (t.templates && rf_workflow_expect_mapping(p, t.templates, "templates") == 0)
                rf_workflow_each_pair(p, t.templates, NULL, "templates", tpl_pair, NULL);
        }
        in->depth--;
    } else {
        free(doc);
    }
    free(real);
    p->cur = saved_doc;
    p->d->cur_file = saved_file;
    rf_buf_free(&text);
}

/* include: FILE or [FILE, ...] */
static void include_list(parser *p, yaml_node_t *v, const char *includer)
{
    if (v->type == YAML_SCALAR_NODE) {
        load_include(p, v, includer);
        return;
    }
    if (v->type != YAML_SEQUENCE_NODE) {
        DIAG(p, v, "include must be a file or a list of files");
        return;
    }
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = rf_workflow_node(p, *it);
        if (rf_workflow_expect_scalar(p, e, "an include") == 0)
            load_include(p, e, includer);
    }
}

void rf_workflow_tpl_top(parser *p, yaml_node_t *include, yaml_node_t *templates)
{
    if (templates && rf_workflow_expect_mapping(p, templates, "templates") == 0)
        rf_workflow_each_pair(p, templates, NULL, "templates", tpl_pair, NULL);
    if (!include)
        return;
    /* The workflow file itself is the bottom of the include stack. */
    struct rf_wf_incl *in = incl_of(p);
    char *self = realpath(p->wf->file, NULL);
    if (self) {
        in->stack = rf_xrealloc(in->stack, sizeof *in->stack);
        in->stack[in->depth++] = self;
    }
    include_list(p, include, p->wf->file);
    if (self)
        in->depth--;
    free(self);
}

static int has_key(char *const *keys, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(keys[i], key))
            return 1;
    return 0;
}

void rf_workflow_tpl_apply(parser *p, step_ctx *c, yaml_node_t *step, yaml_node_t *uses)
{
    if (rf_workflow_expect_scalar(p, uses, "uses") < 0)
        return;
    const char *name = rf_workflow_scalar(uses);
    const tpl *t = find_tpl(p->incl, name);
    if (!t) {
        c->has_worker = 1;   /* said once: the template is what is missing */
        size_t n = p->incl ? p->incl->nt : 0;
        const char **known = rf_xcalloc(n + 1, sizeof *known);
        for (size_t i = 0; i < n; i++)
            known[i] = p->incl->t[i].name;
        if (n)
            rf_workflow_unknown_word(p, uses, "template", name, known);
        else
            DIAG(p, uses, "unknown template \"%s\"; define it under templates (here or "
                 "in an included file)", name);
        free(known);
        return;
    }
    /* The step's own keys, read before switching documents. */
    char **own = NULL;
    size_t nown = 0;
    for (yaml_node_pair_t *i = step->data.mapping.pairs.start;
         i < step->data.mapping.pairs.top; i++) {
        const char *k = rf_workflow_scalar(rf_workflow_node(p, i->key));
        if (k) {
            own = rf_xrealloc(own, (nown + 1) * sizeof *own);
            own[nown++] = (char *)k;
        }
    }
    yaml_document_t *saved_doc = p->cur;
    const char *saved_file = p->d->cur_file;
    p->cur = t->doc;
    p->d->cur_file = t->file;
    c->file = t->file;
    for (yaml_node_pair_t *i = t->body->data.mapping.pairs.start;
         i < t->body->data.mapping.pairs.top; i++) {
        yaml_node_t *k = rf_workflow_node(p, i->key), *v = rf_workflow_node(p, i->value);
        const char *key = rf_workflow_scalar(k);
        if (!key)
            DIAG(p, k, "template keys must be plain names");
        else if (!rf_workflow_in_list(rf_workflow_step_keys, key))
            rf_workflow_unknown_word(p, k, "key", key, rf_workflow_step_keys);
        else if (!strcmp(key, "uses"))
            DIAG(p, k, "a template cannot use another template; copy its keys");
        else if (!has_key(own, nown, key) || !strcmp(key, "with"))
            rf_workflow_step_pair(p, key, k, v, c);
    }
    p->cur = saved_doc;
    p->d->cur_file = saved_file;
    free(own);
}
