/* The eval-fold handler on synthetic dataset artifacts that carry what FANN
 * files cannot: groups, difficulty levels and categories. Runs every fold of
 * a grouped and a stratified-grouped cross-validation through the handler,
 * checks the recorded splits, the breakdowns, that normalization saw only
 * training rows, the aggregate, and a time-series regression fold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "ml/rf_checkpoint.h"
#include "ml/rf_dataset.h"
#include "handlers/rf_eval_fold.h"
#include "base/rf_json.h"
#include "engine/rf_task_impl.h"
#include "rf_test.h"

#define N 240
#define F 4
#define PLEN 1024

static char dir[64];
static const rf_worker_def def = {"eval-fold", "test", rf_eval_fold_handler, NULL};

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* snprintf into a PLEN buffer that must not truncate. */
static void pathf(char *dst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, PLEN, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && n < PLEN);
}

static char *xstr(const char *s)
{
    return rf_xstrdup(s);
}

/* Three learnable classes; groups of 1..10 rows; levels and two categories. */
static void write_class_dataset(const char *path)
{
    rf_dataset d = {0};
    uint32_t s = 5;
    d.kind = RF_CLASSIFICATION;
    d.n_rows = N, d.n_features = F, d.n_classes = 3;
    d.X = rf_xmalloc(N * F * sizeof *d.X);
    d.y_class = rf_xmalloc(N * sizeof *d.y_class);
    d.group = rf_xmalloc(N * sizeof *d.group);
    d.level = rf_xmalloc(N);
    d.category = rf_xmalloc(N * sizeof *d.category);
    d.labels = rf_xmalloc(3 * sizeof *d.labels);
    d.labels[0] = xstr("low"), d.labels[1] = xstr("mid"), d.labels[2] = xstr("high");
    d.categories = rf_xmalloc(2 * sizeof *d.categories);
    d.categories[0] = xstr("alpha"), d.categories[1] = xstr("beta");
    d.n_categories = 2;
    int32_t g = 100;
    size_t left = 0;
    for (size_t i = 0; i < N; i++) {
        if (!left)
            left = 1 + lcg(&s) % 10, g += 3;
        left--;
        d.group[i] = g;
        for (size_t j = 0; j < F; j++)
            d.X[i * F + j] = 10.0f + (float)(lcg(&s) % 1000) / 100.0f;   /* mean ~15 */
        float v = d.X[i * F] + d.X[i * F + 1];
        d.y_class[i] = v < 28 ? 0 : v < 32 ? 1 : 2;
        d.level[i] = (uint8_t)(i % 6 == 5 ? RF_LEVEL_NONE : i % 5);
        d.category[i] = (int32_t)(i % 7 == 0 ? -1 : (int32_t)(i % 2));
    }
    rf_err e = {0};
    if (rf_dataset_write(path, &d, &e) < 0)
        fail_msg("%s", e.msg);
    rf_dataset_free(&d);
}

static rf_task *fold_task(const char *data, const char *scheme, int k, const char *out)
{
    rf_task *t = rf_task_new(&def, "t", 1, out);
    char buf[16];
    rf_task_add_input(t, "dataset", data);
    rf_task_add_param(t, "scheme", scheme);
    rf_task_add_param(t, "folds", "4");
    snprintf(buf, sizeof buf, "%d", k);
    rf_task_add_param(t, "fold", buf);
    rf_task_add_param(t, "epochs", "10");
    rf_task_add_param(t, "hidden", "8");
    return t;
}

static json_t *load(const char *d, const char *file)
{
    char path[PLEN];
    json_t *o;
    rf_err e = {0};
    pathf(path, "%s/%s", d, file);
    if (rf_json_load(path, &o, &e) < 0)
        fail_msg("%s", e.msg);
    return o;
}

/* The normalization mean recorded in the model must be the mean of the
 * training rows that were not held out for validation: no test row in it. */
static void check_no_leak(const char *out, const json_t *split)
{
    char path[PLEN];
    rf_checkpoint c;
    rf_err e = {0};
    rf_dataset d = {0};
    pathf(path, "%s/model.art", out);
    assert_int_equal(rf_checkpoint_read(path, &c, &e), 0);
    rf_tensor *mean = rf_obj_get_tensor(rf_obj_get(c.root, "data"), "mean", RF_F32);
    assert_non_null(mean);
    pathf(path, "%s/data.art", dir);
    assert_int_equal(rf_dataset_read(path, &d, &e), 0);
    const json_t *train = json_object_get(split, "train"), *val = json_object_get(split, "val");
    double sum = 0;
    size_t n = 0, i;
    json_t *v;
    unsigned char *is_val = calloc(N, 1);
    json_array_foreach(val, i, v)
        is_val[json_integer_value(v)] = 1;
    json_array_foreach(train, i, v) {
        json_int_t r = json_integer_value(v);
        if (!is_val[r])
            sum += d.X[r * F], n++;
    }
    assert_true(fabs(sum / (double)n - ((float *)mean->data)[0]) < 1e-3);
    free(is_val);
    rf_dataset_free(&d);
    rf_checkpoint_free(&c);
}

