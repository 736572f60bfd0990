/* rf_queue: reliable task queues on Redis, with leases and fencing.
 *
 * Model (keys and scripts: docs/redis-schema.md). A task is a small hash
 * (record). A queue is one (pool, type) pair: workers of one pool take
 * tasks of the types they serve. A task moves
 *
 *   enqueue -> ready --take--> leased --commit--> done
 *                ^               |  \--fail(retryable)--> delayed --> ready
 *                |               |  \--fail(final) / attempts used--> dead
 *                +--release------+  \--lease expired (reap)--> ready | dead
 *
 * Delivery is at-least-once. Each take hands out a lease with a fencing
 * token (a per-task counter bumped by every delivery). Heartbeat, commit,
 * fail and release must present the token; once a lease has been reaped and
 * the task handed to someone else, the old token is refused with
 * RF_ECONFLICT, so a stale worker can never commit over the new owner.
 * Every state change is one Lua script (EVALSHA); batch calls run one
 * script for many tasks. Times come from the Redis server clock (TIME), so
 * worker clocks do not matter.
 *
 * An rf_queue borrows an rf_redis connection and is as thread-safe as it
 * (one per thread). Strings in results are owned by the result arrays and
 * released by the matching *_free function. */
#ifndef RF_QUEUE_H
#define RF_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"
#include "engine/rf_redis.h"

#define RF_QUEUE_NAME_MAX 64   /* pool and type names: [A-Za-z0-9_.-]{1,64} */
#define RF_QUEUE_ID_MAX 200    /* task ids: [A-Za-z0-9_.:/@+=-]{1,200} */
#define RF_QUEUE_PRIO_MAX 1000 /* priorities 0..1000, higher runs first */

typedef struct rf_queue rf_queue;

typedef struct rf_queue_opts {
    const char *prefix;  /* key prefix, default "rf:" (tests use their own) */
    long lease_ms;       /* lease length, default 5000 */
    long retention_s;    /* committed records expire after this; default 7
                            days; 0 = keep until rf_queue_forget */
} rf_queue_opts;

void rf_queue_opts_default(rf_queue_opts *o);
int rf_queue_open(rf_redis *r, const rf_queue_opts *o, rf_queue **out, rf_err *err);
void rf_queue_close(rf_queue *q);
const char *rf_queue_prefix(const rf_queue *q);
long rf_queue_lease_ms(const rf_queue *q);

/* What the scheduler enqueues. JSON fields are stored as given (small:
 * references, never payloads); NULL means "{}". */
typedef struct rf_task_spec {
    const char *id;          /* unique, chosen by the caller (idempotence) */
    const char *run, *step;  /* for events and display; may be "" */
    long index;              /* position in a fan-out, 0 otherwise */
    const char *type;        /* worker type: "train-stage", "noop" */
    const char *pool;        /* NULL = "default" */
    int priority;            /* 0..RF_QUEUE_PRIO_MAX, higher first */
    const char *params;      /* JSON object of strings: the step's `with` */
    const char *inputs;      /* JSON object: name -> [store URL, ...] */
    const char *tier;        /* output tier name; NULL = "hot" */
    long timeout_ms;         /* 0 = none; the runtime stops the handler */
    int max_attempts;        /* deliveries charged before dead; 0 = 3 */
    long backoff_ms;         /* retry delay base, 0 = 1000; doubles per attempt */
    long backoff_max_ms;     /* retry delay cap, 0 = 60000 */
    double jitter;           /* 0..1: fraction of a retry delay randomised, 0 = none */
} rf_task_spec;

/* Enqueue n tasks in one round trip. A task whose id already exists is
 * left alone (so a restarted scheduler can enqueue again safely);
 * *added (may be NULL) counts the new ones. Invalid specs fail the whole
 * batch with RF_EINVAL before anything is written. */
int rf_queue_enqueue(rf_queue *q, const rf_task_spec *tasks, size_t n,
                     size_t *added, rf_err *err);

/* A delivered task. */
typedef struct rf_lease {
    char *id;
    int64_t token;           /* fencing token for this delivery */
    int attempt;             /* attempts charged, 1 on first delivery */
    char *run, *step;
    long index;
    char *type, *pool;
    int priority;
    char *params, *inputs, *tier;  /* JSON text, JSON text, tier name */
    long timeout_ms;
    int max_attempts;
    int64_t enqueued_us;     /* server time (us) the task became ready */
    int64_t started_us;      /* server time (us) of this take */
} rf_lease;

void rf_leases_free(rf_lease *l, size_t n);

