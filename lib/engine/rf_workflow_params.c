/* rf_workflow_params: the params block: typed parameters, their defaults, -p
 * overrides and canonical values (equal values give equal cache keys). */
#include "engine/rf_workflow_impl.h"

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
            yaml_node_t *e = rf_workflow_node(p, *it);
            if (rf_workflow_expect_scalar(p, e, "a list parameter's element") == 0)
                items[k++] = rf_xstrdup(rf_workflow_scalar(e));
        }
        param_set_list(pm, items, k);
        return;
    }
    if (rf_workflow_expect_scalar(p, v, "a parameter's default") < 0)
        return;
    rf_buf b = RF_BUF_INIT;
    if (rf_workflow_canonical(pm->type, rf_workflow_scalar(v), &b) < 0)
        DIAG(p, v, "default \"%s\" of parameter \"%s\" is not a valid %s; "
             "fix the value or the type", rf_workflow_scalar(v), pm->name, rf_workflow_type_names[pm->type]);
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
        const char *t = rf_workflow_scalar(v);
        int found = -1;
        for (int i = 0; t && rf_workflow_type_names[i]; i++)
            if (!strcmp(t, rf_workflow_type_names[i]))
                found = i;
        if (found < 0) {
            if (t)
                rf_workflow_unknown_word(p, v, "type", t, rf_workflow_type_names);
            else
                DIAG(p, v, "type must be one of string, int, float, bool, list");
        } else {
            c->pm->type = found;
            c->typed = 1;
        }
    } else if (!strcmp(key, "default")) {
        c->def = v;
    } else if (!strcmp(key, "description")) {
        if (rf_workflow_expect_scalar(p, v, "description") == 0)
            c->pm->desc = rf_xstrdup(rf_workflow_scalar(v));
    }
    return 0;
}

int rf_workflow_params_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                       void *ud)
{
    rf_workflow *wf = p->wf;
    if (!rf_workflow_valid_name(key)) {
        DIAG(p, k, "parameter name \"%s\" may use only letters, digits, _ and -", key);
        return 0;
    }
    wf->params = rf_xrealloc(wf->params, (wf->nparams + 1) * sizeof *wf->params);
    rf_wf_param *pm = &wf->params[wf->nparams++];
    memset(pm, 0, sizeof *pm);
    pm->name = rf_xstrdup(key);
    pm->loc = rf_workflow_loc_of(v);
    param_ctx c = {pm, v, 0};
    if (v->type == YAML_MAPPING_NODE) {
        c.def = NULL;
        rf_workflow_each_pair(p, v, rf_workflow_param_keys, "parameter", param_pair, &c);
        if (!c.def) {
            DIAG(p, v, "parameter \"%s\" has no default; add `default: VALUE`", key);
            pm->value = rf_xstrdup("");
            return 0;
        }
    }
    if (!c.typed)
        pm->type = rf_workflow_infer_type(c.def);
    param_value(p, pm, c.def);
    if (!pm->value)
        pm->value = rf_xstrdup("");
    return 0;
}

void rf_workflow_apply_override(parser *p, const char *ov)
{
    const char *eq = strchr(ov, '=');
    rf_wf_loc none = {0, 0};
    if (!eq || eq == ov) {
        rf_workflow_diag_at(p->d, none, "-p %s: expected KEY=VALUE", ov);
        return;
    }
    char *key = strndup(ov, (size_t)(eq - ov));
    const rf_wf_param *cpm = rf_workflow_param(p->wf, key);
    if (!cpm) {
        rf_workflow_diag_at(p->d, none, "-p %s: the workflow has no parameter \"%s\"; "
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
        if (rf_workflow_canonical(pm->type, val, &b) < 0)
            rf_workflow_diag_at(p->d, none, "-p %s: \"%s\" is not a valid %s", ov, val,
                    rf_workflow_type_names[pm->type]);
        else {
            free(pm->value);
            pm->value = rf_buf_detach(&b, NULL);
        }
        rf_buf_free(&b);
    }
    free(key);
}
