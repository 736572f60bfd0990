/* Unit tests for the S3 backend's pure parts (XML extraction, error mapping,
 * restore states, multipart ETags, URLs, configuration) and, against a
 * canned-response HTTP server on loopback, the requests it builds and how
 * it reads answers a real server in the test stack cannot give: GLACIER
 * objects, x-amz-restore, InvalidObjectState, RestoreAlreadyInProgress,
 * 200-with-<Error> documents, DeleteObjects partial failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rf_config.h"
#include "rf_fakesrv.h"
#include "store/rf_s3.h"
#include "store/rf_s3_client.h"
#include "store/rf_s3xml.h"
#include "store/rf_store.h"

/* --- XML ------------------------------------------------------------------ */

static void test_xml_iterate(void **state)
{
    const char *doc =
        "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"x\"><Prefix>p/</Prefix>"
        "<Contents><Key>a&amp;b</Key><Size>3</Size></Contents>"
        "<Contents ><Key>c&#x41;&#66;&lt;</Key><Size>4</Size></Contents >"
        "<Contents><Key/></Contents><IsTruncated>true</IsTruncated></ListBucketResult>";
    rf_s3xml x = {doc, doc + strlen(doc)}, el;
    rf_buf v = RF_BUF_INIT;
    assert_true(rf_s3xml_next(&x, "Contents", &el));
    assert_true(rf_s3xml_text(&el, "Key", &v));
    assert_string_equal(v.data, "a&b");
    assert_true(rf_s3xml_next(&x, "Contents", &el));
    assert_true(rf_s3xml_text(&el, "Key", &v));
    assert_string_equal(v.data, "cAB<");
    assert_true(rf_s3xml_next(&x, "Contents", &el));
    assert_true(rf_s3xml_text(&el, "Key", &v));
    assert_string_equal(v.data, "");
    assert_false(rf_s3xml_next(&x, "Contents", &el));
    rf_s3xml all = {doc, doc + strlen(doc)};
    assert_true(rf_s3xml_text(&all, "IsTruncated", &v));
    assert_string_equal(v.data, "true");
    /* "Key" must not match "KeyCount" and vice versa. */
    const char *d2 = "<KeyCount>2</KeyCount><Key>k</Key>";
    rf_s3xml y = {d2, d2 + strlen(d2)};
    assert_true(rf_s3xml_text(&y, "Key", &v));
    assert_string_equal(v.data, "k");
    rf_buf_free(&v);
}

static void test_xml_malformed(void **state)
{
    const char *bad[] = {"<Key>unterminated", "<Key", "<", "</Key>", "<Key>&#xZZ;</Key>",
                         "<Key>&#99999999999;</Key>", ""};
    rf_buf v = RF_BUF_INIT;
    for (size_t i = 0; i < 4; i++) {
        rf_s3xml x = {bad[i], bad[i] + strlen(bad[i])};
        assert_false(rf_s3xml_text(&x, "Key", &v));
    }
    rf_s3xml x = {bad[4], bad[4] + strlen(bad[4])};
    assert_true(rf_s3xml_text(&x, "Key", &v));
    assert_string_equal(v.data, "&#xZZ;"); /* not a reference: kept literally */
    x = (rf_s3xml){bad[5], bad[5] + strlen(bad[5])};
    assert_true(rf_s3xml_text(&x, "Key", &v));
    rf_buf e = RF_BUF_INIT;
    rf_s3xml_escape(&e, "a<b>&\"'");
    assert_string_equal(e.data, "a&lt;b&gt;&amp;&quot;&apos;");
    rf_buf_free(&e);
    rf_buf_free(&v);
}

/* --- errors, states, helpers ------------------------------------------- */

#define ERRDOC(code, msg) "<?xml version=\"1.0\"?><Error><Code>" code "</Code><Message>" \
    msg "</Message><RequestId>1</RequestId></Error>"

