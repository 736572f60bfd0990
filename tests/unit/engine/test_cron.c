/* Unit tests for rf_cron: fields, ranges, lists, steps, names, shorthands,
 * the either-day rule, next fire times across months, leap years and
 * years, and the errors of bad expressions (with their columns). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/rf_cron.h"

/* Minutes since the epoch of a UTC date. */
static int64_t at(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi;
    return (int64_t)timegm(&tm) / 60;
}

static int64_t next_of(const char *expr, int64_t after)
{
    rf_cron c;
    rf_err err;
    if (rf_cron_parse(expr, &c, &err) < 0)
        fail_msg("%s: %s", expr, err.msg);
    return rf_cron_next(&c, after);
}

static void test_next_times(void **state)
{
    (void)state;
    int64_t t0 = at(2026, 12, 4, 1, 30);   /* a Friday */
    assert_int_equal(next_of("* * * * *", t0), t0 + 1);
    assert_int_equal(next_of("*/15 * * * *", t0), at(2026, 12, 4, 1, 45));
    assert_int_equal(next_of("0 9 * * MON-FRI", t0), at(2026, 12, 4, 9, 0));
    assert_int_equal(next_of("0 9 * * mon-fri", at(2026, 12, 4, 9, 0)), at(2026, 12, 7, 9, 0));
    assert_int_equal(next_of("0 0 1 JAN *", t0), at(2027, 1, 1, 0, 0));
    assert_int_equal(next_of("30 2 29 2 *", t0), at(2028, 2, 29, 2, 30));   /* leap day */
    assert_int_equal(next_of("5,10-12 3 * * *", t0), at(2026, 12, 4, 3, 5));
    assert_int_equal(next_of("5,10-12 3 * * *", at(2026, 12, 4, 3, 10)), at(2026, 12, 4, 3, 11));
    assert_int_equal(next_of("10-50/20 * * * *", t0), at(2026, 12, 4, 1, 50));
    assert_int_equal(next_of("40/7 * * * *", t0), at(2026, 12, 4, 1, 40));   /* 40,47,54 */
    assert_int_equal(next_of("40/7 * * * *", at(2026, 12, 4, 1, 54)), at(2026, 12, 4, 2, 40));
    assert_int_equal(next_of("0 0 * * 7", t0), at(2026, 12, 6, 0, 0));      /* 7 = Sunday */
    assert_int_equal(next_of("0 0 * * sun", t0), at(2026, 12, 6, 0, 0));
    assert_int_equal(next_of("0 0 31 * *", t0), at(2026, 12, 31, 0, 0));
    assert_int_equal(next_of("0 0 31 * *", at(2026, 12, 31, 0, 0)), at(2027, 1, 31, 0, 0));
    /* Both day fields restricted: either matches (the 13th, or a Friday). */
    assert_int_equal(next_of("0 12 13 * 5", t0), at(2026, 12, 4, 12, 0));
    assert_int_equal(next_of("0 12 13 * 5", at(2026, 12, 11, 12, 0)), at(2026, 12, 13, 12, 0));
    /* A stepped star in day of month is unrestricted for it (as Vixie cron). */
    assert_int_equal(next_of("0 0 */2 * 1", t0), at(2026, 12, 7, 0, 0));
    assert_int_equal(next_of("@hourly", t0), at(2026, 12, 4, 2, 0));
    assert_int_equal(next_of("@daily", t0), at(2026, 12, 5, 0, 0));
    assert_int_equal(next_of("@weekly", t0), at(2026, 12, 6, 0, 0));
    assert_int_equal(next_of("@monthly", t0), at(2027, 1, 1, 0, 0));
    assert_int_equal(next_of("@yearly", t0), at(2027, 1, 1, 0, 0));
    assert_int_equal(next_of("  0   0  1  1  *  ", t0), at(2027, 1, 1, 0, 0));
}

static void expect_error(const char *expr, const char *msg)
{
    rf_cron c;
    rf_err err;
    assert_int_equal(rf_cron_parse(expr, &c, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    if (!strstr(err.msg, msg))
        fail_msg("%s: got \"%s\", expected \"%s\"", expr, err.msg, msg);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("* * * *", "4 fields; expected 5");
    expect_error("* * * * * *", "more than 5 fields");
    expect_error("60 * * * *", "column 1, minute field: 60-60 is outside 0-59");
    expect_error("* 24 * * *", "column 3, hour field: 24-24 is outside 0-23");
    expect_error("* * 0 * *", "day of month field: 0-0 is outside 1-31");
    expect_error("* * * 13 *", "month field: 13-13 is outside 1-12");
    expect_error("* * * * 8", "day of week field: 8-8 is outside 0-7");
    expect_error("5-1 * * * *", "backwards");
    expect_error("*/0 * * * *", "column 3, minute field: expected a step of 1 or more");
    expect_error("* * * FOO *", "column 7, month field: expected a number, a name");
    expect_error("1,2, * * * *", "a list may not end with a comma");
    expect_error("1;2 * * * *", "column 2, minute field: unexpected character");
    expect_error("5- * * * *", "expected the end of the range");
    expect_error("0 0 30 2 *", "never fires");
    expect_error("@sometimes", "unknown shorthand");
    expect_error("", "0 fields");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_times),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
