/* rf_runtime: the served worker loop; see rf_runtime.h for the behaviour. */
#include "engine/rf_runtime.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "base/rf_config.h"
#include "base/rf_log.h"
#include "engine/rf_queue.h"
#include "engine/rf_redis.h"
#include "engine/rf_runtime_io.h"
#include "engine/rf_task_impl.h"
#include "base/rf_time.h"

#define SHORT_TASK_MS 5     /* tasks this quick are batched */
#define HARD_STOP_MS 5000   /* after grace + stop flag, give up on a handler */

typedef struct rt_opts {
    const char *redis_url, *prefix, *store_url, *pool, *tmp;
    int concurrency, prefetch;
    long lease_ms, grace_ms, retry_ms;
} rt_opts;

typedef struct runtime runtime;

/* One task-running thread. The fields under "guarded" are shared with the
 * heartbeat thread and the main thread and only touched under rt->mu. */
typedef struct slot {
    runtime *rt;
    int idx;
    pthread_t th;
    rf_redis *r;
    rf_queue *q;
    rf_rtio *io;
    char dir[PATH_MAX];        /* private work dir: in/ and out/, reused */
    /* guarded */
    rf_lease *held;
    size_t nheld;
    size_t next;               /* first held lease not started yet */
    long running;              /* index of the running lease, or -1 */
    int lost, cancelled, timed_out;
    int64_t deadline_ms;       /* task timeout (monotonic), 0 = none */
    int finished;              /* thread left its loop */
    /* written by other threads, polled by the handler (rf_task contract) */
    volatile sig_atomic_t stop;
} slot;

struct runtime {
    rt_opts o;
    rf_config cfg;
    const rf_worker_def *const *defs;
    size_t ndefs;
    const char **types;
    size_t ntypes;
    char *types_csv;
    char id[256], host[128];
    rf_log log;
    pthread_mutex_t mu;
    atomic_int draining, quit;
    slot *slots;
    int64_t started_ms;
};

const char *rf_runtime_default_prefix(void)
{
    const char *p = getenv("RUVFLOW_REDIS_PREFIX");
    return p && *p ? p : "rf:";
}

/* ---- one task -------------------------------------------------------- */

typedef struct task_ctx {
    slot *s;
    const rf_lease *l;
} task_ctx;

static void hook_metric(void *ud, const char *name, double v)
{
    task_ctx *c = ud;
    rf_err err = {0};
    if (rf_queue_live_metric(c->s->q, c->l->id, name, v, &err) != 0)
        rf_log_debug(&c->s->rt->log, "task %s: live metric: %s", c->l->id, err.msg);
}

static void hook_progress(void *ud, const char *series, int64_t step, const char *const *keys,
                          const double *vals, size_t n)
{
    task_ctx *c = ud;
    rf_err err = {0};
    if (rf_queue_progress(c->s->q, c->l->run, c->l->id, series, step, keys, vals, n, &err) != 0)
        rf_log_debug(&c->s->rt->log, "task %s: progress: %s", c->l->id, err.msg);
}

static void hook_log(void *ud, const char *line)
{
    task_ctx *c = ud;
    rf_err err = {0};
    if (rf_queue_log_line(c->s->q, c->l->run, c->l->id, line, &err) != 0)
        rf_log_debug(&c->s->rt->log, "task %s: log: %s", c->l->id, err.msg);
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

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(p);
    return 0;
}

static int rm_below(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    if (f->level > 0)
        remove(p);
    (void)st, (void)flag;
    return 0;
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
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
/* Results waiting for their commit, which rides along with the slot's
 * next take (one round trip for both). Strings are owned here. */
typedef struct pending {
    rf_task_result *r;
    int *status;
    size_t n, cap;
} pending;

static void pending_add(pending *p, const rf_lease *l, char *outputs, char *metrics)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->r = rf_xrealloc(p->r, p->cap * sizeof *p->r);
        p->status = rf_xrealloc(p->status, p->cap * sizeof *p->status);
    }
    p->r[p->n++] = (rf_task_result){rf_xstrdup(l->id), l->token, outputs, metrics};
}

