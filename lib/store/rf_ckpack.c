/* rf_ckpack: compaction of a checkpoint artifact into a repository version,
 * and its exact rebuild. The payload tree is split into its tensors and a
 * skeleton (the tree with every tensor replaced by nil, stored as a small
 * artifact); each tensor is cut into element-aligned blocks stored as
 * rf_chunk objects, as a delta against the same block of the parent's same
 * tensor when there is one and the chain is short enough. */
#include "store/rf_ckrepo_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/rf_codec.h"

/* ---- walking the tensors of a tree --------------------------------------- */

typedef int (*tensor_fn)(void *ud, rf_obj *node, json_t *path, rf_err *err);

static int walk(rf_obj *o, json_t *path, tensor_fn fn, void *ud, rf_err *err)
{
    int rc = 0;
    if (o->type == RF_TENSOR)
        return fn(ud, o, path, err);
    if (o->type == RF_MAP) {
        for (size_t i = 0; i < o->u.m.len && !rc; i++) {
            json_array_append_new(path, json_string(o->u.m.keys[i]));
            rc = walk(o->u.m.vals[i], path, fn, ud, err);
            json_array_remove(path, json_array_size(path) - 1);
        }
    } else if (o->type == RF_ARRAY) {
        for (size_t i = 0; i < o->u.a.len && !rc; i++) {
            json_array_append_new(path, json_integer((json_int_t)i));
            rc = walk(o->u.a.items[i], path, fn, ud, err);
            json_array_remove(path, json_array_size(path) - 1);
        }
    }
    return rc;
}

static rf_obj *at_path(rf_obj *o, const json_t *path)
{
    size_t i;
    json_t *seg;
    json_array_foreach(path, i, seg) {
        if (json_is_string(seg) && o->type == RF_MAP)
            o = rf_obj_get(o, json_string_value(seg));
        else if (json_is_integer(seg) && o->type == RF_ARRAY &&
                 (size_t)json_integer_value(seg) < o->u.a.len)
            o = o->u.a.items[json_integer_value(seg)];
        else
            return NULL;
        if (!o)
            return NULL;
    }
    return o;
}

static char *path_str(const json_t *path)
{
    rf_buf b = RF_BUF_INIT;
    size_t i;
    json_t *seg;
    json_array_foreach(path, i, seg) {
        if (i)
            rf_buf_adds(&b, "/");
        if (json_is_string(seg))
            rf_buf_adds(&b, json_string_value(seg));
        else
            rf_buf_addf(&b, "%lld", (long long)json_integer_value(seg));
    }
    if (!b.data)
        rf_buf_adds(&b, "");
    return rf_buf_detach(&b, NULL);
}

static int dtype_parse(const char *s)
{
    for (int d = RF_F32; d <= RF_U8; d++)
        if (s && !strcmp(s, rf_dtype_name(d)))
            return d;
    return -1;
}

/* A tree with its tensors replaced by nil (tensors are only referenced). */
static rf_obj *skeleton(const rf_obj *o)
{
    switch (o->type) {
    case RF_TENSOR: return rf_obj_nil();
    case RF_MAP: {
        rf_obj *m = rf_obj_map();
        for (size_t i = 0; i < o->u.m.len; i++)
            rf_obj_set(m, o->u.m.keys[i], skeleton(o->u.m.vals[i]));
        return m;
    }
    case RF_ARRAY: {
        rf_obj *a = rf_obj_array();
        for (size_t i = 0; i < o->u.a.len; i++)
            rf_obj_push(a, skeleton(o->u.a.items[i]));
        return a;
    }
    case RF_NIL: return rf_obj_nil();
    case RF_BOOL: return rf_obj_bool(o->u.b);
    case RF_INT: return rf_obj_int(o->u.i);
    case RF_FLOAT: return rf_obj_float(o->u.f);
    case RF_STR: return rf_obj_strn(o->u.s.p, o->u.s.len);
    default: return rf_obj_bin(o->u.s.p, o->u.s.len);
    }
}

