/* fuzz_awsini: libFuzzer target for the AWS shared credentials/config file
 * parser (~/.aws/credentials, ~/.aws/config). Every parse either yields
 * entries whose section is one that was declared and whose line is within
 * the input, or fails with a FILE:LINE:COL message and nothing allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/rf_awsini.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rf_awsini ini;
    rf_err err = {0};
    if (rf_awsini_parse("fuzz.ini", (const char *)data, size, &ini, &err) != 0) {
        if (ini.kv || ini.sections || strncmp(err.msg, "fuzz.ini:", 9) != 0)
            abort();
        return 0;
    }
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    for (size_t i = 0; i < ini.n; i++) {
        const rf_awsini_kv *kv = &ini.kv[i];
        if (!rf_awsini_has_section(&ini, kv->section) || !*kv->key || kv->line < 1 ||
            (size_t)kv->line > lines || strlen(kv->value) > size)
            abort();
        /* The last value of a key is the one looked up. */
        const char *v = rf_awsini_get(&ini, kv->section, kv->key);
        if (!v)
            abort();
    }
    rf_awsini_free(&ini);
    return 0;
}
