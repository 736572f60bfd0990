/* Unit tests for rf_mlp, rf_optim and rf_rng: gradients of every
 * activation and loss against central finite differences (f32 networks,
 * small, with a tolerance that f32 rounding allows), dropout's gradient,
 * frozen layers, optimizers and schedules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml/rf_mlp.h"
#include "ml/rf_optim.h"
#include "base/rf_rng.h"

enum { B = 5 };

static void random_batch(rf_rng *r, const rf_mlp *net, float *X, float *T)
{
    size_t nin = net->spec.sizes[0], k = net->spec.sizes[net->spec.n_layers];
    for (size_t i = 0; i < B * nin; i++)
        X[i] = 2 * rf_rng_float(r) - 1;
    for (size_t i = 0; i < B; i++)
        for (size_t j = 0; j < k; j++) {
            float *t = &T[i * k + j];
            if (net->spec.loss == RF_LOSS_SOFTMAX_CE)
                *t = j == i % k;
            else if (net->spec.loss == RF_LOSS_BCE)
                *t = rf_rng_float(r);
            else
                *t = 2 * rf_rng_float(r) - 1;
        }
}

static double loss_at(rf_mlp *net, const float *X, const float *T, float dropout,
                      uint64_t mask_seed)
{
    rf_rng r;
    rf_rng_seed(&r, mask_seed);   /* the same dropout mask every time */
    rf_mlp_forward(net, X, B, dropout, &r);
    return rf_mlp_loss(net, T, B);
}

/* Compare every analytic gradient with (L(w+h) - L(w-h)) / 2h. */
static void gradcheck(int hidden_act, int out_act, int loss, float dropout)
{
    rf_mlp_spec s = {.n_layers = 3, .sizes = {4, 6, 5, 3}, .hidden_act = hidden_act,
                     .out_act = out_act, .loss = loss};
    rf_mlp net;
    rf_err e = {0};
    assert_int_equal(rf_mlp_init(&net, &s, &e), 0);
    assert_int_equal(rf_mlp_reserve(&net, B, &e), 0);
    rf_rng r;
    rf_rng_seed(&r, 7);
    rf_mlp_init_weights(&net, &r);
    for (size_t i = 0; i < net.n_params; i++)   /* nonzero biases too */
        net.params[i] += 0.1f * (rf_rng_float(&r) - 0.5f);
    float X[B * 4], T[B * 3];
    random_batch(&r, &net, X, T);
    loss_at(&net, X, T, dropout, 99);
    rf_mlp_backward(&net, T, B, 1.0f, 0, 0);
    int bad = 0;
    const float h = 2e-3f;
    for (size_t i = 0; i < net.n_params; i++) {
        float w = net.params[i];
        net.params[i] = w + h;
        double lp = loss_at(&net, X, T, dropout, 99);
        net.params[i] = w - h;
        double lm = loss_at(&net, X, T, dropout, 99);
        net.params[i] = w;
        double num = (lp - lm) / (2 * h), ana = net.grads[i];
        double tol = 2e-2 * fmax(fabs(num), fabs(ana)) + 5e-4;
        if (fabs(num - ana) > tol && bad++ < 5)
            print_error("%s/%s/%s dropout %.1f: param %zu analytic %g numeric %g\n",
                        rf_act_name(hidden_act), rf_act_name(out_act), rf_loss_name(loss),
                        (double)dropout, i, ana, num);
    }
    rf_mlp_free(&net);
    assert_int_equal(bad, 0);
}

static void test_grad_hidden_activations(void **state)
{
    for (int act = 0; act < RF_ACT_COUNT; act++)
        gradcheck(act, RF_ACT_LINEAR, RF_LOSS_SOFTMAX_CE, 0);
}

static void test_grad_losses(void **state)
{
    gradcheck(RF_ACT_TANH, RF_ACT_SIGMOID, RF_LOSS_BCE, 0);
    for (int act = 0; act < RF_ACT_COUNT; act++)
        gradcheck(RF_ACT_SIGMOID, act, RF_LOSS_MSE, 0);
}

static void test_grad_dropout(void **state)
{
    gradcheck(RF_ACT_RELU, RF_ACT_LINEAR, RF_LOSS_SOFTMAX_CE, 0.3f);
    gradcheck(RF_ACT_TANH, RF_ACT_LINEAR, RF_LOSS_MSE, 0.5f);
    gradcheck(RF_ACT_SIGMOID, RF_ACT_SIGMOID, RF_LOSS_BCE, 0.2f);
}

