/* rf_s3_client: signed S3 requests over libcurl with retries; see
 * rf_s3_client.h. */
#include "store/rf_s3_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/rf_hash.h"
#include "base/rf_log.h"
#include "store/rf_awscreds.h"
#include "store/rf_s3xml.h"

/* Non-streamed bodies (XML listings, error documents) are bounded: a
 * ListObjectsV2 page of 1000 long keys is well under this. */
#define MAX_XML_BODY (16u << 20)
#define BACKOFF_BASE_MS 50
#define BACKOFF_CAP_MS 2000

struct rf_s3_client {
    rf_s3_conf conf;   /* owned copy */
    char *bucket;
    char *scheme;      /* "http" or "https" */
    char *host;        /* host[:port] we connect to and sign */
    int path_style;
    CURL *curl;        /* kept across requests: connection reuse */
    rf_awscreds *creds; /* a reference; shared with the store's other clients */
    unsigned int seed; /* backoff jitter */
};

/* --- configuration --------------------------------------------------------- */

static char *env_dup(const char *a, const char *b)
{
    const char *v = getenv(a);
    if ((!v || !*v) && b)
        v = getenv(b);
    return v && *v ? rf_xstrdup(v) : NULL;
}

void rf_s3_conf_from_env(rf_s3_conf *c)
{
    memset(c, 0, sizeof *c);
    c->endpoint = env_dup("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
    c->region = env_dup("AWS_REGION", "AWS_DEFAULT_REGION");
    if (!c->region)
        c->region = rf_xstrdup("us-east-1");
    c->access_key = env_dup("AWS_ACCESS_KEY_ID", NULL);
    c->secret_key = env_dup("AWS_SECRET_ACCESS_KEY", NULL);
    c->session_token = env_dup("AWS_SESSION_TOKEN", NULL);
    c->path_style = -1;
    c->part_size = 16u << 20;
    c->multipart_threshold = 64u << 20;
    c->max_retries = 5;
    c->connect_timeout_ms = 5000;
    c->timeout_ms = 300000;
}

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

void rf_s3_conf_free(rf_s3_conf *c)
{
    free(c->endpoint);
    free(c->region);
    free(c->access_key);
    wipe_free(c->secret_key);
    wipe_free(c->session_token);
    memset(c, 0, sizeof *c);
}

static char *dup_or_null(const char *s)
{
    return s ? rf_xstrdup(s) : NULL;
}

static void conf_copy(rf_s3_conf *dst, const rf_s3_conf *src)
{
    *dst = *src;
    dst->endpoint = dup_or_null(src->endpoint);
    dst->region = rf_xstrdup(src->region && *src->region ? src->region : "us-east-1");
    dst->access_key = dup_or_null(src->access_key);
    dst->secret_key = dup_or_null(src->secret_key);
    dst->session_token = src->session_token && *src->session_token
                             ? rf_xstrdup(src->session_token) : NULL;
    if (!dst->part_size)
        dst->part_size = 16u << 20;
    if (!dst->multipart_threshold)
        dst->multipart_threshold = 64u << 20;
    if (dst->max_retries < 0)
        dst->max_retries = 0;
    if (dst->connect_timeout_ms <= 0)
        dst->connect_timeout_ms = 5000;
    if (dst->timeout_ms <= 0)
        dst->timeout_ms = 300000;
}

/* A bucket name usable as a DNS label prefix (virtual-hosted style). */
static int bucket_dns_safe(const char *b)
{
    for (const char *p = b; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return 0;
    return 1;
}

static int bucket_valid(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return 0;
    for (const char *p = b; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '.' || *p == '_'))
            return 0;
    return 1;
}

/* Split "scheme://host[:port][/]" into scheme and host[:port]. Messages
 * show the endpoint through rf_redact: it might carry "user:pass@". */
static int parse_endpoint(const char *ep, char **scheme, char **host, rf_err *err)
{
    char shown[256];
    rf_redact(shown, sizeof shown, ep);
    size_t sl = !strncmp(ep, "https://", 8) ? 5 : !strncmp(ep, "http://", 7) ? 4 : 0;
    if (!sl)
        return rf_errf(err, RF_EINVAL, "s3 endpoint '%s': expected http:// or https://", shown);
    const char *h = ep + sl + 3;
    size_t hl = strcspn(h, "/?#");
    if (hl == 0 || memchr(h, '@', hl))
        return rf_errf(err, RF_EINVAL, "s3 endpoint '%s': expected scheme://host[:port], "
                       "without credentials", shown);
    if (h[hl] && strcmp(h + hl, "/") != 0)
        return rf_errf(err, RF_EINVAL, "s3 endpoint '%s': a path is not supported", shown);
    *scheme = rf_xmalloc(sl + 1);
    memcpy(*scheme, ep, sl);
    (*scheme)[sl] = '\0';
    *host = rf_xmalloc(hl + 1);
    memcpy(*host, h, hl);
    (*host)[hl] = '\0';
    return 0;
}

int rf_s3_client_new(const rf_s3_conf *conf, const char *bucket, rf_s3_client **out,
                     rf_err *err)
{
    return rf_s3_client_new_creds(conf, NULL, bucket, out, err);
}

int rf_s3_client_new_creds(const rf_s3_conf *conf, rf_awscreds *creds, const char *bucket,
                           rf_s3_client **out, rf_err *err)
{
    *out = NULL;
    if (!bucket_valid(bucket))
        return rf_errf(err, RF_EINVAL, "s3: '%s' is not a valid bucket name", bucket);
    rf_s3_client *c = rf_xcalloc(1, sizeof *c);
    conf_copy(&c->conf, conf);
    /* No keys: no provider, and a request fails with "no S3 credentials". */
    c->creds = creds ? rf_awscreds_ref(creds)
                     : rf_awscreds_static(conf->access_key, conf->secret_key,
                                          conf->session_token, "static keys (s3.access_key_id)");
    c->bucket = rf_xstrdup(bucket);
    int custom = c->conf.endpoint != NULL;
    if (custom) {
        if (parse_endpoint(c->conf.endpoint, &c->scheme, &c->host, err) < 0) {
            rf_s3_client_free(c);
            return -1;
        }
    } else {
        rf_buf h = RF_BUF_INIT;
        rf_buf_addf(&h, "s3.%s.amazonaws.com", c->conf.region);
        c->scheme = rf_xstrdup("https");
        c->host = rf_buf_detach(&h, NULL);
    }
    /* As the AWS SDKs do: path-style for custom endpoints (MinIO, IPs,
     * localhost) and for bucket names that are not DNS-safe. */
    c->path_style = c->conf.path_style >= 0 ? c->conf.path_style
                                            : (custom || !bucket_dns_safe(bucket));
    c->curl = curl_easy_init();
    if (!c->curl) {
        rf_s3_client_free(c);
        return rf_errf(err, RF_ENOMEM, "s3: curl_easy_init failed");
    }
    c->seed = (unsigned int)time(NULL) ^ (unsigned int)getpid() ^
              (unsigned int)(uintptr_t)c;
    *out = c;
    return 0;
}

void rf_s3_client_free(rf_s3_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    rf_awscreds_unref(c->creds);
    rf_s3_conf_free(&c->conf);
    free(c->bucket);
    free(c->scheme);
    free(c->host);
    free(c);
}

const rf_s3_conf *rf_s3_client_conf(const rf_s3_client *c)
{
    return &c->conf;
}

rf_awscreds *rf_s3_client_creds(const rf_s3_client *c)
{
    return c->creds;
}

/* --- requests -------------------------------------------------------------- */

void rf_s3_req_init(rf_s3_req *r, const char *method, const char *key)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    r->key = key;
    r->fd = -1;
    r->idempotent = 1;
}

