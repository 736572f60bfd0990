/* Integration tests of the s3:// backend against the real test stack:
 * s3rver behind tests/tools/sigv4_proxy.py, which checks every signature
 * with botocore and injects faults on request (tests/lib/s3.sh). Needs
 * RF_TEST_S3_ENDPOINT and RF_TEST_S3_BUCKET, as tests/run.sh exports them.
 *
 * Each test works under its own key prefix, so tests do not interfere and
 * the proxy's fault rules can target one test's keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/rf_config.h"
#include "store/rf_s3.h"
#include "store/rf_s3_client.h"
#include "store/rf_store.h"

static const char *endpoint, *bucket;
static char run_id[32];

/* A config from the environment with test-friendly overrides. */
static void test_conf(rf_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    rf_s3_conf_from_env(&cfg->s3);
    free(cfg->s3.endpoint);
    cfg->s3.endpoint = strdup(endpoint);
    cfg->s3.max_retries = 3;
    cfg->s3.part_size = 5u << 20;
    cfg->s3.multipart_threshold = 6u << 20;
    cfg->s3.timeout_ms = 10000;
}

static rf_store *open_with(rf_config *cfg)
{
    char url[256];
    snprintf(url, sizeof url, "s3://%s/%s", bucket, run_id);
    rf_store *s;
    rf_err e = {0};
    if (rf_store_s3_open(url, cfg, &s, &e) < 0)
        fail_msg("open %s: %s", url, e.msg);
    return s;
}

static rf_store *open_store(void)
{
    rf_config cfg;
    test_conf(&cfg);
    rf_store *s = open_with(&cfg);
    rf_s3_conf_free(&cfg.s3);
    return s;
}

static void close_store(rf_store *s)
{
    s->ops->close(s);
}

/* Deterministic test data. */
static char *make_data(size_t n, unsigned seed)
{
    char *p = malloc(n);
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (char)x;
    }
    return p;
}

static char *write_temp(const char *data, size_t n)
{
    char *path = strdup("/tmp/rf-s3-live-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
    return path;
}

static int collect(void *ud, const void *p, size_t n)
{
    rf_buf_add(ud, p, n);
    return 0;
}

static void get_all(rf_store *s, const char *key, uint64_t off, uint64_t len, rf_buf *out)
{
    rf_err e = {0};
    rf_buf_reset(out);
    rf_buf_add(out, "", 0);
    if (s->ops->get_stream(s, key, off, len, collect, out, &e) < 0)
        fail_msg("get %s: %s", key, e.msg);
}

static void put_mem(rf_store *s, const char *key, const char *data, size_t n)
{
    rf_store_writer *w;
    rf_err e = {0};
    assert_int_equal(s->ops->writer_open(s, key, NULL, &w, &e), 0);
    if (s->ops->writer_write(w, data, n, &e) < 0 || s->ops->writer_commit(w, &e) < 0)
        fail_msg("put %s: %s", key, e.msg);
}

/* --- the proxy's fault injection ------------------------------------------ */

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p, (void)ud;
    return sz * n;
}

static size_t keep(char *p, size_t sz, size_t n, void *ud)
{
    rf_buf_add(ud, p, sz * n);
    return sz * n;
}

static long http(const char *method, const char *url, const char *body, rf_buf *out)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, out ? keep : discard);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return status;
}

static void fault(const char *json)
{
    char url[256];
    snprintf(url, sizeof url, "%s/__rf_fault", endpoint);
    assert_int_equal(http("POST", url, json, NULL), 200);
}

/* Clears the rules; returns how many faults were injected since the last
 * clear. */
static int faults_clear(void)
{
    char url[256];
    rf_buf out = RF_BUF_INIT;
    snprintf(url, sizeof url, "%s/__rf_fault", endpoint);
    rf_buf_add(&out, "", 0);
    assert_int_equal(http("GET", url, NULL, &out), 200);
    const char *p = strstr(out.data, "\"injected\": ");
    int n = p ? atoi(p + 12) : -1;
    rf_buf_free(&out);
    assert_int_equal(http("DELETE", url, NULL, NULL), 200);
    return n;
}

