/* fuzz_dataset: the FANN and CSV readers on arbitrary bytes (training files
 * come from users). The readers take paths, so each input goes through one
 * temporary file. Must never crash, leak, read out of bounds or allocate
 * more than the file's size justifies. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "ml/rf_dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_dataset.%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    rf_dataset d;
    rf_err err;
    if (rf_dataset_load_fann(path, &d, &err) == 0) {
        rf_dataset_normalize(&d);
        rf_dataset_free(&d);
    }
    if (rf_dataset_load_csv(path, NULL, &d, &err) == 0)
        rf_dataset_free(&d);
    if (rf_dataset_load_csv(path, "label", &d, &err) == 0)
        rf_dataset_free(&d);
    unlink(path);
    return 0;
}
