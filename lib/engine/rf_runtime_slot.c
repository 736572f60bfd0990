/* rf_runtime_slot: the slot threads that take and run tasks, and the
 * heartbeat thread that renews every held lease, enforces timeouts and stops
 * tasks whose lease was lost or whose run was cancelled. */
#include "engine/rf_runtime_impl.h"

/* ---- slot threads ----------------------------------------------------- */

static void set_held(slot *s, rf_lease *l, size_t n)
{
    pthread_mutex_lock(&s->rt->mu);
    s->held = l;
    s->nheld = n;
    s->next = 0;
    s->running = -1;
    pthread_mutex_unlock(&s->rt->mu);
}

static void begin_task(slot *s, size_t i)
{
    const rf_lease *l = &s->held[i];
    pthread_mutex_lock(&s->rt->mu);
    s->running = (long)i;
    s->next = i + 1;
    s->lost = s->cancelled = s->timed_out = 0;
    s->stop = 0;
    s->deadline_ms = l->timeout_ms > 0 ? rf_mono_ms() + l->timeout_ms : 0;
    pthread_mutex_unlock(&s->rt->mu);
}

static void end_task(slot *s)
{
    pthread_mutex_lock(&s->rt->mu);
    s->running = -1;
    pthread_mutex_unlock(&s->rt->mu);
}

/* Give back leases taken but not started (drain). */
static void release_rest(slot *s, rf_lease *l, size_t from, size_t n)
{
    if (from >= n)
        return;
    rf_lease_ref *refs = rf_xcalloc(n - from, sizeof *refs);
    for (size_t i = from; i < n; i++)
        refs[i - from] = (rf_lease_ref){l[i].id, l[i].token};
    rf_err err = {0};
    if (rf_queue_release(s->q, refs, n - from, NULL, &err) != 0)
        rf_log_warn(&s->rt->log, "release of prefetched tasks: %s", err.msg);
    free(refs);
}

/* The slot's private work dir, made once: <tmp>/ruvflow-task-XXXXXX/{in,out}. */
static int make_workdir(slot *s)
{
    char sub[PATH_MAX + 8];
    rf_err err = {0};
    snprintf(s->dir, sizeof s->dir, "%s/ruvflow-task-XXXXXX", s->rt->o.tmp);
    if (!mkdtemp(s->dir)) {
        rf_err_errno(&err, "mkdtemp %s", s->dir);
        rf_log_error(&s->rt->log, "%s; trying again in 1 s", err.msg);
        s->dir[0] = '\0';
        return -1;
    }
    snprintf(sub, sizeof sub, "%s/in", s->dir);
    int rc = mkdir(sub, 0755);
    snprintf(sub, sizeof sub, "%s/out", s->dir);
    if (rc != 0 || mkdir(sub, 0755) != 0) {
        rf_err_errno(&err, "mkdir %s", sub);
        rf_log_error(&s->rt->log, "%s; trying again in 1 s", err.msg);
        rf_rmtree(s->dir, NULL);
        s->dir[0] = '\0';
        return -1;
    }
    return 0;
}

void *rf_runtime_slot_main(void *arg)
{
    slot *s = arg;
    runtime *rt = s->rt;
    rf_batch batch;
    rf_batch_init(&batch);
    long idle_wait = rt->o.lease_ms / 4 < 1000 ? rt->o.lease_ms / 4 : 1000;
    pending p = {0};
    while (!atomic_load(&rt->draining) && make_workdir(s) != 0)
        rf_sleep_ms(1000);
    while (!atomic_load(&rt->draining)) {
        rf_lease *l;
        size_t n;
        rf_err err = {0};
        int rc = rf_queue_commit_take(s->q, p.r, p.n, p.status, rt->o.pool, rt->types,
                                      rt->ntypes, rt->id, batch.size, &l, &n, &err);
        rf_runtime_pending_done(s, &p, rc == 0, &err);
        if (rc != 0) {
            rf_log_error(&rt->log, "%s; trying again in 1 s", err.msg);
            rf_sleep_ms(1000);
            continue;
        }
        if (n == 0) {
            if (rf_queue_wait(s->q, rt->o.pool, rt->types, rt->ntypes, idle_wait, &err) < 0) {
                rf_log_error(&rt->log, "%s; trying again in 1 s", err.msg);
                rf_sleep_ms(1000);
            }
            continue;
        }
        set_held(s, l, n);
        size_t i;
        for (i = 0; i < n && !atomic_load(&rt->draining); i++) {
            begin_task(s, i);
            int64_t t0 = rf_mono_us();
            rf_runtime_run_task(s, &l[i], &p);
            end_task(s);
            int64_t took = rf_mono_us() - t0;
            rf_batch_task(&batch, took);
            if (took > RF_BATCH_SHORT_US)
                rf_runtime_pending_flush(s, &p); /* a slow task's result should not wait */
        }
        release_rest(s, l, i, n);
        set_held(s, NULL, 0);
        rf_leases_free(l, n);
        rf_batch_next(&batch, (size_t)rt->o.prefetch, rt->o.lease_ms);
    }
    rf_runtime_pending_flush(s, &p);
    free(p.r);
    free(p.status);
    free(p.type);
    if (s->dir[0])
        rf_rmtree(s->dir, NULL);
    pthread_mutex_lock(&rt->mu);
    s->finished = 1;
    pthread_mutex_unlock(&rt->mu);
    return NULL;
}

