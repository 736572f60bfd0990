/* rf_wmetrics: a served worker's counters; see rf_wmetrics.h. */
#include "engine/rf_wmetrics.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_prom.h"
#include "base/rf_buf.h"

/* Task run times, handler start to result: 5 ms .. 1 h (as the scheduler's). */
static const double dur_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                    2.5,   5,    10,    30,   60,  300,  900, 3600};

static const char *const outcome_names[RF_WO_COUNT] = {"succeeded", "retried", "dead_lettered",
                                                       "released", "lease_lost"};

typedef struct wseries {
    char *type;
    uint64_t outcomes[RF_WO_COUNT], expiries;
    rf_prom_hist dur;
} wseries;

struct rf_wmetrics {
    char *pool;
    pthread_mutex_t mu;
    long in_flight;
    wseries *s;
    size_t ns;
};

rf_wmetrics *rf_wmetrics_new(const char *pool, const char *const *types, size_t ntypes)
{
    rf_wmetrics *m = rf_xcalloc(1, sizeof *m);
    m->pool = rf_xstrdup(pool);
    pthread_mutex_init(&m->mu, NULL);
    m->s = rf_xcalloc(ntypes ? ntypes : 1, sizeof *m->s);
    m->ns = ntypes;
    for (size_t i = 0; i < ntypes; i++) {
        m->s[i].type = rf_xstrdup(types[i]);
        rf_prom_hist_init(&m->s[i].dur, dur_bounds, sizeof dur_bounds / sizeof dur_bounds[0]);
    }
    return m;
}

void rf_wmetrics_free(rf_wmetrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->ns; i++)
        free(m->s[i].type);
    free(m->s);
    free(m->pool);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Called with m->mu held. */
static wseries *series_of(rf_wmetrics *m, const char *type)
{
    for (size_t i = 0; type && i < m->ns; i++)
        if (!strcmp(m->s[i].type, type))
            return &m->s[i];
    return NULL;
}

void rf_wmetrics_started(rf_wmetrics *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->in_flight++;
    pthread_mutex_unlock(&m->mu);
}

void rf_wmetrics_finished(rf_wmetrics *m, const char *type, rf_woutcome o, double seconds)
{
    if (!m || o < 0 || o >= RF_WO_COUNT)
        return;
    pthread_mutex_lock(&m->mu);
    if (m->in_flight > 0)
        m->in_flight--;
    wseries *x = series_of(m, type);
    if (x) {
        x->outcomes[o]++;
        rf_prom_hist_observe(&x->dur, seconds < 0 ? 0 : seconds);
    }
    pthread_mutex_unlock(&m->mu);
}

void rf_wmetrics_lease_expired(rf_wmetrics *m, const char *type)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    wseries *x = series_of(m, type);
    if (x)
        x->expiries++;
    pthread_mutex_unlock(&m->mu);
}

void rf_wmetrics_write(rf_wmetrics *m, rf_buf *b)
{
    pthread_mutex_lock(&m->mu);
    const char *pl[] = {"pool", m->pool, NULL};
    rf_prom_family(b, "ruvflow_worker_tasks_in_flight", "gauge",
                   "Tasks this worker is running now.");
    rf_prom_sample(b, "ruvflow_worker_tasks_in_flight", pl, (double)m->in_flight);
    rf_prom_family(b, "ruvflow_worker_tasks_total", "counter",
                   "Tasks this worker ran, by type and outcome.");
    for (size_t i = 0; i < m->ns; i++)
        for (int o = 0; o < RF_WO_COUNT; o++) {
            const char *l[] = {"pool", m->pool, "type", m->s[i].type, "outcome",
                               outcome_names[o], NULL};
            rf_prom_sample(b, "ruvflow_worker_tasks_total", l, (double)m->s[i].outcomes[o]);
        }
    rf_prom_family(b, "ruvflow_worker_task_retries_total", "counter",
                   "Failed attempts this worker handed back for a retry, by type.");
    for (size_t i = 0; i < m->ns; i++) {
        const char *l[] = {"pool", m->pool, "type", m->s[i].type, NULL};
        rf_prom_sample(b, "ruvflow_worker_task_retries_total", l,
                       (double)m->s[i].outcomes[RF_WO_RETRIED]);
    }
    rf_prom_family(b, "ruvflow_worker_lease_expiries_total", "counter",
                   "Leases this worker found expired (another worker may run the task).");
    for (size_t i = 0; i < m->ns; i++) {
        const char *l[] = {"pool", m->pool, "type", m->s[i].type, NULL};
        rf_prom_sample(b, "ruvflow_worker_lease_expiries_total", l, (double)m->s[i].expiries);
    }
    rf_prom_family(b, "ruvflow_worker_task_duration_seconds", "histogram",
                   "Task time in this worker, inputs fetched to outputs uploaded, by type.");
    for (size_t i = 0; i < m->ns; i++) {
        const char *l[] = {"pool", m->pool, "type", m->s[i].type, NULL};
        rf_prom_hist_write(b, "ruvflow_worker_task_duration_seconds", l, &m->s[i].dur);
    }
    pthread_mutex_unlock(&m->mu);
}
