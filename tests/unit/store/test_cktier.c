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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rf_config.h"
#include "rf_fakesrv.h"
#include "store/rf_ckrepo_impl.h"

static rf_ckrepo *open_repo(const rf_fakesrv *f, long wait_s)
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
    static const rf_canned script[] = {
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
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 7), 0);
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
    rf_fakesrv_stop(&f);
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
    rf_fakesrv_free(&f);
}

#define ONGOING {200, "x-amz-storage-class: DEEP_ARCHIVE\r\nx-amz-restore: " \
                 "ongoing-request=\"true\"\r\n", NULL}

static void test_cold_read_deadline(void **state)
{
    (void)state;
    static const rf_canned script[] = {
        {404, NULL, NOKEY},
        {404, NULL, NOKEY},
        {200, "x-amz-storage-class: DEEP_ARCHIVE\r\n", NULL},
        {409, NULL, "<?xml version=\"1.0\"?><Error><Code>RestoreAlreadyInProgress</Code>"
                    "<Message>in progress</Message></Error>"},
        ONGOING, ONGOING, ONGOING, ONGOING, ONGOING, ONGOING, ONGOING, ONGOING,
    };
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 12), 0);
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
    rf_fakesrv_stop(&f);
    assert_true(f.served >= 6 && f.served < 12);
    for (size_t i = 4; i < f.served; i++)
        assert_memory_equal(f.requests[i].data, "HEAD ", 5);   /* polled, never GET */
    rf_buf_free(&b);
    rf_fakesrv_free(&f);
}

static void test_cold_read_deadline_message(void **state)
{
    (void)state;
    static const rf_canned script[] = {
        {404, NULL, NOKEY},
        {404, NULL, NOKEY},
        {200, "x-amz-storage-class: GLACIER\r\n", NULL},
        {202, NULL, NULL},
    };
    rf_fakesrv f;
    assert_int_equal(rf_fakesrv_start(&f, script, 4), 0);
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
    rf_fakesrv_stop(&f);
    assert_int_equal(f.served, 4);
    assert_non_null(strstr(f.requests[3].data, "?restore"));
    rf_buf_free(&b);
    rf_fakesrv_free(&f);
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
