/* Unit tests for the train-stage handler driven through rf_task directly:
 * a stop request saves progress and fails with RF_ECANCEL, the next
 * delivery resumes from it; the level defaults table; rejected options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ml/rf_dataset.h"
#include "engine/rf_task_impl.h"
#include "handlers/rf_train_stage.h"
#include "rf_test.h"

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

/* The preprocess path: a dataset artifact with its own split column (no
 * carve) and levels; a stage trains on its level's rows only. */
static void test_dataset_artifact_input(void **state)
{
    const char *shared = getenv("RF_SHARED");
    char p[1024], art[700], out[600];
    snprintf(p, sizeof p, "%s/datasets/fann/thyroid.train", shared ? shared : "../shared");
    rf_dataset d;
    rf_err e = {0};
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), 0);
    d.split = malloc(d.n_rows);
    d.level = malloc(d.n_rows);
    for (size_t i = 0; i < d.n_rows; i++) {
        d.split[i] = i % 10 == 0 ? RF_SPLIT_VAL : i % 10 == 1 ? RF_SPLIT_TEST : RF_SPLIT_TRAIN;
        d.level[i] = (i / 10) % 2 ? RF_LEVEL_EASY : RF_LEVEL_TRIVIAL;
    }
    rf_dataset_normalize(&d);
    snprintf(art, sizeof art, "%s/thyroid.art", tmpdir);
    assert_int_equal(rf_dataset_write(art, &d, &e), 0);
    rf_dataset_free(&d);

    snprintf(out, sizeof out, "%s/art", tmpdir);
    mkdir(out, 0755);
    rf_task *t = rf_task_new(&def, "a", 1, out);
    rf_task_add_input(t, "dataset", art);
    rf_task_add_param(t, "hidden", "16");
    rf_task_add_param(t, "level", "easy");
    rf_task_add_param(t, "epochs", "30");
    rf_task_add_param(t, "lr", "3e-3");
    rf_task_add_param(t, "graduate", "0");
    if (rf_train_stage_handle(t, &e))
        fail_msg("%s", e.msg);
    assert_true(metric(t, "test_accuracy") > 0.9);
    assert_true(metric(t, "graduated") == 0);
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
                            {"lr", "-1"}, {"colour", "blue"}, {"refit", "maybe"}};
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

/* The parser train-stage shares with eval-fold: level defaults under the
 * `with` overrides, epochs-denominated schedules, the key check. */
static void test_shared_parser(void **state)
{
    char out[600];
    snprintf(out, sizeof out, "%s/parse", tmpdir);
    rf_task *t = rf_task_new(&def, "p", 1, out);
    rf_task_add_param(t, "hidden", "12,6,3");
    rf_task_add_param(t, "optimizer", "nesterov");
    rf_task_add_param(t, "batch", "10");
    rf_task_add_param(t, "warmup", "2");
    rf_task_add_param(t, "schedule", "cosine");
    rf_train_setup s;
    rf_err e = {0};
    if (rf_train_stage_parse_opts(t, RF_LEVEL_HARD, &s, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(s.n_hidden, 3);
    assert_int_equal(s.hidden[2], 3);
    assert_int_equal(s.opts.optim.kind, RF_OPT_SGD);
    assert_true(s.opts.optim.nesterov);
    assert_true(s.opts.sched.lr == 5e-5 && s.opts.patience == 10 && s.opts.max_epochs == 50);
    assert_true(s.opts.optim.clip == 0.5 && s.opts.graduate == 0 && s.opts.batch == 10);
    assert_true(fabsf(s.opts.dropout - 0.3f) < 1e-6f && s.opts.optim.l2 == 1e-4);
    assert_int_equal(s.refit, RF_REFIT_AUTO);
    rf_train_schedule_in_steps(&s.opts, 95);   /* 10 batches per epoch */
    assert_int_equal(s.opts.sched.warmup, 20);

    static const char *const own[] = {"fold", NULL};
    rf_task_add_param(t, "fold", "1");
    assert_int_equal(rf_train_check_keys(t, own, &e), 0);
    rf_task_add_param(t, "retain", "0.5");
    assert_int_equal(rf_train_check_keys(t, own, &e), -1);
    assert_string_equal(e.msg, "with.retain: unknown key (see --help)");
    rf_task_free(t);

    t = rf_task_new(&def, "q", 1, out);
    rf_task_add_param(t, "schedule", "sawtooth");
    assert_int_equal(rf_train_stage_parse_opts(t, -1, &s, &e), -1);
    assert_string_equal(e.msg, "with.schedule: unknown value \"sawtooth\"");
    rf_task_free(t);

    t = rf_task_new(&def, "r", 1, out);
    rf_task_add_param(t, "refit", "false");
    assert_int_equal(rf_train_stage_parse_opts(t, -1, &s, &e), 0);
    assert_int_equal(s.refit, RF_REFIT_OFF);
    rf_task_free(t);
}

static int setup(void **state)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    return rf_test_rmtree(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_then_resume),
        cmocka_unit_test(test_dataset_artifact_input),
        cmocka_unit_test(test_level_defaults),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_shared_parser),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
