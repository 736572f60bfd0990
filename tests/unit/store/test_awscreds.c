/* Unit tests for the AWS credential chain (store/rf_awscreds.c, rf_awsini.c,
 * rf_awsfetch.c): the shared profile files for real (a temporary HOME with
 * ~/.aws/credentials and ~/.aws/config), and IMDSv2 and STS
 * AssumeRoleWithWebIdentity against a local stand-in on libmicrohttpd that
 * behaves as the services do: the metadata service refuses a GET without
 * the session token (401), STS refuses a bad token; both hand out
 * credentials that expire on the test's own clock, so refresh before
 * expiry is checked without sleeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "base/rf_fs.h"
#include "store/rf_awscreds.h"
#include "store/rf_awsfetch.h"
#include "store/rf_awsini.h"
#include "store/rf_s3_client.h"

/* --- a temporary HOME -------------------------------------------------------- */

static char home[256];

static void write_file(const char *rel, const char *text)
{
    char p[512], dir[512];
    snprintf(p, sizeof p, "%s/%s", home, rel);
    snprintf(dir, sizeof dir, "%s", p);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(rf_mkdir_p(dir, NULL), 0);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup_home(void **state)
{
    snprintf(home, sizeof home, "%s/rf-awscreds-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR")
                                                                          : "/tmp");
    assert_non_null(mkdtemp(home));
    return 0;
}

static int teardown_home(void **state)
{
    rf_rmtree(home, NULL);
    return 0;
}

/* Options that look only at the temporary HOME and never at the network. */
static rf_awscreds_opts offline_opts(void)
{
    rf_awscreds_opts o = {0};
    o.home = home;
    o.imds_disabled = 1;
    return o;
}

/* --- the profile files ------------------------------------------------------- */

static void test_profile_default_credentials_file(void **state)
{
    write_file(".aws/credentials",
               "# written by aws configure\n"
               "[default]\n"
               "aws_access_key_id = AKIADEFAULT00001\n"
               "aws_secret_access_key = secret-default-xyz\n"
               "\n[other]\naws_access_key_id=AKIAOTHER\naws_secret_access_key=s2\n");
    write_file(".aws/config", "[default]\nregion = eu-north-1\n"
                              "s3 =\n  max_concurrent_requests = 20\n  region = nested-no\n");
    rf_awscreds_opts o = offline_opts();
    rf_awscreds *c;
    rf_err e = {0};
    assert_int_equal(rf_awscreds_open(&o, &c, &e), 0);
    rf_aws_keys k;
    assert_int_equal(rf_awscreds_get(c, &k, &e), 0);
    assert_string_equal(k.access_key, "AKIADEFAULT00001");
    assert_string_equal(k.secret_key, "secret-default-xyz");
    assert_null(k.session_token);
    assert_int_equal(k.expires, 0);
    assert_non_null(strstr(rf_awscreds_source(c), "profile default"));
    assert_non_null(strstr(rf_awscreds_source(c), ".aws/credentials"));
    assert_null(strstr(rf_awscreds_source(c), "secret"));
    /* The region of [default] in config, not the nested s3 block's. */
    assert_string_equal(rf_awscreds_region(c), "eu-north-1");
    rf_aws_keys_free(&k);
    rf_awscreds_unref(c);
}

static void test_profile_named_in_config(void **state)
{
    write_file(".aws/credentials", "[default]\naws_access_key_id = AKIAD\n"
                                   "aws_secret_access_key = sd\n");
    write_file(".aws/config", "[profile dev]\nregion = ap-south-1\n"
                              "aws_access_key_id = AKIADEVCONFIG\n"
                              "aws_secret_access_key = dev-secret\n"
                              "aws_session_token = dev-session-token\n");
    rf_awscreds_opts o = offline_opts();
    o.profile = "dev";
    rf_awscreds *c;
    rf_err e = {0};
    assert_int_equal(rf_awscreds_open(&o, &c, &e), 0);
    rf_aws_keys k;
    assert_int_equal(rf_awscreds_get(c, &k, &e), 0);
    assert_string_equal(k.access_key, "AKIADEVCONFIG");
    assert_string_equal(k.session_token, "dev-session-token");
    assert_string_equal(rf_awscreds_region(c), "ap-south-1");
    assert_non_null(strstr(rf_awscreds_source(c), "profile dev"));
    assert_non_null(strstr(rf_awscreds_source(c), ".aws/config"));
    rf_aws_keys_free(&k);
    rf_awscreds_unref(c);
    /* The credentials file wins over config for the same profile. */
    write_file(".aws/credentials", "[dev]\naws_access_key_id = AKIADEVCRED\n"
                                   "aws_secret_access_key = dev-cred-secret\n");
    assert_int_equal(rf_awscreds_open(&o, &c, &e), 0);
    assert_int_equal(rf_awscreds_get(c, &k, &e), 0);
    assert_string_equal(k.access_key, "AKIADEVCRED");
    rf_aws_keys_free(&k);
    rf_awscreds_unref(c);
}

