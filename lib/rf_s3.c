/* rf_s3: the s3:// store backend. Placeholder until the S3 backend lands:
 * opening an s3:// store fails clearly instead of pretending. */
#include "rf_store.h"

int rf_store_s3_open(const char *url, const rf_config *cfg, rf_store **out, rf_err *err)
{
    (void)cfg, (void)out;
    return rf_errf(err, RF_EUNSUPP, "%s: the s3 backend is not built yet", url);
}
