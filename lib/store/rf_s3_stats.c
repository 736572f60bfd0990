/* rf_s3_stats: S3 request counters for /metrics; see rf_s3_stats.h. */
#include "store/rf_s3_stats.h"

#include <string.h>

#include "base/rf_prom.h"

static const char *const method_names[RF_S3M_COUNT] = {"GET", "HEAD", "PUT", "POST", "DELETE"};

/* Request latencies: 1 ms .. 30 s. */
static const double lat_bounds[RF_S3_LAT_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1,    5,     30};

static void add(uint64_t *c, uint64_t v)
{
    __atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

int rf_s3_stats_method(const char *method)
{
    for (int i = 0; i < RF_S3M_COUNT; i++)
        if (method && !strcmp(method, method_names[i]))
            return i;
    return RF_S3M_GET;
}

int rf_s3_stats_failed(long status)
{
    if (status == 0)
        return 1;
    if (status / 100 == 2 || status / 100 == 3 || status == 404 || status == 412)
        return 0;
    return 1;
}

void rf_s3_stats_record(rf_s3_stats *s, int method, int failed, uint64_t sent,
                        uint64_t received, double seconds)
{
    if (!s)
        return;
    if (method < 0 || method >= RF_S3M_COUNT)
        method = RF_S3M_GET;
    add(&s->requests[method], 1);
    if (failed)
        add(&s->errors[method], 1);
    add(&s->bytes_sent, sent);
    add(&s->bytes_received, received);
    size_t i = 0;
    while (i < RF_S3_LAT_BUCKETS && seconds > lat_bounds[i])
        i++;
    add(&s->lat[i], 1);
    add(&s->lat_sum_us, seconds > 0 ? (uint64_t)(seconds * 1e6 + 0.5) : 0);
}

static void per_method(rf_buf *b, const char *name, const char *help, const uint64_t *v)
{
    rf_prom_family(b, name, "counter", help);
    for (int i = 0; i < RF_S3M_COUNT; i++) {
        const char *l[] = {"method", method_names[i], NULL};
        rf_prom_sample(b, name, l, (double)get(&v[i]));
    }
}

void rf_s3_stats_write(const rf_s3_stats *s, rf_buf *b)
{
    per_method(b, "ruvflow_s3_requests_total", "S3 requests sent (every attempt), by method.",
               s->requests);
    per_method(b, "ruvflow_s3_errors_total",
               "S3 attempts that failed (no answer, 5xx, 429, 400, 403), by method.", s->errors);
    rf_prom_family(b, "ruvflow_s3_sent_bytes_total", "counter", "Bytes sent to S3.");
    rf_prom_sample(b, "ruvflow_s3_sent_bytes_total", NULL, (double)get(&s->bytes_sent));
    rf_prom_family(b, "ruvflow_s3_received_bytes_total", "counter", "Bytes received from S3.");
    rf_prom_sample(b, "ruvflow_s3_received_bytes_total", NULL, (double)get(&s->bytes_received));
    /* A consistent-enough copy: each bucket is read once, the count is
     * their sum, so the histogram's own invariants hold. */
    rf_prom_hist h;
    rf_prom_hist_init(&h, lat_bounds, RF_S3_LAT_BUCKETS);
    for (size_t i = 0; i <= RF_S3_LAT_BUCKETS; i++) {
        h.counts[i] = get(&s->lat[i]);
        h.count += h.counts[i];
    }
    h.sum = (double)get(&s->lat_sum_us) / 1e6;
    rf_prom_family(b, "ruvflow_s3_request_duration_seconds", "histogram",
                   "S3 request latency, one observation per attempt.");
    rf_prom_hist_write(b, "ruvflow_s3_request_duration_seconds", NULL, &h);
}
