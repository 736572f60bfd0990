/* rf_sched_delete: forgetting runs. The one way a run's Redis state goes
 * away (rf_sched_forget), used by `ruvflow delete`, by the global retention
 * trim and by per-workflow retention (`retention: {runs: N} | {days: D}`);
 * and the reference check `ruvflow delete --outputs` needs: which of a
 * run's output objects no other run and no cache entry of another run
 * points at. */
#include "engine/rf_sched_impl.h"

#include "engine/rf_queue.h"

/* ------------------------------------------------------------ forgetting */

/* The task records of step si of a run (the queue's), in batches. */
static int forget_step_tasks(rf_sched *s, const char *run, const plan *p, size_t si,
                             rf_err *err)
{
    size_t total;
    if (rf_sched_step_total(s, run, si, &total, err) < 0)
        return -1;
    rf_buf id = RF_BUF_INIT;
    int rc = 0;
    for (size_t lo = 0; rc == 0 && lo < total; lo += BATCH) {
        size_t hi = total - lo > BATCH ? lo + BATCH : total;
        char **ids = rf_xcalloc(hi - lo, sizeof *ids);
        for (size_t j = lo; j < hi; j++) {
            rf_dag_task_id(&id, run, p->wf->steps[si].name, j);
            ids[j - lo] = rf_buf_detach(&id, NULL);
        }
        rc = rf_queue_forget(s->q, (const char *const *)ids, hi - lo, err);
        for (size_t j = 0; j < hi - lo; j++)
            free(ids[j]);
        free(ids);
    }
    return rc;
}

int rf_sched_forget(rf_sched *s, const char *run, rf_err *err)
{
    rf_err e;
    plan *p = rf_sched_plan_get(s, run, &e);   /* none: a half-submitted run */
    size_t nsteps = p ? p->wf->nsteps : 0;
    const char **a = rf_xcalloc(nsteps + 3, sizeof *a);
    a[0] = s->P, a[1] = run;
    int rc = 0;
    /* The task records first, then the run: a failure leaves a run that a
     * second attempt can still find. */
    for (size_t si = 0; rc == 0 && si < nsteps; si++) {
        a[2 + si] = p->wf->steps[si].name;
        rc = forget_step_tasks(s, run, p, si, err);
    }
    redisReply *r2;
    if (rc == 0 && (rc = rf_redis_eval(s->r, &rf_sched_lua_trim, 0, (int)(2 + nsteps), a,
                                       NULL, &r2, err)) == 0)
        freeReplyObject(r2);
    free(a);
    rf_sched_plan_evict(s, run);
    return rc;
}

int rf_sched_delete_check(rf_sched *s, const char *run, int force, rf_err *err)
{
    char *state = NULL;
    if (rf_sched_run_state(s, run, &state, err) < 0)
        return -1;
    if (!state)
        return rf_errf(err, RF_ENOTFOUND, "no run \"%s\"", run);
    int running = !strcmp(state, "running");
    free(state);
    if (!running)
        return 0;
    if (!force)
        return rf_errf(err, RF_ESTATE, "run %s is running: cancel it first (ruvflow cancel "
                       "%s) or delete with --force", run, run);
    return rf_sched_cancel(s, run, err);
}

int rf_sched_delete(rf_sched *s, const char *run, rf_err *err)
{
    if (rf_sched_forget(s, run, err) < 0)
        return rf_err_prefix(err, "delete %s", run);
    return 0;
}

/* ------------------------------------------------------------ references */

/* Every URL of a result's outputs {"name": url | [url...]} into set. */
static void add_output_urls(json_t *set, json_t *o)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t j = 0; j < n; j++) {
            const char *u = json_string_value(json_is_array(v) ? json_array_get(v, j) : v);
            if (u && *u)
                json_object_set_new(set, u, json_true());
        }
    }
}

