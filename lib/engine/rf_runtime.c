/* rf_runtime: the served worker loop; see rf_runtime.h for the behaviour. */
#include "engine/rf_runtime_impl.h"

#define HARD_STOP_MS 5000   /* after grace + stop flag, give up on a handler */

const char *rf_runtime_default_prefix(void)
{
    const char *p = getenv("RUVFLOW_REDIS_PREFIX");
    return p && *p ? p : "rf:";
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
    o->commit_log = (env = getenv("RUVFLOW_TEST_COMMIT_LOG")) && *env ? env : NULL;
    o->concurrency = 1;
    o->prefetch = 32;
    o->lease_ms = cfg->lease_ms;
    o->grace_ms = 30000;
    o->retry_ms = 30000;
    o->metrics_addr = (env = getenv("RUVFLOW_WORKER_METRICS_ADDR")) && *env ? env : NULL;
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
        else if (!strcmp(a, "--metrics") && val)
            o->metrics_addr = *val ? val : NULL;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("serve options (defaults from the configuration):\n"
                   "  --redis URL  --prefix P  --store URL  --pool NAME  --concurrency N\n"
                   "  --lease MS  --grace S  --retry S  --prefetch N  --tmp DIR\n"
                   "  --metrics ADDR (default $RUVFLOW_WORKER_METRICS_ADDR; empty = off)\n"
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

/* Reconnect loops give up once a drain has begun, or a SIGTERM/SIGINT is
 * pending for the supervisor (signals are blocked until it waits). */
static int stop_asked(void *ud)
{
    runtime *rt = ud;
    if (atomic_load(&rt->draining) || atomic_load(&rt->quit))
        return 1;
    sigset_t p;
    return sigpending(&p) == 0 && (sigismember(&p, SIGTERM) || sigismember(&p, SIGINT));
}

/* *r and *q are published under rt->mu: the /metrics thread reads them. */
static int connect_queue(runtime *rt, rf_redis **r, rf_queue **q, rf_err *err)
{
    rf_redis *nr = NULL;
    rf_queue *nq = NULL;
    rf_redis_opts ro;
    rf_redis_opts_default(&ro);
    ro.log = &rt->log;
    ro.retry_ms = rt->o.retry_ms;
    ro.should_stop = stop_asked;
    ro.stop_ud = rt;
    rf_queue_opts qo;
    rf_queue_opts_default(&qo);
    qo.prefix = rt->o.prefix;
    qo.lease_ms = rt->o.lease_ms;
    if (rf_redis_connect(rt->o.redis_url, &ro, &nr, err) != 0)
        return -1;
    if (rf_queue_open(nr, &qo, &nq, err) != 0) {
        rf_redis_close(nr);
        return -1;
    }
    pthread_mutex_lock(&rt->mu);
    *r = nr;
    *q = nq;
    pthread_mutex_unlock(&rt->mu);
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
    size_t n = rf_runtime_snapshot(rt, &refs, current, sizeof current);
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

/* A reason to stop: one JSON line in json mode, else the CLI's form. */
static void fatal(const runtime *rt, const rf_err *err)
{
    if (rt->log.json)
        rf_log_error(&rt->log, "%s", err->msg);
    else
        fprintf(stderr, "ruvflow: worker: %s\n", err->msg);
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
        fatal(&rt, &err);
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

    rt.slots = rf_xcalloc((size_t)rt.o.concurrency, sizeof *rt.slots);
    rf_queue *mq = NULL;
    /* The metrics port first: a port in use fails before any waiting. */
    if (rf_runtime_metrics_start(&rt, &err) != 0 ||
        connect_queue(&rt, &rt.main_r, &mq, &err) != 0) {
        fatal(&rt, &err);
        rf_runtime_metrics_stop(&rt);
        rt_free(&rt);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return rf_err_exit_status(&err);
    }
    /* --store moves the tiers along unless the configuration names them. */
    const char *tiers[RF_TIER_COUNT];
    for (int i = 0; i < RF_TIER_COUNT; i++)
        tiers[i] = rt.o.store_url == rt.cfg.store ? rt.cfg.tiers[i].url : NULL;
    /* S3 down at start: wait for it as for Redis, then exit 6 (systemd
     * restarts the unit); nothing is taken before the stores answer. */
    const char *stores[RF_TIER_COUNT + 1] = {rt.o.store_url};
    for (int i = 0; i < RF_TIER_COUNT; i++)
        stores[i + 1] = tiers[i];
    if (rf_runtime_probe_stores(&rt, stores, RF_TIER_COUNT + 1, stop_asked, &err) != 0) {
        fatal(&rt, &err);
        rf_runtime_metrics_stop(&rt);
        rf_queue_close(mq);
        rf_redis_close(rt.main_r);
        rt_free(&rt);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return rf_err_exit_status(&err);
    }
    int started = 0, rc = 0;
    for (int i = 0; i < rt.o.concurrency; i++) {
        slot *s = &rt.slots[i];
        s->rt = &rt;
        s->idx = i;
        s->running = -1;
        if (connect_queue(&rt, &s->r, &s->q, &err) != 0) {
            fatal(&rt, &err);
            rc = rf_err_exit_status(&err);
            break;
        }
        s->io = rf_rtio_new(rt.o.store_url, tiers, &rt.cfg);
        pthread_create(&s->th, NULL, rf_runtime_slot_main, s);
        started++;
    }
    rf_log_info(&rt.log, "%s serving %s from pool %s (%d slot%s, lease %ld ms) on %s", rt.id,
                rt.types_csv, rt.o.pool, rt.o.concurrency, rt.o.concurrency == 1 ? "" : "s",
                rt.o.lease_ms, rf_redis_url(rt.main_r));
    rf_queue *hq = NULL;
    pthread_t hb;
    hb_arg ha = {&rt, NULL};
    int have_hb = 0;
    if (rc == 0 && connect_queue(&rt, &rt.hb_r, &hq, &err) == 0) {
        ha.q = hq;
        have_hb = pthread_create(&hb, NULL, rf_runtime_heartbeat_main, &ha) == 0;
    } else if (rc == 0) {
        fatal(&rt, &err);
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
    for (int i = 0; i < started; i++)
        pthread_join(rt.slots[i].th, NULL);
    atomic_store(&rt.quit, 1);
    if (have_hb)
        pthread_join(hb, NULL);
    rf_runtime_metrics_stop(&rt); /* before the connections it reads go */
    for (int i = 0; i < started; i++) {
        rf_rtio_free(rt.slots[i].io);
        rf_queue_close(rt.slots[i].q);
        rf_redis_close(rt.slots[i].r);
    }
    rf_queue_close(hq);
    rf_redis_close(rt.hb_r);
    if (rf_queue_worker_gone(mq, rt.id, &err) != 0)
        rf_log_debug(&rt.log, "registry: %s", err.msg);
    rf_log_info(&rt.log, "%s stopped", rt.id);
    rf_queue_close(mq);
    rf_redis_close(rt.main_r);
    rt_free(&rt);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
