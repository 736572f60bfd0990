/* rf_tier: hot/warm/cold placement, moves that never lose an object, and
 * reads from archived tiers; see rf_tier.h and docs/storage.md. */
#include "store/rf_tier.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int tier_ok(int tier)
{
    return tier >= 0 && tier < RF_TIER_COUNT;
}

static char *strip_slashes(const char *url)
{
    char *u = rf_xstrdup(url);
    size_t n = strlen(u);
    while (n > 1 && u[n - 1] == '/' && u[n - 2] != '/')   /* keeps "file:///" */
        u[--n] = '\0';
    return u;
}

/* "s3://bucket/p/q" -> bucket length and the prefix "p/q" (may be ""). */
static int s3_bucket(const char *url, size_t *blen, const char **prefix)
{
    if (strncmp(url, "s3://", 5))
        return 0;
    const char *b = url + 5, *slash = strchr(b, '/');
    *blen = slash ? (size_t)(slash - b) : strlen(b);
    *prefix = slash ? slash + 1 : "";
    return 1;
}

/* Open (or share) the bucket of each S3 tier, for server-side moves. */
static int open_buckets(rf_tiers *t, const rf_config *cfg, rf_err *err)
{
    for (int i = 0; i < RF_TIER_COUNT; i++) {
        size_t blen;
        const char *prefix;
        if (!s3_bucket(t->url[i], &blen, &prefix))
            continue;
        rf_buf b = RF_BUF_INIT;
        rf_buf_addf(&b, "%s%s", prefix, *prefix ? "/" : "");
        t->bucket_prefix[i] = rf_buf_detach(&b, NULL);
        for (int j = 0; j < i && !t->bucket[i]; j++)
            if (t->bucket[j] && !strncmp(t->url[j], t->url[i], 5 + blen) &&
                (t->url[j][5 + blen] == '/' || t->url[j][5 + blen] == '\0'))
                t->bucket[i] = t->bucket[j];
        if (t->bucket[i])
            continue;
        char *url = rf_xmalloc(5 + blen + 1);
        memcpy(url, t->url[i], 5 + blen);
        url[5 + blen] = '\0';
        int rc = rf_store_open(url, cfg, &t->bucket[i], err);
        free(url);
        if (rc)
            return -1;
    }
    return 0;
}

int rf_tiers_open(rf_tiers *t, const rf_config *cfg, rf_err *err)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < RF_TIER_COUNT; i++) {
        const rf_tier_conf *tc = &cfg->tiers[i];
        if (!tc->url) {
            rf_tiers_close(t);
            return rf_errf(err, RF_EINVAL, "tier %s: no URL configured", rf_tier_name(i));
        }
        t->url[i] = strip_slashes(tc->url);
        t->storage_class[i] = tc->storage_class ? rf_xstrdup(tc->storage_class) : NULL;
        if (rf_store_open(t->url[i], cfg, &t->store[i], err)) {
            rf_tiers_close(t);
            return rf_err_prefix(err, "tier %s", rf_tier_name(i));
        }
    }
    if (open_buckets(t, cfg, err)) {
        rf_tiers_close(t);
        return rf_err_prefix(err, "tiers");
    }
    return 0;
}

void rf_tiers_close(rf_tiers *t)
{
    for (int i = 0; i < RF_TIER_COUNT; i++) {
        int shared = 0;
        for (int j = 0; j < i; j++)
            shared |= t->bucket[j] == t->bucket[i];
        if (!shared)
            rf_store_close(t->bucket[i]);
        rf_store_close(t->store[i]);
        free(t->url[i]);
        free(t->storage_class[i]);
        free(t->bucket_prefix[i]);
    }
    memset(t, 0, sizeof *t);
}

