/* Unit tests for the train-stage handler driven through rf_task directly:
 * a stop request saves progress and fails with RF_ECANCEL, the next
 * delivery resumes from it; the level defaults table; rejected options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rf_dataset.h"
#include "rf_task_impl.h"
#include "rf_train_stage.h"

static char tmpdir[] = "/tmp/rf_test_train_stage.XXXXXX";
static const rf_worker_def def = {"train-stage", "test", rf_train_stage_handle, NULL};

static rf_task *new_task(const char *out, volatile sig_atomic_t *stop)
{
    const char *shared = getenv("RF_SHARED");
    char p[1024];
    snprintf(p, sizeof p, "%s/datasets/fann/diabetes.train", shared ? shared : "../shared");
    rf_task *t = rf_task_new(&def, "t", 1, out);
    rf_task_add_input(t, "train", p);
    rf_task_add_param(t, "hidden", "8");
    rf_task_add_param(t, "epochs", "12");
    rf_task_add_param(t, "patience", "0");
    rf_task_add_param(t, "checkpoint_every", "0");
    rf_task_set_stop_flag(t, stop);
    return t;
}

static double metric(rf_task *t, const char *name)
{
    for (size_t i = 0; i < rf_task_metric_count(t); i++)
        if (!strcmp(rf_task_metric_name(t, i), name))
            return rf_task_metric_value(t, i);
    return -1;
}

static void test_stop_then_resume(void **state)
{
    char out[600], path[700];
    snprintf(out, sizeof out, "%s/run", tmpdir);
    mkdir(out, 0755);
    volatile sig_atomic_t stop = 1;   /* asked to stop during the first epoch */
    rf_task *t = new_task(out, &stop);
    rf_err e = {0};
    assert_int_equal(rf_train_stage_handle(t, &e), -1);
    assert_int_equal(e.code, RF_ECANCEL);
    assert_non_null(strstr(e.msg, "stopped at epoch 1"));
    snprintf(path, sizeof path, "%s/.state/progress", out);
    assert_int_equal(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/checkpoint.art", out);
    assert_int_equal(access(path, F_OK), -1);   /* no outputs when cancelled */
    assert_int_equal(rf_task_output_count(t), 0);
    rf_task_free(t);

    stop = 0;
    t = new_task(out, &stop);
    if (rf_train_stage_handle(t, &e))
        fail_msg("%s", e.msg);
    assert_true(metric(t, "epochs") == 12);
    assert_int_equal(rf_task_output_count(t), 2);
    assert_string_equal(rf_task_output_name(t, 0), "checkpoint");
    assert_string_equal(rf_task_output_name(t, 1), "best");
    assert_int_equal(access(rf_task_output_path(t, 0), R_OK), 0);
    rf_task_free(t);
}

static void test_level_defaults(void **state)
{
    const rf_level_defaults *l = rf_level_defaults_for(RF_LEVEL_EXPERT);
    assert_true(l->lr == 1e-5 && l->batch == 4 && l->epochs == 100 && l->patience == 15);
    assert_true(l->clip == 0.1 && l->dropout == 0.5 && l->accum == 4);
    l = rf_level_defaults_for(RF_LEVEL_MEDIUM);
    assert_true(l->lr == 1e-4 && l->batch == 16 && l->clip == 1.0);
    l = rf_level_defaults_for(RF_LEVEL_TRIVIAL);
    assert_true(l->epochs == 10 && l->patience == 3 && l->clip == 0);
}

static void test_bad_options(void **state)
{
    const char *bad[][2] = {{"dropout", "1.5"}, {"batch", "0"}, {"optimizer", "lbfgs"},
                            {"level", "impossible"}, {"hidden", "64,,x"}, {"retain", "2"},
                            {"lr", "-1"}, {"colour", "blue"}};
    char out[600];
    snprintf(out, sizeof out, "%s/bad", tmpdir);
    mkdir(out, 0755);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        volatile sig_atomic_t stop = 0;
        rf_task *t = new_task(out, &stop);
        rf_task_add_param(t, bad[i][0], bad[i][1]);
        rf_err e = {0};
        assert_int_equal(rf_train_stage_handle(t, &e), -1);
        assert_int_equal(e.code, RF_EINVAL);
        if (!strstr(e.msg, bad[i][0]) && strcmp(bad[i][0], "dropout") &&
            strcmp(bad[i][0], "batch") && strcmp(bad[i][0], "retain") && strcmp(bad[i][0], "lr"))
            fail_msg("%s=%s: message does not name the key: %s", bad[i][0], bad[i][1], e.msg);
        assert_int_equal(rf_task_output_count(t), 0);
        rf_task_free(t);
    }
}

static int setup(void **state)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_then_resume),
        cmocka_unit_test(test_level_defaults),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