static void expect_error(long status, const char *doc, int code, const char *msg)
{
    rf_err e = {0};
    assert_int_equal(rf_s3_error(&e, status, doc, doc ? strlen(doc) : 0), -1);
    assert_int_equal(e.code, code);
    assert_string_equal(e.msg, msg);
}

static void test_error_mapping(void **state)
{
    expect_error(403, ERRDOC("SignatureDoesNotMatch", "The request signature we calculated "
                 "does not match"), RF_EAUTH,
                 "403 SignatureDoesNotMatch: The request signature we calculated does not match");
    expect_error(404, ERRDOC("NoSuchBucket", "The specified bucket does not exist"),
                 RF_ENOTFOUND, "404 NoSuchBucket: The specified bucket does not exist");
    expect_error(403, ERRDOC("InvalidObjectState", "The operation is not valid for the "
                 "object&apos;s storage class"), RF_ESTATE,
                 "403 InvalidObjectState: The operation is not valid for the object's "
                 "storage class");
    expect_error(409, ERRDOC("RestoreAlreadyInProgress", "Object restore is already in "
                 "progress"), RF_ECONFLICT,
                 "409 RestoreAlreadyInProgress: Object restore is already in progress");
    expect_error(400, ERRDOC("InvalidStorageClass", "The storage class you specified is not "
                 "valid"), RF_EINVAL,
                 "400 InvalidStorageClass: The storage class you specified is not valid");
    expect_error(500, ERRDOC("InternalError", "We encountered an internal error"), RF_ENET,
                 "500 InternalError: We encountered an internal error");
    expect_error(404, "", RF_ENOTFOUND, "404 NotFound");
    expect_error(403, NULL, RF_EAUTH,
                 "403 Forbidden: access denied (wrong credentials, clock or permissions)");
    expect_error(502, "<html>bad gateway</html>", RF_ENET, "502 Error");
}

static void test_restore_state(void **state)
{
    assert_int_equal(rf_s3_restore_state(NULL, NULL), RF_S3_READABLE);
    assert_int_equal(rf_s3_restore_state("STANDARD_IA", ""), RF_S3_READABLE);
    assert_int_equal(rf_s3_restore_state("GLACIER_IR", NULL), RF_S3_READABLE);
    assert_int_equal(rf_s3_restore_state("GLACIER", NULL), RF_S3_ARCHIVED);
    assert_int_equal(rf_s3_restore_state("DEEP_ARCHIVE", ""), RF_S3_ARCHIVED);
    assert_int_equal(rf_s3_restore_state("GLACIER", "ongoing-request=\"true\""),
                     RF_S3_RESTORING);
    assert_int_equal(rf_s3_restore_state("GLACIER", "ongoing-request=\"false\", "
                     "expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\""), RF_S3_RESTORED);
}

static void test_multipart_etag(void **state)
{
    char *parts[] = {"\"3303e12af474ca11d85ed2966a932992\"", "3ea4e15b91a17dc76052c56cfcdf67a2"};
    char out[80];
    assert_int_equal(rf_s3_multipart_etag(parts, 2, out), 0);
    assert_string_equal(out, "\"0732917abc3288784e318ac0aab1757a-2\"");
    char *bad[] = {"\"abc\""};
    assert_int_equal(rf_s3_multipart_etag(bad, 1, out), -1);
}

