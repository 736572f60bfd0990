/* cmd_engine: what the run verbs (cmd_run.c) and the local stack
 * (cmd_stack.c) share: finding Redis and opening the scheduler's handles. */
#ifndef RF_CMD_ENGINE_H
#define RF_CMD_ENGINE_H

#include <stdio.h>

#include "base/rf_log.h"
#include <signal.h>

#include "engine/rf_queue.h"
#include "engine/rf_redis.h"
#include "engine/rf_sched.h"

/* Where the local stack keeps its state, relative to the current folder. */
#define RF_STACK_DIR ".ruvflow"

typedef struct engine {
    rf_redis *r;
    rf_queue *q;
    rf_sched *s;
} engine;

/* The Redis URL: --redis, else $RUVFLOW_REDIS_URL, else the one `ruvflow
 * up` recorded in ./.ruvflow/redis.url, else redis://127.0.0.1:6379/0.
 * The result is static or points into opt. */
const char *engine_redis_url(const char *opt);
/* A Redis named by $RUVFLOW_REDIS_URL or the config file, else NULL. */
const char *engine_configured_redis(void);
/* Key prefix: --prefix, else $RUVFLOW_REDIS_PREFIX, else "rf:". */
const char *engine_prefix(const char *opt);

/* Connect. retry_ms: how long to keep trying an unreachable Redis; a
 * non-zero *stop (if stop is not NULL) ends any reconnect wait at once. */
int engine_open(engine *e, const char *url, const char *prefix, long retry_ms,
                const rf_sched_opts *so, volatile sig_atomic_t *stop, rf_err *err);
void engine_close(engine *e);

/* Retention of finished runs: the config's runs.retention_s
 * ($RUVFLOW_RETENTION_S), default 7 days. */
long engine_retention_s(void);

/* The lines `ruvflow status` adds for online-learning tasks (train-stage
 * `mode: incremental`): drift, the gate's decision, the version in
 * production (cmd_watch.c). */
void cmd_online_status(rf_sched *s, const rf_run_status *st, FILE *f);

#endif
