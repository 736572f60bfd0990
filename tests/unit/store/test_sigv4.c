/* Unit tests for rf_sigv4: every case of AWS's SigV4 test suite
 * ($RF_SHARED/testdata/aws-sigv4/v4, from awslabs/aws-c-auth), in both the
 * Authorization-header and the presigned-query form, compared byte for byte
 * (canonical request, string to sign, signature, signed request), plus the
 * S3-specific rules the suite does not cover.
 *
 * No case is skipped: each directory found becomes one cmocka test, and the
 * run fails if the suite folder is missing or has fewer cases than expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rf_buf.h"
#include "base/rf_hash.h"
#include "store/rf_sigv4.h"

/* The suite as copied (see its SOURCE.md) has 38 cases. */
#define SUITE_CASES 38

static int read_file(const char *dir, const char *name, rf_buf *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char chunk[4096];
    size_t n;
    rf_buf_add(out, "", 0);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rf_buf_add(out, chunk, n);
    fclose(f);
    return 0;
}

/* One parsed request.txt. Strings point into `text` or are owned copies. */
typedef struct parsed_req {
    rf_buf text;
    char *method, *target, *path_raw, *query_raw;   /* into text */
    rf_buf path;                                    /* decoded */
    char **lines;                                   /* header lines as written */
    size_t nlines;
    rf_sigv4_kv headers[16];
    char *hvalues[16];                              /* owned, unfolded */
    size_t nheaders;
    rf_sigv4_kv query[16];
    char *qowned[32];
    size_t nquery, nqowned;
    const char *body;
    size_t body_len;
} parsed_req;

static char *decode_dup(const char *s, size_t n)
{
    rf_buf b = RF_BUF_INIT;
    rf_buf_add(&b, "", 0);
    rf_sigv4_uri_decode(&b, s, n);
    return rf_buf_detach(&b, NULL);
}

static void parse_query(parsed_req *r)
{
    char *q = r->query_raw;
    while (q && *q) {
        char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        char *k = decode_dup(q, klen);
        char *v = eq ? decode_dup(eq + 1, len - klen - 1) : rf_xstrdup("");
        r->qowned[r->nqowned++] = k;
        r->qowned[r->nqowned++] = v;
        r->query[r->nquery++] = (rf_sigv4_kv){k, v};
        q = amp ? amp + 1 : NULL;
    }
}

/* request.txt: "METHOD target HTTP/1.1", header lines (a line starting with
 * whitespace continues the previous value), optionally a blank line and a
 * body. The target may contain spaces, so the version is cut at the last. */
static void parse_request(const char *dir, parsed_req *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(read_file(dir, "request.txt", &r->text), 0);
    char *s = r->text.data;
    char *sep = strstr(s, "\n\n");
    if (sep) {
        *sep = '\0';
        r->body = sep + 2;
        r->body_len = r->text.len - (size_t)(r->body - s);
    } else {
        r->body = "";
        if (r->text.len && s[r->text.len - 1] == '\n')
            s[r->text.len - 1] = '\0';
    }
    r->lines = rf_xcalloc(64, sizeof *r->lines);
    char *save = NULL;
    char *first = strtok_r(s, "\n", &save);
    assert_non_null(first);
    r->method = first;
    char *sp = strchr(first, ' '), *last = strrchr(first, ' ');
    assert_true(sp && last && sp < last);
    *sp = '\0';
    *last = '\0';
    r->target = sp + 1;
    /* Keep the raw target intact for rendering; split a copy. */
    r->path_raw = rf_xstrdup(r->target);
    char *qm = strchr(r->path_raw, '?');
    if (qm) {
        *qm = '\0';
        r->query_raw = qm + 1;
    }
    rf_buf_add(&r->path, "", 0);
    rf_sigv4_uri_decode(&r->path, r->path_raw, strlen(r->path_raw));
    parse_query(r);

    for (char *line; (line = strtok_r(NULL, "\n", &save));) {
        r->lines[r->nlines++] = line;
        if ((line[0] == ' ' || line[0] == '\t') && r->nheaders) {
            char **v = &r->hvalues[r->nheaders - 1];
            rf_buf b = RF_BUF_INIT;
            rf_buf_addf(&b, "%s\n%s", *v, line);
            free(*v);
            *v = rf_buf_detach(&b, NULL);
            r->headers[r->nheaders - 1].value = *v;
            continue;
        }
        char *colon = strchr(line, ':');
        assert_non_null(colon);
        size_t i = r->nheaders++;
        r->hvalues[i] = rf_xstrdup(colon + 1);
        char *name = rf_xmalloc((size_t)(colon - line) + 1);
        memcpy(name, line, (size_t)(colon - line));
        name[colon - line] = '\0';
        r->headers[i] = (rf_sigv4_kv){name, r->hvalues[i]};
    }
}