/* A private scratch directory for the skeleton artifact. */
static int scratch_dir(char *dir, size_t n, rf_err *err)
{
    const char *t = getenv("TMPDIR");
    snprintf(dir, n, "%s/rf-ckpt.XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(dir) ? 0 : rf_err_errno(err, "mkdtemp %s", dir);
}

static void scratch_done(const char *dir, const char *file)
{
    unlink(file);
    rmdir(dir);
}

/* ---- commit -------------------------------------------------------------- */

typedef struct commit_ctx {
    rf_ckrepo *r;
    json_t *parent;        /* parent version, or NULL */
    json_t *tensors;       /* the new version's list */
    rf_ckpt_stats *st;
    rf_buf enc;
} commit_ctx;

static json_t *parent_tensor(json_t *parent, const char *ps)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(parent, "tensors"), i, t) {
        char *s = path_str(json_object_get(t, "path"));
        int same = !strcmp(s, ps);
        free(s);
        if (same)
            return t;
    }
    return NULL;
}

static void note_keyframe(rf_ckpt_stats *st, const char *tensor)
{
    size_t n = strlen(st->note);
    if (n < sizeof st->note - 1)
        snprintf(st->note + n, sizeof st->note - n, "%s%s: dtype or shape differs from the "
                 "parent's; stored as a keyframe", n ? "; " : "", tensor);
}

/* Same dtype and the same shape, but for the first dimension of a table:
 * the blocks line up (a growing history keeps its deltas). */
static int shapes_align(const json_t *pt, const rf_tensor *t)
{
    const json_t *sh = json_object_get(pt, "shape");
    if (dtype_parse(json_string_value(json_object_get(pt, "dtype"))) != t->dtype ||
        json_array_size(sh) != (size_t)t->ndim)
        return 0;
    for (int d = t->ndim > 1; d < t->ndim; d++)
        if ((uint64_t)json_integer_value(json_array_get(sh, (size_t)d)) != t->shape[d])
            return 0;
    return 1;
}

/* Store one block: reuse it when stored, else a delta against base (the
 * parent's block id hex, or NULL) while the chain stays under N. */
static int put_block(commit_ctx *x, const uint8_t *raw, size_t n, int elem,
                     const char *base_hex, char out_hex[RF_SHA256_HEX], rf_err *err)
{
    rf_ckrepo *r = x->r;
    uint8_t id[RF_SHA256_LEN], bid[RF_SHA256_LEN];
    rf_sha256(raw, n, id);
    rf_hex(out_hex, id, RF_SHA256_LEN);
    int depth = 0, have = rf_ckrepo_has_chunk(r, id, &depth, err);
    if (have < 0)
        return -1;
    if (have) {
        x->st->reused_chunks++;
        return 0;
    }
    const uint8_t *braw = NULL;
    size_t blen = 0;
    int bdepth = 0;
    if (base_hex && !rf_unhex(bid, base_hex, RF_SHA256_LEN)) {
        if (rf_ckrepo_block(r, bid, &braw, &blen, &bdepth, err))
            return rf_err_prefix(err, "parent block");
        if (blen != n || bdepth + 1 >= r->o.keyframe_every)
            braw = NULL;
    }
    uint8_t *bcopy = NULL;
    if (braw) {   /* the cache may evict it while we insert below */
        bcopy = rf_xmalloc(n);
        memcpy(bcopy, braw, n);
    }
    x->enc.len = 0;
    int rc = rf_chunk_encode(r->cc, raw, n, elem, bcopy, bid, bdepth, &x->enc, err);
    free(bcopy);
    if (rc)
        return -1;
    char key[256];
    rf_ckrepo_chunk_key(r, key, sizeof key, id);
    if (rf_store_put_mem(r->store, key, x->enc.data, x->enc.len, NULL, err))
        return rf_err_prefix(err, "chunk %s", key);
    rf_ckcache_put(r, id, raw, n, braw ? bdepth + 1 : 0);
    x->st->new_chunks++;
    x->st->stored_bytes += x->enc.len;
    if (braw)
        x->st->delta_chunks++;
    return 0;
}

