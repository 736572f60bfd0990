/* Unit tests for rf_plot: tick choice, the SVG's structure, gaps for NaN,
 * escaping, and a well-formed document (checked by counting tags). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "ml/rf_plot.h"

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_ticks(void **state)
{
    double first, step;
    size_t n = rf_plot_ticks(0, 1, 6, &first, &step);
    assert_float_equal(step, 0.2, 1e-12);
    assert_float_equal(first, 0, 1e-12);
    assert_int_equal(n, 6);
    n = rf_plot_ticks(3, 97, 8, &first, &step);
    assert_float_equal(step, 20, 1e-12);
    assert_float_equal(first, 20, 1e-12);
    assert_int_equal(n, 4);
    n = rf_plot_ticks(0.0123, 0.0171, 6, &first, &step);
    assert_float_equal(step, 0.001, 1e-15);
    assert_true(first >= 0.0123 && first < 0.0134);
    assert_int_equal(rf_plot_ticks(1, 1, 6, &first, &step), 1);
}

static void test_training_svg(void **state)
{
    rf_plot_epoch pts[5];
    for (int i = 0; i < 5; i++)
        pts[i] = (rf_plot_epoch){i + 1, 1.0 / (i + 1), 1.2 / (i + 1), 0.5 + 0.1 * i,
                                 i == 2 ? NAN : 0.45 + 0.1 * i};
    rf_buf b = RF_BUF_INIT;
    rf_plot_training_svg(&b, "run <a> & b", pts, 5);
    const char *s = b.data;
    assert_non_null(strstr(s, "<svg xmlns='http://www.w3.org/2000/svg'"));
    assert_non_null(strstr(s, "run &lt;a&gt; &amp; b"));
    /* train loss, val loss, train acc, and val acc broken in two by the NaN */
    assert_int_equal(count(s, "<polyline"), 5);
    assert_int_equal(count(s, "<g>"), 2);
    assert_int_equal(count(s, "</g>"), 2);
    assert_non_null(strstr(s, ">validation<"));
    assert_non_null(strstr(s, ">Accuracy<"));
    assert_true(strcmp(s + b.len - 7, "</svg>\n") == 0);
    rf_buf_free(&b);

    /* regression: no accuracy, one panel, no validation -> one line */
    for (int i = 0; i < 5; i++)
        pts[i].val_loss = pts[i].train_acc = pts[i].val_acc = NAN;
    rf_plot_training_svg(&b, NULL, pts, 5);
    assert_int_equal(count(b.data, "<polyline"), 1);
    assert_int_equal(count(b.data, "<g>"), 1);
    assert_null(strstr(b.data, "Accuracy"));
    rf_buf_free(&b);

    /* no points at all still makes a valid, empty chart */
    rf_plot_training_svg(&b, "empty", pts, 0);
    assert_int_equal(count(b.data, "<polyline"), 0);
    assert_non_null(strstr(b.data, "</svg>"));
    rf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticks),
        cmocka_unit_test(test_training_svg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
