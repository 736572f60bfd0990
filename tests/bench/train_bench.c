/* train_bench: the measurements behind tests/bench/bench_train.sh.
 *
 *   train_bench cups TRAIN HIDDEN EPOCHS
 *       FANN's network and algorithm on our code: one hidden layer of
 *       sigmoid-symmetric units, sigmoid outputs, MSE, full-batch iRPROP-,
 *       no validation. Prints seconds, rows, connections and connection
 *       updates per second (epochs * rows * connections / seconds).
 *   train_bench gemm [STEPS]
 *       784-512-512-10 (relu, softmax) at batch 256 with Adam: our training
 *       GFLOP/s, and OpenBLAS's own GFLOP/s on exactly the sgemm calls one
 *       training step makes (same shapes, same transposes), in the same run.
 * Output is "key=value" pairs on one line for the shell script to read. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ml/rf_dataset.h"
#include "ml/rf_mlp.h"
#include "ml/rf_optim.h"
#include "ml/rf_train.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cups(const char *path, size_t hidden, int64_t epochs)
{
    rf_dataset d;
    rf_err e = {0};
    if (rf_dataset_load_fann(path, &d, &e)) {
        fprintf(stderr, "train_bench: %s\n", e.msg);
        return 1;
    }
    size_t outs = d.kind == RF_CLASSIFICATION ? d.n_classes : d.n_targets;
    rf_mlp_spec s = {.n_layers = 2, .sizes = {d.n_features, hidden, outs},
                     .hidden_act = RF_ACT_SIGMOID_SYM, .out_act = RF_ACT_SIGMOID,
                     .loss = RF_LOSS_MSE};
    rf_train_opts o;
    rf_train_opts_default(&o);
    o.max_epochs = epochs;
    o.patience = 0;
    rf_optim_cfg_default(&o.optim, RF_OPT_RPROP);
    rf_trainer tr;
    uint32_t *rows = malloc(d.n_rows * sizeof *rows);
    for (size_t i = 0; i < d.n_rows; i++)
        rows[i] = (uint32_t)i;
    if (rf_trainer_init(&tr, &s, &o, &e)) {
        fprintf(stderr, "train_bench: %s\n", e.msg);
        return 1;
    }
    double t0 = now();
    int rc = rf_train_run(&tr, &d, rows, d.n_rows, NULL, 0, NULL, NULL, &e);
    double secs = now() - t0;
    if (rc) {
        fprintf(stderr, "train_bench: %s\n", e.msg);
        return 1;
    }
    double updates = (double)epochs * (double)d.n_rows * (double)tr.net.n_params;
    printf("seconds=%.6f rows=%zu connections=%zu cups=%.6g train_mse=%.6g\n", secs, d.n_rows,
           tr.net.n_params, updates / secs, tr.history[tr.n_history - 1].train_loss);
    rf_trainer_free(&tr);
    free(rows);
    rf_dataset_free(&d);
    return 0;
}

/* The sgemm calls of one training step of net at batch B (forward: one per
 * layer; backward: dW per layer, dX for all but the first layer). */
static double sgemm_step(const rf_mlp *net, size_t B, float **bufs, int flops_only)
{
    double flops = 0;
    for (size_t l = 0; l < net->spec.n_layers; l++) {
        const rf_layer *L = &net->layers[l];
        int in = (int)L->in, out = (int)L->out, b = (int)B;
        flops += 2.0 * B * L->in * L->out * (l ? 3 : 2);
        if (flops_only)
            continue;
        float *A = bufs[0], *Z = bufs[1], *D = bufs[2], *W = bufs[3], *G = bufs[4];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, out, in, 1, A, in, W, in, 1,
                    Z, out);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, b, 1, D, out, A, in, 0,
                    G, in);
        if (l)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, in, out, 1, D, out, W,
                        in, 0, Z, in);
    }
    return flops;
}

static int gemm(int steps)
{
    const size_t B = 256;
    rf_mlp_spec s = {.n_layers = 3, .sizes = {784, 512, 512, 10}, .hidden_act = RF_ACT_RELU,
                     .out_act = RF_ACT_LINEAR, .loss = RF_LOSS_SOFTMAX_CE};
    rf_mlp net;
    rf_err e = {0};
    rf_optim opt;
    rf_optim_cfg oc;
    rf_optim_cfg_default(&oc, RF_OPT_ADAM);
    if (rf_mlp_init(&net, &s, &e) || rf_mlp_reserve(&net, B, &e) ||
        rf_optim_init(&opt, &oc, net.n_params, &e)) {
        fprintf(stderr, "train_bench: %s\n", e.msg);
        return 1;
    }
    rf_rng r;
    rf_rng_seed(&r, 1);
    rf_mlp_init_weights(&net, &r);
    float *X = malloc(B * 784 * sizeof(float)), *T = calloc(B * 10, sizeof(float));
    for (size_t i = 0; i < B * 784; i++)
        X[i] = rf_rng_float(&r);
    for (size_t i = 0; i < B; i++)
        T[i * 10 + rf_rng_below(&r, 10)] = 1;
    /* ours: whole training steps (forward, loss gradient, backward, Adam) */
    for (int i = 0; i < 3; i++) {   /* warm-up: page in, thread pool up */
        rf_mlp_forward(&net, X, B, 0, NULL);
        rf_mlp_backward(&net, T, B, 1, 0, 0);
        rf_optim_step(&opt, &net, 0, 1e-4);
    }
    double t0 = now();
    for (int i = 0; i < steps; i++) {
        rf_mlp_forward(&net, X, B, 0, NULL);
        rf_mlp_backward(&net, T, B, 1, 0, 0);
        rf_optim_step(&opt, &net, 0, 1e-4);
    }
    double ours_s = now() - t0, flops = sgemm_step(&net, B, NULL, 1) * steps;
    /* OpenBLAS alone on the same calls; buffers sized for the largest */
    size_t big = B * 784 > 784 * 512 ? B * 784 : 784 * 512;
    float *bufs[5];
    for (int i = 0; i < 5; i++) {
        bufs[i] = malloc(big * sizeof(float));
        for (size_t j = 0; j < big; j++)
            bufs[i][j] = rf_rng_float(&r) * 0.01f;
    }
    for (int i = 0; i < 3; i++)
        sgemm_step(&net, B, bufs, 0);
    t0 = now();
    for (int i = 0; i < steps; i++)
        sgemm_step(&net, B, bufs, 0);
    double blas_s = now() - t0;
    printf("ours_gflops=%.4f blas_gflops=%.4f steps=%d threads=%d\n", flops / ours_s * 1e-9,
           flops / blas_s * 1e-9, steps, openblas_get_num_threads());
    for (int i = 0; i < 5; i++)
        free(bufs[i]);
    free(X);
    free(T);
    rf_optim_free(&opt);
    rf_mlp_free(&net);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "cups"))
        return cups(argv[2], (size_t)atol(argv[3]), atol(argv[4]));
    if (argc >= 2 && !strcmp(argv[1], "gemm"))
        return gemm(argc > 2 ? atoi(argv[2]) : 20);
    fprintf(stderr, "usage: train_bench cups TRAIN HIDDEN EPOCHS | train_bench gemm [STEPS]\n");
    return 2;
}
