/* rf_runtime: the served worker loop (Redis queues + object store).
 * `ruvflow-<worker> serve` and `ruvflow worker` call rf_runtime_serve.
 *
 * A served worker runs --concurrency N slots (threads, each with its own
 * Redis connection). A slot takes tasks of the worker's types from its
 * pool, downloads inputs into a private temp dir, runs the handler,
 * uploads outputs content-addressed into the task's tier and commits
 * (fenced) with output URLs and metrics. While tasks run, one heartbeat
 * thread renews every held lease each lease/3, enforces task timeouts,
 * stops tasks whose lease was lost or whose run was cancelled, and keeps
 * the worker's registry entry alive. Short tasks are taken and committed
 * in batches that grow while tasks stay short (prefetch), long ones one
 * at a time.
 *
 * SIGTERM/SIGINT drain: stop taking, release prefetched tasks, let running
 * tasks finish within --grace (default 30 s), then set their stop flag and
 * release their leases (no attempt charged) so another worker takes them
 * at once. A second signal exits at once (leases then expire). */
#ifndef RF_RUNTIME_H
#define RF_RUNTIME_H

#include "engine/rf_task.h"

/* Serve tasks of def's type (and, for the CLI, extra built-in types) until
 * SIGTERM/SIGINT. argv holds the options after "serve". Exit status.
 *
 * Defaults come from the configuration (rf_config_load: config file, then
 * RUVFLOW_REDIS_URL, RUVFLOW_STORE, RUVFLOW_TIER_*, RUVFLOW_LEASE_MS ...).
 *   --redis URL        Redis, default the configured redis_url
 *   --prefix P         Redis key prefix, default $RUVFLOW_REDIS_PREFIX or "rf:"
 *   --store URL        task state and output store, default the configured
 *                      store and tiers (with --store, every tier is URL)
 *   --pool NAME        default "default"
 *   --concurrency N    tasks run in parallel, default 1
 *   --lease MS         lease length, default worker.lease_ms (5000)
 *   --grace S          drain grace period, default 30
 *   --retry S          how long to wait for Redis and for the S3 stores at
 *                      start (backoff, then exit 6), default 30
 *   --prefetch N       largest batch taken at once for short tasks, default 32
 *   --tmp DIR          parent of per-task dirs, default $TMPDIR or /tmp
 *   --metrics ADDR     serve /metrics on HOST:PORT (rf_runtime_metrics.c),
 *                      default $RUVFLOW_WORKER_METRICS_ADDR; unset = off */
int rf_runtime_serve(int argc, char **argv, const rf_worker_def *const *defs,
                     size_t ndefs);

/* The Redis key prefix used when no option names one:
 * $RUVFLOW_REDIS_PREFIX, else "rf:". */
const char *rf_runtime_default_prefix(void);

#endif
