/* Unit tests for rf_train_graduate: the threshold of graduate=baseline is
 * the best trivial baseline on the stage's validation rows (worked out by
 * hand below), fixed thresholds and off, bad values, and the report of a
 * stage that did not graduate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "handlers/rf_train_graduate.h"
#include "engine/rf_task_impl.h"

static const rf_worker_def def = {"train-stage", "test", NULL, NULL};

static double metric(rf_task *t, const char *name)
{
    for (size_t i = 0; i < rf_task_metric_count(t); i++)
        if (!strcmp(rf_task_metric_name(t, i), name))
            return rf_task_metric_value(t, i);
    fail_msg("no metric %s", name);
    return NAN;
}

static void test_derive(void **state)
{
    (void)state;
    /* one sequence: 0 0 0 1 1 1 | validation 1 1 0 0
     * majority (train 3/3, tie -> class 0): val 2/4; previous: row 6 after
     * 1 -> 1 ok, 7 -> 1 ok, 8 -> 1 wrong, 9 -> 0 ok: 3/4 */
    int32_t y[] = {0, 0, 0, 1, 1, 1, 1, 1, 0, 0};
    int32_t prev[] = {-1, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    uint32_t train[] = {0, 1, 2, 3, 4, 5}, val[] = {6, 7, 8, 9};
    rf_dataset d = {.kind = RF_CLASSIFICATION, .n_rows = 10, .n_classes = 2,
                    .y_class = y, .prev_row = prev};
    rf_task *t = rf_task_new(&def, "t", 1, "/tmp");
    rf_graduate g;
    rf_err e = {0};
    assert_int_equal(rf_graduate_parse(t, 0, &g, &e), 0);   /* a level: baseline */
    assert_int_equal(g.basis, RF_GRAD_BASELINE);
    assert_int_equal(rf_graduate_derive(&g, &d, train, 6, val, 4, &e), 0);
    assert_int_equal(g.basis, RF_GRAD_PREVIOUS);
    assert_true(fabs(g.threshold - 0.75) < 1e-12);
    /* without predecessors only the majority class is left */
    d.prev_row = NULL;
    assert_int_equal(rf_graduate_parse(t, 0, &g, &e), 0);
    assert_int_equal(rf_graduate_derive(&g, &d, train, 6, val, 4, &e), 0);
    assert_int_equal(g.basis, RF_GRAD_MAJORITY);
    assert_true(fabs(g.threshold - 0.5) < 1e-12);
    /* no validation rows: nothing to graduate on */
    assert_int_equal(rf_graduate_parse(t, 0, &g, &e), 0);
    assert_int_equal(rf_graduate_derive(&g, &d, train, 6, val, 0, &e), 0);
    assert_int_equal(g.basis, RF_GRAD_OFF);

    /* a stage that stayed below: the report says so in its metrics */
    rf_trainer tr = {0};
    rf_epoch_stats h[2] = {{.epoch = 1, .val_acc = 0.25}, {.epoch = 2, .val_acc = 0.5}};
    tr.history = h, tr.n_history = 2, tr.epoch = 2, tr.stop_reason = RF_STOP_EARLY;
    g = (rf_graduate){RF_GRAD_PREVIOUS, 0.75, 4, 1};
    rf_graduate_report(t, &g, &tr);
    assert_true(metric(t, "graduate_threshold") == 0.75);
    assert_true(metric(t, "best_val_accuracy") == 0.5);
    assert_true(metric(t, "graduate_basis") == RF_GRAD_PREVIOUS);
    rf_task_free(t);
}

static void test_parse(void **state)
{
    (void)state;
    rf_graduate g;
    rf_err e = {0};
    rf_task *t = rf_task_new(&def, "t", 1, "/tmp");
    assert_int_equal(rf_graduate_parse(t, -1, &g, &e), 0);   /* plain training: off */
    assert_int_equal(g.basis, RF_GRAD_OFF);
    rf_task_add_param(t, "graduate", "0.9");
    assert_int_equal(rf_graduate_parse(t, 2, &g, &e), 0);
    assert_int_equal(g.basis, RF_GRAD_FIXED);
    assert_true(g.threshold == 0.9);
    rf_task_free(t);
    const char *bad[] = {"1.5", "lots", "-0.1"};
    for (int i = 0; i < 3; i++) {
        t = rf_task_new(&def, "t", 1, "/tmp");
        rf_task_add_param(t, "graduate", bad[i]);
        assert_int_equal(rf_graduate_parse(t, 0, &g, &e), -1);
        assert_non_null(strstr(e.msg, "with.graduate: expected baseline"));
        rf_task_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derive),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