static void test_profile_files_from_env_paths(void **state)
{
    write_file("elsewhere/creds", "[ci]\naws_access_key_id = AKIACI\naws_secret_access_key = c\n");
    char p[512];
    snprintf(p, sizeof p, "%s/elsewhere/creds", home);
    rf_awscreds_opts o = offline_opts();
    o.home = NULL; /* no ~/.aws at all */
    o.credentials_file = p;
    o.profile = "ci";
    rf_awscreds *c;
    rf_err e = {0};
    assert_int_equal(rf_awscreds_open(&o, &c, &e), 0);
    assert_non_null(strstr(rf_awscreds_source(c), p));
    rf_awscreds_unref(c);
    /* "~/" is HOME, as for the SDKs. */
    o.home = home;
    o.credentials_file = "~/elsewhere/creds";
    assert_int_equal(rf_awscreds_open(&o, &c, &e), 0);
    assert_non_null(strstr(rf_awscreds_source(c), p));
    rf_awscreds_unref(c);
}

static void test_profile_errors(void **state)
{
    rf_awscreds_opts o = offline_opts();
    rf_awscreds *c = NULL;
    rf_err e = {0};
    /* A profile named on purpose but absent: no silent fall-through. */
    write_file(".aws/credentials", "[default]\naws_access_key_id = A\naws_secret_access_key = s\n");
    write_file(".aws/config", "[default]\nregion = us-west-2\n");
    o.profile = "prod";
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_int_equal(e.code, RF_EAUTH);
    assert_non_null(strstr(e.msg, "AWS profile prod"));
    assert_non_null(strstr(e.msg, ".aws/credentials"));
    assert_non_null(strstr(e.msg, ".aws/config"));
    /* Half a key pair names the file and no secret. */
    write_file(".aws/credentials", "[prod]\naws_secret_access_key = very-secret-value\n");
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_non_null(strstr(e.msg, "aws_secret_access_key without aws_access_key_id"));
    assert_null(strstr(e.msg, "very-secret-value"));
    /* What is not supported says so. */
    write_file(".aws/config", "[profile prod]\ncredential_process = /bin/get-creds\n");
    write_file(".aws/credentials", "");
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_int_equal(e.code, RF_EUNSUPP);
    assert_non_null(strstr(e.msg, "credential_process is not supported"));
    write_file(".aws/config", "[profile prod]\nrole_arn = arn:aws:iam::1:role/r\n"
                              "source_profile = default\n");
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_non_null(strstr(e.msg, "source_profile is not supported"));
    /* A malformed file: FILE:LINE:COL. */
    write_file(".aws/config", "[profile prod]\nregion = x\n  [broken\n");
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_int_equal(e.code, RF_EINVAL);
    assert_non_null(strstr(e.msg, ".aws/config:3:3: section header without ']'"));
    /* The default profile without credentials and no instance role. */
    o.profile = NULL;
    write_file(".aws/credentials", "");
    write_file(".aws/config", "[default]\nregion = us-west-2\n");
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_int_equal(e.code, RF_EAUTH);
    assert_non_null(strstr(e.msg, "no AWS credentials"));
    assert_null(c);
}

