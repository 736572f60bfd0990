/* rf_sched_runs: the run verbs (cancel, retry, resume) and the queries
 * (status, list) behind the CLI. */
#include "engine/rf_sched_impl.h"

/* ------------------------------------------------------------ run verbs */

/* Ids of a run's unfinished tasks (main_only: not those of on_exit steps). */
static int unfinished_ids(rf_sched *s, const plan *p, int main_only, char ***ids,
                          size_t *n, rf_err *err)
{
    *ids = NULL;
    *n = 0;
    size_t cap = 0;
    for (size_t si = 0; si < p->wf->nsteps; si++) {
        if (main_only && p->wf->steps[si].on_exit)
            continue;
        size_t total, nbits;
        unsigned char *bits;
        if (rf_sched_step_total(s, p->run, si, &total, err) < 0 ||
            rf_sched_fin_bits(s, p->run, si, &bits, &nbits, err) < 0)
            return -1;
        rf_buf id = RF_BUF_INIT;
        for (size_t i = 0; i < total; i++) {
            if (rf_sched_bit_set(bits, nbits, i))
                continue;
            if (*n == cap)
                *ids = rf_xrealloc(*ids, (cap = cap ? 2 * cap : 256) * sizeof **ids);
            rf_dag_task_id(&id, p->run, p->wf->steps[si].name, i);
            (*ids)[(*n)++] = rf_buf_detach(&id, NULL);
        }
        free(bits);
    }
    return 0;
}

