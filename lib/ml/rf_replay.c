/* rf_replay: prioritized experience replay; see rf_replay.h. */
#include "ml/rf_replay.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "store/rf_codec.h"

int rf_replay_init(rf_replay *r, size_t cap, size_t dim, rf_err *err)
{
    memset(r, 0, sizeof *r);
    if (cap == 0 || dim == 0 || cap > (SIZE_MAX / sizeof(float)) / dim)
        return rf_errf(err, RF_EINVAL, "replay buffer of %zu rows x %zu features", cap, dim);
    r->cap = cap;
    r->dim = dim;
    r->alpha = 0.6;
    r->beta = 0.4;
    r->eps = 1e-3;
    r->X = rf_xcalloc(cap * dim, sizeof *r->X);
    r->y = rf_xcalloc(cap, sizeof *r->y);
    r->loss = rf_xcalloc(cap, sizeof *r->loss);
    return 0;
}

void rf_replay_free(rf_replay *r)
{
    free(r->X);
    free(r->y);
    free(r->loss);
    memset(r, 0, sizeof *r);
}

void rf_replay_add(rf_replay *r, const float *x, int32_t y, double loss)
{
    size_t i = r->n < r->cap ? r->n++ : r->next;
    if (r->n == r->cap)
        r->next = (i + 1) % r->cap;
    memcpy(r->X + i * r->dim, x, r->dim * sizeof *x);
    r->y[i] = y;
    r->loss[i] = isfinite(loss) && loss > 0 ? loss : 0;
    r->added++;
}

double rf_replay_priority(const rf_replay *r, size_t i)
{
    return pow(r->loss[i] + r->eps, r->alpha);
}

