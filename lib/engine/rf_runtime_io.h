/* rf_runtime_io: a served task's files, between the object store and the
 * task's local directory: inputs downloaded before the handler runs,
 * outputs uploaded content-addressed after it, and the task's durable
 * state slot (rf_task_state_save/load) so a re-delivered task resumes.
 *
 * One rf_rtio per worker thread: it keeps the stores it opened. */
#ifndef RF_RUNTIME_IO_H
#define RF_RUNTIME_IO_H

#include "base/rf_config.h"
#include "base/rf_err.h"
#include "engine/rf_task_impl.h"

typedef struct rf_rtio rf_rtio;

/* store_url: where task state lives (and the tier default); tier_urls[i]
 * may be NULL for "store_url/<tier name>" (store_url/hot, /warm, /cold, as
 * rf_config derives unset tiers). Strings are copied; cfg (S3
 * credentials and settings, may be NULL) is borrowed for the rtio's life. */
rf_rtio *rf_rtio_new(const char *store_url, const char *const tier_urls[RF_TIER_COUNT],
                     const rf_config *cfg);
void rf_rtio_free(rf_rtio *io);

/* inputs_json: {"name": "URL" | ["URL", ...]}. Downloads each into dir
 * and registers it with rf_task_add_input in order. A missing input fails
 * with RF_ENOTFOUND naming the input and URL. */
int rf_rtio_fetch_inputs(rf_rtio *io, const char *inputs_json, const char *dir,
                         rf_task *t, rf_err *err);

/* Uploads every registered output to the tier, with the tier's storage
 * class from cfg (none when cfg is NULL), under its content address
 * (artifact files: cas key of the payload digest in their header; other
 * files: cas key of the SHA-256 of their bytes) and returns the outputs
 * as a JSON object name -> URL in *json (malloc'd). */
int rf_rtio_upload_outputs(rf_rtio *io, const rf_task *t, const char *tier, char **json,
                           rf_err *err);

/* The task's state slot: state/<task id>/<name> in the main store. */
int rf_rtio_state_save(rf_rtio *io, const char *task_id, const char *name,
                       const char *path, rf_err *err);
/* 1 loaded, 0 nothing saved yet, -1 error. */
int rf_rtio_state_load(rf_rtio *io, const char *task_id, const char *name,
                       const char *path, rf_err *err);

#endif
