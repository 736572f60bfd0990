/* rf_ckplace: tier placement applied: the versions' chunks moved to the
 * tiers the retention plan chose (rf_ckretain.c), in the folders and with
 * the storage classes of rf_cktier.c.
 *
 * A chunk goes to the hottest tier of the versions that use it, and a delta
 * base at least as hot as the delta built on it, so that reading a warm
 * version never waits for an archive restore. Then:
 *  - warm with an IA class (STANDARD_IA, ONEZONE_IA): a chunk under
 *    128 KiB stays hot (IA bills it as 128 KiB, and hot costs less);
 *  - cold: a chunk goes as a keyframe (a cold read restores one object and
 *    needs no base; gc needs no archived header), and one under 128 KiB is
 *    packed with the others of this run into cold/packs/<id> (an archive
 *    class bills a per-object overhead), its index packs/<id>.json hot.
 * Every move is copy, check, then delete the source, children before their
 * bases: at any point each chunk is readable somewhere, and reads look in
 * every tier. The version's tier and since when are in placement/<id>.json
 * (the retention plan's input for the IA 30-day minimum). */
#include "store/rf_ckrepo_impl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SMALL_BYTES (128u * 1024u)     /* IA's billing minimum, cold's packing bound */
#define PACK_MAX (64u << 20)

typedef struct ent {
    uint8_t id[RF_SHA256_LEN];
    int want, cur;           /* tiers */
    int depth, is_delta;
    uint8_t base[RF_SHA256_LEN];
    uint64_t size;           /* stored bytes where it is */
    int loose;               /* cur is a loose object (not a pack member) */
} ent;

typedef struct ents {
    ent *v;
    size_t n, cap;
} ents;

static int ent_cmp(const void *a, const void *b)
{
    return memcmp(((const ent *)a)->id, ((const ent *)b)->id, RF_SHA256_LEN);
}

static ent *ent_find(ents *e, const uint8_t *id)
{
    ent k;
    memcpy(k.id, id, RF_SHA256_LEN);
    return bsearch(&k, e->v, e->n, sizeof k, ent_cmp);
}

static ent *ent_add(ents *e, const uint8_t *id, int want)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 1024;
        e->v = rf_xrealloc(e->v, e->cap * sizeof *e->v);
    }
    ent *x = &e->v[e->n++];
    memset(x, 0, sizeof *x);
    memcpy(x->id, id, RF_SHA256_LEN);
    x->want = want;
    x->cur = -1;   /* not looked up yet */
    return x;
}

/* Sort, and merge duplicates: the hottest want, and what a look-up found. */
static void ents_merge(ents *e)
{
    if (!e->n)
        return;
    qsort(e->v, e->n, sizeof *e->v, ent_cmp);
    size_t w = 0;
    for (size_t i = 1; i < e->n; i++) {
        if (memcmp(e->v[i].id, e->v[w].id, RF_SHA256_LEN)) {
            e->v[++w] = e->v[i];
            continue;
        }
        ent keep = e->v[w].cur >= 0 ? e->v[w] : e->v[i];
        keep.want = e->v[i].want < e->v[w].want ? e->v[i].want : e->v[w].want;
        e->v[w] = keep;
    }
    e->n = w + 1;
}

static int tier_parse(const char *s)
{
    static const char *const names[] = {"hot", "warm", "cold"};
    for (int t = 0; s && t < RF_CKTIER_N; t++)
        if (!strcmp(s, names[t]))
            return t;
    return -1;
}

int rf_ckrepo_placement(rf_ckrepo *r, const char *id, int *tier, int64_t *since, rf_err *err)
{
    char key[256];
    json_t *p;
    rf_ckrepo_key(r, key, sizeof key, "placement/%s.json", id);
    int got = rf_ckrepo_json_get(r, key, &p, err);
    *tier = RF_CKTIER_HOT;
    *since = 0;
    if (got <= 0)
        return got;
    int t = tier_parse(json_string_value(json_object_get(p, "tier")));
    *since = json_integer_value(json_object_get(p, "since"));
    json_decref(p);
    if (t < 0)
        return rf_errf(err, RF_ECORRUPT, "%s: unknown tier", key);
    *tier = t;
    return 1;
}

