/* rf_workflow_list: `steps:` written as a list of {name: ..., worker: ...}
 * items (Argo's and Tekton's habit), the same steps as the mapping form
 * `steps: {NAME: {worker: ...}}`. Each item goes through the mapping
 * form's own step parser with its `name` taken out, so both forms accept
 * the same keys and report the same FILE:LINE:COL errors; a name given
 * twice is refused, as a duplicate key of the mapping is. */
#include "engine/rf_workflow_impl.h"

/* The item's `name` pair, or NULL (with a diagnostic). */
static yaml_node_pair_t *name_pair(parser *p, yaml_node_t *item)
{
    for (yaml_node_pair_t *i = item->data.mapping.pairs.start; i < item->data.mapping.pairs.top;
         i++) {
        const char *key = rf_workflow_scalar(rf_workflow_node(p, i->key));
        if (key && !strcmp(key, "name"))
            return i;
    }
    DIAG(p, item, "a step of the steps list has no name; add `name: NAME` (or write steps "
                  "as a mapping keyed by step name)");
    return NULL;
}

/* 1 when an earlier item of seq, before `upto`, already has name. */
static int named_before(parser *p, yaml_node_t *seq, yaml_node_item_t *upto, const char *name)
{
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < upto; it++) {
        yaml_node_t *e = rf_workflow_node(p, *it);
        if (!e || e->type != YAML_MAPPING_NODE)
            continue;
        for (yaml_node_pair_t *i = e->data.mapping.pairs.start; i < e->data.mapping.pairs.top;
             i++) {
            const char *k = rf_workflow_scalar(rf_workflow_node(p, i->key));
            const char *v = rf_workflow_scalar(rf_workflow_node(p, i->value));
            if (k && v && !strcmp(k, "name") && !strcmp(v, name))
                return 1;
        }
    }
    return 0;
}

/* One item: its pairs but `name`, handed to the mapping form's parser in a
 * node of our own (libyaml's pairs are a contiguous array). */
static void list_item(parser *p, yaml_node_t *seq, yaml_node_item_t *it, step_ctx **ctxs)
{
    yaml_node_t *item = rf_workflow_node(p, *it);
    if (rf_workflow_expect_mapping(p, item, "a step of the steps list") < 0)
        return;
    yaml_node_pair_t *np = name_pair(p, item);
    if (!np)
        return;
    yaml_node_t *nk = rf_workflow_node(p, np->value);
    if (rf_workflow_expect_scalar(p, nk, "a step's name") < 0)
        return;
    const char *name = rf_workflow_scalar(nk);
    if (named_before(p, seq, it, name)) {
        DIAG(p, nk, "duplicate step name \"%s\"; remove one of them or rename it", name);
        return;
    }
    size_t n = (size_t)(item->data.mapping.pairs.top - item->data.mapping.pairs.start);
    yaml_node_pair_t *rest = rf_xcalloc(n ? n : 1, sizeof *rest);
    size_t m = 0;
    for (yaml_node_pair_t *i = item->data.mapping.pairs.start; i < item->data.mapping.pairs.top;
         i++)
        if (i != np)
            rest[m++] = *i;
    yaml_node_t body = *item;
    body.data.mapping.pairs.start = rest;
    body.data.mapping.pairs.top = body.data.mapping.pairs.end = rest + m;
    rf_workflow_steps_pair(p, name, nk, &body, ctxs);
    free(rest);
}

void rf_workflow_steps_list(parser *p, yaml_node_t *seq, step_ctx **ctxs)
{
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++)
        list_item(p, seq, it, ctxs);
}
