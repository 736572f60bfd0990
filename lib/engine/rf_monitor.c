/* rf_monitor: the scheduler's /metrics; see rf_monitor.h. */
#include "engine/rf_monitor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_httpd.h"
#include "base/rf_prom.h"
#include "base/rf_time.h"
#include "base/rf_version.h"

extern const char rf_lua_monitor_tasks[];
static const rf_script s_tasks = {"monitor tasks", rf_lua_monitor_tasks};

#define TAIL_BATCH 512

/* Task durations, lease to commit: 5 ms .. 1 h. */
static const double dur_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                    2.5,   5,    10,    30,   60,  300,  900, 3600};

typedef struct series {
    char pool[65], type[65];
    uint64_t done, retries, dead, cancelled, expiries;
    rf_prom_hist dur;
} series;

struct rf_monitor {
    char *prefix, *events_key, *slots;
    rf_scale_opts scale;
    rf_redis *observed;
    const rf_log *log;
    rf_redis *tail_r, *http_r;   /* the tailer's, the scrape's */
    rf_httpd *httpd;
    pthread_t tailer;
    int tailer_started;
    int stop;                    /* atomic: set by rf_monitor_stop */
    pthread_mutex_t mu;          /* series, events */
    pthread_mutex_t http_mu;     /* http_r */
    series *s;
    size_t ns;
    unsigned long long events;
    char last_id[64];
};

/* ----------------------------------------------------------- the tailer */

static series *series_of(rf_monitor *m, const char *pool, const char *type)
{
    for (size_t i = 0; i < m->ns; i++)
        if (!strcmp(m->s[i].pool, pool) && !strcmp(m->s[i].type, type))
            return &m->s[i];
    m->s = rf_xrealloc(m->s, (m->ns + 1) * sizeof *m->s);
    series *x = &m->s[m->ns++];
    memset(x, 0, sizeof *x);
    snprintf(x->pool, sizeof x->pool, "%s", pool);
    snprintf(x->type, sizeof x->type, "%s", type);
    rf_prom_hist_init(&x->dur, dur_bounds, sizeof dur_bounds / sizeof dur_bounds[0]);
    return x;
}

static const char *field(const redisReply *kv, const char *name)
{
    for (size_t i = 0; kv && i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && !strcmp(kv->element[i]->str, name) &&
            kv->element[i + 1]->type == REDIS_REPLY_STRING)
            return kv->element[i + 1]->str;
    return NULL;
}

static void count_event(rf_monitor *m, const char *ev, const redisReply *rec, size_t at)
{
    const char *pool = rec->element[at]->str, *type = rec->element[at + 1]->str;
    if (!*pool || !*type)
        return; /* the record is gone: nothing to attribute it to */
    series *x = series_of(m, pool, type);
    int lease = !strcmp(rec->element[at + 4]->str, "1");
    if (!strcmp(ev, "done")) {
        x->done++;
        long long st = atoll(rec->element[at + 2]->str), fin = atoll(rec->element[at + 3]->str);
        if (st > 0 && fin >= st)
            rf_prom_hist_observe(&x->dur, (double)(fin - st) / 1e6);
    } else if (!strcmp(ev, "retry")) {
        x->retries++;
        x->expiries += (uint64_t)lease;
    } else if (!strcmp(ev, "dead")) {
        x->dead++;
        x->expiries += (uint64_t)lease;
    } else if (!strcmp(ev, "cancelled")) {
        x->cancelled++;
    }
}

/* One XREAD reply: read the records its task events name, count them. */
static int handle_batch(rf_monitor *m, const redisReply *entries, rf_err *err)
{
    const char *argv[TAIL_BATCH + 1];
    const char *evs[TAIL_BATCH];
    size_t n = 0;
    argv[0] = m->prefix;
    for (size_t i = 0; i < entries->elements && n < TAIL_BATCH; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
            continue;
        snprintf(m->last_id, sizeof m->last_id, "%s", e->element[0]->str);
        const char *ev = field(e->element[1], "ev"), *task = field(e->element[1], "task");
        if (ev && task && *task) {
            evs[n] = ev;
            argv[1 + n++] = task;
        }
    }
    if (n == 0)
        return 0;
    redisReply *rec = NULL;
    if (rf_redis_eval(m->tail_r, &s_tasks, 0, (int)n + 1, argv, NULL, &rec, err) != 0)
        return -1;
    if (rec->type == REDIS_REPLY_ARRAY && rec->elements == 5 * n) {
        pthread_mutex_lock(&m->mu);
        for (size_t i = 0; i < n; i++)
            count_event(m, evs[i], rec, 5 * i);
        m->events += n;
        pthread_mutex_unlock(&m->mu);
    }
    freeReplyObject(rec);
    return 0;
}