static int add_hex(ents *e, const char *hex, int want)
{
    uint8_t id[RF_SHA256_LEN];
    if (!hex || strlen(hex) != 64 || rf_unhex(id, hex, RF_SHA256_LEN))
        return -1;
    ent_add(e, id, want);
    return 0;
}

/* Every version's chunks with the version's tier (target, else recorded). */
static int collect(rf_ckrepo *r, const json_t *targets, ents *e, rf_err *err)
{
    json_t *all;
    if (rf_ckrepo_versions(r, &all, err))
        return -1;
    size_t i, j, k;
    json_t *vid, *t, *b;
    int rc = 0;
    json_array_foreach(all, i, vid) {
        const char *id = json_string_value(vid);
        int tier = tier_parse(json_string_value(json_object_get(targets, id)));
        int64_t since;
        if (tier < 0 && (rc = rf_ckrepo_placement(r, id, &tier, &since, err)) < 0)
            break;
        json_t *v;
        if ((rc = rf_ckrepo_version(r, id, &v, err)))
            break;
        int bad = add_hex(e, json_string_value(json_object_get(v, "skeleton")), tier);
        json_array_foreach(json_object_get(v, "tensors"), j, t)
            json_array_foreach(json_object_get(t, "blocks"), k, b)
                bad |= add_hex(e, json_string_value(b), tier);
        json_decref(v);
        if (bad) {
            rc = rf_errf(err, RF_ECORRUPT, "version %.12s: bad chunk id", id);
            break;
        }
        rc = 0;
    }
    json_decref(all);
    ents_merge(e);
    return rc;
}

/* Where the chunk is now, its size, and its base. */
static int look_up(rf_ckrepo *r, ent *x, rf_err *err)
{
    uint8_t h[RF_CHUNK_HEADER];
    int rc = rf_cktier_header(r, x->id, h, &x->cur, err);
    if (rc < 0)
        return -1;
    x->is_delta = rc == 1 && h[5] == RF_CHUNK_DELTA;
    x->depth = rc == 1 ? h[7] : 0;
    if (x->is_delta)
        memcpy(x->base, h + 16, RF_SHA256_LEN);
    char key[256];
    rf_store_meta m;
    rf_cktier_key(r, x->cur, key, sizeof key, x->id);
    if (rf_store_head(r->store, key, &m, err) == 0) {
        x->loose = 1;
        x->size = m.size;
        return 0;
    }
    if (err->code != RF_ENOTFOUND)
        return -1;
    const char *pack;
    uint64_t off;
    if (rf_cktier_in_pack(r, x->id, &pack, &off, &x->size, err) <= 0)
        return rf_errf(err, RF_ENOTFOUND, "%s: chunk vanished while being placed", key);
    return 0;
}

int rf_ckrepo_warm_is_ia(const rf_ckrepo *r)
{
    const char *c = r->o.tier_class[RF_CKTIER_WARM];
    return c && strstr(c, "_IA") != NULL;
}

/* Bases as hot as their hot or warm deltas (a cold chunk becomes a
 * keyframe), small chunks kept out of IA; until nothing changes. */
static int settle(rf_ckrepo *r, ents *e, rf_ckplace_stats *st, rf_err *err)
{
    for (int changed = 1, round = 0; changed; round++) {
        if (round > 300)
            return rf_errf(err, RF_ECORRUPT, "delta chains do not end (a loop?)");
        changed = 0;
        for (size_t i = 0; i < e->n; i++) {
            if (e->v[i].cur < 0 && look_up(r, &e->v[i], err)) {
                if (err->code != RF_ENOTFOUND)
                    return -1;
                /* missing: verify names it; nothing to move */
                e->v[i].cur = e->v[i].want;
                e->v[i].is_delta = 0;
                rf_err_clear(err);
                st->missing++;
            }
            if (rf_ckrepo_warm_is_ia(r) && e->v[i].want == RF_CKTIER_WARM && e->v[i].size < SMALL_BYTES)
                e->v[i].want = RF_CKTIER_HOT, changed = 1;
        }
        size_t n = e->n;
        for (size_t i = 0; i < n; i++) {
            ent x = e->v[i];
            if (!x.is_delta || x.want == RF_CKTIER_COLD)
                continue;
            ent *b = ent_find(e, x.base);
            if (!b) {   /* a base no version names (dropped without rebase) */
                ent_add(e, x.base, x.want);
                changed = 1;
            } else if (b->want > x.want) {
                b->want = x.want;
                changed = 1;
            }
        }
        if (e->n != n)
            ents_merge(e);
    }
    return 0;
}

