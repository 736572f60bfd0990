/* Unit tests for rf_metrics against hand-computed cases (scikit-learn
 * cross-checks live in test_metrics_sklearn.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "ml/rf_dataset.h"
#include "ml/rf_metrics.h"

#define near(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void test_classification_hand(void **state)
{
    /* Class 3 exists in the label set but is neither true nor predicted:
     * it must not pull the macro averages down. */
    int32_t y[] = {0, 0, 1, 1, 2, 2}, pred[] = {0, 1, 1, 1, 0, 2};
    rf_preds p = {.kind = RF_CLASSIFICATION, .n = 6, .n_classes = 4,
                  .y_class = y, .pred = pred};
    rf_metrics m;
    rf_err e = {0};
    assert_int_equal(rf_metrics_compute(&p, 0, &m, &e), 0);
    near(m.cls.accuracy, 4.0 / 6);
    near(m.cls.f1_micro, 4.0 / 6);
    near(m.cls.precision[0], 0.5), near(m.cls.recall[0], 0.5), near(m.cls.f1[0], 0.5);
    near(m.cls.precision[1], 2.0 / 3), near(m.cls.recall[1], 1), near(m.cls.f1[1], 0.8);
    near(m.cls.precision[2], 1), near(m.cls.recall[2], 0.5), near(m.cls.f1[2], 2.0 / 3);
    near(m.cls.precision[3], 0), near(m.cls.f1[3], 0);
    near(m.cls.f1_macro, (0.5 + 0.8 + 2.0 / 3) / 3);
    near(m.cls.precision_macro, (0.5 + 2.0 / 3 + 1) / 3);
    near(m.cls.recall_macro, 2.0 / 3);
    assert_true(isnan(m.cls.log_loss));
    uint64_t cm[16] = {1, 1, 0, 0, 0, 2, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0};
    assert_memory_equal(m.cls.confusion, cm, sizeof cm);
    assert_int_equal(m.cls.support[2], 2);
    rf_metrics_free(&m);
}

static void test_log_loss_hand(void **state)
{
    int32_t y[] = {0, 1};
    float prob[] = {0.8f, 0.2f, 0.4f, 0.6f};
    rf_preds p = {.kind = RF_CLASSIFICATION, .n = 2, .n_classes = 2,
                  .y_class = y, .prob = prob};
    rf_metrics m;
    rf_err e = {0};
    assert_int_equal(rf_metrics_compute(&p, 0, &m, &e), 0);
    assert_true(fabs(m.cls.log_loss - (-(log(0.8f) + log(0.6f)) / 2)) < 1e-7);
    near(m.cls.accuracy, 1);
    rf_metrics_free(&m);
    /* A confident wrong answer is clipped, not infinite. */
    float sure[] = {1, 0, 0, 1};
    int32_t wrong[] = {1, 1};
    p.prob = sure, p.y_class = wrong;
    assert_int_equal(rf_metrics_compute(&p, 0, &m, &e), 0);
    assert_true(fabs(m.cls.log_loss - (-log(1e-15) / 2)) < 1e-6);
    rf_metrics_free(&m);
}

static void test_regression_hand(void **state)
{
    float y[] = {1, 2, 3, 0}, yhat[] = {1.5f, 2, 2, 0.5f};
    rf_preds p = {.kind = RF_REGRESSION, .n = 4, .n_targets = 1,
                  .y_reg = y, .y_hat = yhat};
    rf_metrics m;
    rf_err e = {0};
    assert_int_equal(rf_metrics_compute(&p, 1, &m, &e), 0);
    near(m.reg.mse, 0.375);
    near(m.reg.rmse, sqrt(0.375));
    near(m.reg.mae, 0.5);
    near(m.reg.mape, (0.5 + 0 + 1.0 / 3) / 3);
    assert_int_equal(m.reg.mape_zero, 1);
    near(m.reg.r2, 0.7);
    near(m.reg.directional, 2.0 / 3);
    rf_metrics_free(&m);
    /* Not a time series: no directional accuracy. */
    assert_int_equal(rf_metrics_compute(&p, 0, &m, &e), 0);
    assert_true(isnan(m.reg.directional));
    /* Constant target: R² 1 for a perfect fit, 0 otherwise (as sklearn). */
    float c[] = {2, 2, 2}, c_ok[] = {2, 2, 2}, c_bad[] = {2, 2, 3};
    p = (rf_preds){.kind = RF_REGRESSION, .n = 3, .n_targets = 1, .y_reg = c, .y_hat = c_ok};
    assert_int_equal(rf_metrics_compute(&p, 0, &m, &e), 0);
    near(m.reg.r2, 1);
    p.y_hat = c_bad;
    assert_int_equal(rf_metrics_compute(&p, 0, &m, &e), 0);
    near(m.reg.r2, 0);
}

