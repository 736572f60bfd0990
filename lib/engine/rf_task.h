/* rf_task: what a worker's handler sees of the task it runs.
 *
 * Worker binaries are thin: a handler plus rf_worker_main() (rf_worker_main.h).
 * The same handler runs in two modes, and cannot tell which:
 *   - local:  ruvflow-<worker> run --with K=V ... --input NAME=PATH ... --out DIR
 *             (rf_task_local.c; tests, benchmarks, debugging; no Redis/store);
 *   - served: ruvflow-<worker> serve [...]: the runtime (rf_runtime.c) takes
 *             tasks from Redis, downloads inputs to local files, runs the
 *             handler, uploads outputs content-addressed, commits.
 * In both modes inputs are local file paths, outputs are files the handler
 * writes into rf_task_outdir() and registers with rf_task_output(). Final
 * metrics are numbers; local mode writes them to DIR/metrics.json.
 *
 * The rf_task is owned by the runtime; handlers never free it. */
#ifndef RF_TASK_H
#define RF_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"

typedef struct rf_task rf_task;
typedef int (*rf_handler_fn)(rf_task *t, rf_err *err);

typedef struct rf_worker_def {
    const char *name;        /* "train-stage": also the task type it serves */
    const char *version;     /* part of every cache key: bump on behaviour change */
    rf_handler_fn handler;
    const char *help;        /* the `with` keys and inputs, for --help */
} rf_worker_def;

/* Parameters from the step's `with` (already templated), as strings. */
const char *rf_task_param(rf_task *t, const char *key);             /* NULL if absent */
const char *rf_task_param_or(rf_task *t, const char *key, const char *def);
/* Typed getters: absent -> def; present but malformed -> -1 with a clear error. */
int rf_task_param_long(rf_task *t, const char *key, long def, long *out, rf_err *err);
int rf_task_param_double(rf_task *t, const char *key, double def, double *out, rf_err *err);
int rf_task_param_bool(rf_task *t, const char *key, int def, int *out, rf_err *err);
/* Iterate all params: returns key i or NULL past the end. */
const char *rf_task_param_key(rf_task *t, size_t i);

/* Inputs by name; a fan-in input has several paths, in order. */
size_t rf_task_input_count(rf_task *t, const char *name);
const char *rf_task_input(rf_task *t, const char *name, size_t i);  /* NULL if none */
/* The name the user knows a local input path by, for messages: served, the
 * path of the file:// file it was fetched from (or its s3:// URL), also for
 * a path inside a fetched folder; a local run's paths are the user's own and
 * come back unchanged. Returns path or buf (n bytes). */
const char *rf_task_input_origin(rf_task *t, const char *path, char *buf, size_t n);

/* Directory for outputs and scratch files (exists, empty at start). */
const char *rf_task_outdir(rf_task *t);
/* Register a file (normally inside outdir) as the named output. */
int rf_task_output(rf_task *t, const char *name, const char *path, rf_err *err);

/* Final metrics (last value wins). */
void rf_task_metric(rf_task *t, const char *name, double value);
/* One point of a live series (e.g. per-epoch curves), streamed to the run. */
void rf_task_progress(rf_task *t, const char *series, int64_t step,
                      const char *const *keys, const double *vals, size_t n);
void rf_task_logf(rf_task *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* 1 once the runtime asks the handler to stop (SIGTERM drain, cancel):
 * save state, then return -1 with RF_ECANCEL. */
int rf_task_should_stop(rf_task *t);

/* Durable per-task state for resuming after a crash (kill -9, lost VM):
 * save copies the file at path to the task's state slot (in the store when
 * served, in DIR/.state/ locally); load fetches it back into path and
 * returns 1, or returns 0 when nothing was saved yet. */
int rf_task_state_save(rf_task *t, const char *name, const char *path, rf_err *err);
int rf_task_state_load(rf_task *t, const char *name, const char *path, rf_err *err);

const char *rf_task_id(rf_task *t);
int rf_task_attempt(rf_task *t);   /* 1 on first delivery */

#endif
