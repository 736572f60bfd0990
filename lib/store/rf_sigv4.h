/* rf_sigv4: AWS Signature Version 4 (AWS4-HMAC-SHA256) request signing.
 *
 * The signer is pure: it takes a description of the request and the
 * credentials, and returns the canonical request, the string to sign, the
 * signature and the headers (Authorization form) or query parameters
 * (presigned-URL form) the caller must add, in the order AWS's own signers
 * add them. It never touches the network, the clock or the environment, so
 * it is tested byte for byte against AWS's published test suite
 * (tests/unit/test_sigv4.c).
 *
 * Paths, query names and values are given decoded; the signer URI-encodes
 * them (RFC 3986 unreserved characters kept, '/' kept in paths). The caller
 * must put the same encoding on the wire: rf_sigv4_uri_encode() gives it. */
#ifndef RF_SIGV4_H
#define RF_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "base/rf_buf.h"
#include "base/rf_err.h"
#include "base/rf_hash.h"

/* Payload hash for bodies not covered by the signature (S3 allows it). */
#define RF_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* SHA-256 of the empty string: the payload hash of a request without body. */
#define RF_SIGV4_EMPTY_SHA256 \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

enum rf_sigv4_form {
    RF_SIGV4_HEADER, /* Authorization header */
    RF_SIGV4_QUERY   /* presigned URL: X-Amz-* query parameters */
};

typedef struct rf_sigv4_kv {
    const char *name, *value;
} rf_sigv4_kv;

typedef struct rf_sigv4_request {
    const char *method;          /* "GET", "PUT", ... */
    const char *path;            /* decoded, starts with '/' */
    const rf_sigv4_kv *query;    /* decoded names and values; value may be "" */
    size_t nquery;
    const rf_sigv4_kv *headers;  /* must contain Host; names in any case */
    size_t nheaders;
    const char *payload_hash;    /* hex SHA-256 of the body, UNSIGNED-PAYLOAD,
                                    or NULL for an empty body */
} rf_sigv4_request;

typedef struct rf_sigv4_params {
    const char *access_key, *secret_key;
    const char *session_token;   /* NULL without temporary credentials */
    const char *region, *service;
    time_t when;                 /* signing time (UTC seconds) */
    long expires;                /* query form: X-Amz-Expires in seconds */
    /* Generic SigV4 path rule: remove "." and ".." segments and empty
     * segments. S3 signs the path exactly as sent, so S3 callers leave it 0. */
    int normalize_path;
    /* Header form: add and sign x-amz-content-sha256 (S3 requires it). */
    int content_sha256_header;
    /* Send the session token without signing it (a few services want it
     * added after signing); the test suite's "omit_session_token". */
    int omit_session_token;
} rf_sigv4_params;

#define RF_SIGV4_MAX_ADD 8

typedef struct rf_sigv4_result {
    rf_buf canonical_request;
    rf_buf string_to_sign;
    char signature[RF_SHA256_HEX];
    /* What the caller adds to the request, in order: headers for the header
     * form, query parameters (decoded values) for the query form. */
    size_t nadd;
    struct {
        const char *name;
        char *value;
    } add[RF_SIGV4_MAX_ADD];
} rf_sigv4_result;

/* Sign a request. On success *out is filled and must be released with
 * rf_sigv4_result_free (also safe after a failure). */
int rf_sigv4_sign(const rf_sigv4_request *rq, const rf_sigv4_params *p,
                  enum rf_sigv4_form form, rf_sigv4_result *out, rf_err *err);
void rf_sigv4_result_free(rf_sigv4_result *r);

/* Append s[0..n) URI-encoded as SigV4 wants it: unreserved characters
 * (A-Z a-z 0-9 - . _ ~) kept, '/' kept if keep_slash, the rest %XX. */
void rf_sigv4_uri_encode(rf_buf *b, const char *s, size_t n, int keep_slash);

/* Decode %XX escapes of s[0..n) into b ('+' is kept: SigV4 never uses it). */
void rf_sigv4_uri_decode(rf_buf *b, const char *s, size_t n);

/* "YYYYMMDDTHHMMSSZ" for t (out: 17 bytes). */
void rf_sigv4_amz_date(char out[17], time_t t);

#endif
