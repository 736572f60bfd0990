/* rf_batch: the adaptive batch size of a worker slot (see rf_batch.h). */
#include "engine/rf_batch.h"

#define EWMA_WEIGHT 0.2   /* of the newest task: a few tasks move the mean */

void rf_batch_init(rf_batch *b)
{
    b->size = 1;
    b->mean_us = -1;
    b->all_short = 1;
}

void rf_batch_task(rf_batch *b, int64_t us)
{
    if (us < 0)
        us = 0;
    b->mean_us = b->mean_us < 0 ? (double)us
                                : b->mean_us + EWMA_WEIGHT * ((double)us - b->mean_us);
    if (us > RF_BATCH_SHORT_US)
        b->all_short = 0;
}

void rf_batch_next(rf_batch *b, size_t prefetch, long lease_ms)
{
    size_t next = b->all_short ? b->size * 2 : 1;
    if (prefetch < 1)
        prefetch = 1;
    if (next > prefetch)
        next = prefetch;
    /* The lease budget: the whole batch should start within lease/3. */
    double budget_us = (double)lease_ms * 1000.0 / 3.0;
    if (b->mean_us > 0) {   /* 0: tasks too quick to measure, no cap */
        double fit = budget_us / b->mean_us;
        if (fit < (double)next)
            next = fit < 1 ? 1 : (size_t)fit;
    }
    b->size = next;
    b->all_short = 1;
}
