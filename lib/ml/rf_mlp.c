/* rf_mlp: batched forward and backward passes as cblas_sgemm calls. */
#include "ml/rf_mlp.h"

/* The elementwise loops are the part of a pass that is ours; gcc's -O2 cost
 * model ("very cheap") leaves loops with a remainder unvectorized, so ask
 * for the normal one here (4-8x on activations and their derivatives). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic")
#endif

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const act_names[RF_ACT_COUNT] = {
    "linear", "relu", "leaky_relu", "tanh", "sigmoid", "sigmoid_symmetric"
};
static const char *const loss_names[RF_LOSS_COUNT] = {"softmax_ce", "bce", "mse"};

const char *rf_act_name(int act)
{
    return act >= 0 && act < RF_ACT_COUNT ? act_names[act] : "?";
}

int rf_act_parse(const char *s)
{
    for (int i = 0; i < RF_ACT_COUNT; i++)
        if (!strcmp(s, act_names[i]))
            return i;
    if (!strcmp(s, "leaky") || !strcmp(s, "leaky-relu"))
        return RF_ACT_LEAKY_RELU;
    if (!strcmp(s, "sigmoid-symmetric") || !strcmp(s, "sigmoid_sym"))
        return RF_ACT_SIGMOID_SYM;
    return -1;
}

const char *rf_loss_name(int loss)
{
    return loss >= 0 && loss < RF_LOSS_COUNT ? loss_names[loss] : "?";
}

int rf_loss_parse(const char *s)
{
    for (int i = 0; i < RF_LOSS_COUNT; i++)
        if (!strcmp(s, loss_names[i]))
            return i;
    if (!strcmp(s, "cross_entropy") || !strcmp(s, "ce"))
        return RF_LOSS_SOFTMAX_CE;
    return -1;
}

static void *falloc(size_t n)
{
    /* 64-byte alignment keeps sgemm and the vector loops on whole lines. */
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes);
}

int rf_mlp_init(rf_mlp *net, const rf_mlp_spec *spec, rf_err *err)
{
    memset(net, 0, sizeof *net);
    if (spec->n_layers < 1 || spec->n_layers > RF_MLP_MAXLAYERS)
        return rf_errf(err, RF_EINVAL, "network needs 1..%d layers, got %zu",
                       RF_MLP_MAXLAYERS, spec->n_layers);
    if (spec->hidden_act < 0 || spec->hidden_act >= RF_ACT_COUNT || spec->out_act < 0 ||
        spec->out_act >= RF_ACT_COUNT || spec->loss < 0 || spec->loss >= RF_LOSS_COUNT)
        return rf_errf(err, RF_EINVAL, "unknown activation or loss");
    if (spec->loss == RF_LOSS_SOFTMAX_CE && spec->out_act != RF_ACT_LINEAR)
        return rf_errf(err, RF_EINVAL, "softmax cross-entropy needs a linear output layer");
    if (spec->loss == RF_LOSS_BCE && spec->out_act != RF_ACT_SIGMOID)
        return rf_errf(err, RF_EINVAL, "binary cross-entropy needs a sigmoid output layer");
    net->spec = *spec;
    if (net->spec.leaky_alpha == 0)
        net->spec.leaky_alpha = 0.01f;
    size_t off = 0;
    for (size_t l = 0; l < spec->n_layers; l++) {
        size_t in = spec->sizes[l], out = spec->sizes[l + 1];
        if (in == 0 || out == 0 || in > (1u << 20) || out > (1u << 20))
            return rf_errf(err, RF_EINVAL, "layer %zu has a bad size %zu x %zu", l, in, out);
        rf_layer *L = &net->layers[l];
        L->in = in;
        L->out = out;
        L->act = l + 1 == spec->n_layers ? spec->out_act : spec->hidden_act;
        L->offset = off;
        off += in * out + out;
    }
    net->n_params = off;
    net->params = falloc(off);
    net->grads = falloc(off);
    if (!net->params || !net->grads) {
        rf_mlp_free(net);
        return rf_errf(err, RF_ENOMEM, "network of %zu parameters: out of memory", off);
    }
    memset(net->params, 0, off * sizeof(float));
    memset(net->grads, 0, off * sizeof(float));
    for (size_t l = 0; l < spec->n_layers; l++) {
        rf_layer *L = &net->layers[l];
        L->W = net->params + L->offset;
        L->b = L->W + L->in * L->out;
        L->dW = net->grads + L->offset;
        L->db = L->dW + L->in * L->out;
    }
    return 0;
}