static int commit_tensor(void *ud, rf_obj *node, json_t *path, rf_err *err)
{
    commit_ctx *x = ud;
    rf_tensor *t = &node->u.t;
    size_t bytes, elem = rf_dtype_size(t->dtype);
    if (rf_tensor_bytes(t->dtype, t->ndim, t->shape, &bytes))
        return rf_errf(err, RF_EINVAL, "bad tensor");
    char *ps = path_str(path);
    json_t *pt = x->parent ? parent_tensor(x->parent, ps) : NULL;
    if (pt && !shapes_align(pt, t)) {
        note_keyframe(x->st, ps);
        pt = NULL;
    }
    size_t per = rf_chunk_block_elems(x->r->o.block_bytes, elem) * elem;
    json_t *blocks = json_array(), *pblocks = pt ? json_object_get(pt, "blocks") : NULL;
    int rc = 0;
    for (size_t off = 0, i = 0; off < bytes || (!bytes && !i); off += per, i++) {
        size_t n = bytes - off < per ? bytes - off : per;
        char hex[RF_SHA256_HEX];
        rc = put_block(x, (const uint8_t *)t->data + off, n, (int)elem,
                       json_string_value(json_array_get(pblocks, i)), hex, err);
        if (rc) {
            rf_err_prefix(err, "tensor %s", ps);
            break;
        }
        json_array_append_new(blocks, json_string(hex));
        if (!bytes)
            break;
    }
    uint8_t sum[RF_SHA256_LEN];
    char hex[RF_SHA256_HEX];
    rf_sha256(t->data, bytes, sum);
    rf_hex(hex, sum, RF_SHA256_LEN);
    json_t *shape = json_array();
    for (int d = 0; d < t->ndim; d++)
        json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
    json_array_append_new(x->tensors,
                          json_pack("{s:o,s:s,s:o,s:I,s:s,s:I,s:o}", "path", json_deep_copy(path), "dtype",
                                    rf_dtype_name(t->dtype), "shape", shape, "bytes",
                                    (json_int_t)bytes, "sha256", hex, "block_bytes",
                                    (json_int_t)per, "blocks", blocks));
    free(ps);
    return rc;
}

/* The skeleton as an artifact, stored as one chunk; hex gets its id. */
static int put_skeleton(commit_ctx *x, const rf_obj *root, const char *ctype,
                        char hex[RF_SHA256_HEX], rf_err *err)
{
    char dir[256], file[300];
    if (scratch_dir(dir, sizeof dir, err))
        return -1;
    snprintf(file, sizeof file, "%s/skeleton.art", dir);
    rf_obj *sk = skeleton(root);
    rf_buf b = RF_BUF_INIT;
    FILE *f = NULL;
    int rc = rf_artifact_write(file, ctype, sk, NULL, NULL, err);
    rf_obj_free(sk);
    if (!rc && !(f = fopen(file, "rb")))
        rc = rf_err_errno(err, "%s", file);
    if (f) {
        char tmp[65536];
        size_t n;
        while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
            rf_buf_add(&b, tmp, n);
        if (ferror(f))
            rc = rf_err_errno(err, "read %s", file);
        fclose(f);
    }
    scratch_done(dir, file);
    if (!rc)
        rc = put_block(x, (const uint8_t *)b.data, b.len, 1, NULL, hex, err);
    rf_buf_free(&b);
    return rc ? rf_err_prefix(err, "skeleton") : 0;
}

static int write_version(rf_ckrepo *r, json_t *v, char id[RF_SHA256_HEX], rf_err *err)
{
    char *s = json_dumps(v, JSON_SORT_KEYS | JSON_INDENT(1));
    if (!s)
        return rf_errf(err, RF_ENOMEM, "version JSON: out of memory");
    uint8_t sum[RF_SHA256_LEN];
    rf_sha256(s, strlen(s), sum);
    rf_hex(id, sum, RF_SHA256_LEN);
    char key[256];
    rf_ckrepo_key(r, key, sizeof key, "versions/%s.json", id);
    int rc = rf_store_put_mem(r->store, key, s, strlen(s), NULL, err);
    free(s);
    return rc;
}

static int load_parents(rf_ckrepo *r, const rf_ckpt_commit *c, json_t **first, json_t *ids,
                        rf_err *err)
{
    *first = NULL;
    for (int i = 0; i < 2; i++) {
        if (!c->parents[i])
            continue;
        json_t *v;
        if (rf_ckrepo_version(r, c->parents[i], &v, err))
            return rf_err_prefix(err, "parent");
        json_array_append_new(ids, json_string(c->parents[i]));
        if (!*first)
            *first = v;
        else
            json_decref(v);
    }
    return 0;
}