/* The monitor's Redis connections give up reconnecting once stop is set:
 * rf_monitor_stop joins the tailer, which must not wait out the retry
 * budget of a dead Redis. */
static int monitor_stopping(void *ud)
{
    const rf_monitor *m = ud;
    return __atomic_load_n(&m->stop, __ATOMIC_RELAXED);
}

static void *tail_main(void *arg)
{
    rf_monitor *m = arg;
    while (!__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
        redisReply *rep = NULL;
        rf_err err = {0};
        char count[16];
        snprintf(count, sizeof count, "%d", TAIL_BATCH);
        const char *argv[] = {"XREAD", "COUNT", count, "BLOCK", "1000", "STREAMS",
                              m->events_key, m->last_id};
        int rc = rf_redis_cmdv(m->tail_r, 8, argv, NULL, &rep, &err);
        if (rc == 0 && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
            rep->element[0]->elements == 2)
            rc = handle_batch(m, rep->element[0]->element[1], &err);
        if (rep)
            freeReplyObject(rep);
        if (rc != 0 && !__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
            if (m->log)
                rf_log_warn(m->log, "metrics: %s; trying again in 1 s", err.msg);
            rf_sleep_ms(1000);
        }
    }
    return NULL;
}

/* ---------------------------------------------------------- the scrape */

static void redis_family(rf_buf *b, const char *name, const char *help, const char *conn[2],
                         const rf_redis_stats st[2], size_t which)
{
    rf_prom_family(b, name, "counter", help);
    for (int i = 0; i < 2; i++) {
        if (!conn[i])
            continue;
        const char *l[] = {"conn", conn[i], NULL};
        const uint64_t *v = which == 0 ? &st[i].round_trips
                            : which == 1 ? &st[i].errors : &st[i].reconnects;
        rf_prom_sample(b, name, l, (double)*v);
    }
}

static void render_redis(rf_monitor *m, rf_buf *b)
{
    const char *conn[2] = {m->observed ? "scheduler" : NULL, "metrics"};
    rf_redis_stats st[2] = {{0}};
    if (m->observed)
        rf_redis_stats_get(m->observed, &st[0]);
    rf_redis_stats a, c;
    rf_redis_stats_get(m->tail_r, &a);
    rf_redis_stats_get(m->http_r, &c);
    st[1].round_trips = a.round_trips + c.round_trips;
    st[1].errors = a.errors + c.errors;
    st[1].reconnects = a.reconnects + c.reconnects;
    redis_family(b, "ruvflow_redis_round_trips_total",
                 "Commands or pipelines sent to Redis, by connection.", conn, st, 0);
    redis_family(b, "ruvflow_redis_errors_total", "Redis connections lost, by connection.",
                 conn, st, 1);
    redis_family(b, "ruvflow_redis_reconnects_total", "Redis reconnections, by connection.",
                 conn, st, 2);
}

typedef enum { Q_READY, Q_DELAYED, Q_LEASED, Q_DEAD, Q_AGE } qfield;

static void queue_family(rf_buf *b, const rf_poolstat *ps, const char *name, const char *help,
                         qfield f)
{
    rf_prom_family(b, name, "gauge", help);
    for (size_t i = 0; i < ps->nqueues; i++) {
        const rf_qstat *q = &ps->queues[i];
        const char *l[] = {"pool", q->pool, "type", q->type, NULL};
        double v = f == Q_READY     ? (double)q->ready
                   : f == Q_DELAYED ? (double)q->delayed
                   : f == Q_LEASED  ? (double)q->leased
                   : f == Q_DEAD    ? (double)q->dead
                                    : (q->head_age_ms < 0 ? 0 : (double)q->head_age_ms / 1000.0);
        rf_prom_sample(b, name, l, v);
    }
}

