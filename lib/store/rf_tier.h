/* rf_tier: hot, warm and cold as named locations of the object store.
 *
 * Each tier is a store URL plus an optional S3 storage class (rf_config's
 * tiers; by default three prefixes of the default store, no class). An
 * artifact lives under the same key in whichever tier holds it:
 * <tier url>/<key>.
 *
 * Semantics follow AWS's where they apply (docs/storage.md):
 *  - placing writes with the tier's storage class;
 *  - moving is copy (server-side within one S3 bucket), verify (size, and
 *    etag when both are content MD5s), then delete the source: a failure at any step leaves the source
 *    intact. Two tiers with the same URL differ only by class: the move is
 *    an in-place copy with the new class, nothing is deleted;
 *  - an archived object (GLACIER, DEEP_ARCHIVE) cannot be read or copied:
 *    reading it starts a restore and fails with RF_ESTATE ("restore
 *    required" / "restore in progress") until the restored copy is there;
 *  - automatic transitions (rf_tier_transition) only go colder; bringing an
 *    object back to a warmer tier is an explicit rf_tier_move. */
#ifndef RF_TIER_H
#define RF_TIER_H

#include "base/rf_config.h"
#include "store/rf_store.h"

/* Days a restored copy of an archived object stays readable. */
#define RF_TIER_RESTORE_DAYS 1

typedef struct rf_tiers {
    rf_store *store[RF_TIER_COUNT];      /* one store per tier, at its URL */
    char *url[RF_TIER_COUNT];            /* no trailing '/' */
    char *storage_class[RF_TIER_COUNT];  /* NULL = none sent */
    /* S3 tiers: the tier's whole bucket (one store shared by the tiers in
     * that bucket), so that moves within a bucket are server-side copies;
     * NULL for other backends. */
    rf_store *bucket[RF_TIER_COUNT];
    char *bucket_prefix[RF_TIER_COUNT];  /* tier's key prefix in it ("hot/") */
} rf_tiers;

/* Open the three tiers of cfg. rf_tiers_close frees everything. */
int rf_tiers_open(rf_tiers *t, const rf_config *cfg, rf_err *err);
void rf_tiers_close(rf_tiers *t);

/* Which tier holds the object URL: *tier and *key (malloc'd). The longest
 * matching tier URL wins. RF_EINVAL when the URL is in no tier. */
int rf_tiers_locate(const rf_tiers *t, const char *url, int *tier, char **key, rf_err *err);

/* Write an artifact into a tier, with that tier's storage class. */
int rf_tier_put_file(rf_tiers *t, int tier, const char *key, const char *path, rf_err *err);
int rf_tier_put_mem(rf_tiers *t, int tier, const char *key, const void *p, size_t n,
                    rf_err *err);

/* The hottest tier holding key: 1 found (*tier, *m filled), 0 in none, -1. */
int rf_tier_find(rf_tiers *t, const char *key, int *tier, rf_store_meta *m, rf_err *err);

/* 0 if the object can be read now. An archived object gets a restore
 * started and RF_ESTATE "restore required"; one being restored gets
 * RF_ESTATE "restore in progress". m may be NULL. */
int rf_tier_readable(rf_tiers *t, int tier, const char *key, rf_store_meta *m, rf_err *err);

/* Reads that check readability first (rf_tier_readable's errors). */
int rf_tier_get_mem(rf_tiers *t, int tier, const char *key, rf_buf *out, rf_err *err);
int rf_tier_get_file(rf_tiers *t, int tier, const char *key, const char *path, rf_err *err);

/* Move key from one tier to another, in either direction (an explicit
 * request); never loses the object. Moving to the tier it is in is a no-op
 * once the object is known to exist. */
int rf_tier_move(rf_tiers *t, const char *key, int from, int to, rf_err *err);

/* An automatic (policy) transition: as rf_tier_move, but only towards
 * colder tiers; RF_EINVAL otherwise. */
int rf_tier_transition(rf_tiers *t, const char *key, int from, int to, rf_err *err);

#endif
