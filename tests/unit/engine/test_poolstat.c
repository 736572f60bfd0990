/* test_poolstat: the autoscaling arithmetic and the slots spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "engine/rf_poolstat.h"

static void test_desired(void **st)
{
    (void)st;
    rf_scale_opts o;
    rf_scale_opts_default(&o);
    assert_int_equal(rf_scale_desired(&o, 0, 0, 1), 0);
    assert_int_equal(rf_scale_desired(&o, 5, 2, 2), 4);   /* ceil(7/2) */
    assert_int_equal(rf_scale_desired(&o, 4, 0, 2), 2);
    o.min_workers = 1;
    o.max_workers = 3;
    assert_int_equal(rf_scale_desired(&o, 0, 0, 2), 1);
    assert_int_equal(rf_scale_desired(&o, 1000, 0, 2), 3);
}

static void test_slots(void **st)
{
    (void)st;
    rf_scale_opts o;
    rf_err err = {0};
    rf_scale_opts_default(&o);
    o.slots = "4,gpu=1";
    assert_int_equal(rf_scale_opts_check(&o, &err), 0);
    assert_int_equal(rf_scale_slots(&o, "gpu"), 1);
    assert_int_equal(rf_scale_slots(&o, "default"), 4);
    o.slots = "gpu=2";
    assert_int_equal(rf_scale_slots(&o, "cpu"), 1);
    const char *bad[] = {"0", "x", "gpu=", "=3", "gpu=2,,"};
    for (int i = 0; i < 4; i++) {
        o.slots = bad[i];
        assert_int_equal(rf_scale_opts_check(&o, &err), -1);
        assert_non_null(strstr(err.msg, "slots: bad part"));
    }
    o.slots = NULL;
    o.min_workers = 5;
    o.max_workers = 2;
    assert_int_equal(rf_scale_opts_check(&o, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_desired),
        cmocka_unit_test(test_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
