/* rf_ckgc: writer/gc locks and mark-and-sweep garbage collection of the
 * chunks no version references.
 *
 * Safety against a racing writer: a writer puts locks/writer-<id> before its
 * first chunk and then checks locks/gc; gc puts locks/gc and then lists the
 * writer locks. On a strongly consistent store (file://, S3) at least one of
 * the two sees the other: the writer waits, or gc gives up (RF_ECONFLICT).
 * A lock names its host and process: gc removes the lock of a process of
 * its own host that no longer exists (kill -9), others expire after an hour.
 * The grace period covers what crashed writers left behind: an unreferenced
 * chunk younger than it is never deleted. */
#include "store/rf_ckrepo_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOCK_TTL_S 3600
#define WRITER_WAIT_MS 30000

static int lock_fresh(rf_ckrepo *r, const char *key, rf_err *err)
{
    rf_store_meta m;
    if (rf_store_head(r->store, key, &m, err))
        return err && err->code == RF_ENOTFOUND ? 0 : -1;
    return (long)(time(NULL) - m.mtime) < LOCK_TTL_S;
}

int rf_ckrepo_lock_writer(rf_ckrepo *r, rf_err *err)
{
    char gc[256];
    rf_ckrepo_key(r, gc, sizeof gc, "locks/gc");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rf_ckrepo_key(r, r->lock_key, sizeof r->lock_key, "locks/writer-%ld-%ld%09ld",
                  (long)getpid(), (long)ts.tv_sec, ts.tv_nsec);
    for (int waited = 0;; waited += 50) {
        char who[320], host[256] = "";
        gethostname(host, sizeof host - 1);
        snprintf(who, sizeof who, "%s %ld\n", host, (long)getpid());
        if (rf_store_put_mem(r->store, r->lock_key, who, strlen(who), NULL, err)) {
            r->lock_key[0] = 0;
            return rf_err_prefix(err, "taking the writer lock");
        }
        int busy = lock_fresh(r, gc, err);
        if (busy == 0)
            return 0;
        rf_store_delete(r->store, r->lock_key, NULL);
        if (busy < 0 || waited >= WRITER_WAIT_MS) {
            r->lock_key[0] = 0;
            return busy < 0 ? -1 : rf_errf(err, RF_ECONFLICT, "garbage collection is "
                                           "running (%s); try again later", gc);
        }
        usleep(50 * 1000);
    }
}

void rf_ckrepo_unlock_writer(rf_ckrepo *r)
{
    if (r->lock_key[0])
        rf_store_delete(r->store, r->lock_key, NULL);
    r->lock_key[0] = 0;
}

/* ---- mark ---------------------------------------------------------------- */

static int id_cmp(const void *a, const void *b)
{
    return memcmp(a, b, RF_SHA256_LEN);
}

void rf_ckidset_add(rf_ckidset *s, const uint8_t *id)
{
    if (s->len == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->ids = rf_xrealloc(s->ids, s->cap * RF_SHA256_LEN);
    }
    memcpy(s->ids[s->len++], id, RF_SHA256_LEN);
}

int rf_ckidset_has(const rf_ckidset *s, const uint8_t *id)
{
    return s->len && bsearch(id, s->ids, s->len, RF_SHA256_LEN, id_cmp) != NULL;
}

void rf_ckidset_sort(rf_ckidset *s)
{
    if (s->len)
        qsort(s->ids, s->len, RF_SHA256_LEN, id_cmp);
}

static int add_hex(rf_ckidset *s, const char *hex)
{
    uint8_t id[RF_SHA256_LEN];
    if (!hex || strlen(hex) != 64 || rf_unhex(id, hex, RF_SHA256_LEN))
        return -1;
    rf_ckidset_add(s, id);
    return 0;
}