static void check_breakdowns(const json_t *fold)
{
    json_t *lv = json_object_get(fold, "by_level"), *cat = json_object_get(fold, "by_category");
    assert_true(json_is_object(lv) && json_is_object(cat));
    size_t n_lv = 0, n_cat = 0;
    const char *k;
    json_t *o;
    json_object_foreach(lv, k, o) {
        assert_true(rf_level_parse(k) >= 0);
        assert_true(json_is_number(json_object_get(o, "accuracy")));
        n_lv += (size_t)rf_json_double(json_object_get(o, "n"));
    }
    json_object_foreach(cat, k, o) {
        assert_true(!strcmp(k, "alpha") || !strcmp(k, "beta"));
        n_cat += (size_t)rf_json_double(json_object_get(o, "n"));
    }
    /* rows without a level (every sixth) or category (every seventh) are
     * left out of the breakdowns, but all others are counted */
    size_t n_test = (size_t)json_integer_value(json_object_get(fold, "n_test"));
    assert_true(n_lv > 0 && n_lv < n_test);
    assert_true(n_cat > 0 && n_cat < n_test);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(fold, "per_class"), 2), "label")),
                        "high");
}

static void run_grouped(const char *scheme)
{
    char data[PLEN], out[4][PLEN];
    pathf(data, "%s/data.art", dir);
    int32_t fold_of_group[2000];
    for (int i = 0; i < 2000; i++)
        fold_of_group[i] = -1;
    rf_dataset d = {0};
    rf_err e = {0};
    assert_int_equal(rf_dataset_read(data, &d, &e), 0);
    unsigned char seen[N] = {0};
    rf_task *agg = rf_task_new(&def, "agg", 1, dir);
    for (int k = 0; k < 4; k++) {
        pathf(out[k], "%s/%s-%d", dir, scheme, k);
        char cmd[PLEN];
        pathf(cmd, "mkdir -p %s", out[k]);
        assert_int_equal(system(cmd), 0);
        rf_task *t = fold_task(data, scheme, k, out[k]);
        if (rf_eval_fold_handler(t, &e) < 0)
            fail_msg("%s fold %d: %s", scheme, k, e.msg);
        rf_task_free(t);
        json_t *split = load(out[k], "split.json"), *fold = load(out[k], "fold.json");
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(split, "test"), i, v) {
            json_int_t r = json_integer_value(v);
            assert_int_equal(seen[r], 0);
            seen[r] = 1;
            int32_t g = d.group[r];
            /* no group in two folds */
            assert_true(fold_of_group[g] == -1 || fold_of_group[g] == k);
            fold_of_group[g] = k;
        }
        assert_string_equal(json_string_value(json_object_get(fold, "scheme_used")), scheme);
        check_breakdowns(fold);
        check_no_leak(out[k], split);
        char fj[PLEN];
        pathf(fj, "%s/fold.json", out[k]);
        rf_task_add_input(agg, "folds", fj);
        json_decref(split);
        json_decref(fold);
    }
    for (int r = 0; r < N; r++)
        assert_int_equal(seen[r], 1);
    rf_task_add_param(agg, "aggregate", "true");
    assert_int_equal(rf_eval_fold_handler(agg, &e), 0);
    json_t *a = load(dir, "aggregate.json");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(a, "metrics"), "accuracy"), "n")), 4);
    /* no sequence column: the majority class is the only baseline */
    json_t *vs = json_object_get(a, "vs_baseline");
    assert_string_equal(json_string_value(json_object_get(vs, "baseline")), "majority");
    assert_int_equal(json_object_size(json_object_get(vs, "baselines")), 1);
    json_decref(a);
    rf_task_free(agg);
    rf_dataset_free(&d);
}

static void test_group_folds(void **state)
{
    run_grouped("group");
}

static void test_stratified_group_folds(void **state)
{
    run_grouped("stratified-group");
}

/* Sequences whose label repeats along each group (a new random class per
 * group) and features that are noise: the previous-action baseline is
 * strong, the model cannot beat it, and the aggregate must say so. The
 * baselines' accuracies are recomputed here from split.json. */
