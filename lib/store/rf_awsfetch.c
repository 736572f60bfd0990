/* rf_awsfetch: IMDSv2 and STS web-identity credentials; see rf_awsfetch.h. */
#include "store/rf_awsfetch.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "store/rf_s3.h"
#include "store/rf_s3xml.h"
#include "store/rf_sigv4.h"

/* Answers are a few hundred bytes; a bound keeps a wrong server harmless. */
#define MAX_ANSWER (64u << 10)
#define IMDS_TOKEN_TTL "21600"

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

void rf_aws_keys_free(rf_aws_keys *k)
{
    free(k->access_key);
    wipe_free(k->secret_key);
    wipe_free(k->session_token);
    memset(k, 0, sizeof *k);
}

void rf_aws_keys_copy(rf_aws_keys *dst, const rf_aws_keys *src)
{
    dst->access_key = src->access_key ? rf_xstrdup(src->access_key) : NULL;
    dst->secret_key = src->secret_key ? rf_xstrdup(src->secret_key) : NULL;
    dst->session_token = src->session_token ? rf_xstrdup(src->session_token) : NULL;
    dst->expires = src->expires;
}

/* --- HTTP ------------------------------------------------------------------ */

typedef struct answer {
    rf_buf body;
    int too_big;
} answer;

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    answer *a = ud;
    size_t n = sz * nm;
    if (a->body.len + n > MAX_ANSWER) {
        a->too_big = 1;
        return 0;
    }
    rf_buf_add(&a->body, p, n);
    return n;
}

/* One request; *status is the HTTP status (0 if none). The body is always
 * NUL-terminated. what names the service in messages. */
static int http(const char *what, const char *method, const char *url,
                struct curl_slist *hdrs, const char *body, const rf_aws_http *h,
                long *status, rf_buf *out, rf_err *err)
{
    *status = 0;
    CURL *c = curl_easy_init();
    if (!c)
        return rf_errf(err, RF_ENOMEM, "%s: curl_easy_init failed", what);
    answer a = {RF_BUF_INIT, 0};
    rf_buf_add(&a.body, "", 0);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h && h->connect_timeout_ms > 0
                                                       ? h->connect_timeout_ms : 1000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h && h->timeout_ms > 0 ? h->timeout_ms : 3000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    /* No proxy: the metadata service is link-local, and STS credentials
     * must not pass through a proxy the environment happens to name. */
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    } else if (!strcmp(method, "PUT")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    int rc = 0;
    if (a.too_big)
        rc = rf_errf(err, RF_ECORRUPT, "%s: answer over %u bytes", what, MAX_ANSWER);
    else if (cc != CURLE_OK)
        rc = rf_errf(err, RF_ENET, "%s: %s", what, errbuf[0] ? errbuf : curl_easy_strerror(cc));
    if (rc == 0) {
        rf_buf_add(out, a.body.data, a.body.len);
        rf_buf_add(out, "", 0);
    }
    rf_buf_free(&a.body);
    return rc;
}

/* endpoint without trailing '/' + path. */
static void make_url(rf_buf *u, const char *endpoint, const char *path)
{
    size_t n = strlen(endpoint);
    while (n && endpoint[n - 1] == '/')
        n--;
    rf_buf_addf(u, "%.*s%s", (int)n, endpoint, path);
}

/* --- IMDSv2 ---------------------------------------------------------------- */

static int imds_get(const char *what, const char *endpoint, const char *path,
                    const char *token, const rf_aws_http *h, rf_buf *out, rf_err *err)
{
    rf_buf url = RF_BUF_INIT, hd = RF_BUF_INIT;
    make_url(&url, endpoint, path);
    rf_buf_addf(&hd, "X-aws-ec2-metadata-token: %s", token);
    struct curl_slist *l = curl_slist_append(NULL, hd.data);
    long status;
    int rc = http(what, "GET", url.data, l, NULL, h, &status, out, err);
    if (rc == 0 && status == 404)
        rc = rf_errf(err, RF_ENOTFOUND, "%s: 404 (no IAM role is attached to this instance)",
                     what);
    else if (rc == 0 && status != 200)
        rc = rf_errf(err, status == 401 || status == 403 ? RF_EAUTH : RF_ENET,
                     "%s: HTTP %ld", what, status);
    curl_slist_free_all(l);
    memset(hd.data, 0, hd.len);
    rf_buf_free(&hd);
    rf_buf_free(&url);
    return rc;
}

