/* rf_envfile: systemd EnvironmentFile= syntax, for `ruvflow config
 * check-env` (the units run it before starting, so a wrong file fails the
 * unit with the name of the bad key).
 *
 * Lines are KEY=VALUE; blank lines and lines starting with # or ; are
 * comments; leading whitespace is ignored; KEY is [A-Za-z_][A-Za-z0-9_]*;
 * VALUE may be wrapped in "double" (with \" \\ escapes) or 'single' quotes.
 * Errors name FILE:LINE:COL. */
#ifndef RF_ENVFILE_H
#define RF_ENVFILE_H

#include <stddef.h>

#include "base/rf_err.h"

typedef struct rf_env_entry {
    char *key, *value;
    int line;
} rf_env_entry;

/* Parse text (n bytes, need not be NUL-terminated); name is the file name
 * for messages. *out is malloc'd (rf_env_free). */
int rf_envfile_parse(const char *name, const char *text, size_t n, rf_env_entry **out,
                     size_t *nout, rf_err *err);
void rf_env_free(rf_env_entry *e, size_t n);

#endif
