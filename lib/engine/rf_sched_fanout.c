/* rf_sched_fanout: `foreach: ${{ steps.A.outputs.NAME }}` (Argo's
 * withParam). When the step is first dispatched (A has finished), the
 * scheduler reads A's output from the store, parses its items
 * (rf_wf_items) and fixes the step's tasks in one script call (run expand),
 * once for all schedulers; a list that is not one fails the step. Later
 * dispatches, and schedulers started afterwards, load the items from Redis
 * into their copy of the plan. */
#include "engine/rf_sched_impl.h"

#include "store/rf_store.h"
#include "engine/rf_wf_items.h"

/* Put items (a JSON list of strings) into the step's only axis. */
static int load_items(rf_wf_step *st, const char *json, rf_err *err)
{
    json_t *a = json_loads(json, 0, NULL);
    if (!json_is_array(a)) {
        json_decref(a);
        return rf_errf(err, RF_ECORRUPT, "step %s: stored foreach items are not a "
                       "JSON list", st->name);
    }
    rf_wf_axis *ax = &st->axes[0];
    rf_wf_items_free(ax->vals, ax->n);
    free(ax->vals);
    ax->n = json_array_size(a);
    ax->vals = rf_xcalloc(ax->n + 1, sizeof *ax->vals);
    for (size_t i = 0; i < ax->n; i++) {
        const char *v = json_string_value(json_array_get(a, i));
        ax->vals[i] = rf_xstrdup(v ? v : "");
    }
    st->ntasks = ax->n;
    json_decref(a);
    return 0;
}

/* Append the items of the object at url. */
static int read_url(rf_sched *s, const char *url, size_t max, char ***items, size_t *n,
                    rf_err *err)
{
    char *root = NULL, *key = NULL;
    rf_store *st = NULL;
    rf_buf b = RF_BUF_INIT;
    int rc = rf_store_split_url(url, &root, &key, err);
    if (rc == 0)
        rc = rf_store_open(root, s->o.cfg, &st, err);
    if (rc == 0)
        rc = rf_store_get_mem(st, key, &b, err);
    if (rc == 0)
        rc = rf_wf_items_parse(b.data ? b.data : "", b.len, max, items, n, err);
    if (rc < 0)
        rf_err_prefix(err, "%s", url);
    rf_store_close(st);
    rf_buf_free(&b);
    free(root);
    free(key);
    return rc;
}

/* Items of output `key` of every task of step dsi (in task order). */
static int read_items(rf_sched *s, const plan *p, size_t dsi, const char *key,
                      size_t max, char ***items, size_t *n, rf_err *err)
{
    size_t total;
    if (rf_sched_step_total(s, p->run, dsi, &total, err) < 0)
        return -1;
    json_t *arr = rf_sched_gather(s, p, dsi, 0, total, err);
    if (!arr)
        return -1;
    int rc = 0;
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r) {
        const char *how = json_string_value(json_object_get(r, "h"));
        if (rc < 0 || !how || !strcmp(how, "skip"))
            continue;
        json_t *v = json_object_get(json_object_get(r, "o"), key);
        if (!v) {
            rc = rf_errf(err, RF_ENOTFOUND, "step \"%s\" (task %zu) has no output "
                         "\"%s\"", p->wf->steps[dsi].name, i, key);
            continue;
        }
        if (json_is_string(v))
            rc = read_url(s, json_string_value(v), max, items, n, err);
        size_t k;
        json_t *u;
        json_array_foreach(v, k, u) if (rc == 0 && json_is_string(u))
            rc = read_url(s, json_string_value(u), max, items, n, err);
    }
    json_decref(arr);
    return rc;
}

/* Tasks this step may have: the workflow's cap less the other steps'. */
static size_t items_max(const rf_workflow *wf, size_t si)
{
    size_t cap = wf->max_tasks ? wf->max_tasks : RF_WF_MAX_TASKS_DEFAULT, other = 0;
    for (size_t i = 0; i < wf->nsteps; i++)
        if (i != si)
            other += wf->steps[i].ntasks;
    return cap > other ? cap - other : 0;
}