/* After a commit attempt: report refusals, free the results. */
static void pending_done(slot *s, pending *p, int ok, const rf_err *err)
{
    if (!ok && p->n) /* leases expire and the tasks run again: at-least-once holds */
        rf_log_error(&s->rt->log, "commit of %zu task(s) failed: %s", p->n, err->msg);
    for (size_t i = 0; i < p->n; i++) {
        if (ok && p->status[i] == RF_LEASE_LOST)
            rf_log_warn(&s->rt->log, "task %s: lease lost before commit; "
                        "the new owner's result counts", p->r[i].id);
        free((char *)p->r[i].id);
        free((char *)p->r[i].outputs);
        free((char *)p->r[i].metrics);
    }
    p->n = 0;
}

static void pending_flush(slot *s, pending *p)
{
    rf_err err = {0};
    if (p->n)
        pending_done(s, p, rf_queue_commit(s->q, p->r, p->n, p->status, &err) == 0, &err);
}

static const rf_worker_def *def_for(runtime *rt, const char *type)
{
    for (size_t i = 0; i < rt->ndefs; i++)
        if (!strcmp(rt->defs[i]->name, type))
            return rt->defs[i];
    return NULL;
}

static void fail_task(slot *s, const rf_lease *l, int retry, const char *why)
{
    rf_lease_ref ref = {l->id, l->token};
    rf_err err = {0};
    int outcome = -1;
    if (rf_queue_fail(s->q, &ref, retry, why, &outcome, &err) != 0)
        rf_log_warn(&s->rt->log, "task %s: %s", l->id, err.msg);
    else
        rf_log_warn(&s->rt->log, "task %s attempt %d failed (%s): %s", l->id, l->attempt,
                    outcome == RF_FAIL_RETRY ? "will retry" : "dead-lettered", why);
}

static void release_task(slot *s, const rf_lease *l)
{
    rf_lease_ref ref = {l->id, l->token};
    rf_err err = {0};
    if (rf_queue_release(s->q, &ref, 1, NULL, &err) != 0)
        rf_log_warn(&s->rt->log, "task %s: release: %s", l->id, err.msg);
    else
        rf_log_info(&s->rt->log, "task %s: released for another worker", l->id);
}

/* Runs the task's handler and records the outcome: a commit queued in p,
 * or a fail/release sent at once. */
static void run_task(slot *s, const rf_lease *l, pending *p)
{
    runtime *rt = s->rt;
    const rf_worker_def *def = def_for(rt, l->type);
    char out[PATH_MAX + 8], in[PATH_MAX + 8];
    rf_err err = {0};
    if (!def) { /* cannot happen: we only take our own types */
        fail_task(s, l, 1, "worker has no handler for this type");
        return;
    }
    snprintf(out, sizeof out, "%s/out", s->dir);
    snprintf(in, sizeof in, "%s/in", s->dir);
    struct timespec out_m, in_m;
    dir_mtime(out, &out_m);
    dir_mtime(in, &in_m);
    rf_task *t = rf_task_new(def, l->id, l->attempt, out);
    task_ctx ctx = {s, l};
    rf_task_set_hooks(t, &served_hooks, &ctx);
    rf_task_set_stop_flag(t, &s->stop);
    int rc = add_params(t, l->params, &err);
    if (rc == 0 && strcmp(l->inputs, "{}") != 0)
        rc = rf_rtio_fetch_inputs(s->io, l->inputs, in, t, &err);
    if (rc == 0)
        rc = def->handler(t, &err);
    char *outputs = NULL;
    if (rc == 0 && rf_task_output_count(t) > 0)
        rc = rf_rtio_upload_outputs(s->io, t, l->tier, &outputs, &err);

    pthread_mutex_lock(&rt->mu);
    int lost = s->lost, cancelled = s->cancelled, timed_out = s->timed_out;
    pthread_mutex_unlock(&rt->mu);
    if (lost) {
        rf_log_warn(&rt->log, "task %s: lease lost while running; dropping the result", l->id);
        free(outputs);
    } else if (rc == 0) {
        pending_add(p, l, outputs ? outputs : rf_xstrdup("{}"), metrics_json(t));
    } else if (timed_out) {
        char why[128];
        snprintf(why, sizeof why, "timeout after %ld ms", l->timeout_ms);
        fail_task(s, l, 1, why);
    } else if (cancelled) {
        fail_task(s, l, 0, "cancelled");
    } else if (atomic_load(&rt->draining) && s->stop) {
        release_task(s, l);
    } else {
        if (!err.msg[0])
            rf_errf(&err, RF_EIO, "handler failed without a reason");
        fail_task(s, l, retryable(err.code), err.msg);
    }
    rf_task_free(t);
    empty_dir(out, &out_m);
    empty_dir(in, &in_m);
}

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
        rm_rf(s->dir);
        s->dir[0] = '\0';
        return -1;
    }
    return 0;
}