static void ids_free(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

int rf_sched_cancel(rf_sched *s, const char *run, rf_err *err)
{
    const char *argv[] = {s->P, run};
    redisReply *rep;
    if (rf_redis_eval(s->r, &rf_sched_lua_cancel, 0, 2, argv, NULL, &rep, err) < 0)
        return -1;
    long long st = rf_sched_reply_int(rep);
    freeReplyObject(rep);
    if (st < 0)
        return rf_errf(err, RF_ENOTFOUND, "no run \"%s\"", run);
    if (st == 0)
        return rf_errf(err, RF_ESTATE, "run %s has already finished", run);
    plan *p = rf_sched_plan_get(s, run, err);
    char **ids;
    size_t n;
    /* 2: the exit steps run now; stop only the main steps' tasks. */
    if (!p || unfinished_ids(s, p, st == 2, &ids, &n, err) < 0)
        return -1;
    int rc = 0;
    for (size_t lo = 0; rc == 0 && lo < n; lo += BATCH)
        rc = rf_queue_cancel(s->q, (const char *const *)ids + lo,
                             n - lo > BATCH ? BATCH : n - lo, err);
    ids_free(ids, n);
    return rc;
}

int rf_sched_retry(rf_sched *s, const char *run, size_t *count, rf_err *err)
{
    plan *p = rf_sched_plan_get(s, run, err);
    if (!p)
        return -1;
    char *state;
    if (rf_sched_run_state(s, run, &state, err) < 0)
        return -1;
    int failed = state && !strcmp(state, "failed");
    free(state);
    /* on_exit steps run again after the retried ones: forget their tasks. */
    if (failed && rf_sched_exit_forget(s, p, err) < 0)
        return -1;
    redisReply *rep;
    if (rf_sched_reopen(s, run, "retry", &rep, err) < 0)
        return -1;
    const char *before = rep->elements ? rep->element[0]->str : "";
    if (strcmp(before, "failed")) {
        rf_errf(err, RF_ESTATE, "run %s is %s, not failed; nothing to retry", run, before);
        freeReplyObject(rep);
        return -1;
    }
    size_t n = rep->elements - 1;
    char **ids = rf_xcalloc(n + 1, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        /* "STEP/IDX" with STEP the plan index: build the task id. */
        const char *k = rep->element[i + 1]->str;
        size_t si = (size_t)strtoull(k, NULL, 10);
        const char *slash = strchr(k, '/');
        rf_buf id = RF_BUF_INIT;
        if (si < p->wf->nsteps && slash && !p->wf->steps[si].on_exit)
            rf_dag_task_id(&id, run, p->wf->steps[si].name,
                           (size_t)strtoull(slash + 1, NULL, 10));
        ids[i] = rf_buf_detach(&id, NULL);
    }
    freeReplyObject(rep);
    /* Exit steps' tasks are not requeued: they run again from todo. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] && ids[i][0])
            ids[kept++] = ids[i];
        else
            free(ids[i]);
    n = kept;
    /* Dead tasks go back to their queue with a fresh budget; tasks that
     * failed before reaching a queue are dispatched again from todo. */
    int rc = n ? rf_queue_dlq_requeue(s->q, (const char *const *)ids, n, NULL, err) : 0;
    ids_free(ids, n);
    if (count)
        *count = n;
    return rc;
}

int rf_sched_resume(rf_sched *s, const char *run, rf_err *err)
{
    plan *p = rf_sched_plan_get(s, run, err);
    if (!p)
        return -1;
    char *state;
    if (rf_sched_run_state(s, run, &state, err) < 0)
        return -1;
    int done = state && !strcmp(state, "succeeded");
    free(state);
    if (done)
        return rf_errf(err, RF_ESTATE, "run %s has already succeeded", run);
    /* Cancelled task records would make enqueue a no-op: forget them. */
    char **ids;
    size_t n;
    if (unfinished_ids(s, p, 1, &ids, &n, err) < 0 || rf_sched_exit_forget(s, p, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rf_task_info info;
        int got = rf_queue_get(s->q, ids[i], &info, err);
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got && !strcmp(info.state, "cancelled")) {
            const char *one[] = {ids[i]};
            rc = rf_queue_forget(s->q, one, 1, err);
        }
        if (got)
            rf_task_info_free(&info);
    }
    ids_free(ids, n);
    redisReply *rep;
    if (rc == 0 && (rc = rf_sched_reopen(s, run, "resume", &rep, err)) == 0)
        freeReplyObject(rep);
    return rc;
}

/* ------------------------------------------------------------- queries */

static char *hash_field(const redisReply *h, const char *f)
{
    for (size_t i = 0; h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2)
        if (h->element[i]->str && !strcmp(h->element[i]->str, f))
            return rf_xstrdup(h->element[i + 1]->str ? h->element[i + 1]->str : "");
    return rf_xstrdup("");
}

/* Suspend steps waiting for approval (the run's approve hash). */
static int mark_waiting(rf_sched *s, const char *run, rf_run_status *st, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    rf_sched_key_of(&k, s, run, ":approve");
    const char *argv[] = {"HKEYS", k.data};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 2, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0) {
        rf_run_status_free(st);
        return -1;
    }
    for (size_t i = 0; i < rep->elements; i++) {
        size_t si = (size_t)strtoull(rep->element[i]->str, NULL, 10);
        if (si < st->nsteps)
            st->steps[si].waiting = 1;
    }
    freeReplyObject(rep);
    return 0;
}

