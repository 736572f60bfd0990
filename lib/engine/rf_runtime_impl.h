/* rf_runtime_impl: private to rf_runtime*.c. The runtime, its slots and the
 * helpers the runtime's files share. */
#ifndef RF_RUNTIME_IMPL_H
#define RF_RUNTIME_IMPL_H

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/rf_runtime.h"
#include "base/rf_buf.h"
#include "base/rf_fs.h"
#include "base/rf_config.h"
#include "base/rf_log.h"
#include "engine/rf_queue.h"
#include "engine/rf_redis.h"
#include "engine/rf_batch.h"
#include "engine/rf_runtime_io.h"
#include "engine/rf_wmetrics.h"
#include "base/rf_httpd.h"
#include "store/rf_s3_stats.h"
#include "engine/rf_task_impl.h"
#include "base/rf_time.h"

typedef struct rt_opts {
    const char *redis_url, *prefix, *store_url, *pool, *tmp;
    const char *metrics_addr;  /* NULL = no /metrics */
    /* RUVFLOW_TEST_COMMIT_LOG: a file each accepted commit is appended to
     * (task, fencing token, worker, outputs), kept outside Redis so that a
     * test harness can check exactly-once commits across Redis crashes. */
    const char *commit_log;
    int concurrency, prefetch;
    long lease_ms, grace_ms, retry_ms;
} rt_opts;

typedef struct runtime runtime;

/* One task-running thread. The fields under "guarded" are shared with the
 * heartbeat thread and the main thread and only touched under rt->mu. */
typedef struct slot {
    runtime *rt;
    int idx;
    pthread_t th;
    rf_redis *r;
    rf_queue *q;
    rf_rtio *io;
    char dir[PATH_MAX];        /* private work dir: in/ and out/, reused */
    /* guarded */
    rf_lease *held;
    size_t nheld;
    size_t next;               /* first held lease not started yet */
    long running;              /* index of the running lease, or -1 */
    int lost, cancelled, timed_out;
    int64_t deadline_ms;       /* task timeout (monotonic), 0 = none */
    int finished;              /* thread left its loop */
    /* written by other threads, polled by the handler (rf_task contract) */
    volatile sig_atomic_t stop;
} slot;

struct runtime {
    rt_opts o;
    rf_config cfg;
    const rf_worker_def *const *defs;
    size_t ndefs;
    const char **types;
    size_t ntypes;
    char *types_csv;
    char id[256], host[128];
    rf_log log;
    pthread_mutex_t mu;
    atomic_int draining, quit;
    slot *slots;
    int64_t started_ms;
    /* /metrics (rf_runtime_metrics.c), all NULL when off. The Redis
     * connections are published under mu, for the scrape's round trips. */
    rf_wmetrics *wm;
    rf_s3_stats s3stats;
    rf_httpd *httpd;
    rf_redis *main_r, *hb_r;
};

/* Results waiting for their commit, which rides along with the slot's
 * next take (one round trip for both). Strings are owned here. */
typedef struct pending {
    rf_task_result *r;
    int *status;
    const char **type;   /* borrowed from the worker defs, for metrics */
    size_t n, cap;
} pending;

typedef struct hb_ref {
    int slot;
    char *id;
    int64_t token;
    int running;    /* its handler has started (the queue's timeout clock) */
} hb_ref;

typedef struct hb_arg {
    runtime *rt;
    rf_queue *q;
} hb_arg;

void rf_runtime_pending_done(slot *s, pending *p, int ok, const rf_err *err);
void rf_runtime_pending_flush(slot *s, pending *p);
void rf_runtime_run_task(slot *s, const rf_lease *l, pending *p);
void *rf_runtime_slot_main(void *arg);
size_t rf_runtime_snapshot(runtime *rt, hb_ref **out, char *current, size_t cn);
void *rf_runtime_heartbeat_main(void *arg);
/* /metrics of a worker: binds rt->o.metrics_addr (a port in use fails
 * here, clearly) and serves rf_wmetrics, Redis round trips and S3
 * counters. A no-op without an address. */
int rf_runtime_metrics_start(runtime *rt, rf_err *err);
/* Check that the s3:// URLs among urls answer, each retried with backoff
 * for rt->o.retry_ms (rf_runtime_probe.c); stop() ends the wait early. */
int rf_runtime_probe_stores(runtime *rt, const char *const *urls, size_t n,
                            int (*stop)(void *), rf_err *err);
void rf_runtime_metrics_stop(runtime *rt);

#endif