int rf_tiers_locate(const rf_tiers *t, const char *url, int *tier, char **key, rf_err *err)
{
    int best = -1;
    size_t best_len = 0;
    for (int i = 0; i < RF_TIER_COUNT; i++) {
        size_t n = strlen(t->url[i]);
        if (!strncmp(url, t->url[i], n) && url[n] == '/' && n >= best_len) {
            best = i;
            best_len = n;
        }
    }
    if (best < 0)
        return rf_errf(err, RF_EINVAL, "%s is in no tier (hot %s, warm %s, cold %s)", url,
                       t->url[0], t->url[1], t->url[2]);
    const char *k = url + best_len + 1;
    if (rf_store_key_valid(k, err))
        return rf_err_prefix(err, "%s", url);
    *tier = best;
    *key = rf_xstrdup(k);
    return 0;
}

/* ---- placing and reading ---- */

static rf_put_opts tier_opts(const rf_tiers *t, int tier)
{
    rf_put_opts o = {t->storage_class[tier], NULL};
    return o;
}

int rf_tier_put_file(rf_tiers *t, int tier, const char *key, const char *path, rf_err *err)
{
    if (!tier_ok(tier))
        return rf_errf(err, RF_EINVAL, "tier %d: no such tier", tier);
    rf_put_opts o = tier_opts(t, tier);
    if (rf_store_put_file(t->store[tier], key, path, &o, err))
        return rf_err_prefix(err, "tier %s", rf_tier_name(tier));
    return 0;
}

int rf_tier_put_mem(rf_tiers *t, int tier, const char *key, const void *p, size_t n,
                    rf_err *err)
{
    if (!tier_ok(tier))
        return rf_errf(err, RF_EINVAL, "tier %d: no such tier", tier);
    rf_put_opts o = tier_opts(t, tier);
    if (rf_store_put_mem(t->store[tier], key, p, n, &o, err))
        return rf_err_prefix(err, "tier %s", rf_tier_name(tier));
    return 0;
}

int rf_tier_find(rf_tiers *t, const char *key, int *tier, rf_store_meta *m, rf_err *err)
{
    for (int i = 0; i < RF_TIER_COUNT; i++) {
        rf_err e = {0};
        if (rf_store_head(t->store[i], key, m, &e) == 0) {
            *tier = i;
            return 1;
        }
        if (e.code != RF_ENOTFOUND) {
            if (err)
                *err = e;
            return rf_err_prefix(err, "tier %s", rf_tier_name(i));
        }
    }
    return 0;
}

int rf_tier_readable(rf_tiers *t, int tier, const char *key, rf_store_meta *m, rf_err *err)
{
    rf_store_meta local;
    if (!m)
        m = &local;
    if (!tier_ok(tier))
        return rf_errf(err, RF_EINVAL, "tier %d: no such tier", tier);
    if (rf_store_head(t->store[tier], key, m, err))
        return rf_err_prefix(err, "tier %s", rf_tier_name(tier));
    switch (m->restore_state) {
    case 1: {
        rf_err e = {0};
        if (rf_store_restore(t->store[tier], key, RF_TIER_RESTORE_DAYS, &e) &&
            e.code != RF_ECONFLICT) {   /* ECONFLICT: someone else started it */
            if (err)
                *err = e;
            return rf_err_prefix(err, "%s/%s: archived (%s); starting restore",
                                 t->url[tier], key, m->storage_class);
        }
        return rf_errf(err, RF_ESTATE,
                       "%s/%s: restore required: the object is archived (%s); a restore "
                       "has been started, retry once `ruvflow store head` shows it restored",
                       t->url[tier], key, m->storage_class);
    }
    case 2:
        return rf_errf(err, RF_ESTATE,
                       "%s/%s: restore in progress (%s); retry when it completes",
                       t->url[tier], key, m->storage_class);
    default:
        return 0;
    }
}

int rf_tier_get_mem(rf_tiers *t, int tier, const char *key, rf_buf *out, rf_err *err)
{
    if (rf_tier_readable(t, tier, key, NULL, err))
        return -1;
    if (rf_store_get_mem(t->store[tier], key, out, err))
        return rf_err_prefix(err, "tier %s", rf_tier_name(tier));
    return 0;
}

int rf_tier_get_file(rf_tiers *t, int tier, const char *key, const char *path, rf_err *err)
{
    if (rf_tier_readable(t, tier, key, NULL, err))
        return -1;
    if (rf_store_get_file(t->store[tier], key, path, err))
        return rf_err_prefix(err, "tier %s", rf_tier_name(tier));
    return 0;
}