int rf_ckrepo_commit_file(rf_ckrepo *r, const char *path, const rf_ckpt_commit *c,
                          char id[RF_SHA256_HEX], rf_ckpt_stats *st, rf_err *err)
{
    memset(st, 0, sizeof *st);
    rf_artifact_info info;
    rf_obj *root = NULL;
    struct stat sb;
    if (rf_artifact_read(path, NULL, &info, &root, err))
        return rf_err_prefix(err, "commit %s", path);
    if (stat(path, &sb)) {
        rf_obj_free(root);
        return rf_err_errno(err, "commit %s", path);
    }
    st->raw_bytes = info.payload_size;
    rf_ckcache_reserve(r, 2 * info.payload_size);
    st->file_bytes = (uint64_t)sb.st_size;
    json_t *parents = json_array();
    commit_ctx x = {r, NULL, json_array(), st, RF_BUF_INIT};
    char skel[RF_SHA256_HEX];
    int rc = load_parents(r, c, &x.parent, parents, err);
    if (!rc)
        rc = rf_ckrepo_lock_writer(r, err);
    json_t *path0 = json_array();
    if (!rc)
        rc = walk(root, path0, commit_tensor, &x, err);
    json_decref(path0);
    if (!rc)
        rc = put_skeleton(&x, root, info.content_type, skel, err);
    st->keyframe = st->delta_chunks == 0;
    if (!rc) {
        json_t *v = json_pack("{s:i,s:O,s:s,s:I,s:o,s:s,s:s,s:I,s:I,s:s,s:O,s:b,s:I,s:i,s:I}",
                              "format", 1, "parents", parents, "message",
                              c->message ? c->message : "", "created", (json_int_t)time(NULL),
                              "meta", c->meta ? json_deep_copy(c->meta) : json_object(),
                              "content_type", info.content_type, "payload_sha256",
                              info.sha256_hex, "file_bytes",
                              (json_int_t)st->file_bytes, "payload_bytes",
                              (json_int_t)st->raw_bytes, "skeleton", skel, "tensors",
                              x.tensors, "keyframe", st->keyframe, "stored_bytes",
                              (json_int_t)st->stored_bytes, "keyframe_every",
                              r->o.keyframe_every, "new_chunks", (json_int_t)st->new_chunks);
        if (st->note[0])
            json_object_set_new(v, "note", json_string(st->note));
        rc = write_version(r, v, id, err);
        json_decref(v);
    }
    if (!rc && c->branch)
        rc = rf_ckrepo_ref_set(r, "heads", c->branch, id, err);
    rf_ckrepo_unlock_writer(r);
    rf_buf_free(&x.enc);
    json_decref(x.parent);
    json_decref(x.tensors);
    json_decref(parents);
    rf_obj_free(root);
    return rc ? rf_err_prefix(err, "commit %s", path) : 0;
}

/* ---- checkout ------------------------------------------------------------ */

static int fill_tensor(rf_ckrepo *r, rf_obj *root, const json_t *t, rf_err *err)
{
    const json_t *path = json_object_get(t, "path"), *sh = json_object_get(t, "shape");
    char *ps = path_str(path);
    rf_obj *node = at_path(root, path);
    int dtype = dtype_parse(json_string_value(json_object_get(t, "dtype")));
    uint64_t shape[RF_TENSOR_MAXDIM];
    size_t ndim = json_array_size(sh), bytes = 0;
    int rc = 0;
    if (!node || node->type != RF_NIL || dtype < 0 || ndim > RF_TENSOR_MAXDIM)
        rc = rf_errf(err, RF_ECORRUPT, "tensor %s: does not fit the skeleton", ps);
    for (size_t d = 0; !rc && d < ndim; d++)
        shape[d] = (uint64_t)json_integer_value(json_array_get(sh, d));
    rf_obj *to = rc ? NULL : rf_obj_tensor_alloc(dtype, (int)ndim, shape);
    if (!rc && (!to || rf_tensor_bytes(dtype, (int)ndim, shape, &bytes)))
        rc = rf_errf(err, RF_ENOMEM, "tensor %s: cannot allocate", ps);
    size_t off = 0, i;
    json_t *b;
    json_array_foreach(json_object_get(t, "blocks"), i, b) {
        uint8_t id[RF_SHA256_LEN];
        const uint8_t *raw;
        size_t n;
        int depth;
        if (rc)
            break;
        const char *hex = json_string_value(b);
        if (!hex || strlen(hex) != 64 || rf_unhex(id, hex, RF_SHA256_LEN))
            rc = rf_errf(err, RF_ECORRUPT, "tensor %s: bad block id", ps);
        else if (rf_ckrepo_block(r, id, &raw, &n, &depth, err))
            rc = rf_err_prefix(err, "tensor %s block %zu", ps, i);
        else if (off + n > bytes)
            rc = rf_errf(err, RF_ECORRUPT, "tensor %s: blocks exceed its size", ps);
        else
            memcpy((uint8_t *)to->u.t.data + off, raw, n), off += n;
    }
    if (!rc && off != bytes)
        rc = rf_errf(err, RF_ECORRUPT, "tensor %s: blocks hold %zu of %zu bytes", ps, off,
                     bytes);
    /* no second hash of the tensor: every block was checked against its id,
     * and the block list comes from a version checked against its name */
    if (!rc) {   /* the nil placeholder becomes the tensor, in place */
        *node = *to;
        free(to);
    } else {
        rf_obj_free(to);
    }
    free(ps);
    return rc;
}

