/* rf_batch: how many tasks a worker slot takes per round trip.
 *
 * A slot runs its batch one task after another, and every lease of the
 * batch is held from the take on. So a batch is worth growing only while
 * tasks are short, and must stay small enough that its last task starts
 * before the leases need their first renewal (the heartbeat, every lease/3):
 * a prefetched task is never kept waiting on a heartbeat to stay alive, and
 * a slow patch of tasks does not hoard work that idle slots could run.
 *
 * The size starts at 1 (nothing is known), doubles after each batch whose
 * tasks all stayed under RF_BATCH_SHORT_US, and is capped by the prefetch
 * limit and by the lease budget: (lease/3) / the slot's mean task time (an
 * exponentially weighted average). A slow task drops it back to 1. Pure
 * arithmetic, no state of its own: the caller keeps an rf_batch. */
#ifndef RF_BATCH_H
#define RF_BATCH_H

#include <stddef.h>
#include <stdint.h>

#define RF_BATCH_SHORT_US 5000   /* tasks this quick are batched */

typedef struct rf_batch {
    size_t size;       /* tasks to ask for next; >= 1 */
    double mean_us;    /* EWMA of task time, < 0 = none measured yet */
    int all_short;     /* every task since the last take was short */
} rf_batch;

/* size 1, nothing measured. */
void rf_batch_init(rf_batch *b);
/* One task of the current batch took us microseconds. */
void rf_batch_task(rf_batch *b, int64_t us);
/* The batch is over: compute the next size, at most prefetch (>= 1), and
 * no more than fit in lease_ms/3 at the mean task time. */
void rf_batch_next(rf_batch *b, size_t prefetch, long lease_ms);

#endif