static void test_static_keys_first(void **state)
{
    write_file(".aws/credentials", "[default]\naws_access_key_id = AKIAPROFILE\n"
                                   "aws_secret_access_key = p\n");
    rf_awscreds_opts o = offline_opts();
    o.access_key = "AKIAENV";
    o.secret_key = "env-secret";
    o.static_source = "env AWS_ACCESS_KEY_ID";
    rf_awscreds *c;
    rf_err e = {0};
    assert_int_equal(rf_awscreds_open(&o, &c, &e), 0);
    assert_string_equal(rf_awscreds_source(c), "env AWS_ACCESS_KEY_ID");
    rf_aws_keys k;
    assert_int_equal(rf_awscreds_get(c, &k, &e), 0);
    assert_string_equal(k.access_key, "AKIAENV");
    rf_aws_keys_free(&k);
    rf_awscreds_unref(c);
    o.secret_key = NULL;
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_non_null(strstr(e.msg, "env AWS_ACCESS_KEY_ID"));
    /* Fixed keys for a client without a chain; none without both. */
    assert_null(rf_awscreds_static("AK", "", NULL, "x"));
    assert_null(rf_awscreds_static(NULL, "SK", NULL, "x"));
    c = rf_awscreds_static("AK", "SK", "TOK", "static keys (test)");
    assert_int_equal(rf_awscreds_get(c, &k, &e), 0);
    assert_string_equal(k.session_token, "TOK");
    assert_string_equal(rf_awscreds_source(c), "static keys (test)");
    rf_aws_keys_free(&k);
    rf_awscreds_unref(c);
}

