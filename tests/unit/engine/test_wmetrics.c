/* test_wmetrics: a worker's task counters: in flight, outcomes and
 * durations per type, lease expiries, unknown types ignored, NULL = off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/rf_wmetrics.h"

static int has_line(const rf_buf *b, const char *line)
{
    char want[300];
    snprintf(want, sizeof want, "\n%s\n", line);
    return strstr((const char *)b->data, want) != NULL;
}

static void test_counts(void **st)
{
    (void)st;
    const char *types[] = {"train-stage", "eval-fold"};
    rf_wmetrics *m = rf_wmetrics_new("gpu", types, 2);
    rf_wmetrics_started(m);
    rf_wmetrics_started(m);
    rf_wmetrics_started(m);
    rf_wmetrics_finished(m, "train-stage", RF_WO_SUCCEEDED, 0.2);
    rf_wmetrics_finished(m, "train-stage", RF_WO_RETRIED, 7);
    rf_wmetrics_lease_expired(m, "eval-fold");
    rf_wmetrics_lease_expired(m, "nosuch");
    rf_wmetrics_finished(m, "nosuch", RF_WO_SUCCEEDED, 1);
    rf_wmetrics_started(NULL); /* metrics off */
    rf_wmetrics_finished(NULL, "train-stage", RF_WO_SUCCEEDED, 1);
    rf_buf b = RF_BUF_INIT;
    rf_wmetrics_write(m, &b);
    rf_buf_add(&b, "", 1);
    assert_true(has_line(&b, "ruvflow_worker_tasks_in_flight{pool=\"gpu\"} 0"));
    assert_true(has_line(&b, "ruvflow_worker_tasks_total{pool=\"gpu\",type=\"train-stage\","
                             "outcome=\"succeeded\"} 1"));
    assert_true(has_line(&b, "ruvflow_worker_tasks_total{pool=\"gpu\",type=\"train-stage\","
                             "outcome=\"retried\"} 1"));
    assert_true(has_line(&b, "ruvflow_worker_tasks_total{pool=\"gpu\",type=\"eval-fold\","
                             "outcome=\"succeeded\"} 0"));
    assert_true(has_line(&b, "ruvflow_worker_task_retries_total{pool=\"gpu\",type=\"train-stage\"} 1"));
    assert_true(has_line(&b, "ruvflow_worker_lease_expiries_total{pool=\"gpu\",type=\"eval-fold\"} 1"));
    assert_true(has_line(&b, "ruvflow_worker_task_duration_seconds_bucket{pool=\"gpu\","
                             "type=\"train-stage\",le=\"0.25\"} 1"));
    assert_true(has_line(&b, "ruvflow_worker_task_duration_seconds_bucket{pool=\"gpu\","
                             "type=\"train-stage\",le=\"10\"} 2"));
    assert_true(has_line(&b, "ruvflow_worker_task_duration_seconds_count{pool=\"gpu\","
                             "type=\"train-stage\"} 2"));
    assert_null(strstr((const char *)b.data, "nosuch"));
    rf_buf_free(&b);
    rf_wmetrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
