/* Cross-checks rf_metrics and rf_cv against scikit-learn: the group setup
 * builds predictions and fold assignments, dumps them, and runs
 * tests/tools/sklearn_check.py once with Debian's /usr/bin/python3
 * (python3-sklearn: importing it takes seconds); each test then compares
 * our values with the reference. Skipped when that interpreter or sklearn
 * is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ml/rf_cv.h"
#include "ml/rf_dataset.h"
#include "ml/rf_metrics.h"

#define PY "/usr/bin/python3"
#define MAXV 512

/* Test data: classification (N_C rows, K_C classes), regression with 1
 * and 3 targets (N_R rows), fold assignments (N_F rows), time series. */
enum { N_C = 400, K_C = 5, N_R = 300, N_F = 600, K_F = 5 };
enum { TS_N = 103, TS_K = 4, TS_H = 12, TS_GAP = 3 };

static int32_t c_y[N_C];
static float c_prob[N_C * K_C];
static float r_y[2][N_R * 3], r_hat[2][N_R * 3];
static int32_t f_y[N_F], f_g[N_F];

typedef struct table {
    char name[MAXV][64];
    double v[MAXV];
    int n;
} table;

static table ref;           /* the checker's output */
static int have_ref;

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static double unif(uint32_t *s)
{
    return (lcg(s) & 0xffffff) / (double)0x1000000;
}

static FILE *temp_file(char *path)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, 256, "%s/rf_sk_XXXXXX", dir ? dir : "/tmp");
    int fd = mkstemp(path);
    return fd < 0 ? NULL : fdopen(fd, "w");
}

static double get(const char *name)
{
    for (int i = 0; i < ref.n; i++)
        if (!strcmp(ref.name[i], name))
            return ref.v[i];
    fail_msg("sklearn_check printed no %s", name);
    return NAN;
}

static void expect(const char *name, double ours, double tol)
{
    double r = get(name);
    if (!(fabs(ours - r) <= tol * fmax(1, fabs(r))))
        fail_msg("%s: ours %.12g, sklearn %.12g", name, ours, r);
}

/* ---- data -------------------------------------------------------------- */

static void make_classification(void)
{
    uint32_t s = 42;
    for (int i = 0; i < N_C; i++) {
        c_y[i] = (int32_t)(lcg(&s) % 4);            /* class 4 never true */
        double sum = 0;
        for (int j = 0; j < K_C; j++) {
            double w = unif(&s) + (j == c_y[i] ? 1.2 : 0) + (j == 3 ? 0.4 : 0);
            c_prob[i * K_C + j] = (float)(j == 4 ? 0.01 * w : w);
            sum += c_prob[i * K_C + j];
        }
        for (int j = 0; j < K_C; j++)
            c_prob[i * K_C + j] = (float)(c_prob[i * K_C + j] / sum);
        if (i % 50 == 0)            /* a few confident rows to exercise clipping */
            for (int j = 0; j < K_C; j++)
                c_prob[i * K_C + j] = j == (c_y[i] + 1) % 4;
    }
}

static void make_regression(int which, int T)
{
    float *y = r_y[which], *yhat = r_hat[which];
    uint32_t s = 7 + (uint32_t)T;
    for (int i = 0; i < N_R * T; i++) {
        /* a random walk, so directions are meaningful; some exact zeros */
        float prev = i >= T ? y[i - T] : 0;
        y[i] = (i % 37 == 5) ? 0 : prev + (float)(unif(&s) - 0.5);
        yhat[i] = y[i] + (float)(0.3 * (unif(&s) - 0.5)) + (i % 2 ? 0.05f : -0.02f);
    }
}

/* Sessions of 1..15 rows, mostly of one class, four unbalanced classes. */
static void make_groups(void)
{
    uint32_t s = 3;
    int group = 0;
    for (int i = 0; i < N_F;) {
        int len = 1 + (int)(lcg(&s) % 15);
        int32_t cls = (lcg(&s) % 10) < 6 ? 0 : (int32_t)(1 + lcg(&s) % 3);
        for (int j = 0; j < len && i < N_F; j++, i++) {
            f_g[i] = group;
            f_y[i] = (lcg(&s) % 4) ? cls : (int32_t)(lcg(&s) % 4);
        }
        group++;
    }
}