static void free_request(parsed_req *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free((char *)r->headers[i].name);
        free(r->hvalues[i]);
    }
    for (size_t i = 0; i < r->nqowned; i++)
        free(r->qowned[i]);
    free(r->lines);
    free(r->path_raw);
    rf_buf_free(&r->path);
    rf_buf_free(&r->text);
}

typedef struct context {
    json_t *root;
    rf_sigv4_params p;
    int sign_body;
} context;

static time_t parse_timestamp(const char *s)
{
    struct tm tm = {0};
    assert_non_null(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm));
    return timegm(&tm);
}

static void load_context(const char *dir, context *c)
{
    char path[4096];
    json_error_t je;
    snprintf(path, sizeof path, "%s/context.json", dir);
    memset(c, 0, sizeof *c);
    c->root = json_load_file(path, 0, &je);
    assert_non_null(c->root);
    json_t *cred = json_object_get(c->root, "credentials");
    c->p.access_key = json_string_value(json_object_get(cred, "access_key_id"));
    c->p.secret_key = json_string_value(json_object_get(cred, "secret_access_key"));
    c->p.session_token = json_string_value(json_object_get(cred, "token"));
    c->p.region = json_string_value(json_object_get(c->root, "region"));
    c->p.service = json_string_value(json_object_get(c->root, "service"));
    c->p.expires = (long)json_integer_value(json_object_get(c->root, "expiration_in_seconds"));
    c->p.normalize_path = json_is_true(json_object_get(c->root, "normalize"));
    c->p.omit_session_token = json_is_true(json_object_get(c->root, "omit_session_token"));
    c->sign_body = json_is_true(json_object_get(c->root, "sign_body"));
    c->p.content_sha256_header = c->sign_body;
    c->p.when = parse_timestamp(json_string_value(json_object_get(c->root, "timestamp")));
    assert_non_null(c->p.access_key);
    assert_non_null(c->p.region);
}

/* The signed request as the suite writes it: the original request with the
 * signer's additions (headers appended, or query parameters appended to the
 * target), then a blank line and the body. */
static void render_signed(const parsed_req *r, const rf_sigv4_result *res,
                          enum rf_sigv4_form form, rf_buf *out)
{
    rf_buf_addf(out, "%s %s", r->method, r->target);
    if (form == RF_SIGV4_QUERY) {
        rf_buf_adds(out, strchr(r->target, '?') ? "&" : "?");
        for (size_t i = 0; i < res->nadd; i++) {
            if (i)
                rf_buf_add(out, "&", 1);
            rf_buf_addf(out, "%s=", res->add[i].name);
            rf_sigv4_uri_encode(out, res->add[i].value, strlen(res->add[i].value), 0);
        }
    }
    rf_buf_adds(out, " HTTP/1.1\n");
    for (size_t i = 0; i < r->nlines; i++)
        rf_buf_addf(out, "%s\n", r->lines[i]);
    if (form == RF_SIGV4_HEADER)
        for (size_t i = 0; i < res->nadd; i++)
            rf_buf_addf(out, "%s:%s\n", res->add[i].name, res->add[i].value);
    rf_buf_add(out, "\n", 1);
    rf_buf_add(out, r->body, r->body_len);
}

static void expect_file(const char *dir, const char *name, const char *got, size_t n)
{
    rf_buf want = RF_BUF_INIT;
    assert_int_equal(read_file(dir, name, &want), 0);
    if (want.len != n || memcmp(want.data, got, n)) {
        print_error("%s/%s differs\n--- expected\n%s\n--- got\n%.*s\n", dir, name,
                    want.data, (int)n, got);
        rf_buf_free(&want);
        fail();
    }
    rf_buf_free(&want);
}

