/* rf_cktier: where the repository's chunks live, and reading them there.
 *
 * A chunk is in one of the repository's tiers, each a folder of its store
 * written with that tier's storage class (rf_ckrepo_opts.tier_class; on
 * S3 by default STANDARD, STANDARD_IA, GLACIER; on file:// only folders):
 *   hot   chunks/<2 hex>/<64 hex>
 *   warm  warm/chunks/<2 hex>/<64 hex>
 *   cold  cold/chunks/<2 hex>/<64 hex>, or inside a pack cold/packs/<id>
 *         whose index packs/<id>.json (hot: readable without a restore)
 *         gives each member's offset and length.
 * A read tries hot, warm, cold, then the packs: hot reads cost what they
 * did. An archived object (GLACIER, DEEP_ARCHIVE) is read after a restore:
 * RestoreObject, then HEAD every restore_poll_ms until x-amz-restore says
 * ongoing-request="false", up to restore_wait_s, then GET.
 * Moving them (rf_ckrepo_place) is in rf_ckplace.c. */
#include "store/rf_ckrepo_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const tier_dir[RF_CKTIER_N] = {"", "warm/", "cold/"};

void rf_cktier_key(const rf_ckrepo *r, int tier, char *buf, size_t n, const uint8_t *id)
{
    char hex[RF_SHA256_HEX];
    rf_hex(hex, id, RF_SHA256_LEN);
    rf_ckrepo_key(r, buf, n, "%schunks/%.2s/%s", tier_dir[tier], hex, hex);
}

rf_put_opts rf_cktier_opts(const rf_ckrepo *r, int tier)
{
    rf_put_opts o = {r->o.tier_class[tier], NULL};
    return o;
}

/* ---- restore, then read -------------------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int rf_cktier_wait_readable(rf_ckrepo *r, const char *key, rf_err *err)
{
    rf_store_meta m;
    time_t deadline = time(NULL) + r->o.restore_wait_s;
    int asked = 0;
    for (;;) {
        if (rf_store_head(r->store, key, &m, err))
            return -1;
        if (m.restore_state == 0 || m.restore_state == 3)
            return 0;   /* readable, or its restored copy is */
        if (m.restore_state == 1 && !asked) {
            rf_err e = {0};
            /* ECONFLICT: a restore is already running (someone else's) */
            if (rf_store_restore(r->store, key, RF_CKTIER_RESTORE_DAYS, &e) &&
                e.code != RF_ECONFLICT) {
                *err = e;
                return rf_err_prefix(err, "%s: archived (%s); requesting a restore", key,
                                     m.storage_class);
            }
            asked = 1;
        }
        if (time(NULL) >= deadline)
            return rf_errf(err, RF_ESTATE, "%s: archived (%s); restore %s, not done after "
                           "%ld s (--restore-wait): retry later", key, m.storage_class,
                           asked ? "requested" : "in progress", (long)r->o.restore_wait_s);
        sleep_ms(r->o.restore_poll_ms);
    }
}

/* Read key (whole, or len bytes at off) into out once it is readable. */
static int archived_get(rf_ckrepo *r, const char *key, uint64_t off, uint64_t len,
                        rf_buf *out, rf_err *err)
{
    if (rf_cktier_wait_readable(r, key, err))
        return -1;
    if (!len)
        return rf_store_get_mem(r->store, key, out, err);
    return rf_store_get_stream(r->store, key, off, len, rf_ckbuf_cb, out, err);
}

int rf_ckbuf_cb(void *ud, const void *p, size_t n)
{
    rf_buf_add(ud, p, n);
    return 0;
}

/* ---- packs --------------------------------------------------------------- */

typedef struct pack_load {
    rf_ckrepo *r;
    rf_err *err;
    int rc;
} pack_load;

static int pack_cb(void *ud, const char *key, const rf_store_meta *m)
{
    pack_load *x = ud;
    (void)m;
    size_t n = strlen(key);
    if (n < 5 || strcmp(key + n - 5, ".json"))
        return 0;
    json_t *idx;
    int got = rf_ckrepo_json_get(x->r, key, &idx, x->err);
    if (got < 0) {
        x->rc = -1;
        return 1;
    }
    if (got)
        json_object_set_new(x->r->packs, key, idx);
    return 0;
}

int rf_cktier_packs(rf_ckrepo *r, rf_err *err)
{
    if (r->packs)
        return 0;
    r->packs = json_object();
    char pfx[256];
    rf_ckrepo_key(r, pfx, sizeof pfx, "packs/");
    pack_load x = {r, err, 0};
    if (rf_store_list(r->store, pfx, 1, pack_cb, &x, err) && err->code != RF_ENOTFOUND)
        x.rc = -1;
    if (x.rc) {
        json_decref(r->packs);
        r->packs = NULL;
        return -1;
    }
    return 0;
}

void rf_cktier_packs_forget(rf_ckrepo *r)
{
    json_decref(r->packs);
    r->packs = NULL;
}

