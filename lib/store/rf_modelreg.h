/* rf_modelreg: a minimal model registry on an object store.
 *
 * Versions of one model's checkpoint and which of them is in production,
 * under a key prefix of any store (file:// or s3://):
 *
 *   PREFIX/versions/v000001     the checkpoint artifact of version 1, ...
 *   PREFIX/production           "1 3 4\n": the production history, the
 *                               last number is the current version
 *   PREFIX/log                  one line per decision (promote, reject,
 *                               rollback) with its reason, newest last
 *
 * promote stores a new version and makes it current; reject records a
 * gated-out candidate and leaves production as it was; rollback makes the
 * previous production version current again. Every change writes whole
 * objects (the store's writes are atomic), the version object before the
 * production pointer, so a crash leaves the old production in place.
 * One writer per registry at a time (the online workflow runs its gate
 * steps one after another); the fuller registry of issue 12 (`ruvflow
 * model promote|rollback|ls` on checkpoint-compact) is meant to back this
 * same interface. */
#ifndef RF_MODELREG_H
#define RF_MODELREG_H

#include <stddef.h>

#include "base/rf_buf.h"
#include "base/rf_err.h"
#include "store/rf_store.h"

#define RF_MODELREG_MAXHIST 4096

typedef struct rf_modelreg {
    rf_store *store;       /* borrowed */
    char prefix[512];      /* without a trailing '/' ("" = the store root) */
} rf_modelreg;

void rf_modelreg_init(rf_modelreg *m, rf_store *s, const char *prefix);

/* Current production version (0 and RF_ENOTFOUND when there is none) and
 * its store key (out may be NULL). */
int rf_modelreg_current(const rf_modelreg *m, int *version, char *key, size_t n,
                        rf_err *err);
/* The production history, oldest first (caller frees *v). */
int rf_modelreg_history(const rf_modelreg *m, int **v, size_t *n, rf_err *err);
/* Store the checkpoint file as a new version and make it current. */
int rf_modelreg_promote(const rf_modelreg *m, const char *ckpt_path, const char *reason,
                        int *version, rf_err *err);
/* Record why a candidate was not promoted; production is untouched. */
int rf_modelreg_reject(const rf_modelreg *m, const char *reason, rf_err *err);
/* Make the previous production version current; RF_ESTATE when there is
 * none. *version receives the now-current version. */
int rf_modelreg_rollback(const rf_modelreg *m, const char *reason, int *version,
                         rf_err *err);
/* The decision log (caller frees with rf_buf_free). */
int rf_modelreg_log(const rf_modelreg *m, rf_buf *out, rf_err *err);
/* Key of an object kept beside the versions: PREFIX/LEAF (the online
 * loop keeps its holdout, replay buffer and drift state there). */
void rf_modelreg_side_key(const rf_modelreg *m, const char *leaf, char *key, size_t n);
/* Key of version v: PREFIX/versions/v000001. */
void rf_modelreg_key(const rf_modelreg *m, int v, char *key, size_t n);

#endif
