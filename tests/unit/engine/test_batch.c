/* Unit tests of rf_batch: the adaptive take size of a worker slot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/rf_batch.h"

static void run_batch(rf_batch *b, int64_t us_each, size_t prefetch, long lease_ms)
{
    for (size_t i = 0; i < b->size; i++)
        rf_batch_task(b, us_each);
    rf_batch_next(b, prefetch, lease_ms);
}

static void test_doubles_to_prefetch(void **state)
{
    (void)state;
    rf_batch b;
    rf_batch_init(&b);
    assert_int_equal(b.size, 1);
    size_t want[] = {2, 4, 8, 16, 32, 32, 32};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        run_batch(&b, 50, 32, 5000);
        assert_int_equal(b.size, want[i]);
    }
}

static void test_slow_task_resets(void **state)
{
    (void)state;
    rf_batch b;
    rf_batch_init(&b);
    for (int i = 0; i < 5; i++)
        run_batch(&b, 100, 64, 5000);
    assert_int_equal(b.size, 32);
    rf_batch_task(&b, 100);
    rf_batch_task(&b, RF_BATCH_SHORT_US + 1);   /* one slow task */
    rf_batch_next(&b, 64, 5000);
    assert_int_equal(b.size, 1);
}

/* Short tasks, short lease: the batch must start within lease/3. 4 ms
 * tasks (short) and a 300 ms lease: 100 ms / 4 ms = 25 at most. */
static void test_lease_budget_caps(void **state)
{
    (void)state;
    rf_batch b;
    rf_batch_init(&b);
    for (int i = 0; i < 10; i++)
        run_batch(&b, 4000, 256, 300);
    assert_int_equal(b.size, 25);
    /* A lease shorter than one mean task: still 1, never 0. */
    rf_batch_init(&b);
    run_batch(&b, 4000, 256, 100);   /* 33 ms budget / 4 ms = 8 */
    assert_true(b.size <= 8 && b.size >= 1);
    for (int i = 0; i < 20; i++)
        run_batch(&b, 4900, 256, 10);   /* 3.3 ms budget < 4.9 ms */
    assert_int_equal(b.size, 1);
}

static void test_zero_time_tasks_and_bad_prefetch(void **state)
{
    (void)state;
    rf_batch b;
    rf_batch_init(&b);
    for (int i = 0; i < 12; i++)
        run_batch(&b, 0, 128, 5000);
    assert_int_equal(b.size, 128);
    rf_batch_next(&b, 0, 5000);
    assert_int_equal(b.size, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubles_to_prefetch),
        cmocka_unit_test(test_slow_task_resets),
        cmocka_unit_test(test_lease_budget_caps),
        cmocka_unit_test(test_zero_time_tasks_and_bad_prefetch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