static void *slot_main(void *arg)
{
    slot *s = arg;
    runtime *rt = s->rt;
    size_t batch = 1;
    long idle_wait = rt->o.lease_ms / 4 < 1000 ? rt->o.lease_ms / 4 : 1000;
    pending p = {0};
    while (!atomic_load(&rt->draining) && make_workdir(s) != 0)
        rf_sleep_ms(1000);
    while (!atomic_load(&rt->draining)) {
        rf_lease *l;
        size_t n;
        rf_err err = {0};
        int rc = rf_queue_commit_take(s->q, p.r, p.n, p.status, rt->o.pool, rt->types,
                                      rt->ntypes, rt->id, batch, &l, &n, &err);
        pending_done(s, &p, rc == 0, &err);
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
        int all_short = 1;
        size_t i;
        for (i = 0; i < n && !atomic_load(&rt->draining); i++) {
            begin_task(s, i);
            int64_t t0 = rf_mono_ms();
            run_task(s, &l[i], &p);
            end_task(s);
            if (rf_mono_ms() - t0 > SHORT_TASK_MS) {
                all_short = 0;
                pending_flush(s, &p); /* a slow task's result should not wait */
            }
        }
        release_rest(s, l, i, n);
        set_held(s, NULL, 0);
        rf_leases_free(l, n);
        batch = all_short ? (batch * 2 < (size_t)rt->o.prefetch ? batch * 2 : (size_t)rt->o.prefetch)
                          : 1;
    }
    pending_flush(s, &p);
    free(p.r);
    free(p.status);
    if (s->dir[0])
        rm_rf(s->dir);
    pthread_mutex_lock(&rt->mu);
    s->finished = 1;
    pthread_mutex_unlock(&rt->mu);
    return NULL;
}

/* ---- heartbeat thread -------------------------------------------------- */

typedef struct hb_ref {
    int slot;
    char *id;
    int64_t token;
    int running;    /* its handler has started (the queue's timeout clock) */
} hb_ref;

/* Snapshot every held lease; enforce task timeouts on the way. */
static size_t snapshot(runtime *rt, hb_ref **out, char *current, size_t cn)
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
    pthread_mutex_lock(&rt->mu);
    slot *s = &rt->slots[r->slot];
    if (s->running >= 0 && !strcmp(s->held[s->running].id, r->id) &&
        s->held[s->running].token == r->token) {
        if (status == RF_LEASE_LOST)
            s->lost = 1;
        else
            s->cancelled = 1;
        s->stop = 1;
    }
    pthread_mutex_unlock(&rt->mu);
    rf_log_warn(&rt->log, "task %s: %s; stopping it", r->id,
                status == RF_LEASE_LOST ? "lease lost" : "run cancelled");
}