static void test_parse_url_time(void **state)
{
    char *b, *p;
    assert_int_equal(rf_s3_parse_url("s3://bkt/a/b/", &b, &p, NULL), 0);
    assert_string_equal(b, "bkt");
    assert_string_equal(p, "a/b");
    free(b), free(p);
    assert_int_equal(rf_s3_parse_url("s3://bkt", &b, &p, NULL), 0);
    assert_string_equal(p, "");
    free(b), free(p);
    rf_err e = {0};
    assert_int_equal(rf_s3_parse_url("s3:///x", &b, &p, &e), -1);
    assert_int_equal(rf_s3_parse_url("file:///x", &b, &p, &e), -1);
    assert_int_equal(rf_s3_parse_time("Fri, 21 Dec 2012 00:00:00 GMT"), 1356048000);
    assert_int_equal(rf_s3_parse_time("2012-12-21T00:00:00.000Z"), 1356048000);
    assert_int_equal(rf_s3_parse_time("yesterday"), -1);
    rf_buf body = RF_BUF_INIT;
    rf_s3_restore_body(&body, 3, "Bulk");
    assert_non_null(strstr(body.data, "<Days>3</Days>"));
    assert_non_null(strstr(body.data, "<Tier>Bulk</Tier>"));
    rf_buf_free(&body);
}

static void test_addressing(void **state)
{
    rf_s3_conf c = {.region = "eu-west-1", .access_key = "AK", .secret_key = "SK",
                    .path_style = -1};
    rf_s3_client *cl;
    rf_buf u = RF_BUF_INIT;
    assert_int_equal(rf_s3_client_new(&c, "my-bucket", &cl, NULL), 0);
    rf_s3_url(cl, "a b/c+d", &u);
    assert_string_equal(u.data, "https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b/c%2Bd");
    rf_s3_client_free(cl);
    rf_buf_reset(&u);
    /* Dots do not fit a TLS wildcard: path-style, as the SDKs do. */
    assert_int_equal(rf_s3_client_new(&c, "my.bucket", &cl, NULL), 0);
    rf_s3_url(cl, "k", &u);
    assert_string_equal(u.data, "https://s3.eu-west-1.amazonaws.com/my.bucket/k");
    rf_s3_client_free(cl);
    rf_buf_reset(&u);
    c.endpoint = "http://127.0.0.1:9000";
    assert_int_equal(rf_s3_client_new(&c, "bkt", &cl, NULL), 0);
    rf_s3_url(cl, "k", &u);
    assert_string_equal(u.data, "http://127.0.0.1:9000/bkt/k");
    rf_s3_client_free(cl);
    rf_buf_reset(&u);
    c.path_style = 0;
    c.endpoint = "http://minio.local:9000/";
    assert_int_equal(rf_s3_client_new(&c, "bkt", &cl, NULL), 0);
    rf_s3_url(cl, NULL, &u);
    assert_string_equal(u.data, "http://bkt.minio.local:9000/");
    rf_s3_client_free(cl);
    rf_err e = {0};
    c.endpoint = "ftp://x";
    assert_int_equal(rf_s3_client_new(&c, "bkt", &cl, &e), -1);
    assert_int_equal(e.code, RF_EINVAL);
    c.endpoint = "http://user:hunter2@host:9000";
    assert_int_equal(rf_s3_client_new(&c, "bkt", &cl, &e), -1);
    assert_null(strstr(e.msg, "hunter2"));
    c.endpoint = "http://host:9000/base";
    assert_int_equal(rf_s3_client_new(&c, "bkt", &cl, &e), -1);
    c.endpoint = NULL;
    assert_int_equal(rf_s3_client_new(&c, "B!", &cl, &e), -1);
    rf_buf_free(&u);
}

static void test_conf_from_env(void **state)
{
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value", 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_REGION");
    setenv("AWS_DEFAULT_REGION", "eu-central-1", 1);
    unsetenv("AWS_ENDPOINT_URL_S3");
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
    rf_s3_conf c;
    rf_s3_conf_from_env(&c);
    assert_string_equal(c.access_key, "AKID");
    assert_string_equal(c.region, "eu-central-1");
    assert_string_equal(c.endpoint, "http://127.0.0.1:1");
    assert_null(c.session_token);
    assert_int_equal(c.part_size, 16u << 20);
    assert_int_equal(c.path_style, -1);
    rf_s3_conf_free(&c);
    /* Without credentials, opening fails clearly and names no secret. */
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    rf_store *s;
    rf_err e = {0};
    assert_int_equal(rf_store_s3_open("s3://bkt/p", NULL, &s, &e), -1);
    assert_int_equal(e.code, RF_EAUTH);
    assert_null(strstr(e.msg, "s3cr3t-value"));
    assert_non_null(strstr(e.msg, "needs its secret access key"));
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(rf_store_s3_open("s3://bkt/p", NULL, &s, &e), -1);
    assert_int_equal(e.code, RF_EAUTH);
    assert_non_null(strstr(e.msg, "no AWS credentials"));
    unsetenv("AWS_EC2_METADATA_DISABLED");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("AWS_CONFIG_FILE");
}