static void free_workspace(rf_mlp *net)
{
    for (size_t l = 0; l < RF_MLP_MAXLAYERS; l++) {
        free(net->acts[l]);
        free(net->delta[l]);
        free(net->mask[l]);
        net->acts[l] = net->delta[l] = net->mask[l] = NULL;
    }
    net->batch_cap = 0;
}

void rf_mlp_free(rf_mlp *net)
{
    free_workspace(net);
    free(net->params);
    free(net->grads);
    net->params = net->grads = NULL;
}

void rf_mlp_init_weights(rf_mlp *net, rf_rng *rng)
{
    for (size_t l = 0; l < net->spec.n_layers; l++) {
        rf_layer *L = &net->layers[l];
        int relu = L->act == RF_ACT_RELU || L->act == RF_ACT_LEAKY_RELU;
        size_t n = L->in * L->out;
        if (relu) {   /* He: N(0, 2/in) */
            double sd = sqrt(2.0 / (double)L->in);
            for (size_t i = 0; i < n; i++)
                L->W[i] = (float)(rf_rng_normal(rng) * sd);
        } else {      /* Xavier/Glorot uniform */
            float a = (float)sqrt(6.0 / (double)(L->in + L->out));
            for (size_t i = 0; i < n; i++)
                L->W[i] = (2.0f * rf_rng_float(rng) - 1.0f) * a;
        }
        memset(L->b, 0, L->out * sizeof(float));
    }
}

int rf_mlp_reserve(rf_mlp *net, size_t batch, rf_err *err)
{
    if (batch <= net->batch_cap)
        return 0;
    free_workspace(net);
    for (size_t l = 0; l < net->spec.n_layers; l++) {
        size_t n = batch * net->layers[l].out;
        net->acts[l] = falloc(n);
        net->delta[l] = falloc(n);
        if (l + 1 < net->spec.n_layers)
            net->mask[l] = falloc(n);
        if (!net->acts[l] || !net->delta[l] || (l + 1 < net->spec.n_layers && !net->mask[l])) {
            free_workspace(net);
            return rf_errf(err, RF_ENOMEM, "workspace for batch %zu: out of memory", batch);
        }
    }
    net->batch_cap = batch;
    return 0;
}

size_t rf_mlp_frozen_offset(const rf_mlp *net, size_t k)
{
    if (k == 0)
        return 0;
    if (k >= net->spec.n_layers)
        return net->n_params;
    return net->layers[k].offset;
}

/* ---- elementwise pieces -------------------------------------------------- */

/* e^x for activations: range reduction to |r| <= ln2/2 and a degree-6
 * Taylor polynomial, relative error ~2e-7 (a few float ulp). Unlike libm's
 * expf it is plain arithmetic, so the loops below vectorize; the results do
 * not depend on the CPU or libm version, which keeps runs reproducible. */
static inline float exp_fast(float x)
{
    x = x > 88.0f ? 88.0f : x < -87.0f ? -87.0f : x;
    /* round x/ln2 to the nearest integer with the 1.5*2^23 trick */
    float kf = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
    float r = x - kf * 0.693145751953125f - kf * 1.428606765330187e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 +
                          r * (1.0f / 120 + r * (1.0f / 720))))));
    union { int32_t i; float f; } scale = {((int32_t)kf + 127) << 23};
    return p * scale.f;
}

