/* Unit tests of the checkpoint repository's cold reads against canned S3
 * responses on loopback (what s3rver cannot give: GLACIER objects and
 * x-amz-restore): a chunk found in no warmer tier is restored (POST
 * ?restore), HEAD is polled until ongoing-request="false", then it is read;
 * a restore that does not finish in time fails with RF_ESTATE, having
 * requested it once. Moves between tiers on real servers are in
 * tests/integration/ckpt.sh and ckpt_s3.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/rf_config.h"
#include "store/rf_ckrepo_impl.h"

typedef struct canned {
    int status;
    const char *headers;   /* extra header lines, each ending in \r\n */
    const char *body;
} canned;

#define MAXREQ 16

typedef struct fake {
    int lfd, port;
    pthread_t th;
    const canned *script;
    size_t nscript, served;
    rf_buf requests[MAXREQ];
} fake;

static int read_request(int fd, rf_buf *req)
{
    char buf[4096];
    size_t hdr_end = 0, need = 0;
    rf_buf_add(req, "", 0);
    for (;;) {
        if (!hdr_end) {
            char *e = strstr(req->data, "\r\n\r\n");
            if (e) {
                hdr_end = (size_t)(e - req->data) + 4;
                char *cl = strcasestr(req->data, "\r\ncontent-length:");
                need = hdr_end + (cl && cl < e ? strtoul(cl + 17, NULL, 10) : 0);
            }
        }
        if (hdr_end && req->len >= need)
            return 0;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return -1;
        rf_buf_add(req, buf, (size_t)n);
    }
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    while (f->served < f->nscript) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            break;
        while (f->served < f->nscript) {
            rf_buf *req = &f->requests[f->served];
            if (read_request(fd, req) < 0)
                break;
            const canned *c = &f->script[f->served++];
            rf_buf out = RF_BUF_INIT;
            size_t blen = c->body ? strlen(c->body) : 0;
            rf_buf_addf(&out, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", c->status, blen,
                        c->headers ? c->headers : "");
            if (strncmp(req->data, "HEAD ", 5) && blen)
                rf_buf_adds(&out, c->body);
            ssize_t w = write(fd, out.data, out.len);
            (void)w;
            rf_buf_free(&out);
        }
        close(fd);
    }
    return NULL;
}

static void fake_start(fake *f, const canned *script, size_t n)
{
    memset(f, 0, sizeof *f);
    f->script = script;
    f->nscript = n;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    socklen_t al = sizeof a;
    getsockname(f->lfd, (struct sockaddr *)&a, &al);
    f->port = ntohs(a.sin_port);
    pthread_create(&f->th, NULL, fake_main, f);
}

static void fake_stop(fake *f)
{
    shutdown(f->lfd, SHUT_RDWR);
    close(f->lfd);
    pthread_join(f->th, NULL);
}

static void fake_free(fake *f)
{
    for (size_t i = 0; i < MAXREQ; i++)
        rf_buf_free(&f->requests[i]);
}

static rf_ckrepo *open_repo(const fake *f, long wait_s)
{
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", f->port);
    rf_config cfg = {0};
    cfg.s3 = (rf_s3_conf){.endpoint = ep, .region = "us-east-1", .access_key = "AK",
                          .secret_key = "SK", .path_style = -1, .max_retries = 0,
                          .connect_timeout_ms = 2000, .timeout_ms = 5000};
    rf_ckrepo_opts o;
    rf_ckrepo_opts_default(&o);
    o.restore_wait_s = wait_s;
    o.restore_poll_ms = 10;
    rf_ckrepo *r;
    rf_err e = {0};
    int rc = rf_ckrepo_open("s3://bkt/repo", &cfg, &o, &r, &e);
    if (rc)
        fail_msg("open: %s", e.msg);
    return r;
}

#define NOKEY "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>no</Message></Error>"
#define ID_HEX "ab00000000000000000000000000000000000000000000000000000000000001"

