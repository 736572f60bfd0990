/* rf_ckpt_merge: average, weighted and three-way merges of checkpoints. */
#include "ml/rf_ckpt_merge.h"

#include <math.h>
#include <string.h>

#include "ml/rf_checkpoint.h"
#include "store/rf_codec.h"

static int compatible(const rf_checkpoint *a, const rf_checkpoint *b, const char *what,
                      rf_err *err)
{
    int same = a->spec.n_layers == b->spec.n_layers && a->n_params == b->n_params &&
               a->spec.hidden_act == b->spec.hidden_act && a->spec.out_act == b->spec.out_act;
    for (size_t i = 0; same && i <= a->spec.n_layers; i++)
        same = a->spec.sizes[i] == b->spec.sizes[i];
    if (same)
        return 0;
    char sa[128] = "", sb[128] = "";
    for (size_t i = 0, o = 0; i <= a->spec.n_layers && o < sizeof sa; i++)
        o += (size_t)snprintf(sa + o, sizeof sa - o, "%s%zu", i ? "-" : "", a->spec.sizes[i]);
    for (size_t i = 0, o = 0; i <= b->spec.n_layers && o < sizeof sb; i++)
        o += (size_t)snprintf(sb + o, sizeof sb - o, "%s%zu", i ? "-" : "", b->spec.sizes[i]);
    return rf_errf(err, RF_EINVAL, "cannot merge incompatible networks: the first is %s, %s "
                   "is %s", sa, what, sb);
}

static void combine(float *a, const float *b, const float *base, size_t n, int kind, double w)
{
    for (size_t i = 0; i < n; i++) {
        double x = a[i], y = b[i];
        a[i] = (float)(kind == RF_MERGE_THREEWAY ? x + y - (double)base[i]
                       : kind == RF_MERGE_WEIGHTED ? (1 - w) * x + w * y : 0.5 * (x + y));
    }
}

static float *vec(const rf_checkpoint *c, const char *key)
{
    rf_tensor *t = rf_obj_get_tensor(c->root, key, RF_F32);
    return t && t->ndim == 1 && t->shape[0] == c->n_params ? t->data : NULL;
}

int rf_ckpt_merge_files(const char *a, const char *b, const char *base, int kind, double w,
                        const char *out, rf_err *err)
{
    if (kind == RF_MERGE_THREEWAY && !base)
        return rf_errf(err, RF_EINVAL, "a three-way merge needs a base checkpoint");
    if (kind == RF_MERGE_WEIGHTED && !(w >= 0 && w <= 1))
        return rf_errf(err, RF_EINVAL, "merge weight %g is not in [0, 1]", w);
    rf_checkpoint ca, cb, cbase;
    memset(&cbase, 0, sizeof cbase);
    if (rf_checkpoint_read(a, &ca, err))
        return -1;
    if (rf_checkpoint_read(b, &cb, err)) {
        rf_checkpoint_free(&ca);
        return -1;
    }
    int rc = compatible(&ca, &cb, "the second", err);
    if (!rc && kind == RF_MERGE_THREEWAY)
        rc = rf_checkpoint_read(base, &cbase, err) || compatible(&ca, &cbase, "the base", err);
    static const char *const keys[2] = {"params", "best"};
    for (int k = 0; k < 2 && !rc; k++) {
        float *pa = vec(&ca, keys[k]), *pb = vec(&cb, keys[k]);
        float *pbase = kind == RF_MERGE_THREEWAY ? vec(&cbase, keys[k]) : NULL;
        if (!pa || !pb || (kind == RF_MERGE_THREEWAY && !pbase))
            continue;   /* "best" is optional; "params" is checked by read */
        combine(pa, pb, pbase, ca.n_params, kind, w);
    }
    if (!rc)
        rc = rf_artifact_write(out, RF_CKPT_CTYPE, ca.root, NULL, NULL, err);
    rf_checkpoint_free(&ca);
    rf_checkpoint_free(&cb);
    rf_checkpoint_free(&cbase);
    return rc ? rf_err_prefix(err, "merge") : 0;
}