static int imds_token(const char *endpoint, const rf_aws_http *h, rf_buf *tok, rf_err *err)
{
    rf_buf url = RF_BUF_INIT;
    make_url(&url, endpoint, "/latest/api/token");
    struct curl_slist *l =
        curl_slist_append(NULL, "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL);
    long status;
    int rc = http("PUT /latest/api/token", "PUT", url.data, l, NULL, h, &status, tok, err);
    if (rc == 0 && status != 200)
        rc = rf_errf(err, RF_ENET, "PUT /latest/api/token: HTTP %ld (IMDSv2 session token "
                     "refused; IMDSv1 is not used)", status);
    if (rc == 0) {
        /* The token is one line of printable text: it goes into a header. */
        while (tok->len && (tok->data[tok->len - 1] == '\n' || tok->data[tok->len - 1] == '\r'))
            tok->data[--tok->len] = '\0';
        if (!tok->len || strpbrk(tok->data, "\r\n"))
            rc = rf_errf(err, RF_ECORRUPT, "PUT /latest/api/token: not a token");
    }
    curl_slist_free_all(l);
    rf_buf_free(&url);
    return rc;
}

/* The first line of the role listing: a role name is [\w+=,.@-]{1,64}. */
static int role_name(const rf_buf *b, char **out, rf_err *err)
{
    size_t n = strcspn(b->data, "\r\n");
    if (n == 0 || n > 64)
        return rf_errf(err, RF_ECORRUPT, "security-credentials/: no role name in the answer");
    for (size_t i = 0; i < n; i++) {
        char c = b->data[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("_+=,.@-", c)))
            return rf_errf(err, RF_ECORRUPT, "security-credentials/: '%.*s' is not a role name",
                           (int)n, b->data);
    }
    *out = rf_xmalloc(n + 1);
    memcpy(*out, b->data, n);
    (*out)[n] = '\0';
    return 0;
}

int rf_aws_imds_fetch(const char *endpoint, const rf_aws_http *h, rf_aws_keys *out,
                      char **role, rf_err *err)
{
    memset(out, 0, sizeof *out);
    rf_buf tok = RF_BUF_INIT, list = RF_BUF_INIT, doc = RF_BUF_INIT, path = RF_BUF_INIT;
    char *name = NULL;
    int rc = imds_token(endpoint, h, &tok, err);
    if (rc == 0)
        rc = imds_get("GET security-credentials/", endpoint,
                      "/latest/meta-data/iam/security-credentials/", tok.data, h, &list, err);
    if (rc == 0)
        rc = role_name(&list, &name, err);
    if (rc == 0) {
        rf_buf_addf(&path, "/latest/meta-data/iam/security-credentials/%s", name);
        rc = imds_get("GET security-credentials/ROLE", endpoint, path.data, tok.data, h, &doc,
                      err);
    }
    if (rc == 0 && (rc = rf_aws_imds_parse(doc.data, doc.len, out, err)) < 0)
        rf_err_prefix(err, "role %s", name);
    if (rc == 0 && role)
        *role = name, name = NULL;
    if (tok.data)
        memset(tok.data, 0, tok.len);
    if (doc.data)
        memset(doc.data, 0, doc.len);
    rf_buf_free(&tok);
    rf_buf_free(&list);
    rf_buf_free(&doc);
    rf_buf_free(&path);
    free(name);
    if (rc < 0) {
        char ep[256];
        snprintf(ep, sizeof ep, "%s", endpoint);
        rf_err_prefix(err, "EC2 instance metadata (IMDSv2) at %s", ep);
    }
    return rc;
}

static const char *json_str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    /* a string with a NUL inside would reach the signer cut short */
    return json_is_string(v) && json_string_length(v) &&
                   strlen(json_string_value(v)) == json_string_length(v)
               ? json_string_value(v)
               : NULL;
}

int rf_aws_imds_parse(const char *json, size_t n, rf_aws_keys *out, rf_err *err)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *o = json_loadb(json, n, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        return rf_errf(err, RF_ECORRUPT, "credentials document: malformed JSON at line %d "
                       "column %d: %s", je.line, je.column, je.text);
    int rc = 0;
    const char *code = json_is_object(o) ? json_str(o, "Code") : NULL;
    const char *ak = NULL, *sk = NULL, *tk = NULL, *ex = NULL;
    if (!json_is_object(o))
        rc = rf_errf(err, RF_ECORRUPT, "credentials document: not a JSON object");
    else if (code && strcmp(code, "Success"))
        rc = rf_errf(err, RF_EAUTH, "credentials document: Code %.64s: %.300s", code,
                     json_str(o, "Message") ? json_str(o, "Message") : "");
    else if (!(ak = json_str(o, "AccessKeyId")) || !(sk = json_str(o, "SecretAccessKey")) ||
             !(tk = json_str(o, "Token")) || !(ex = json_str(o, "Expiration")))
        rc = rf_errf(err, RF_ECORRUPT, "credentials document: %s is missing or not a string",
                     !ak ? "AccessKeyId" : !sk ? "SecretAccessKey" : !tk ? "Token"
                                                                       : "Expiration");
    int64_t t = rc == 0 ? rf_s3_parse_time(ex) : 0;
    if (rc == 0 && t <= 0)
        rc = rf_errf(err, RF_ECORRUPT, "credentials document: Expiration '%.40s' is not a "
                     "time", ex);
    if (rc == 0) {
        out->access_key = rf_xstrdup(ak);
        out->secret_key = rf_xstrdup(sk);
        out->session_token = rf_xstrdup(tk);
        out->expires = t;
    }
    json_decref(o);
    return rc;
}

/* --- STS web identity ------------------------------------------------------ */

