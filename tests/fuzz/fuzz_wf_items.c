/* fuzz_wf_items: the items of a foreach over a step's output (a JSON list
 * or JSON lines written by a worker) on arbitrary bytes. Must never crash,
 * leak or read out of bounds; a success gives at most max items, each a C
 * string, and item.KEY on each never crashes either. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rf_wf_items.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char **items = NULL;
    size_t n = 0;
    rf_err err;
    /* No NUL at the end: the parser must respect len. */
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    int rc = rf_wf_items_parse(copy, size, 1000, &items, &n, &err);
    if (rc == 0) {
        if (n > 1000)
            abort();
        rf_buf b = RF_BUF_INIT;
        for (size_t i = 0; i < n; i++) {
            if (!items[i])
                abort();
            rf_wf_item_key(items[i], "k", &b, &err);
        }
        rf_buf_free(&b);
    } else if (n || items) {
        abort();   /* a failure leaves nothing behind */
    }
    rf_wf_items_free(items, n);
    free(items);
    free(copy);
    return 0;
}