/* ---- moving -------------------------------------------------------------- */

typedef struct packer {
    rf_buf data;
    json_t *chunks;          /* hex -> [off, len] */
    size_t n_src;
    char **src;              /* loose keys to delete once the pack is stored */
} packer;

static int delete_src(rf_ckrepo *r, const ent *x, json_t *pack_edits, rf_err *err)
{
    char key[256];
    if (x->loose) {
        rf_cktier_key(r, x->cur, key, sizeof key, x->id);
        return rf_store_delete(r->store, key, err);
    }
    /* a pack member: drop it from its index (written after all moves) */
    char hex[RF_SHA256_HEX];
    rf_hex(hex, x->id, RF_SHA256_LEN);
    const char *ik;
    json_t *idx;
    json_object_foreach(r->packs, ik, idx) {
        json_t *ch = json_object_get(idx, "chunks");
        if (json_object_get(ch, hex)) {
            json_object_del(ch, hex);
            json_object_set(pack_edits, ik, idx);
        }
    }
    return 0;
}

/* The chunk's bytes for tier want: as stored, or as a keyframe for cold. */
static int bytes_for(rf_ckrepo *r, const ent *x, rf_buf *out, rf_err *err)
{
    int tier;
    if (x->want != RF_CKTIER_COLD || !x->is_delta)
        return rf_cktier_get(r, x->id, out, &tier, err);
    const uint8_t *raw;
    size_t n;
    int depth;
    uint8_t h[RF_CHUNK_HEADER];
    if (rf_cktier_header(r, x->id, h, &tier, err) < 0 ||
        rf_ckrepo_block(r, x->id, &raw, &n, &depth, err))
        return -1;
    return rf_chunk_encode(r->cc, raw, n, h[6], NULL, NULL, 0, out, err);
}

static int pack_flush(rf_ckrepo *r, packer *p, rf_ckplace_stats *st, rf_err *err)
{
    if (!p->data.len)
        return 0;
    uint8_t sum[RF_SHA256_LEN];
    char hex[RF_SHA256_HEX], key[256], ikey[256];
    rf_sha256(p->data.data, p->data.len, sum);
    rf_hex(hex, sum, RF_SHA256_LEN);
    rf_ckrepo_key(r, key, sizeof key, "cold/packs/%s", hex);
    rf_ckrepo_key(r, ikey, sizeof ikey, "packs/%s.json", hex);
    rf_put_opts o = rf_cktier_opts(r, RF_CKTIER_COLD);
    json_t *idx = json_pack("{s:s,s:O}", "pack", key, "chunks", p->chunks);
    int rc = rf_store_put_mem(r->store, key, p->data.data, p->data.len, &o, err);
    if (!rc)   /* the index last: a pack without one is garbage, never a loss */
        rc = rf_ckrepo_json_put(r, ikey, idx, err);
    json_decref(idx);
    for (size_t i = 0; i < p->n_src; i++) {
        if (!rc)
            rc = rf_store_delete(r->store, p->src[i], err);
        free(p->src[i]);
    }
    if (!rc)
        st->packs++;
    p->n_src = 0;
    p->data.len = 0;
    json_object_clear(p->chunks);
    return rc ? rf_err_prefix(err, "pack %s", key) : 0;
}