/* --- a canned-response server: tests/unit/rf_fakesrv.h ------------------ */

static rf_store *open_fake(const rf_fakesrv *f, int retries)
{
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", f->port);
    rf_config cfg = {0};
    cfg.s3 = (rf_s3_conf){.endpoint = ep, .region = "us-east-1", .access_key = "AK",
                          .secret_key = "SK-secret", .path_style = -1,
                          .max_retries = retries, .connect_timeout_ms = 2000,
                          .timeout_ms = 5000};
    rf_store *s;
    rf_err e = {0};
    assert_int_equal(rf_store_s3_open("s3://bkt/pre", &cfg, &s, &e), 0);
    return s;
}

static void test_head_cold_states(void **state)
{
    static const rf_canned script[] = {
        {200, "x-amz-storage-class: GLACIER\r\nETag: \"abc\"\r\n", NULL},
        {200, "x-amz-storage-class: GLACIER\r\nx-amz-restore: ongoing-request=\"true\"\r\n", NULL},
        {200, "x-amz-storage-class: DEEP_ARCHIVE\r\nx-amz-restore: ongoing-request=\"false\", "
              "expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\"\r\n", NULL},
        {200, "Last-Modified: Fri, 21 Dec 2012 00:00:00 GMT\r\n", NULL},
    };
    static const int want[] = {RF_S3_ARCHIVED, RF_S3_RESTORING, RF_S3_RESTORED, RF_S3_READABLE};
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 4), 0);
    rf_store *s = open_fake(&f, 0);
    for (int i = 0; i < 4; i++) {
        rf_store_meta m;
        rf_err e = {0};
        assert_int_equal(s->ops->head(s, "k", &m, &e), 0);
        assert_int_equal(m.restore_state, want[i]);
    }
    s->ops->close(s);
    rf_fakesrv_stop(&f);
    assert_memory_equal(f.requests[0].data, "HEAD /bkt/pre/k HTTP/1.1", 24);
    rf_fakesrv_free(&f);
}

static void test_get_archived(void **state)
{
    static const rf_canned script[] = {
        {403, NULL, ERRDOC("InvalidObjectState", "The operation is not valid for the object's "
                           "storage class")},
    };
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 1), 0);
    rf_store *s = open_fake(&f, 3);
    rf_err e = {0};
    assert_int_equal(s->ops->get_stream(s, "k", 0, 0, NULL, NULL, &e), -1);
    assert_int_equal(e.code, RF_ESTATE);
    assert_non_null(strstr(e.msg, "archived"));
    assert_non_null(strstr(e.msg, "403 InvalidObjectState"));
    s->ops->close(s);
    rf_fakesrv_stop(&f);
    assert_int_equal(f.served, 1); /* a 403 is not retried */
    rf_fakesrv_free(&f);
}

