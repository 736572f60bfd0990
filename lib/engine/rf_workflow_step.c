/* rf_workflow_step: one step's keys: worker, with, inputs, needs, retries,
 * timeout, priority, pool, tier, cache, spawn (and tune, handed on to
 * rf_workflow_tune.c). */
#include "engine/rf_workflow_impl.h"

rf_wf_loc rf_workflow_content_loc(const yaml_node_t *n)
{
    rf_wf_loc l = rf_workflow_loc_of(n);
    if (n->type == YAML_SCALAR_NODE &&
        (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
         n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE))
        l.col++;
    return l;
}

void rf_workflow_kv_push(parser *p, rf_wf_kv **a, size_t *n, const char *key,
                         const char *val, rf_wf_loc loc)
{
    *a = rf_xrealloc(*a, (*n + 1) * sizeof **a);
    (*a)[*n].key = rf_xstrdup(key);
    (*a)[*n].val = rf_xstrdup(val);
    (*a)[*n].loc = loc;
    (*a)[*n].file = p->d->cur_file;
    (*n)++;
}

/* with: a step's own value replaces its template's (one value per key). */
static void with_set(parser *p, rf_wf_step *s, const char *key, const char *val,
                     rf_wf_loc loc)
{
    for (size_t i = 0; i < s->nwith; i++)
        if (!strcmp(s->with[i].key, key)) {
            free(s->with[i].val);
            s->with[i].val = rf_xstrdup(val);
            s->with[i].loc = loc;
            s->with[i].file = p->d->cur_file;
            return;
        }
    rf_workflow_kv_push(p, &s->with, &s->nwith, key, val, loc);
}

/* `with` values: scalars, or lists of scalars joined with "," ("hidden: [64,
 * 32]" reaches the worker as "64,32"). */
static int with_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                     void *ud)
{
    rf_wf_step *s = ud;
    if (!rf_workflow_valid_name(key)) {
        DIAG(p, k, "parameter name \"%s\" may use only letters, digits, _ and -", key);
        return 0;
    }
    if (v->type == YAML_SCALAR_NODE) {
        with_set(p, s, key, rf_workflow_scalar(v), rf_workflow_content_loc(v));
        return 0;
    }
    if (v->type != YAML_SEQUENCE_NODE) {
        DIAG(p, v, "with.%s must be a value or a list of values, not a mapping", key);
        return 0;
    }
    rf_buf b = RF_BUF_INIT;
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = rf_workflow_node(p, *it);
        if (rf_workflow_expect_scalar(p, e, "an element of a with list") == 0)
            rf_buf_addf(&b, "%s%s", b.len ? "," : "", rf_workflow_scalar(e));
    }
    with_set(p, s, key, b.data ? b.data : "", rf_workflow_loc_of(v));
    rf_buf_free(&b);
    return 0;
}

static int inputs_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                       void *ud)
{
    rf_wf_step *s = ud;
    if (!rf_workflow_valid_name(key)) {
        DIAG(p, k, "input name \"%s\" may use only letters, digits, _ and -", key);
        return 0;
    }
    if (v->type == YAML_SCALAR_NODE) {
        rf_workflow_kv_push(p, &s->inputs, &s->ninputs, key, rf_workflow_scalar(v), rf_workflow_content_loc(v));
        return 0;
    }
    if (v->type != YAML_SEQUENCE_NODE) {
        DIAG(p, v, "inputs.%s must be a reference, a store URL or a list of them", key);
        return 0;
    }
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = rf_workflow_node(p, *it);
        if (rf_workflow_expect_scalar(p, e, "an input") == 0)
            rf_workflow_kv_push(p, &s->inputs, &s->ninputs, key, rf_workflow_scalar(e), rf_workflow_content_loc(e));
    }
    return 0;
}

static int scalar_long(parser *p, yaml_node_t *v, const char *what, long lo, long hi,
                       long *out)
{
    long l;
    if (rf_workflow_expect_scalar(p, v, what) < 0)
        return -1;
    if (rf_workflow_parse_long(rf_workflow_scalar(v), &l) < 0 || l < lo || l > hi) {
        DIAG(p, v, "%s must be an integer from %ld to %ld, not \"%s\"", what, lo, hi,
             rf_workflow_scalar(v));
        return -1;
    }
    *out = l;
    return 0;
}

static int scalar_duration(parser *p, yaml_node_t *v, const char *what, long *out)
{
    if (rf_workflow_expect_scalar(p, v, what) < 0)
        return -1;
    if (rf_workflow_parse_duration_ms(rf_workflow_scalar(v), out) < 0) {
        DIAG(p, v, "%s \"%s\" is not a duration; write e.g. 500ms, 2s, 5m or 1h",
             what, rf_workflow_scalar(v));
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
    } else if (rf_workflow_expect_scalar(p, v, "retries.jitter") == 0) {
        double d;
        if (rf_workflow_parse_double(rf_workflow_scalar(v), &d) < 0 || d < 0 || d > 1)
            DIAG(p, v, "retries.jitter must be a number from 0 to 1, not \"%s\"",
                 rf_workflow_scalar(v));
        else
            r->jitter = d;
    }
    return 0;
}

