/* fuzz_cron: cron expressions (from `ruvflow cron add`) on arbitrary bytes.
 * Must never crash or read out of bounds; a parsed expression always has a
 * next fire time (rf_cron_parse refuses those that never fire), strictly
 * later and matching again from there. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rf_cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    rf_cron c;
    rf_err err;
    if (rf_cron_parse(s, &c, &err) == 0) {
        int64_t after = 29500000;   /* 2026 */
        int64_t n = rf_cron_next(&c, after);
        if (n >= 0 && n <= after)
            abort();
        int64_t m = n >= 0 ? rf_cron_next(&c, n) : -1;
        if (m >= 0 && m <= n)
            abort();
        if (!(c.minute && c.hour && c.month && (c.dom || c.dow)))
            abort();
    }
    free(s);
    return 0;
}