#define SN 400
static void test_sequence_baselines(void **state)
{
    rf_dataset d = {0};
    uint32_t s = 11;
    d.kind = RF_CLASSIFICATION;
    d.n_rows = SN, d.n_features = 2, d.n_classes = 3;
    d.X = rf_xmalloc(SN * 2 * sizeof *d.X);
    d.y_class = rf_xmalloc(SN * sizeof *d.y_class);
    d.group = rf_xmalloc(SN * sizeof *d.group);
    d.prev_row = rf_xmalloc(SN * sizeof *d.prev_row);
    int32_t g = 0, cls = 0;
    size_t left = 0;
    for (size_t i = 0; i < SN; i++) {
        int start = !left;
        if (start)
            left = 2 + lcg(&s) % 12, g++, cls = (int32_t)(lcg(&s) % 3);
        left--;
        d.group[i] = g;
        d.prev_row[i] = start ? -1 : (int32_t)i - 1;
        d.y_class[i] = cls;
        d.X[2 * i] = (float)(lcg(&s) % 1000) / 100.0f;
        d.X[2 * i + 1] = (float)(lcg(&s) % 1000) / 100.0f;
    }
    char data[PLEN], out[PLEN];
    rf_err e = {0};
    pathf(data, "%s/seq.art", dir);
    assert_int_equal(rf_dataset_write(data, &d, &e), 0);
    rf_task *agg = rf_task_new(&def, "agg", 1, dir);
    rf_task_add_param(agg, "aggregate", "true");
    for (int k = 0; k < 4; k++) {
        pathf(out, "%s/seq-%d", dir, k);
        char cmd[PLEN];
        pathf(cmd, "mkdir -p %s", out);
        assert_int_equal(system(cmd), 0);
        rf_task *t = fold_task(data, "group", k, out);
        if (rf_eval_fold_handler(t, &e) < 0)
            fail_msg("fold %d: %s", k, e.msg);
        rf_task_free(t);
        json_t *split = load(out, "split.json"), *fold = load(out, "fold.json");
        size_t count[3] = {0}, i, n = 0, hits = 0;
        json_t *v;
        json_array_foreach(json_object_get(split, "train"), i, v)
            count[d.y_class[json_integer_value(v)]]++;
        int32_t major = 0;
        for (int c = 1; c < 3; c++)
            if (count[c] > count[major])
                major = c;
        json_array_foreach(json_object_get(split, "test"), i, v) {
            json_int_t r = json_integer_value(v);
            int32_t pred = d.prev_row[r] >= 0 ? d.y_class[d.prev_row[r]] : major;
            hits += pred == d.y_class[r];
            n++;
        }
        json_t *b = json_object_get(fold, "baselines");
        assert_int_equal(json_object_size(b), 3);
        double got = rf_json_double(json_object_get(json_object_get(b, "previous"), "accuracy"));
        assert_true(fabs(got - (double)hits / (double)n) < 1e-9);
        assert_true(fabs(rf_json_double(json_object_get(json_object_get(fold, "metrics"),
                                                        "baseline_previous_accuracy")) - got) < 1e-12);
        char fj[PLEN];
        pathf(fj, "%s/fold.json", out);
        rf_task_add_input(agg, "folds", fj);
        json_decref(split);
        json_decref(fold);
    }
    assert_int_equal(rf_eval_fold_handler(agg, &e), 0);
    json_t *a = load(dir, "aggregate.json");
    json_t *vs = json_object_get(a, "vs_baseline");
    const char *best = json_string_value(json_object_get(vs, "baseline"));
    /* on constant runs previous and markov agree except at sequence starts */
    assert_true(!strcmp(best, "previous") || !strcmp(best, "markov"));
    assert_false(json_is_true(json_object_get(vs, "beats_baseline")));
    assert_string_equal(json_string_value(json_object_get(vs, "verdict")), "is worse than");
    /* the lift is the mean of the per-fold differences */
    double sum = 0;
    size_t i;
    json_t *row;
    char key[64];
    snprintf(key, sizeof key, "baseline_%s_accuracy", best);
    json_array_foreach(json_object_get(a, "folds"), i, row)
        sum += rf_json_double(json_object_get(row, "accuracy")) -
               rf_json_double(json_object_get(row, key));
    double lift = rf_json_double(json_object_get(json_object_get(vs, "lift"), "mean"));
    assert_true(fabs(lift - sum / 4) < 1e-9 && lift < 0);
    json_decref(a);
    rf_task_free(agg);
    rf_dataset_free(&d);
}

