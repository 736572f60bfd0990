/* test_s3_stats: the S3 request counters behind a worker's /metrics:
 * per-method counts, what counts as an error, bytes, the latency buckets,
 * and the text they render to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "store/rf_s3_stats.h"

static int has_line(const rf_buf *b, const char *line)
{
    char want[256];
    snprintf(want, sizeof want, "\n%s\n", line);
    return strstr((const char *)b->data, want) != NULL;
}

static void test_failed(void **st)
{
    (void)st;
    assert_false(rf_s3_stats_failed(200));
    assert_false(rf_s3_stats_failed(206));
    assert_false(rf_s3_stats_failed(404)); /* a HEAD's "no": an answer */
    assert_false(rf_s3_stats_failed(412));
    assert_true(rf_s3_stats_failed(0));    /* no answer at all */
    assert_true(rf_s3_stats_failed(403));
    assert_true(rf_s3_stats_failed(429));
    assert_true(rf_s3_stats_failed(503));
    assert_int_equal(rf_s3_stats_method("PUT"), RF_S3M_PUT);
    assert_int_equal(rf_s3_stats_method("DELETE"), RF_S3M_DELETE);
    assert_int_equal(rf_s3_stats_method("PATCH"), RF_S3M_GET);
}

static void test_record_and_write(void **st)
{
    (void)st;
    rf_s3_stats s = {0};
    rf_s3_stats_record(&s, RF_S3M_PUT, 0, 1000, 10, 0.002);
    rf_s3_stats_record(&s, RF_S3M_PUT, 1, 500, 0, 0.3);
    rf_s3_stats_record(&s, RF_S3M_GET, 0, 0, 4096, 40.0);
    rf_s3_stats_record(NULL, RF_S3M_GET, 0, 1, 1, 1); /* metrics off: no-op */
    assert_int_equal(s.requests[RF_S3M_PUT], 2);
    assert_int_equal(s.errors[RF_S3M_PUT], 1);
    assert_int_equal(s.bytes_sent, 1500);
    assert_int_equal(s.bytes_received, 4106);
    rf_buf b = RF_BUF_INIT;
    rf_s3_stats_write(&s, &b);
    rf_buf_add(&b, "", 1);
    assert_true(has_line(&b, "ruvflow_s3_requests_total{method=\"PUT\"} 2"));
    assert_true(has_line(&b, "ruvflow_s3_requests_total{method=\"GET\"} 1"));
    assert_true(has_line(&b, "ruvflow_s3_errors_total{method=\"PUT\"} 1"));
    assert_true(has_line(&b, "ruvflow_s3_errors_total{method=\"GET\"} 0"));
    assert_true(has_line(&b, "ruvflow_s3_sent_bytes_total 1500"));
    assert_true(has_line(&b, "ruvflow_s3_received_bytes_total 4106"));
    /* 2 ms in le=0.0025, 0.3 s in le=0.5, 40 s only in +Inf (cumulative). */
    assert_true(has_line(&b, "ruvflow_s3_request_duration_seconds_bucket{le=\"0.001\"} 0"));
    assert_true(has_line(&b, "ruvflow_s3_request_duration_seconds_bucket{le=\"0.0025\"} 1"));
    assert_true(has_line(&b, "ruvflow_s3_request_duration_seconds_bucket{le=\"0.5\"} 2"));
    assert_true(has_line(&b, "ruvflow_s3_request_duration_seconds_bucket{le=\"30\"} 2"));
    assert_true(has_line(&b, "ruvflow_s3_request_duration_seconds_bucket{le=\"+Inf\"} 3"));
    assert_true(has_line(&b, "ruvflow_s3_request_duration_seconds_count 3"));
    assert_true(has_line(&b, "ruvflow_s3_request_duration_seconds_sum 40.302"));
    rf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed),
        cmocka_unit_test(test_record_and_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
