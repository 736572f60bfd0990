/* rf_task_impl: how runtimes (local `run`, Redis-served) build an rf_task.
 * Handlers include rf_task.h only; this header is for rf_task.c and the
 * runtimes that drive handlers. */
#ifndef RF_TASK_IMPL_H
#define RF_TASK_IMPL_H

#include <signal.h>
#include <stdint.h>

#include "engine/rf_task.h"

/* Hooks through which a served task streams to the run; any may be NULL,
 * in which case the local behaviour (files under outdir) applies. */
typedef struct rf_task_hooks {
    void (*metric)(void *ud, const char *name, double value);
    void (*progress)(void *ud, const char *series, int64_t step,
                     const char *const *keys, const double *vals, size_t n);
    void (*log)(void *ud, const char *line);
    int (*state_save)(void *ud, const char *name, const char *path, rf_err *err);
    int (*state_load)(void *ud, const char *name, const char *path, rf_err *err);
} rf_task_hooks;

rf_task *rf_task_new(const rf_worker_def *def, const char *id, int attempt,
                     const char *outdir);
void rf_task_free(rf_task *t);
void rf_task_add_param(rf_task *t, const char *key, const char *value);
void rf_task_add_input(rf_task *t, const char *name, const char *path);
/* The user's name for a local input path (the URL it was fetched from). */
void rf_task_set_input_origin(rf_task *t, const char *path, const char *origin);
/* Refuse, before any handler decodes one, an input artifact whose header
 * declares a payload over max_bytes (config codec.max_artifact): a forged
 * or runaway header fails here with RF_ETOOBIG naming the input, instead
 * of a decoder allocating what it claims. Inputs that are not artifacts
 * (or are folders) pass; a damaged header fails with RF_ECORRUPT. */
int rf_task_check_inputs(rf_task *t, uint64_t max_bytes, rf_err *err);
void rf_task_set_hooks(rf_task *t, const rf_task_hooks *h, void *ud);
/* The handler polls *flag through rf_task_should_stop. */
void rf_task_set_stop_flag(rf_task *t, volatile sig_atomic_t *flag);

size_t rf_task_metric_count(const rf_task *t);
const char *rf_task_metric_name(const rf_task *t, size_t i);
double rf_task_metric_value(const rf_task *t, size_t i);
size_t rf_task_output_count(const rf_task *t);
const char *rf_task_output_name(const rf_task *t, size_t i);
const char *rf_task_output_path(const rf_task *t, size_t i);

/* Write the final metrics as a JSON object (atomically). */
int rf_task_write_metrics_json(const rf_task *t, const char *path, rf_err *err);

/* Moves the task's output and scratch folder to dir (the local mode learns
 * it only after parsing its arguments). */
void rf_task_set_outdir(rf_task *t, const char *dir);
/* The local mode's --out DIR, when outputs are staged elsewhere: state
 * slots go to DIR/.state and live progress to DIR/progress.jsonl, which
 * outlive a failed attempt (default: outdir). */
void rf_task_set_local_dir(rf_task *t, const char *dir);

#endif
