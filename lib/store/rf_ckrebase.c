/* rf_ckrebase: before versions are dropped, cut the delta chains of the
 * versions that stay loose from the chunks only the dropped ones use.
 *
 * A kept version's block may be stored as a delta against a block of an
 * older version; gc keeps such a base alive as long as any delta builds on
 * it, so dropping the older version would free little. Here every chunk
 * referenced by a kept version whose base is not itself referenced by a
 * kept version is rewritten as a keyframe (shuffle + zstd, no base), under
 * the same name: its id is the SHA-256 of its raw bytes, which do not
 * change, so versions, caches and concurrent writers see the same chunk.
 * The rewrite is one atomic put: a crash leaves the old or the new
 * encoding, both readable. Then the dropped versions' chunks are garbage. */
#include "store/rf_ckrepo_impl.h"

#include <stdlib.h>
#include <string.h>

static int in_list(const json_t *ids, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
        if (!strcmp(json_string_value(v), id))
            return 1;
    return 0;
}

/* The chunks the versions not in drop reference directly, sorted. */
static int kept_chunks(rf_ckrepo *r, const json_t *drop, rf_ckidset *live, rf_err *err)
{
    json_t *all;
    if (rf_ckrepo_versions(r, &all, err))
        return -1;
    size_t i;
    json_t *v;
    int rc = 0;
    json_array_foreach(all, i, v) {
        if (!in_list(drop, json_string_value(v)) &&
            (rc = rf_ckidset_add_version(r, json_string_value(v), live, err)))
            break;
    }
    json_decref(all);
    rf_ckidset_sort(live);
    return rc;
}

static int head_cb(void *ud, const void *p, size_t n)
{
    rf_buf_add(ud, p, n);
    return 0;
}

/* A chunk's header: 1 and its base when it is a delta, 0 when not, -1. */
static int chunk_base(rf_ckrepo *r, const uint8_t *id, uint8_t base[RF_SHA256_LEN], int *elem,
                      rf_err *err)
{
    char key[256];
    rf_ckrepo_chunk_key(r, key, sizeof key, id);
    rf_buf b = RF_BUF_INIT;
    if (rf_store_get_stream(r->store, key, 0, RF_CHUNK_HEADER, head_cb, &b, err)) {
        rf_buf_free(&b);
        return rf_err_prefix(err, "chunk %s", key);
    }
    const uint8_t *h = (const uint8_t *)b.data;
    int rc = b.len == RF_CHUNK_HEADER && !memcmp(h, RF_CHUNK_MAGIC, 4) ? 0 : -1;
    if (rc)
        rf_errf(err, RF_ECORRUPT, "chunk %s: bad header", key);
    else if (h[5] == RF_CHUNK_DELTA) {
        memcpy(base, h + 16, RF_SHA256_LEN);
        *elem = h[6];
        rc = 1;
    }
    rf_buf_free(&b);
    return rc;
}

/* Rewrite chunk id as a keyframe: its raw bytes (checked against the id),
 * encoded without a base, put over the delta. */
static int rewrite_full(rf_ckrepo *r, const uint8_t *id, int elem, uint64_t *bytes, rf_err *err)
{
    const uint8_t *raw;
    size_t n;
    int depth;
    char key[256];
    rf_ckrepo_chunk_key(r, key, sizeof key, id);
    if (rf_ckrepo_block(r, id, &raw, &n, &depth, err))
        return -1;
    rf_buf enc = RF_BUF_INIT;
    int rc = rf_chunk_encode(r->cc, raw, n, elem, NULL, NULL, 0, &enc, err);
    if (!rc)
        rc = rf_store_put_mem(r->store, key, enc.data, enc.len, NULL, err);
    if (!rc) {
        *bytes += enc.len;
        rf_ckcache_set_depth(r, id, 0);
    }
    rf_buf_free(&enc);
    return rc ? rf_err_prefix(err, "rewriting chunk %s as a keyframe", key) : 0;
}

int rf_ckrepo_rebase(rf_ckrepo *r, const json_t *drop, rf_ckrebase_stats *st, rf_err *err)
{
    memset(st, 0, sizeof *st);
    rf_ckidset live = {0};
    int rc = rf_ckrepo_lock_writer(r, err);   /* gc waits: chunks are being rewritten */
    if (!rc)
        rc = kept_chunks(r, drop, &live, err);
    for (size_t i = 0; !rc && i < live.len; i++) {
        uint8_t base[RF_SHA256_LEN];
        int elem = 0;
        int d = chunk_base(r, live.ids[i], base, &elem, err);
        if (d < 0 && err->code == RF_ENOTFOUND)
            continue;   /* missing: verify reports it, nothing to rebase */
        if (d < 0)
            rc = -1;
        else if (d == 1 && !rf_ckidset_has(&live, base)) {
            rc = rewrite_full(r, live.ids[i], elem, &st->rewritten_bytes, err);
            st->rewritten++;
        }
        st->checked++;
    }
    rf_ckrepo_unlock_writer(r);
    free(live.ids);
    return rc ? rf_err_prefix(err, "rebase") : 0;
}
