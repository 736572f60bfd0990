/* Unit tests for the base modules: rf_err, rf_buf, rf_hash, rf_log, rf_task. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "base/rf_json.h"
#include "base/rf_err.h"
#include "base/rf_hash.h"
#include "base/rf_log.h"

static void test_err_prefix(void **state)
{
    rf_err e = {0};
    assert_int_equal(rf_errf(&e, RF_ENOTFOUND, "key %s", "a/b"), -1);
    rf_err_prefix(&e, "store get");
    assert_string_equal(e.msg, "store get: key a/b");
    assert_int_equal(rf_err_exit_status(&e), 3);
    assert_int_equal(rf_errf(NULL, RF_EIO, "x"), -1);
}

static void test_buf(void **state)
{
    rf_buf b = RF_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        rf_buf_addf(&b, "%d,", i);
    assert_int_equal(b.len, strlen(b.data));
    assert_memory_equal(b.data, "0,1,2,", 6);
    size_t n;
    char *p = rf_buf_detach(&b, &n);
    assert_null(b.data);
    assert_int_equal(n, strlen(p));
    free(p);
}

static void test_sha256_vectors(void **state)
{
    uint8_t d[32];
    char hex[65];
    rf_sha256("abc", 3, d);
    rf_hex(hex, d, 32);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    rf_sha256("", 0, d);
    rf_hex(hex, d, 32);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* RFC 4231 test case 2 */
    rf_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    rf_hex(hex, d, 32);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    uint8_t back[32];
    assert_int_equal(rf_unhex(back, hex, 32), 0);
    assert_memory_equal(back, d, 32);
    assert_int_equal(rf_unhex(back, "zz", 1), -1);
}

static void test_redact(void **state)
{
    char out[256];
    rf_redact(out, sizeof out, "connect redis://user:hunter2@127.0.0.1:6379/0 failed");
    assert_null(strstr(out, "hunter2"));
    assert_non_null(strstr(out, "redis://user:***@127.0.0.1"));
    rf_redact(out, sizeof out, "Authorization: AWS4-HMAC-SHA256 Credential=AKID/x, Signature=abc\nHost: h");
    assert_null(strstr(out, "AKID"));
    assert_non_null(strstr(out, "Host: h"));
    rf_redact(out, sizeof out, "GET /b?X-Amz-Signature=deadbeef&x=1");
    assert_null(strstr(out, "deadbeef"));
    assert_non_null(strstr(out, "&x=1"));
}

/* Whole numbers print as integers, never as "2e+01". */
static void test_num_fmt(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(rf_num_fmt(b, sizeof b, 20, 0), "20");
    assert_string_equal(rf_num_fmt(b, sizeof b, 20, 4), "20");
    assert_string_equal(rf_num_fmt(b, sizeof b, 300, 1), "300");
    assert_string_equal(rf_num_fmt(b, sizeof b, 1e15, 0), "1000000000000000");
    assert_string_equal(rf_num_fmt(b, sizeof b, -0.0, 0), "0");
    assert_string_equal(rf_num_fmt(b, sizeof b, -7, 0), "-7");
    assert_string_equal(rf_num_fmt(b, sizeof b, 0.1, 0), "0.1");
    assert_string_equal(rf_num_fmt(b, sizeof b, 0.6931471805599453, 0), "0.6931471805599453");
    assert_string_equal(rf_num_fmt(b, sizeof b, 0.6931471805599453, 4), "0.6931");
    assert_string_equal(rf_num_fmt(b, sizeof b, 1e300, 0), "1e+300");
    assert_string_equal(rf_num_fmt(b, sizeof b, NAN, 0), "nan");
    assert_string_equal(rf_num_fmt(b, sizeof b, -INFINITY, 0), "-inf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_prefix),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_num_fmt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