static void test_restore_requests(void **state)
{
    static const rf_canned script[] = {
        {202, NULL, NULL},
        {409, NULL, ERRDOC("RestoreAlreadyInProgress", "Object restore is already in progress")},
        {200, NULL, NULL},
    };
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 3), 0);
    rf_store *s = open_fake(&f, 0);
    rf_err e = {0};
    assert_int_equal(s->ops->restore(s, "k", 7, &e), 0);
    assert_int_equal(s->ops->restore(s, "k", 7, &e), -1);
    assert_int_equal(e.code, RF_ECONFLICT);
    assert_non_null(strstr(e.msg, "409 RestoreAlreadyInProgress"));
    assert_int_equal(s->ops->restore(s, "k", 7, &e), 0); /* already restored: 200 */
    s->ops->close(s);
    rf_fakesrv_stop(&f);
    const char *r = f.requests[0].data;
    assert_memory_equal(r, "POST /bkt/pre/k?restore= HTTP/1.1", 33);
    assert_non_null(strstr(r, "<Days>7</Days>"));
    assert_non_null(strstr(r, "Authorization: AWS4-HMAC-SHA256 Credential=AK/"));
    assert_null(strstr(r, "SK-secret"));
    rf_fakesrv_free(&f);
}

static int collect(void *ud, const void *p, size_t n)
{
    rf_buf_add(ud, p, n);
    return 0;
}

static void test_retry_then_success(void **state)
{
    static const rf_canned script[] = {
        {500, NULL, ERRDOC("InternalError", "We encountered an internal error")},
        {503, NULL, ERRDOC("SlowDown", "Reduce your request rate")},
        {200, "ETag: \"e\"\r\n", "hello"},
    };
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 3), 0);
    rf_store *s = open_fake(&f, 2);
    rf_err e = {0};
    rf_buf got = RF_BUF_INIT;
    rf_buf_add(&got, "", 0);
    assert_int_equal(s->ops->get_stream(s, "k", 0, 0, collect, &got, &e), 0);
    /* Error bodies of failed attempts never reach the reader. */
    assert_string_equal(got.data, "hello");
    rf_buf_free(&got);
    s->ops->close(s);
    rf_fakesrv_stop(&f);
    assert_int_equal(f.served, 3);
    rf_fakesrv_free(&f);
}

static void test_retries_exhausted(void **state)
{
    static const rf_canned script[] = {
        {500, NULL, ERRDOC("InternalError", "boom")},
        {500, NULL, ERRDOC("InternalError", "boom")},
        {500, NULL, ERRDOC("InternalError", "boom")},
    };
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 3), 0);
    rf_store *s = open_fake(&f, 2);
    rf_err e = {0};
    assert_int_equal(s->ops->del(s, "k", &e), -1);
    assert_int_equal(e.code, RF_ENET);
    assert_string_equal(e.msg, "s3 DELETE bkt/pre/k: after 3 attempts: 500 InternalError: boom");
    s->ops->close(s);
    rf_fakesrv_stop(&f);
    rf_fakesrv_free(&f);
}

static void test_copy_storage_class_and_error_body(void **state)
{
    static const rf_canned script[] = {
        {200, NULL, "<CopyObjectResult><ETag>\"e\"</ETag></CopyObjectResult>"},
        {200, NULL, ERRDOC("InternalError", "copy failed midway")},
    };
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 2), 0);
    rf_store *s = open_fake(&f, 0);
    rf_err e = {0};
    rf_put_opts o = {.storage_class = "GLACIER"};
    assert_int_equal(s->ops->copy(s, "a b", "cold/a b", &o, &e), 0);
    assert_int_equal(s->ops->copy(s, "a b", "cold/a b", &o, &e), -1);
    assert_non_null(strstr(e.msg, "copy failed midway"));
    s->ops->close(s);
    rf_fakesrv_stop(&f);
    const char *r = f.requests[0].data;
    assert_memory_equal(r, "PUT /bkt/pre/cold/a%20b HTTP/1.1", 32);
    assert_non_null(strstr(r, "x-amz-copy-source: /bkt/pre/a%20b\r\n"));
    assert_non_null(strstr(r, "x-amz-storage-class: GLACIER\r\n"));
    rf_fakesrv_free(&f);
}

