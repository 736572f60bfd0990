/* rf_ckrepo: a checkpoint repository in an object store: compacted
 * versions, their graph, branches, tags and registry channels.
 *
 * Layout under the repository URL (docs/checkpoints.md):
 *   chunks/<2 hex>/<64 hex>   rf_chunk objects, named by the SHA-256 of
 *                             their raw bytes: stored once across runs
 *   versions/<64 hex>.json    a version: parents, message, metadata, the
 *                             artifact's SHA-256s, the skeleton chunk (the
 *                             payload with its tensors taken out) and, per
 *                             tensor, its path, dtype, shape and block ids.
 *                             The name is the SHA-256 of the JSON.
 *   refs/heads/<name>         a branch: one version id
 *   refs/tags/<name>          a tag
 *   channels/<name>.json      a registry channel: current version + history
 *   locks/                    writer and gc locks (rf_ckrepo_gc)
 *
 * Writes go chunks, then the version, then the ref: a crash at any point
 * leaves every earlier version readable; what it left behind is unreferenced
 * and collected by gc after the grace period. Reads check every chunk
 * against its id and the rebuilt artifact against the recorded SHA-256. */
#ifndef RF_CKREPO_H
#define RF_CKREPO_H

#include <jansson.h>

#include "base/rf_config.h"
#include "base/rf_err.h"
#include "base/rf_hash.h"
#include "store/rf_chunk.h"
#include "store/rf_ckretain.h"
#include "store/rf_store.h"

typedef struct rf_ckrepo rf_ckrepo;

typedef struct rf_ckrepo_opts {
    int keyframe_every;   /* N: at most N-1 deltas on a read; default 8 */
    size_t block_bytes;   /* default RF_CHUNK_BLOCK_BYTES */
    int level;            /* zstd level, default RF_CHUNK_LEVEL */
    size_t cache_bytes;   /* raw block cache, default 32 MiB; raised to two
                             versions' payload when they are larger */
    /* storage class of each tier's chunks (hot, warm, cold); NULL: on s3://
     * STANDARD, STANDARD_IA, GLACIER; on file:// none (tiers are folders) */
    const char *tier_class[3];
    long restore_wait_s;  /* how long a cold read waits for its restore (12 h) */
    long restore_poll_ms; /* HEAD interval while it waits (60 s) */
} rf_ckrepo_opts;

void rf_ckrepo_opts_default(rf_ckrepo_opts *o);

/* Open the repository at url (file:// or s3://; created on first write).
 * o may be NULL for defaults. */
int rf_ckrepo_open(const char *url, const rf_config *cfg, const rf_ckrepo_opts *o,
                   rf_ckrepo **out, rf_err *err);
void rf_ckrepo_close(rf_ckrepo *r);
/* The repository URL: explicit when not NULL, else $RUVFLOW_CKPT_REPO,
 * else <cfg->store>/ckpt. */
void rf_ckrepo_url(const rf_config *cfg, const char *explicit_url, char *buf, size_t n);

typedef struct rf_ckpt_commit {
    const char *parents[2];   /* version ids, NULL when absent */
    const char *message;
    json_t *meta;             /* borrowed; run, step, epoch, metrics... or NULL */
    const char *branch;       /* branch to advance, or NULL */
} rf_ckpt_commit;

typedef struct rf_ckpt_stats {
    uint64_t raw_bytes;       /* payload bytes */
    uint64_t file_bytes;      /* the artifact file */
    uint64_t stored_bytes;    /* bytes of new chunks written */
    size_t new_chunks, reused_chunks, delta_chunks;
    int keyframe;             /* 1 when no new chunk is a delta */
    char note[512];           /* e.g. why a tensor was stored as a keyframe */
} rf_ckpt_stats;

/* Compact the artifact at path into a new version; id receives its id. */
int rf_ckrepo_commit_file(rf_ckrepo *r, const char *path, const rf_ckpt_commit *c,
                          char id[RF_SHA256_HEX], rf_ckpt_stats *st, rf_err *err);

/* Rebuild version id into the artifact file out_path (atomically) and check
 * its SHA-256s; out_path NULL only verifies. A damaged chunk is named. */
int rf_ckrepo_checkout(rf_ckrepo *r, const char *id, const char *out_path, rf_err *err);

/* REF: a full id, a unique id prefix (>= 6 hex), a branch, "tag:NAME" or a
 * tag, "channel:NAME"; REF~N walks N first parents back. */
int rf_ckrepo_resolve(rf_ckrepo *r, const char *ref, char id[RF_SHA256_HEX], rf_err *err);
/* The version's JSON (caller's, json_decref); checked against its id. */
int rf_ckrepo_version(rf_ckrepo *r, const char *id, json_t **out, rf_err *err);

/* kind "heads" or "tags". Get: 1 found, 0 missing, -1 error. */
int rf_ckrepo_ref_get(rf_ckrepo *r, const char *kind, const char *name,
                      char id[RF_SHA256_HEX], rf_err *err);
int rf_ckrepo_ref_set(rf_ckrepo *r, const char *kind, const char *name, const char *id,
                      rf_err *err);