/* The limits fit every request this backend builds: going over one is a
 * programming error, not a runtime condition. */
void rf_s3_req_query(rf_s3_req *r, const char *name, const char *value)
{
    if (r->nquery == RF_S3_MAX_QUERY)
        abort();
    r->query[r->nquery++] = (rf_sigv4_kv){name, value ? value : ""};
}

void rf_s3_req_header(rf_s3_req *r, const char *name, const char *value)
{
    if (r->nheaders == RF_S3_MAX_HEADERS)
        abort();
    r->headers[r->nheaders++] = (rf_sigv4_kv){name, value};
}

void rf_s3_resp_free(rf_s3_resp *r)
{
    rf_buf_free(&r->body);
}

/* The decoded path S3 sees: "/bucket/key" (path-style) or "/key". */
static void request_path(const rf_s3_client *c, const char *key, rf_buf *out)
{
    rf_buf_add(out, "", 0);
    if (c->path_style)
        rf_buf_addf(out, "/%s", c->bucket);
    if (key)
        rf_buf_addf(out, "/%s", key);
    else if (!c->path_style)
        rf_buf_add(out, "/", 1);
}

static void request_host(const rf_s3_client *c, rf_buf *out)
{
    rf_buf_add(out, "", 0);
    if (c->path_style)
        rf_buf_adds(out, c->host);
    else
        rf_buf_addf(out, "%s.%s", c->bucket, c->host);
}

