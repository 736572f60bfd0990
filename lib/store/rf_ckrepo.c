/* rf_ckrepo: the checkpoint repository: keys, the block cache, chunk reads,
 * refs, versions, locks and garbage collection. Compaction itself is in
 * rf_ckpack.c, the registry in rf_ckreg.c. */
#include "store/rf_ckrepo_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void rf_ckrepo_opts_default(rf_ckrepo_opts *o)
{
    o->keyframe_every = 8;
    o->block_bytes = RF_CHUNK_BLOCK_BYTES;
    o->level = RF_CHUNK_LEVEL;
    o->cache_bytes = 8u << 20;
    o->tier_class[0] = o->tier_class[1] = o->tier_class[2] = NULL;
    o->restore_wait_s = 12 * 3600;
    o->restore_poll_ms = 60000;
}

int rf_ckrepo_open(const char *url, const rf_config *cfg, const rf_ckrepo_opts *o,
                   rf_ckrepo **out, rf_err *err)
{
    rf_ckrepo *r = rf_xcalloc(1, sizeof *r);
    if (o)
        r->o = *o;
    else
        rf_ckrepo_opts_default(&r->o);
    if (r->o.keyframe_every < 1 || r->o.keyframe_every > 250 || r->o.block_bytes < 64) {
        free(r);
        return rf_errf(err, RF_EINVAL, "checkpoint repository: keyframe interval must be "
                       "1..250 and the block size at least 64 bytes");
    }
    r->prefix = rf_xstrdup("");
    if (!strncmp(url, "s3://", 5)) {   /* a tier without a class is STANDARD */
        static const char *const s3_class[3] = {NULL, "STANDARD_IA", "GLACIER"};
        for (int t = 1; t < 3; t++)
            if (!r->o.tier_class[t])
                r->o.tier_class[t] = s3_class[t];
    }
    r->cache_cap = r->o.cache_bytes;
    r->tiered = -1;
    r->cc = rf_chunk_ctx_new(r->o.level);
    if (!r->cc || rf_store_open(url, cfg, &r->store, err)) {
        if (!r->cc)
            rf_errf(err, RF_ENOMEM, "zstd context: out of memory");
        rf_ckrepo_close(r);
        return rf_err_prefix(err, "checkpoint repository %s", url);
    }
    *out = r;
    return 0;
}

void rf_ckrepo_url(const rf_config *cfg, const char *explicit_url, char *buf, size_t n)
{
    const char *env = getenv("RUVFLOW_CKPT_REPO");
    if (explicit_url || (env && *env))
        snprintf(buf, n, "%s", explicit_url ? explicit_url : env);
    else
        snprintf(buf, n, "%s/ckpt", cfg->store);
}

void rf_ckrepo_close(rf_ckrepo *r)
{
    if (!r)
        return;
    rf_ckrepo_unlock_writer(r);
    for (rf_ckcache_ent *e = r->newest, *n; e; e = n) {
        n = e->older;
        free(e->raw);
        free(e);
    }
    rf_chunk_ctx_free(r->cc);
    for (size_t i = 0; i < RF_CKCACHE_SPARES; i++)
        free(r->spare[i].p);
    rf_buf_free(&r->io);
    json_decref(r->packs);
    if (r->store)
        rf_store_close(r->store);
    free(r->prefix);
    free(r);
}

void rf_ckrepo_key(const rf_ckrepo *r, char *buf, size_t n, const char *fmt, ...)
{
    int k = snprintf(buf, n, "%s", r->prefix);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + k, n - (size_t)k, fmt, ap);
    va_end(ap);
}

void rf_ckrepo_chunk_key(const rf_ckrepo *r, char *buf, size_t n, const uint8_t *id)
{
    char hex[RF_SHA256_HEX];
    rf_hex(hex, id, RF_SHA256_LEN);
    rf_ckrepo_key(r, buf, n, "chunks/%.2s/%s", hex, hex);
}

/* ---- the raw block cache ------------------------------------------------- */

static size_t bucket_of(const uint8_t *id)
{
    return ((size_t)id[0] << 8 | id[1]) % RF_CKCACHE_BUCKETS;
}

static rf_ckcache_ent *cache_find(rf_ckrepo *r, const uint8_t *id)
{
    for (rf_ckcache_ent *e = r->bucket[bucket_of(id)]; e; e = e->next)
        if (!memcmp(e->id, id, RF_SHA256_LEN))
            return e;
    return NULL;
}