static int setup(void **state)
{
    faults_clear();
    return 0;
}

/* --- tests ---------------------------------------------------------------- */

static void test_roundtrip_small(void **state)
{
    rf_store *s = open_store();
    char *data = make_data(100000, 1);
    char *path = write_temp(data, 100000);
    rf_err e = {0};
    assert_int_equal(s->ops->put_file(s, "small/a b+c.bin", path, NULL, &e), 0);
    rf_store_meta m;
    assert_int_equal(s->ops->head(s, "small/a b+c.bin", &m, &e), 0);
    assert_int_equal(m.size, 100000);
    assert_int_equal(strlen(m.etag), 32); /* single PUT: plain MD5 */
    assert_string_equal(m.storage_class, "STANDARD");
    assert_int_equal(m.restore_state, RF_S3_READABLE);
    assert_true(m.mtime > 1700000000);
    rf_buf got = RF_BUF_INIT;
    get_all(s, "small/a b+c.bin", 0, 0, &got);
    assert_int_equal(got.len, 100000);
    assert_memory_equal(got.data, data, 100000);
    /* Empty object through the writer. */
    put_mem(s, "small/empty", "", 0);
    get_all(s, "small/empty", 0, 0, &got);
    assert_int_equal(got.len, 0);
    rf_buf_free(&got);
    unlink(path);
    free(path);
    free(data);
    close_store(s);
}

static void test_roundtrip_multipart(void **state)
{
    rf_store *s = open_store();
    size_t n = (12u << 20) + 12345;
    char *data = make_data(n, 2);
    char *path = write_temp(data, n);
    rf_err e = {0};
    assert_int_equal(s->ops->put_file(s, "mp/file.bin", path, NULL, &e), 0);
    rf_buf got = RF_BUF_INIT;
    get_all(s, "mp/file.bin", 0, 0, &got);
    assert_int_equal(got.len, n);
    assert_memory_equal(got.data, data, n);
    /* The streaming writer crosses part boundaries with odd-sized writes. */
    rf_store_writer *w;
    assert_int_equal(s->ops->writer_open(s, "mp/writer.bin", NULL, &w, &e), 0);
    for (size_t off = 0; off < n; off += 777777) {
        size_t len = n - off < 777777 ? n - off : 777777;
        assert_int_equal(s->ops->writer_write(w, data + off, len, &e), 0);
    }
    assert_int_equal(s->ops->writer_commit(w, &e), 0);
    get_all(s, "mp/writer.bin", 0, 0, &got);
    assert_int_equal(got.len, n);
    assert_memory_equal(got.data, data, n);
    rf_buf_free(&got);
    unlink(path);
    free(path);
    free(data);
    close_store(s);
}

static void test_ranged_get(void **state)
{
    rf_store *s = open_store();
    char *data = make_data(50000, 3);
    put_mem(s, "range/obj", data, 50000);
    rf_buf got = RF_BUF_INIT;
    get_all(s, "range/obj", 100, 1000, &got);
    assert_int_equal(got.len, 1000);
    assert_memory_equal(got.data, data + 100, 1000);
    get_all(s, "range/obj", 49999, 1, &got);
    assert_int_equal(got.len, 1);
    assert_memory_equal(got.data, data + 49999, 1);
    get_all(s, "range/obj", 40000, 0, &got);
    assert_int_equal(got.len, 10000);
    assert_memory_equal(got.data, data + 40000, 10000);
    rf_err e = {0};
    assert_int_equal(s->ops->get_stream(s, "range/obj", 60000, 10, collect, &got, &e), -1);
    assert_non_null(strstr(e.msg, "416"));
    rf_buf_free(&got);
    free(data);
    close_store(s);
}

typedef struct filler {
    int from, to;
    int failed;
} filler;

/* The keys are created straight on s3rver, past the proxy: writing is not
 * what this test is about, and it halves the time it takes. */
