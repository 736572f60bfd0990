/* rf_awscreds: where the S3 client's AWS credentials come from, in the
 * order of the AWS SDKs' default chain, and their refresh before expiry.
 *
 *   1. static keys: the config's s3.access_key_id/secret_access_key[/
 *      session_token], which AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 *      AWS_SESSION_TOKEN set (rf_config);
 *   2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *      [+ AWS_ROLE_SESSION_NAME] -> STS AssumeRoleWithWebIdentity (EKS);
 *   3. the shared files: profile AWS_PROFILE (default "default") in
 *      AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and AWS_CONFIG_FILE
 *      (~/.aws/config, "[profile NAME]"): static keys, or role_arn +
 *      web_identity_token_file; source_profile, credential_source,
 *      credential_process and sso_* are refused with a clear error;
 *   4. the EC2 instance role through IMDSv2, unless
 *      AWS_EC2_METADATA_DISABLED=true.
 *
 * The first source that is configured is used; when it fails, opening
 * fails with an error that names it (the chain does not fall through to a
 * weaker source). Temporary credentials are refreshed when they are within
 * refresh_margin_s of their expiry; a failed refresh keeps the current
 * credentials until they expire and is retried at most every 10 s.
 *
 * A provider is shared by the S3 clients of one store (one per thread for
 * parallel multipart parts): rf_awscreds_get() is thread-safe and the
 * provider is reference counted. Messages never contain a secret. */
#ifndef RF_AWSCREDS_H
#define RF_AWSCREDS_H

#include <stdint.h>

#include "base/rf_err.h"
#include "base/rf_log.h"
#include "store/rf_awsfetch.h"

typedef struct rf_awscreds rf_awscreds;

/* Everything the chain reads; strings are borrowed for the duration of
 * rf_awscreds_open (the provider keeps copies of what it needs). */
typedef struct rf_awscreds_opts {
    const char *access_key, *secret_key, *session_token;   /* static keys */
    const char *static_source;     /* where they came from, e.g. "env AWS_ACCESS_KEY_ID" */
    const char *region;            /* for the regional STS endpoint; NULL = us-east-1 */
    const char *home;              /* for ~/.aws; NULL = no default files */
    const char *profile;           /* AWS_PROFILE; NULL = "default" */
    const char *credentials_file;  /* AWS_SHARED_CREDENTIALS_FILE */
    const char *config_file;       /* AWS_CONFIG_FILE */
    const char *web_identity_token_file, *role_arn, *role_session_name;
    const char *sts_endpoint;      /* AWS_ENDPOINT_URL_STS */
    const char *imds_endpoint;     /* AWS_EC2_METADATA_SERVICE_ENDPOINT */
    int imds_disabled;             /* AWS_EC2_METADATA_DISABLED=true */
    rf_aws_http http;              /* timeouts of STS and IMDS requests */
    long refresh_margin_s;         /* <= 0: 300 */
    /* The clock (Unix seconds); NULL = time(). Tests move it. */
    int64_t (*now)(void *ud);
    void *now_ud;
    const rf_log *log;             /* refresh warnings; NULL = default */
} rf_awscreds_opts;

/* Fill o from the environment (getenv pointers, borrowed); static keys are
 * left unset: they come from rf_config. */
void rf_awscreds_opts_from_env(rf_awscreds_opts *o);

/* Resolve the chain and fetch the first credentials. RF_EAUTH when no
 * source is configured or a source refuses; the message lists where the
 * chain looked. */
int rf_awscreds_open(const rf_awscreds_opts *o, rf_awscreds **out, rf_err *err);

/* A provider of fixed keys (never refreshed), or NULL when ak or sk is
 * NULL or empty. */
rf_awscreds *rf_awscreds_static(const char *ak, const char *sk, const char *token,
                                const char *source);

/* Fresh credentials (a copy the caller frees with rf_aws_keys_free),
 * refreshed first if they are close to expiry. */
int rf_awscreds_get(rf_awscreds *c, rf_aws_keys *out, rf_err *err);

/* The source in effect, e.g. "env AWS_ACCESS_KEY_ID", "profile dev
 * (/home/u/.aws/credentials)", "web identity arn:aws:iam::1:role/r",
 * "EC2 instance role r (IMDSv2)". Never a secret. */
const char *rf_awscreds_source(const rf_awscreds *c);
/* The profile's region setting, or NULL. */
const char *rf_awscreds_region(const rf_awscreds *c);
/* How many times the credentials were fetched again (tests, logs). */
int rf_awscreds_refreshes(rf_awscreds *c);

rf_awscreds *rf_awscreds_ref(rf_awscreds *c);
void rf_awscreds_unref(rf_awscreds *c);

#endif