typedef struct hb_arg {
    runtime *rt;
    rf_queue *q;
} hb_arg;

static void *heartbeat_main(void *arg)
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
        size_t n = snapshot(rt, &refs, current, sizeof current);
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

/* ---- options ------------------------------------------------------------ */

static int parse_long(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "ruvflow: %s expects a number in %ld..%ld, got \"%s\"\n", opt, lo, hi,
                v ? v : "");
        return -1;
    }
    *out = x;
    return 0;
}

/* Defaults come from the configuration (file and RUVFLOW_* environment,
 * see rf_config.h); options override them. */
static int parse_opts(int argc, char **argv, const rf_config *cfg, rt_opts *o)
{
    const char *env;
    o->redis_url = cfg->redis_url;
    o->prefix = rf_runtime_default_prefix();
    o->store_url = cfg->store;
    o->pool = "default";
    o->tmp = (env = getenv("TMPDIR")) && *env ? env : "/tmp";
    o->concurrency = 1;
    o->prefetch = 32;
    o->lease_ms = cfg->lease_ms;
    o->grace_ms = 30000;
    o->retry_ms = 30000;
    long v;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--redis") && val)
            o->redis_url = val;
        else if (!strcmp(a, "--prefix") && val)
            o->prefix = val;
        else if (!strcmp(a, "--store") && val)
            o->store_url = val;
        else if (!strcmp(a, "--pool") && val)
            o->pool = val;
        else if (!strcmp(a, "--tmp") && val)
            o->tmp = val;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("serve options (defaults from the configuration):\n"
                   "  --redis URL  --prefix P  --store URL  --pool NAME  --concurrency N\n"
                   "  --lease MS  --grace S  --retry S  --prefetch N  --tmp DIR\n"
                   "See docs/worker-runtime.md.\n");
            return 1;
        }
        else if (!strcmp(a, "--concurrency")) {
            if (parse_long(a, val, 1, 1024, &v) != 0)
                return -1;
            o->concurrency = (int)v;
        } else if (!strcmp(a, "--prefetch")) {
            if (parse_long(a, val, 1, 256, &v) != 0)
                return -1;
            o->prefetch = (int)v;
        } else if (!strcmp(a, "--lease")) {
            if (parse_long(a, val, 100, 3600000, &o->lease_ms) != 0)
                return -1;
        } else if (!strcmp(a, "--retry")) {
            if (parse_long(a, val, 0, 86400, &v) != 0)
                return -1;
            o->retry_ms = v * 1000;
        } else if (!strcmp(a, "--grace")) {
            if (parse_long(a, val, 0, 86400, &v) != 0)
                return -1;
            o->grace_ms = v * 1000;
        } else {
            fprintf(stderr, "ruvflow: serve: unknown or incomplete option \"%s\"\n", a);
            return -1;
        }
        i++;
    }
    rf_err err = {0};
    if (rf_queue_name_valid("pool", o->pool, &err) != 0) {
        fprintf(stderr, "ruvflow: --pool: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* ---- main ---------------------------------------------------------------- */

static int connect_queue(runtime *rt, rf_redis **r, rf_queue **q, rf_err *err)
{
    rf_redis_opts ro;
    rf_redis_opts_default(&ro);
    ro.log = &rt->log;
    ro.retry_ms = rt->o.retry_ms;
    rf_queue_opts qo;
    rf_queue_opts_default(&qo);
    qo.prefix = rt->o.prefix;
    qo.lease_ms = rt->o.lease_ms;
    if (rf_redis_connect(rt->o.redis_url, &ro, r, err) != 0)
        return -1;
    if (rf_queue_open(*r, &qo, q, err) != 0) {
        rf_redis_close(*r);
        return -1;
    }
    return 0;
}

static int all_finished(runtime *rt)
{
    int done = 1;
    pthread_mutex_lock(&rt->mu);
    for (int i = 0; i < rt->o.concurrency; i++)
        done &= rt->slots[i].finished;
    pthread_mutex_unlock(&rt->mu);
    return done;
}

static void stop_all(runtime *rt)
{
    pthread_mutex_lock(&rt->mu);
    for (int i = 0; i < rt->o.concurrency; i++)
        rt->slots[i].stop = 1;
    pthread_mutex_unlock(&rt->mu);
}

/* Handlers ignored their stop flag: give their leases back ourselves, so
 * the tasks move on at once instead of after lease expiry. */
static void release_stuck(runtime *rt, rf_queue *q)
{
    hb_ref *refs;
    char current[RF_QUEUE_ID_MAX + 1];
    size_t n = snapshot(rt, &refs, current, sizeof current);
    rf_lease_ref *lr = rf_xcalloc(n ? n : 1, sizeof *lr);
    for (size_t i = 0; i < n; i++)
        lr[i] = (rf_lease_ref){refs[i].id, refs[i].token};
    rf_err err = {0};
    if (n && rf_queue_release(q, lr, n, NULL, &err) != 0)
        rf_log_error(&rt->log, "release: %s", err.msg);
    for (size_t i = 0; i < n; i++)
        free(refs[i].id);
    free(refs);
    free(lr);
}

/* Wait for signals and for the slots to finish; returns the exit status. */
static int supervise(runtime *rt, rf_queue *q)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int64_t grace_end = 0, hard_end = 0;
    for (;;) {
        struct timespec ts = {0, 100 * 1000000L};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig > 0) {
            if (atomic_load(&rt->draining)) {
                rf_log_warn(&rt->log, "second signal: exiting now; leases will expire");
                _exit(128 + sig);
            }
            atomic_store(&rt->draining, 1);
            grace_end = rf_mono_ms() + rt->o.grace_ms;
            rf_log_info(&rt->log, "%s: draining (grace %ld s); signal again to exit at once",
                        sig == SIGTERM ? "SIGTERM" : "SIGINT", rt->o.grace_ms / 1000);
        }
        if (all_finished(rt))
            return 0;
        if (grace_end && !hard_end && rf_mono_ms() >= grace_end) {
            rf_log_warn(&rt->log, "grace period over: stopping running tasks");
            stop_all(rt);
            hard_end = rf_mono_ms() + HARD_STOP_MS;
        }
        if (hard_end && rf_mono_ms() >= hard_end) {
            rf_log_error(&rt->log, "tasks ignore their stop flag: releasing their leases");
            release_stuck(rt, q);
            return 1;
        }
    }
}

