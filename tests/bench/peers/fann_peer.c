/* fann_peer: FANN 2.2 trained the way FANN trains by default, for
 * tests/bench/bench_train.sh. Not in tests/bench/ itself because the
 * Makefile links every tests/bench/*.c without -lfann; the bench script
 * compiles this file with `cc ... -lfann`.
 *
 * usage: fann_peer TRAIN TEST HIDDEN EPOCHS
 * One hidden layer, sigmoid-symmetric hidden units, sigmoid outputs,
 * FANN's default training algorithm (iRPROP-, full batch). Prints one line:
 *   seconds=S epochs=E rows=N connections=C test_mse=M test_err=F
 * test_err is the classification error (argmax of outputs vs one-hot
 * targets), meaningful for class sets only. */
#include <fann.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double class_error(struct fann *ann, struct fann_train_data *d)
{
    unsigned n = fann_length_train_data(d), k = fann_num_output_train_data(d), wrong = 0;
    for (unsigned i = 0; i < n; i++) {
        fann_type *o = fann_run(ann, d->input[i]);
        unsigned p = 0, t = 0;
        for (unsigned j = 1; j < k; j++) {
            if (o[j] > o[p])
                p = j;
            if (d->output[i][j] > d->output[i][t])
                t = j;
        }
        if (k == 1)
            wrong += (o[0] > 0.5f) != (d->output[i][0] > 0.5f);
        else
            wrong += p != t;
    }
    return (double)wrong / n;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: fann_peer TRAIN TEST HIDDEN EPOCHS\n");
        return 2;
    }
    struct fann_train_data *tr = fann_read_train_from_file(argv[1]);
    struct fann_train_data *te = fann_read_train_from_file(argv[2]);
    if (!tr || !te)
        return 1;
    unsigned hidden = (unsigned)atoi(argv[3]), epochs = (unsigned)atoi(argv[4]);
    struct fann *ann = fann_create_standard(3, fann_num_input_train_data(tr), hidden,
                                            fann_num_output_train_data(tr));
    fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    /* FANN_TRAIN_RPROP is the default; said explicitly for the reader */
    fann_set_training_algorithm(ann, FANN_TRAIN_RPROP);
    double t0 = now();
    for (unsigned e = 0; e < epochs; e++)
        fann_train_epoch(ann, tr);
    double secs = now() - t0;
    fann_reset_MSE(ann);
    float mse = fann_test_data(ann, te);
    printf("seconds=%.6f epochs=%u rows=%u connections=%u test_mse=%.17g test_err=%.17g\n", secs,
           epochs, fann_length_train_data(tr), fann_get_total_connections(ann), mse,
           class_error(ann, te));
    fann_destroy(ann);
    fann_destroy_train(tr);
    fann_destroy_train(te);
    return 0;
}
