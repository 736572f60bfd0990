/* rf_sched: runs of workflows on Redis: submit, the scheduler's event loop,
 * memoization, cancel/retry/resume, and the queries behind the CLI.
 *
 * All run state lives in Redis (keys in docs/redis-schema.md, "Runs"):
 * a run hash, the plan (the workflow as JSON), per-step counters, a bitmap
 * of finished tasks per step, the results of tasks that did not run on a
 * worker (cached, skipped, failed to dispatch), and a "todo" hash of steps
 * released for dispatch. Every transition of that state is one Lua script;
 * task records and queues are rf_queue's. A scheduler holds nothing that
 * another cannot rebuild, so any number may run at once and any may die:
 *   - events are read through a consumer group; a dead scheduler's unacked
 *     events are claimed by another (XAUTOCLAIM) and processed again;
 *   - finishing a task is idempotent (SETBIT on the finished bitmap);
 *   - enqueue is idempotent (task ids are RUN/STEP/INDEX);
 *   - dispatching a run holds a short lease, renewed while it works, and a
 *     step leaves "todo" only if nothing re-released it meanwhile.
 * The handle is not thread-safe (one rf_redis inside). */
#ifndef RF_SCHED_H
#define RF_SCHED_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/rf_err.h"
#include "base/rf_log.h"
#include "engine/rf_queue.h"
#include "engine/rf_redis.h"
#include "engine/rf_workflow.h"

typedef struct rf_sched rf_sched;

typedef struct rf_sched_opts {
    long retention_s;        /* finished runs are trimmed after this; default 7 days */
    long claim_idle_ms;      /* take over another scheduler's events after; 10000 */
    const char *consumer;    /* name in the consumer group; default host:pid */
    const rf_log *log;       /* NULL = silent */
    const struct rf_config *cfg;  /* store settings for reading foreach lists
                                   * (borrowed; NULL = environment only) */
    long cron_tick_ms;       /* length of a cron "minute"; 0 = 60000. Tests only
                              * shorten it (RUVFLOW_CRON_TICK_MS, docs/ruvflow.1) */
} rf_sched_opts;

void rf_sched_opts_default(rf_sched_opts *o);

/* r and q are borrowed and must outlive the handle. */
int rf_sched_open(rf_redis *r, rf_queue *q, const rf_sched_opts *o, rf_sched **out,
                  rf_err *err);
void rf_sched_close(rf_sched *s);

/* ------------------------------------------------------------ submitting */

typedef struct rf_submit_opts {
    int no_cache;            /* run every task, even when a result is cached */
    const char *run_id;      /* NULL = generated: NAME-YYMMDD-HHMMSS-XXXX */
} rf_submit_opts;

/* Store the run (plan, counters, digests of external inputs) and wake a
 * scheduler. Nothing is enqueued here: a scheduler dispatches, so submit
 * costs O(steps), whatever the number of tasks. *run_id is malloc'd. */
int rf_sched_submit(rf_sched *s, const rf_workflow *wf, const rf_submit_opts *o,
                    char **run_id, rf_err *err);

/* ------------------------------------------------------------ the daemon */

/* Read up to one batch of events (blocking up to block_ms), process them
 * and dispatch what they released. *handled (may be NULL) counts events. */
int rf_sched_poll(rf_sched *s, long block_ms, size_t *handled, rf_err *err);

/* Housekeeping: claim stale events, dispatch runs with pending work
 * (full = also re-derive pending work from the counters, as after a crash),
 * re-queue expired leases, trim runs past retention. */
int rf_sched_maintain(rf_sched *s, int full, rf_err *err);

/* How many schedulers reported in the last window_ms (each does every 2 s). */
int rf_sched_alive(rf_sched *s, long window_ms, size_t *n, rf_err *err);

/* The daemon loop until *stop becomes non-zero. */
int rf_sched_serve(rf_sched *s, volatile sig_atomic_t *stop, rf_err *err);

/* ------------------------------------------------------------- run verbs */

/* Stop a run: no more dispatch; queued tasks are removed and running ones
 * asked to stop. RF_ESTATE if the run already finished. */
int rf_sched_cancel(rf_sched *s, const char *run, rf_err *err);
/* Re-run the failed tasks of a failed run; *n (may be NULL) counts them. */
int rf_sched_retry(rf_sched *s, const char *run, size_t *n, rf_err *err);
/* Continue a cancelled or failed run (or a stuck one) from where it is:
 * finished tasks stay finished, everything else is dispatched again. */
int rf_sched_resume(rf_sched *s, const char *run, rf_err *err);

/* Decide a suspend step that waits for approval: ok = 1 approves it (its
 * task finishes done, the steps that need it are released), ok = 0 rejects
 * it (the task fails, and the run). RF_ENOTFOUND: no such run or step;
 * RF_EINVAL: not a suspend step; RF_ESTATE: not waiting now. */