static void test_timeseries_regression(void **state)
{
    rf_dataset d = {0};
    d.kind = RF_REGRESSION;
    d.n_rows = 300, d.n_features = 2, d.n_targets = 1;
    d.X = rf_xmalloc(300 * 2 * sizeof *d.X);
    d.y_reg = rf_xmalloc(300 * sizeof *d.y_reg);
    for (size_t i = 0; i < 300; i++) {
        d.X[2 * i] = sinf((float)i * 0.1f);
        d.X[2 * i + 1] = cosf((float)i * 0.1f);
        d.y_reg[i] = sinf((float)(i + 1) * 0.1f);      /* one step ahead */
    }
    char data[PLEN], out[PLEN];
    rf_err e = {0};
    pathf(data, "%s/ts.art", dir);
    assert_int_equal(rf_dataset_write(data, &d, &e), 0);
    rf_dataset_free(&d);
    pathf(out, "%s/ts", dir);
    char cmd[PLEN];
    pathf(cmd, "mkdir -p %s", out);
    assert_int_equal(system(cmd), 0);
    rf_task *t = fold_task(data, "timeseries", 3, out);
    rf_task_add_param(t, "gap", "5");
    rf_task_add_param(t, "epochs", "60");
    rf_task_add_param(t, "dropout", "0");   /* train-stage defaults to 0.2 */
    if (rf_eval_fold_handler(t, &e) < 0)
        fail_msg("%s", e.msg);
    double dir_acc = NAN, r2 = NAN;
    for (size_t i = 0; i < rf_task_metric_count(t); i++) {
        if (!strcmp(rf_task_metric_name(t, i), "directional_accuracy"))
            dir_acc = rf_task_metric_value(t, i);
        if (!strcmp(rf_task_metric_name(t, i), "r2"))
            r2 = rf_task_metric_value(t, i);
    }
    rf_task_free(t);
    /* a smooth one-step-ahead target: the network gets the direction right */
    print_message("time series fold: directional accuracy %.3f, r2 %.3f\n", dir_acc, r2);
    if (!(dir_acc > 0.7 && r2 > 0.5))
        fail_msg("directional accuracy %.3f, r2 %.3f", dir_acc, r2);
    json_t *split = load(out, "split.json");
    json_t *train = json_object_get(split, "train"), *test = json_object_get(split, "test");
    json_int_t last_train = json_integer_value(json_array_get(train, json_array_size(train) - 1));
    assert_int_equal(json_integer_value(json_array_get(test, 0)), last_train + 1 + 5);
    assert_int_equal(json_integer_value(json_array_get(train, 0)), 0);   /* expanding */
    /* validation rows are the last of the training window (time order) */
    json_t *val = json_object_get(split, "val");
    assert_true(json_array_size(val) > 0);
    assert_int_equal(json_integer_value(json_array_get(val, json_array_size(val) - 1)),
                     last_train);
    json_decref(split);
}

static void test_nan_feature(void **state)
{
    rf_dataset d = {0};
    d.kind = RF_REGRESSION;
    d.n_rows = 10, d.n_features = 1, d.n_targets = 1;
    d.X = rf_xcalloc(10, sizeof *d.X);
    d.y_reg = rf_xcalloc(10, sizeof *d.y_reg);
    d.X[7] = NAN;
    char data[PLEN];
    rf_err e = {0};
    pathf(data, "%s/nan.art", dir);
    assert_int_equal(rf_dataset_write(data, &d, &e), 0);
    rf_dataset_free(&d);
    rf_task *t = fold_task(data, "kfold", 0, dir);
    assert_int_equal(rf_eval_fold_handler(t, &e), -1);
    assert_string_equal(e.msg, "dataset: row 7: feature 0 is NaN");
    rf_task_free(t);
}

/* Training keys are train-stage's (one parser); a stage-only key, a
 * misspelt one, or a bad training value is refused before any work. */
static void test_option_keys(void **state)
{
    char data[PLEN];
    pathf(data, "%s/data.art", dir);
    const char *bad[][3] = {{"retain", "0.5", "with.retain: unknown key (see --help)"},
                            {"hiden", "8", "with.hiden: unknown key (see --help)"},
                            {"optimizer", "lbfgs", "with.optimizer: unknown value \"lbfgs\""},
                            {"epochs", "0", "with.epochs: a fold must train at least one "
                                            "epoch"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rf_task *t = fold_task(data, "kfold", 0, dir);
        rf_task_add_param(t, bad[i][0], bad[i][1]);
        rf_err e = {0};
        assert_int_equal(rf_eval_fold_handler(t, &e), -1);
        assert_int_equal(e.code, RF_EINVAL);
        assert_string_equal(e.msg, bad[i][2]);
        rf_task_free(t);
    }
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/rf_evalfold_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char data[PLEN];
    pathf(data, "%s/data.art", dir);
    write_class_dataset(data);
    return 0;
}

static int teardown(void **state)
{
    return rf_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_folds),
        cmocka_unit_test(test_stratified_group_folds),
        cmocka_unit_test(test_sequence_baselines),
        cmocka_unit_test(test_timeseries_regression),
        cmocka_unit_test(test_nan_feature),
        cmocka_unit_test(test_option_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