/* Keep a buffer for raw_alloc (the smallest one goes when all are taken):
 * in a steady stream of reads, evicted blocks' memory is reused instead of
 * freed and faulted in again. */
static void spare_put(rf_ckrepo *r, uint8_t *p, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < RF_CKCACHE_SPARES; i++)
        if (!r->spare[i].p || r->spare[i].cap < r->spare[k].cap) {
            k = i;
            if (!r->spare[i].p)
                break;
        }
    if (r->spare[k].p && r->spare[k].cap >= cap) {
        free(p);
        return;
    }
    free(r->spare[k].p);
    r->spare[k].p = p;
    r->spare[k].cap = cap;
}

/* Unlink e from its bucket and from the FIFO (singly linked newest->older),
 * keeping its buffer as the spare. */
static void cache_remove(rf_ckrepo *r, rf_ckcache_ent *e)
{
    rf_ckcache_ent *prev = NULL;
    for (rf_ckcache_ent *q = r->newest; q && q != e; q = q->older)
        prev = q;
    if (prev)
        prev->older = e->older;
    else
        r->newest = e->older;
    if (r->oldest == e)
        r->oldest = prev;
    rf_ckcache_ent **pp = &r->bucket[bucket_of(e->id)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    r->cache_used -= e->len;
    spare_put(r, e->raw, e->cap);
    free(e);
}

/* Add a block, taking ownership of raw (malloc'd); frees it when the
 * block is cached already or larger than the whole cache. */
static void cache_adopt(rf_ckrepo *r, const uint8_t *id, uint8_t *raw, size_t len, size_t cap,
                        int depth, int checked)
{
    if (len > r->cache_cap || cache_find(r, id)) {
        free(raw);
        return;
    }
    while (r->cache_used + len > r->cache_cap && r->oldest)
        cache_remove(r, r->oldest);
    rf_ckcache_ent *e = rf_xcalloc(1, sizeof *e);
    memcpy(e->id, id, RF_SHA256_LEN);
    e->raw = raw;
    e->len = len;
    e->cap = cap;
    e->depth = depth;
    e->checked = checked;
    size_t b = bucket_of(id);
    e->next = r->bucket[b];
    r->bucket[b] = e;
    e->older = r->newest;
    r->newest = e;
    if (!r->oldest)
        r->oldest = e;
    r->cache_used += len;
}

void rf_ckcache_put(rf_ckrepo *r, const uint8_t id[RF_SHA256_LEN], const void *raw,
                    size_t len, int depth)
{
    if (len > r->cache_cap || cache_find(r, id))
        return;
    uint8_t *copy = rf_xmalloc(len ? len : 1);
    memcpy(copy, raw, len);
    cache_adopt(r, id, copy, len, len ? len : 1, depth, 1);   /* the writer hashed raw itself */
}

void rf_ckcache_set_depth(rf_ckrepo *r, const uint8_t id[RF_SHA256_LEN], int depth)
{
    rf_ckcache_ent *e = cache_find(r, id);
    if (e)
        e->depth = depth;
}

void rf_ckcache_reserve(rf_ckrepo *r, uint64_t bytes)
{
    if (bytes > r->cache_cap)
        r->cache_cap = (size_t)bytes;
}

void rf_ckcache_drop_unchecked(rf_ckrepo *r)
{
    for (rf_ckcache_ent *e = r->newest, *n; e; e = n) {
        n = e->older;
        if (!e->checked)
            cache_remove(r, e);
    }
}

/* ---- chunks -------------------------------------------------------------- */

/* The store, not the cache, decides: gc may have deleted an object whose
 * bytes this process still caches (the caller holds the writer lock). */
int rf_ckrepo_has_chunk(rf_ckrepo *r, const uint8_t id[RF_SHA256_LEN], int *depth,
                        rf_err *err)
{
    uint8_t h[RF_CHUNK_HEADER];
    int tier, rc = rf_cktier_header(r, id, h, &tier, err);
    if (rc < 0)
        return err && err->code == RF_ENOTFOUND ? 0 : -1;
    *depth = rc ? h[7] : 0;   /* a cold chunk is a keyframe */
    if (*depth > 250) {
        char key[256];
        rf_cktier_key(r, tier, key, sizeof key, id);
        return rf_errf(err, RF_ECORRUPT, "chunk %s: bad header", key);
    }
    return 1;
}

/* The repository's read buffer, taken for one chunk (a delta's base loaded
 * meanwhile takes a fresh one), and given back: the larger one is kept, so
 * that reads reuse one allocation instead of faulting in new pages. */
static rf_buf io_take(rf_ckrepo *r)
{
    rf_buf b = r->io;
    r->io = (rf_buf)RF_BUF_INIT;
    b.len = 0;
    return b;
}

static void io_give(rf_ckrepo *r, rf_buf *b)
{
    if (b->cap > r->io.cap) {
        rf_buf_free(&r->io);
        r->io = *b;
    } else {
        rf_buf_free(b);
    }
    *b = (rf_buf)RF_BUF_INIT;
}

/* A buffer for len raw bytes: a spare one that fits (without wasting more
 * than half of it), else a new one. *cap gets its size. */
static uint8_t *raw_alloc(rf_ckrepo *r, size_t len, size_t *cap)
{
    for (size_t i = 0; i < RF_CKCACHE_SPARES; i++) {
        if (r->spare[i].p && r->spare[i].cap >= len && r->spare[i].cap / 2 <= len) {
            uint8_t *p = r->spare[i].p;
            *cap = r->spare[i].cap;
            r->spare[i].p = NULL;
            return p;
        }
    }
    *cap = len ? len : 1;
    return rf_xmalloc(*cap);
}

static int block_get(rf_ckrepo *r, const uint8_t *id, int max_depth, const uint8_t **raw,
                     size_t *len, int *depth, rf_err *err);

/* Load, decode and cache one chunk; its depth must be at most max_depth (a
 * delta's base is one shallower, so a corrupt chain cannot loop). */
static int block_load(rf_ckrepo *r, const uint8_t *id, int max_depth, rf_err *err)
{
    char key[256];
    rf_ckrepo_chunk_key(r, key, sizeof key, id);
    rf_buf b = io_take(r);
    rf_chunk_head h;
    const uint8_t *base = NULL;
    size_t blen;
    int bdepth, tier, rc = 0;
    if (rf_cktier_get(r, id, &b, &tier, err) || rf_chunk_head_parse(b.data, b.len, &h, err))
        rc = rf_err_prefix(err, "chunk %s", key);
    else if (h.depth > max_depth)
        rc = rf_errf(err, RF_ECORRUPT, "chunk %s: depth %d where at most %d fits its delta "
                     "chain", key, h.depth, max_depth);
    else if (h.raw_len > r->cache_cap)
        rc = rf_errf(err, RF_ETOOBIG, "chunk %s: %llu bytes exceed the block cache", key,
                     (unsigned long long)h.raw_len);
    /* the base is borrowed: nothing is added to the cache until the decode
     * is done */
    else if (h.mode == RF_CHUNK_DELTA &&
             block_get(r, h.base, h.depth - 1, &base, &blen, &bdepth, err))
        rc = rf_err_prefix(err, "base of chunk %s", key);
    else if (base && blen != h.raw_len)
        rc = rf_errf(err, RF_ECORRUPT, "chunk %s: base has %zu bytes, not %llu", key, blen,
                     (unsigned long long)h.raw_len);
    if (rc) {
        io_give(r, &b);
        return -1;
    }
    size_t cap;
    uint8_t *raw = raw_alloc(r, (size_t)h.raw_len, &cap);
    rc = rf_chunk_decode(r->cc, b.data, b.len, base, r->trust ? NULL : id, raw, err);
    io_give(r, &b);
    if (rc) {
        free(raw);
        return rf_err_prefix(err, "chunk %s", key);
    }
    cache_adopt(r, id, raw, (size_t)h.raw_len, cap, h.depth, !r->trust);
    return 0;
}

static int block_get(rf_ckrepo *r, const uint8_t *id, int max_depth, const uint8_t **raw,
                     size_t *len, int *depth, rf_err *err)
{
    rf_ckcache_ent *e = cache_find(r, id);
    if (e && !e->checked && !r->trust) {   /* cached by a checkout: hash it now */
        if (rf_chunk_check(e->raw, e->len, id, NULL) == 0)
            e->checked = 1;
        else {
            cache_remove(r, e);   /* reload it: its base is checked first */
            e = NULL;
        }
    }
    if (!e) {
        if (block_load(r, id, max_depth, err))
            return -1;
        e = cache_find(r, id);
    } else if (e->depth > max_depth) {
        char key[256];
        rf_ckrepo_chunk_key(r, key, sizeof key, id);
        return rf_errf(err, RF_ECORRUPT, "chunk %s: depth %d where at most %d fits its delta "
                       "chain", key, e->depth, max_depth);
    }
    *raw = e->raw;
    *len = e->len;
    *depth = e->depth;
    return 0;
}

int rf_ckrepo_block(rf_ckrepo *r, const uint8_t id[RF_SHA256_LEN], const uint8_t **raw,
                    size_t *len, int *depth, rf_err *err)
{
    return block_get(r, id, 255, raw, len, depth, err);
}

/* ---- small JSON objects, refs, versions ---------------------------------- */

int rf_ckrepo_json_get(rf_ckrepo *r, const char *key, json_t **out, rf_err *err)
{
    rf_buf b = RF_BUF_INIT;
    *out = NULL;
    if (rf_store_get_mem(r->store, key, &b, err)) {
        rf_buf_free(&b);
        return err && err->code == RF_ENOTFOUND ? 0 : -1;
    }
    json_error_t je;
    *out = json_loadb(b.data, b.len, 0, &je);
    rf_buf_free(&b);
    if (!*out)
        return rf_errf(err, RF_ECORRUPT, "%s:%d:%d: %s", key, je.line, je.column, je.text);
    return 1;
}

int rf_ckrepo_json_put(rf_ckrepo *r, const char *key, const json_t *o, rf_err *err)
{
    char *s = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(1));
    if (!s)
        return rf_errf(err, RF_ENOMEM, "%s: JSON: out of memory", key);
    int rc = rf_store_put_mem(r->store, key, s, strlen(s), NULL, err);
    free(s);
    return rc;
}

