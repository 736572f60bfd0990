/* rf_poolstat: what each queue and each pool holds, and how many workers a
 * pool wants, for `ruvflow queues`, the scheduler's /metrics and
 * autoscalers (KEDA, AWS target tracking).
 *
 * One script call reads, per queue (pool, type): ready, delayed (retries
 * waiting for their backoff), leased (in flight) and dead-lettered counts
 * (ZCARD, O(1) each) and the age of the task at the head of the ready set
 * (the oldest of the highest priority waiting: for a queue of one priority,
 * the oldest task); per pool: live workers. Nothing is scanned.
 *
 * Desired workers of a pool = ceil((waiting + in flight) / slots), waiting =
 * ready + delayed, slots = tasks one worker runs at once (its
 * --concurrency), clamped to [min, max]. */
#ifndef RF_POOLSTAT_H
#define RF_POOLSTAT_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"
#include "engine/rf_redis.h"

typedef struct rf_qstat {
    char pool[65], type[65];
    int64_t ready, delayed, leased, dead;
    int64_t head_age_ms;     /* -1 when nothing is ready */
} rf_qstat;

typedef struct rf_pstat {
    char pool[65];
    int64_t waiting, in_flight, workers;
    long slots;              /* per worker, from the scale options */
    int64_t desired;
} rf_pstat;

typedef struct rf_poolstat {
    rf_qstat *queues;
    size_t nqueues;
    rf_pstat *pools;         /* every pool with a queue or a live worker */
    size_t npools;
} rf_poolstat;

typedef struct rf_scale_opts {
    const char *slots;       /* "N" or "POOL=N,POOL=N,..." (others 1); NULL = 1 */
    long min_workers;        /* default 0 */
    long max_workers;        /* default 100 */
} rf_scale_opts;

void rf_scale_opts_default(rf_scale_opts *o);
/* RF_EINVAL with the offending part for a malformed slots spec. */
int rf_scale_opts_check(const rf_scale_opts *o, rf_err *err);
/* Slots per worker of pool under o (1 when the spec does not name it). */
long rf_scale_slots(const rf_scale_opts *o, const char *pool);
int64_t rf_scale_desired(const rf_scale_opts *o, int64_t waiting, int64_t in_flight,
                         long slots);

int rf_poolstat_read(rf_redis *r, const char *prefix, const rf_scale_opts *o,
                     rf_poolstat *out, rf_err *err);
void rf_poolstat_free(rf_poolstat *s);

#endif
