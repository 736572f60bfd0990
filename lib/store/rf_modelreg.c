/* rf_modelreg: model versions and the production pointer on a store; see
 * rf_modelreg.h. */
#include "store/rf_modelreg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void key_of(const rf_modelreg *m, const char *leaf, char *key, size_t n)
{
    snprintf(key, n, "%s%s%s", m->prefix, m->prefix[0] ? "/" : "", leaf);
}

void rf_modelreg_side_key(const rf_modelreg *m, const char *leaf, char *key, size_t n)
{
    key_of(m, leaf, key, n);
}

void rf_modelreg_init(rf_modelreg *m, rf_store *s, const char *prefix)
{
    m->store = s;
    snprintf(m->prefix, sizeof m->prefix, "%s", prefix ? prefix : "");
    size_t n = strlen(m->prefix);
    while (n > 0 && m->prefix[n - 1] == '/')
        m->prefix[--n] = '\0';
}

void rf_modelreg_key(const rf_modelreg *m, int v, char *key, size_t n)
{
    char leaf[32];
    snprintf(leaf, sizeof leaf, "versions/v%06d", v);
    key_of(m, leaf, key, n);
}

/* Parse "1 3 4\n"; an absent object is an empty history. */
int rf_modelreg_history(const rf_modelreg *m, int **v, size_t *n, rf_err *err)
{
    char key[600];
    key_of(m, "production", key, sizeof key);
    rf_buf b = {0};
    *v = NULL;
    *n = 0;
    if (rf_store_get_mem(m->store, key, &b, err) != 0) {
        rf_buf_free(&b);
        if (err && err->code == RF_ENOTFOUND) {
            rf_err_clear(err);
            return 0;
        }
        return rf_err_prefix(err, "model registry %s", m->prefix);
    }
    rf_buf_add(&b, "", 1);
    int *out = malloc(RF_MODELREG_MAXHIST * sizeof *out);
    size_t k = 0;
    const char *p = b.data;
    int rc = 0;
    while (*p) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p) {
            if (*p == ' ' || *p == '\n') {
                p++;
                continue;
            }
            rc = rf_errf(err, RF_ECORRUPT, "model registry %s: bad production object", key);
            break;
        }
        if (x <= 0 || k == RF_MODELREG_MAXHIST) {
            rc = rf_errf(err, RF_ECORRUPT, "model registry %s: bad version %ld", key, x);
            break;
        }
        out[k++] = (int)x;
        p = end;
    }
    rf_buf_free(&b);
    if (rc) {
        free(out);
        return -1;
    }
    *v = out;
    *n = k;
    return 0;
}

int rf_modelreg_current(const rf_modelreg *m, int *version, char *key, size_t n,
                        rf_err *err)
{
    int *h;
    size_t k;
    *version = 0;
    if (rf_modelreg_history(m, &h, &k, err) != 0)
        return -1;
    if (k == 0) {
        free(h);
        return rf_errf(err, RF_ENOTFOUND, "model registry %s: no production version",
                       m->prefix[0] ? m->prefix : "(root)");
    }
    *version = h[k - 1];
    free(h);
    if (key)
        rf_modelreg_key(m, *version, key, n);
    return 0;
}

static int write_history(const rf_modelreg *m, const int *h, size_t k, rf_err *err)
{
    rf_buf b = {0};
    for (size_t i = 0; i < k; i++)
        rf_buf_addf(&b, "%s%d", i ? " " : "", h[i]);
    rf_buf_adds(&b, "\n");
    char key[600];
    key_of(m, "production", key, sizeof key);
    int rc = rf_store_put_mem(m->store, key, b.data, b.len, NULL, err);
    rf_buf_free(&b);
    return rc;
}

/* Append one line to the log (read, add, write whole: the store has no
 * append). Reasons are kept on one line. */
static int log_line(const rf_modelreg *m, const char *action, int version,
                    const char *reason, rf_err *err)
{
    char key[600];
    key_of(m, "log", key, sizeof key);
    rf_buf b = {0};
    if (rf_store_get_mem(m->store, key, &b, err) != 0) {
        if (!err || err->code != RF_ENOTFOUND) {
            rf_buf_free(&b);
            return -1;
        }
        rf_err_clear(err);
        rf_buf_reset(&b);
    }
    rf_buf_addf(&b, "%lld %s %d ", (long long)time(NULL), action, version);
    for (const char *p = reason ? reason : ""; *p; p++)
        rf_buf_add(&b, *p == '\n' ? " " : p, 1);
    rf_buf_adds(&b, "\n");
    int rc = rf_store_put_mem(m->store, key, b.data, b.len, NULL, err);
    rf_buf_free(&b);
    return rc;
}

int rf_modelreg_promote(const rf_modelreg *m, const char *ckpt_path, const char *reason,
                        int *version, rf_err *err)
{
    int *h;
    size_t k;
    if (rf_modelreg_history(m, &h, &k, err) != 0)
        return -1;
    int next = 1;
    for (size_t i = 0; i < k; i++)
        if (h[i] >= next)
            next = h[i] + 1;
    if (k == RF_MODELREG_MAXHIST) {
        free(h);
        return rf_errf(err, RF_ETOOBIG, "model registry %s: history full", m->prefix);
    }
    /* numbers are never reused: a rolled-back version keeps its object */
    char key[600];
    int rc, ex;
    for (;;) {
        rf_modelreg_key(m, next, key, sizeof key);
        if ((ex = rf_store_exists(m->store, key, err)) <= 0)
            break;
        next++;
    }
    if (ex < 0) {
        free(h);
        return rf_err_prefix(err, "promote %s", ckpt_path);
    }
    rc = rf_store_put_file(m->store, key, ckpt_path, NULL, err);
    if (rc == 0) {
        h = realloc(h, (k + 1) * sizeof *h);
        h[k] = next;
        rc = write_history(m, h, k + 1, err);
    }
    free(h);
    if (rc == 0)
        rc = log_line(m, "promote", next, reason, err);
    if (rc != 0)
        return rf_err_prefix(err, "promote %s", ckpt_path);
    *version = next;
    return 0;
}

int rf_modelreg_reject(const rf_modelreg *m, const char *reason, rf_err *err)
{
    int cur = 0;
    if (rf_modelreg_current(m, &cur, NULL, 0, err) != 0) {
        if (!err || err->code != RF_ENOTFOUND)
            return -1;
        rf_err_clear(err);
    }
    return log_line(m, "reject", cur, reason, err);
}

int rf_modelreg_rollback(const rf_modelreg *m, const char *reason, int *version,
                         rf_err *err)
{
    int *h;
    size_t k;
    if (rf_modelreg_history(m, &h, &k, err) != 0)
        return -1;
    if (k < 2) {
        free(h);
        return rf_errf(err, RF_ESTATE, "model registry %s: no earlier version to roll back to",
                       m->prefix[0] ? m->prefix : "(root)");
    }
    int from = h[k - 1];
    int rc = write_history(m, h, k - 1, err);
    *version = h[k - 2];
    free(h);
    if (rc == 0) {
        char why[600];
        snprintf(why, sizeof why, "from %d%s%s", from, reason && *reason ? ": " : "",
                 reason ? reason : "");
        rc = log_line(m, "rollback", *version, why, err);
    }
    return rc;
}

int rf_modelreg_log(const rf_modelreg *m, rf_buf *out, rf_err *err)
{
    char key[600];
    key_of(m, "log", key, sizeof key);
    if (rf_store_get_mem(m->store, key, out, err) != 0) {
        if (!err || err->code != RF_ENOTFOUND)
            return -1;
        rf_err_clear(err);
    }
    return 0;
}
