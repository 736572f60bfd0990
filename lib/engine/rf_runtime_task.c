/* rf_runtime_task: one served task: the hooks that stream its metrics,
 * progress, logs and state to the run, running the handler in its work
 * folder, and committing (batched for short tasks), failing or releasing its
 * lease. */
#include "engine/rf_runtime_impl.h"

#include <fcntl.h>

/* ---- one task -------------------------------------------------------- */

typedef struct task_ctx {
    slot *s;
    const rf_lease *l;
    const rf_log *log;   /* the runtime's, carrying this task's ids */
} task_ctx;

static void hook_metric(void *ud, const char *name, double v)
{
    task_ctx *c = ud;
    rf_err err = {0};
    if (rf_queue_live_metric(c->s->q, c->l->id, name, v, &err) != 0)
        rf_log_debug(c->log, "task %s: live metric: %s", c->l->id, err.msg);
}

static void hook_progress(void *ud, const char *series, int64_t step, const char *const *keys,
                          const double *vals, size_t n)
{
    task_ctx *c = ud;
    rf_err err = {0};
    if (rf_queue_progress(c->s->q, c->l->run, c->l->id, series, step, keys, vals, n, &err) != 0)
        rf_log_debug(c->log, "task %s: progress: %s", c->l->id, err.msg);
}

static void hook_log(void *ud, const char *line)
{
    task_ctx *c = ud;
    rf_err err = {0};
    if (rf_queue_log_line(c->s->q, c->l->run, c->l->id, line, &err) != 0)
        rf_log_debug(c->log, "task %s: log: %s", c->l->id, err.msg);
}

static int hook_state_save(void *ud, const char *name, const char *path, rf_err *err)
{
    task_ctx *c = ud;
    return rf_rtio_state_save(c->s->io, c->l->id, name, path, err);
}

static int hook_state_load(void *ud, const char *name, const char *path, rf_err *err)
{
    task_ctx *c = ud;
    return rf_rtio_state_load(c->s->io, c->l->id, name, path, err);
}

static const rf_task_hooks served_hooks = {hook_metric, hook_progress, hook_log,
                                           hook_state_save, hook_state_load};

/* params JSON (an object) -> rf_task params as strings. */
static int add_params(rf_task *t, const char *params, rf_err *err)
{
    if (!strcmp(params, "{}"))
        return 0;
    json_error_t je;
    json_t *o = json_loads(params, 0, &je);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return rf_errf(err, RF_ECORRUPT, "malformed record: params is not a JSON object");
    }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        char num[64];
        char *dump = NULL;
        const char *s = num;
        if (json_is_string(v))
            s = json_string_value(v);
        else if (json_is_integer(v))
            snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_real(v))
            snprintf(num, sizeof num, "%.17g", json_real_value(v));
        else if (json_is_boolean(v))
            s = json_is_true(v) ? "true" : "false";
        else if (json_is_null(v))
            continue;
        else
            s = dump = json_dumps(v, JSON_COMPACT);
        rf_task_add_param(t, k, s ? s : "");
        free(dump);
    }
    json_decref(o);
    return 0;
}

static char *metrics_json(const rf_task *t)
{
    if (rf_task_metric_count(t) == 0)
        return rf_xstrdup("{}");
    json_t *o = json_object();
    for (size_t i = 0; i < rf_task_metric_count(t); i++) {
        double v = rf_task_metric_value(t, i);
        json_object_set_new(o, rf_task_metric_name(t, i),
                            v == v && v - v == 0 ? json_real(v) : json_null());
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s ? s : rf_xstrdup("{}");
}

static int rm_below(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    if (f->level > 0)
        remove(p);
    (void)st, (void)flag;
    return 0;
}

/* Empty a directory but keep it: creating and removing directories costs
 * milliseconds on loaded disks, more than a no-op task itself. A directory
 * whose mtime did not move since `before` had no entry added: skip it. */
static void empty_dir(const char *dir, const struct timespec *before)
{
    struct stat st;
    if (before && stat(dir, &st) == 0 && st.st_mtim.tv_sec == before->tv_sec &&
        st.st_mtim.tv_nsec == before->tv_nsec)
        return;
    nftw(dir, rm_below, 16, FTW_DEPTH | FTW_PHYS);
}

static void dir_mtime(const char *dir, struct timespec *out)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        *out = st.st_mtim;
    else
        out->tv_sec = -1, out->tv_nsec = 0;
}

