/* rf_dag: from a validated workflow to the tasks that run it.
 *
 * A step expands into tasks: one without fan-out, one per foreach element
 * (a matrix is the cartesian product of its axes), or a sequence for a
 * chain, in which task k starts after task k-1 and receives its outputs.
 * Dependencies are between steps: a step starts once every step it needs
 * has finished, and then sees all their results (fan-in, in task order).
 * A step with `spawn: N` may grow while it runs: a task that ends with the
 * metric `spawn` = k adds k tasks to its own step (at most N in all); see
 * docs/workflow-format.md.
 *
 * Everything here is pure (no Redis, no clock): the scheduler (rf_sched)
 * stores the plan as JSON, gathers results, and calls these functions to
 * build each task's parameters, inputs and cache key when it dispatches it.
 *
 * A task result is a JSON object {"o": {NAME: URL or [URL...]}, "m": {NAME:
 * number}, "h": how} with how one of "done", "cache", "skip". */
#ifndef RF_DAG_H
#define RF_DAG_H

#include <jansson.h>
#include <stddef.h>

#include "base/rf_buf.h"
#include "base/rf_err.h"
#include "base/rf_hash.h"
#include "engine/rf_workflow.h"

/* Task ids: "RUN/STEP/INDEX" (valid queue ids). */
void rf_dag_task_id(rf_buf *out, const char *run, const char *step, size_t index);

/* The workflow as JSON (params with their final values, steps in
 * dependency order, fan-out axes; ranges stored compactly) plus the digests
 * of external inputs (URL -> hex, may be NULL). */
char *rf_dag_plan_json(const rf_workflow *wf, json_t *digests);
/* Rebuild the model from rf_dag_plan_json's text; *digests (may be NULL)
 * gets a new reference to the digests object. */
int rf_dag_plan_load(const char *json, rf_workflow **out, json_t **digests,
                     rf_err *err);

/* Steps whose results a step's templates, inputs or condition refer to
 * (a subset of its needs): out[k] = 1 for each. out has nsteps entries. */
void rf_dag_step_refs(const rf_workflow *wf, size_t step, unsigned char *out);
/* 1 if the step's templates, inputs or condition use prev.* */
int rf_dag_uses_prev(const rf_workflow *wf, size_t step);

/* What a task's templates may see. */
typedef struct rf_dag_ctx {
    const rf_workflow *wf;
    const char *run;
    json_t *const *results;  /* [nsteps]: JSON array of task results, or NULL */
    json_t *prev;            /* chain: previous task's result, or NULL */
    json_t *history;         /* spawned tasks: results of the step so far, or NULL */
    const char *wf_status;   /* on_exit steps: how the main steps ended, or NULL */
    const char *wf_failures; /* on_exit steps: JSON list of failed tasks, or NULL */
} rf_dag_ctx;

/* Evaluate the step's `when` for task idx (1 = run it). */
int rf_dag_when(const rf_dag_ctx *c, size_t step, size_t idx, int *truth, rf_err *err);

/* The task's parameters (JSON object of strings, keys sorted) and inputs
 * (JSON object NAME -> [URL...], keys sorted), both malloc'd. A reference
 * to a missing output fails with a message naming it. */
int rf_dag_render(const rf_dag_ctx *c, size_t step, size_t idx, char **params,
                  char **inputs, rf_err *err);

/* Cache key: SHA-256 over the worker type, RF_VERSION, the canonical
 * parameters and the inputs, each input URL replaced by its digest when
 * digests knows it (outputs of other tasks are content-addressed URLs and
 * stand for themselves). */
int rf_dag_cache_key(const char *type, const char *params, const char *inputs,
                     json_t *digests, char hex[RF_SHA256_HEX], rf_err *err);

/* Digest of an external input for cache keys: file:// files and folders
 * are hashed (names and contents, recursively, in name order); other URLs
 * stand for themselves (hex of the URL's hash). */
int rf_dag_input_digest(const char *url, char hex[RF_SHA256_HEX], rf_err *err);

/* The whole expansion at submit time, in an order that respects
 * dependencies (for `submit --dry-run` and tests). Spawned tasks are not
 * included: they do not exist yet. */
typedef struct rf_dag_task {
    size_t step, index;
    size_t after;        /* chain: index of the task it follows + 1; 0 = none */
} rf_dag_task;

int rf_dag_expand(const rf_workflow *wf, rf_dag_task **tasks, size_t *n, rf_err *err);

#endif
