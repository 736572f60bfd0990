/* rf_monitor: the scheduler's /metrics (Prometheus text format).
 *
 * Two threads of its own, each with its own Redis connection:
 *   - a tailer reads the task event stream (XREAD, not the scheduler's
 *     consumer group, so it takes nothing from it) and keeps counters per
 *     pool and type: completed, retried, dead-lettered, cancelled, lease
 *     expiries, and a histogram of task durations (lease to commit). Each
 *     event costs O(1): one batched script call reads the records the
 *     events name.
 *   - the HTTP server (rf_httpd) answers a scrape with those counters, the
 *     queue and pool gauges of rf_poolstat (one script call), and the
 *     Redis round trips of the connections it was told about.
 * Counters start at 0 with the process (Prometheus' rate() expects that);
 * with several schedulers each one counts every event, so aggregate with
 * max(), not sum(). */
#ifndef RF_MONITOR_H
#define RF_MONITOR_H

#include "base/rf_buf.h"
#include "base/rf_err.h"
#include "base/rf_log.h"
#include "engine/rf_poolstat.h"
#include "engine/rf_redis.h"

typedef struct rf_monitor rf_monitor;

typedef struct rf_monitor_opts {
    const char *prefix;        /* Redis key prefix, "rf:" */
    rf_scale_opts scale;       /* for desired workers */
    rf_redis *observed;        /* a connection whose round trips to report
                                  as conn="scheduler"; borrowed, may be NULL */
    const rf_log *log;
} rf_monitor_opts;

/* Connects to url, starts the tailer and, when addr is not NULL, the HTTP
 * server on addr (GET /metrics). A port in use fails here, with the
 * address in the message. */
int rf_monitor_start(const char *url, const char *addr, const rf_monitor_opts *o,
                     rf_monitor **out, rf_err *err);
/* The port actually bound (addr with port 0 picks one). */
int rf_monitor_port(const rf_monitor *m);
/* A scrape's text, as /metrics serves it. */
int rf_monitor_render(rf_monitor *m, rf_buf *out, rf_err *err);
/* Events the tailer has counted so far. */
unsigned long long rf_monitor_events(rf_monitor *m);
void rf_monitor_stop(rf_monitor *m);

#endif