static void check_form(const char *dir, enum rf_sigv4_form form)
{
    const char *pre = form == RF_SIGV4_HEADER ? "header" : "query";
    parsed_req r;
    context c;
    parse_request(dir, &r);
    load_context(dir, &c);

    uint8_t h[RF_SHA256_LEN];
    char payload[RF_SHA256_HEX];
    rf_sha256(r.body, r.body_len, h);
    rf_hex(payload, h, RF_SHA256_LEN);
    rf_sigv4_request rq = {
        .method = r.method, .path = r.path.data,
        .query = r.query, .nquery = r.nquery,
        .headers = r.headers, .nheaders = r.nheaders,
        .payload_hash = payload,
    };
    rf_sigv4_result res;
    rf_err err = {0};
    int rc = rf_sigv4_sign(&rq, &c.p, form, &res, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);

    char name[64];
    snprintf(name, sizeof name, "%s-canonical-request.txt", pre);
    expect_file(dir, name, res.canonical_request.data, res.canonical_request.len);
    snprintf(name, sizeof name, "%s-string-to-sign.txt", pre);
    expect_file(dir, name, res.string_to_sign.data, res.string_to_sign.len);
    snprintf(name, sizeof name, "%s-signature.txt", pre);
    expect_file(dir, name, res.signature, strlen(res.signature));
    rf_buf signed_req = RF_BUF_INIT;
    render_signed(&r, &res, form, &signed_req);
    snprintf(name, sizeof name, "%s-signed-request.txt", pre);
    expect_file(dir, name, signed_req.data, signed_req.len);

    rf_buf_free(&signed_req);
    rf_sigv4_result_free(&res);
    json_decref(c.root);
    free_request(&r);
}

static void test_suite_case(void **state)
{
    const char *dir = *state;
    check_form(dir, RF_SIGV4_HEADER);
    check_form(dir, RF_SIGV4_QUERY);
}

/* --- S3 rules the generic suite does not cover --------------------------- */

static const rf_sigv4_params s3_params = {
    .access_key = "AKIAIOSFODNN7EXAMPLE",
    .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    .region = "us-east-1", .service = "s3",
    .when = 1369353600, /* 2013-05-24T00:00:00Z */
    .expires = 86400,
    .content_sha256_header = 1,
};

/* AWS's documented S3 example "GET Object" (sig-v4-header-based-auth). */
static void test_s3_doc_get_object(void **state)
{
    rf_sigv4_kv hd[] = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}};
    rf_sigv4_request rq = {.method = "GET", .path = "/test.txt", .headers = hd, .nheaders = 2,
                           .payload_hash = RF_SIGV4_EMPTY_SHA256};
    rf_sigv4_result res;
    assert_int_equal(rf_sigv4_sign(&rq, &s3_params, RF_SIGV4_HEADER, &res, NULL), 0);
    assert_string_equal(res.signature,
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    rf_sigv4_result_free(&res);
}

