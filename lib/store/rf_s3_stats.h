/* rf_s3_stats: what S3 clients did, for /metrics: requests and errors per
 * method, bytes sent and received, and a latency histogram.
 *
 * One rf_s3_stats is shared by every client of a process (each thread has
 * its own client): the counters are atomics, so recording an attempt is
 * O(1) and lock-free, and a scrape reads them from any thread. The caller
 * owns it and points rf_s3_conf.stats at it; clients only borrow it, so it
 * must outlive them. Every attempt counts (a retried request is several
 * requests), as S3's own request metrics do. */
#ifndef RF_S3_STATS_H
#define RF_S3_STATS_H

#include <stdint.h>

#include "base/rf_buf.h"

enum { RF_S3M_GET, RF_S3M_HEAD, RF_S3M_PUT, RF_S3M_POST, RF_S3M_DELETE, RF_S3M_COUNT };

#define RF_S3_LAT_BUCKETS 12

typedef struct rf_s3_stats {
    uint64_t requests[RF_S3M_COUNT];
    uint64_t errors[RF_S3M_COUNT];
    uint64_t bytes_sent, bytes_received;
    uint64_t lat[RF_S3_LAT_BUCKETS + 1];  /* per bucket, not cumulative */
    uint64_t lat_sum_us;
} rf_s3_stats;

/* The method's index (RF_S3M_*); unknown methods count as GET. */
int rf_s3_stats_method(const char *method);

/* One attempt: failed = no answer, or an answer that is an error (5xx,
 * 429, 400, 403; a 404 or 412 answers a question and is not one). */
void rf_s3_stats_record(rf_s3_stats *s, int method, int failed, uint64_t sent,
                        uint64_t received, double seconds);

/* 1 when an HTTP status (0 = none arrived) counts as an error. */
int rf_s3_stats_failed(long status);

/* Appends the ruvflow_s3_* families in the Prometheus text format. */
void rf_s3_stats_write(const rf_s3_stats *s, rf_buf *b);

#endif
