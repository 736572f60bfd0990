/* Cross-checks rf_metrics and rf_cv against scikit-learn: dumps
 * predictions and fold assignments, runs tests/tools/sklearn_check.py with
 * Debian's /usr/bin/python3 (python3-sklearn) and compares. Skipped when
 * that interpreter cannot import sklearn. */
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

#include "rf_cv.h"
#include "rf_dataset.h"
#include "rf_metrics.h"

#define PY "/usr/bin/python3"
#define MAXV 256

typedef struct table {
    char name[MAXV][48];
    double v[MAXV];
    int n;
} table;

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static double unif(uint32_t *s)
{
    return (lcg(s) & 0xffffff) / (double)0x1000000;
}

/* Asked once: importing sklearn takes seconds. */
static int have_sklearn(void)
{
    static int known = -1;
    if (known < 0)
        known = system(PY " -c 'import sklearn' >/dev/null 2>&1") == 0;
    return known;
}

static FILE *temp_file(char *path)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, 256, "%s/rf_sk_XXXXXX", dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    return fdopen(fd, "w");
}

/* Runs the checker with args and reads its "name value" lines. */
static void run_checker(const char *args, table *t)
{
    const char *root = getenv("RF_ROOT");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, PY " %s/tests/tools/sklearn_check.py %s",
             root ? root : ".", args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    t->n = 0;
    while (t->n < MAXV && fscanf(p, "%47s %lf", t->name[t->n], &t->v[t->n]) == 2)
        t->n++;
    assert_int_equal(pclose(p), 0);
    assert_true(t->n > 0);
}

static double get(const table *t, const char *name)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->name[i], name))
            return t->v[i];
    fail_msg("sklearn_check printed no %s", name);
    return NAN;
}

static void expect(const table *t, const char *name, double ours, double tol)
{
    double ref = get(t, name);
    if (!(fabs(ours - ref) <= tol * fmax(1, fabs(ref))))
        fail_msg("%s: ours %.12g, sklearn %.12g", name, ours, ref);
}

static void test_classification_vs_sklearn(void **state)
{
    if (!have_sklearn())
        skip();
    enum { N = 400, K = 5 };
    static int32_t y[N];
    static float prob[N * K];
    uint32_t s = 42;
    for (int i = 0; i < N; i++) {
        y[i] = (int32_t)(lcg(&s) % 4);            /* class 4 never true */
        double sum = 0;
        for (int j = 0; j < K; j++) {
            double w = unif(&s) + (j == y[i] ? 1.2 : 0) + (j == 3 ? 0.4 : 0);
            prob[i * K + j] = (float)(j == 4 ? 0.01 * w : w);
            sum += prob[i * K + j];
        }
        for (int j = 0; j < K; j++)
            prob[i * K + j] = (float)(prob[i * K + j] / sum);
        if (i % 50 == 0)            /* a few confident rows to exercise clipping */
            for (int j = 0; j < K; j++)
                prob[i * K + j] = j == (y[i] + 1) % 4;
    }
    char path[256];
    FILE *f = temp_file(path);
    for (int i = 0; i < N; i++) {
        fprintf(f, "%d", y[i]);
        for (int j = 0; j < K; j++)
            fprintf(f, " %.9g", prob[i * K + j]);
        fputc('\n', f);
    }
    fclose(f);
    table t;
    char args[400];
    snprintf(args, sizeof args, "cls %s %d", path, K);
    run_checker(args, &t);
    unlink(path);

    rf_preds p = {.kind = RF_CLASSIFICATION, .n = N, .n_classes = K,
                  .y_class = y, .prob = prob};
    rf_metrics m;
    rf_err e = {0};
    assert_int_equal(rf_metrics_compute(&p, 0, &m, &e), 0);
    expect(&t, "accuracy", m.cls.accuracy, 1e-12);
    expect(&t, "f1_macro", m.cls.f1_macro, 1e-12);
    expect(&t, "f1_micro", m.cls.f1_micro, 1e-12);
    expect(&t, "precision_macro", m.cls.precision_macro, 1e-12);
    expect(&t, "recall_macro", m.cls.recall_macro, 1e-12);
    expect(&t, "log_loss", m.cls.log_loss, 1e-6);   /* float32 probabilities */
    for (int c = 0; c < K; c++) {
        char name[48];
        snprintf(name, sizeof name, "precision_%d", c);
        expect(&t, name, m.cls.precision[c], 1e-12);
        snprintf(name, sizeof name, "recall_%d", c);
        expect(&t, name, m.cls.recall[c], 1e-12);
        snprintf(name, sizeof name, "f1_%d", c);
        expect(&t, name, m.cls.f1[c], 1e-12);
        for (int d = 0; d < K; d++) {
            snprintf(name, sizeof name, "confusion_%d_%d", c, d);
            expect(&t, name, (double)m.cls.confusion[c * K + d], 0);
        }
    }
    rf_metrics_free(&m);
}

