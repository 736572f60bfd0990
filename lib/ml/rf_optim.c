/* rf_optim: SGD, Adam(W), iRPROP- and learning-rate schedules. */
#include "ml/rf_optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const opt_names[RF_OPT_COUNT] = {"sgd", "adam", "adamw", "rprop"};
static const char *const sched_names[RF_SCHED_COUNT] = {"constant", "step", "cosine"};

const char *rf_opt_name(int opt)
{
    return opt >= 0 && opt < RF_OPT_COUNT ? opt_names[opt] : "?";
}

int rf_opt_parse(const char *s)
{
    for (int i = 0; i < RF_OPT_COUNT; i++)
        if (!strcmp(s, opt_names[i]))
            return i;
    if (!strcmp(s, "nesterov") || !strcmp(s, "momentum"))
        return RF_OPT_SGD;
    if (!strcmp(s, "irprop") || !strcmp(s, "irprop-"))
        return RF_OPT_RPROP;
    return -1;
}

const char *rf_sched_name(int s)
{
    return s >= 0 && s < RF_SCHED_COUNT ? sched_names[s] : "?";
}

int rf_sched_parse(const char *s)
{
    for (int i = 0; i < RF_SCHED_COUNT; i++)
        if (!strcmp(s, sched_names[i]))
            return i;
    return -1;
}

void rf_optim_cfg_default(rf_optim_cfg *c, int kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->momentum = 0.9;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->rprop_increase = 1.2;
    c->rprop_decrease = 0.5;
    c->rprop_delta_min = 0.0;
    c->rprop_delta_max = 50.0;
    c->rprop_delta_zero = 0.1;
}

void rf_optim_reset(rf_optim *o)
{
    memset(o->m, 0, o->n * sizeof(float));
    if (o->cfg.kind == RF_OPT_RPROP)
        for (size_t i = 0; i < o->n; i++)
            o->v[i] = (float)o->cfg.rprop_delta_zero;
    else
        memset(o->v, 0, o->n * sizeof(float));
    o->t = 0;
}

int rf_optim_init(rf_optim *o, const rf_optim_cfg *cfg, size_t n, rf_err *err)
{
    memset(o, 0, sizeof *o);
    if (cfg->kind < 0 || cfg->kind >= RF_OPT_COUNT)
        return rf_errf(err, RF_EINVAL, "unknown optimizer %d", cfg->kind);
    o->cfg = *cfg;
    o->n = n;
    o->m = malloc((n ? n : 1) * sizeof(float));
    o->v = malloc((n ? n : 1) * sizeof(float));
    if (!o->m || !o->v) {
        rf_optim_free(o);
        return rf_errf(err, RF_ENOMEM, "optimizer state for %zu parameters", n);
    }
    rf_optim_reset(o);
    return 0;
}

void rf_optim_free(rf_optim *o)
{
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

/* Penalties on the weights (not biases) of trainable layers. */
static void penalize(const rf_optim_cfg *c, rf_mlp *net, size_t begin)
{
    float l2 = (float)(c->l2 + (c->kind == RF_OPT_ADAMW ? 0.0 : c->weight_decay));
    float l1 = (float)c->l1;
    if (l1 == 0 && l2 == 0)
        return;
    for (size_t l = 0; l < net->spec.n_layers; l++) {
        rf_layer *L = &net->layers[l];
        if (L->offset < begin)
            continue;
        size_t n = L->in * L->out;
        const float *w = L->W;
        float *g = L->dW;
        for (size_t i = 0; i < n; i++)
            g[i] += l2 * w[i] + l1 * (float)((w[i] > 0) - (w[i] < 0));
    }
}

static double grad_norm(const float *g, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)g[i] * g[i];
    return sqrt(s);
}

static void sgd(rf_optim *o, float *restrict w, const float *restrict g, float *restrict vel,
                size_t n, float lr)
{
    float mu = (float)o->cfg.momentum;
    if (o->cfg.nesterov) {
        for (size_t i = 0; i < n; i++) {
            vel[i] = mu * vel[i] + g[i];
            w[i] -= lr * (g[i] + mu * vel[i]);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            vel[i] = mu * vel[i] + g[i];
            w[i] -= lr * vel[i];
        }
    }
}