static void test_nan_and_bad(void **state)
{
    rf_metrics m;
    rf_err e = {0};
    float y[] = {1, 2}, yhat[] = {1, NAN};
    rf_preds p = {.kind = RF_REGRESSION, .n = 2, .n_targets = 1, .y_reg = y, .y_hat = yhat};
    assert_int_equal(rf_metrics_compute(&p, 0, &m, &e), -1);
    assert_string_equal(e.msg, "row 1: prediction 0 is NaN");
    int32_t yc[] = {0, 1};
    float prob[] = {0.5f, 0.5f, INFINITY, 0};
    p = (rf_preds){.kind = RF_CLASSIFICATION, .n = 2, .n_classes = 2, .y_class = yc, .prob = prob};
    assert_int_equal(rf_metrics_compute(&p, 0, &m, &e), -1);
    assert_string_equal(e.msg, "row 1: prediction 0 is infinite");
    yc[1] = 2;
    prob[2] = 0.5f;
    assert_int_equal(rf_metrics_compute(&p, 0, &m, &e), -1);
    assert_non_null(strstr(e.msg, "true class 2 outside"));
    p.n = 0;
    assert_int_equal(rf_metrics_compute(&p, 0, &m, &e), -1);
    assert_non_null(strstr(e.msg, "no rows"));
}

static void test_breakdown(void **state)
{
    int32_t y[] = {0, 1, 0, 1, 1}, pred[] = {0, 1, 1, 1, 0};
    int32_t level[] = {0, 0, 2, 2, -1};   /* -1: no level, skipped */
    rf_preds p = {.kind = RF_CLASSIFICATION, .n = 5, .n_classes = 2,
                  .y_class = y, .pred = pred};
    rf_metrics out[3];
    size_t count[3];
    rf_err e = {0};
    assert_int_equal(rf_metrics_by_key(&p, level, 3, out, count, &e), 0);
    assert_int_equal(count[0], 2);
    assert_int_equal(count[1], 0);
    assert_int_equal(count[2], 2);
    near(out[0].cls.accuracy, 1);
    near(out[2].cls.accuracy, 0.5);
    for (int j = 0; j < 3; j++)
        rf_metrics_free(&out[j]);
}

static void test_student_t(void **state)
{
    /* Textbook two-sided 95% critical values (4 decimals). */
    static const struct { double df, t; } tab[] = {
        {1, 12.7062}, {2, 4.3027}, {3, 3.1824}, {4, 2.7764}, {5, 2.5706},
        {9, 2.2622}, {10, 2.2281}, {20, 2.0860}, {30, 2.0423}, {60, 2.0003},
        {120, 1.9799}, {1e9, 1.9600},
    };
    for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
        assert_true(fabs(rf_student_t_quantile(0.975, tab[i].df) - tab[i].t) < 5e-5);
    assert_true(fabs(rf_student_t_quantile(0.995, 3) - 5.8409) < 5e-5);
    assert_true(fabs(rf_student_t_quantile(0.025, 4) + 2.7764) < 5e-5);
    near(rf_student_t_cdf(0, 7), 0.5);
    /* df 1 is Cauchy: CDF(1) = 3/4 exactly. */
    assert_true(fabs(rf_student_t_cdf(1, 1) - 0.75) < 1e-12);
    assert_true(isnan(rf_student_t_quantile(1.5, 3)));
}

static void test_aggregate(void **state)
{
    double v[] = {0.8, 0.9, 0.85, 0.95, 0.75};
    rf_agg a;
    rf_metrics_aggregate(v, 5, 0.95, &a);
    assert_int_equal(a.n, 5);
    near(a.mean, 0.85);
    near(a.std, sqrt(0.025 / 4));
    double half = rf_student_t_quantile(0.975, 4) * sqrt(0.025 / 4) / sqrt(5);
    near(a.ci_low, 0.85 - half);
    near(a.ci_high, 0.85 + half);
    assert_true(fabs(a.ci_low - 0.75184) < 1e-5);
    /* NaN folds are left out; one value has no spread. */
    double w[] = {NAN, 0.5, NAN};
    rf_metrics_aggregate(w, 3, 0.95, &a);
    assert_int_equal(a.n, 1);
    near(a.mean, 0.5);
    assert_true(isnan(a.std) && isnan(a.ci_low));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classification_hand),
        cmocka_unit_test(test_log_loss_hand),
        cmocka_unit_test(test_regression_hand),
        cmocka_unit_test(test_nan_and_bad),
        cmocka_unit_test(test_breakdown),
        cmocka_unit_test(test_student_t),
        cmocka_unit_test(test_aggregate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