/* ---- moving ---- */

/* A content MD5 etag: 32 hex digits, quoted or not. Multipart and file://
 * etags are not (they contain a '-'). */
static int md5_etag(const char *e)
{
    size_t n = strlen(e), q = n == 34 && e[0] == '"' && e[33] == '"';
    if (n != 32 + 2 * q)
        return 0;
    for (size_t i = q; i < 32 + q; i++)
        if (!isxdigit((unsigned char)e[i]))
            return 0;
    return 1;
}

static int copy_between(rf_tiers *t, const char *key, int from, int to, rf_err *err)
{
    rf_put_opts o = tier_opts(t, to);
    if (!t->bucket[from] || t->bucket[from] != t->bucket[to])
        return rf_store_transfer(t->store[from], key, t->store[to], key, &o, err);
    rf_buf src = RF_BUF_INIT, dst = RF_BUF_INIT;
    rf_buf_addf(&src, "%s%s", t->bucket_prefix[from], key);
    rf_buf_addf(&dst, "%s%s", t->bucket_prefix[to], key);
    int rc = rf_store_copy(t->bucket[from], src.data, dst.data, &o, err);
    rf_buf_free(&src);
    rf_buf_free(&dst);
    return rc;
}

/* The copy must match the source before the source may go. */
static int verify_copy(rf_tiers *t, const char *key, int to, const rf_store_meta *src,
                       rf_err *err)
{
    rf_store_meta m;
    if (rf_store_head(t->store[to], key, &m, err))
        return rf_err_prefix(err, "verify copy");
    if (m.size != src->size)
        return rf_errf(err, RF_ECORRUPT, "verify copy %s: %llu bytes, source has %llu", key,
                       (unsigned long long)m.size, (unsigned long long)src->size);
    if (md5_etag(m.etag) && md5_etag(src->etag) && strcmp(m.etag, src->etag))
        return rf_errf(err, RF_ECORRUPT, "verify copy %s: etag %s, source has %s", key,
                       m.etag, src->etag);
    return 0;
}

int rf_tier_move(rf_tiers *t, const char *key, int from, int to, rf_err *err)
{
    if (!tier_ok(from) || !tier_ok(to))
        return rf_errf(err, RF_EINVAL, "move %s: no such tier", key);
    const char *fn = rf_tier_name(from), *tn = rf_tier_name(to);
    rf_store_meta src;
    /* An archived source cannot be copied until restored (S3 answers
     * InvalidObjectState); this also starts the restore. */
    if (rf_tier_readable(t, from, key, &src, err))
        return rf_err_prefix(err, "move %s %s->%s", key, fn, tn);
    if (from == to)
        return 0;
    if (!strcmp(t->url[from], t->url[to])) {
        /* Same place, other class: an in-place copy changes the class; the
         * object is never absent, so there is nothing to delete. */
        rf_put_opts o = tier_opts(t, to);
        if (rf_store_copy(t->store[to], key, key, &o, err))
            return rf_err_prefix(err, "move %s %s->%s", key, fn, tn);
        return 0;
    }
    if (copy_between(t, key, from, to, err))
        return rf_err_prefix(err, "move %s %s->%s (source kept)", key, fn, tn);
    if (verify_copy(t, key, to, &src, err)) {
        rf_err e = {0};
        rf_store_delete(t->store[to], key, &e);   /* a bad copy must not linger */
        return rf_err_prefix(err, "move %s %s->%s (source kept)", key, fn, tn);
    }
    if (rf_store_delete(t->store[from], key, err))
        return rf_err_prefix(err, "move %s %s->%s: copied, but deleting the source failed",
                             key, fn, tn);
    return 0;
}

int rf_tier_transition(rf_tiers *t, const char *key, int from, int to, rf_err *err)
{
    if (to < from)
        return rf_errf(err, RF_EINVAL,
                       "transition %s %s->%s: automatic transitions only go colder; "
                       "bring an object back with an explicit move",
                       key, rf_tier_name(from), rf_tier_name(to));
    return rf_tier_move(t, key, from, to, err);
}
