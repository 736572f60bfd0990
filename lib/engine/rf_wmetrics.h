/* rf_wmetrics: a served worker's own counters for its /metrics: tasks in
 * flight, outcomes and run-time histograms per worker type, lease expiries
 * it saw. Each record is O(1) (the types are fixed at start); a mutex
 * guards the histograms, since slots and the heartbeat thread record while
 * the HTTP thread renders.
 *
 * The worker's scrape adds the Redis round trips and S3 counters of its
 * connections (rf_runtime_metrics.c). Counters start at 0 with the process. */
#ifndef RF_WMETRICS_H
#define RF_WMETRICS_H

#include <stddef.h>

#include "base/rf_buf.h"

typedef enum rf_woutcome {
    RF_WO_SUCCEEDED,   /* handler succeeded; its commit is queued */
    RF_WO_RETRIED,     /* failed, will run again */
    RF_WO_DEAD,        /* failed, dead-lettered (or cancelled) */
    RF_WO_RELEASED,    /* handed back on drain, no attempt charged */
    RF_WO_LOST,        /* lease lost while running: result dropped */
    RF_WO_COUNT
} rf_woutcome;

typedef struct rf_wmetrics rf_wmetrics;

/* types (copied) are the worker's task types; pool labels every sample. */
rf_wmetrics *rf_wmetrics_new(const char *pool, const char *const *types, size_t ntypes);
void rf_wmetrics_free(rf_wmetrics *m);

/* All are no-ops on a NULL m (metrics off) and on an unknown type. */
void rf_wmetrics_started(rf_wmetrics *m);
void rf_wmetrics_finished(rf_wmetrics *m, const char *type, rf_woutcome o, double seconds);
/* A lease of type found expired (heartbeat or commit refused). */
void rf_wmetrics_lease_expired(rf_wmetrics *m, const char *type);

/* Appends the ruvflow_worker_* families (Prometheus text). */
void rf_wmetrics_write(rf_wmetrics *m, rf_buf *b);

#endif