static int assign(int scheme, const rf_cv_rows *r, int32_t *fold)
{
    rf_cv_spec s;
    rf_cv_spec_default(&s);
    s.scheme = scheme;
    s.folds = K_F;
    rf_err e = {0};
    if (rf_cv_assign(&s, r, fold, NULL, NULL, &e) < 0) {
        fprintf(stderr, "assign %s: %s\n", rf_cv_scheme_name(scheme), e.msg);
        return -1;
    }
    return 0;
}

/* ---- dumps --------------------------------------------------------------- */

static int dump_classification(char *path)
{
    FILE *f = temp_file(path);
    if (!f)
        return -1;
    for (int i = 0; i < N_C; i++) {
        fprintf(f, "%d", c_y[i]);
        for (int j = 0; j < K_C; j++)
            fprintf(f, " %.9g", c_prob[i * K_C + j]);
        fputc('\n', f);
    }
    return fclose(f);
}

static int dump_regression(char *path, int which, int T)
{
    FILE *f = temp_file(path);
    if (!f)
        return -1;
    for (int i = 0; i < N_R; i++) {
        for (int j = 0; j < T; j++)
            fprintf(f, "%.9g ", r_y[which][i * T + j]);
        for (int j = 0; j < T; j++)
            fprintf(f, " %.9g", r_hat[which][i * T + j]);
        fputc('\n', f);
    }
    return fclose(f);
}

static int dump_folds(char *path)
{
    static int32_t fs[N_F], fg[N_F], fsg[N_F];
    rf_cv_rows r = {.n = N_F, .label = f_y, .n_classes = 4, .group = f_g};
    if (assign(RF_CV_STRATIFIED, &r, fs) || assign(RF_CV_GROUP, &r, fg) ||
        assign(RF_CV_STRATIFIED_GROUP, &r, fsg))
        return -1;
    FILE *f = temp_file(path);
    if (!f)
        return -1;
    for (int i = 0; i < N_F; i++)
        fprintf(f, "%d %d %d %d %d\n", f_y[i], f_g[i], fs[i], fg[i], fsg[i]);
    return fclose(f);
}

/* Runs the checker once on every dump; fills ref. Without sklearn (exit
 * 77) or without the interpreter (127) the tests skip. */
static int setup(void **state)
{
    make_classification();
    make_regression(0, 1);
    make_regression(1, 3);
    make_groups();
    char cp[256], r1[256], r3[256], fp[256];
    if (dump_classification(cp) || dump_regression(r1, 0, 1) || dump_regression(r3, 1, 3) ||
        dump_folds(fp))
        return -1;
    const char *root = getenv("RF_ROOT");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             PY " %s/tests/tools/sklearn_check.py cls:c %s %d + reg:r1 %s 1 + "
             "reg:r3 %s 3 + folds:f %s %d + ts:t %d %d %d %d",
             root ? root : ".", cp, K_C, r1, r3, fp, K_F, TS_N, TS_K, TS_H, TS_GAP);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    while (ref.n < MAXV && fscanf(p, "%63s %lf", ref.name[ref.n], &ref.v[ref.n]) == 2)
        ref.n++;
    int st = pclose(p);
    unlink(cp), unlink(r1), unlink(r3), unlink(fp);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (code == 77 || code == 127)
        return 0;
    have_ref = code == 0 && ref.n > 0;
    return have_ref ? 0 : -1;
}

/* ---- tests --------------------------------------------------------------- */

static void test_classification_vs_sklearn(void **state)
{
    if (!have_ref)
        skip();
    rf_preds p = {.kind = RF_CLASSIFICATION, .n = N_C, .n_classes = K_C,
                  .y_class = c_y, .prob = c_prob};
    rf_metrics m;
    rf_err e = {0};
    assert_int_equal(rf_metrics_compute(&p, 0, &m, &e), 0);
    expect("c.accuracy", m.cls.accuracy, 1e-12);
    expect("c.f1_macro", m.cls.f1_macro, 1e-12);
    expect("c.f1_micro", m.cls.f1_micro, 1e-12);
    expect("c.precision_macro", m.cls.precision_macro, 1e-12);
    expect("c.recall_macro", m.cls.recall_macro, 1e-12);
    expect("c.log_loss", m.cls.log_loss, 1e-6);    /* float32 probabilities */
    for (int c = 0; c < K_C; c++) {
        char name[64];
        snprintf(name, sizeof name, "c.precision_%d", c);
        expect(name, m.cls.precision[c], 1e-12);
        snprintf(name, sizeof name, "c.recall_%d", c);
        expect(name, m.cls.recall[c], 1e-12);
        snprintf(name, sizeof name, "c.f1_%d", c);
        expect(name, m.cls.f1[c], 1e-12);
        for (int d = 0; d < K_C; d++) {
            snprintf(name, sizeof name, "c.confusion_%d_%d", c, d);
            expect(name, (double)m.cls.confusion[c * K_C + d], 0);
        }
    }
    rf_metrics_free(&m);
}