/* The list is not one: task 0 of the step fails, and with it the run. */
static int fail_step(rf_sched *s, const plan *p, size_t si, const rf_err *why,
                     rf_err *err)
{
    rf_buf msg = RF_BUF_INIT, txt = RF_BUF_INIT;
    rf_buf_addf(&msg, "foreach %s: %s", p->wf->steps[si].fan_from, why->msg);
    json_t *r = json_pack("{s:s,s:s}", "h", "fail", "e", msg.data);
    char *res = json_dumps(r, JSON_COMPACT);
    rf_buf_addf(&txt, "%s/0: %s", p->wf->steps[si].name, msg.data);
    finisher f = FINISHER_INIT(s);
    rf_sched_fin_add(&f, p, si, 0, "fail", res, txt.data);
    int rc = rf_sched_fin_flush(&f, NULL, err);
    rf_log_warn(s->o.log, "run %s: %s", p->run, txt.data);
    rf_sched_fin_free(&f);
    free(res);
    json_decref(r);
    rf_buf_free(&msg);
    rf_buf_free(&txt);
    return rc;
}

static int expand(rf_sched *s, const plan *p, size_t si, char **items, size_t n,
                  rf_err *err)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(items[i]));
    char *txt = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    char sidx[24], num[24];
    snprintf(sidx, sizeof sidx, "%zu", si);
    snprintf(num, sizeof num, "%zu", n);
    size_t nd = p->ndependents[si];
    const char **argv = rf_xcalloc(nd + 6, sizeof *argv);
    argv[0] = s->P, argv[1] = p->run, argv[2] = sidx, argv[3] = txt, argv[4] = num;
    for (size_t k = 0; k < nd; k++)
        argv[5 + k] = p->dep_args[si][k];
    redisReply *rep;
    int rc = rf_redis_eval(s->r, &rf_sched_lua_expand, 0, (int)(nd + 5), argv, NULL,
                           &rep, err);
    free(argv);
    free(txt);
    if (rc == 0) {
        if (rf_sched_reply_int(rep) == 1)
            rf_log_info(s->o.log, "run %s: %s fans out over %zu item(s)", p->run,
                        p->wf->steps[si].name, n);
        freeReplyObject(rep);
    }
    return rc;
}

static int stored_items(rf_sched *s, const plan *p, size_t si, char **out, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    char f[24];
    rf_sched_key_of(&k, s, p->run, ":items");
    snprintf(f, sizeof f, "%zu", si);
    const char *argv[] = {"HGET", k.data, f};
    int rc = rf_sched_get_str(s, 3, argv, out, err);
    rf_buf_free(&k);
    return rc;
}

int rf_sched_fanout(rf_sched *s, plan *p, size_t si, rf_err *err)
{
    rf_wf_step *st = &p->wf->steps[si];
    if (!st->fan_from || p->fan_ready[si])
        return 0;
    char *have;
    if (stored_items(s, p, si, &have, err) < 0)
        return -1;
    if (!have) {
        rf_ref r;
        size_t dsi;
        char **items = NULL;
        size_t n = 0;
        rf_err why;
        if (rf_tpl_single_ref(st->fan_from, &r, err) != 1 ||
            !rf_workflow_step(p->wf, r.step, &dsi))
            return rf_errf(err, RF_ECORRUPT, "step %s: bad foreach reference in the "
                           "plan", st->name);
        int rc = read_items(s, p, dsi, r.key, items_max(p->wf, si), &items, &n, &why);
        if (rc == 0)
            rc = expand(s, p, si, items, n, err);
        else if (why.code == RF_ENET)
            *err = why;   /* the store may come back: dispatch again later */
        else
            rc = fail_step(s, p, si, &why, err);
        rf_wf_items_free(items, n);
        free(items);
        if (rc < 0 || (rc = stored_items(s, p, si, &have, err)) < 0 || !have)
            return rc;
    }
    int rc = load_items(st, have, err);
    free(have);
    if (rc == 0)
        p->fan_ready[si] = 1;
    return rc;
}