/* ---- heartbeat thread -------------------------------------------------- */

/* Snapshot every held lease; enforce task timeouts on the way. */
size_t rf_runtime_snapshot(runtime *rt, hb_ref **out, char *current, size_t cn)
{
    size_t n = 0, cap = 0;
    hb_ref *refs = NULL;
    int64_t now = rf_mono_ms();
    current[0] = '\0';
    pthread_mutex_lock(&rt->mu);
    for (int si = 0; si < rt->o.concurrency; si++) {
        slot *s = &rt->slots[si];
        if (s->running >= 0 && s->deadline_ms && now > s->deadline_ms && !s->timed_out) {
            s->timed_out = 1;
            s->stop = 1;
        }
        if (s->running >= 0 && !current[0])
            snprintf(current, cn, "%s", s->held[s->running].id);
        for (size_t j = 0; j < s->nheld; j++) {
            if (j < s->next && (long)j != s->running)
                continue; /* finished: committed or failed already */
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                refs = rf_xrealloc(refs, cap * sizeof *refs);
            }
            refs[n++] = (hb_ref){si, rf_xstrdup(s->held[j].id), s->held[j].token,
                                 (long)j == s->running};
        }
    }
    pthread_mutex_unlock(&rt->mu);
    *out = refs;
    return n;
}

static void apply_status(runtime *rt, const hb_ref *r, int status)
{
    if (status == RF_LEASE_OK)
        return;
    char run[RF_QUEUE_ID_MAX + 1] = "", step[RF_QUEUE_ID_MAX + 1] = "";
    int attempt = 0;
    pthread_mutex_lock(&rt->mu);
    slot *s = &rt->slots[r->slot];
    if (s->running >= 0 && !strcmp(s->held[s->running].id, r->id) &&
        s->held[s->running].token == r->token) {
        const rf_lease *l = &s->held[s->running];
        snprintf(run, sizeof run, "%s", l->run ? l->run : "");
        snprintf(step, sizeof step, "%s", l->step ? l->step : "");
        attempt = l->attempt;
        if (status == RF_LEASE_LOST && !s->lost)
            rf_wmetrics_lease_expired(rt->wm, s->held[s->running].type);
        if (status == RF_LEASE_LOST)
            s->lost = 1;
        else
            s->cancelled = 1;
        s->stop = 1;
    }
    pthread_mutex_unlock(&rt->mu);
    rf_log_ids ids = {run, step, r->id, attempt};
    rf_log lg = rf_log_with_ids(&rt->log, &ids);
    rf_log_warn(&lg, "task %s: %s; stopping it", r->id,
                status == RF_LEASE_LOST ? "lease lost" : "run cancelled");
}

void *rf_runtime_heartbeat_main(void *arg)
{
    hb_arg *a = arg;
    runtime *rt = a->rt;
    long every = rt->o.lease_ms / 3;
    int64_t next = 0;
    while (!atomic_load(&rt->quit)) {
        if (rf_mono_ms() < next) {
            rf_sleep_ms(every < 50 ? every : 50);
            continue;
        }
        next = rf_mono_ms() + every;
        char current[RF_QUEUE_ID_MAX + 1];
        hb_ref *refs;
        size_t n = rf_runtime_snapshot(rt, &refs, current, sizeof current);
        rf_err err = {0};
        if (n) {
            rf_lease_ref *lr = rf_xcalloc(n, sizeof *lr);
            int *st = rf_xcalloc(n, sizeof *st);
            unsigned char *run = rf_xcalloc(n, 1);
            for (size_t i = 0; i < n; i++) {
                lr[i] = (rf_lease_ref){refs[i].id, refs[i].token};
                run[i] = (unsigned char)refs[i].running;
            }
            if (rf_queue_heartbeat(a->q, lr, run, n, st, &err) != 0)
                rf_log_error(&rt->log, "heartbeat: %s", err.msg);
            else
                for (size_t i = 0; i < n; i++)
                    apply_status(rt, &refs[i], st[i]);
            free(lr);
            free(st);
            free(run);
        }
        for (size_t i = 0; i < n; i++)
            free(refs[i].id);
        free(refs);
        rf_worker_info w = {rt->id, rt->host, (char *)rt->o.pool, rt->types_csv, current,
                            (long)getpid(), rt->started_ms, 0};
        if (rf_queue_worker_beat(a->q, &w, 3 * rt->o.lease_ms, &err) != 0)
            rf_log_debug(&rt->log, "registry: %s", err.msg);
    }
    return NULL;
}