int rf_cktier_in_pack(rf_ckrepo *r, const uint8_t *id, const char **pack, uint64_t *off,
                      uint64_t *len, rf_err *err)
{
    if (rf_cktier_packs(r, err))
        return -1;
    char hex[RF_SHA256_HEX];
    rf_hex(hex, id, RF_SHA256_LEN);
    const char *k;
    json_t *idx;
    json_object_foreach(r->packs, k, idx) {
        json_t *at = json_object_get(json_object_get(idx, "chunks"), hex);
        const char *p = json_string_value(json_object_get(idx, "pack"));
        if (at && p) {
            *pack = p;
            *off = (uint64_t)json_integer_value(json_array_get(at, 0));
            *len = (uint64_t)json_integer_value(json_array_get(at, 1));
            return 1;
        }
    }
    return 0;
}

/* ---- reading a chunk wherever it is -------------------------------------- */

int rf_cktier_get(rf_ckrepo *r, const uint8_t *id, rf_buf *out, int *tier, rf_err *err)
{
    char key[256];
    for (int t = 0; t < RF_CKTIER_N; t++) {
        rf_cktier_key(r, t, key, sizeof key, id);
        int rc = t == RF_CKTIER_COLD ? archived_get(r, key, 0, 0, out, err)
                                     : rf_store_get_mem(r->store, key, out, err);
        if (rc == 0) {
            *tier = t;
            return 0;
        }
        if (err->code != RF_ENOTFOUND)
            return -1;
    }
    const char *pack;
    uint64_t off, len;
    int in = rf_cktier_in_pack(r, id, &pack, &off, &len, err);
    if (in < 0)
        return -1;
    rf_cktier_key(r, RF_CKTIER_HOT, key, sizeof key, id);
    if (!in)
        return rf_errf(err, RF_ENOTFOUND, "%s: no such chunk (in no tier and no pack)", key);
    *tier = RF_CKTIER_COLD;
    size_t mark = out->len;
    if (archived_get(r, pack, off, len, out, err))
        return rf_err_prefix(err, "pack %s", pack);
    if (out->len - mark != len)
        return rf_errf(err, RF_ECORRUPT, "pack %s: %zu of %llu bytes at %llu", pack,
                       out->len - mark, (unsigned long long)len, (unsigned long long)off);
    return 0;
}

static int any_cb(void *ud, const char *key, const rf_store_meta *m)
{
    (void)key;
    (void)m;
    *(int *)ud = 1;
    return 1;   /* one is enough */
}

/* 1 if anything was ever placed out of hot (a placement record exists):
 * else a chunk missing from hot is missing, with no more requests. */
static int tiered(rf_ckrepo *r, rf_err *err)
{
    if (r->tiered >= 0)
        return r->tiered;
    char pfx[256];
    int any = 0;
    rf_ckrepo_key(r, pfx, sizeof pfx, "placement/");
    if (rf_store_list(r->store, pfx, 1, any_cb, &any, err) && err->code != RF_ENOTFOUND &&
        err->code != RF_ECANCEL)
        return -1;
    rf_err_clear(err);
    return r->tiered = any;
}

int rf_cktier_header(rf_ckrepo *r, const uint8_t *id, uint8_t h[RF_CHUNK_HEADER], int *tier,
                     rf_err *err)
{
    char key[256];
    /* cold chunks are keyframes (rf_ckplace.c): no base to read */
    for (int t = 0; t < RF_CKTIER_COLD; t++) {
        rf_buf b = RF_BUF_INIT;
        rf_cktier_key(r, t, key, sizeof key, id);
        int rc = rf_store_get_stream(r->store, key, 0, RF_CHUNK_HEADER, rf_ckbuf_cb, &b, err);
        if (rc == 0 && (b.len != RF_CHUNK_HEADER || memcmp(b.data, RF_CHUNK_MAGIC, 4)))
            rc = rf_errf(err, RF_ECORRUPT, "chunk %s: bad header", key);
        if (rc == 0)
            memcpy(h, b.data, RF_CHUNK_HEADER);
        rf_buf_free(&b);
        if (rc == 0) {
            *tier = t;
            return 1;
        }
        if (err->code != RF_ENOTFOUND)
            return -1;
        if (t == RF_CKTIER_HOT) {
            int any = tiered(r, err);
            if (any <= 0) {
                rf_cktier_key(r, RF_CKTIER_HOT, key, sizeof key, id);
                return any < 0 ? -1 : rf_errf(err, RF_ENOTFOUND, "%s: no such chunk", key);
            }
        }
    }
    rf_store_meta m;
    rf_cktier_key(r, RF_CKTIER_COLD, key, sizeof key, id);
    if (rf_store_head(r->store, key, &m, err) == 0) {
        *tier = RF_CKTIER_COLD;
        return 0;
    }
    if (err->code != RF_ENOTFOUND)
        return -1;
    const char *pack;
    uint64_t off, len;
    int in = rf_cktier_in_pack(r, id, &pack, &off, &len, err);
    if (in <= 0) {
        rf_cktier_key(r, RF_CKTIER_HOT, key, sizeof key, id);
        return in < 0 ? -1 : rf_errf(err, RF_ENOTFOUND, "%s: no such chunk (in no tier and "
                                     "no pack)", key);
    }
    *tier = RF_CKTIER_COLD;
    return 0;
}