static void test_ini_parser(void **state)
{
    rf_awsini ini;
    rf_err e = {0};
    const char *t = "\xEF\xBB\xBF; comment\n[a]\r\nk = v = w \r\n\n[ b ]\nk=\n  x = 1\nz = 2\n";
    assert_int_equal(rf_awsini_parse("t", t, strlen(t), &ini, &e), 0);
    assert_string_equal(rf_awsini_get(&ini, "a", "k"), "v = w");
    assert_string_equal(rf_awsini_get(&ini, "b", "k"), "");
    assert_null(rf_awsini_get(&ini, "b", "x"));
    assert_string_equal(rf_awsini_get(&ini, "b", "z"), "2");
    assert_true(rf_awsini_has_section(&ini, "b"));
    rf_awsini_free(&ini);
    static const struct { const char *text, *msg; } bad[] = {
        {"k = v\n", "t:1:1: key before the first [section]"},
        {"[a]\njunk\n", "t:2:1: expected [section] or key = value"},
        {"[a]\n = v\n", "t:2:2: empty key before '='"},
        {"[]\n", "t:1:1: empty section name"},
        {"[a] x\n", "t:1:5: text after the section header"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(rf_awsini_parse("t", bad[i].text, strlen(bad[i].text), &ini, &e), -1);
        assert_string_equal(e.msg, bad[i].msg);
        assert_null(ini.kv);
    }
    assert_int_equal(rf_awsini_parse("t", "[a]\0", 4, &ini, &e), -1);
}

/* --- the stand-in for IMDS and STS ------------------------------------------- */

typedef struct standin {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    int64_t now;             /* the test's clock, Unix seconds */
    long lifetime_s;         /* of the credentials handed out */
    int generation;          /* bumped at every credentials answer */
    int unauthorized;        /* GETs refused for a missing/wrong token */
    int requests;
    int fail_500;            /* answer 500 to everything */
    const char *bad_body;    /* answer this instead of good credentials */
    char last_token[256];    /* STS: the WebIdentityToken of the last call */
    char last_role[256];
    char s3_token[256];      /* S3 (/bkt/...): x-amz-security-token of the last request */
    char s3_auth[512];       /* and its Authorization header */
} standin;

static int64_t standin_clock(void *ud)
{
    standin *s = ud;
    pthread_mutex_lock(&s->mu);
    int64_t t = s->now;
    pthread_mutex_unlock(&s->mu);
    return t;
}

static void standin_advance(standin *s, int64_t by)
{
    pthread_mutex_lock(&s->mu);
    s->now += by;
    pthread_mutex_unlock(&s->mu);
}

static void iso8601(char *out, size_t n, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static enum MHD_Result send_text(struct MHD_Connection *c, int status, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                             MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

#define IMDS_TOKEN "imds-session-token-1"

static enum MHD_Result imds(standin *s, struct MHD_Connection *c, const char *url,
                            const char *method)
{
    char body[1024], exp[32];
    if (!strcmp(method, "PUT") && !strcmp(url, "/latest/api/token")) {
        const char *ttl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                      "X-aws-ec2-metadata-token-ttl-seconds");
        return ttl ? send_text(c, 200, IMDS_TOKEN) : send_text(c, 400, "missing ttl");
    }
    const char *tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-aws-ec2-metadata-token");
    if (!tok || strcmp(tok, IMDS_TOKEN)) {
        s->unauthorized++;
        return send_text(c, 401, "");
    }
    if (!strcmp(url, "/latest/meta-data/iam/security-credentials/"))
        return send_text(c, 200, "worker-role");
    if (strcmp(url, "/latest/meta-data/iam/security-credentials/worker-role"))
        return send_text(c, 404, "not found");
    if (s->bad_body)
        return send_text(c, 200, s->bad_body);
    s->generation++;
    iso8601(exp, sizeof exp, s->now + s->lifetime_s);
    snprintf(body, sizeof body,
             "{\"Code\":\"Success\",\"LastUpdated\":\"2026-12-04T00:00:00Z\","
             "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS%d\","
             "\"SecretAccessKey\":\"imds-secret-%d\",\"Token\":\"imds-token-%d\","
             "\"Expiration\":\"%s\"}", s->generation, s->generation, s->generation, exp);
    return send_text(c, 200, body);
}

/* A form field's decoded value from an x-www-form-urlencoded body. */
static void form_field(const char *form, const char *name, char *out, size_t n)
{
    out[0] = '\0';
    size_t nl = strlen(name);
    for (const char *p = form; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (!strncmp(p, name, nl) && p[nl] == '=') {
            const char *v = p + nl + 1;
            int len = (int)strcspn(v, "&");
            char *d = curl_unescape(v, len);
            snprintf(out, n, "%s", d);
            curl_free(d);
            return;
        }
    }
}

static enum MHD_Result sts(standin *s, struct MHD_Connection *c, const char *form)
{
    char action[64], token[256], body[2048], exp[32];
    form_field(form, "Action", action, sizeof action);
    form_field(form, "WebIdentityToken", token, sizeof token);
    form_field(form, "RoleArn", s->last_role, sizeof s->last_role);
    snprintf(s->last_token, sizeof s->last_token, "%s", token);
    if (strcmp(action, "AssumeRoleWithWebIdentity"))
        return send_text(c, 400, "<ErrorResponse><Error><Code>InvalidAction</Code>"
                                 "</Error></ErrorResponse>");
    if (!strncmp(token, "bad", 3))
        return send_text(c, 400, "<ErrorResponse><Error><Type>Sender</Type>"
                                 "<Code>InvalidIdentityToken</Code><Message>Couldn't retrieve "
                                 "verification key from your identity provider</Message></Error>"
                                 "</ErrorResponse>");
    if (s->bad_body)
        return send_text(c, 200, s->bad_body);
    s->generation++;
    iso8601(exp, sizeof exp, s->now + s->lifetime_s);
    snprintf(body, sizeof body,
             "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/"
             "2011-06-15/\"><AssumeRoleWithWebIdentityResult><Credentials>"
             "<SessionToken>sts-token-%d</SessionToken><SecretAccessKey>sts-secret-%d"
             "</SecretAccessKey><Expiration>%s</Expiration><AccessKeyId>ASIASTS%d"
             "</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult>"
             "</AssumeRoleWithWebIdentityResponse>", s->generation, s->generation, exp,
             s->generation);
    return send_text(c, 200, body);
}

/* An S3 endpoint that only records how the request was signed. */
static enum MHD_Result s3(standin *s, struct MHD_Connection *c)
{
    const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-amz-security-token");
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    snprintf(s->s3_token, sizeof s->s3_token, "%s", t ? t : "");
    snprintf(s->s3_auth, sizeof s->s3_auth, "%s", a ? a : "");
    return send_text(c, 200, "");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **st)
{
    standin *s = cls;
    rf_buf *body = *st;
    if (!body) { /* first call: headers only */
        *st = body = rf_xcalloc(1, sizeof *body);
        rf_buf_add(body, "", 0);
        return MHD_YES;
    }
    if (*upload_size) {
        rf_buf_add(body, upload, *upload_size);
        rf_buf_add(body, "", 0);
        body->len--;
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->mu);
    s->requests++;
    enum MHD_Result rc;
    if (s->fail_500)
        rc = send_text(c, 500, "<ErrorResponse><Error><Code>InternalFailure</Code></Error>"
                               "</ErrorResponse>");
    else if (!strcmp(method, "POST") && !strcmp(url, "/"))
        rc = sts(s, c, body->data);
    else if (!strncmp(url, "/bkt/", 5))
        rc = s3(s, c);
    else
        rc = imds(s, c, url, method);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void on_done(void *cls, struct MHD_Connection *c, void **st,
                    enum MHD_RequestTerminationCode toe)
{
    rf_buf *body = *st;
    if (body) {
        rf_buf_free(body);
        free(body);
    }
}

static standin *standin_start(void)
{
    standin *s = rf_xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->now = 1800000000;
    s->lifetime_s = 3600;
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, s,
                            MHD_OPTION_NOTIFY_COMPLETED, on_done, s, MHD_OPTION_END);
    assert_non_null(s->d);
    s->port = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return s;
}

static void standin_stop(standin *s)
{
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static char endpoint[64];

static rf_awscreds_opts online_opts(standin *s)
{
    rf_awscreds_opts o = offline_opts();
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", s->port);
    o.imds_disabled = 0;
    o.imds_endpoint = endpoint;
    o.sts_endpoint = endpoint;
    o.now = standin_clock;
    o.now_ud = s;
    o.http = (rf_aws_http){1000, 3000};
    return o;
}

/* --- IMDSv2 ------------------------------------------------------------------ */

static void test_imds_token_required(void **state)
{
    standin *s = standin_start();
    /* The stand-in refuses a GET without the session token, as IMDSv2 does... */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/latest/meta-data/iam/security-credentials/",
             s->port);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fwrite);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, stderr);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    assert_int_equal(status, 401);
    assert_int_equal(s->unauthorized, 1);
    /* ...and the chain gets the role's credentials through it. */
    write_file(".aws/credentials", "");
    write_file(".aws/config", "");
    rf_awscreds_opts o = online_opts(s);
    rf_awscreds *c;
    rf_err e = {0};
    assert_int_equal(rf_awscreds_open(&o, &c, &e), 0);
    assert_int_equal(s->unauthorized, 1);
    assert_string_equal(rf_awscreds_source(c), "EC2 instance role worker-role (IMDSv2)");
    rf_aws_keys k;
    assert_int_equal(rf_awscreds_get(c, &k, &e), 0);
    assert_string_equal(k.access_key, "ASIAIMDS1");
    assert_string_equal(k.session_token, "imds-token-1");
    assert_int_equal(k.expires, s->now + 3600);
    rf_aws_keys_free(&k);
    rf_awscreds_unref(c);
    standin_stop(s);
}