int rf_sched_approve(rf_sched *s, const char *run, const char *step, int ok,
                     rf_err *err);

/* ------------------------------------------------------ scheduled runs */

/* A schedule (`ruvflow cron add`): submit FILE with params at each time
 * the cron expression (rf_cron.h, UTC) names. Stored in Redis; fired by
 * whichever scheduler claims the tick first (a compare-and-set of the
 * next fire time), so once per tick across any number of schedulers. */
typedef struct rf_cron_entry {
    char *id, *expr, *file;
    char **params; size_t nparams;   /* "key=value" overrides */
    int64_t created_ms, next_ms;     /* next fire time (wall clock, ms) */
    char *last_run, *last_error;     /* "" when none */
    int64_t last_ms;                 /* when it last fired; 0 never */
} rf_cron_entry;

/* file must be absolute (the scheduler reads it at each fire); the caller
 * validated the workflow. *id is malloc'd. RF_EINVAL for a bad expression. */
int rf_sched_cron_add(rf_sched *s, const char *expr, const char *file,
                      const char *const *params, size_t nparams, char **id, rf_err *err);
/* All schedules, by id. */
int rf_sched_cron_list(rf_sched *s, rf_cron_entry **v, size_t *n, rf_err *err);
void rf_cron_entries_free(rf_cron_entry *v, size_t n);
/* RF_ENOTFOUND for an unknown id. */
int rf_sched_cron_rm(rf_sched *s, const char *id, rf_err *err);
/* Fire the schedules that are due (rf_sched_serve calls it a few times a
 * second). *fired (may be NULL) counts the runs this call submitted. */
int rf_sched_cron_tick(rf_sched *s, size_t *fired, rf_err *err);

/* Deleting a run (`ruvflow delete`, rf_sched_delete.c). delete_check:
 * RF_ENOTFOUND for no such run; a running run is RF_ESTATE unless force,
 * which cancels it. delete: its Redis state (task records, results, logs,
 * progress), whatever its state. */
int rf_sched_delete_check(rf_sched *s, const char *run, int force, rf_err *err);
int rf_sched_delete(rf_sched *s, const char *run, rf_err *err);
/* The output URLs of run that no other run's results and no cache entry
 * of another run's task reference (a JSON array, caller's). */
int rf_sched_exclusive_outputs(rf_sched *s, const char *run, json_t **urls, rf_err *err);
/* Every output URL of run's results as keys of the JSON object set. */
int rf_sched_run_outputs(rf_sched *s, const char *run, json_t *set, rf_err *err);
/* Delete the cache entries run's tasks made; *n counts them. */
int rf_sched_forget_cache_of(rf_sched *s, const char *run, size_t *n, rf_err *err);
/* Per-workflow retention: record wf's policy (or its absence) at submit;
 * apply every recorded policy (the scheduler does every few seconds);
 * *deleted (may be NULL) counts the runs deleted. */
int rf_sched_retention_set(rf_sched *s, const rf_workflow *wf, rf_err *err);
int rf_sched_retention(rf_sched *s, size_t *deleted, rf_err *err);

/* --------------------------------------------------------------- queries */

typedef struct rf_step_status {
    char *name, *worker;
    int fan;
    int on_exit;                                  /* an exit handler */
    int waiting;                                  /* suspend: waits for approval */
    size_t total, done, cached, skipped, failed;  /* finished, by how */
    size_t running, queued, retrying, pending;      /* not finished */
} rf_step_status;

typedef struct rf_run_status {
    char *id, *name, *file, *state, *error;   /* error "" when none */
    char *main;        /* on_exit: how the main steps ended ("" while they run) */
    char *exit_error;  /* on_exit: the failure of an exit step, "" when none */
    int64_t created_ms, finished_ms;           /* 0 while running */
    int no_cache;
    size_t nsteps;
    rf_step_status *steps;                      /* plan order */
    size_t total, finished, failed;
} rf_run_status;

/* RF_ENOTFOUND for an unknown run. */
int rf_sched_status(rf_sched *s, const char *run, rf_run_status *st, rf_err *err);
void rf_run_status_free(rf_run_status *st);

/* Runs, newest first. ids[] and each id are malloc'd. */
int rf_sched_list(rf_sched *s, size_t limit, char ***ids, size_t *n, rf_err *err);

/* Results of a step's tasks as a JSON array text (index order): each
 * {"o": outputs, "m": metrics, "h": "done"|"cache"|"skip"|"fail", "e": reason}
 * or null while unfinished. Live metrics of running tasks are not included. */
int rf_sched_results(rf_sched *s, const char *run, const char *step, char **json,
                     rf_err *err);

#endif
