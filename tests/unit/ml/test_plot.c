/* Unit tests for rf_plot: tick choice, the SVG's structure, gaps for NaN,
 * escaping, and a well-formed document (checked by counting tags). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The x of the first <rect> after the marker text, or -1. */
static double rect_x_after(const char *s, const char *marker)
{
    const char *p = strstr(s, marker);
    p = p ? strstr(p, "<rect x='") : NULL;
    return p ? strtod(p + 9, NULL) : -1;
}

/* Three chain stages: one color each on one shared epoch axis (stage 1
 * after stage 0), a legend entry per stage plus the solid/dashed key, and
 * the legend to the right of the frame, never over the lines. */
static void test_curves_svg(void **state)
{
    rf_plot_epoch pts[3][4];
    rf_plot_curve c[3];
    static const char *const names[] = {"curriculum/0", "curriculum/1", "curriculum/2"};
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 4; i++)
            pts[k][i] = (rf_plot_epoch){i + 1, 1.0 / (i + 1 + k), 1.1 / (i + 1 + k), NAN, NAN};
        c[k] = (rf_plot_curve){names[k], pts[k], 4, 4.0 * k};
    }
    rf_buf b = RF_BUF_INIT;
    rf_plot_curves_svg(&b, "chain", "epoch", c, 3);
    const char *s = b.data;
    /* one panel (no accuracy): train and validation of each stage */
    assert_int_equal(count(s, "<polyline"), 6);
    assert_int_equal(count(s, "<g>"), 1);
    for (int k = 0; k < 3; k++) {
        char want[64];
        snprintf(want, sizeof want, ">%s<", names[k]);
        assert_int_equal(count(s, want), 1);
    }
    assert_int_equal(count(s, ">train<"), 1);
    assert_int_equal(count(s, ">validation<"), 1);
    /* three colors, not one series overwriting another */
    assert_non_null(strstr(s, "stroke='#1f77b4'"));
    assert_non_null(strstr(s, "stroke='#d62728'"));
    assert_non_null(strstr(s, "stroke='#2ca02c'"));
    /* the shared axis runs to epoch 12 (4 epochs x 3 stages) */
    assert_non_null(strstr(s, ">12<"));
    /* the frame is the first rect of the panel; the legend box starts right of it */
    const char *g = strstr(s, "<g>");
    double frame_x = strtod(strstr(g, "<rect x='") + 9, NULL);
    const char *w = strstr(strstr(g, "<rect x='"), "width='");
    double frame_right = frame_x + strtod(w + 7, NULL);
    double legend_x = rect_x_after(s, "points='");
    assert_true(legend_x > frame_right);
    rf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticks),
        cmocka_unit_test(test_training_svg),
        cmocka_unit_test(test_curves_svg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