void rf_s3_url(const rf_s3_client *c, const char *key, rf_buf *out)
{
    rf_buf host = RF_BUF_INIT, path = RF_BUF_INIT;
    request_host(c, &host);
    request_path(c, key, &path);
    rf_buf_addf(out, "%s://%s", c->scheme, host.data);
    rf_sigv4_uri_encode(out, path.data, path.len, 1);
    rf_buf_free(&host);
    rf_buf_free(&path);
}

static void append_query(rf_buf *url, const rf_sigv4_kv *q, size_t n, int first)
{
    for (size_t i = 0; i < n; i++) {
        rf_buf_add(url, first && i == 0 ? "?" : "&", 1);
        rf_sigv4_uri_encode(url, q[i].name, strlen(q[i].name), 0);
        rf_buf_add(url, "=", 1);
        rf_sigv4_uri_encode(url, q[i].value, strlen(q[i].value), 0);
    }
}

/* The keys to sign with, asked for at every attempt: the provider
 * refreshes temporary credentials before they expire. */
static int sign_keys(rf_s3_client *c, rf_aws_keys *k, rf_err *err)
{
    memset(k, 0, sizeof *k);
    if (!c->creds)
        return rf_errf(err, RF_EAUTH, "no S3 credentials: set AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY, a profile, or use an instance role "
                       "(docs/s3.md)");
    return rf_awscreds_get(c->creds, k, err);
}

static rf_sigv4_params sign_params(const rf_s3_client *c, const rf_aws_keys *k)
{
    return (rf_sigv4_params){
        .access_key = k->access_key, .secret_key = k->secret_key,
        .session_token = k->session_token, .region = c->conf.region,
        .service = "s3", .when = time(NULL), .content_sha256_header = 1,
    };
}

int rf_s3_presign_get(rf_s3_client *c, const char *key, long expires, rf_buf *url,
                      rf_err *err)
{
    rf_buf host = RF_BUF_INIT, path = RF_BUF_INIT;
    request_host(c, &host);
    request_path(c, key, &path);
    rf_sigv4_kv hd[] = {{"host", host.data}};
    rf_sigv4_request sr = {.method = "GET", .path = path.data, .headers = hd,
                           .nheaders = 1, .payload_hash = RF_SIGV4_UNSIGNED_PAYLOAD};
    rf_aws_keys k;
    rf_sigv4_result res = {0};
    int rc = sign_keys(c, &k, err);
    rf_sigv4_params p = sign_params(c, &k);
    p.expires = expires;
    if (rc == 0)
        rc = rf_sigv4_sign(&sr, &p, RF_SIGV4_QUERY, &res, err);
    rf_aws_keys_free(&k);
    if (rc == 0) {
        rf_s3_url(c, key, url);
        rf_sigv4_kv q[RF_SIGV4_MAX_ADD];
        for (size_t i = 0; i < res.nadd; i++)
            q[i] = (rf_sigv4_kv){res.add[i].name, res.add[i].value};
        append_query(url, q, res.nadd, 1);
    }
    rf_sigv4_result_free(&res);
    rf_buf_free(&host);
    rf_buf_free(&path);
    return rc;
}