static void test_spec_errors(void **state)
{
    rf_mlp net;
    rf_err e = {0};
    rf_mlp_spec s = {.n_layers = 1, .sizes = {3, 2}, .out_act = RF_ACT_SIGMOID,
                     .loss = RF_LOSS_SOFTMAX_CE};
    assert_int_equal(rf_mlp_init(&net, &s, &e), -1);
    assert_non_null(strstr(e.msg, "softmax"));
    s.loss = RF_LOSS_MSE;
    s.sizes[1] = 0;
    assert_int_equal(rf_mlp_init(&net, &s, &e), -1);
    s.n_layers = 0;
    assert_int_equal(rf_mlp_init(&net, &s, &e), -1);
    assert_int_equal(rf_act_parse("leaky_relu"), RF_ACT_LEAKY_RELU);
    assert_int_equal(rf_act_parse("sigmoid-symmetric"), RF_ACT_SIGMOID_SYM);
    assert_int_equal(rf_act_parse("bogus"), -1);
}

/* Freezing the first layer: backward leaves its gradient alone and the
 * optimizer does not move its parameters. */
static void test_frozen(void **state)
{
    rf_mlp_spec s = {.n_layers = 2, .sizes = {3, 4, 2}, .hidden_act = RF_ACT_RELU,
                     .loss = RF_LOSS_SOFTMAX_CE};
    rf_mlp net;
    rf_err e = {0};
    assert_int_equal(rf_mlp_init(&net, &s, &e), 0);
    assert_int_equal(rf_mlp_reserve(&net, B, &e), 0);
    rf_rng r;
    rf_rng_seed(&r, 3);
    rf_mlp_init_weights(&net, &r);
    float X[B * 3], T[B * 2];
    random_batch(&r, &net, X, T);
    size_t off = rf_mlp_frozen_offset(&net, 1);
    assert_int_equal(off, 3 * 4 + 4);
    float *before = malloc(net.n_params * sizeof(float));
    memcpy(before, net.params, net.n_params * sizeof(float));
    memset(net.grads, 0, net.n_params * sizeof(float));
    rf_optim o;
    rf_optim_cfg c;
    rf_optim_cfg_default(&c, RF_OPT_ADAM);
    assert_int_equal(rf_optim_init(&o, &c, net.n_params, &e), 0);
    rf_mlp_forward(&net, X, B, 0, NULL);
    rf_mlp_backward(&net, T, B, 1, 0, 1);
    for (size_t i = 0; i < off; i++)
        assert_true(net.grads[i] == 0);
    rf_optim_step(&o, &net, off, 0.1);
    assert_memory_equal(net.params, before, off * sizeof(float));
    assert_memory_not_equal(net.params + off, before + off, (net.n_params - off) * sizeof(float));
    free(before);
    rf_optim_free(&o);
    rf_mlp_free(&net);
}

/* Each optimizer must decrease a simple loss: fit y = 2x with a 1-1 net. */
static void test_optimizers_descend(void **state)
{
    const int kinds[] = {RF_OPT_SGD, RF_OPT_SGD, RF_OPT_ADAM, RF_OPT_ADAMW, RF_OPT_RPROP};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        rf_mlp_spec s = {.n_layers = 1, .sizes = {1, 1}, .loss = RF_LOSS_MSE};
        rf_mlp net;
        rf_err e = {0};
        assert_int_equal(rf_mlp_init(&net, &s, &e), 0);
        assert_int_equal(rf_mlp_reserve(&net, 4, &e), 0);
        float X[4] = {-1, -0.5f, 0.5f, 1}, T[4] = {-2, -1, 1, 2};
        rf_optim o;
        rf_optim_cfg c;
        rf_optim_cfg_default(&c, kinds[k]);
        c.nesterov = k == 1;
        c.weight_decay = kinds[k] == RF_OPT_ADAMW ? 1e-4 : 0;
        assert_int_equal(rf_optim_init(&o, &c, net.n_params, &e), 0);
        rf_mlp_forward(&net, X, 4, 0, NULL);
        double first = rf_mlp_loss(&net, T, 4), last = first;
        for (int it = 0; it < 200; it++) {
            rf_mlp_forward(&net, X, 4, 0, NULL);
            last = rf_mlp_loss(&net, T, 4);
            rf_mlp_backward(&net, T, 4, 1, 0, 0);
            rf_optim_step(&o, &net, 0, 0.05);
        }
        if (!(last < first * 0.01))
            print_error("%s: loss %g -> %g\n", rf_opt_name(kinds[k]), first, last);
        assert_true(last < first * 0.01);
        rf_optim_free(&o);
        rf_mlp_free(&net);
    }
}

