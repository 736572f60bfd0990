/* Unit tests for rf_eval_agg: the fan-in reduction of fold results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers/rf_eval_agg.h"
#include "base/rf_json.h"
#include "ml/rf_metrics.h"
#include "engine/rf_task_impl.h"
#include "rf_test.h"

static json_t *fold_doc(int fold, double acc, double loss)
{
    json_t *m = json_pack("{s:f}", "accuracy", acc);
    if (!isnan(loss))
        json_object_set_new(m, "log_loss", json_real(loss));
    return json_pack("{s:i, s:s, s:o}", "fold", fold, "kind", "classification", "metrics", m);
}

static double num(const json_t *agg, const char *metric, const char *field)
{
    return rf_json_double(json_object_get(
        json_object_get(json_object_get(agg, "metrics"), metric), field));
}

static void test_reduce(void **state)
{
    double acc[] = {0.8, 0.9, 0.85, 0.95, 0.75};
    json_t *docs[5];
    for (int i = 0; i < 5; i++)
        docs[i] = fold_doc(i, acc[i], i == 2 ? NAN : 0.1 * (i + 1));
    rf_err e = {0};
    json_t *agg = rf_eval_aggregate_docs(docs, 5, &e);
    assert_non_null(agg);
    double half = rf_student_t_quantile(0.975, 4) * sqrt(0.025 / 4) / sqrt(5);
    assert_true(fabs(num(agg, "accuracy", "mean") - 0.85) < 1e-12);
    assert_true(fabs(num(agg, "accuracy", "std") - sqrt(0.025 / 4)) < 1e-12);
    assert_true(fabs(num(agg, "accuracy", "ci95_low") - (0.85 - half)) < 1e-12);
    assert_true(fabs(num(agg, "accuracy", "ci95_high") - (0.85 + half)) < 1e-12);
    assert_int_equal(num(agg, "accuracy", "n"), 5);
    /* fold 2 reported no log loss: four values, mean of 0.1 0.2 0.4 0.5 */
    assert_int_equal(num(agg, "log_loss", "n"), 4);
    assert_true(fabs(num(agg, "log_loss", "mean") - 0.3) < 1e-12);
    /* the per-fold table keeps fold order and shows the missing value as null */
    json_t *table = json_object_get(agg, "folds");
    assert_int_equal(json_array_size(table), 5);
    json_t *row2 = json_array_get(table, 2);
    assert_int_equal(json_integer_value(json_object_get(row2, "fold")), 2);
    assert_true(json_is_null(json_object_get(row2, "log_loss")));
    assert_true(fabs(rf_json_double(json_object_get(row2, "accuracy")) - 0.85) < 1e-12);
    /* "fold" is an index, never a metric */
    assert_null(json_object_get(json_object_get(agg, "metrics"), "fold"));
    json_decref(agg);
    for (int i = 0; i < 5; i++)
        json_decref(docs[i]);
}

static void test_flat_and_bad(void **state)
{
    json_t *docs[2] = {json_pack("{s:f, s:f}", "fold", 0.0, "mse", 1.0),
                       json_pack("{s:f, s:f}", "fold", 1.0, "mse", 3.0)};
    rf_err e = {0};
    json_t *agg = rf_eval_aggregate_docs(docs, 2, &e);
    assert_non_null(agg);
    assert_true(fabs(num(agg, "mse", "mean") - 2) < 1e-12);
    assert_null(json_object_get(json_object_get(agg, "metrics"), "fold"));
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(agg, "folds"), 1), "fold")), 1);
    json_decref(agg);
    json_decref(docs[1]);
    docs[1] = json_array();
    assert_null(rf_eval_aggregate_docs(docs, 2, &e));
    assert_string_equal(e.msg, "fold 1: not a JSON object");
    assert_null(rf_eval_aggregate_docs(docs, 0, &e));
    json_decref(docs[0]);
    json_decref(docs[1]);
}

/* vs_baseline: the best baseline by mean over the folds (not per fold),
 * the paired lift and its interval; versus: two variants on the same folds. */
