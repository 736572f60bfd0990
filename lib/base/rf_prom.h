/* rf_prom: the Prometheus text exposition format (version 0.0.4), written
 * into an rf_buf, and fixed-bucket histograms whose observe is O(1) in the
 * number of observations.
 *
 * A metric family is announced once (# HELP, # TYPE), then its samples.
 * Labels are given as a NULL-terminated list of name, value pairs; values
 * are escaped as the format requires (backslash, quote, newline). Names
 * follow the Prometheus conventions (snake_case, base units, counters end
 * in _total); rf_prom_name_valid checks the characters. */
#ifndef RF_PROM_H
#define RF_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_buf.h"

/* The Content-Type of the text format. */
#define RF_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* type is "counter", "gauge" or "histogram". */
void rf_prom_family(rf_buf *b, const char *name, const char *type, const char *help);

/* One sample: NAME{labels} VALUE. labels may be NULL. */
void rf_prom_sample(rf_buf *b, const char *name, const char *const *labels, double value);

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
int rf_prom_name_valid(const char *name);

/* A histogram with caller-chosen upper bounds (ascending, at most
 * RF_PROM_MAX_BUCKETS; +Inf is implied). Not thread-safe: guard it. */
#define RF_PROM_MAX_BUCKETS 16
typedef struct rf_prom_hist {
    const double *bounds;
    size_t nbounds;
    uint64_t counts[RF_PROM_MAX_BUCKETS + 1];  /* per bucket, not cumulative */
    double sum;
    uint64_t count;
} rf_prom_hist;

void rf_prom_hist_init(rf_prom_hist *h, const double *bounds, size_t nbounds);
void rf_prom_hist_observe(rf_prom_hist *h, double v);
/* NAME_bucket{labels,le=...} (cumulative), NAME_sum, NAME_count. */
void rf_prom_hist_write(rf_buf *b, const char *name, const char *const *labels,
                        const rf_prom_hist *h);

#endif