int rf_sched_run_outputs(rf_sched *s, const char *run, json_t *set, rf_err *err)
{
    plan *p = rf_sched_plan_get(s, run, err);
    if (!p)
        return -1;
    for (size_t si = 0; si < p->wf->nsteps; si++) {
        size_t total;
        if (rf_sched_step_total(s, run, si, &total, err) < 0)
            return -1;
        for (size_t lo = 0; lo < total; lo += BATCH) {
            size_t hi = total - lo > BATCH ? lo + BATCH : total;
            json_t *arr = rf_sched_gather(s, p, si, lo, hi, err);
            if (!arr)
                return -1;
            size_t i;
            json_t *r;
            json_array_foreach(arr, i, r)
                add_output_urls(set, json_object_get(r, "o"));
            json_decref(arr);
        }
        /* gather may evict plans from the cache: look this one up again. */
        if (!(p = rf_sched_plan_get(s, run, err)))
            return -1;
    }
    return 0;
}

/* Whether task id "{run}/{step}/{i}" belongs to run. */
static int task_of(const char *task, const char *run)
{
    size_t n = strlen(run);
    return task && !strncmp(task, run, n) && task[n] == '/';
}

/* Walk the cache entries: those made by run's tasks are deleted when
 * forget is set (they would point at deleted objects), the URLs of the
 * others go into keep. */
static int scan_cache(rf_sched *s, const char *run, json_t *keep, int forget, size_t *forgot,
                      rf_err *err)
{
    rf_buf pat = RF_BUF_INIT;
    rf_buf_addf(&pat, "%scache:*", s->P);
    char cursor[32] = "0";
    int rc = 0;
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", pat.data, "COUNT", "500"};
        redisReply *rep;
        if ((rc = rf_redis_cmdv(s->r, 6, argv, NULL, &rep, err)) < 0)
            break;
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        redisReply *keys = rep->element[1];
        for (size_t i = 0; rc == 0 && i < keys->elements; i++) {
            char *text = NULL;
            const char *g[] = {"GET", keys->element[i]->str};
            if ((rc = rf_sched_get_str(s, 2, g, &text, err)) < 0 || !text)
                continue;
            json_t *j = json_loads(text, 0, NULL);
            free(text);
            if (task_of(json_string_value(json_object_get(j, "from")), run)) {
                const char *d[] = {"DEL", keys->element[i]->str};
                redisReply *r2;
                if (forget && (rc = rf_redis_cmdv(s->r, 2, d, NULL, &r2, err)) == 0) {
                    freeReplyObject(r2);
                    (*forgot)++;
                }
            } else if (j) {
                add_output_urls(keep, json_object_get(j, "o"));
            }
            json_decref(j);
        }
        freeReplyObject(rep);
    } while (rc == 0 && strcmp(cursor, "0"));
    rf_buf_free(&pat);
    return rc;
}

int rf_sched_exclusive_outputs(rf_sched *s, const char *run, json_t **urls, rf_err *err)
{
    *urls = NULL;
    json_t *mine = json_object(), *others = json_object();
    char **ids = NULL;
    size_t n = 0, forgot = 0;
    int rc = rf_sched_run_outputs(s, run, mine, err);
    if (rc == 0)
        rc = rf_sched_list(s, 0, &ids, &n, err);
    for (size_t i = 0; i < n; i++) {
        rf_err e;
        /* A run trimmed meanwhile has no plan: it references nothing. */
        if (rc == 0 && strcmp(ids[i], run) && rf_sched_run_outputs(s, ids[i], others, &e) < 0 &&
            e.code != RF_ENOTFOUND)
            rc = -1, *err = e;
        free(ids[i]);
    }
    free(ids);
    if (rc == 0)
        rc = scan_cache(s, run, others, 0, &forgot, err);
    if (rc == 0) {
        *urls = json_array();
        const char *u;
        json_t *v;
        json_object_foreach(mine, u, v)
            if (!json_object_get(others, u))
                json_array_append_new(*urls, json_string(u));
    }
    json_decref(mine);
    json_decref(others);
    return rc;
}

