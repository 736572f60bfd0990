/* cmd_engine: what the run verbs (cmd_run.c) and the local stack
 * (cmd_stack.c) share: finding Redis and opening the scheduler's handles. */
#ifndef RF_CMD_ENGINE_H
#define RF_CMD_ENGINE_H

#include <signal.h>
#include <stdio.h>

#include "base/rf_log.h"
#include "base/rf_stackdir.h"
#include "engine/rf_poolstat.h"
#include "engine/rf_queue.h"
#include "engine/rf_redis.h"
#include "engine/rf_sched.h"


typedef struct engine {
    rf_redis *r;
    rf_queue *q;
    rf_sched *s;
} engine;

/* The Redis URL: --redis, else the configuration's redis_url ($RUVFLOW_REDIS_URL,
 * the config file, the URL `ruvflow up` recorded in the nearest
 * .ruvflow/redis.url walking up from the current folder, else
 * redis://127.0.0.1:6379/0). The result is static or points into opt. */
const char *engine_redis_url(const char *opt);
/* After a failed connection: say where the Redis URL came from, and where
 * the local stack was looked for when none was found. */
void engine_explain_redis(const char *opt, FILE *f);
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
/* Autoscaling options (cmd_scale.c): defaults from $RUVFLOW_SCALE_SLOTS,
 * $RUVFLOW_SCALE_MIN, $RUVFLOW_SCALE_MAX; scale_opt consumes --slots SPEC,
 * --min-workers N, --max-workers N at argv[*i] (1 if it was one, -1 if
 * incomplete or not a number, 0 if not one of them). */
void scale_opts_from_env(rf_scale_opts *o);
int scale_opt(rf_scale_opts *o, int argc, char **argv, int *i);
#define SCALE_HELP \
    "  --slots SPEC       tasks one worker runs at once: N, or POOL=N,... (others 1);\n" \
    "                     default $RUVFLOW_SCALE_SLOTS or 1\n" \
    "  --min-workers N    lower bound of desired workers ($RUVFLOW_SCALE_MIN, 0)\n" \
    "  --max-workers N    upper bound of desired workers ($RUVFLOW_SCALE_MAX, 100)\n"

#endif