static void activate(float *restrict a, size_t n, int act, float alpha)
{
    switch (act) {
    case RF_ACT_LINEAR:
        break;
    case RF_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            a[i] = a[i] > 0 ? a[i] : 0;
        break;
    case RF_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            a[i] = a[i] > 0 ? a[i] : alpha * a[i];
        break;
    case RF_ACT_TANH:
    case RF_ACT_SIGMOID_SYM:
        /* tanh(x) = 1 - 2 / (e^2x + 1), through the vectorized exp */
        for (size_t i = 0; i < n; i++)
            a[i] = 1.0f - 2.0f / (exp_fast(2.0f * a[i]) + 1.0f);
        break;
    case RF_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            a[i] = 1.0f / (1.0f + exp_fast(-a[i]));
        break;
    }
}

/* d *= act'(z), expressed through the output a = act(z). */
static void times_derivative(float *restrict d, const float *restrict a, size_t n, int act,
                             float alpha)
{
    switch (act) {
    case RF_ACT_LINEAR:
        break;
    case RF_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            d[i] = a[i] > 0 ? d[i] : 0;
        break;
    case RF_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            d[i] = a[i] > 0 ? d[i] : alpha * d[i];
        break;
    case RF_ACT_TANH:
    case RF_ACT_SIGMOID_SYM:
        for (size_t i = 0; i < n; i++)
            d[i] *= 1.0f - a[i] * a[i];
        break;
    case RF_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            d[i] *= a[i] * (1.0f - a[i]);
        break;
    }
}

static void softmax_rows(float *a, size_t B, size_t k)
{
    for (size_t r = 0; r < B; r++) {
        float *z = a + r * k, m = z[0], s = 0;
        for (size_t j = 1; j < k; j++)
            m = z[j] > m ? z[j] : m;
        for (size_t j = 0; j < k; j++)
            s += (z[j] = exp_fast(z[j] - m));
        float inv = 1.0f / s;
        for (size_t j = 0; j < k; j++)
            z[j] *= inv;
    }
}

/* ---- passes -------------------------------------------------------------- */

const float *rf_mlp_forward(rf_mlp *net, const float *X, size_t B, float dropout,
                            rf_rng *rng)
{
    const float *in = X;
    size_t nl = net->spec.n_layers;
    net->input = X;
    net->dropout = dropout;
    for (size_t l = 0; l < nl; l++) {
        rf_layer *L = &net->layers[l];
        float *a = net->acts[l];
        /* bias broadcast, then Z += A W^T in one sgemm (beta = 1) */
        for (size_t r = 0; r < B; r++)
            memcpy(a + r * L->out, L->b, L->out * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)L->out, (int)L->in,
                    1.0f, in, (int)L->in, L->W, (int)L->in, 1.0f, a, (int)L->out);
        activate(a, B * L->out, L->act, net->spec.leaky_alpha);
        if (l + 1 < nl && dropout > 0) {
            /* inverted dropout: survivors scaled so inference needs nothing */
            float keep = 1.0f - dropout, inv = 1.0f / keep, *m = net->mask[l];
            size_t n = B * L->out;
            for (size_t i = 0; i < n; i++)
                m[i] = rf_rng_float(rng) < keep ? inv : 0.0f;
            for (size_t i = 0; i < n; i++)
                a[i] *= m[i];
        }
        in = a;
    }
    if (net->spec.loss == RF_LOSS_SOFTMAX_CE)
        softmax_rows(net->acts[nl - 1], B, net->layers[nl - 1].out);
    return net->acts[nl - 1];
}

double rf_mlp_loss(const rf_mlp *net, const float *T, size_t B)
{
    size_t nl = net->spec.n_layers, k = net->layers[nl - 1].out, n = B * k;
    const float *a = net->acts[nl - 1];
    double s = 0;
    switch (net->spec.loss) {
    case RF_LOSS_SOFTMAX_CE:
        for (size_t i = 0; i < n; i++)
            if (T[i] > 0)
                s -= T[i] * log(a[i] > 1e-30f ? a[i] : 1e-30f);
        return s / (double)B;
    case RF_LOSS_BCE:
        for (size_t i = 0; i < n; i++) {
            double p = a[i] < 1e-7f ? 1e-7 : a[i] > 1 - 1e-7f ? 1 - 1e-7 : a[i];
            s -= T[i] * log(p) + (1 - T[i]) * log(1 - p);
        }
        return s / (double)B;
    default:
        for (size_t i = 0; i < n; i++) {
            double e = (double)a[i] - T[i];
            s += e * e;
        }
        return s / (double)n;
    }
}

