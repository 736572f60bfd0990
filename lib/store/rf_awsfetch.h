/* rf_awsfetch: temporary AWS credentials from the two services that hand
 * them out, and the parsers of their answers (exposed for tests and fuzzing).
 *
 *   EC2 instance metadata, IMDSv2 only: PUT /latest/api/token (a session
 *   token, TTL header), then GET /latest/meta-data/iam/security-credentials/
 *   (the role name) and .../ROLE (JSON), both with X-aws-ec2-metadata-token.
 *
 *   STS AssumeRoleWithWebIdentity: an unsigned query-form POST (the OIDC
 *   token is in the body, so it never lands in an access log's URL); the
 *   XML answer is read with rf_s3xml.
 *
 * Every request has a short connect and total timeout so that a machine
 * that is not on EC2 fails fast. Errors name the service and the endpoint,
 * never a token or a key. */
#ifndef RF_AWSFETCH_H
#define RF_AWSFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_err.h"

/* One set of credentials; strings malloc'd, secrets wiped on free. */
typedef struct rf_aws_keys {
    char *access_key, *secret_key, *session_token;   /* token NULL if none */
    int64_t expires;                                  /* Unix s; 0 = never */
} rf_aws_keys;

void rf_aws_keys_free(rf_aws_keys *k);
void rf_aws_keys_copy(rf_aws_keys *dst, const rf_aws_keys *src);

typedef struct rf_aws_http {
    long connect_timeout_ms;   /* default 1000 */
    long timeout_ms;           /* whole request, default 3000 */
} rf_aws_http;

#define RF_IMDS_ENDPOINT "http://169.254.169.254"

/* The instance role's credentials from the metadata service at endpoint
 * (scheme://host[:port], no path). *role gets the role name (malloc'd) if
 * role is not NULL. */
int rf_aws_imds_fetch(const char *endpoint, const rf_aws_http *h, rf_aws_keys *out,
                      char **role, rf_err *err);

/* AssumeRoleWithWebIdentity at endpoint (e.g. https://sts.us-east-1.amazonaws.com). */
int rf_aws_sts_web_identity(const char *endpoint, const char *role_arn,
                            const char *session_name, const char *token,
                            const rf_aws_http *h, rf_aws_keys *out, rf_err *err);

/* The instance role document (JSON: Code, AccessKeyId, SecretAccessKey,
 * Token, Expiration). RF_ECORRUPT when malformed or incomplete. */
int rf_aws_imds_parse(const char *json, size_t n, rf_aws_keys *out, rf_err *err);

/* An AssumeRoleWithWebIdentity answer of HTTP status `status`: the
 * credentials of a 200, or the <Error> of another status as *err
 * (RF_EAUTH for refused tokens, RF_ENET for 5xx). */
int rf_aws_sts_parse(long status, const char *xml, size_t n, rf_aws_keys *out,
                     rf_err *err);

#endif