static void test_delete_many_md5_and_errors(void **state)
{
    static const rf_canned script[] = {
        {200, NULL, "<DeleteResult><Error><Key>pre/b</Key><Code>AccessDenied</Code>"
                    "<Message>Access Denied</Message></Error></DeleteResult>"},
    };
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 1), 0);
    rf_store *s = open_fake(&f, 0);
    rf_err e = {0};
    const char *keys[] = {"a", "b<&>"};
    assert_int_equal(s->ops->del_many(s, keys, 2, &e), -1);
    assert_int_equal(e.code, RF_EAUTH);
    assert_non_null(strstr(e.msg, "pre/b: AccessDenied"));
    s->ops->close(s);
    rf_fakesrv_stop(&f);
    const char *r = f.requests[0].data;
    assert_memory_equal(r, "POST /bkt?delete= HTTP/1.1", 26);
    const char *body = strstr(r, "\r\n\r\n") + 4;
    assert_non_null(strstr(body, "<Key>pre/b&lt;&amp;&gt;</Key>"));
    uint8_t sum[16];
    unsigned int len = 16;
    char b64[32], hdr[64];
    EVP_Digest(body, strlen(body), sum, &len, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)b64, sum, 16);
    snprintf(hdr, sizeof hdr, "content-md5: %s\r\n", b64);
    assert_non_null(strstr(r, hdr));
    rf_fakesrv_free(&f);
}

static int list_into(void *ud, const char *key, const rf_store_meta *m)
{
    rf_buf_addf(ud, "%s|%llu|%s;", key, (unsigned long long)m->size, m->storage_class);
    return 0;
}

/* Two pages, url-encoded keys, a common prefix, the store prefix stripped. */
static void test_list_pages_and_encoding(void **state)
{
    static const rf_canned script[] = {
        {200, NULL, "<ListBucketResult><EncodingType>url</EncodingType>"
                    "<IsTruncated>true</IsTruncated><NextContinuationToken>t/1+=</NextContinuationToken>"
                    "<Contents><Key>pre/a+b%2Bc</Key><Size>5</Size><StorageClass>GLACIER</StorageClass>"
                    "</Contents></ListBucketResult>"},
        {200, NULL, "<ListBucketResult><EncodingType>url</EncodingType>"
                    "<IsTruncated>false</IsTruncated>"
                    "<Contents><Key>pre/d%C3%A9</Key><Size>7</Size></Contents>"
                    "<CommonPrefixes><Prefix>pre/sub%2F</Prefix></CommonPrefixes>"
                    "</ListBucketResult>"},
        {200, NULL, "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"},
    };
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 3), 0);
    rf_store *s = open_fake(&f, 0);
    rf_err e = {0};
    rf_buf got = RF_BUF_INIT;
    rf_buf_add(&got, "", 0);
    assert_int_equal(s->ops->list(s, "", 0, list_into, &got, &e), 0);
    assert_string_equal(got.data, "a b+c|5|GLACIER;d\xc3\xa9|7|;sub/|0|;");
    /* Truncated without a token: a clear error, not an endless loop. */
    assert_int_equal(s->ops->list(s, "", 1, list_into, &got, &e), -1);
    assert_int_equal(e.code, RF_ECORRUPT);
    rf_buf_free(&got);
    s->ops->close(s);
    rf_fakesrv_stop(&f);
    assert_memory_equal(f.requests[0].data, "GET /bkt?list-type=2&encoding-type=url&prefix=pre%2F"
                        "&delimiter=%2F HTTP/1.1", 70);
    assert_non_null(strstr(f.requests[1].data, "&continuation-token=t%2F1%2B%3D HTTP/1.1"));
    rf_fakesrv_free(&f);
}

/* A server listing "../x", a key with a NUL (%00, which C would cut), or a
 * common prefix "../" gets a clear error, not a callback with that key;
 * and keys that try traversal or are over-long never reach the server. */