static int name_valid(const char *name, rf_err *err)
{
    size_t n = strlen(name);
    if (!n || n > 200 || name[0] == '.' || strchr(name, '/') || strchr(name, ':') ||
        strchr(name, '~'))
        return rf_errf(err, RF_EINVAL, "bad name \"%s\" (1-200 characters, no / : ~, not "
                       "starting with '.')", name);
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x21)
            return rf_errf(err, RF_EINVAL, "bad name \"%s\": control or space character",
                           name);
    return 0;
}

static int id_valid(const char *id)
{
    if (strlen(id) != 64)
        return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

int rf_ckrepo_ref_get(rf_ckrepo *r, const char *kind, const char *name,
                      char id[RF_SHA256_HEX], rf_err *err)
{
    char key[512];
    if (name_valid(name, err))
        return -1;
    rf_ckrepo_key(r, key, sizeof key, "refs/%s/%s", kind, name);
    rf_buf b = RF_BUF_INIT;
    if (rf_store_get_mem(r->store, key, &b, err)) {
        rf_buf_free(&b);
        return err && err->code == RF_ENOTFOUND ? 0 : -1;
    }
    int ok = b.len >= 64;
    if (ok) {
        memcpy(id, b.data, 64);
        id[64] = 0;
        ok = id_valid(id);
    }
    rf_buf_free(&b);
    return ok ? 1 : rf_errf(err, RF_ECORRUPT, "%s: not a version id", key);
}

int rf_ckrepo_ref_set(rf_ckrepo *r, const char *kind, const char *name, const char *id,
                      rf_err *err)
{
    char key[512], line[80];
    if (name_valid(name, err))
        return -1;
    json_t *v;
    if (rf_ckrepo_version(r, id, &v, err))
        return -1;
    json_decref(v);
    rf_ckrepo_key(r, key, sizeof key, "refs/%s/%s", kind, name);
    snprintf(line, sizeof line, "%s\n", id);
    return rf_store_put_mem(r->store, key, line, strlen(line), NULL, err);
}

int rf_ckrepo_ref_delete(rf_ckrepo *r, const char *kind, const char *name, rf_err *err)
{
    char key[512], id[RF_SHA256_HEX];
    int rc = rf_ckrepo_ref_get(r, kind, name, id, err);
    if (rc <= 0)
        return rc ? -1 : rf_errf(err, RF_ENOTFOUND, "no %s \"%s\"",
                                 strcmp(kind, "tags") ? "branch" : "tag", name);
    rf_ckrepo_key(r, key, sizeof key, "refs/%s/%s", kind, name);
    return rf_store_delete(r->store, key, err);
}

int rf_ckrepo_list(rf_cklist *x, const char *folder, rf_list_fn fn, rf_err *err)
{
    char pfx[256];
    rf_ckrepo_key(x->r, pfx, sizeof pfx, "%s", folder);
    x->skip = strlen(pfx);
    if (rf_store_list(x->r->store, pfx, 1, fn, x, err) && err->code != RF_ENOTFOUND) {
        json_decref(x->out);
        x->out = NULL;
        return -1;
    }
    return 0;
}

static int ref_cb(void *ud, const char *key, const rf_store_meta *m)
{
    rf_cklist *x = ud;
    (void)m;
    char id[RF_SHA256_HEX];
    const char *name = key + x->skip;
    if (!*name || strchr(name, '/'))
        return 0;
    if (rf_ckrepo_ref_get(x->r, x->kind, name, id, x->err) == 1)
        json_object_set_new(x->out, name, json_string(id));
    return 0;
}

int rf_ckrepo_refs(rf_ckrepo *r, const char *kind, json_t **out, rf_err *err)
{
    char folder[64];
    snprintf(folder, sizeof folder, "refs/%s/", kind);
    rf_cklist x = {r, kind, json_object(), 0, err};
    int rc = rf_ckrepo_list(&x, folder, ref_cb, err);
    *out = x.out;
    return rc;
}

static int version_cb(void *ud, const char *key, const rf_store_meta *m)
{
    rf_cklist *x = ud;
    (void)m;
    const char *name = key + x->skip;
    if (strlen(name) == 69 && !strcmp(name + 64, ".json"))
        json_array_append_new(x->out, json_stringn(name, 64));
    return 0;
}

int rf_ckrepo_versions(rf_ckrepo *r, json_t **out, rf_err *err)
{
    rf_cklist x = {r, NULL, json_array(), 0, err};
    int rc = rf_ckrepo_list(&x, "versions/", version_cb, err);
    *out = x.out;
    return rc;
}

int rf_ckrepo_version(rf_ckrepo *r, const char *id, json_t **out, rf_err *err)
{
    char key[256];
    if (!id_valid(id))
        return rf_errf(err, RF_EINVAL, "\"%s\" is not a version id", id);
    rf_ckrepo_key(r, key, sizeof key, "versions/%s.json", id);
    rf_buf b = RF_BUF_INIT;
    if (rf_store_get_mem(r->store, key, &b, err)) {
        rf_buf_free(&b);
        if (err && err->code == RF_ENOTFOUND)
            return rf_errf(err, RF_ENOTFOUND, "no version %.12s in the repository", id);
        return -1;
    }
    uint8_t sum[RF_SHA256_LEN];
    char hex[RF_SHA256_HEX];
    rf_sha256(b.data, b.len, sum);
    rf_hex(hex, sum, RF_SHA256_LEN);
    json_error_t je;
    *out = strcmp(hex, id) ? NULL : json_loadb(b.data, b.len, 0, &je);
    rf_buf_free(&b);
    if (!*out)
        return rf_errf(err, RF_ECORRUPT, "%s: damaged (content does not match its name)", key);
    return 0;
}

/* ---- resolving REF ------------------------------------------------------- */

static int by_prefix(rf_ckrepo *r, const char *p, char id[RF_SHA256_HEX], rf_err *err)
{
    json_t *all;
    if (rf_ckrepo_versions(r, &all, err))
        return -1;
    size_t i, hits = 0, n = strlen(p);
    json_t *v;
    json_array_foreach(all, i, v) {
        if (!strncmp(json_string_value(v), p, n)) {
            if (!hits++)
                snprintf(id, RF_SHA256_HEX, "%s", json_string_value(v));
        }
    }
    json_decref(all);
    if (hits > 1)
        return rf_errf(err, RF_EINVAL, "version prefix \"%s\" is ambiguous (%zu versions)", p,
                       hits);
    return hits ? 1 : 0;
}

static int is_hex(const char *s)
{
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

static int resolve_base(rf_ckrepo *r, const char *ref, char id[RF_SHA256_HEX], rf_err *err)
{
    if (id_valid(ref)) {
        memcpy(id, ref, 64);
        id[64] = 0;
        return 1;
    }
    if (!strncmp(ref, "channel:", 8)) {
        json_t *ch;
        int rc = rf_ckrepo_channel(r, ref + 8, &ch, err);
        if (rc <= 0)
            return rc;
        const char *cur = json_string_value(json_object_get(ch, "current"));
        if (cur)
            snprintf(id, RF_SHA256_HEX, "%s", cur);
        json_decref(ch);
        return cur ? 1 : 0;
    }
    if (!strncmp(ref, "tag:", 4))
        return rf_ckrepo_ref_get(r, "tags", ref + 4, id, err);
    int rc = strchr(ref, ':') ? 0 : rf_ckrepo_ref_get(r, "heads", ref, id, err);
    if (rc == 0 && !strchr(ref, ':'))
        rc = rf_ckrepo_ref_get(r, "tags", ref, id, err);
    if (rc == 0 && strlen(ref) >= 6 && is_hex(ref))
        rc = by_prefix(r, ref, id, err);
    return rc;
}

int rf_ckrepo_resolve(rf_ckrepo *r, const char *ref, char id[RF_SHA256_HEX], rf_err *err)
{
    char base[512];
    snprintf(base, sizeof base, "%s", ref);
    long back = 0;
    char *tilde = strchr(base, '~');
    if (tilde) {
        char *end;
        back = tilde[1] ? strtol(tilde + 1, &end, 10) : 1;
        if (back < 0 || (tilde[1] && *end))
            return rf_errf(err, RF_EINVAL, "bad reference \"%s\"", ref);
        *tilde = 0;
    }
    int rc = resolve_base(r, base, id, err);
    if (rc < 0)
        return rf_err_prefix(err, "resolving \"%s\"", ref);
    if (rc == 0)
        return rf_errf(err, RF_ENOTFOUND, "unknown version \"%s\" (not an id, branch, tag "
                       "or channel)", ref);
    for (long i = 0; i < back; i++) {
        json_t *v;
        if (rf_ckrepo_version(r, id, &v, err))
            return -1;
        const char *p = json_string_value(json_array_get(json_object_get(v, "parents"), 0));
        if (!p) {
            json_decref(v);
            return rf_errf(err, RF_ENOTFOUND, "%s: history has only %ld versions", ref, i + 1);
        }
        snprintf(id, RF_SHA256_HEX, "%s", p);
        json_decref(v);
    }
    return 0;
}

int rf_ckrepo_pruned_parent(rf_ckrepo *r, const char *id, char parent[RF_SHA256_HEX],
                            rf_err *err)
{
    char key[256];
    json_t *t;
    if (!id_valid(id))
        return rf_errf(err, RF_EINVAL, "\"%s\" is not a version id", id);
    rf_ckrepo_key(r, key, sizeof key, "pruned/%s.json", id);
    int got = rf_ckrepo_json_get(r, key, &t, err);
    if (got <= 0)
        return got;
    const char *p = json_string_value(json_array_get(json_object_get(t, "parents"), 0));
    int ok = p && id_valid(p);
    if (ok)
        snprintf(parent, RF_SHA256_HEX, "%s", p);
    json_decref(t);
    return ok ? 1 : 2;
}

int rf_ckrepo_drop(rf_ckrepo *r, const char *id, rf_err *err)
{
    static const char *const kinds[2] = {"heads", "tags"};
    for (int k = 0; k < 2; k++) {
        json_t *refs;
        if (rf_ckrepo_refs(r, kinds[k], &refs, err))
            return -1;
        const char *name;
        json_t *v;
        json_object_foreach(refs, name, v) {
            if (!strcmp(json_string_value(v), id)) {
                rf_errf(err, RF_ECONFLICT, "version %.12s is the %s \"%s\"", id,
                        k ? "tag" : "branch", name);
                json_decref(refs);
                return -1;
            }
        }
        json_decref(refs);
    }
    /* a tombstone keeps the history walkable past the dropped version */
    char key[256];
    json_t *v;
    if (rf_ckrepo_version(r, id, &v, err))
        return -1;
    json_t *tomb = json_pack("{s:O}", "parents", json_object_get(v, "parents"));
    json_decref(v);
    rf_ckrepo_key(r, key, sizeof key, "pruned/%s.json", id);
    int rc = rf_ckrepo_json_put(r, key, tomb, err);
    json_decref(tomb);
    if (rc)
        return -1;
    rf_ckrepo_key(r, key, sizeof key, "versions/%s.json", id);
    if (rf_store_delete(r->store, key, err))
        return -1;
    rf_ckrepo_key(r, key, sizeof key, "placement/%s.json", id);
    return rf_store_delete(r->store, key, err);   /* a missing key is fine */
}