static void rt_free(runtime *rt)
{
    rf_config_free(&rt->cfg);
    free(rt->types);
    free(rt->types_csv);
    free(rt->slots);
    pthread_mutex_destroy(&rt->mu);
}

int rf_runtime_serve(int argc, char **argv, const rf_worker_def *const *defs, size_t ndefs)
{
    runtime rt = {0};
    rf_err err = {0};
    if (rf_config_load(&rt.cfg, NULL, &err) != 0) {
        fprintf(stderr, "ruvflow: worker: %s\n", err.msg);
        rf_config_free(&rt.cfg);
        return 2;
    }
    int prc = parse_opts(argc, argv, &rt.cfg, &rt.o);
    if (prc != 0) {
        rf_config_free(&rt.cfg);
        return prc < 0 ? 2 : 0; /* 1 = help printed */
    }
    rt.defs = defs;
    rt.ndefs = ndefs;
    rt.log = *rf_log_default();
    rt.log.tag = "worker";
    rt.types = rf_xcalloc(ndefs, sizeof *rt.types);
    rf_buf csv = RF_BUF_INIT;
    for (size_t i = 0; i < ndefs; i++) {
        rt.types[i] = defs[i]->name;
        rf_buf_addf(&csv, "%s%s", i ? "," : "", defs[i]->name);
    }
    rt.ntypes = ndefs;
    rt.types_csv = rf_buf_detach(&csv, NULL);
    if (gethostname(rt.host, sizeof rt.host) != 0)
        snprintf(rt.host, sizeof rt.host, "unknown");
    snprintf(rt.id, sizeof rt.id, "%s:%ld", rt.host, (long)getpid());
    rt.started_ms = rf_wall_ms();
    pthread_mutex_init(&rt.mu, NULL);

    /* Signals go to the supervisor only (sigtimedwait), never to a thread
     * in the middle of a Redis call. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN);

    rf_redis *mr = NULL;
    rf_queue *mq = NULL;
    if (connect_queue(&rt, &mr, &mq, &err) != 0) {
        fprintf(stderr, "ruvflow: worker: %s\n", err.msg);
        rt_free(&rt);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return rf_err_exit_status(&err);
    }
    /* --store moves the tiers along unless the configuration names them. */
    const char *tiers[RF_TIER_COUNT];
    for (int i = 0; i < RF_TIER_COUNT; i++)
        tiers[i] = rt.o.store_url == rt.cfg.store ? rt.cfg.tiers[i].url : NULL;
    rt.slots = rf_xcalloc((size_t)rt.o.concurrency, sizeof *rt.slots);
    int started = 0, rc = 0;
    for (int i = 0; i < rt.o.concurrency; i++) {
        slot *s = &rt.slots[i];
        s->rt = &rt;
        s->idx = i;
        s->running = -1;
        if (connect_queue(&rt, &s->r, &s->q, &err) != 0) {
            fprintf(stderr, "ruvflow: worker: %s\n", err.msg);
            rc = rf_err_exit_status(&err);
            break;
        }
        s->io = rf_rtio_new(rt.o.store_url, tiers, &rt.cfg);
        pthread_create(&s->th, NULL, slot_main, s);
        started++;
    }
    rf_log_info(&rt.log, "%s serving %s from pool %s (%d slot%s, lease %ld ms) on %s", rt.id,
                rt.types_csv, rt.o.pool, rt.o.concurrency, rt.o.concurrency == 1 ? "" : "s",
                rt.o.lease_ms, rf_redis_url(mr));
    rf_redis *hr = NULL;
    rf_queue *hq = NULL;
    pthread_t hb;
    hb_arg ha = {&rt, NULL};
    int have_hb = 0;
    if (rc == 0 && connect_queue(&rt, &hr, &hq, &err) == 0) {
        ha.q = hq;
        have_hb = pthread_create(&hb, NULL, heartbeat_main, &ha) == 0;
    } else if (rc == 0) {
        fprintf(stderr, "ruvflow: worker: %s\n", err.msg);
        rc = rf_err_exit_status(&err);
    }
    if (rc != 0) {
        atomic_store(&rt.draining, 1);
        for (int i = started; i < rt.o.concurrency; i++)
            rt.slots[i].finished = 1;
    }
    int st = supervise(&rt, mq);
    if (st != 0) {
        /* Some handler is stuck; its thread cannot be joined. */
        rf_queue_worker_gone(mq, rt.id, &err);
        fflush(NULL);
        _exit(st);
    }
    for (int i = 0; i < started; i++) {
        pthread_join(rt.slots[i].th, NULL);
        rf_rtio_free(rt.slots[i].io);
        rf_queue_close(rt.slots[i].q);
        rf_redis_close(rt.slots[i].r);
    }
    atomic_store(&rt.quit, 1);
    if (have_hb)
        pthread_join(hb, NULL);
    rf_queue_close(hq);
    rf_redis_close(hr);
    if (rf_queue_worker_gone(mq, rt.id, &err) != 0)
        rf_log_debug(&rt.log, "registry: %s", err.msg);
    rf_log_info(&rt.log, "%s stopped", rt.id);
    rf_queue_close(mq);
    rf_redis_close(mr);
    rt_free(&rt);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