static int load_skeleton(rf_ckrepo *r, const json_t *v, rf_obj **root, rf_err *err)
{
    uint8_t id[RF_SHA256_LEN];
    const char *hex = json_string_value(json_object_get(v, "skeleton"));
    const uint8_t *raw;
    size_t n;
    int depth;
    if (!hex || strlen(hex) != 64 || rf_unhex(id, hex, RF_SHA256_LEN))
        return rf_errf(err, RF_ECORRUPT, "bad skeleton id");
    if (rf_ckrepo_block(r, id, &raw, &n, &depth, err) ||
        rf_artifact_read_mem(raw, n, NULL, NULL, root, err))
        return rf_err_prefix(err, "skeleton");
    return 0;
}

/* The version's payload tree, its tensors filled from their blocks. */
static int rebuild(rf_ckrepo *r, const json_t *v, rf_obj **root, rf_err *err)
{
    *root = NULL;
    int rc = load_skeleton(r, v, root, err);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(v, "tensors"), i, t) {
        if (rc || (rc = fill_tensor(r, *root, t, err)))
            break;
    }
    if (rc) {
        rf_obj_free(*root);
        *root = NULL;
    }
    return rc;
}

/* ---- verify: the payload's hash, straight from the cached blocks --------- */

typedef struct feed_ctx {
    rf_ckrepo *r;
    const json_t *tensors;    /* the version's list, in the tree's order */
    const rf_obj **nodes;     /* nodes[i]: the tree node of tensor i */
    size_t n;
} feed_ctx;

/* Put a data-less tensor node (dtype and shape only) where tensor t's nil
 * placeholder is: the hash pass feeds its bytes block by block. */
static int place_tensor(rf_obj *root, const json_t *t, rf_obj **at, rf_err *err)
{
    const json_t *sh = json_object_get(t, "shape");
    char *ps = path_str(json_object_get(t, "path"));
    rf_obj *node = at_path(root, json_object_get(t, "path"));
    int dtype = dtype_parse(json_string_value(json_object_get(t, "dtype")));
    size_t ndim = json_array_size(sh);
    int rc = 0;
    if (!node || node->type != RF_NIL || dtype < 0 || ndim > RF_TENSOR_MAXDIM)
        rc = rf_errf(err, RF_ECORRUPT, "tensor %s: does not fit the skeleton", ps);
    free(ps);
    if (rc)
        return -1;
    memset(node, 0, sizeof *node);
    node->type = RF_TENSOR;
    node->u.t.dtype = dtype;
    node->u.t.ndim = (int)ndim;
    for (size_t d = 0; d < ndim; d++)
        node->u.t.shape[d] = (uint64_t)json_integer_value(json_array_get(sh, d));
    *at = node;
    return 0;
}