static void *fill_keys(void *arg)
{
    filler *f = arg;
    rf_config cfg;
    test_conf(&cfg);
    const char *direct = getenv("RF_TEST_S3_DIRECT");
    if (direct) {
        free(cfg.s3.endpoint);
        cfg.s3.endpoint = strdup(direct);
    }
    rf_store *s = open_with(&cfg);
    rf_s3_conf_free(&cfg.s3);
    for (int i = f->from; i < f->to && !f->failed; i++) {
        char key[64];
        snprintf(key, sizeof key, "many/k%05d", i);
        rf_store_writer *w;
        rf_err e = {0};
        if (s->ops->writer_open(s, key, NULL, &w, &e) < 0 ||
            s->ops->writer_write(w, key, strlen(key), &e) < 0 ||
            s->ops->writer_commit(w, &e) < 0)
            f->failed = 1;
    }
    close_store(s);
    return NULL;
}

typedef struct counter {
    int n, dirs, unordered;
    char last[256];
    char **keys;
} counter;

static int count_key(void *ud, const char *key, const rf_store_meta *m)
{
    counter *c = ud;
    if (key[strlen(key) - 1] == '/')
        c->dirs++;
    else if (c->keys)
        c->keys[c->n] = strdup(key);
    if (strcmp(c->last, key) >= 0)
        c->unordered++;
    snprintf(c->last, sizeof c->last, "%s", key);
    c->n += key[strlen(key) - 1] != '/';
    return 0;
}

/* Just over one ListObjectsV2 page and one DeleteObjects batch (1000). */
#define NKEYS 1001