int rf_workflow_step_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                          void *ud)
{
    step_ctx *c = ud;
    rf_wf_step *s = c->s;
    long l;
    if (!strcmp(key, "worker")) {
        c->has_worker = 1;
        if (rf_workflow_expect_scalar(p, v, "worker") < 0)
            return 0;
        if (!rf_workflow_in_list(rf_wf_workers, rf_workflow_scalar(v)))
            rf_workflow_unknown_word(p, v, "worker", rf_workflow_scalar(v), rf_wf_workers);
        else
            s->worker = rf_xstrdup(rf_workflow_scalar(v));
    } else if (!strcmp(key, "description")) {
        if (rf_workflow_expect_scalar(p, v, "description") == 0)
            s->desc = rf_xstrdup(rf_workflow_scalar(v));
    } else if (!strcmp(key, "with")) {
        if (rf_workflow_expect_mapping(p, v, "with") == 0)
            rf_workflow_each_pair(p, v, NULL, "with", with_pair, s);
    } else if (!strcmp(key, "inputs")) {
        if (rf_workflow_expect_mapping(p, v, "inputs") == 0)
            rf_workflow_each_pair(p, v, NULL, "inputs", inputs_pair, s);
    } else if (!strcmp(key, "needs")) {
        if (v->type == YAML_SCALAR_NODE) {
            c->need_nodes = rf_xrealloc(c->need_nodes, (c->nneed_nodes + 1) * sizeof v);
            c->need_nodes[c->nneed_nodes++] = v;
        } else if (v->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++) {
                yaml_node_t *e = rf_workflow_node(p, *it);
                if (rf_workflow_expect_scalar(p, e, "an element of needs") < 0)
                    continue;
                c->need_nodes = rf_xrealloc(c->need_nodes,
                                            (c->nneed_nodes + 1) * sizeof e);
                c->need_nodes[c->nneed_nodes++] = e;
            }
        } else {
            DIAG(p, v, "needs must be a step name or a list of step names");
        }
    } else if (!strcmp(key, "foreach") || !strcmp(key, "chain")) {
        if (key[0] == 'f')
            c->fan_node = v, c->fan_file = p->d->cur_file;
        rf_workflow_parse_fan(p, s, v, key[0] == 'c');
    } else if (!strcmp(key, "when")) {
        c->when_node = v;
        c->when_file = p->d->cur_file;
        if (rf_workflow_expect_scalar(p, v, "when") == 0) {
            s->when = rf_xstrdup(rf_workflow_scalar(v)); /* checked once all steps are known */
        }
    } else if (!strcmp(key, "retries")) {
        if (v->type == YAML_MAPPING_NODE)
            rf_workflow_each_pair(p, v, rf_workflow_retry_keys, "retries", retry_pair, &s->retry);
        else if (scalar_long(p, v, "retries", 0, 100, &l) == 0)
            s->retry.count = (int)l;
    } else if (!strcmp(key, "timeout")) {
        c->has_timeout = 1;
        scalar_duration(p, v, "timeout", &s->timeout_ms);
    } else if (!strcmp(key, "suspend")) {
        if (rf_workflow_expect_scalar(p, v, "suspend") == 0 &&
            rf_workflow_parse_bool(rf_workflow_scalar(v), &s->suspend) < 0)
            DIAG(p, v, "suspend must be true or false, not \"%s\"", rf_workflow_scalar(v));
    } else if (!strcmp(key, "priority")) {
        if (scalar_long(p, v, "priority", 0, 9, &l) == 0)
            s->priority = (int)l;
    } else if (!strcmp(key, "pool")) {
        if (rf_workflow_expect_scalar(p, v, "pool") == 0) {
            if (!rf_workflow_valid_name(rf_workflow_scalar(v)))
                DIAG(p, v, "pool name \"%s\" may use only letters, digits, _ and -",
                     rf_workflow_scalar(v));
            else {
                free(s->pool);
                s->pool = rf_xstrdup(rf_workflow_scalar(v));
            }
        }
    } else if (!strcmp(key, "tier")) {
        static const char *const tiers[] = {"hot", "warm", "cold", NULL};
        if (rf_workflow_expect_scalar(p, v, "tier") < 0)
            return 0;
        int t = -1;
        for (int ti = 0; tiers[ti]; ti++)
            if (!strcmp(rf_workflow_scalar(v), tiers[ti]))
                t = ti;
        if (t < 0)
            rf_workflow_unknown_word(p, v, "tier", rf_workflow_scalar(v), tiers);
        else
            s->tier = t;
    } else if (!strcmp(key, "cache")) {
        if (rf_workflow_expect_scalar(p, v, "cache") == 0 && rf_workflow_parse_bool(rf_workflow_scalar(v), &s->cache) < 0)
            DIAG(p, v, "cache must be true or false, not \"%s\"", rf_workflow_scalar(v));
    } else if (!strcmp(key, "tune")) {
        if (rf_workflow_expect_mapping(p, v, "tune") == 0)
            c->tune = v;
    } else if (!strcmp(key, "spawn")) {
        if (scalar_long(p, v, "spawn", 0, 100000, &l) == 0)
            s->spawn_max = (size_t)l;
    }
    return 0;
}