static void test_imds_refresh_before_expiry(void **state)
{
    standin *s = standin_start();
    write_file(".aws/credentials", "");
    write_file(".aws/config", "");
    rf_awscreds_opts o = online_opts(s);
    rf_awscreds *c;
    rf_err e = {0};
    rf_aws_keys k;
    assert_int_equal(rf_awscreds_open(&o, &c, &e), 0);
    /* Well before expiry: the same keys, no request. */
    int before = s->requests;
    standin_advance(s, 3000);
    assert_int_equal(rf_awscreds_get(c, &k, &e), 0);
    assert_string_equal(k.access_key, "ASIAIMDS1");
    rf_aws_keys_free(&k);
    assert_int_equal(s->requests, before);
    /* 5 minutes before expiry: fresh ones, still before the old ones lapse. */
    standin_advance(s, 301);
    assert_int_equal(rf_awscreds_get(c, &k, &e), 0);
    assert_string_equal(k.access_key, "ASIAIMDS2");
    assert_string_equal(k.session_token, "imds-token-2");
    assert_int_equal(rf_awscreds_refreshes(c), 1);
    rf_aws_keys_free(&k);
    /* A failed refresh keeps the current keys while they are valid... */
    standin_advance(s, 3600 - 200);
    s->fail_500 = 1;
    assert_int_equal(rf_awscreds_get(c, &k, &e), 0);
    assert_string_equal(k.access_key, "ASIAIMDS2");
    rf_aws_keys_free(&k);
    /* ...and is an error naming the source once they have expired. */
    standin_advance(s, 300);
    assert_int_equal(rf_awscreds_get(c, &k, &e), -1);
    assert_int_equal(e.code, RF_ENET);
    assert_non_null(strstr(e.msg, "EC2 instance role worker-role (IMDSv2) expired"));
    assert_non_null(strstr(e.msg, "HTTP 500"));
    assert_null(strstr(e.msg, "imds-secret"));
    assert_null(k.access_key);
    /* The service is back: the next call recovers. */
    s->fail_500 = 0;
    assert_int_equal(rf_awscreds_get(c, &k, &e), 0);
    assert_string_equal(k.access_key, "ASIAIMDS3");
    rf_aws_keys_free(&k);
    rf_awscreds_unref(c);
    standin_stop(s);
}