int rf_sched_status(rf_sched *s, const char *run, rf_run_status *st, rf_err *err)
{
    memset(st, 0, sizeof *st);
    plan *p = rf_sched_plan_get(s, run, err);
    if (!p)
        return -1;
    rf_buf k = RF_BUF_INIT;
    rf_sched_key_of(&k, s, run, "");
    const char *a1[] = {"HGETALL", k.data};
    redisReply *h;
    int rc = rf_redis_cmdv(s->r, 2, a1, NULL, &h, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    st->id = rf_xstrdup(run);
    st->name = hash_field(h, "name");
    st->file = hash_field(h, "file");
    st->state = hash_field(h, "state");
    st->error = hash_field(h, "error");
    st->main = hash_field(h, "main");
    st->exit_error = hash_field(h, "exit_error");
    char *v = hash_field(h, "created");
    st->created_ms = strtoll(v, NULL, 10);
    free(v);
    v = hash_field(h, "finished");
    st->finished_ms = strtoll(v, NULL, 10);
    free(v);
    v = hash_field(h, "nocache");
    st->no_cache = !strcmp(v, "1");
    free(v);
    freeReplyObject(h);

    size_t n = p->wf->nsteps;
    const char **argv = rf_xcalloc(n + 3, sizeof *argv);
    argv[0] = s->P, argv[1] = run;
    for (size_t i = 0; i < n; i++)
        argv[2 + i] = p->wf->steps[i].name;
    redisReply *rep;
    rc = rf_redis_eval(s->r, &rf_sched_lua_status, 0, (int)n + 2, argv, NULL, &rep, err);
    free(argv);
    if (rc < 0) {
        rf_run_status_free(st);
        return -1;
    }
    st->nsteps = n;
    st->steps = rf_xcalloc(n + 1, sizeof *st->steps);
    for (size_t i = 0; i < n && 13 * (i + 1) <= rep->elements; i++) {
        redisReply **e = &rep->element[13 * i];
        rf_step_status *ss = &st->steps[i];
        ss->name = rf_xstrdup(p->wf->steps[i].name);
        ss->worker = rf_xstrdup(p->wf->steps[i].worker);
        ss->fan = p->wf->steps[i].fan;
        ss->on_exit = p->wf->steps[i].on_exit;
        ss->total = (size_t)rf_sched_reply_int(e[0]);
        size_t fin = (size_t)rf_sched_reply_int(e[1]);
        ss->failed = (size_t)rf_sched_reply_int(e[2]);
        ss->done = (size_t)rf_sched_reply_int(e[3]);
        ss->cached = (size_t)rf_sched_reply_int(e[4]);
        ss->skipped = (size_t)rf_sched_reply_int(e[5]);
        ss->running = (size_t)rf_sched_reply_int(e[7]);
        ss->queued = (size_t)rf_sched_reply_int(e[8]);
        ss->retrying = (size_t)rf_sched_reply_int(e[9]);
        /* Not yet dispatched (or dead, counted as failed). */
        size_t known = fin + ss->failed + ss->running + ss->queued + ss->retrying;
        ss->pending = ss->total > known ? ss->total - known : 0;
        st->total += ss->total;
        st->finished += fin;
        st->failed += ss->failed;
    }
    freeReplyObject(rep);
    return mark_waiting(s, run, st, err);
}

void rf_run_status_free(rf_run_status *st)
{
    for (size_t i = 0; i < st->nsteps; i++)
        free(st->steps[i].name), free(st->steps[i].worker);
    free(st->steps);
    free(st->id), free(st->name), free(st->file), free(st->state), free(st->error);
    free(st->main), free(st->exit_error);
    memset(st, 0, sizeof *st);
}

int rf_sched_list(rf_sched *s, size_t limit, char ***ids, size_t *n, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    char stop[24];
    rf_buf_addf(&k, "%sruns", s->P);
    snprintf(stop, sizeof stop, "%zd", limit ? (ssize_t)limit - 1 : -1);
    const char *argv[] = {"ZRANGE", k.data, "0", stop, "REV"};
    redisReply *rep;
    int rc = rf_redis_cmdv(s->r, 5, argv, NULL, &rep, err);
    rf_buf_free(&k);
    if (rc < 0)
        return -1;
    rf_sched_take_strings(rep, ids, n);
    return 0;
}

int rf_sched_results(rf_sched *s, const char *run, const char *step, char **json,
                     rf_err *err)
{
    plan *p = rf_sched_plan_get(s, run, err);
    size_t si, total;
    if (!p)
        return -1;
    if (rf_sched_step_index(p, step, &si) < 0)
        return rf_errf(err, RF_ENOTFOUND, "run %s has no step \"%s\"", run, step);
    if (rf_sched_step_total(s, run, si, &total, err) < 0)
        return -1;
    json_t *arr = rf_sched_gather(s, p, si, 0, total, err);
    if (!arr)
        return -1;
    *json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return 0;
}