/* --- errors ---------------------------------------------------------------- */

static const struct {
    const char *code;
    int rf;
} code_map[] = {
    {"SignatureDoesNotMatch", RF_EAUTH}, {"InvalidAccessKeyId", RF_EAUTH},
    {"AccessDenied", RF_EAUTH}, {"ExpiredToken", RF_EAUTH},
    {"InvalidToken", RF_EAUTH}, {"RequestTimeTooSkewed", RF_EAUTH},
    {"NoSuchBucket", RF_ENOTFOUND}, {"NoSuchKey", RF_ENOTFOUND},
    {"NoSuchUpload", RF_ENOTFOUND}, {"NotFound", RF_ENOTFOUND},
    {"InvalidObjectState", RF_ESTATE},
    {"RestoreAlreadyInProgress", RF_ECONFLICT}, {"PreconditionFailed", RF_ECONFLICT},
    {"OperationAborted", RF_ECONFLICT}, {"BucketAlreadyOwnedByYou", RF_ECONFLICT},
    {"EntityTooLarge", RF_ETOOBIG},
    {"BadDigest", RF_ECORRUPT}, {"InvalidDigest", RF_ECORRUPT},
    {"XAmzContentSHA256Mismatch", RF_ECORRUPT},
    {"NotImplemented", RF_EUNSUPP},
    {"InternalError", RF_ENET}, {"ServiceUnavailable", RF_ENET}, {"SlowDown", RF_ENET},
};

static int code_for_status(long status)
{
    if (status >= 500 || status == 429)
        return RF_ENET;
    switch (status) {
    case 401: case 403: return RF_EAUTH;
    case 404: return RF_ENOTFOUND;
    case 409: case 412: return RF_ECONFLICT;
    default: return RF_EINVAL;
    }
}

static const char *status_text(long status)
{
    switch (status) {
    case 400: return "BadRequest";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 409: return "Conflict";
    case 412: return "PreconditionFailed";
    case 416: return "InvalidRange";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    default: return "Error";
    }
}

int rf_s3_error(rf_err *err, long status, const char *body, size_t n)
{
    rf_s3xml doc = {body ? body : "", (body ? body : "") + (body ? n : 0)}, e;
    rf_buf code = RF_BUF_INIT, msg = RF_BUF_INIT;
    if (rf_s3xml_next(&doc, "Error", &e)) {
        rf_s3xml_text(&e, "Code", &code);
        rf_s3xml_text(&e, "Message", &msg);
    }
    int rc = code_for_status(status);
    if (code.len) {
        for (size_t i = 0; i < sizeof code_map / sizeof code_map[0]; i++)
            if (!strcmp(code_map[i].code, code.data))
                rc = code_map[i].rf;
    }
    if (status >= 500)
        rc = RF_ENET;
    if (!code.len && status == 403)
        /* HEAD answers have no body to say why; the usual causes: */
        rf_buf_adds(&msg, "access denied (wrong credentials, clock or permissions)");
    if (msg.len)
        rf_errf(err, rc, "%ld %.100s: %.600s", status, code.len ? code.data : status_text(status),
                msg.data);
    else
        rf_errf(err, rc, "%ld %.100s", status, code.len ? code.data : status_text(status));
    rf_buf_free(&code);
    rf_buf_free(&msg);
    return -1;
}

/* --- one attempt ----------------------------------------------------------- */

typedef struct xfer {
    const rf_s3_req *rq;
    rf_s3_resp *resp;
    long status;            /* of the last status line seen */
    uint64_t upload_pos;
    uint64_t delivered;     /* 2xx body bytes given to the sink, all attempts */
    int expect_partial;     /* asked for a range that does not start at 0 */
    int sink_aborted, body_too_big, read_failed, range_ignored;
} xfer;