/* Take up to max ready tasks of the given types from pool, highest
 * priority first then FIFO, leasing each for lease_ms to `worker` (an id
 * shown by `ruvflow workers`). Before taking, the script re-queues expired
 * leases and due retries of these queues, so re-delivery needs no separate
 * reaper. Records that fail validation go to the dead letters with the
 * reason and are not returned. *n may be 0: then call rf_queue_wait. */
int rf_queue_take(rf_queue *q, const char *pool, const char *const *types,
                  size_t ntypes, const char *worker, size_t max,
                  rf_lease **out, size_t *n, rf_err *err);

/* Block until tasks may be ready in any of the queues, or timeout_ms
 * passes (BLPOP on the queues' wake lists; a wake-up is a hint, not a
 * promise). Returns 1 when woken, 0 on timeout, -1 on error. */
int rf_queue_wait(rf_queue *q, const char *pool, const char *const *types,
                  size_t ntypes, long timeout_ms, rf_err *err);

/* A lease as the holder names it. */
typedef struct rf_lease_ref {
    const char *id;
    int64_t token;
} rf_lease_ref;

/* Per-task outcome of heartbeat/commit/release. */
enum rf_lease_status {
    RF_LEASE_OK = 0,         /* done as asked */
    RF_LEASE_LOST = 1,       /* token stale: someone else owns the task now */
    RF_LEASE_CANCELLED = 2   /* heartbeat only: the run was cancelled; stop */
};

/* Extend n leases by lease_ms. status[i] gets an rf_lease_status.
 * running[i] (running may be NULL: none) says the task's handler has
 * started. Timeouts are enforced here too, on the server's clock: the
 * first heartbeat with running[i] set starts it, and a task still leased
 * timeout + 2 * lease_ms later is failed (retryable, "timeout: ...
 * enforced by the queue") and reported RF_LEASE_LOST; the runtime's own
 * timer, at timeout, normally fails it first. */
int rf_queue_heartbeat(rf_queue *q, const rf_lease_ref *l, const unsigned char *running,
                       size_t n, int *status, rf_err *err);

typedef struct rf_task_result {
    const char *id;
    int64_t token;
    const char *outputs;     /* JSON object: name -> store URL (or list) */
    const char *metrics;     /* JSON object: name -> number */
} rf_task_result;

/* Fenced commit of n results in one script: each one is stored, the task
 * becomes done, its lease is dropped and a "done" event is added to the
 * events stream. status[i] is RF_LEASE_OK (also for a repeat of the same
 * commit) or RF_LEASE_LOST (refused: stale token). */
int rf_queue_commit(rf_queue *q, const rf_task_result *r, size_t n, int *status,
                    rf_err *err);

/* Commit nr results and take up to max new tasks in one round trip (two
 * scripts pipelined): what a busy worker does between batches. nr or max
 * may be 0. Same outcomes as the two calls. */
int rf_queue_commit_take(rf_queue *q, const rf_task_result *r, size_t nr, int *status,
                         const char *pool, const char *const *types, size_t ntypes,
                         const char *worker, size_t max, rf_lease **out, size_t *n,
                         rf_err *err);

enum rf_fail_outcome {
    RF_FAIL_RETRY = 0,       /* will be re-delivered after backoff */
    RF_FAIL_DEAD = 1         /* dead-lettered: final, or attempts used up */
};

/* Fenced failure. Retryable failures are re-delivered after
 *   d = min(backoff_max, backoff * 2^(attempt-1)) * (1 - jitter * u),
 * u uniform in [0, 1) per failure (so d is in (D * (1 - jitter), D], D the
 * un-jittered delay), while attempts remain; otherwise the task goes to the dead letters with
 * `reason`. Emits a "retry" or "dead" event. A stale token fails with
 * RF_ECONFLICT. *outcome may be NULL. */
int rf_queue_fail(rf_queue *q, const rf_lease_ref *l, int retryable,
                  const char *reason, int *outcome, rf_err *err);

/* Give n leases back at once, without charging an attempt (SIGTERM drain,
 * tasks prefetched but not started): the tasks are ready again at the
 * front of their priority. Stale tokens are ignored (status LOST). */
int rf_queue_release(rf_queue *q, const rf_lease_ref *l, size_t n, int *status,
                     rf_err *err);

/* Re-queue expired leases (or dead-letter them when their attempts are
 * used up) and promote due retries, at most max tasks per queue, in every
 * queue. Idempotent; any process may call it at any time. *moved (may be
 * NULL) counts tasks moved. */