/* Errors a retry cannot fix: bad input, bad data, missing pieces. */
static int retryable(int code)
{
    switch (code) {
    case RF_EINVAL: case RF_ECORRUPT: case RF_ETOOBIG: case RF_EUNSUPP:
    case RF_ENOTFOUND: case RF_EAUTH:
        return 0;
    default:
        return 1;
    }
}

/* A finished task whose commit is batched with its neighbours. */

static void pending_add(pending *p, const rf_lease *l, const char *type, char *outputs,
                        char *metrics)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->r = rf_xrealloc(p->r, p->cap * sizeof *p->r);
        p->status = rf_xrealloc(p->status, p->cap * sizeof *p->status);
        p->type = rf_xrealloc(p->type, p->cap * sizeof *p->type);
    }
    p->type[p->n] = type;
    p->r[p->n++] = (rf_task_result){rf_xstrdup(l->id), l->token, outputs, metrics};
}

/* The accepted commits of a batch, one line each written with one write()
 * to an O_APPEND file (so lines of concurrent workers never interleave):
 * "TASK<TAB>TOKEN<TAB>WORKER<TAB>OUTPUTS". A failure is logged, not fatal:
 * the log is a test's witness, not part of the commit. */
static void commit_log_append(slot *s, const pending *p)
{
    const char *path = s->rt->o.commit_log;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        rf_log_warn(&s->rt->log, "commit log %s: %s", path, strerror(errno));
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (p->status[i] != RF_LEASE_OK)
            continue;
        rf_buf b = RF_BUF_INIT;
        rf_buf_addf(&b, "%s\t%" PRId64 "\t%s\t%s\n", p->r[i].id, p->r[i].token, s->rt->id,
                    p->r[i].outputs);
        if (write(fd, b.data, b.len) != (ssize_t)b.len)
            rf_log_warn(&s->rt->log, "commit log %s: %s", path, strerror(errno));
        rf_buf_free(&b);
    }
    close(fd);
}

/* After a commit attempt: report refusals, free the results. */
void rf_runtime_pending_done(slot *s, pending *p, int ok, const rf_err *err)
{
    if (!ok && p->n) /* leases expire and the tasks run again: at-least-once holds */
        rf_log_error(&s->rt->log, "commit of %zu task(s) failed: %s", p->n, err->msg);
    if (ok && p->n && s->rt->o.commit_log)
        commit_log_append(s, p);
    for (size_t i = 0; i < p->n; i++) {
        if (ok && p->status[i] == RF_LEASE_LOST)
            rf_wmetrics_lease_expired(s->rt->wm, p->type[i]);
        rf_log_ids ids = {NULL, NULL, p->r[i].id, 0};
        rf_log lg = rf_log_with_ids(&s->rt->log, &ids);
        if (ok && p->status[i] == RF_LEASE_LOST)
            rf_log_warn(&lg, "task %s: lease lost before commit; "
                        "the new owner's result counts", p->r[i].id);
        free((char *)p->r[i].id);
        free((char *)p->r[i].outputs);
        free((char *)p->r[i].metrics);
    }
    p->n = 0;
}

void rf_runtime_pending_flush(slot *s, pending *p)
{
    rf_err err = {0};
    if (p->n)
        rf_runtime_pending_done(s, p, rf_queue_commit(s->q, p->r, p->n, p->status, &err) == 0, &err);
}

static const rf_worker_def *def_for(runtime *rt, const char *type)
{
    for (size_t i = 0; i < rt->ndefs; i++)
        if (!strcmp(rt->defs[i]->name, type))
            return rt->defs[i];
    return NULL;
}

/* Returns the metrics outcome: retried or dead-lettered. A failed call
 * leaves the lease to expire, and the task runs again: "retried". */
static rf_woutcome fail_task(slot *s, const rf_log *lg, const rf_lease *l, int retry,
                             const char *why)
{
    rf_lease_ref ref = {l->id, l->token};
    rf_err err = {0};
    int outcome = -1;
    if (rf_queue_fail(s->q, &ref, retry, why, &outcome, &err) != 0)
        rf_log_warn(lg, "task %s: %s", l->id, err.msg);
    else
        rf_log_warn(lg, "task %s attempt %d failed (%s): %s", l->id, l->attempt,
                    outcome == RF_FAIL_RETRY ? "will retry" : "dead-lettered", why);
    return outcome == RF_FAIL_RETRY || outcome == -1 ? RF_WO_RETRIED : RF_WO_DEAD;
}