int rf_ckidset_add_version(rf_ckrepo *r, const char *vid, rf_ckidset *live, rf_err *err)
{
    json_t *v;
    if (rf_ckrepo_version(r, vid, &v, err))
        return -1;
    int bad = add_hex(live, json_string_value(json_object_get(v, "skeleton")));
    size_t i, j;
    json_t *t, *b;
    json_array_foreach(json_object_get(v, "tensors"), i, t)
        json_array_foreach(json_object_get(t, "blocks"), j, b)
            bad |= add_hex(live, json_string_value(b));
    json_decref(v);
    return bad ? rf_errf(err, RF_ECORRUPT, "version %.12s: bad chunk id", vid) : 0;
}

/* Delta bases: add the base of every marked chunk until nothing changes
 * (cold chunks are keyframes: no base). */
static int mark_bases(rf_ckrepo *r, rf_ckidset *live, rf_err *err)
{
    for (size_t i = 0; i < live->len; i++) {
        uint8_t h[RF_CHUNK_HEADER];
        int tier, rc = rf_cktier_header(r, live->ids[i], h, &tier, err);
        if (rc < 0 && err->code == RF_ENOTFOUND)
            continue;   /* verify reports missing chunks; gc only keeps */
        if (rc < 0)
            return -1;
        if (rc == 1 && h[5] == RF_CHUNK_DELTA)
            rf_ckidset_add(live, h + 16);
    }
    rf_ckidset_sort(live);
    return 0;
}

typedef struct sweep_ctx {
    const rf_ckidset *live;
    long grace_s;
    time_t now;
    size_t skip;
    rf_ckgc_stats *st;
    char **dead;
    size_t n_dead, cap_dead;
} sweep_ctx;

static void dead_add(sweep_ctx *x, const char *key)
{
    if (x->n_dead == x->cap_dead) {
        x->cap_dead = x->cap_dead ? 2 * x->cap_dead : 256;
        x->dead = rf_xrealloc(x->dead, x->cap_dead * sizeof *x->dead);
    }
    x->dead[x->n_dead++] = rf_xstrdup(key);
}

static int sweep_cb(void *ud, const char *key, const rf_store_meta *m)
{
    sweep_ctx *x = ud;
    const char *hex = strrchr(key, '/');
    uint8_t id[RF_SHA256_LEN];
    if (!hex || strlen(hex + 1) != 64 || rf_unhex(id, hex + 1, RF_SHA256_LEN))
        return 0;
    if (rf_ckidset_has(x->live, id)) {
        x->st->live_chunks++;
        return 0;
    }
    if ((long)(x->now - m->mtime) < x->grace_s) {
        x->st->young_chunks++;
        return 0;
    }
    dead_add(x, key);
    x->st->deleted_chunks++;
    x->st->deleted_bytes += m->size;
    return 0;
}

/* A cold pack goes (the pack, then its index) when none of its members is
 * live and its index is older than the grace period. */
static int sweep_packs(rf_ckrepo *r, sweep_ctx *x, rf_err *err)
{
    rf_cktier_packs_forget(r);   /* the store's, not what this process saw */
    if (rf_cktier_packs(r, err))
        return -1;
    const char *ikey;
    json_t *idx;
    json_object_foreach(r->packs, ikey, idx) {
        const char *hex;
        json_t *at;
        int live = 0;
        json_object_foreach(json_object_get(idx, "chunks"), hex, at) {
            uint8_t id[RF_SHA256_LEN];
            live |= strlen(hex) != 64 || rf_unhex(id, hex, RF_SHA256_LEN) ||
                    rf_ckidset_has(x->live, id);
        }
        const char *pack = json_string_value(json_object_get(idx, "pack"));
        rf_store_meta m;
        if (live || !pack || rf_store_head(r->store, ikey, &m, NULL) ||
            (long)(x->now - m.mtime) < x->grace_s)
            continue;
        dead_add(x, pack);
        dead_add(x, ikey);
        x->st->deleted_packs++;
    }
    rf_cktier_packs_forget(r);
    return 0;
}