static void test_list_hostile_keys(void **state)
{
    (void)state;
    static const rf_canned script[] = {
        {200, NULL, "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false"
                    "</IsTruncated><Contents><Key>pre/ok</Key><Size>1</Size></Contents>"
                    "<Contents><Key>pre/..%2F..%2Fetc</Key><Size>1</Size></Contents>"
                    "</ListBucketResult>"},
        {200, NULL, "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false"
                    "</IsTruncated><Contents><Key>pre/a%00..%2Fb</Key><Size>1</Size></Contents>"
                    "</ListBucketResult>"},
        {200, NULL, "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false"
                    "</IsTruncated><CommonPrefixes><Prefix>pre/..%2F</Prefix></CommonPrefixes>"
                    "</ListBucketResult>"},
    };
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 3), 0);
    rf_store *s = open_fake(&f, 0);
    rf_err e = {0};
    rf_buf got = RF_BUF_INIT;
    rf_buf_add(&got, "", 0);
    assert_int_equal(rf_store_list(s, "", 1, list_into, &got, &e), -1);
    assert_int_equal(e.code, RF_EINVAL);
    assert_non_null(strstr(e.msg, "listed an invalid key"));
    assert_string_equal(got.data, "ok|1|;");
    assert_int_equal(rf_store_list(s, "", 1, list_into, &got, &e), -1);
    assert_int_equal(e.code, RF_ECORRUPT);
    assert_non_null(strstr(e.msg, "NUL"));
    assert_int_equal(rf_store_list(s, "", 0, list_into, &got, &e), -1);
    assert_non_null(strstr(e.msg, "\"..\" segment"));
    assert_string_equal(got.data, "ok|1|;");
    char longseg[300];
    memset(longseg, 'x', sizeof longseg - 1);
    longseg[sizeof longseg - 1] = '\0';
    const char *bad[] = {"../x", "a/../../b", "a//b", longseg};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        e.code = 0;
        assert_int_equal(rf_store_put_mem(s, bad[i], "x", 1, NULL, &e), -1);
        assert_int_equal(e.code, RF_EINVAL);
    }
    s->ops->close(s);
    rf_fakesrv_stop(&f);
    for (size_t i = 0; i < 3; i++)
        assert_null(strstr(f.requests[i].data, "PUT"));
    rf_buf_free(&got);
    rf_fakesrv_free(&f);
}

static void test_multipart_complete_error_aborts(void **state)
{
    static const rf_canned script[] = {
        {200, NULL, "<InitiateMultipartUploadResult><UploadId>UP1</UploadId>"
                    "</InitiateMultipartUploadResult>"},
        {200, "ETag: \"3303e12af474ca11d85ed2966a932992\"\r\n", NULL},
        {200, "ETag: \"3ea4e15b91a17dc76052c56cfcdf67a2\"\r\n", NULL},
        {200, NULL, ERRDOC("InternalError", "complete failed")},
        {204, NULL, NULL},
    };
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 5), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", f.port);
    rf_config cfg = {0};
    cfg.s3 = (rf_s3_conf){.endpoint = ep, .region = "us-east-1", .access_key = "AK",
                          .secret_key = "SK", .path_style = 1, .part_size = 5u << 20};
    rf_store *s;
    rf_err e = {0};
    assert_int_equal(rf_store_s3_open("s3://bkt", &cfg, &s, &e), 0);
    rf_store_writer *w;
    assert_int_equal(s->ops->writer_open(s, "obj", NULL, &w, &e), 0);
    size_t n = (5u << 20) + 10;
    char *data = calloc(1, n);
    assert_int_equal(s->ops->writer_write(w, data, n, &e), 0);
    free(data);
    /* The server answers 200 with an <Error>: the commit fails and aborts. */
    assert_int_equal(s->ops->writer_commit(w, &e), -1);
    assert_non_null(strstr(e.msg, "complete failed"));
    s->ops->close(s);
    rf_fakesrv_stop(&f);
    assert_memory_equal(f.requests[0].data, "POST /bkt/obj?uploads= HTTP/1.1", 31);
    assert_memory_equal(f.requests[1].data, "PUT /bkt/obj?partNumber=1&uploadId=UP1 ", 39);
    assert_memory_equal(f.requests[2].data, "PUT /bkt/obj?partNumber=2&uploadId=UP1 ", 39);
    assert_non_null(strstr(f.requests[2].data, "Content-Length: 10\r\n"));
    assert_memory_equal(f.requests[3].data, "POST /bkt/obj?uploadId=UP1 ", 27);
    assert_non_null(strstr(f.requests[3].data, "<Part><PartNumber>2</PartNumber><ETag>&quot;"
                                               "3ea4e15b91a17dc76052c56cfcdf67a2&quot;</ETag>"));
    assert_memory_equal(f.requests[4].data, "DELETE /bkt/obj?uploadId=UP1 ", 29);
    rf_fakesrv_free(&f);
}