static void adam(rf_optim *o, float *restrict w, const float *restrict g, float *restrict m,
                 float *restrict v, size_t n, float lr)
{
    float b1 = (float)o->cfg.beta1, b2 = (float)o->cfg.beta2, eps = (float)o->cfg.eps;
    /* bias corrections folded into the step size */
    double t = (double)o->t;
    float c1 = (float)(1.0 - pow(o->cfg.beta1, t)), c2 = (float)(1.0 - pow(o->cfg.beta2, t));
    float a = lr / c1, s2 = 1.0f / sqrtf(c2);
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        w[i] -= a * m[i] / (sqrtf(v[i]) * s2 + eps);
    }
}

/* iRPROP-: per-weight step sizes grow while the gradient keeps its sign and
 * shrink (skipping the update) when it flips. */
static void rprop(rf_optim *o, float *restrict w, const float *restrict g,
                  float *restrict prev, float *restrict step, size_t n)
{
    float inc = (float)o->cfg.rprop_increase, dec = (float)o->cfg.rprop_decrease;
    float lo = (float)o->cfg.rprop_delta_min, hi = (float)o->cfg.rprop_delta_max;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i], s = step[i] > 1e-4f ? step[i] : 1e-4f;
        if (prev[i] * gi >= 0) {
            s = s * inc < hi ? s * inc : hi;
        } else {
            s = s * dec > lo ? s * dec : lo;
            gi = 0;
        }
        w[i] -= (float)((gi > 0) - (gi < 0)) * s;
        step[i] = s;
        prev[i] = gi;
    }
}

static void decay_weights(rf_mlp *net, size_t begin, float f)
{
    for (size_t l = 0; l < net->spec.n_layers; l++) {
        rf_layer *L = &net->layers[l];
        if (L->offset < begin)
            continue;
        size_t n = L->in * L->out;
        for (size_t i = 0; i < n; i++)
            L->W[i] *= f;
    }
}

double rf_optim_step(rf_optim *o, rf_mlp *net, size_t begin, double lr)
{
    penalize(&o->cfg, net, begin);
    size_t n = net->n_params - begin;
    float *w = net->params + begin, *g = net->grads + begin;
    double norm = grad_norm(g, n);
    if (!isfinite(norm))
        return norm;
    if (o->cfg.clip > 0 && norm > o->cfg.clip) {
        float f = (float)(o->cfg.clip / norm);
        for (size_t i = 0; i < n; i++)
            g[i] *= f;
    }
    o->t++;
    switch (o->cfg.kind) {
    case RF_OPT_SGD:
        sgd(o, w, g, o->m + begin, n, (float)lr);
        break;
    case RF_OPT_ADAMW:
        if (o->cfg.weight_decay > 0)
            decay_weights(net, begin, (float)(1.0 - lr * o->cfg.weight_decay));
        /* fall through */
    case RF_OPT_ADAM:
        adam(o, w, g, o->m + begin, o->v + begin, n, (float)lr);
        break;
    case RF_OPT_RPROP:
        rprop(o, w, g, o->m + begin, o->v + begin, n);
        break;
    }
    return norm;
}

double rf_schedule_lr(const rf_schedule *s, int64_t step)
{
    double lr = s->lr;
    if (s->warmup > 0 && step < s->warmup)
        return lr * (double)(step + 1) / (double)s->warmup;
    int64_t k = step - (s->warmup > 0 ? s->warmup : 0);
    switch (s->kind) {
    case RF_SCHED_STEP:
        if (s->step_every > 0)
            lr *= pow(s->gamma > 0 ? s->gamma : 0.1, (double)(k / s->step_every));
        break;
    case RF_SCHED_COSINE: {
        int64_t total = s->total - (s->warmup > 0 ? s->warmup : 0);
        double p = total > 0 ? (double)k / (double)total : 1.0;
        if (p > 1)
            p = 1;
        lr = s->min_lr + (lr - s->min_lr) * 0.5 * (1 + cos(M_PI * p));
        break;
    }
    default:
        break;
    }
    return lr;
}