static void check_regression(const char *prefix, int which, int T)
{
    rf_preds p = {.kind = RF_REGRESSION, .n = N_R, .n_targets = (size_t)T,
                  .y_reg = r_y[which], .y_hat = r_hat[which]};
    rf_metrics m;
    rf_err e = {0};
    char name[64];
    assert_int_equal(rf_metrics_compute(&p, 1, &m, &e), 0);
#define EXPECT(field, value, tol)                               \
    snprintf(name, sizeof name, "%s.%s", prefix, field);        \
    expect(name, value, tol)
    EXPECT("mse", m.reg.mse, 1e-9);
    EXPECT("mae", m.reg.mae, 1e-9);
    EXPECT("r2", m.reg.r2, 1e-9);
    EXPECT("mape", m.reg.mape, 1e-9);
    EXPECT("mape_zero", (double)m.reg.mape_zero, 0);
    EXPECT("directional", m.reg.directional, 1e-12);
    if (T == 1) {
        EXPECT("rmse", m.reg.rmse, 1e-9);
    }
#undef EXPECT
}

static void test_regression_vs_sklearn(void **state)
{
    if (!have_ref)
        skip();
    check_regression("r1", 0, 1);
    check_regression("r3", 1, 3);
}

/* Fold properties, not indices: ours must be at least as good as sklearn's
 * on the quantity each scheme optimizes. */
static void test_folds_vs_sklearn(void **state)
{
    if (!have_ref)
        skip();
    assert_true(get("f.strat_maxdev_ours") < 1);
    assert_true(get("f.strat_maxdev_ours") <= get("f.strat_maxdev_sklearn") + 1e-9);
    assert_true(get("f.strat_range_ours") <= get("f.strat_range_sklearn"));
    assert_true(get("f.group_range_ours") <= get("f.group_range_sklearn"));
    /* The greedy must keep class shares about as even as sklearn's, and
     * clearly more even than grouping by size alone. */
    double sg = get("f.sg_spread_ours"), sk = get("f.sg_spread_sklearn");
    print_message("stratified-group class-share spread: ours %.4f, sklearn %.4f, "
                  "group-only %.4f\n", sg, sk, get("f.sg_spread_group_ours"));
    if (!(sg <= sk * 1.25 + 1e-3))
        fail_msg("stratified-group spread %.4f vs sklearn %.4f", sg, sk);
    assert_true(sg < get("f.sg_spread_group_ours"));
}

/* TimeSeriesSplit has no randomness: windows must match index for index. */
static void test_timeseries_vs_sklearn(void **state)
{
    if (!have_ref)
        skip();
    for (int sliding = 0; sliding < 2; sliding++) {
        rf_cv_spec s;
        rf_cv_spec_default(&s);
        s.scheme = RF_CV_TIMESERIES;
        s.folds = TS_K, s.horizon = TS_H, s.gap = TS_GAP, s.expanding = !sliding;
        for (size_t f = 0; f < TS_K; f++) {
            rf_cv_window w;
            rf_err e = {0};
            assert_int_equal(rf_cv_timeseries_window(&s, TS_N, f, &w, &e), 0);
            const char *mode = sliding ? "sliding" : "expanding";
            char name[64];
            snprintf(name, sizeof name, "t.%s_%zu_train_begin", mode, f);
            expect(name, (double)w.train_begin, 0);
            snprintf(name, sizeof name, "t.%s_%zu_train_end", mode, f);
            expect(name, (double)w.train_end, 0);
            snprintf(name, sizeof name, "t.%s_%zu_test_begin", mode, f);
            expect(name, (double)w.test_begin, 0);
            snprintf(name, sizeof name, "t.%s_%zu_test_end", mode, f);
            expect(name, (double)w.test_end, 0);
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
    return cmocka_run_group_tests(tests, setup, NULL);
}