int rf_queue_reap(rf_queue *q, size_t max, size_t *moved, rf_err *err);

/* Cancel tasks: ready or delayed ones are removed (state "cancelled",
 * event "cancelled"); leased ones are flagged so the holder's next
 * heartbeat returns RF_LEASE_CANCELLED. Unknown ids are ignored. */
int rf_queue_cancel(rf_queue *q, const char *const *ids, size_t n, rf_err *err);

/* Delete the records of finished tasks (retention trimming of a run). */
int rf_queue_forget(rf_queue *q, const char *const *ids, size_t n, rf_err *err);

/* A task's record as stored. */
typedef struct rf_task_info {
    char *id, *state;        /* ready delayed leased done dead cancelled */
    char *run, *step, *type, *pool;
    long index;
    int attempt, max_attempts;
    int64_t token;
    char *worker;            /* last holder, "" if never taken */
    char *outputs, *metrics; /* JSON, "" until done */
    char *error;             /* last failure reason, "" if none */
    int64_t enqueued_us, started_us, finished_us;  /* server time in us; 0 = not yet */
} rf_task_info;

/* Returns 1 and fills *info, or 0 when no such task. */
int rf_queue_get(rf_queue *q, const char *id, rf_task_info *info, rf_err *err);
void rf_task_info_free(rf_task_info *info);

/* Counts for one queue, each read in O(1) (ZCARD). */
typedef struct rf_queue_stat {
    char pool[RF_QUEUE_NAME_MAX + 1];
    char type[RF_QUEUE_NAME_MAX + 1];
    int64_t ready, delayed, leased, dead;
} rf_queue_stat;

/* All queues ever used under this prefix, sorted by pool then type. *out
 * is malloc'd (free()). */
int rf_queue_stats(rf_queue *q, rf_queue_stat **out, size_t *n, rf_err *err);

/* Dead letters of one queue (pool/type NULL = all), oldest first. */
typedef struct rf_dead {
    char *id, *pool, *type, *run, *step, *reason;
    int attempts;
    int64_t dead_ms;
} rf_dead;
int rf_queue_dlq_list(rf_queue *q, const char *pool, const char *type,
                      size_t limit, rf_dead **out, size_t *n, rf_err *err);
void rf_dead_free(rf_dead *d, size_t n);
/* Put dead tasks back to ready with a fresh attempt budget; *done counts
 * those that were dead. */
int rf_queue_dlq_requeue(rf_queue *q, const char *const *ids, size_t n,
                         size_t *done, rf_err *err);
/* Delete dead tasks and their records. */
int rf_queue_dlq_drop(rf_queue *q, const char *const *ids, size_t n,
                      size_t *done, rf_err *err);

/* Name of the events stream (XADD by the scripts; the scheduler reads it
 * with a consumer group). Entries: ev=done|retry|dead|cancelled, task=ID,
 * run=RUN, step=STEP, idx=N, att=N. */
const char *rf_queue_events_key(const rf_queue *q);

/* Live telemetry of a running task, for `ruvflow watch` and `logs` (not
 * fenced: a stale worker's extra points are harmless). Metrics go to
 * rf:live:{id} (a hash), progress points and log lines to the run's
 * streams rf:run:{run}:progress and rf:run:{run}:log (capped). */
int rf_queue_live_metric(rf_queue *q, const char *id, const char *name, double value,
                         rf_err *err);
int rf_queue_progress(rf_queue *q, const char *run, const char *id, const char *series,
                      int64_t step, const char *const *keys, const double *vals, size_t n,
                      rf_err *err);
int rf_queue_log_line(rf_queue *q, const char *run, const char *id, const char *line,
                      rf_err *err);

/* Worker registry, for `ruvflow workers`. Each record expires after
 * ttl_ms unless refreshed by the worker's heartbeat. */
typedef struct rf_worker_info {
    char *id, *host, *pool, *types, *current;
    long pid;
    int64_t started_ms, seen_ms;
} rf_worker_info;
int rf_queue_worker_beat(rf_queue *q, const rf_worker_info *w, long ttl_ms,
                         rf_err *err);
int rf_queue_worker_gone(rf_queue *q, const char *id, rf_err *err);
int rf_queue_workers(rf_queue *q, rf_worker_info **out, size_t *n, rf_err *err);
void rf_worker_info_free(rf_worker_info *w, size_t n);

/* 0 if s is a valid pool/type name (or task id); -1 with RF_EINVAL. */
int rf_queue_name_valid(const char *what, const char *s, rf_err *err);
int rf_queue_id_valid(const char *id, rf_err *err);

#endif