static int gc_locked(rf_ckrepo *r, long grace_s, int dry_run, rf_ckgc_stats *st, rf_err *err)
{
    json_t *all;
    if (rf_ckrepo_versions(r, &all, err))
        return -1;
    rf_ckidset live = {0};
    size_t i;
    json_t *v;
    int rc = 0;
    st->versions = json_array_size(all);
    json_array_foreach(all, i, v) {
        if ((rc = rf_ckidset_add_version(r, json_string_value(v), &live, err)))
            break;
    }
    json_decref(all);
    if (!rc)
        rc = mark_bases(r, &live, err);
    sweep_ctx x = {&live, grace_s, time(NULL), 0, st, NULL, 0, 0};
    static const char *const dirs[] = {"chunks/", "warm/chunks/", "cold/chunks/"};
    for (size_t d = 0; d < 3 && !rc; d++) {
        char pfx[256];
        rf_ckrepo_key(r, pfx, sizeof pfx, "%s", dirs[d]);
        if (rf_store_list(r->store, pfx, 1, sweep_cb, &x, err) && err->code != RF_ENOTFOUND)
            rc = -1;
    }
    if (!rc)
        rc = sweep_packs(r, &x, err);
    if (!rc && !dry_run && x.n_dead)
        rc = rf_store_delete_many(r->store, (const char *const *)x.dead, x.n_dead, err);
    for (size_t k = 0; k < x.n_dead; k++)
        free(x.dead[k]);
    free(x.dead);
    free(live.ids);
    return rc;
}

typedef struct writers_ctx {
    rf_ckrepo *r;
    char first[512];
    size_t n;
    time_t now;
} writers_ctx;

/* A lock of a dead process on this host: removed, not counted. */
static int lock_dead(rf_ckrepo *r, const char *key)
{
    rf_buf b = RF_BUF_INIT;
    char host[256] = "", lhost[256];
    long pid = 0;
    int dead = 0;
    gethostname(host, sizeof host - 1);
    if (!rf_store_get_mem(r->store, key, &b, NULL) && b.data &&
        sscanf(b.data, "%255s %ld", lhost, &pid) == 2 && !strcmp(lhost, host) && pid > 0 &&
        kill((pid_t)pid, 0) < 0 && errno == ESRCH)
        dead = !rf_store_delete(r->store, key, NULL);
    rf_buf_free(&b);
    return dead;
}

static int writer_cb(void *ud, const char *key, const rf_store_meta *m)
{
    writers_ctx *x = ud;
    if ((long)(x->now - m->mtime) < LOCK_TTL_S && !lock_dead(x->r, key) && !x->n++)
        snprintf(x->first, sizeof x->first, "%s", key);
    return 0;
}

int rf_ckrepo_gc(rf_ckrepo *r, long grace_s, int dry_run, rf_ckgc_stats *st, rf_err *err)
{
    memset(st, 0, sizeof *st);
    char gc[256], pfx[256];
    rf_ckrepo_key(r, gc, sizeof gc, "locks/gc");
    rf_ckrepo_key(r, pfx, sizeof pfx, "locks/writer-");
    if (rf_store_put_mem(r->store, gc, "gc\n", 3, NULL, err))
        return rf_err_prefix(err, "taking the gc lock");
    writers_ctx w = {r, {0}, 0, time(NULL)};
    int rc = rf_store_list(r->store, pfx, 1, writer_cb, &w, err);
    if (rc && err->code == RF_ENOTFOUND)
        rc = 0;
    if (!rc && w.n)
        rc = rf_errf(err, RF_ECONFLICT, "%zu writer(s) active (%s); nothing deleted", w.n,
                     w.first);
    if (!rc)
        rc = gc_locked(r, grace_s, dry_run, st, err);
    rf_store_delete(r->store, gc, NULL);
    return rc ? rf_err_prefix(err, "gc") : 0;
}