static void test_clip_and_penalties(void **state)
{
    rf_mlp_spec s = {.n_layers = 1, .sizes = {2, 1}, .loss = RF_LOSS_MSE};
    rf_mlp net;
    rf_err e = {0};
    assert_int_equal(rf_mlp_init(&net, &s, &e), 0);
    rf_optim o;
    rf_optim_cfg c;
    rf_optim_cfg_default(&c, RF_OPT_SGD);
    c.momentum = 0;
    c.clip = 1.0;
    assert_int_equal(rf_optim_init(&o, &c, net.n_params, &e), 0);
    net.grads[0] = 30, net.grads[1] = 40, net.grads[2] = 0;
    double norm = rf_optim_step(&o, &net, 0, 1.0);
    assert_float_equal(norm, 50, 1e-9);
    assert_float_equal(net.params[0], -0.6f, 1e-6);
    assert_float_equal(net.params[1], -0.8f, 1e-6);
    rf_optim_free(&o);
    /* L2 acts on weights, not the bias */
    c.clip = 0;
    c.l2 = 0.5;
    assert_int_equal(rf_optim_init(&o, &c, net.n_params, &e), 0);
    net.params[0] = 1, net.params[1] = 0, net.params[2] = 1;
    memset(net.grads, 0, 3 * sizeof(float));
    rf_optim_step(&o, &net, 0, 1.0);
    assert_float_equal(net.params[0], 0.5f, 1e-6);
    assert_float_equal(net.params[2], 1.0f, 0);
    rf_optim_free(&o);
    rf_mlp_free(&net);
}

static void test_schedules(void **state)
{
    rf_schedule s = {.kind = RF_SCHED_STEP, .lr = 1.0, .step_every = 10, .gamma = 0.5};
    assert_float_equal(rf_schedule_lr(&s, 9), 1.0, 1e-12);
    assert_float_equal(rf_schedule_lr(&s, 25), 0.25, 1e-12);
    s = (rf_schedule){.kind = RF_SCHED_COSINE, .lr = 1.0, .total = 100};
    assert_float_equal(rf_schedule_lr(&s, 0), 1.0, 1e-12);
    assert_float_equal(rf_schedule_lr(&s, 50), 0.5, 1e-12);
    assert_float_equal(rf_schedule_lr(&s, 100), 0.0, 1e-12);
    s = (rf_schedule){.kind = RF_SCHED_CONSTANT, .lr = 1.0, .warmup = 4};
    assert_float_equal(rf_schedule_lr(&s, 0), 0.25, 1e-12);
    assert_float_equal(rf_schedule_lr(&s, 3), 1.0, 1e-12);
    assert_float_equal(rf_schedule_lr(&s, 100), 1.0, 1e-12);
}

static void test_rng(void **state)
{
    rf_rng a, b;
    rf_rng_seed(&a, 42);
    rf_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        assert_true(rf_rng_next(&a) == rf_rng_next(&b));
    double sum = 0, sq = 0;
    for (int i = 0; i < 20000; i++) {
        double x = rf_rng_normal(&a);
        sum += x, sq += x * x;
    }
    assert_true(fabs(sum / 20000) < 0.05 && fabs(sq / 20000 - 1) < 0.05);
    uint32_t idx[50];
    for (uint32_t i = 0; i < 50; i++)
        idx[i] = i;
    rf_rng_shuffle(&a, idx, 50);
    uint64_t seen = 0;
    for (int i = 0; i < 50; i++)
        seen |= 1ull << idx[i];
    assert_true(seen == (1ull << 50) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_hidden_activations),
        cmocka_unit_test(test_grad_losses),
        cmocka_unit_test(test_grad_dropout),
        cmocka_unit_test(test_spec_errors),
        cmocka_unit_test(test_frozen),
        cmocka_unit_test(test_optimizers_descend),
        cmocka_unit_test(test_clip_and_penalties),
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_rng),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
