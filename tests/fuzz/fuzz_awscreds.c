/* fuzz_awscreds: libFuzzer target for the two answers that carry temporary
 * AWS credentials: the EC2 instance role document (JSON) and STS
 * AssumeRoleWithWebIdentity (XML). The first byte picks the parser (and,
 * for STS, the HTTP status). A parse either yields all of access key,
 * secret, session token and a positive expiry, or fails with nothing
 * allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/rf_awsfetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    rf_aws_keys k;
    rf_err err = {0};
    const char *p = (const char *)data + 1;
    int rc = data[0] & 1 ? rf_aws_imds_parse(p, size - 1, &k, &err)
                         : rf_aws_sts_parse(data[0] & 2 ? 400 : 200, p, size - 1, &k, &err);
    if (rc != 0) {
        if (k.access_key || k.secret_key || k.session_token || !err.msg[0])
            abort();
        return 0;
    }
    if (!k.access_key || !*k.access_key || !k.secret_key || !k.session_token ||
        k.expires <= 0)
        abort();
    rf_aws_keys_free(&k);
    return 0;
}
