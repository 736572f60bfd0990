/* ckpt_gen: train an MLP on a ruvflow/dataset artifact (the shipped session
 * data, preprocessed) and write a checkpoint after every epoch, as
 * DIR/epoch-NNN.art: the input of bench_ckpt.sh and of the checkpoint
 * integration test.
 *   ckpt_gen DATASET.art OUTDIR EPOCHS [HIDDEN] */
#include <stdio.h>
#include <stdlib.h>

#include "ml/rf_checkpoint.h"
#include "ml/rf_dataset.h"
#include "ml/rf_train.h"

typedef struct gen {
    const char *dir;
    const rf_dataset *d;
} gen;

static int on_epoch(void *ud, rf_trainer *tr, const rf_epoch_stats *s, rf_err *err)
{
    gen *g = ud;
    char path[4096];
    snprintf(path, sizeof path, "%s/epoch-%03lld.art", g->dir, (long long)s->epoch);
    return rf_checkpoint_write(path, tr, g->d, RF_CKPT_CURRENT, err) ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: ckpt_gen DATASET.art OUTDIR EPOCHS [HIDDEN]\n");
        return 2;
    }
    rf_dataset d;
    rf_err e = {0};
    if (rf_dataset_read(argv[1], &d, &e)) {
        fprintf(stderr, "ckpt_gen: %s\n", e.msg);
        return 1;
    }
    size_t hidden[2] = {(size_t)(argc > 4 ? atol(argv[4]) : 64), 32};
    rf_mlp_spec spec;
    rf_train_opts o;
    rf_train_opts_default(&o);
    o.max_epochs = atol(argv[3]);
    o.patience = 0;
    o.seed = 11;
    rf_trainer tr;
    uint32_t *rows = malloc(d.n_rows * sizeof *rows);
    for (size_t i = 0; i < d.n_rows; i++)
        rows[i] = (uint32_t)i;
    size_t n_val = d.n_rows / 5, n_train = d.n_rows - n_val;
    gen g = {argv[2], &d};
    int rc = rf_train_spec_for(&d, hidden, 2, RF_ACT_RELU, &spec, &e) ||
             rf_trainer_init(&tr, &spec, &o, &e) ||
             rf_train_run(&tr, &d, rows, n_train, rows + n_train, n_val, on_epoch, &g, &e);
    if (rc)
        fprintf(stderr, "ckpt_gen: %s\n", e.msg);
    else
        rf_trainer_free(&tr);
    free(rows);
    rf_dataset_free(&d);
    return rc ? 1 : 0;
}
