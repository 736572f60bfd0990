/* Unit tests for rf_ckretain on synthetic histories: keep last N, best by a
 * metric (either direction), every N-th epoch, delete or cold for the rest,
 * hot/warm/cold placement and the STANDARD_IA minimums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "store/rf_ckretain.h"

static void history(rf_ckver *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (rf_ckver){(int64_t)i + 1, 0.5 + 0.01 * (double)i, (double)(n - i), 1 << 20,
                          RF_PLACE_HOT, (double)(n - i)};
    if (n > 5) {
        v[3].metric = 0.99;   /* the best is epoch 4 */
        v[5].metric = NAN;
    }
}

static void test_keep_last_best_every(void **state)
{
    (void)state;
    rf_ckver v[12];
    int pl[12];
    history(v, 12);
    rf_ckpolicy p;
    rf_ckpolicy_default(&p);
    p.keep_every = 5;
    rf_ckretain_plan(v, 12, &p, pl);
    assert_int_equal(pl[11], RF_PLACE_HOT);     /* latest */
    assert_int_equal(pl[3], RF_PLACE_HOT);      /* best */
    assert_int_equal(pl[10], RF_PLACE_WARM);    /* recent, 2 days old */
    assert_int_equal(pl[9], RF_PLACE_WARM);     /* recent and epoch 10 */
    assert_int_equal(pl[4], RF_PLACE_COLD);     /* epoch 5, 8 days old */
    assert_int_equal(pl[0], RF_PLACE_DELETE);
    assert_int_equal(pl[5], RF_PLACE_DELETE);   /* no metric, not kept otherwise */
    assert_int_equal(pl[8], RF_PLACE_DELETE);
    p.cold_instead = 1;
    rf_ckretain_plan(v, 12, &p, pl);
    assert_int_equal(pl[0], RF_PLACE_COLD);
    /* lower is better: the best is the lowest metric, epoch 1 */
    p.higher_is_better = 0;
    p.cold_instead = 0;
    rf_ckretain_plan(v, 12, &p, pl);
    assert_int_equal(pl[0], RF_PLACE_HOT);
    assert_int_equal(pl[3], RF_PLACE_DELETE);
}

static void test_ia_minimums(void **state)
{
    (void)state;
    rf_ckver v[5];
    int pl[5];
    history(v, 5);
    rf_ckpolicy p;
    rf_ckpolicy_default(&p);
    p.keep_best = 0;
    p.warm_is_ia = 1;
    p.warm_days = 100;
    v[2].bytes = 4096;                            /* too small for IA: stays hot */
    v[0].tier = RF_PLACE_WARM;                    /* not kept, but 5 days in IA */
    v[0].days_in_tier = 5;
    v[1].tier = RF_PLACE_WARM;
    v[1].days_in_tier = 45;                       /* past the minimum: goes */
    rf_ckretain_plan(v, 5, &p, pl);
    assert_int_equal(pl[2], RF_PLACE_HOT);
    assert_int_equal(pl[3], RF_PLACE_WARM);
    assert_int_equal(pl[0], RF_PLACE_WARM);
    assert_int_equal(pl[1], RF_PLACE_DELETE);
    assert_string_equal(rf_ckplace_name(RF_PLACE_COLD), "cold");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_last_best_every),
        cmocka_unit_test(test_ia_minimums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