int rf_sched_forget_cache_of(rf_sched *s, const char *run, size_t *n, rf_err *err)
{
    *n = 0;
    json_t *unused = json_object();
    int rc = scan_cache(s, run, unused, 1, n, err);
    json_decref(unused);
    return rc;
}

/* ------------------------------------------------------------- retention */

/* Runs of a workflow name, newest first (the index submit keeps). */
static int workflow_runs(rf_sched *s, const char *name, char ***ids, size_t *n, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    rf_buf_addf(&k, "%swfruns:%s", s->P, name);
    const char *argv[] = {"ZRANGE", k.data, "0", "-1", "REV", "WITHSCORES"};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 6, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    rf_sched_take_strings(rep, ids, n);
    return 0;
}

static int unindex(rf_sched *s, const char *name, const char *run, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    rf_buf_addf(&k, "%swfruns:%s", s->P, name);
    const char *argv[] = {"ZREM", k.data, run};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 3, argv, NULL, &rep, err);
    if (rc == 0)
        freeReplyObject(rep);
    rf_buf_free(&k);
    return rc;
}

/* Apply one policy ({"runs": N} or {"days": D}) to the runs of name. */
static int apply_policy(rf_sched *s, const char *name, json_t *pol, size_t *deleted,
                        rf_err *err)
{
    long keep = (long)json_integer_value(json_object_get(pol, "runs"));
    double days = json_number_value(json_object_get(pol, "days"));
    double oldest_ms = days > 0 ? (double)rf_wall_ms() - days * 86400e3 : 0;
    char **ids;
    size_t n;
    if (workflow_runs(s, name, &ids, &n, err) < 0)
        return -1;
    long finished = 0;
    int rc = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {   /* id, created (ms) */
        const char *run = ids[i];
        char *state = NULL;
        if (rc == 0 && (rc = rf_sched_run_state(s, run, &state, err)) == 0 && !state)
            rc = unindex(s, name, run, err);   /* trimmed by the global retention */
        if (rc == 0 && state && strcmp(state, "running")) {
            finished++;
            int drop = keep > 0 ? finished > keep : strtod(ids[i + 1], NULL) < oldest_ms;
            if (drop && (rc = rf_sched_forget(s, run, err)) == 0) {
                (*deleted)++;
                rf_log_info(s->o.log, "deleted run %s (retention of workflow %s)", run, name);
            }
        }
        free(state);
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

int rf_sched_retention(rf_sched *s, size_t *deleted, rf_err *err)
{
    size_t none = 0;
    if (!deleted)
        deleted = &none;
    rf_buf k = RF_BUF_INIT;
    rf_buf_addf(&k, "%sretention", s->P);
    const char *argv[] = {"HGETALL", k.data};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 2, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    for (size_t i = 0; rc == 0 && i + 1 < rep->elements; i += 2) {
        json_t *pol = json_loads(rep->element[i + 1]->str, 0, NULL);
        if (json_is_object(pol))
            rc = apply_policy(s, rep->element[i]->str, pol, deleted, err);
        json_decref(pol);
    }
    freeReplyObject(rep);
    return rc;
}

int rf_sched_retention_set(rf_sched *s, const rf_workflow *wf, rf_err *err)
{
    rf_buf k = RF_BUF_INIT, v = RF_BUF_INIT;
    rf_buf_addf(&k, "%sretention", s->P);
    if (wf->keep_runs > 0)
        rf_buf_addf(&v, "{\"runs\": %ld}", wf->keep_runs);
    else if (wf->keep_days > 0)
        rf_buf_addf(&v, "{\"days\": %.17g}", wf->keep_days);
    const char *set[] = {"HSET", k.data, wf->name, v.data};
    const char *del[] = {"HDEL", k.data, wf->name};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, v.len ? 4 : 3, v.len ? set : del, NULL, &rep, err);
    if (rc == 0)
        freeReplyObject(rep);
    rf_buf_free(&k);
    rf_buf_free(&v);
    return rc;
}