typedef enum { P_WAITING, P_INFLIGHT, P_WORKERS, P_DESIRED } pfield;

static void pool_family(rf_buf *b, const rf_poolstat *ps, const char *name, const char *help,
                        pfield f)
{
    rf_prom_family(b, name, "gauge", help);
    for (size_t i = 0; i < ps->npools; i++) {
        const rf_pstat *p = &ps->pools[i];
        const char *l[] = {"pool", p->pool, NULL};
        double v = f == P_WAITING    ? (double)p->waiting
                   : f == P_INFLIGHT ? (double)p->in_flight
                   : f == P_WORKERS  ? (double)p->workers
                                     : (double)p->desired;
        rf_prom_sample(b, name, l, v);
    }
}

static void render_pools(rf_buf *b, const rf_poolstat *ps)
{
    queue_family(b, ps, "ruvflow_queue_ready_tasks", "Tasks ready to run, by queue.", Q_READY);
    queue_family(b, ps, "ruvflow_queue_delayed_tasks",
                 "Tasks waiting for their retry backoff, by queue.", Q_DELAYED);
    queue_family(b, ps, "ruvflow_queue_in_flight_tasks", "Tasks leased by workers, by queue.",
                 Q_LEASED);
    queue_family(b, ps, "ruvflow_queue_dead_letter_tasks", "Dead-lettered tasks, by queue.",
                 Q_DEAD);
    queue_family(b, ps, "ruvflow_queue_oldest_task_age_seconds",
                 "How long the task at the head of the ready set has waited (0 when empty).",
                 Q_AGE);
    pool_family(b, ps, "ruvflow_pool_waiting_tasks",
                "Tasks waiting in a pool (ready + delayed): the autoscaling signal.", P_WAITING);
    pool_family(b, ps, "ruvflow_pool_in_flight_tasks", "Tasks running in a pool.", P_INFLIGHT);
    pool_family(b, ps, "ruvflow_pool_workers", "Live workers of a pool.", P_WORKERS);
    pool_family(b, ps, "ruvflow_pool_desired_workers",
                "ceil((waiting + in flight) / slots per worker), within the bounds.", P_DESIRED);
}

typedef enum { C_DONE, C_RETRIES, C_DEAD, C_CANCELLED, C_EXPIRIES } cfield;

static void counter_family(rf_buf *b, const rf_monitor *m, const char *name, const char *help,
                           cfield f)
{
    rf_prom_family(b, name, "counter", help);
    for (size_t i = 0; i < m->ns; i++) {
        const series *x = &m->s[i];
        const char *l[] = {"pool", x->pool, "type", x->type, NULL};
        uint64_t v = f == C_DONE ? x->done : f == C_RETRIES ? x->retries
                     : f == C_DEAD ? x->dead : f == C_CANCELLED ? x->cancelled : x->expiries;
        rf_prom_sample(b, name, l, (double)v);
    }
}

static void render_counters(rf_monitor *m, rf_buf *b)
{
    pthread_mutex_lock(&m->mu);
    counter_family(b, m, "ruvflow_tasks_completed_total", "Tasks committed by workers.",
                   C_DONE);
    counter_family(b, m, "ruvflow_task_retries_total",
                   "Task attempts that failed and were retried (lease expiries included).",
                   C_RETRIES);
    counter_family(b, m, "ruvflow_tasks_dead_lettered_total", "Tasks sent to the dead letters.",
                   C_DEAD);
    counter_family(b, m, "ruvflow_tasks_cancelled_total", "Leased tasks cancelled.",
                   C_CANCELLED);
    counter_family(b, m, "ruvflow_lease_expiries_total",
                   "Leases that expired because their worker stopped heartbeating.", C_EXPIRIES);
    rf_prom_family(b, "ruvflow_task_duration_seconds", "histogram",
                   "Task time from lease to commit, by queue.");
    for (size_t i = 0; i < m->ns; i++) {
        const char *l[] = {"pool", m->s[i].pool, "type", m->s[i].type, NULL};
        rf_prom_hist_write(b, "ruvflow_task_duration_seconds", l, &m->s[i].dur);
    }
    rf_prom_family(b, "ruvflow_monitor_events_total", "counter",
                   "Task events counted by this process since it started.");
    rf_prom_sample(b, "ruvflow_monitor_events_total", NULL, (double)m->events);
    pthread_mutex_unlock(&m->mu);
}