/* suspend: true: one task that runs no worker and waits for `ruvflow
 * approve` (or reject); `timeout` bounds the wait only when given. */
static void check_suspend(parser *p, yaml_node_t *k, step_ctx *c)
{
    rf_wf_step *s = c->s;
    if (c->has_worker)
        DIAG(p, k, "step \"%s\" has suspend: true and a worker; a suspend step runs "
             "nothing (it waits for `ruvflow approve`): remove one", s->name);
    if (s->fan != RF_FAN_NONE || s->spawn_max)
        DIAG(p, k, "step \"%s\": a suspend step is one approval; it cannot have "
             "foreach, chain or spawn", s->name);
    free(s->worker);
    s->worker = rf_xstrdup("suspend");
    if (!c->has_timeout)
        s->timeout_ms = 0;
    s->cache = 0;   /* a decision is never reused */
}

/* on_exit: one step (a mapping with a worker), named "on_exit"; a list of
 * steps, named on_exit-1, on_exit-2, ...; or a mapping of steps keyed by
 * name, as under steps. */
void rf_workflow_parse_on_exit(parser *p, yaml_node_t *v, step_ctx **ctxs)
{
    p->exit_steps = 1;
    if (v->type == YAML_SEQUENCE_NODE) {
        int k = 0;
        for (yaml_node_item_t *it = v->data.sequence.items.start;
             it < v->data.sequence.items.top; it++) {
            char name[32];
            snprintf(name, sizeof name, "on_exit-%d", ++k);
            yaml_node_t *e = rf_workflow_node(p, *it);
            rf_workflow_steps_pair(p, name, e, e, ctxs);
        }
        p->exit_steps = 0;
        return;
    }
    if (rf_workflow_expect_mapping(p, v, "on_exit") < 0) {
        p->exit_steps = 0;
        return;
    }
    if (rf_workflow_find_key(p, v, "worker") || rf_workflow_find_key(p, v, "uses") ||
        rf_workflow_find_key(p, v, "suspend"))
        rf_workflow_steps_pair(p, "on_exit", v, v, ctxs);
    else
        rf_workflow_each_pair(p, v, NULL, "on_exit", rf_workflow_steps_pair, ctxs);
    p->exit_steps = 0;
}

int rf_workflow_steps_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                      void *ud)
{
    step_ctx **ctxs = ud;
    rf_workflow *wf = p->wf;
    if (strlen(key) >= RF_REF_NAME_MAX) {
        DIAG(p, k, "step name \"%.40s...\" is %zu bytes long; at most %d", key, strlen(key),
             RF_REF_NAME_MAX - 1);
        return 0;
    }
    if (!rf_workflow_valid_name(key) || !strcmp(key, "prev")) {
        DIAG(p, k, "step name \"%s\" may use only letters, digits, _ and - "
             "(and cannot be \"prev\")", key);
        return 0;
    }
    if (rf_workflow_expect_mapping(p, v, "a step") < 0)
        return 0;
    if (rf_workflow_step(wf, key, NULL)) {
        DIAG(p, k, "step \"%s\" is defined twice (under steps and on_exit, or as a "
             "tune step's NAME-trials); rename one", key);
        return 0;
    }
    wf->steps = rf_xrealloc(wf->steps, (wf->nsteps + 1) * sizeof *wf->steps);
    *ctxs = rf_xrealloc(*ctxs, (wf->nsteps + 1) * sizeof **ctxs);
    rf_wf_step *s = &wf->steps[wf->nsteps];
    step_ctx *c = &(*ctxs)[wf->nsteps++];
    memset(s, 0, sizeof *s);
    memset(c, 0, sizeof *c);
    c->s = s;
    c->node = v;
    s->on_exit = p->exit_steps;
    s->name = rf_xstrdup(key);
    s->loc = rf_workflow_loc_of(k);
    s->ntasks = 1;
    s->retry = (rf_wf_retry){2, 1000, 60000, 0.2};
    s->timeout_ms = 3600000;
    s->priority = 5;
    s->pool = rf_xstrdup("default");
    s->tier = RF_TIER_HOT;
    s->cache = 1;
    yaml_node_t *uses = rf_workflow_find_key(p, v, "uses");
    if (uses)
        rf_workflow_tpl_apply(p, c, v, uses);
    rf_workflow_each_pair(p, v, rf_workflow_step_keys, "step", rf_workflow_step_pair, c);
    if (s->retry.cap_ms < s->retry.base_ms)
        s->retry.cap_ms = s->retry.base_ms;
    if (c->tune) {
        rf_workflow_lower_tune(p, ctxs, wf->nsteps - 1);
        return 0;
    }
    if (s->suspend)
        check_suspend(p, k, c);
    else if (!c->has_worker)
        DIAG(p, k, "step \"%s\" has no worker; add `worker: NAME` (one of "
             "preprocess, train-stage, tune-trial, eval-fold, checkpoint-compact, "
             "noop, sleep), or `tune:` for a search", key);
    return 0;
}