static void copy_header_value(char *dst, size_t n, const char *v, size_t len)
{
    while (len && (*v == ' ' || *v == '\t'))
        v++, len--;
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    if (len >= n)
        len = n - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm;
    rf_s3_resp *r = x->resp;
    if (n > 5 && !memcmp(p, "HTTP/", 5)) {
        /* A new response (after 100 Continue or a redirect) starts over. */
        const char *sp = memchr(p, ' ', n);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        r->etag[0] = r->storage_class[0] = r->restore[0] = r->last_modified[0] = '\0';
        return n;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon)
        return n;
    size_t kl = (size_t)(colon - p), vl = n - kl - 1;
    const char *v = colon + 1;
#define IS(name) (kl == sizeof(name) - 1 && !strncasecmp(p, name, kl))
    if (IS("etag"))
        copy_header_value(r->etag, sizeof r->etag, v, vl);
    else if (IS("x-amz-storage-class"))
        copy_header_value(r->storage_class, sizeof r->storage_class, v, vl);
    else if (IS("x-amz-restore"))
        copy_header_value(r->restore, sizeof r->restore, v, vl);
    else if (IS("last-modified"))
        copy_header_value(r->last_modified, sizeof r->last_modified, v, vl);
    else if (IS("content-length")) {
        char num[32];
        copy_header_value(num, sizeof num, v, vl);
        r->content_length = strtoull(num, NULL, 10);
    }
#undef IS
    return n;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm;
    if (x->status / 100 == 2 && x->rq->sink) {
        /* A 200 to a ranged request would replay bytes from offset 0. */
        if (x->status == 200 && x->expect_partial) {
            x->range_ignored = 1;
            return 0;
        }
        if (x->rq->sink(x->rq->sink_ud, p, n) < 0) {
            x->sink_aborted = 1;
            return 0;
        }
        x->delivered += n;
        return n;
    }
    if (x->resp->body.len + n > MAX_XML_BODY) {
        x->body_too_big = 1;
        return 0;
    }
    rf_buf_add(&x->resp->body, p, n);
    return n;
}

static size_t on_upload(char *buf, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    const rf_s3_req *rq = x->rq;
    uint64_t left = rq->body_len - x->upload_pos;
    size_t n = sz * nm < left ? sz * nm : (size_t)left;
    if (n == 0)
        return 0;
    if (rq->fd >= 0) {
        ssize_t got = pread(rq->fd, buf, n, (off_t)(rq->body_off + x->upload_pos));
        if (got <= 0) {
            x->read_failed = got < 0 ? errno : EIO;
            return CURL_READFUNC_ABORT;
        }
        n = (size_t)got;
    } else {
        memcpy(buf, (const char *)rq->body + x->upload_pos, n);
    }
    x->upload_pos += n;
    return n;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
    xfer *x = ud;
    if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->rq->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->upload_pos = (uint64_t)off;
    return CURL_SEEKFUNC_OK;
}

typedef struct attempt_ctx {
    rf_buf url, host, path, range, if_match;
    struct curl_slist *hl;
    rf_sigv4_result sig;
} attempt_ctx;

static void attempt_ctx_free(attempt_ctx *a)
{
    rf_buf_free(&a->url);
    rf_buf_free(&a->host);
    rf_buf_free(&a->path);
    rf_buf_free(&a->range);
    rf_buf_free(&a->if_match);
    curl_slist_free_all(a->hl);
    rf_sigv4_result_free(&a->sig);
}

static struct curl_slist *add_header(struct curl_slist *l, const char *k, const char *v)
{
    rf_buf h = RF_BUF_INIT;
    rf_buf_addf(&h, "%s: %s", k, v);
    l = curl_slist_append(l, h.data);
    rf_buf_free(&h);
    return l;
}

/* Sign and describe the request for this attempt. resume_etag is set when
 * a streamed GET continues after `x->delivered` bytes. */