static void test_imds_malformed(void **state)
{
    standin *s = standin_start();
    write_file(".aws/credentials", "");
    write_file(".aws/config", "");
    rf_awscreds_opts o = online_opts(s);
    rf_awscreds *c = NULL;
    rf_err e = {0};
    s->bad_body = "{\"Code\":\"Success\",\"AccessKeyId\":";
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_non_null(strstr(e.msg, "malformed JSON"));
    assert_non_null(strstr(e.msg, "role worker-role"));
    assert_non_null(strstr(e.msg, "IMDSv2"));
    s->bad_body = "{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
                  "\"Token\":\"T\",\"Expiration\":\"soon\"}";
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_non_null(strstr(e.msg, "Expiration 'soon' is not a time"));
    s->bad_body = "{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"Token\":\"T\"}";
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_non_null(strstr(e.msg, "SecretAccessKey is missing"));
    assert_null(c);
    standin_stop(s);
}

static void test_imds_disabled_and_unreachable(void **state)
{
    standin *s = standin_start();
    write_file(".aws/credentials", "");
    write_file(".aws/config", "");
    rf_awscreds_opts o = online_opts(s);
    o.imds_disabled = 1;
    rf_awscreds *c = NULL;
    rf_err e = {0};
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_int_equal(s->requests, 0);
    assert_non_null(strstr(e.msg, "AWS_EC2_METADATA_DISABLED"));
    standin_stop(s);
    /* Nothing listening: a quick, clear failure. */
    o.imds_disabled = 0;
    o.imds_endpoint = "http://127.0.0.1:1";
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_int_equal(e.code, RF_EAUTH);
    assert_non_null(strstr(e.msg, "EC2 instance metadata (IMDSv2) at http://127.0.0.1:1"));
}

/* --- web identity ------------------------------------------------------------ */