static int feed_tensor(void *ud, const rf_obj *node, rf_payload_feed_ctx *f, rf_err *err)
{
    feed_ctx *x = ud;
    size_t k = 0;
    while (k < x->n && x->nodes[k] != node)
        k++;
    const json_t *t = json_array_get(x->tensors, k);
    if (!t)
        return rf_errf(err, RF_ECORRUPT, "a tensor of the skeleton is not in the version");
    char *ps = path_str(json_object_get(t, "path"));
    size_t i;
    json_t *b;
    int rc = 0;
    json_array_foreach(json_object_get(t, "blocks"), i, b) {
        uint8_t id[RF_SHA256_LEN];
        const uint8_t *raw;
        size_t n;
        int depth;
        const char *hex = json_string_value(b);
        if (!hex || strlen(hex) != 64 || rf_unhex(id, hex, RF_SHA256_LEN))
            rc = rf_errf(err, RF_ECORRUPT, "tensor %s: bad block id", ps);
        else if (rf_ckrepo_block(x->r, id, &raw, &n, &depth, err))
            rc = rf_err_prefix(err, "tensor %s block %zu", ps, i);
        else if (rf_payload_feed(f, raw, n) < 0)
            rc = -1;
        if (rc)
            break;
    }
    free(ps);
    return rc;
}

/* The SHA-256 (hex) of the version's payload, its tensors fed from the
 * blocks as they come, never assembled. */
static int payload_hash(rf_ckrepo *r, const json_t *v, char hex[RF_SHA256_HEX], rf_err *err)
{
    rf_obj *root = NULL;
    const json_t *tensors = json_object_get(v, "tensors");
    feed_ctx x = {r, tensors, NULL, json_array_size(tensors)};
    x.nodes = rf_xcalloc(x.n ? x.n : 1, sizeof *x.nodes);
    int rc = load_skeleton(r, v, &root, err);
    for (size_t i = 0; !rc && i < x.n; i++) {
        rf_obj *node = NULL;
        rc = place_tensor(root, json_array_get(tensors, i), &node, err);
        x.nodes[i] = node;
    }
    uint8_t sum[RF_SHA256_LEN];
    uint64_t size;
    if (!rc)
        rc = rf_payload_sha256_fed(root, feed_tensor, &x, &size, sum, err);
    if (!rc)
        rf_hex(hex, sum, RF_SHA256_LEN);
    rf_obj_free(root);
    free(x.nodes);
    return rc;
}

/* Check the version with one SHA-256, of the whole payload, instead of one
 * per chunk and then the payload again: blocks are decoded without their
 * own hashes (r->trust); only when the payload does not match are they read
 * again, each checked against its id, to name the damaged one. */
static int verify(rf_ckrepo *r, const json_t *v, rf_err *err)
{
    const char *want = json_string_value(json_object_get(v, "payload_sha256"));
    char hex[RF_SHA256_HEX] = "";
    rf_ckcache_reserve(r, 2 * (uint64_t)json_integer_value(json_object_get(v, "payload_bytes")));
    int trust = r->trust;
    r->trust = 1;
    int rc = payload_hash(r, v, hex, err);
    r->trust = trust;
    if (rc)
        return -1;
    if (want && !strcmp(want, hex))
        return 0;
    rf_ckcache_drop_unchecked(r);
    char again[RF_SHA256_HEX];
    if (payload_hash(r, v, again, err))   /* every chunk hashed: names the damaged one */
        return -1;
    return rf_errf(err, RF_ECORRUPT, "rebuilt payload SHA-256 %.16s... differs from the "
                   "recorded %.16s...", hex, want ? want : "");
}

int rf_ckrepo_checkout(rf_ckrepo *r, const char *id, const char *out_path, rf_err *err)
{
    json_t *v;
    if (rf_ckrepo_version(r, id, &v, err))
        return -1;
    int rc = verify(r, v, err);
    /* Only a version that verified is written (its blocks are in the cache
     * now), at the codec's default level, so that the file is the original
     * artifact byte for byte. */
    rf_obj *root = NULL;
    int trust = r->trust;
    r->trust = 1;   /* the write's own SHA-256 is compared below */
    if (!rc && out_path)
        rc = rebuild(r, v, &root, err);
    r->trust = trust;
    if (!rc && out_path) {
        const char *ctype = json_string_value(json_object_get(v, "content_type"));
        rf_artifact_info info;
        const char *want = json_string_value(json_object_get(v, "payload_sha256"));
        rc = rf_artifact_write(out_path, ctype ? ctype : "", root, NULL, &info, err);
        if (!rc && strcmp(want, info.sha256_hex)) {   /* a block re-read since */
            unlink(out_path);
            rc = rf_errf(err, RF_ECORRUPT, "written payload differs from the verified one");
        }
    }
    rf_obj_free(root);
    json_decref(v);
    return rc ? rf_err_prefix(err, "version %.12s", id) : 0;
}