void rf_mlp_backward(rf_mlp *net, const float *T, size_t B, float scale, int accumulate,
                     size_t first_trainable)
{
    size_t nl = net->spec.n_layers;
    rf_layer *top = &net->layers[nl - 1];
    size_t k = top->out, n = B * k;
    const float *a = net->acts[nl - 1];
    float *d = net->delta[nl - 1];
    if (net->spec.loss == RF_LOSS_MSE) {
        float c = 2.0f * scale / (float)n;
        for (size_t i = 0; i < n; i++)
            d[i] = c * (a[i] - T[i]);
        times_derivative(d, a, n, top->act, net->spec.leaky_alpha);
    } else {
        /* softmax+CE and sigmoid+BCE share dL/dZ = p - t */
        float c = scale / (float)B;
        for (size_t i = 0; i < n; i++)
            d[i] = c * (a[i] - T[i]);
    }
    float beta = accumulate ? 1.0f : 0.0f;
    for (size_t l = nl; l-- > first_trainable;) {
        rf_layer *L = &net->layers[l];
        const float *in = l ? net->acts[l - 1] : net->input;
        d = net->delta[l];
        /* dW = delta^T A_in, db = column sums of delta */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)L->out, (int)L->in, (int)B,
                    1.0f, d, (int)L->out, in, (int)L->in, beta, L->dW, (int)L->in);
        if (!accumulate)
            memset(L->db, 0, L->out * sizeof(float));
        for (size_t r = 0; r < B; r++) {
            const float *dr = d + r * L->out;
            float *restrict db = L->db;
            for (size_t j = 0; j < L->out; j++)
                db[j] += dr[j];
        }
        if (l == first_trainable || l == 0)
            break;
        /* delta of the layer below: (delta W) * mask * act'(a_below) */
        rf_layer *below = &net->layers[l - 1];
        float *db_ = net->delta[l - 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)L->in, (int)L->out,
                    1.0f, d, (int)L->out, L->W, (int)L->in, 0.0f, db_, (int)L->in);
        size_t m = B * below->out;
        if (net->dropout > 0) {
            const float *mk = net->mask[l - 1];
            for (size_t i = 0; i < m; i++)
                db_[i] *= mk[i];
        }
        /* With dropout the stored output is a * mask (mask = 0 or 1/keep).
         * The relu family's derivative only needs the sign, which a * mask
         * keeps wherever the delta is not already zeroed; tanh and sigmoid
         * need a itself, recovered as stored * keep. */
        if (net->dropout > 0 && below->act != RF_ACT_LINEAR && below->act != RF_ACT_RELU &&
            below->act != RF_ACT_LEAKY_RELU) {
            const float *mk = net->mask[l - 1], *ab = net->acts[l - 1];
            float keep = 1.0f - net->dropout;
            for (size_t i = 0; i < m; i++) {
                float av = mk[i] != 0 ? ab[i] * keep : 0.0f;
                float dv = below->act == RF_ACT_SIGMOID ? av * (1 - av) : 1 - av * av;
                db_[i] *= dv;
            }
        } else {
            times_derivative(db_, net->acts[l - 1], m, below->act, net->spec.leaky_alpha);
        }
    }
}

int rf_mlp_predict(rf_mlp *net, const float *X, size_t n, float *out)
{
    if (net->batch_cap == 0 && rf_mlp_reserve(net, 256, NULL))
        return -1;
    size_t nin = net->spec.sizes[0], nout = net->spec.sizes[net->spec.n_layers];
    for (size_t r = 0; r < n; r += net->batch_cap) {
        size_t B = n - r < net->batch_cap ? n - r : net->batch_cap;
        const float *y = rf_mlp_forward(net, X + r * nin, B, 0.0f, NULL);
        memcpy(out + r * nout, y, B * nout * sizeof(float));
    }
    return 0;
}
