/* test_prom: the Prometheus text writer, histograms, the EnvironmentFile
 * parser and the HTTP server's address errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/rf_envfile.h"
#include "base/rf_httpd.h"
#include "base/rf_prom.h"

static void test_sample_escaping(void **st)
{
    (void)st;
    rf_buf b = {0};
    rf_prom_family(&b, "x_total", "counter", "line\none \\ two");
    const char *l[] = {"pool", "a\"b\\c\nd", NULL};
    rf_prom_sample(&b, "x_total", l, 3);
    rf_prom_sample(&b, "x_total", NULL, 0.5);
    rf_buf_add(&b, "", 1);
    assert_string_equal((char *)b.data,
                        "# HELP x_total line\\none \\\\ two\n# TYPE x_total counter\n"
                        "x_total{pool=\"a\\\"b\\\\c\\nd\"} 3\nx_total 0.5\n");
    rf_buf_free(&b);
    assert_true(rf_prom_name_valid("ruvflow_queue_ready_tasks"));
    assert_false(rf_prom_name_valid("9bad"));
    assert_false(rf_prom_name_valid("bad-name"));
}

static void test_histogram(void **st)
{
    (void)st;
    static const double bounds[] = {0.1, 1};
    rf_prom_hist h;
    rf_prom_hist_init(&h, bounds, 2);
    rf_prom_hist_observe(&h, 0.05);
    rf_prom_hist_observe(&h, 0.1);  /* le is inclusive */
    rf_prom_hist_observe(&h, 5);
    rf_buf b = {0};
    rf_prom_hist_write(&b, "d_seconds", NULL, &h);
    rf_buf_add(&b, "", 1);
    assert_string_equal((char *)b.data, "d_seconds_bucket{le=\"0.1\"} 2\n"
                                        "d_seconds_bucket{le=\"1\"} 2\n"
                                        "d_seconds_bucket{le=\"+Inf\"} 3\n"
                                        "d_seconds_sum 5.1500000000000004\n"
                                        "d_seconds_count 3\n");
    rf_buf_free(&b);
}

static void test_envfile(void **st)
{
    (void)st;
    const char *text = "# c\n\n  A=1\nB=\"x \\\"y\\\"\"\nC='q'  \n;d\nD=\n";
    rf_env_entry *e;
    size_t n;
    rf_err err = {0};
    assert_int_equal(rf_envfile_parse("f.env", text, strlen(text), &e, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(e[0].key, "A");
    assert_string_equal(e[1].value, "x \"y\"");
    assert_string_equal(e[2].value, "q");
    assert_int_equal(e[2].line, 5);
    assert_string_equal(e[3].value, "");
    rf_env_free(e, n);
    const char *bad[] = {"A=1\nexport B=2\n", "A=\"open\n", "1A=x\n", "A='x'y\n"};
    const char *msg[] = {"f.env:2:7:", "f.env:1:3: unterminated", "f.env:1:1:", "f.env:1:6:"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rf_envfile_parse("f.env", bad[i], strlen(bad[i]), &e, &n, &err), -1);
        assert_non_null(strstr(err.msg, msg[i]));
        assert_null(e);
    }
}

static int never(void *ctx, const char *path, rf_buf *body, const char **ctype)
{
    (void)ctx, (void)path, (void)body, (void)ctype;
    return 200;
}

static void test_httpd_addresses(void **st)
{
    (void)st;
    rf_httpd *h = NULL, *h2 = NULL;
    rf_err err = {0};
    assert_int_equal(rf_httpd_start("127.0.0.1:0", never, NULL, &h, &err), 0);
    int port = rf_httpd_port(h);
    assert_true(port > 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    assert_int_equal(rf_httpd_start(addr, never, NULL, &h2, &err), -1);
    assert_int_equal(err.code, RF_ENET);
    assert_non_null(strstr(err.msg, "Address already in use"));
    assert_non_null(strstr(err.msg, addr));
    rf_httpd_stop(h);
    assert_int_equal(rf_httpd_start("127.0.0.1:99999", never, NULL, &h2, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    assert_int_equal(rf_httpd_start("[::1", never, NULL, &h2, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_escaping),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_envfile),
        cmocka_unit_test(test_httpd_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
