/* rf_ewc: Elastic Weight Consolidation penalty; see rf_ewc.h. */
#include "ml/rf_ewc.h"

#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"

int rf_ewc_fit(rf_ewc *e, rf_mlp *net, const float *X, const float *T, size_t rows,
               rf_err *err)
{
    memset(e, 0, sizeof *e);
    if (rows == 0)
        return rf_errf(err, RF_EINVAL, "ewc: no rows to estimate the Fisher information on");
    if (net->batch_cap < 1 && rf_mlp_reserve(net, 1, err) != 0)
        return rf_err_prefix(err, "ewc");
    size_t n = net->n_params, in = net->spec.sizes[0];
    size_t out = net->spec.sizes[net->spec.n_layers];
    e->n = n;
    e->anchor = rf_xmalloc(n * sizeof *e->anchor);
    e->fisher = rf_xcalloc(n, sizeof *e->fisher);
    memcpy(e->anchor, net->params, n * sizeof *e->anchor);
    for (size_t r = 0; r < rows; r++) {
        rf_mlp_forward(net, X + r * in, 1, 0.0f, NULL);
        rf_mlp_backward(net, T + r * out, 1, 1.0f, 0, 0);
        for (size_t j = 0; j < n; j++)
            e->fisher[j] += net->grads[j] * net->grads[j];
    }
    for (size_t j = 0; j < n; j++)
        e->fisher[j] /= (float)rows;
    return 0;
}

void rf_ewc_free(rf_ewc *e)
{
    free(e->anchor);
    free(e->fisher);
    memset(e, 0, sizeof *e);
}

double rf_ewc_penalty(const rf_ewc *e, const float *params, double lambda)
{
    double s = 0;
    for (size_t j = 0; j < e->n; j++) {
        double d = (double)params[j] - e->anchor[j];
        s += e->fisher[j] * d * d;
    }
    return 0.5 * lambda * s;
}

void rf_ewc_add_grad(const rf_ewc *e, const float *params, double lambda, float scale,
                     float *grads)
{
    float k = (float)lambda * scale;
    for (size_t j = 0; j < e->n; j++)
        grads[j] += k * e->fisher[j] * (params[j] - e->anchor[j]);
}