static void test_baseline_and_versus(void **state)
{
    /* fold:      0     1     2     3
     * model     .50   .60   .55   .65
     * majority  .30   .30   .30   .30
     * previous  .45   .40   .50   .45   (mean .45, the best)
     * markov    .52   .35   .40   .41   (mean .42; best on fold 0 only) */
    double model[] = {.50, .60, .55, .65}, prev[] = {.45, .40, .50, .45},
           mk[] = {.52, .35, .40, .41};
    json_t *docs[4], *other[4];
    for (int i = 0; i < 4; i++) {
        docs[i] = fold_doc(i, model[i], NAN);
        json_t *m = json_object_get(docs[i], "metrics");
        json_object_set_new(m, "baseline_majority_accuracy", json_real(.30));
        json_object_set_new(m, "baseline_previous_accuracy", json_real(prev[i]));
        json_object_set_new(m, "baseline_markov_accuracy", json_real(mk[i]));
        json_object_set_new(docs[i], "baselines", json_pack("{s:{s:s}}", "previous",
                                                            "description", "same as before"));
        json_object_set_new(docs[i], "training", json_string("curriculum"));
        other[i] = fold_doc(i, model[i] - 0.02 * (i + 1), NAN);
        json_object_set_new(other[i], "training", json_string("shuffled"));
    }
    rf_err e = {0};
    json_t *agg = rf_eval_aggregate_docs(docs, 4, &e);
    json_t *vs = json_object_get(agg, "vs_baseline");
    assert_string_equal(json_string_value(json_object_get(vs, "baseline")), "previous");
    assert_string_equal(json_string_value(json_object_get(vs, "description")), "same as before");
    assert_true(fabs(rf_json_double(json_object_get(vs, "baseline_mean")) - .45) < 1e-12);
    /* lift per fold .05 .20 .05 .20: mean .125, std .0866, t(3) = 3.1824 */
    const json_t *lift = json_object_get(vs, "lift");
    double sd = sqrt(4 * 0.075 * 0.075 / 3), half = rf_student_t_quantile(0.975, 3) * sd / 2;
    assert_true(fabs(rf_json_double(json_object_get(lift, "mean")) - .125) < 1e-12);
    assert_true(fabs(rf_json_double(json_object_get(lift, "ci95_low")) - (.125 - half)) < 1e-9);
    assert_true(.125 - half < 0);   /* 0.125 - 0.138: the interval includes 0 */
    assert_false(json_is_true(json_object_get(vs, "beats_baseline")));
    assert_string_equal(json_string_value(json_object_get(vs, "verdict")), "does not beat");
    json_decref(agg);

    json_t *v = rf_eval_versus_docs(docs, other, 4, &e);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "training")), "curriculum");
    assert_string_equal(json_string_value(json_object_get(v, "versus_training")), "shuffled");
    /* gains .02 .04 .06 .08: mean .05, the interval above 0 */
    const json_t *g = json_object_get(v, "gain");
    assert_true(fabs(rf_json_double(json_object_get(g, "mean")) - .05) < 1e-12);
    assert_true(rf_json_double(json_object_get(g, "ci95_low")) > 0);
    assert_string_equal(json_string_value(json_object_get(v, "verdict")), "better");
    json_decref(v);
    /* folds that do not pair up are refused */
    json_object_set_new(other[2], "fold", json_integer(3));
    assert_null(rf_eval_versus_docs(docs, other, 4, &e));
    assert_non_null(strstr(e.msg, "must pair the same folds"));
    for (int i = 0; i < 4; i++) {
        json_decref(docs[i]);
        json_decref(other[i]);
    }
}

static void test_task(void **state)
{
    char dir[] = "/tmp/rf_agg_XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const rf_worker_def def = {"eval-fold", "test", NULL, NULL};
    char paths[3][256];
    rf_err e = {0};
    for (int i = 0; i < 3; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/fold%d.json", dir, i);
        json_t *d = fold_doc(i, 0.5 + 0.1 * i, NAN);
        assert_int_equal(rf_json_write(paths[i], d, 1, &e), 0);
        json_decref(d);
    }
    rf_task *t = rf_task_new(&def, "t", 1, dir);
    assert_int_equal(rf_eval_aggregate(t, &e), -1);          /* no inputs */
    assert_non_null(strstr(e.msg, "`folds`"));
    for (int i = 0; i < 3; i++)
        rf_task_add_input(t, "folds", paths[i]);
    assert_int_equal(rf_eval_aggregate(t, &e), 0);
    int found = 0;
    for (size_t i = 0; i < rf_task_metric_count(t); i++) {
        if (!strcmp(rf_task_metric_name(t, i), "accuracy")) {
            assert_true(fabs(rf_task_metric_value(t, i) - 0.6) < 1e-12);
            found++;
        }
        if (!strcmp(rf_task_metric_name(t, i), "accuracy_ci95_high"))
            found++;
    }
    assert_int_equal(found, 2);
    assert_int_equal(rf_task_output_count(t), 1);
    assert_string_equal(rf_task_output_name(t, 0), "aggregate");
    json_t *agg;
    assert_int_equal(rf_json_load(rf_task_output_path(t, 0), &agg, &e), 0);
    assert_int_equal(json_integer_value(json_object_get(agg, "n_folds")), 3);
    json_decref(agg);
    rf_task_free(t);

    /* A missing and a corrupt fold file are clear errors naming the fold. */
    t = rf_task_new(&def, "t", 1, dir);
    rf_task_add_input(t, "folds", paths[0]);
    char bad[300];
    snprintf(bad, sizeof bad, "%s/missing.json", dir);
    rf_task_add_input(t, "folds", bad);
    assert_int_equal(rf_eval_aggregate(t, &e), -1);
    assert_int_equal(e.code, RF_ENOTFOUND);
    assert_non_null(strstr(e.msg, "folds[1]"));
    rf_task_free(t);
    FILE *f = fopen(bad, "w");
    fputs("{\"metrics\": ", f);
    fclose(f);
    t = rf_task_new(&def, "t", 1, dir);
    rf_task_add_input(t, "folds", bad);
    assert_int_equal(rf_eval_aggregate(t, &e), -1);
    assert_int_equal(e.code, RF_ECORRUPT);
    rf_task_free(t);

    assert_int_equal(rf_test_rmtree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_flat_and_bad),
        cmocka_unit_test(test_baseline_and_versus),
        cmocka_unit_test(test_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