int rf_monitor_render(rf_monitor *m, rf_buf *b, rf_err *err)
{
    rf_poolstat ps;
    pthread_mutex_lock(&m->http_mu);
    int rc = rf_poolstat_read(m->http_r, m->prefix, &m->scale, &ps, err);
    pthread_mutex_unlock(&m->http_mu);
    if (rc != 0)
        return -1;
    const char *ver[] = {"version", RF_VERSION, NULL};
    rf_prom_family(b, "ruvflow_build_info", "gauge", "The ruvflow version serving /metrics.");
    rf_prom_sample(b, "ruvflow_build_info", ver, 1);
    render_pools(b, &ps);
    render_counters(m, b);
    render_redis(m, b);
    rf_poolstat_free(&ps);
    return 0;
}

static int on_http(void *ctx, const char *path, rf_buf *body, const char **ctype)
{
    rf_monitor *m = ctx;
    if (strcmp(path, "/metrics") != 0) {
        rf_buf_adds(body, "not found: try /metrics\n");
        return 404;
    }
    rf_err err = {0};
    if (rf_monitor_render(m, body, &err) != 0) {
        rf_buf_reset(body);
        rf_buf_addf(body, "metrics unavailable: %s\n", err.msg);
        return 503;
    }
    *ctype = RF_PROM_CONTENT_TYPE;
    return 200;
}

/* -------------------------------------------------------------- set up */

int rf_monitor_start(const char *url, const char *addr, const rf_monitor_opts *o,
                     rf_monitor **out, rf_err *err)
{
    *out = NULL;
    if (rf_scale_opts_check(&o->scale, err) != 0)
        return -1;
    rf_monitor *m = rf_xcalloc(1, sizeof *m);
    m->prefix = rf_xstrdup(o->prefix ? o->prefix : "rf:");
    size_t kl = strlen(m->prefix) + 8;
    m->events_key = rf_xmalloc(kl);
    snprintf(m->events_key, kl, "%sevents", m->prefix);
    m->scale = o->scale;
    m->slots = o->scale.slots ? rf_xstrdup(o->scale.slots) : NULL;
    m->scale.slots = m->slots;
    m->observed = o->observed;
    m->log = o->log;
    snprintf(m->last_id, sizeof m->last_id, "$");
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->http_mu, NULL);
    rf_redis_opts ro;
    rf_redis_opts_default(&ro);
    ro.command_timeout_ms = 5000;
    ro.log = o->log;
    ro.should_stop = monitor_stopping;
    ro.stop_ud = m;
    if (rf_redis_connect(url, &ro, &m->tail_r, err) != 0 ||
        rf_redis_connect(url, &ro, &m->http_r, err) != 0) {
        rf_monitor_stop(m);
        return rf_err_prefix(err, "metrics");
    }
    if (addr && rf_httpd_start(addr, on_http, m, &m->httpd, err) != 0) {
        rf_monitor_stop(m);
        return rf_err_prefix(err, "metrics");
    }
    if (pthread_create(&m->tailer, NULL, tail_main, m) != 0) {
        rf_monitor_stop(m);
        return rf_errf(err, RF_EIO, "metrics: cannot start the event tailer");
    }
    m->tailer_started = 1;
    *out = m;
    return 0;
}

int rf_monitor_port(const rf_monitor *m)
{
    return m->httpd ? rf_httpd_port(m->httpd) : 0;
}

unsigned long long rf_monitor_events(rf_monitor *m)
{
    pthread_mutex_lock(&m->mu);
    unsigned long long n = m->events;
    pthread_mutex_unlock(&m->mu);
    return n;
}

void rf_monitor_stop(rf_monitor *m)
{
    if (!m)
        return;
    __atomic_store_n(&m->stop, 1, __ATOMIC_RELAXED);
    rf_httpd_stop(m->httpd);
    if (m->tailer_started)
        pthread_join(m->tailer, NULL);
    rf_redis_close(m->tail_r);
    rf_redis_close(m->http_r);
    pthread_mutex_destroy(&m->mu);
    pthread_mutex_destroy(&m->http_mu);
    free(m->s);
    free(m->prefix);
    free(m->events_key);
    free(m->slots);
    free(m);
}
