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
 * The rewrite is one atomic put, in the chunk's tier: a crash leaves the old or the new
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

/* A chunk's header: 1 and its base when it is a delta, 0 when not (cold
 * chunks are keyframes), -1. */
static int chunk_base(rf_ckrepo *r, const uint8_t *id, uint8_t base[RF_SHA256_LEN], int *elem,
                      int *tier, rf_err *err)
{
    uint8_t h[RF_CHUNK_HEADER];
    int rc = rf_cktier_header(r, id, h, tier, err);
    if (rc <= 0 || h[5] != RF_CHUNK_DELTA)
        return rc < 0 ? -1 : 0;
    memcpy(base, h + 16, RF_SHA256_LEN);
    *elem = h[6];
    return 1;
}

/* Rewrite chunk id as a keyframe: its raw bytes (checked against the id),
 * encoded without a base, put over the delta. */
static int rewrite_full(rf_ckrepo *r, const uint8_t *id, int elem, int tier, uint64_t *bytes,
                        rf_err *err)
{
    const uint8_t *raw;
    size_t n;
    int depth;
    char key[256];
    rf_cktier_key(r, tier, key, sizeof key, id);
    rf_put_opts po = rf_cktier_opts(r, tier);
    if (rf_ckrepo_block(r, id, &raw, &n, &depth, err))
        return -1;
    rf_buf enc = RF_BUF_INIT;
    int rc = rf_chunk_encode(r->cc, raw, n, elem, NULL, NULL, 0, &enc, err);
    if (!rc)
        rc = rf_store_put_mem(r->store, key, enc.data, enc.len, &po, err);
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
        int elem = 0, tier = 0;
        int d = chunk_base(r, live.ids[i], base, &elem, &tier, err);
        if (d < 0 && err->code == RF_ENOTFOUND)
            continue;   /* missing: verify reports it, nothing to rebase */
        if (d < 0)
            rc = -1;
        else if (d == 1 && !rf_ckidset_has(&live, base)) {
            rc = rewrite_full(r, live.ids[i], elem, tier, &st->rewritten_bytes, err);
            st->rewritten++;
        }
        st->checked++;
    }
    rf_ckrepo_unlock_writer(r);
    free(live.ids);
    return rc ? rf_err_prefix(err, "rebase") : 0;
}
