/* fuzz_envfile: libFuzzer target for the EnvironmentFile parser (what
 * `ruvflow config check-env` reads before a unit starts). Every parse
 * either yields entries whose keys are valid names and whose values hold no
 * NUL, or fails with a FILE:LINE:COL message and nothing allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_envfile.h"

static int key_ok(const char *k)
{
    if (!*k || (*k >= '0' && *k <= '9'))
        return 0;
    for (; *k; k++)
        if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || *k == '_' ||
              (*k >= '0' && *k <= '9')))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rf_env_entry *e = NULL;
    size_t n = 0;
    rf_err err = {0};
    int rc = rf_envfile_parse("fuzz.env", (const char *)data, size, &e, &n, &err);
    if (rc != 0) {
        if (e || n || strncmp(err.msg, "fuzz.env:", 9) != 0)
            abort();
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!key_ok(e[i].key) || e[i].line < 1 || strlen(e[i].value) > size)
            abort();
    rf_env_free(e, n);
    return 0;
}