/* AWS's documented S3 presigned-URL example (sigv4-query-string-auth). */
static void test_s3_doc_presigned(void **state)
{
    rf_sigv4_kv hd[] = {{"Host", "examplebucket.s3.amazonaws.com"}};
    rf_sigv4_request rq = {.method = "GET", .path = "/test.txt", .headers = hd, .nheaders = 1,
                           .payload_hash = RF_SIGV4_UNSIGNED_PAYLOAD};
    rf_sigv4_result res;
    assert_int_equal(rf_sigv4_sign(&rq, &s3_params, RF_SIGV4_QUERY, &res, NULL), 0);
    assert_string_equal(res.signature,
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    rf_sigv4_result_free(&res);
}

/* S3 signs keys exactly: "a//b/../c" stays, and reserved bytes are encoded. */
static void test_s3_path_not_normalized(void **state)
{
    rf_sigv4_kv hd[] = {{"Host", "h"}};
    rf_sigv4_request rq = {.method = "PUT", .path = "/b/a//x/../c d+e", .headers = hd,
                           .nheaders = 1, .payload_hash = RF_SIGV4_UNSIGNED_PAYLOAD};
    rf_sigv4_result res;
    assert_int_equal(rf_sigv4_sign(&rq, &s3_params, RF_SIGV4_HEADER, &res, NULL), 0);
    assert_non_null(strstr(res.canonical_request.data, "\n/b/a//x/../c%20d%2Be\n"));
    assert_non_null(strstr(res.canonical_request.data,
                           "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
    assert_non_null(strstr(res.canonical_request.data, "\nUNSIGNED-PAYLOAD"));
    rf_sigv4_result_free(&res);
}

static void test_session_token_signed(void **state)
{
    rf_sigv4_params p = s3_params;
    p.session_token = "tok/en+";
    rf_sigv4_kv hd[] = {{"Host", "h"}};
    rf_sigv4_kv q[] = {{"delete", ""}};
    rf_sigv4_request rq = {.method = "POST", .path = "/b", .query = q, .nquery = 1,
                           .headers = hd, .nheaders = 1};
    rf_sigv4_result res;
    assert_int_equal(rf_sigv4_sign(&rq, &p, RF_SIGV4_HEADER, &res, NULL), 0);
    assert_non_null(strstr(res.canonical_request.data, "\ndelete=\n"));
    assert_non_null(strstr(res.canonical_request.data, "x-amz-security-token:tok/en+\n"));
    assert_string_equal(res.add[0].name, "X-Amz-Security-Token");
    rf_sigv4_result_free(&res);
}

static void test_errors(void **state)
{
    rf_sigv4_kv hd[] = {{"X-Other", "1"}};
    rf_sigv4_request rq = {.method = "GET", .path = "/", .headers = hd, .nheaders = 1};
    rf_sigv4_result res;
    rf_err err = {0};
    assert_int_equal(rf_sigv4_sign(&rq, &s3_params, RF_SIGV4_HEADER, &res, &err), -1);
    assert_non_null(strstr(err.msg, "Host"));
    rf_sigv4_result_free(&res);
    rf_sigv4_params p = s3_params;
    p.access_key = "";
    assert_int_equal(rf_sigv4_sign(&rq, &p, RF_SIGV4_HEADER, &res, &err), -1);
    assert_int_equal(err.code, RF_EAUTH);
    rf_sigv4_result_free(&res);
    rq.path = "relative";
    hd[0].name = "host";
    assert_int_equal(rf_sigv4_sign(&rq, &s3_params, RF_SIGV4_HEADER, &res, &err), -1);
    rf_sigv4_result_free(&res);
}

static void test_uri_codec(void **state)
{
    rf_buf b = RF_BUF_INIT;
    rf_sigv4_uri_encode(&b, "a/b c~%\xe1\x88\xb4", 10, 1);
    assert_string_equal(b.data, "a/b%20c~%25%E1%88%B4");
    rf_buf_reset(&b);
    rf_sigv4_uri_encode(&b, "a/b", 3, 0);
    assert_string_equal(b.data, "a%2Fb");
    rf_buf_reset(&b);
    rf_sigv4_uri_decode(&b, "%E1%88%b4x%2%zz%", 16);
    assert_string_equal(b.data, "\xe1\x88\xb4x%2%zz%");
    rf_buf_free(&b);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    const char *shared = getenv("RF_SHARED");
    char suite[4096];
    snprintf(suite, sizeof suite, "%s/testdata/aws-sigv4/v4", shared ? shared : "../shared");

    static const struct CMUnitTest extra[] = {
        cmocka_unit_test(test_s3_doc_get_object),
        cmocka_unit_test(test_s3_doc_presigned),
        cmocka_unit_test(test_s3_path_not_normalized),
        cmocka_unit_test(test_session_token_signed),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_uri_codec),
    };
    size_t nextra = sizeof extra / sizeof extra[0];

    char **dirs = NULL;
    size_t n = 0;
    DIR *d = opendir(suite);
    if (!d) {
        fprintf(stderr, "test_sigv4: cannot open the SigV4 suite at %s (set RF_SHARED)\n", suite);
        return 1;
    }
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        dirs = rf_xrealloc(dirs, (n + 1) * sizeof *dirs);
        rf_buf p = RF_BUF_INIT;
        rf_buf_addf(&p, "%s/%s", suite, e->d_name);
        dirs[n++] = rf_buf_detach(&p, NULL);
    }
    closedir(d);
    qsort(dirs, n, sizeof *dirs, cmp_str);
    if (n < SUITE_CASES) {
        fprintf(stderr, "test_sigv4: %zu cases in %s, expected %d\n", n, suite, SUITE_CASES);
        return 1;
    }

    struct CMUnitTest *tests = rf_xcalloc(n + nextra, sizeof *tests);
    for (size_t i = 0; i < n; i++) {
        tests[i].name = strrchr(dirs[i], '/') + 1;
        tests[i].test_func = test_suite_case;
        tests[i].initial_state = dirs[i];
    }
    memcpy(tests + n, extra, sizeof extra);
    int rc = _cmocka_run_group_tests("sigv4", tests, n + nextra, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(dirs[i]);
    free(dirs);
    free(tests);
    return rc;
}
