/* rf_ckpt_compact: the checkpoint-compact worker. Compacts a run's
 * checkpoints (input `checkpoints`, in order) into versions of a branch of
 * the checkpoint repository, each the child of the one before, with the
 * checkpoint's epoch, step and last validation metrics as metadata; then,
 * with `promote: CHANNEL`, promotes the best one (highest val_acc, else
 * lowest val_loss) to that channel, behind an optional `require` gate.
 * Re-running it (after kill -9) skips the checkpoints already on the
 * branch. Output `versions` (versions.json); metrics versions, stored_bytes,
 * input_bytes, ratio, promoted. */
#ifndef RF_CKPT_COMPACT_H
#define RF_CKPT_COMPACT_H

#include "base/rf_err.h"
#include "engine/rf_task.h"

extern const char rf_ckpt_compact_help[];
int rf_ckpt_compact_handler(rf_task *t, rf_err *err);

#endif