static void test_web_identity(void **state)
{
    standin *s = standin_start();
    write_file("token", "eyJhbGciOi.first-token\n");
    char tf[512];
    snprintf(tf, sizeof tf, "%s/token", home);
    rf_awscreds_opts o = online_opts(s);
    o.web_identity_token_file = tf;
    o.role_arn = "arn:aws:iam::123456789012:role/ruvflow-worker";
    o.role_session_name = "sess";
    rf_awscreds *c;
    rf_err e = {0};
    assert_int_equal(rf_awscreds_open(&o, &c, &e), 0);
    assert_string_equal(s->last_token, "eyJhbGciOi.first-token");
    assert_string_equal(s->last_role, "arn:aws:iam::123456789012:role/ruvflow-worker");
    assert_non_null(strstr(rf_awscreds_source(c), "web identity arn:aws:iam::123456789012"));
    rf_aws_keys k;
    assert_int_equal(rf_awscreds_get(c, &k, &e), 0);
    assert_string_equal(k.access_key, "ASIASTS1");
    assert_string_equal(k.session_token, "sts-token-1");
    rf_aws_keys_free(&k);
    /* The kubelet rotates the token file: a refresh sends the new token. */
    write_file("token", "eyJhbGciOi.second-token");
    standin_advance(s, 3600 - 299);
    assert_int_equal(rf_awscreds_get(c, &k, &e), 0);
    assert_string_equal(k.access_key, "ASIASTS2");
    assert_string_equal(s->last_token, "eyJhbGciOi.second-token");
    rf_aws_keys_free(&k);
    rf_awscreds_unref(c);
    /* A refused token: the STS error code, never the token. */
    write_file("token", "bad-token-value");
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_int_equal(e.code, RF_EAUTH);
    assert_non_null(strstr(e.msg, "InvalidIdentityToken"));
    assert_non_null(strstr(e.msg, "web identity"));
    assert_null(strstr(e.msg, "bad-token-value"));
    /* Malformed XML. */
    write_file("token", "good");
    s->bad_body = "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                  "<Credentials><AccessKeyId>A</AccessKeyId></Cred";
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_int_equal(e.code, RF_ECORRUPT);
    assert_non_null(strstr(e.msg, "no AssumeRoleWithWebIdentityResult/Credentials"));
    s->bad_body = NULL;
    /* Half the configuration. */
    o.role_arn = NULL;
    assert_int_equal(rf_awscreds_open(&o, &c, &e), -1);
    assert_non_null(strstr(e.msg, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN"));
    standin_stop(s);
}

static void test_web_identity_from_profile(void **state)
{
    standin *s = standin_start();
    write_file("eks-token", "profile-token");
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "[profile eks]\nrole_arn = arn:aws:iam::1:role/p\n"
                              "web_identity_token_file = %s/eks-token\n", home);
    write_file(".aws/config", cfg);
    write_file(".aws/credentials", "");
    rf_awscreds_opts o = online_opts(s);
    o.profile = "eks";
    rf_awscreds *c;
    rf_err e = {0};
    assert_int_equal(rf_awscreds_open(&o, &c, &e), 0);
    assert_string_equal(s->last_token, "profile-token");
    assert_non_null(strstr(rf_awscreds_source(c), "profile eks"));
    rf_awscreds_unref(c);
    standin_stop(s);
}

static void test_sts_parse(void **state)
{
    rf_aws_keys k;
    rf_err e = {0};
    const char *ok = "<R><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>A</AccessKeyId>"
                     "<SecretAccessKey>S&amp;</SecretAccessKey><SessionToken>T</SessionToken>"
                     "<Expiration>2026-12-04T03:00:00.000Z</Expiration></Credentials>"
                     "</AssumeRoleWithWebIdentityResult></R>";
    assert_int_equal(rf_aws_sts_parse(200, ok, strlen(ok), &k, &e), 0);
    assert_string_equal(k.secret_key, "S&");
    assert_int_equal(k.expires, 1796353200);
    rf_aws_keys_free(&k);
    assert_int_equal(rf_aws_sts_parse(503, "", 0, &k, &e), -1);
    assert_int_equal(e.code, RF_ENET);
    const char *noexp = "<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>A"
                        "</AccessKeyId><SecretAccessKey>S</SecretAccessKey><SessionToken>T"
                        "</SessionToken></Credentials></AssumeRoleWithWebIdentityResult>";
    assert_int_equal(rf_aws_sts_parse(200, noexp, strlen(noexp), &k, &e), -1);
    assert_string_equal(e.msg, "answer's Credentials has no Expiration");
    assert_null(k.access_key);
}

/* --- the S3 client signs with fresh keys --------------------------------------- */

static void test_s3_client_signs_with_refreshed_keys(void **state)
{
    standin *s = standin_start();
    write_file(".aws/credentials", "");
    write_file(".aws/config", "");
    rf_awscreds_opts o = online_opts(s);
    rf_awscreds *c;
    rf_err e = {0};
    assert_int_equal(rf_awscreds_open(&o, &c, &e), 0);
    rf_s3_conf conf = {.endpoint = endpoint, .region = "us-east-1", .path_style = -1,
                       .max_retries = 0, .connect_timeout_ms = 1000, .timeout_ms = 3000};
    rf_s3_client *cl;
    assert_int_equal(rf_s3_client_new_creds(&conf, c, "bkt", &cl, &e), 0);
    rf_awscreds_unref(c);   /* the client holds its own reference */
    rf_s3_req rq;
    rf_s3_resp resp;
    rf_s3_req_init(&rq, "GET", "k");
    assert_int_equal(rf_s3_do(cl, &rq, &resp, &e), 0);
    rf_s3_resp_free(&resp);
    assert_string_equal(s->s3_token, "imds-token-1");
    assert_non_null(strstr(s->s3_auth, "Credential=ASIAIMDS1/"));
    assert_non_null(strstr(s->s3_auth, "x-amz-security-token"));   /* signed */
    /* Inside the refresh margin, the next request signs with new keys. */
    standin_advance(s, 3600 - 60);
    rf_s3_req_init(&rq, "GET", "k");
    assert_int_equal(rf_s3_do(cl, &rq, &resp, &e), 0);
    rf_s3_resp_free(&resp);
    assert_string_equal(s->s3_token, "imds-token-2");
    assert_non_null(strstr(s->s3_auth, "Credential=ASIAIMDS2/"));
    rf_s3_client_free(cl);
    standin_stop(s);
}

/* --- threads ----------------------------------------------------------------- */

typedef struct getter {
    rf_awscreds *c;
    int failures;
    int mixed;      /* a key pair from two generations */
} getter;

static void *get_many(void *arg)
{
    getter *g = arg;
    for (int i = 0; i < 300; i++) {
        rf_aws_keys k;
        rf_err e = {0};
        if (rf_awscreds_get(g->c, &k, &e) < 0) {
            g->failures++;
            continue;
        }
        /* ASIAIMDS<n> goes with imds-secret-<n> and imds-token-<n>. */
        if (strcmp(k.access_key + 8, k.secret_key + 12) || strcmp(k.access_key + 8,
                                                                  k.session_token + 11))
            g->mixed++;
        rf_aws_keys_free(&k);
    }
    return NULL;
}

static void test_threads_share_one_refresh(void **state)
{
    standin *s = standin_start();
    write_file(".aws/credentials", "");
    write_file(".aws/config", "");
    rf_awscreds_opts o = online_opts(s);
    rf_awscreds *c;
    rf_err e = {0};
    assert_int_equal(rf_awscreds_open(&o, &c, &e), 0);
    standin_advance(s, 3600 - 100);   /* every thread finds them due */
    getter g[4] = {{c, 0, 0}, {c, 0, 0}, {c, 0, 0}, {c, 0, 0}};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, get_many, &g[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(g[i].failures, 0);
        assert_int_equal(g[i].mixed, 0);
    }
    assert_int_equal(rf_awscreds_refreshes(c), 1);
    rf_awscreds_unref(c);
    standin_stop(s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_profile_default_credentials_file, setup_home,
                                        teardown_home),
        cmocka_unit_test_setup_teardown(test_profile_named_in_config, setup_home, teardown_home),
        cmocka_unit_test_setup_teardown(test_profile_files_from_env_paths, setup_home,
                                        teardown_home),
        cmocka_unit_test_setup_teardown(test_profile_errors, setup_home, teardown_home),
        cmocka_unit_test_setup_teardown(test_static_keys_first, setup_home, teardown_home),
        cmocka_unit_test(test_ini_parser),
        cmocka_unit_test_setup_teardown(test_imds_token_required, setup_home, teardown_home),
        cmocka_unit_test_setup_teardown(test_imds_refresh_before_expiry, setup_home,
                                        teardown_home),
        cmocka_unit_test_setup_teardown(test_imds_malformed, setup_home, teardown_home),
        cmocka_unit_test_setup_teardown(test_imds_disabled_and_unreachable, setup_home,
                                        teardown_home),
        cmocka_unit_test_setup_teardown(test_web_identity, setup_home, teardown_home),
        cmocka_unit_test_setup_teardown(test_web_identity_from_profile, setup_home,
                                        teardown_home),
        cmocka_unit_test(test_sts_parse),
        cmocka_unit_test_setup_teardown(test_s3_client_signs_with_refreshed_keys, setup_home,
                                        teardown_home),
        cmocka_unit_test_setup_teardown(test_threads_share_one_refresh, setup_home,
                                        teardown_home),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
