/* rf_online: weighted fine-tuning, scoring and the promotion gate; see
 * rf_online.h. */
#include "ml/rf_online.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"

void rf_online_opts_default(rf_online_opts *o)
{
    o->batch = 32;
    o->epochs = 3;
    o->lr = 1e-3;
    o->ewc_lambda = 0;
}

static size_t n_out(const rf_mlp *net)
{
    return net->spec.sizes[net->spec.n_layers];
}

static int check_classes(const rf_mlp *net, const int32_t *y, size_t n, rf_err *err)
{
    size_t k = n_out(net);
    if (net->spec.loss != RF_LOSS_SOFTMAX_CE)
        return rf_errf(err, RF_EINVAL, "online training needs a classifier (softmax output)");
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || (size_t)y[i] >= k)
            return rf_errf(err, RF_EINVAL, "row %zu: class %d outside [0, %zu)", i, y[i], k);
    return 0;
}

/* Gather rows idx[0..b) into Xb and weighted targets into Tb (after the
 * forward pass, since t' depends on the output). */
static void gather(const float *X, size_t in, const uint32_t *idx, size_t b, float *Xb)
{
    for (size_t r = 0; r < b; r++)
        memcpy(Xb + r * in, X + (size_t)idx[r] * in, in * sizeof *Xb);
}

static void weighted_targets(const float *P, const int32_t *y, const float *w,
                             const uint32_t *idx, size_t b, size_t k, float *Tb)
{
    for (size_t r = 0; r < b; r++) {
        float wr = w ? w[idx[r]] : 1.0f;
        const float *p = P + r * k;
        float *t = Tb + r * k;
        for (size_t j = 0; j < k; j++) {
            float tj = (int32_t)j == y[idx[r]] ? 1.0f : 0.0f;
            t[j] = p[j] - wr * (p[j] - tj);
        }
    }
}

int rf_online_fit(rf_trainer *tr, const float *X, const int32_t *y, const float *w, size_t n,
                  const rf_online_opts *o, const rf_ewc *ewc, rf_err *err)
{
    rf_mlp *net = &tr->net;
    if (n == 0)
        return 0;
    if (check_classes(net, y, n, err) != 0)
        return -1;
    size_t B = o->batch ? o->batch : 32, in = net->spec.sizes[0], k = n_out(net);
    if (B > n)
        B = n;
    if (net->batch_cap < B && rf_mlp_reserve(net, B, err) != 0)
        return -1;
    if (ewc && ewc->n != net->n_params)
        return rf_errf(err, RF_EINVAL, "ewc: %zu parameters, network has %zu", ewc->n,
                       net->n_params);
    float *Xb = rf_xmalloc(B * in * sizeof *Xb), *Tb = rf_xmalloc(B * k * sizeof *Tb);
    uint32_t *perm = rf_xmalloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    int rc = 0;
    for (int e = 0; e < o->epochs && rc == 0; e++) {
        rf_rng_shuffle(&tr->rng, perm, n);
        for (size_t s = 0; s < n && rc == 0; s += B) {
            size_t b = n - s < B ? n - s : B;
            gather(X, in, perm + s, b, Xb);
            const float *P = rf_mlp_forward(net, Xb, b, 0.0f, NULL);
            weighted_targets(P, y, w, perm + s, b, k, Tb);
            rf_mlp_backward(net, Tb, b, 1.0f, 0, 0);
            if (ewc && o->ewc_lambda > 0)
                rf_ewc_add_grad(ewc, net->params, o->ewc_lambda, 1.0f, net->grads);
            double norm = rf_optim_step(&tr->opt, net, 0, o->lr);
            tr->step++;
            if (!isfinite(norm))
                rc = rf_errf(err, RF_EINVAL, "online update diverged at epoch %d", e + 1);
        }
    }
    free(Xb);
    free(Tb);
    free(perm);
    return rc;
}

int rf_online_score(rf_mlp *net, const float *X, const int32_t *y, size_t n, double *loss,
                    uint8_t *correct, double *acc, rf_err *err)
{
    *acc = NAN;
    if (n == 0)
        return 0;
    if (check_classes(net, y, n, err) != 0)
        return -1;
    size_t k = n_out(net);
    float *P = malloc(n * k * sizeof *P);
    if (!P || rf_mlp_predict(net, X, n, P) != 0) {
        free(P);
        return rf_errf(err, RF_ENOMEM, "scoring %zu rows", n);
    }
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        const float *p = P + i * k;
        size_t best = 0;
        for (size_t j = 1; j < k; j++)
            if (p[j] > p[best])
                best = j;
        int ok = (int32_t)best == y[i];
        hits += (size_t)ok;
        if (correct)
            correct[i] = (uint8_t)ok;
        if (loss)
            loss[i] = -log(p[y[i]] > 1e-30f ? p[y[i]] : 1e-30f);
    }
    free(P);
    *acc = (double)hits / (double)n;
    return 0;
}

/* "holdout 0.612 vs 0.640 (-2.8 points, 500 rows)" */
static int side_ok(const char *name, double cand, double prod, size_t n, double tol,
                   char *buf, size_t len)
{
    if (n == 0 || !isfinite(cand) || !isfinite(prod)) {
        snprintf(buf, len, "%s: no rows", name);
        return 1;
    }
    snprintf(buf, len, "%s %.3f vs %.3f (%+.1f points, %zu rows)", name, cand, prod,
             100 * (cand - prod), n);
    return cand >= prod - tol - 1e-12;
}

void rf_gate_decide(rf_gate *g)
{
    char h[112], nw[112];
    int ok_h = side_ok("holdout", g->cand_holdout, g->prod_holdout, g->n_holdout,
                       g->tolerance, h, sizeof h);
    int ok_n = side_ok("newest", g->cand_newest, g->prod_newest, g->n_newest, g->tolerance,
                       nw, sizeof nw);
    g->promote = ok_h && ok_n;
    snprintf(g->reason, sizeof g->reason, "%s: %s; %s (tolerance %.1f points)",
             g->promote ? "promoted" : "kept production", h, nw, 100 * g->tolerance);
}