int rf_ckrepo_ref_delete(rf_ckrepo *r, const char *kind, const char *name, rf_err *err);
/* Names of refs of a kind: a JSON object name -> id (caller's). */
int rf_ckrepo_refs(rf_ckrepo *r, const char *kind, json_t **out, rf_err *err);
/* Every version id in the repository: a JSON array (caller's). */
int rf_ckrepo_versions(rf_ckrepo *r, json_t **out, rf_err *err);

/* Registry channels. Promote points the channel at id after checking the
 * gate (NULL or "metric>=0.9", ops >= > <= < ==, against meta.metrics or
 * meta). Rollback points it back at the version before the current one in
 * its history. Every change is appended to the channel's history. */
int rf_ckrepo_promote(rf_ckrepo *r, const char *channel, const char *id, const char *gate,
                      rf_err *err);
int rf_ckrepo_rollback(rf_ckrepo *r, const char *channel, char id[RF_SHA256_HEX],
                       rf_err *err);
/* The channel document (caller's); 0 missing (*out NULL), 1 found, -1. */
int rf_ckrepo_channel(rf_ckrepo *r, const char *channel, json_t **out, rf_err *err);
int rf_ckrepo_channels(rf_ckrepo *r, json_t **out, rf_err *err);
/* Check a gate against a version's metadata: 0 passes, -1 (RF_EINVAL) with
 * the reason. */
int rf_ckpt_gate_check(const json_t *version, const char *gate, rf_err *err);

typedef struct rf_ckgc_stats {
    size_t versions, live_chunks, deleted_chunks, young_chunks, deleted_packs;
    uint64_t deleted_bytes;
} rf_ckgc_stats;

/* Mark every chunk the versions reference (and their delta bases), then
 * delete the unmarked chunks older than grace_s seconds. Takes the gc lock;
 * fails with RF_ECONFLICT while a writer holds a fresh lock. dry_run only
 * counts. */
int rf_ckrepo_gc(rf_ckrepo *r, long grace_s, int dry_run, rf_ckgc_stats *st, rf_err *err);

typedef struct rf_ckrebase_stats {
    size_t checked, rewritten;     /* chunks of kept versions; rewritten as keyframes */
    uint64_t rewritten_bytes;      /* their new encodings */
} rf_ckrebase_stats;

/* Before the versions in drop (a JSON array of ids) are deleted: rewrite as
 * a keyframe, under the same id, every chunk of the other versions stored
 * as a delta against a chunk no other version references, so that the
 * dropped versions' chunks become garbage (rf_ckrebase.c). */
int rf_ckrepo_rebase(rf_ckrepo *r, const json_t *drop, rf_ckrebase_stats *st, rf_err *err);

typedef struct rf_ckplace_stats {
    size_t chunks[3];              /* chunks now placed hot, warm, cold */
    size_t moved[3];               /* moved into hot, warm, cold (loose) */
    size_t packed, packs;          /* small chunks packed for cold; packs written */
    size_t missing;                /* referenced but stored nowhere (verify names them) */
} rf_ckplace_stats;

/* Apply a placement: targets maps version ids to "hot", "warm" or "cold"
 * (other versions keep their recorded tier). Each chunk moves to the
 * hottest tier of the versions using it (rf_ckplace.c). */
int rf_ckrepo_place(rf_ckrepo *r, const json_t *targets, rf_ckplace_stats *st, rf_err *err);
/* 1 when the warm tier's class is an IA one (128 KiB / 30-day minimums). */
int rf_ckrepo_warm_is_ia(const rf_ckrepo *r);
/* A version's recorded tier (0 hot, 1 warm, 2 cold; hot when none) and the
 * time it got there: 1 recorded, 0 not, -1. */
int rf_ckrepo_placement(rf_ckrepo *r, const char *id, int *tier, int64_t *since, rf_err *err);

typedef struct rf_ckretain_row {
    char id[RF_SHA256_HEX];
    int64_t epoch;
    double metric;                 /* NaN when the version has none */
    int place;                     /* enum rf_ckplace */
} rf_ckretain_row;

typedef struct rf_ckretain_result {
    rf_ckretain_row *rows;         /* the branch's history, oldest first */
    size_t n, dropped;
    rf_ckrebase_stats rebase;
    rf_ckplace_stats place;
} rf_ckretain_result;

/* Retention of the branch (or REF) by policy p and metric (rf_ckapply.c):
 * the plan in res; with do_apply, kept deltas rebased, the versions planned
 * "delete" dropped, the rest moved to their tiers. p->warm_is_ia is taken
 * from the repository. Free res with rf_ckretain_result_free. */
int rf_ckrepo_retain(rf_ckrepo *r, const char *ref, const rf_ckpolicy *p, const char *metric,
                     int do_apply, rf_ckretain_result *res, rf_err *err);
void rf_ckretain_result_free(rf_ckretain_result *res);

/* A dropped version's first parent, from its tombstone: 1 found, 2 it had
 * none, 0 no tombstone, -1. */
int rf_ckrepo_pruned_parent(rf_ckrepo *r, const char *id, char parent[RF_SHA256_HEX],
                            rf_err *err);

/* Delete a version (not its chunks: gc does that), leaving a tombstone
 * (pruned/<id>.json: its parents) so that history walks go past it.
 * Refuses while a branch, tag or channel points at it. */
int rf_ckrepo_drop(rf_ckrepo *r, const char *id, rf_err *err);

#endif