static void check_regression(int T)
{
    enum { N = 300 };
    static float y[N * 3], yhat[N * 3];
    uint32_t s = 7 + (uint32_t)T;
    for (int i = 0; i < N * T; i++) {
        /* a random walk, so directions are meaningful; some exact zeros */
        float prev = i >= T ? y[i - T] : 0;
        y[i] = (i % 37 == 5) ? 0 : prev + (float)(unif(&s) - 0.5);
        yhat[i] = y[i] + (float)(0.3 * (unif(&s) - 0.5)) + (i % 2 ? 0.05f : -0.02f);
    }
    char path[256];
    FILE *f = temp_file(path);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < T; j++)
            fprintf(f, "%.9g ", y[i * T + j]);
        for (int j = 0; j < T; j++)
            fprintf(f, " %.9g", yhat[i * T + j]);
        fputc('\n', f);
    }
    fclose(f);
    table t;
    char args[400];
    snprintf(args, sizeof args, "reg %s %d", path, T);
    run_checker(args, &t);
    unlink(path);

    rf_preds p = {.kind = RF_REGRESSION, .n = N, .n_targets = (size_t)T,
                  .y_reg = y, .y_hat = yhat};
    rf_metrics m;
    rf_err e = {0};
    assert_int_equal(rf_metrics_compute(&p, 1, &m, &e), 0);
    expect(&t, "mse", m.reg.mse, 1e-9);
    expect(&t, "mae", m.reg.mae, 1e-9);
    expect(&t, "r2", m.reg.r2, 1e-9);
    expect(&t, "mape", m.reg.mape, 1e-9);
    expect(&t, "mape_zero", (double)m.reg.mape_zero, 0);
    expect(&t, "directional", m.reg.directional, 1e-12);
    if (T == 1)
        expect(&t, "rmse", m.reg.rmse, 1e-9);
}

static void test_regression_vs_sklearn(void **state)
{
    if (!have_sklearn())
        skip();
    check_regression(1);
    check_regression(3);
}

static void assign(int scheme, size_t k, const rf_cv_rows *r, int32_t *fold)
{
    rf_cv_spec s;
    rf_cv_spec_default(&s);
    s.scheme = scheme;
    s.folds = k;
    rf_err e = {0};
    if (rf_cv_assign(&s, r, fold, NULL, NULL, &e) < 0)
        fail_msg("%s", e.msg);
}

/* Fold properties, not indices: ours must be at least as good as sklearn's
 * on the quantity each scheme optimizes. */
static void test_folds_vs_sklearn(void **state)
{
    if (!have_sklearn())
        skip();
    enum { N = 600, K = 5 };
    static int32_t y[N], g[N], fs[N], fg[N], fsg[N];
    uint32_t s = 3;
    int group = 0;
    for (int i = 0; i < N;) {
        int len = 1 + (int)(lcg(&s) % 15);
        int32_t cls = (lcg(&s) % 10) < 6 ? 0 : (int32_t)(1 + lcg(&s) % 3);
        for (int j = 0; j < len && i < N; j++, i++) {
            g[i] = group;
            y[i] = (lcg(&s) % 4) ? cls : (int32_t)(lcg(&s) % 4);
        }
        group++;
    }
    rf_cv_rows r = {.n = N, .label = y, .n_classes = 4, .group = g};
    assign(RF_CV_STRATIFIED, K, &r, fs);
    assign(RF_CV_GROUP, K, &r, fg);
    assign(RF_CV_STRATIFIED_GROUP, K, &r, fsg);
    char path[256];
    FILE *f = temp_file(path);
    for (int i = 0; i < N; i++)
        fprintf(f, "%d %d %d %d %d\n", y[i], g[i], fs[i], fg[i], fsg[i]);
    fclose(f);
    table t;
    char args[400];
    snprintf(args, sizeof args, "folds %s %d", path, K);
    run_checker(args, &t);
    unlink(path);
    assert_true(get(&t, "strat_maxdev_ours") < 1);
    assert_true(get(&t, "strat_maxdev_ours") <= get(&t, "strat_maxdev_sklearn") + 1e-9);
    assert_true(get(&t, "strat_range_ours") <= get(&t, "strat_range_sklearn"));
    assert_true(get(&t, "group_range_ours") <= get(&t, "group_range_sklearn"));
    /* The greedy must keep class shares about as even as sklearn's, and
     * clearly more even than grouping by size alone. */
    double sg = get(&t, "sg_spread_ours"), sk = get(&t, "sg_spread_sklearn");
    print_message("stratified-group class-share spread: ours %.4f, sklearn %.4f, "
                  "group-only %.4f\n", sg, sk, get(&t, "sg_spread_group_ours"));
    if (!(sg <= sk * 1.25 + 1e-3))
        fail_msg("stratified-group spread %.4f vs sklearn %.4f", sg, sk);
    assert_true(sg < get(&t, "sg_spread_group_ours"));
}

static void test_timeseries_vs_sklearn(void **state)
{
    if (!have_sklearn())
        skip();
    const size_t n = 103, k = 4, h = 12, gap = 3;
    table t;
    char args[128];
    snprintf(args, sizeof args, "ts %zu %zu %zu %zu", n, k, h, gap);
    run_checker(args, &t);
    for (int sliding = 0; sliding < 2; sliding++) {
        rf_cv_spec s;
        rf_cv_spec_default(&s);
        s.scheme = RF_CV_TIMESERIES;
        s.folds = k, s.horizon = h, s.gap = gap, s.expanding = !sliding;
        for (size_t f = 0; f < k; f++) {
            rf_cv_window w;
            rf_err e = {0};
            assert_int_equal(rf_cv_timeseries_window(&s, n, f, &w, &e), 0);
            const char *mode = sliding ? "sliding" : "expanding";
            char name[48];
            snprintf(name, sizeof name, "%s_%zu_train_begin", mode, f);
            expect(&t, name, (double)w.train_begin, 0);
            snprintf(name, sizeof name, "%s_%zu_train_end", mode, f);
            expect(&t, name, (double)w.train_end, 0);
            snprintf(name, sizeof name, "%s_%zu_test_begin", mode, f);
            expect(&t, name, (double)w.test_begin, 0);
            snprintf(name, sizeof name, "%s_%zu_test_end", mode, f);
            expect(&t, name, (double)w.test_end, 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classification_vs_sklearn),
        cmocka_unit_test(test_regression_vs_sklearn),
        cmocka_unit_test(test_folds_vs_sklearn),
        cmocka_unit_test(test_timeseries_vs_sklearn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