/* First slot whose cumulative priority exceeds u (binary search). */
static size_t find_slot(const double *cum, size_t n, double u)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cum[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

size_t rf_replay_sample(const rf_replay *r, size_t k, rf_rng *rng, uint32_t *idx, float *w)
{
    if (r->n == 0 || k == 0)
        return 0;
    double *cum = rf_xmalloc(r->n * sizeof *cum), total = 0;
    for (size_t i = 0; i < r->n; i++)
        cum[i] = (total += rf_replay_priority(r, i));
    double wmax = 0;
    for (size_t j = 0; j < k; j++) {
        double u = (double)rf_rng_next(rng) / 18446744073709551616.0 * total;
        size_t i = find_slot(cum, r->n, u);
        idx[j] = (uint32_t)i;
        if (w) {
            double p = rf_replay_priority(r, i) / total;
            double wi = pow((double)r->n * p, -r->beta);
            w[j] = (float)wi;
            if (wi > wmax)
                wmax = wi;
        }
    }
    if (w && wmax > 0)
        for (size_t j = 0; j < k; j++)
            w[j] = (float)(w[j] / wmax);
    free(cum);
    return k;
}

void rf_replay_update(rf_replay *r, const uint32_t *idx, const double *loss, size_t k)
{
    for (size_t j = 0; j < k; j++)
        if (idx[j] < r->n)
            r->loss[idx[j]] = isfinite(loss[j]) && loss[j] > 0 ? loss[j] : 0;
}

static rf_obj *wrap(int dtype, int ndim, uint64_t a, uint64_t b, void *p)
{
    uint64_t shape[2] = {a, b};
    return rf_obj_tensor_wrap(dtype, ndim, shape, p);
}

int rf_replay_save(const char *path, const rf_replay *r, rf_err *err)
{
    rf_obj *m = rf_obj_map();
    rf_obj_set(m, "format", rf_obj_int(1));
    rf_obj_set(m, "alpha", rf_obj_float(r->alpha));
    rf_obj_set(m, "beta", rf_obj_float(r->beta));
    rf_obj_set(m, "eps", rf_obj_float(r->eps));
    rf_obj_set(m, "cap", rf_obj_int((int64_t)r->cap));
    rf_obj_set(m, "next", rf_obj_int((int64_t)r->next));
    rf_obj_set(m, "added", rf_obj_int((int64_t)r->added));
    rf_obj_set(m, "X", wrap(RF_F32, 2, r->n, r->dim, r->X));
    rf_obj_set(m, "y", wrap(RF_I32, 1, r->n, 0, r->y));
    rf_obj_set(m, "loss", wrap(RF_F64, 1, r->n, 0, r->loss));
    int rc = rf_artifact_write(path, RF_REPLAY_CTYPE, m, NULL, NULL, err);
    rf_obj_free(m);
    return rc ? rf_err_prefix(err, "replay buffer %s", path) : 0;
}

static int load_fields(const rf_obj *m, rf_replay *r, const char *path, rf_err *err)
{
    int64_t fmt = 0, cap = 0, next = 0, added = 0;
    double a = 0, b = 0, e = 0;
    rf_tensor *X = rf_obj_get_tensor(m, "X", RF_F32);
    rf_tensor *y = rf_obj_get_tensor(m, "y", RF_I32);
    rf_tensor *l = rf_obj_get_tensor(m, "loss", RF_F64);
    if (rf_obj_get_int(m, "format", &fmt) || fmt != 1 || rf_obj_get_int(m, "cap", &cap) ||
        rf_obj_get_int(m, "next", &next) || rf_obj_get_int(m, "added", &added) ||
        rf_obj_get_float(m, "alpha", &a) || rf_obj_get_float(m, "beta", &b) ||
        rf_obj_get_float(m, "eps", &e) || !X || !y || !l || X->ndim != 2 || y->ndim != 1 ||
        l->ndim != 1)
        return rf_errf(err, RF_ECORRUPT, "replay buffer %s: missing or mistyped fields", path);
    uint64_t n = X->shape[0];
    if (y->shape[0] != n || l->shape[0] != n || cap <= 0 || n > (uint64_t)cap ||
        next < 0 || (uint64_t)next >= (uint64_t)cap || X->shape[1] == 0 || added < (int64_t)n)
        return rf_errf(err, RF_ECORRUPT, "replay buffer %s: inconsistent shapes", path);
    if ((uint64_t)cap > RF_REPLAY_MAXCAP || X->shape[1] > RF_REPLAY_MAXCAP ||
        (uint64_t)cap * X->shape[1] > RF_REPLAY_MAXCELLS)
        return rf_errf(err, RF_ECORRUPT, "replay buffer %s: capacity %lld x %llu is over the "
                       "limit", path, (long long)cap, (unsigned long long)X->shape[1]);
    if (rf_replay_init(r, (size_t)cap, (size_t)X->shape[1], err))
        return rf_err_prefix(err, "replay buffer %s", path);
    r->n = (size_t)n;
    r->next = (size_t)next;
    r->added = (uint64_t)added;
    r->alpha = a;
    r->beta = b;
    r->eps = e;
    memcpy(r->X, X->data, n * r->dim * sizeof *r->X);
    memcpy(r->y, y->data, n * sizeof *r->y);
    memcpy(r->loss, l->data, n * sizeof *r->loss);
    return 0;
}

int rf_replay_load(const char *path, rf_replay *r, rf_err *err)
{
    rf_obj *m = NULL;
    rf_artifact_info info;
    memset(r, 0, sizeof *r);
    if (rf_artifact_read(path, NULL, &info, &m, err) != 0)
        return rf_err_prefix(err, "replay buffer %s does not decode", path);
    int rc;
    if (strcmp(info.content_type, RF_REPLAY_CTYPE) != 0)
        rc = rf_errf(err, RF_ECORRUPT, "%s: content type \"%s\", not %s", path,
                     info.content_type, RF_REPLAY_CTYPE);
    else
        rc = load_fields(m, r, path, err);
    rf_obj_free(m);
    return rc;
}