static void test_list_many_and_batch_delete(void **state)
{
    pthread_t th[4];
    filler f[4];
    for (int t = 0; t < 4; t++) {
        f[t] = (filler){t * NKEYS / 4, (t + 1) * NKEYS / 4, 0};
        pthread_create(&th[t], NULL, fill_keys, &f[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        assert_false(f[t].failed);
    }
    rf_store *s = open_store();
    put_mem(s, "many/sub/x", "x", 1);
    rf_err e = {0};
    counter c = {0};
    c.keys = calloc(NKEYS + 1, sizeof *c.keys);
    if (s->ops->list(s, "many/", 1, count_key, &c, &e) < 0)
        fail_msg("list: %s", e.msg);
    assert_int_equal(c.n, NKEYS + 1); /* over two ListObjectsV2 pages */
    assert_int_equal(c.unordered, 0);
    counter top = {0};
    assert_int_equal(s->ops->list(s, "many/", 0, count_key, &top, &e), 0);
    assert_int_equal(top.n, NKEYS);
    assert_int_equal(top.dirs, 1);
    assert_string_equal(top.last, "many/sub/");
    /* Batch delete: two DeleteObjects requests (1000 + 2). */
    if (s->ops->del_many(s, (const char *const *)c.keys, NKEYS + 1, &e) < 0)
        fail_msg("delete: %s", e.msg);
    counter after = {0};
    assert_int_equal(s->ops->list(s, "many/", 1, count_key, &after, &e), 0);
    assert_int_equal(after.n, 0);
    for (int i = 0; i < NKEYS + 1; i++)
        free(c.keys[i]);
    free(c.keys);
    close_store(s);
}

static int stop_after_one(void *ud, const char *key, const rf_store_meta *m)
{
    ++*(int *)ud;
    return 1;
}

static void test_copy_delete_list_stop(void **state)
{
    rf_store *s = open_store();
    char *data = make_data(3000, 4);
    put_mem(s, "cp/src", data, 3000);
    rf_err e = {0};
    rf_put_opts o = {.storage_class = "STANDARD"};
    assert_int_equal(s->ops->copy(s, "cp/src", "cp/dst", &o, &e), 0);
    rf_buf got = RF_BUF_INIT;
    get_all(s, "cp/dst", 0, 0, &got);
    assert_int_equal(got.len, 3000);
    assert_memory_equal(got.data, data, 3000);
    int seen = 0;
    assert_int_equal(s->ops->list(s, "cp/", 1, stop_after_one, &seen, &e), 0);
    assert_int_equal(seen, 1);
    assert_int_equal(s->ops->del(s, "cp/src", &e), 0);
    rf_store_meta m;
    assert_int_equal(s->ops->head(s, "cp/src", &m, &e), -1);
    assert_int_equal(e.code, RF_ENOTFOUND);
    assert_int_equal(s->ops->copy(s, "cp/missing", "cp/x", NULL, &e), -1);
    assert_int_equal(e.code, RF_ENOTFOUND);
    assert_non_null(strstr(e.msg, "NoSuchKey"));
    rf_buf_free(&got);
    free(data);
    close_store(s);
}

static void test_wrong_credentials(void **state)
{
    rf_config cfg;
    test_conf(&cfg);
    free(cfg.s3.secret_key);
    cfg.s3.secret_key = strdup("WRONG-secret-6f1d");
    rf_store *s = open_with(&cfg);
    rf_err e = {0};
    counter c = {0};
    assert_int_equal(s->ops->list(s, "", 1, count_key, &c, &e), -1);
    assert_int_equal(e.code, RF_EAUTH);
    assert_non_null(strstr(e.msg, "403 SignatureDoesNotMatch: The request signature we "
                                  "calculated does not match"));
    assert_null(strstr(e.msg, "WRONG-secret"));
    assert_int_equal(rf_err_exit_status(&e), 5);
    close_store(s);
    free(cfg.s3.access_key);
    cfg.s3.access_key = strdup("NOSUCHKEY");
    s = open_with(&cfg);
    assert_int_equal(s->ops->del(s, "x", &e), -1);
    assert_non_null(strstr(e.msg, "403 InvalidAccessKeyId"));
    close_store(s);
    rf_s3_conf_free(&cfg.s3);
}

/* Temporary credentials: the token is signed, and botocore (in the proxy)
 * agrees with our canonical request. */
static void test_session_token(void **state)
{
    rf_config cfg;
    test_conf(&cfg);
    cfg.s3.session_token = strdup("FwoGZXIvYXdzEXAMPLE//token+with/slashes==");
    rf_store *s = open_with(&cfg);
    put_mem(s, "token/obj", "tok", 3);
    rf_buf got = RF_BUF_INIT;
    get_all(s, "token/obj", 0, 0, &got);
    assert_string_equal(got.data, "tok");
    rf_buf_free(&got);
    close_store(s);
    rf_s3_conf_free(&cfg.s3);
}

static void test_missing_bucket(void **state)
{
    rf_config cfg;
    test_conf(&cfg);
    rf_store *s;
    rf_err e = {0};
    assert_int_equal(rf_store_s3_open("s3://no-such-bucket-rf/x", &cfg, &s, &e), 0);
    rf_store_writer *w;
    assert_int_equal(s->ops->writer_open(s, "k", NULL, &w, &e), 0);
    assert_int_equal(s->ops->writer_write(w, "x", 1, &e), 0);
    assert_int_equal(s->ops->writer_commit(w, &e), -1);
    assert_int_equal(e.code, RF_ENOTFOUND);
    assert_non_null(strstr(e.msg, "404 NoSuchBucket: The specified bucket does not exist"));
    counter c = {0};
    assert_int_equal(s->ops->list(s, "", 1, count_key, &c, &e), -1);
    assert_non_null(strstr(e.msg, "NoSuchBucket"));
    assert_int_equal(rf_err_exit_status(&e), 3);
    close_store(s);
    rf_s3_conf_free(&cfg.s3);
}

static void test_unreachable_endpoint(void **state)
{
    rf_config cfg;
    test_conf(&cfg);
    free(cfg.s3.endpoint);
    cfg.s3.endpoint = strdup("http://127.0.0.1:9"); /* discard port: nothing listens */
    rf_store *s = open_with(&cfg);
    rf_err e = {0};
    rf_store_meta m;
    time_t t0 = time(NULL);
    assert_int_equal(s->ops->head(s, "x", &m, &e), -1);
    assert_true(time(NULL) - t0 <= 5);
    assert_int_equal(e.code, RF_ENET);
    assert_non_null(strstr(e.msg, "after 4 attempts"));
    assert_non_null(strstr(e.msg, "http://127.0.0.1:9"));
    close_store(s);
    rf_s3_conf_free(&cfg.s3);
}

static void test_retry_500_then_ok(void **state)
{
    rf_store *s = open_store();
    fault("{\"mode\": \"500\", \"count\": 2, \"match\": \"retry500/obj\"}");
    put_mem(s, "retry500/obj", "abc", 3);
    assert_int_equal(faults_clear(), 2);
    fault("{\"mode\": \"503\", \"count\": 2, \"match\": \"retry500/obj\", \"method\": \"GET\"}");
    rf_buf got = RF_BUF_INIT;
    get_all(s, "retry500/obj", 0, 0, &got);
    assert_string_equal(got.data, "abc");
    assert_int_equal(faults_clear(), 2);
    rf_buf_free(&got);
    close_store(s);
}

static void test_retry_500_exhausted(void **state)
{
    rf_store *s = open_store();
    fault("{\"mode\": \"500\", \"count\": 100, \"match\": \"always500/\"}");
    rf_err e = {0};
    rf_store_meta m;
    assert_int_equal(s->ops->head(s, "always500/x", &m, &e), -1);
    assert_int_equal(e.code, RF_ENET);
    assert_non_null(strstr(e.msg, "after 4 attempts: 500"));
    assert_int_equal(faults_clear(), 4);
    close_store(s);
}

static void test_reset_mid_body_resumes(void **state)
{
    rf_store *s = open_store();
    size_t n = 3u << 20;
    char *data = make_data(n, 5);
    put_mem(s, "reset/obj", data, n);
    fault("{\"mode\": \"reset_body\", \"count\": 2, \"match\": \"GET /\", \"method\": \"GET\"}");
    rf_buf got = RF_BUF_INIT;
    get_all(s, "reset/obj", 0, 0, &got);
    assert_int_equal(faults_clear(), 2);
    assert_int_equal(got.len, n);
    assert_memory_equal(got.data, data, n);
    /* A reset before any answer: the PUT is retried as a whole. */
    fault("{\"mode\": \"reset\", \"count\": 1, \"match\": \"reset/put\", \"method\": \"PUT\"}");
    put_mem(s, "reset/put", data, 1000);
    assert_int_equal(faults_clear(), 1);
    get_all(s, "reset/put", 0, 0, &got);
    assert_int_equal(got.len, 1000);
    /* Resets on every attempt: a clear failure. */
    fault("{\"mode\": \"reset_body\", \"count\": 100, \"match\": \"reset/obj\"}");
    rf_err e = {0};
    rf_buf_reset(&got);
    assert_int_equal(s->ops->get_stream(s, "reset/obj", 0, 0, collect, &got, &e), -1);
    assert_int_equal(e.code, RF_ENET);
    assert_non_null(strstr(e.msg, "after 4 attempts"));
    faults_clear();
    rf_buf_free(&got);
    free(data);
    close_store(s);
}

static void test_stall_times_out(void **state)
{
    rf_config cfg;
    test_conf(&cfg);
    cfg.s3.timeout_ms = 1000;
    cfg.s3.max_retries = 0;
    rf_store *s = open_with(&cfg);
    fault("{\"mode\": \"stall\", \"seconds\": 4, \"count\": 1, \"match\": \"stall/x\"}");
    rf_err e = {0};
    rf_store_meta m;
    time_t t0 = time(NULL);
    assert_int_equal(s->ops->head(s, "stall/x", &m, &e), -1);
    assert_true(time(NULL) - t0 <= 3);
    assert_int_equal(e.code, RF_ENET);
    faults_clear();
    close_store(s);
    rf_s3_conf_free(&cfg.s3);
}

static void test_multipart_failure_leaves_nothing(void **state)
{
    rf_config cfg;
    test_conf(&cfg);
    cfg.s3.max_retries = 1;
    rf_store *s = open_with(&cfg);
    size_t n = 11u << 20;
    char *data = make_data(n, 6);
    char *path = write_temp(data, n);
    fault("{\"mode\": \"500\", \"count\": 100, \"match\": \"partNumber=2\"}");
    rf_err e = {0};
    assert_int_equal(s->ops->put_file(s, "mpfail/obj", path, NULL, &e), -1);
    assert_int_equal(e.code, RF_ENET);
    assert_non_null(strstr(e.msg, "part 2"));
    faults_clear();
    rf_store_meta m;
    assert_int_equal(s->ops->head(s, "mpfail/obj", &m, &e), -1);
    assert_int_equal(e.code, RF_ENOTFOUND);
    /* The streaming writer, failing on its second part. */
    fault("{\"mode\": \"500\", \"count\": 100, \"match\": \"partNumber=2\"}");
    rf_store_writer *w;
    assert_int_equal(s->ops->writer_open(s, "mpfail/w", NULL, &w, &e), 0);
    int rc = s->ops->writer_write(w, data, n, &e);
    if (rc == 0)
        rc = s->ops->writer_commit(w, &e);
    else
        s->ops->writer_abort(w);
    assert_int_equal(rc, -1);
    faults_clear();
    assert_int_equal(s->ops->head(s, "mpfail/w", &m, &e), -1);
    assert_int_equal(e.code, RF_ENOTFOUND);
    unlink(path);
    free(path);
    free(data);
    close_store(s);
    rf_s3_conf_free(&cfg.s3);
}

static void test_presigned_get(void **state)
{
    rf_store *s = open_store();
    put_mem(s, "presign/o", "presigned!", 10);
    close_store(s);
    rf_s3_conf conf;
    rf_s3_conf_from_env(&conf);
    free(conf.endpoint);
    conf.endpoint = strdup(endpoint);
    rf_s3_client *cl;
    assert_int_equal(rf_s3_client_new(&conf, bucket, &cl, NULL), 0);
    char key[128];
    snprintf(key, sizeof key, "%s/presign/o", run_id);
    rf_buf url = RF_BUF_INIT, body = RF_BUF_INIT;
    rf_err e = {0};
    assert_int_equal(rf_s3_presign_get(cl, key, 300, &url, &e), 0);
    rf_buf_add(&body, "", 0);
    assert_int_equal(http("GET", url.data, NULL, &body), 200);
    assert_string_equal(body.data, "presigned!");
    /* Any change to the signed URL is refused by the proxy. */
    char *sig = strstr(url.data, "X-Amz-Signature=") + 16;
    *sig = *sig == '0' ? '1' : '0';
    rf_buf_reset(&body);
    rf_buf_add(&body, "", 0);
    assert_int_equal(http("GET", url.data, NULL, &body), 403);
    assert_non_null(strstr(body.data, "SignatureDoesNotMatch"));
    rf_buf_free(&url);
    rf_buf_free(&body);
    rf_s3_client_free(cl);
    rf_s3_conf_free(&conf);
}

int main(void)
{
    endpoint = getenv("RF_TEST_S3_ENDPOINT");
    bucket = getenv("RF_TEST_S3_BUCKET");
    if (!endpoint || !bucket) {
        fprintf(stderr, "test_s3_live: RF_TEST_S3_ENDPOINT and RF_TEST_S3_BUCKET are not set; "
                        "run it through tests/run.sh\n");
        return 1;
    }
    snprintf(run_id, sizeof run_id, "live-%ld-%d", (long)time(NULL), (int)getpid());
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_roundtrip_small, setup),
        cmocka_unit_test_setup(test_roundtrip_multipart, setup),
        cmocka_unit_test_setup(test_ranged_get, setup),
        cmocka_unit_test_setup(test_list_many_and_batch_delete, setup),
        cmocka_unit_test_setup(test_copy_delete_list_stop, setup),
        cmocka_unit_test_setup(test_wrong_credentials, setup),
        cmocka_unit_test_setup(test_session_token, setup),
        cmocka_unit_test_setup(test_missing_bucket, setup),
        cmocka_unit_test_setup(test_unreachable_endpoint, setup),
        cmocka_unit_test_setup(test_retry_500_then_ok, setup),
        cmocka_unit_test_setup(test_retry_500_exhausted, setup),
        cmocka_unit_test_setup(test_reset_mid_body_resumes, setup),
        cmocka_unit_test_setup(test_stall_times_out, setup),
        cmocka_unit_test_setup(test_multipart_failure_leaves_nothing, setup),
        cmocka_unit_test_setup(test_presigned_get, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