static void form_add(rf_buf *b, const char *k, const char *v)
{
    if (b->len)
        rf_buf_add(b, "&", 1);
    rf_buf_addf(b, "%s=", k);
    rf_sigv4_uri_encode(b, v, strlen(v), 0);
}

static int sts_error_code(const char *code, long status)
{
    static const char *const auth[] = {"InvalidIdentityToken", "ExpiredTokenException",
                                       "AccessDenied", "InvalidParameterValue",
                                       "IDPRejectedClaim", "RegionDisabledException"};
    if (status >= 500 || (code && !strcmp(code, "IDPCommunicationError")))
        return RF_ENET;
    for (size_t i = 0; code && i < sizeof auth / sizeof auth[0]; i++)
        if (!strcmp(code, auth[i]))
            return RF_EAUTH;
    return status == 401 || status == 403 ? RF_EAUTH : RF_EINVAL;
}

static int sts_error(long status, rf_s3xml *doc, rf_err *err)
{
    rf_s3xml e;
    rf_buf code = RF_BUF_INIT, msg = RF_BUF_INIT;
    if (rf_s3xml_next(doc, "Error", &e)) {
        rf_s3xml_text(&e, "Code", &code);
        rf_s3xml_text(&e, "Message", &msg);
    }
    int rc = rf_errf(err, sts_error_code(code.len ? code.data : NULL, status),
                     "HTTP %ld %.100s%s%.400s", status, code.len ? code.data : "(no error code)",
                     msg.len ? ": " : "", msg.len ? msg.data : "");
    rf_buf_free(&code);
    rf_buf_free(&msg);
    return rc;
}

int rf_aws_sts_parse(long status, const char *xml, size_t n, rf_aws_keys *out, rf_err *err)
{
    memset(out, 0, sizeof *out);
    rf_s3xml doc = {xml, xml + n}, res, cr;
    if (status != 200)
        return sts_error(status, &doc, err);
    if (!rf_s3xml_next(&doc, "AssumeRoleWithWebIdentityResult", &res) ||
        !rf_s3xml_next(&res, "Credentials", &cr))
        return rf_errf(err, RF_ECORRUPT, "answer has no AssumeRoleWithWebIdentityResult/"
                       "Credentials element");
    static const char *const tags[] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                       "Expiration"};
    rf_buf v[4] = {RF_BUF_INIT, RF_BUF_INIT, RF_BUF_INIT, RF_BUF_INIT};
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++)
        if (!rf_s3xml_text(&cr, tags[i], &v[i]) || !v[i].len || !v[i].data ||
            strlen(v[i].data) != v[i].len) /* empty, or cut short by a NUL */
            rc = rf_errf(err, RF_ECORRUPT, "answer's Credentials has no %s", tags[i]);
    int64_t t = rc == 0 ? rf_s3_parse_time(v[3].data) : 0;
    if (rc == 0 && t <= 0)
        rc = rf_errf(err, RF_ECORRUPT, "answer's Expiration '%.40s' is not a time", v[3].data);
    if (rc == 0) {
        out->access_key = rf_buf_detach(&v[0], NULL);
        out->secret_key = rf_buf_detach(&v[1], NULL);
        out->session_token = rf_buf_detach(&v[2], NULL);
        out->expires = t;
    }
    for (int i = 0; i < 4; i++) {
        if (v[i].data)
            memset(v[i].data, 0, v[i].len);
        rf_buf_free(&v[i]);
    }
    return rc;
}

int rf_aws_sts_web_identity(const char *endpoint, const char *role_arn,
                            const char *session_name, const char *token,
                            const rf_aws_http *h, rf_aws_keys *out, rf_err *err)
{
    memset(out, 0, sizeof *out);
    rf_buf url = RF_BUF_INIT, form = RF_BUF_INIT, ans = RF_BUF_INIT;
    make_url(&url, endpoint, "/");
    form_add(&form, "Action", "AssumeRoleWithWebIdentity");
    form_add(&form, "Version", "2011-06-15");
    form_add(&form, "RoleArn", role_arn);
    form_add(&form, "RoleSessionName", session_name);
    form_add(&form, "WebIdentityToken", token);
    struct curl_slist *l = curl_slist_append(
        NULL, "Content-Type: application/x-www-form-urlencoded; charset=utf-8");
    l = curl_slist_append(l, "Accept: text/xml");
    long status;
    int rc = http("AssumeRoleWithWebIdentity", "POST", url.data, l, form.data, h, &status,
                  &ans, err);
    if (rc == 0 && (rc = rf_aws_sts_parse(status, ans.data, ans.len, out, err)) < 0)
        rf_err_prefix(err, "AssumeRoleWithWebIdentity %.200s", role_arn);
    if (rc < 0)
        rf_err_prefix(err, "STS at %.200s", endpoint);
    memset(form.data, 0, form.len);
    if (ans.data)
        memset(ans.data, 0, ans.len);
    curl_slist_free_all(l);
    rf_buf_free(&url);
    rf_buf_free(&form);
    rf_buf_free(&ans);
    return rc;
}
