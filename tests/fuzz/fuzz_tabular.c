/* fuzz_tabular: arbitrary bytes as a FANN file and as a CSV file, read
 * through the loaders preprocess uses for task=tabular (rf_dataset_load_any
 * sniffs which one). Checks: no crash or leak; a load that succeeds gives a
 * consistent dataset that the grouped split accepts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ml/rf_dataset.h"
#include "ml/rf_split.h"

static void check(const rf_dataset *d)
{
    if (d->n_rows == 0 || d->n_features == 0 || !d->X)
        abort();
    if (d->kind == RF_CLASSIFICATION) {
        for (size_t i = 0; i < d->n_rows; i++)
            if (d->y_class[i] < 0 || (size_t)d->y_class[i] >= d->n_classes)
                abort();
        int32_t *group = malloc(d->n_rows * sizeof *group);
        uint8_t *part = malloc(d->n_rows);
        for (size_t i = 0; i < d->n_rows; i++)
            group[i] = (int32_t)(i % 7);
        double frac[3] = {0.7, 0.15, 0.15};
        if (rf_split_grouped(d->n_rows, group, d->y_class, d->n_classes, frac, 3, 1,
                             part, NULL) != 0)
            abort();
        free(group);
        free(part);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("tabular", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    const char *targets[] = {NULL, "label"};
    for (int t = 0; t < 2; t++) {
        rf_dataset d;
        memset(&d, 0, sizeof d);
        rf_err err = {0};
        if (rf_dataset_load_any(path, targets[t], &d, &err) == 0)
            check(&d);
        else if (!err.msg[0])
            abort();   /* failures must say why */
        rf_dataset_free(&d);
    }
    close(fd);
    return 0;
}