static int move_one(rf_ckrepo *r, ent *x, packer *p, json_t *pack_edits,
                    rf_ckplace_stats *st, rf_err *err)
{
    rf_buf b = RF_BUF_INIT;
    char key[256];
    int rc = bytes_for(r, x, &b, err);
    if (!rc && x->want == RF_CKTIER_COLD && b.len < SMALL_BYTES && x->loose) {
        char hex[RF_SHA256_HEX];
        rf_hex(hex, x->id, RF_SHA256_LEN);
        json_object_set_new(p->chunks, hex, json_pack("[I,I]", (json_int_t)p->data.len,
                                                      (json_int_t)b.len));
        rf_buf_add(&p->data, b.data, b.len);
        rf_cktier_key(r, x->cur, key, sizeof key, x->id);
        p->src = rf_xrealloc(p->src, (p->n_src + 1) * sizeof *p->src);
        p->src[p->n_src++] = rf_xstrdup(key);
        st->packed++;
        rf_buf_free(&b);
        return p->data.len >= PACK_MAX ? pack_flush(r, p, st, err) : 0;
    }
    rf_store_meta m;
    rf_put_opts o = rf_cktier_opts(r, x->want);
    rf_cktier_key(r, x->want, key, sizeof key, x->id);
    if (!rc)
        rc = rf_store_put_mem(r->store, key, b.data, b.len, &o, err);
    if (!rc && (rc = rf_store_head(r->store, key, &m, err)) == 0 && m.size != b.len)
        rc = rf_errf(err, RF_EIO, "%s: %llu bytes stored of %zu", key,
                     (unsigned long long)m.size, b.len);
    if (!rc)
        rc = delete_src(r, x, pack_edits, err);
    if (!rc)
        st->moved[x->want]++;
    rf_buf_free(&b);
    return rc ? rf_err_prefix(err, "moving chunk %s", key) : 0;
}

/* Deltas before their bases (deeper first): a delta re-encoded as a cold
 * keyframe still finds its base where it was. */
static int by_depth_desc(const void *a, const void *b)
{
    return ((const ent *)b)->depth - ((const ent *)a)->depth;
}

static int write_pack_edits(rf_ckrepo *r, json_t *edits, rf_err *err)
{
    const char *ik;
    json_t *idx;
    json_object_foreach(edits, ik, idx) {
        int rc;
        if (json_object_size(json_object_get(idx, "chunks")))
            rc = rf_ckrepo_json_put(r, ik, idx, err);
        else   /* emptied: the pack, then its index */
            rc = rf_store_delete(r->store, json_string_value(json_object_get(idx, "pack")),
                                 err) ||
                 rf_store_delete(r->store, ik, err);
        if (rc)
            return -1;
    }
    return 0;
}

static int record_placements(rf_ckrepo *r, const json_t *targets, rf_err *err)
{
    const char *id;
    json_t *t;
    json_object_foreach((json_t *)targets, id, t) {
        int old, want = tier_parse(json_string_value(t));
        int64_t since;
        if (want < 0 || rf_ckrepo_placement(r, id, &old, &since, err) < 0)
            return want < 0 ? rf_errf(err, RF_EINVAL, "unknown tier for %.12s", id) : -1;
        char key[256];
        rf_ckrepo_key(r, key, sizeof key, "placement/%s.json", id);
        json_t *p = json_pack("{s:s,s:I}", "tier", json_string_value(t), "since",
                              (json_int_t)(old == want && since ? since : time(NULL)));
        int rc = rf_ckrepo_json_put(r, key, p, err);
        json_decref(p);
        if (rc)
            return -1;
    }
    return 0;
}

int rf_ckrepo_place(rf_ckrepo *r, const json_t *targets, rf_ckplace_stats *st, rf_err *err)
{
    memset(st, 0, sizeof *st);
    ents e = {0};
    packer p = {RF_BUF_INIT, json_object(), 0, NULL};
    json_t *edits = json_object();
    rf_cktier_packs_forget(r);
    r->tiered = 1;   /* chunks leave hot from here on */
    int rc = rf_ckrepo_lock_writer(r, err);
    if (!rc)
        rc = collect(r, targets, &e, err);
    if (!rc)
        rc = settle(r, &e, st, err);
    if (!rc)
        qsort(e.v, e.n, sizeof *e.v, by_depth_desc);
    for (size_t i = 0; !rc && i < e.n; i++) {
        ent *x = &e.v[i];
        st->chunks[x->want]++;
        if (x->cur != x->want)
            rc = move_one(r, x, &p, edits, st, err);
    }
    if (!rc)
        rc = pack_flush(r, &p, st, err);
    if (!rc)
        rc = write_pack_edits(r, edits, err);
    if (!rc)
        rc = record_placements(r, targets, err);
    rf_ckrepo_unlock_writer(r);
    rf_cktier_packs_forget(r);
    for (size_t i = 0; i < p.n_src; i++)
        free(p.src[i]);
    free(p.src);
    rf_buf_free(&p.data);
    json_decref(p.chunks);
    json_decref(edits);
    free(e.v);
    return rc ? rf_err_prefix(err, "placement") : 0;
}