/* CompleteMultipartUpload answered 500 (outcome unknown), then its retry
 * NoSuchUpload: the object is there with this upload's ETag, so it is a
 * success, not a failure followed by an abort. */
static void test_multipart_complete_ambiguous(void **state)
{
    static const rf_canned script[] = {
        {200, NULL, "<InitiateMultipartUploadResult><UploadId>UP2</UploadId>"
                    "</InitiateMultipartUploadResult>"},
        {200, "ETag: \"3303e12af474ca11d85ed2966a932992\"\r\n", NULL},
        {200, "ETag: \"3ea4e15b91a17dc76052c56cfcdf67a2\"\r\n", NULL},
        {500, NULL, ERRDOC("InternalError", "We encountered an internal error")},
        {404, NULL, ERRDOC("NoSuchUpload", "The specified upload does not exist")},
        {200, "ETag: \"0732917abc3288784e318ac0aab1757a-2\"\r\n", NULL},
    };
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 6), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", f.port);
    rf_config cfg = {0};
    cfg.s3 = (rf_s3_conf){.endpoint = ep, .region = "us-east-1", .access_key = "AK",
                          .secret_key = "SK", .path_style = 1, .part_size = 5u << 20,
                          .max_retries = 2};
    rf_store *s;
    rf_err e = {0};
    assert_int_equal(rf_store_s3_open("s3://bkt", &cfg, &s, &e), 0);
    rf_store_writer *w;
    assert_int_equal(s->ops->writer_open(s, "obj", NULL, &w, &e), 0);
    size_t n = (5u << 20) + 1;
    char *data = calloc(1, n);
    assert_int_equal(s->ops->writer_write(w, data, n, &e), 0);
    free(data);
    int rc = s->ops->writer_commit(w, &e);
    if (rc)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    s->ops->close(s);
    rf_fakesrv_stop(&f);
    assert_int_equal(f.served, 6);
    assert_memory_equal(f.requests[5].data, "HEAD /bkt/obj HTTP/1.1", 22);
    rf_fakesrv_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_iterate),
        cmocka_unit_test(test_xml_malformed),
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_restore_state),
        cmocka_unit_test(test_multipart_etag),
        cmocka_unit_test(test_parse_url_time),
        cmocka_unit_test(test_addressing),
        cmocka_unit_test(test_conf_from_env),
        cmocka_unit_test(test_head_cold_states),
        cmocka_unit_test(test_get_archived),
        cmocka_unit_test(test_restore_requests),
        cmocka_unit_test(test_retry_then_success),
        cmocka_unit_test(test_retries_exhausted),
        cmocka_unit_test(test_copy_storage_class_and_error_body),
        cmocka_unit_test(test_delete_many_md5_and_errors),
        cmocka_unit_test(test_list_pages_and_encoding),
        cmocka_unit_test(test_list_hostile_keys),
        cmocka_unit_test(test_multipart_complete_error_aborts),
        cmocka_unit_test(test_multipart_complete_ambiguous),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
