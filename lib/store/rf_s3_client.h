/* rf_s3_client: one signed S3 REST request over libcurl, with retries.
 *
 * The client owns one CURL easy handle, so consecutive requests reuse the
 * connection (keep-alive); it is not thread-safe: one client per thread.
 * Clients of one store share a credential provider (rf_awscreds), which is.
 * rf_s3_do() builds the URL (path-style or virtual-hosted), signs the
 * request with SigV4, sends it, and retries transient failures (connection
 * failures, timeouts, resets, 5xx, 429, RequestTimeout) with exponential
 * backoff and full jitter. Requests marked non-idempotent are only retried
 * when the server cannot have seen them (connection refused). A streamed GET
 * that fails midway resumes at the first byte not yet delivered, pinned to
 * the first response's ETag with If-Match, so the reader never sees bytes
 * twice or a mix of two versions.
 *
 * Non-2xx answers become an rf_err "HTTP-status Code: Message" taken from
 * S3's XML error document; credentials never appear in errors. */
#ifndef RF_S3_CLIENT_H
#define RF_S3_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_buf.h"
#include "base/rf_config.h"
#include "base/rf_err.h"
#include "store/rf_awscreds.h"
#include "store/rf_sigv4.h"
#include "store/rf_store.h"

typedef struct rf_s3_client rf_s3_client;

#define RF_S3_MAX_QUERY 8
#define RF_S3_MAX_HEADERS 10

typedef struct rf_s3_req {
    const char *method;             /* GET, HEAD, PUT, POST, DELETE */
    const char *key;                /* object key (with the store prefix), NULL = bucket */
    rf_sigv4_kv query[RF_S3_MAX_QUERY];
    size_t nquery;
    rf_sigv4_kv headers[RF_S3_MAX_HEADERS];
    size_t nheaders;
    /* Request body: memory (body) or, when fd >= 0, body_len bytes of fd
     * from body_off. body_sha256: hex payload hash, or NULL to send
     * UNSIGNED-PAYLOAD (file bodies) / hash the memory body. */
    const void *body;
    size_t body_len;
    int fd;
    uint64_t body_off;
    const char *body_sha256;
    /* GET: byte range (len 0 = to the end) and where 2xx body bytes go;
     * without a sink the body is collected in rf_s3_resp.body. */
    uint64_t range_off, range_len;
    int ranged;
    rf_read_fn sink;
    void *sink_ud;
    int idempotent;
} rf_s3_req;

typedef struct rf_s3_resp {
    long status;
    rf_buf body;                    /* non-streamed body (XML, errors) */
    char etag[80];
    char storage_class[32];
    char restore[256];              /* raw x-amz-restore */
    char last_modified[64];
    uint64_t content_length;
    int attempts;
    /* A failed attempt may have reached the server: a later "not found"
     * can mean "already done" (see CompleteMultipartUpload). */
    int ambiguous;
} rf_s3_resp;

/* A request with no query, headers or body, fd = -1. */
void rf_s3_req_init(rf_s3_req *r, const char *method, const char *key);
void rf_s3_req_query(rf_s3_req *r, const char *name, const char *value);
void rf_s3_req_header(rf_s3_req *r, const char *name, const char *value);
void rf_s3_resp_free(rf_s3_resp *r);

/* conf is copied; bucket must be a valid S3 bucket name. Requests sign
 * with conf's static keys. */
int rf_s3_client_new(const rf_s3_conf *conf, const char *bucket, rf_s3_client **out,
                     rf_err *err);
/* The same, signing with creds (the client takes a reference; NULL = the
 * conf's static keys). Credentials are asked for at each attempt, so
 * temporary ones are refreshed before they expire. */
int rf_s3_client_new_creds(const rf_s3_conf *conf, rf_awscreds *creds, const char *bucket,
                           rf_s3_client **out, rf_err *err);
void rf_s3_client_free(rf_s3_client *c);
const rf_s3_conf *rf_s3_client_conf(const rf_s3_client *c);
/* The client's credential provider (borrowed; NULL without credentials),
 * for a second client of the same store on another thread. */
rf_awscreds *rf_s3_client_creds(const rf_s3_client *c);

/* Send rq. Returns 0 on a 2xx answer; otherwise -1 with *err set and
 * resp->status the last HTTP status (0 if none arrived). resp is always
 * filled and must be freed. */
int rf_s3_do(rf_s3_client *c, rf_s3_req *rq, rf_s3_resp *resp, rf_err *err);

/* The URL rq would be sent to (for presigning and tests); appends to out. */
void rf_s3_url(const rf_s3_client *c, const char *key, rf_buf *out);

/* A presigned GET URL for key, valid expires seconds from now. */
int rf_s3_presign_get(rf_s3_client *c, const char *key, long expires, rf_buf *url,
                      rf_err *err);

/* Turn an S3 error answer into *err: "<status> <Code>: <Message>", with an
 * rf_code chosen from the code and status. Returns -1. */
int rf_s3_error(rf_err *err, long status, const char *body, size_t n);

/* Fill c with ruvflow's S3 defaults, then the AWS environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 * AWS_REGION/AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3/AWS_ENDPOINT_URL).
 * Strings are malloc'd; release with rf_s3_conf_free. */
void rf_s3_conf_from_env(rf_s3_conf *c);
void rf_s3_conf_free(rf_s3_conf *c);

#endif