static void test_cold_read_restores_then_reads(void **state)
{
    (void)state;
    static const canned script[] = {
        {404, NULL, NOKEY},   /* GET chunks/ab/... (hot) */
        {404, NULL, NOKEY},   /* GET warm/chunks/ab/... */
        {200, "x-amz-storage-class: GLACIER\r\n", NULL},   /* HEAD cold: archived */
        {202, NULL, NULL},    /* POST ?restore */
        {200, "x-amz-storage-class: GLACIER\r\nx-amz-restore: ongoing-request=\"true\"\r\n",
         NULL},
        {200, "x-amz-storage-class: GLACIER\r\nx-amz-restore: ongoing-request=\"false\", "
              "expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\"\r\n", NULL},
        {200, NULL, "RFCK-chunk-bytes"},   /* GET cold/chunks/ab/... */
    };
    fake f;
    fake_start(&f, script, 7);
    rf_ckrepo *r = open_repo(&f, 60);
    uint8_t id[RF_SHA256_LEN];
    assert_int_equal(rf_unhex(id, ID_HEX, RF_SHA256_LEN), 0);
    rf_buf b = RF_BUF_INIT;
    int tier = -1;
    rf_err e = {0};
    int rc = rf_cktier_get(r, id, &b, &tier, &e);
    if (rc)
        fprintf(stderr, "cold get: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(tier, RF_CKTIER_COLD);
    assert_int_equal(b.len, 16);
    assert_memory_equal(b.data, "RFCK-chunk-bytes", 16);
    rf_ckrepo_close(r);
    fake_stop(&f);
    assert_int_equal(f.served, 7);
    assert_non_null(strstr(f.requests[0].data, "GET /bkt/repo/chunks/ab/" ID_HEX " "));
    assert_non_null(strstr(f.requests[1].data, "GET /bkt/repo/warm/chunks/ab/" ID_HEX " "));
    assert_non_null(strstr(f.requests[2].data, "HEAD /bkt/repo/cold/chunks/ab/" ID_HEX " "));
    assert_non_null(strstr(f.requests[3].data, "POST /bkt/repo/cold/chunks/ab/" ID_HEX
                                               "?restore"));
    assert_non_null(strstr(f.requests[3].data, "<Days>1</Days>"));
    assert_non_null(strstr(f.requests[4].data, "HEAD /bkt/repo/cold/"));
    assert_non_null(strstr(f.requests[5].data, "HEAD /bkt/repo/cold/"));
    assert_non_null(strstr(f.requests[6].data, "GET /bkt/repo/cold/chunks/ab/" ID_HEX " "));
    rf_buf_free(&b);
    fake_free(&f);
}

#define ONGOING {200, "x-amz-storage-class: DEEP_ARCHIVE\r\nx-amz-restore: " \
                 "ongoing-request=\"true\"\r\n", NULL}

static void test_cold_read_deadline(void **state)
{
    (void)state;
    static const canned script[] = {
        {404, NULL, NOKEY},
        {404, NULL, NOKEY},
        {200, "x-amz-storage-class: DEEP_ARCHIVE\r\n", NULL},
        {409, NULL, "<?xml version=\"1.0\"?><Error><Code>RestoreAlreadyInProgress</Code>"
                    "<Message>in progress</Message></Error>"},
        ONGOING, ONGOING, ONGOING, ONGOING, ONGOING, ONGOING, ONGOING, ONGOING,
    };
    fake f;
    fake_start(&f, script, 12);
    rf_ckrepo *r = open_repo(&f, 2);   /* waits 1 to 2 s (whole seconds) */
    r->o.restore_poll_ms = 400;         /* so 2 to 6 polls: the script has 8 */
    uint8_t id[RF_SHA256_LEN];
    assert_int_equal(rf_unhex(id, ID_HEX, RF_SHA256_LEN), 0);
    rf_buf b = RF_BUF_INIT;
    int tier = -1;
    rf_err e = {0};
    /* someone else's restore (409) is waited for too, until the deadline */
    assert_int_equal(rf_cktier_get(r, id, &b, &tier, &e), -1);
    assert_int_equal(e.code, RF_ESTATE);
    assert_non_null(strstr(e.msg, "DEEP_ARCHIVE"));
    assert_non_null(strstr(e.msg, "not done after 2 s"));
    assert_int_equal(b.len, 0);
    rf_ckrepo_close(r);
    fake_stop(&f);
    assert_true(f.served >= 6 && f.served < 12);
    for (size_t i = 4; i < f.served; i++)
        assert_memory_equal(f.requests[i].data, "HEAD ", 5);   /* polled, never GET */
    rf_buf_free(&b);
    fake_free(&f);
}

static void test_cold_read_deadline_message(void **state)
{
    (void)state;
    static const canned script[] = {
        {404, NULL, NOKEY},
        {404, NULL, NOKEY},
        {200, "x-amz-storage-class: GLACIER\r\n", NULL},
        {202, NULL, NULL},
    };
    fake f;
    fake_start(&f, script, 4);
    rf_ckrepo *r = open_repo(&f, 0);   /* no waiting: fail once requested */
    uint8_t id[RF_SHA256_LEN];
    assert_int_equal(rf_unhex(id, ID_HEX, RF_SHA256_LEN), 0);
    rf_buf b = RF_BUF_INIT;
    int tier = -1;
    rf_err e = {0};
    assert_int_equal(rf_cktier_get(r, id, &b, &tier, &e), -1);
    assert_int_equal(e.code, RF_ESTATE);
    assert_non_null(strstr(e.msg, "GLACIER"));
    assert_non_null(strstr(e.msg, "restore requested"));
    rf_ckrepo_close(r);
    fake_stop(&f);
    assert_int_equal(f.served, 4);
    assert_non_null(strstr(f.requests[3].data, "?restore"));
    rf_buf_free(&b);
    fake_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cold_read_restores_then_reads),
        cmocka_unit_test(test_cold_read_deadline),
        cmocka_unit_test(test_cold_read_deadline_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
