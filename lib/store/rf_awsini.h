/* rf_awsini: the AWS shared credentials and config files (~/.aws/credentials,
 * ~/.aws/config), the INI dialect the AWS CLI and SDKs read.
 *
 *   [default]                 a section: a profile name in the credentials
 *   aws_access_key_id = AKIA  file, "default" or "profile NAME" in config
 *   # comment, ; comment      whole-line comments only
 *   s3 =                      a key with an empty value followed by indented
 *     max_concurrency = 10    lines: a nested block, kept out of the section
 *
 * Section and key names are compared case-sensitively (as botocore does for
 * profiles); surrounding blanks are trimmed. A line that is none of the
 * above is an error "FILE:LINE:COL: ..." and nothing is returned. A
 * parsed file is an owned value; lookups borrow from it. */
#ifndef RF_AWSINI_H
#define RF_AWSINI_H

#include <stddef.h>

#include "base/rf_err.h"

typedef struct rf_awsini_kv {
    char *section, *key, *value;
    int line;
} rf_awsini_kv;

typedef struct rf_awsini {
    rf_awsini_kv *kv;
    size_t n;
    char **sections;     /* every section header seen, in order */
    size_t nsections;
} rf_awsini;

/* Parse n bytes of text; name is used in messages. */
int rf_awsini_parse(const char *name, const char *text, size_t n, rf_awsini *out,
                    rf_err *err);
/* Read and parse path. A missing file is RF_ENOTFOUND. */
int rf_awsini_load(const char *path, rf_awsini *out, rf_err *err);
void rf_awsini_free(rf_awsini *ini);

/* The value of key in section (the last one if repeated), or NULL. */
const char *rf_awsini_get(const rf_awsini *ini, const char *section, const char *key);
int rf_awsini_has_section(const rf_awsini *ini, const char *section);

#endif
