/* rf_ckrepo_impl: what rf_ckrepo.c, rf_ckpack.c and rf_ckreg.c share. */
#ifndef RF_CKREPO_IMPL_H
#define RF_CKREPO_IMPL_H

#include "store/rf_ckrepo.h"

typedef struct rf_ckcache_ent {
    uint8_t id[RF_SHA256_LEN];
    uint8_t *raw;
    size_t len, cap;                /* cap: raw's allocation, >= len */
    int depth;
    int checked;                    /* raw's SHA-256 was compared with id */
    struct rf_ckcache_ent *next;    /* bucket chain */
    struct rf_ckcache_ent *older;   /* FIFO, oldest evicted first */
} rf_ckcache_ent;

#define RF_CKCACHE_BUCKETS 4096
#define RF_CKCACHE_SPARES 8

struct rf_ckrepo {
    rf_store *store;
    char *prefix;                    /* key prefix inside store, "" or "x/" */
    rf_ckrepo_opts o;
    rf_chunk_ctx *cc;
    rf_ckcache_ent *bucket[RF_CKCACHE_BUCKETS];
    rf_ckcache_ent *newest, *oldest;
    size_t cache_used;
    size_t cache_cap;                /* o.cache_bytes, raised by reserve */
    struct { uint8_t *p; size_t cap; } spare[RF_CKCACHE_SPARES];
                                     /* evicted blocks' buffers, reused */
    rf_buf io;                       /* chunk read buffer, reused */
    json_t *packs;                   /* cold pack indexes by key, loaded on a miss */
    int tiered;                      /* -1 unknown, 1 chunks may be out of hot */
    int trust;                       /* decode without per-chunk hashes, the
                                        caller checks the payload (checkout) */
    char lock_key[512];              /* the writer lock held, or "" */
};

/* "<prefix><rest>" into buf. */
void rf_ckrepo_key(const rf_ckrepo *r, char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void rf_ckrepo_chunk_key(const rf_ckrepo *r, char *buf, size_t n, const uint8_t *id);

/* A block's raw bytes by id (cache, else the store, recursively through
 * delta bases). *raw is borrowed from the cache: valid until the next call
 * that adds to it. Checked against its id unless r->trust is set. */
int rf_ckrepo_block(rf_ckrepo *r, const uint8_t id[RF_SHA256_LEN], const uint8_t **raw,
                    size_t *len, int *depth, rf_err *err);
/* 1 if the chunk is stored (cache or store), 0 if not, -1. */
int rf_ckrepo_has_chunk(rf_ckrepo *r, const uint8_t id[RF_SHA256_LEN], int *depth,
                        rf_err *err);
void rf_ckcache_put(rf_ckrepo *r, const uint8_t id[RF_SHA256_LEN], const void *raw,
                    size_t len, int depth);
/* A cached block's depth after its chunk was re-encoded (no-op if absent). */
void rf_ckcache_set_depth(rf_ckrepo *r, const uint8_t id[RF_SHA256_LEN], int depth);
/* Let the cache hold at least bytes (never lowers it): a read needs the
 * blocks of its version and of its parent, the bases of its deltas. */
void rf_ckcache_reserve(rf_ckrepo *r, uint64_t bytes);
/* Drop every cached block not checked against its id, so that the next
 * reads hash them (to name a damaged chunk after a payload mismatch). */
void rf_ckcache_drop_unchecked(rf_ckrepo *r);

/* Writer lock: taken before the first chunk, released after the ref. */
int rf_ckrepo_lock_writer(rf_ckrepo *r, rf_err *err);
void rf_ckrepo_unlock_writer(rf_ckrepo *r);

/* Listing a folder of the repository into a JSON value: fn sees each key
 * with skip = the length of the folder's full prefix. */
typedef struct rf_cklist {
    rf_ckrepo *r;
    const char *kind;
    json_t *out;
    size_t skip;
    rf_err *err;
} rf_cklist;
/* x->r, kind, out, err set by the caller; a missing folder lists nothing.
 * On failure x->out is released. */
int rf_ckrepo_list(rf_cklist *x, const char *folder, rf_list_fn fn, rf_err *err);

/* Load / store a small JSON object under a key. get: 1, 0 missing, -1. */
int rf_ckrepo_json_get(rf_ckrepo *r, const char *key, json_t **out, rf_err *err);
int rf_ckrepo_json_put(rf_ckrepo *r, const char *key, const json_t *o, rf_err *err);

/* ---- tiers (rf_cktier.c) ---- */
enum { RF_CKTIER_HOT = 0, RF_CKTIER_WARM, RF_CKTIER_COLD, RF_CKTIER_N };
#define RF_CKTIER_RESTORE_DAYS 1
/* The key of chunk id in a tier (not for packed chunks). */
void rf_cktier_key(const rf_ckrepo *r, int tier, char *buf, size_t n, const uint8_t *id);
/* Put options of a tier: its storage class. */
rf_put_opts rf_cktier_opts(const rf_ckrepo *r, int tier);
/* A chunk's stored bytes appended to out, from whichever tier holds it
 * (hot first), restoring an archived object first; *tier: where. */
int rf_cktier_get(rf_ckrepo *r, const uint8_t *id, rf_buf *out, int *tier, rf_err *err);
/* A chunk's 48-byte header: 1 read (hot or warm), 0 the chunk is cold (a
 * keyframe: no header needed, none read), -1 (RF_ENOTFOUND: nowhere). */
int rf_cktier_header(rf_ckrepo *r, const uint8_t *id, uint8_t h[RF_CHUNK_HEADER], int *tier,
                     rf_err *err);
/* Wait until key is readable: RestoreObject when archived, then HEAD every
 * restore_poll_ms until restored; RF_ESTATE after restore_wait_s. */
int rf_cktier_wait_readable(rf_ckrepo *r, const char *key, rf_err *err);
/* Pack indexes (r->packs) loaded once; in_pack: 1 and where, 0, -1. */
int rf_cktier_packs(rf_ckrepo *r, rf_err *err);
void rf_cktier_packs_forget(rf_ckrepo *r);
int rf_cktier_in_pack(rf_ckrepo *r, const uint8_t *id, const char **pack, uint64_t *off,
                      uint64_t *len, rf_err *err);
/* rf_read_fn appending to an rf_buf. */
int rf_ckbuf_cb(void *ud, const void *p, size_t n);

/* A set of chunk ids (rf_ckgc.c): add, then sort, then look up. */
typedef struct rf_ckidset {
    uint8_t (*ids)[RF_SHA256_LEN];
    size_t len, cap;
} rf_ckidset;
void rf_ckidset_add(rf_ckidset *s, const uint8_t *id);
void rf_ckidset_sort(rf_ckidset *s);
int rf_ckidset_has(const rf_ckidset *s, const uint8_t *id);   /* after sort */
/* Add the chunks a version references directly (skeleton and blocks). */
int rf_ckidset_add_version(rf_ckrepo *r, const char *vid, rf_ckidset *s, rf_err *err);

#endif