static void release_task(slot *s, const rf_log *lg, const rf_lease *l)
{
    rf_lease_ref ref = {l->id, l->token};
    rf_err err = {0};
    if (rf_queue_release(s->q, &ref, 1, NULL, &err) != 0)
        rf_log_warn(lg, "task %s: release: %s", l->id, err.msg);
    else
        rf_log_info(lg, "task %s: released for another worker", l->id);
}

/* Runs the task's handler and records the outcome: a commit queued in p,
 * or a fail/release sent at once. */
void rf_runtime_run_task(slot *s, const rf_lease *l, pending *p)
{
    runtime *rt = s->rt;
    const rf_worker_def *def = def_for(rt, l->type);
    char out[PATH_MAX + 8], in[PATH_MAX + 8];
    rf_err err = {0};
    /* Every line about this task carries its ids (RUVFLOW_LOG_FORMAT=json). */
    rf_log_ids ids = {l->run, l->step, l->id, l->attempt};
    rf_log lg = rf_log_with_ids(&rt->log, &ids);
    if (!def) { /* cannot happen: we only take our own types */
        fail_task(s, &lg, l, 1, "worker has no handler for this type");
        return;
    }
    rf_log_debug(&lg, "task %s attempt %d: %s started", l->id, l->attempt, l->type);
    rf_wmetrics_started(rt->wm);
    int64_t t0 = rf_mono_ms();
    snprintf(out, sizeof out, "%s/out", s->dir);
    snprintf(in, sizeof in, "%s/in", s->dir);
    struct timespec out_m, in_m;
    dir_mtime(out, &out_m);
    dir_mtime(in, &in_m);
    rf_task *t = rf_task_new(def, l->id, l->attempt, out);
    task_ctx ctx = {s, l, &lg};
    rf_task_set_hooks(t, &served_hooks, &ctx);
    rf_task_set_stop_flag(t, &s->stop);
    int rc = add_params(t, l->params, &err);
    if (rc == 0 && strcmp(l->inputs, "{}") != 0)
        rc = rf_rtio_fetch_inputs(s->io, l->inputs, in, t, &err);
    if (rc == 0)
        rc = rf_task_check_inputs(t, rt->cfg.max_artifact, &err);
    if (rc == 0)
        rc = def->handler(t, &err);
    char *outputs = NULL;
    if (rc == 0 && rf_task_output_count(t) > 0)
        rc = rf_rtio_upload_outputs(s->io, t, l->tier, &outputs, &err);

    pthread_mutex_lock(&rt->mu);
    int lost = s->lost, cancelled = s->cancelled, timed_out = s->timed_out;
    pthread_mutex_unlock(&rt->mu);
    rf_woutcome o = RF_WO_SUCCEEDED;
    if (lost) {
        rf_log_warn(&lg, "task %s: lease lost while running; dropping the result", l->id);
        free(outputs);
        o = RF_WO_LOST;
    } else if (rc == 0) {
        pending_add(p, l, def->name, outputs ? outputs : rf_xstrdup("{}"), metrics_json(t));
    } else if (timed_out) {
        char why[128];
        snprintf(why, sizeof why, "timeout after %ld ms", l->timeout_ms);
        o = fail_task(s, &lg, l, 1, why);
    } else if (cancelled) {
        o = fail_task(s, &lg, l, 0, "cancelled");
    } else if (atomic_load(&rt->draining) && s->stop) {
        release_task(s, &lg, l);
        o = RF_WO_RELEASED;
    } else {
        if (!err.msg[0])
            rf_errf(&err, RF_EIO, "handler failed without a reason");
        o = fail_task(s, &lg, l, retryable(err.code), err.msg);
    }
    double secs = (double)(rf_mono_ms() - t0) / 1000.0;
    rf_wmetrics_finished(rt->wm, def->name, o, secs);
    if (o == RF_WO_SUCCEEDED)
        rf_log_debug(&lg, "task %s attempt %d: succeeded in %.3f s", l->id, l->attempt, secs);
    rf_task_free(t);
    empty_dir(out, &out_m);
    empty_dir(in, &in_m);
}
