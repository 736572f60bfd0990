/* Unit tests for rf_modelreg on a file:// store: promote makes versions
 * current in order, reject and rollback, a corrupt production object is a
 * clear error, an empty registry says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/rf_modelreg.h"
#include "rf_test.h"

static char tmpdir[] = "/tmp/rf_test_modelreg.XXXXXX";

static void put(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

static void test_modelreg(void **state)
{
    (void)state;
    char url[600], ck[700], path[900];
    snprintf(url, sizeof url, "file://%s", tmpdir);
    snprintf(ck, sizeof ck, "%s/ck", tmpdir);
    rf_store *s;
    rf_err e = {0};
    assert_int_equal(rf_store_open(url, NULL, &s, &e), 0);
    rf_modelreg m;
    rf_modelreg_init(&m, s, "models/a/");
    int v;
    assert_int_equal(rf_modelreg_current(&m, &v, NULL, 0, &e), -1);
    assert_int_equal(e.code, RF_ENOTFOUND);
    assert_int_equal(rf_modelreg_rollback(&m, NULL, &v, &e), -1);
    assert_int_equal(e.code, RF_ESTATE);
    for (int i = 1; i <= 3; i++) {
        char body[32];
        snprintf(body, sizeof body, "model %d", i);
        put(ck, body);
        assert_int_equal(rf_modelreg_promote(&m, ck, "why\nnot", &v, &e), 0);
        assert_int_equal(v, i);
    }
    char key[700];
    assert_int_equal(rf_modelreg_current(&m, &v, key, sizeof key, &e), 0);
    assert_int_equal(v, 3);
    assert_string_equal(key, "models/a/versions/v000003");
    assert_int_equal(rf_modelreg_reject(&m, "worse on holdout", &e), 0);
    assert_int_equal(rf_modelreg_rollback(&m, "bad", &v, &e), 0);
    assert_int_equal(v, 2);
    /* a new promotion after a rollback gets a fresh number */
    assert_int_equal(rf_modelreg_promote(&m, ck, "again", &v, &e), 0);
    assert_int_equal(v, 3 + 1);
    int *h;
    size_t n;
    assert_int_equal(rf_modelreg_history(&m, &h, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_int_equal(h[0], 1);
    assert_int_equal(h[1], 2);
    assert_int_equal(h[2], 4);
    free(h);
    rf_buf log = RF_BUF_INIT;
    assert_int_equal(rf_modelreg_log(&m, &log, &e), 0);
    rf_buf_add(&log, "", 1);
    assert_non_null(strstr(log.data, " promote 1 why not\n"));
    assert_non_null(strstr(log.data, " reject 3 worse on holdout\n"));
    assert_non_null(strstr(log.data, " rollback 2 from 3: bad\n"));
    rf_buf_free(&log);
    snprintf(path, sizeof path, "%s/models/a/production", tmpdir);
    put(path, "1 x\n");
    assert_int_equal(rf_modelreg_current(&m, &v, NULL, 0, &e), -1);
    assert_int_equal(e.code, RF_ECORRUPT);
    assert_non_null(strstr(e.msg, "models/a/production"));
    put(path, "1 -2\n");
    assert_int_equal(rf_modelreg_current(&m, &v, NULL, 0, &e), -1);
    assert_int_equal(e.code, RF_ECORRUPT);
    rf_store_close(s);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rf_test_rmtree(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_modelreg)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