static int prepare(rf_s3_client *c, const rf_s3_req *rq, const xfer *x,
                   const char *resume_etag, const char *payload, attempt_ctx *a,
                   rf_err *err)
{
    rf_sigv4_kv hd[RF_S3_MAX_HEADERS + 3];
    size_t nh = 0;
    request_host(c, &a->host);
    request_path(c, rq->key, &a->path);
    hd[nh++] = (rf_sigv4_kv){"host", a->host.data};
    for (size_t i = 0; i < rq->nheaders; i++)
        hd[nh++] = rq->headers[i];
    if (rq->ranged || x->delivered) {
        uint64_t off = rq->range_off + x->delivered;
        rf_buf_add(&a->range, "", 0);
        if (rq->range_len)
            rf_buf_addf(&a->range, "bytes=%llu-%llu", (unsigned long long)off,
                        (unsigned long long)(rq->range_off + rq->range_len - 1));
        else
            rf_buf_addf(&a->range, "bytes=%llu-", (unsigned long long)off);
        hd[nh++] = (rf_sigv4_kv){"range", a->range.data};
    }
    if (resume_etag) {
        rf_buf_adds(&a->if_match, resume_etag);
        hd[nh++] = (rf_sigv4_kv){"if-match", a->if_match.data};
    }
    rf_sigv4_request sr = {.method = rq->method, .path = a->path.data,
                           .query = rq->query, .nquery = rq->nquery,
                           .headers = hd, .nheaders = nh, .payload_hash = payload};
    rf_aws_keys k;
    if (sign_keys(c, &k, err) < 0)
        return -1;
    rf_sigv4_params p = sign_params(c, &k);
    int rc = rf_sigv4_sign(&sr, &p, RF_SIGV4_HEADER, &a->sig, err);
    rf_aws_keys_free(&k);
    if (rc < 0)
        return -1;

    rf_buf_addf(&a->url, "%s://%s", c->scheme, a->host.data);
    rf_sigv4_uri_encode(&a->url, a->path.data, a->path.len, 1);
    append_query(&a->url, rq->query, rq->nquery, 1);
    for (size_t i = 0; i < nh; i++)
        a->hl = add_header(a->hl, hd[i].name, hd[i].value);
    for (size_t i = 0; i < a->sig.nadd; i++)
        a->hl = add_header(a->hl, a->sig.add[i].name, a->sig.add[i].value);
    /* No "Expect: 100-continue" round trip (a 1 s stall on some servers). */
    a->hl = curl_slist_append(a->hl, "Expect:");
    return 0;
}

static void setup_curl(rf_s3_client *c, const rf_s3_req *rq, xfer *x, attempt_ctx *a,
                       char *errbuf)
{
    CURL *h = c->curl;
    curl_easy_reset(h); /* keeps the connection cache */
    curl_easy_setopt(h, CURLOPT_URL, a->url.data);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, a->hl);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->conf.connect_timeout_ms);
    /* timeout_ms bounds a stall, not a whole transfer: a 2 GiB artifact on
     * a slow link may legitimately take longer than any fixed total. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                     c->conf.timeout_ms >= 1000 ? c->conf.timeout_ms / 1000 : 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    int has_body = rq->body || rq->fd >= 0 || !strcmp(rq->method, "PUT") ||
                   !strcmp(rq->method, "POST");
    if (!strcmp(rq->method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (has_body) {
        /* Uploads go through the read callback for every method, so POST
         * bodies are sent as given (no form encoding, no content type). */
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(h, CURLOPT_READDATA, x);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
        if (strcmp(rq->method, "PUT"))
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (strcmp(rq->method, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    }
}

/* --- retries --------------------------------------------------------------- */

static int status_retryable(long status, const rf_buf *body, int idempotent)
{
    if (status == 503 || status == 429)
        return 1; /* throttled: the request was not processed */
    if (!idempotent)
        return 0;
    if (status >= 500)
        return 1;
    return status == 400 && body->data && strstr(body->data, "<Code>RequestTimeout</Code>");
}

static int transport_retryable(CURLcode cc, int idempotent)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        return 1; /* the server never saw the request */
    case CURLE_OPERATION_TIMEDOUT: case CURLE_SEND_ERROR: case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE: case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: case CURLE_SSL_CONNECT_ERROR:
        return idempotent;
    default:
        return 0;
    }
}

static void backoff(rf_s3_client *c, int attempt)
{
    long cap = BACKOFF_BASE_MS << (attempt < 10 ? attempt : 10);
    if (cap > BACKOFF_CAP_MS)
        cap = BACKOFF_CAP_MS;
    long ms = (long)(rand_r(&c->seed) % (unsigned long)(cap + 1)); /* full jitter */
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static const char *payload_hash(const rf_s3_req *rq, char hex[RF_SHA256_HEX])
{
    if (rq->body_sha256)
        return rq->body_sha256;
    if (rq->fd >= 0)
        return RF_SIGV4_UNSIGNED_PAYLOAD;
    uint8_t h[RF_SHA256_LEN];
    rf_sha256(rq->body ? rq->body : "", rq->body_len, h);
    rf_hex(hex, h, RF_SHA256_LEN);
    return hex;
}

static int transport_error(rf_err *err, const rf_s3_client *c, CURLcode cc,
                           const char *errbuf, const xfer *x)
{
    if (x->sink_aborted)
        return rf_errf(err, RF_ECANCEL, "read aborted by the consumer");
    if (x->body_too_big)
        return rf_errf(err, RF_ETOOBIG, "response body over %u bytes", MAX_XML_BODY);
    if (x->read_failed)
        return rf_errf(err, RF_EIO, "reading the request body: %s", strerror(x->read_failed));
    if (x->range_ignored)
        return rf_errf(err, RF_EUNSUPP, "the server ignored the Range header");
    int code = RF_ENET;
    if (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL)
        code = RF_EINVAL;
    return rf_errf(err, code, "%s://%s: %s", c->scheme, c->host,
                   errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

int rf_s3_do(rf_s3_client *c, rf_s3_req *rq, rf_s3_resp *resp, rf_err *err)
{
    memset(resp, 0, sizeof *resp);
    char hexbuf[RF_SHA256_HEX];
    const char *payload = payload_hash(rq, hexbuf);
    xfer x = {.rq = rq, .resp = resp};
    char resume_etag[80] = "";
    int rc = -1;

    for (int attempt = 0;; attempt++) {
        attempt_ctx a = {0};
        char errbuf[CURL_ERROR_SIZE] = "";
        x.status = 0;
        x.upload_pos = 0;
        x.expect_partial = rq->range_off + x.delivered > 0;
        rf_buf_reset(&resp->body);
        resp->attempts = attempt + 1;
        if (prepare(c, rq, &x, resume_etag[0] ? resume_etag : NULL, payload, &a, err) < 0) {
            attempt_ctx_free(&a);
            return -1;
        }
        setup_curl(c, rq, &x, &a, errbuf);
        uint64_t before = x.delivered;
        CURLcode cc = curl_easy_perform(c->curl);
        attempt_ctx_free(&a);
        resp->status = x.status;

        int retry;
        if (cc == CURLE_OK && x.status / 100 == 2) {
            rc = 0;
            break;
        } else if (cc == CURLE_OK) {
            retry = status_retryable(x.status, &resp->body, rq->idempotent);
            rf_s3_error(err, x.status, resp->body.data, resp->body.len);
            /* A 500 may come after the work was done; 503 is a refusal. */
            if (x.status >= 500 && x.status != 503)
                resp->ambiguous = 1;
        } else {
            retry = !x.sink_aborted && !x.body_too_big && !x.read_failed &&
                    !x.range_ignored && transport_retryable(cc, rq->idempotent);
            transport_error(err, c, cc, errbuf, &x);
            if (cc != CURLE_COULDNT_CONNECT)
                resp->ambiguous = 1;
        }
        /* A streamed read that got bytes resumes after them, on the same
         * object version only. */
        if (retry && x.delivered > before && !resume_etag[0]) {
            if (!resp->etag[0])
                retry = 0;
            else
                snprintf(resume_etag, sizeof resume_etag, "%s", resp->etag);
        }
        if (!retry || attempt >= c->conf.max_retries) {
            if (attempt > 0)
                rf_err_prefix(err, "after %d attempts", attempt + 1);
            break;
        }
        backoff(c, attempt);
    }
    if (rc < 0) {
        char pre[600];
        snprintf(pre, sizeof pre, "s3 %s %s%s%.400s", rq->method, c->bucket,
                 rq->key ? "/" : "", rq->key ? rq->key : "");
        rf_err_prefix(err, "%s", pre);
    }
    return rc;
}
