/* Unit tests for the tuner's pure parts: rf_space, rf_sobol, rf_gp, the
 * samplers of rf_tune (random, grid, sobol, gp, tpe, nsga2) and rf_prune. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml/rf_gp.h"
#include "ml/rf_plot_tune.h"
#include "ml/rf_prune.h"
#include "ml/rf_sobol.h"
#include "ml/rf_space.h"
#include "ml/rf_tune.h"

#define assert_near(a, b, eps) assert_true(fabs((a) - (b)) <= (eps))

static const char *MIXED =
    "{\"optimizer\": {\"choice\": [\"sgd\", \"adam\"]},"
    " \"lr\": {\"loguniform\": [1e-4, 1e-1]},"
    " \"momentum\": {\"uniform\": [0, 0.99], \"when\": {\"optimizer\": \"sgd\"}},"
    " \"hidden\": {\"choice\": [[64], [64, 32], [128, 64, 32]]},"
    " \"batch\": {\"logint\": [8, 512]},"
    " \"epochs\": {\"int\": [5, 50]}}";

static void parse(const char *text, rf_space *s)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    assert_non_null(j);
    rf_err e = {0};
    int rc = rf_space_parse(j, s, &e);
    if (rc)
        fail_msg("%s", e.msg);
    json_decref(j);
}

static void expect_bad(const char *text, const char *needle)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    rf_space s;
    rf_err e = {0};
    assert_int_equal(rf_space_parse(j, &s, &e), -1);
    assert_int_equal(e.code, RF_EINVAL);
    if (!strstr(e.msg, needle))
        fail_msg("'%s' lacks '%s'", e.msg, needle);
    assert_int_equal(s.n, 0);
    json_decref(j);
}

static void test_space_bad(void **state)
{
    (void)state;
    expect_bad("{}", "non-empty");
    expect_bad("{\"a\": {\"uniform\": [1, 1]}}", "a: uniform range [1, 1] is empty");
    expect_bad("{\"a\": {\"int\": [5, 2]}}", "inverted");
    expect_bad("{\"a\": {\"loguniform\": [0, 1]}}", "must be > 0");
    expect_bad("{\"a\": {\"logint\": [0, 9]}}", ">= 1");
    expect_bad("{\"a\": {\"int\": [0.5, 9]}}", "integers");
    expect_bad("{\"a\": {\"normal\": [0, 1]}}", "unknown key 'normal'");
    expect_bad("{\"a\": {\"choice\": []}}", "non-empty list");
    expect_bad("{\"a\": {\"choice\": [1, 1]}}", "repeats");
    expect_bad("{\"a\": {\"uniform\": [0, 1], \"when\": {\"zz\": 1}}}",
               "unknown parameter 'zz'");
    expect_bad("{\"a\": {\"uniform\": [0, 1]}, \"b\": {\"uniform\": [0, 1],"
               " \"when\": {\"a\": 1}}}", "not one");
    expect_bad("{\"a\": {\"choice\": [1, 2], \"when\": {\"b\": 1}},"
               " \"b\": {\"choice\": [1, 2], \"when\": {\"a\": 1}}}", "cycle");
    expect_bad("{\"a\": {\"choice\": [1], \"when\": {\"a\": 1}}}", "another");
}

static void test_space_default(void **state)
{
    (void)state;
    rf_space s;
    parse(rf_space_train_default, &s);
    assert_int_equal(s.n, 10);
    assert_true(rf_space_find(&s, "weight_decay") >= 0);
    assert_true(s.p[rf_space_find(&s, "momentum")].parent == rf_space_find(&s, "optimizer"));
    rf_space_free(&s);
}

static void test_space_roundtrip(void **state)
{
    (void)state;
    rf_space s;
    parse(MIXED, &s);
    assert_int_equal(s.n, 6);
    json_t *v = json_loads("{\"optimizer\": \"adam\", \"lr\": 0.01, \"hidden\":"
                           " [64, 32], \"batch\": 64, \"epochs\": 7}", 0, NULL);
    double u[6];
    rf_err e = {0};
    assert_int_equal(rf_space_encode(&s, v, u, &e), 0);
    assert_true(isnan(u[rf_space_find(&s, "momentum")]));
    json_t *back = rf_space_decode(&s, u);
    assert_near(json_real_value(json_object_get(back, "lr")), 0.01, 1e-15);
    json_object_set_new(back, "lr", json_real(0.01));
    assert_true(json_equal(v, back));
    json_decref(back);
    /* momentum is refused for adam and demanded for sgd */
    json_object_set_new(v, "momentum", json_real(0.9));
    assert_int_equal(rf_space_encode(&s, v, u, &e), -1);
    json_object_set_new(v, "optimizer", json_string("sgd"));
    assert_int_equal(rf_space_encode(&s, v, u, &e), 0);
    json_object_del(v, "momentum");
    assert_int_equal(rf_space_encode(&s, v, u, &e), -1);
    assert_non_null(strstr(e.msg, "momentum: missing"));
    json_object_set_new(v, "momentum", json_real(1.5));
    assert_int_equal(rf_space_encode(&s, v, u, &e), -1);
    assert_non_null(strstr(e.msg, "outside"));
    json_decref(v);
    rf_space_free(&s);
}

/* Published first points (Joe-Kuo new-joe-kuo-6.21201, Gray-code order;
 * the same as scipy.stats.qmc.Sobol(d=8, scramble=False)). */
static const double SOBOL8[8][8] = {
    {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
    {0.75, 0.25, 0.25, 0.25, 0.75, 0.75, 0.25, 0.75},
    {0.25, 0.75, 0.75, 0.75, 0.25, 0.25, 0.75, 0.25},
    {0.375, 0.375, 0.625, 0.875, 0.375, 0.125, 0.375, 0.875},
    {0.875, 0.875, 0.125, 0.375, 0.875, 0.625, 0.875, 0.375},
    {0.625, 0.125, 0.875, 0.625, 0.625, 0.875, 0.125, 0.125},
    {0.125, 0.625, 0.375, 0.125, 0.125, 0.375, 0.625, 0.625},
    {0.1875, 0.3125, 0.9375, 0.4375, 0.5625, 0.3125, 0.4375, 0.9375},
};

static void test_sobol(void **state)
{
    (void)state;
    double x[RF_SOBOL_MAX_DIM];
    rf_err e = {0};
    assert_int_equal(rf_sobol_point(0, 8, NULL, x, &e), 0);
    for (int j = 0; j < 8; j++)
        assert_true(x[j] == 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(rf_sobol_point((uint64_t)i + 1, 8, NULL, x, &e), 0);
        for (int j = 0; j < 8; j++)
            assert_true(x[j] == SOBOL8[i][j]);
    }
    /* 2^k points of any one dimension hit each 1/2^k cell once */
    for (size_t j = 0; j < RF_SOBOL_MAX_DIM; j += 7) {
        int hit[64] = {0};
        for (uint64_t i = 0; i < 64; i++) {
            assert_int_equal(rf_sobol_point(i, RF_SOBOL_MAX_DIM, NULL, x, &e), 0);
            hit[(int)(x[j] * 64)]++;
        }
        for (int c = 0; c < 64; c++)
            assert_int_equal(hit[c], 1);
    }
    assert_int_equal(rf_sobol_point(1, RF_SOBOL_MAX_DIM + 1, NULL, x, &e), -1);
}

static void test_grid(void **state)
{
    (void)state;
    rf_space s;
    parse("{\"a\": {\"choice\": [\"x\", \"y\", \"z\"]}, \"b\": {\"int\": [1, 2]},"
          " \"m\": {\"uniform\": [0, 1], \"when\": {\"a\": \"x\"}}}", &s);
    /* x: 2 b * 3 m; y, z: 2 b each */
    assert_int_equal(rf_grid_size(&s, 3), 10);
    json_t *seen = json_array();
    double u[3];
    rf_err e = {0};
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(rf_grid_point(&s, 3, i, u, &e), 0);
        json_t *v = rf_space_decode(&s, u);
        for (size_t k = 0; k < json_array_size(seen); k++)
            assert_false(json_equal(v, json_array_get(seen, k)));
        const char *a = json_string_value(json_object_get(v, "a"));
        assert_int_equal(json_object_get(v, "m") != NULL, !strcmp(a, "x"));
        if (!strcmp(a, "x")) {
            double m = json_real_value(json_object_get(v, "m"));
            assert_true(m == 0 || m == 0.5 || m == 1);
        }
        json_array_append_new(seen, v);
    }
    assert_int_equal(rf_grid_point(&s, 3, 10, u, &e), -1);
    assert_int_equal(e.code, RF_ENOTFOUND);
    json_decref(seen);
    rf_space_free(&s);
}

/* Synthetic objective on the mixed space: best at adam, lr 1e-2, 64x32. */
static double mixed_objective(const rf_space *s, const double *u)
{
    json_t *v = rf_space_decode(s, u);
    double lr = json_real_value(json_object_get(v, "lr"));
    double f = pow(log10(lr) + 2, 2);
    f += strcmp(json_string_value(json_object_get(v, "optimizer")), "adam") ? 1 : 0;
    f += json_array_size(json_object_get(v, "hidden")) == 2 ? 0 : 0.5;
    json_decref(v);
    return f;
}

static void run_sampler(int sampler, size_t n_trials, double *best_out)
{
    rf_space s;
    parse(MIXED, &s);
    double *us = calloc(n_trials * s.n, sizeof *us), *ys = calloc(n_trials, sizeof *ys);
    rf_trial *h = calloc(n_trials, sizeof *h);
    rf_tune_cfg cfg = {.sampler = sampler, .seed = 42, .n_obj = 1,
                       .grid_points = 3};
    double best = INFINITY;
    rf_err e = {0};
    for (size_t t = 0; t < n_trials; t++) {
        double *u = us + t * s.n;
        if (rf_tune_propose(&s, &cfg, h, t, t, u, &e) < 0)
            fail_msg("%s: %s", rf_sampler_name(sampler), e.msg);
        for (size_t i = 0; i < s.n; i++) {
            int active = rf_space_active(&s, u, i);
            assert_int_equal(isnan(u[i]), !active);
            if (active)
                assert_true(u[i] >= 0 && u[i] <= 1);
        }
        json_t *v = rf_space_decode(&s, u);  /* decodes into the space */
        double back[6];
        if (rf_space_encode(&s, v, back, &e) < 0)
            fail_msg("%s: %s", rf_sampler_name(sampler), e.msg);
        json_decref(v);
        ys[t] = mixed_objective(&s, u);
        best = fmin(best, ys[t]);
        h[t] = (rf_trial){u, &ys[t], RF_TRIAL_COMPLETE};
    }
    /* same history, same proposal */
    double a[6], b[6];
    assert_int_equal(rf_tune_propose(&s, &cfg, h, n_trials / 2, n_trials / 2, a, &e), 0);
    memcpy(b, us + (n_trials / 2) * s.n, sizeof b);
    for (size_t i = 0; i < s.n; i++)
        assert_true(a[i] == b[i] || (isnan(a[i]) && isnan(b[i])));
    *best_out = best;
    free(us), free(ys), free(h);
    rf_space_free(&s);
}

static void test_samplers_in_space(void **state)
{
    (void)state;
    double best[6];
    for (int smp = RF_SAMPLER_RANDOM; smp <= RF_SAMPLER_NSGA2; smp++)
        run_sampler(smp, 40, &best[smp]);
    /* TPE, the sampler for categorical and conditional spaces, finds adam,
     * 64x32, lr near 1e-2, and does better than random search */
    assert_true(best[RF_SAMPLER_TPE] < 0.05);
    assert_true(best[RF_SAMPLER_TPE] < best[RF_SAMPLER_RANDOM]);
}

/* The GP on a smooth continuous function: near the optimum within 25
 * trials, and far better than random search with the same budget. */
static void test_gp_learns(void **state)
{
    (void)state;
    rf_space s;
    parse("{\"a\": {\"uniform\": [-2, 2]}, \"b\": {\"uniform\": [-2, 2]}}", &s);
    double best[2];
    for (int k = 0; k < 2; k++) {
        double us[25 * 2], ys[25];
        rf_trial h[25];
        rf_tune_cfg cfg = {.sampler = k ? RF_SAMPLER_GP : RF_SAMPLER_RANDOM, .seed = 3,
                           .n_obj = 1};
        rf_err e = {0};
        best[k] = INFINITY;
        for (size_t t = 0; t < 25; t++) {
            assert_int_equal(rf_tune_propose(&s, &cfg, h, t, t, us + 2 * t, &e), 0);
            double a = -2 + 4 * us[2 * t], b = -2 + 4 * us[2 * t + 1];
            ys[t] = (a - 0.7) * (a - 0.7) + 2 * (b + 0.4) * (b + 0.4);
            best[k] = fmin(best[k], ys[t]);
            h[t] = (rf_trial){us + 2 * t, &ys[t], RF_TRIAL_COMPLETE};
        }
    }
    assert_true(best[1] < 1e-3);
    assert_true(best[1] < best[0] / 10);
    rf_space_free(&s);
}

static double dist2(const double *a, const double *b)
{
    return hypot(a[0] - b[0], a[1] - b[1]);
}

/* Constant liar: a GP proposal made while two trials are running keeps
 * away from their points, where the same history alone proposes (almost)
 * the same point again; rf_tune_propose_pending re-derives the running
 * trials' points itself and lands on the same answer. */
static void test_gp_constant_liar(void **state)
{
    (void)state;
    rf_space s;
    parse("{\"a\": {\"uniform\": [-2, 2]}, \"b\": {\"uniform\": [-2, 2]}}", &s);
    enum { N = 12 };
    double us[(N + 3) * 2], ys[N];
    rf_trial h[N + 3];
    rf_tune_cfg cfg = {.sampler = RF_SAMPLER_GP, .seed = 5, .n_obj = 1};
    rf_err e = {0};
    for (size_t t = 0; t < N; t++) {
        assert_int_equal(rf_tune_propose(&s, &cfg, h, t, t, us + 2 * t, &e), 0);
        double a = -2 + 4 * us[2 * t], b = -2 + 4 * us[2 * t + 1];
        ys[t] = (a - 0.7) * (a - 0.7) + 2 * (b + 0.4) * (b + 0.4);
        h[t] = (rf_trial){us + 2 * t, &ys[t], RF_TRIAL_COMPLETE};
    }
    double *p1 = us + 2 * N, *p2 = us + 2 * (N + 1), *p3 = us + 2 * (N + 2);
    double alone[2], again[2];
    assert_int_equal(rf_tune_propose(&s, &cfg, h, N, N, p1, &e), 0);
    assert_int_equal(rf_tune_propose(&s, &cfg, h, N, N + 1, alone, &e), 0);
    assert_true(dist2(alone, p1) < 1e-3);   /* without liars: the same point */
    h[N] = (rf_trial){p1, NULL, RF_TRIAL_RUNNING};
    assert_int_equal(rf_tune_propose(&s, &cfg, h, N + 1, N + 1, p2, &e), 0);
    h[N + 1] = (rf_trial){p2, NULL, RF_TRIAL_RUNNING};
    assert_int_equal(rf_tune_propose(&s, &cfg, h, N + 2, N + 2, p3, &e), 0);
    assert_true(dist2(p2, p1) > 0.03);
    assert_true(dist2(p3, p1) > 0.03 && dist2(p3, p2) > 0.03);
    uint64_t pending[] = {N, N + 1};
    assert_int_equal(rf_tune_propose_pending(&s, &cfg, h, N, pending, 2, N + 2, again,
                                             &e), 0);
    assert_true(again[0] == p3[0] && again[1] == p3[1]);
    rf_space_free(&s);
}

/* TPE draws the always-active parameters jointly: good trials on the
 * diagonal clusters (0.2, 0.2), (0.8, 0.8), bad ones on the other two, with
 * the same marginals, so only a joint estimator keeps every proposal near
 * the good clusters (the univariate one: 25 of 40 here). */
static void test_tpe_joint(void **state)
{
    (void)state;
    rf_space s;
    parse("{\"x\": {\"uniform\": [0, 1]}, \"y\": {\"uniform\": [0, 1]}}", &s);
    enum { N = 40 };
    double us[N * 2], ys[N];
    rf_trial h[N];
    static const double at[4] = {0.2, 0.8, 0.21, 0.79};
    for (size_t t = 0; t < N; t++) {
        int on = t < 4;   /* the best 4 (n_below of 40) */
        double a = at[t % 4];
        us[2 * t] = a, us[2 * t + 1] = on ? a : 1 - a;
        ys[t] = on ? (double)t : 10 + (double)t;
        h[t] = (rf_trial){us + 2 * t, &ys[t], RF_TRIAL_COMPLETE};
    }
    rf_tune_cfg cfg = {.sampler = RF_SAMPLER_TPE, .seed = 9, .n_obj = 1};
    rf_err e = {0};
    int diag = 0, anti = 0;
    for (uint64_t k = 0; k < 40; k++) {
        double u[2];
        assert_int_equal(rf_tune_propose(&s, &cfg, h, N, N + k, u, &e), 0);
        for (int c = 0; c < 2; c++) {
            double a = c ? 0.8 : 0.2;
            diag += hypot(u[0] - a, u[1] - a) < 0.2;
            anti += hypot(u[0] - a, u[1] - (1 - a)) < 0.2;
        }
    }
    assert_true(diag >= 36 && anti == 0);   /* univariate: 25 of 40 */
    rf_space_free(&s);
}

static void test_sampler_names(void **state)
{
    (void)state;
    int v;
    rf_err e = {0};
    assert_int_equal(rf_sampler_parse("tpe", &v, &e), 0);
    assert_int_equal(v, RF_SAMPLER_TPE);
    assert_int_equal(rf_sampler_parse("cmaes", &v, &e), -1);
    assert_non_null(strstr(e.msg, "unknown sampler 'cmaes'"));
    assert_int_equal(rf_pruner_parse("hyperband", &v, &e), -1);
    assert_non_null(strstr(e.msg, "unknown pruner"));
}

static double m52(double r)
{
    return (1 + sqrt(5.0) * r + 5.0 / 3.0 * r * r) * exp(-sqrt(5.0) * r);
}

/* Two points, fixed hyperparameters: the posterior by the 2x2 inverse. */
static void test_gp_hand(void **state)
{
    (void)state;
    double x[2] = {0, 1}, y[2] = {3, 1}, xs = 0.25;
    rf_gp g = {0};
    g.ls[0] = 0.5, g.noise = 0.01;
    rf_err e = {0};
    assert_int_equal(rf_gp_fit(&g, x, y, 2, 1, 0, &e), 0);
    /* standardised: mean 2, sd sqrt(2); ys = +-1/sqrt2 */
    double sd = sqrt(2.0), ys[2] = {1 / sd, -1 / sd};
    double a = 1 + 0.01 + 1e-9, b = m52(2.0), det = a * a - b * b;
    double Ki[2][2] = {{a / det, -b / det}, {-b / det, a / det}};
    double k[2] = {m52(0.5), m52(1.5)};
    double mu = 0, q = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            mu += k[i] * Ki[i][j] * ys[j];
            q += k[i] * Ki[i][j] * k[j];
        }
    double mean, var;
    rf_gp_predict(&g, &xs, 1, &mean, &var);
    assert_near(mean, 2 + sd * mu, 1e-9);
    assert_near(var, 2 * (1 - q), 1e-9);
    /* at a training point the posterior nearly interpolates */
    rf_gp_predict(&g, &x[0], 1, &mean, &var);
    assert_near(mean, 3, 0.05);
    assert_true(var < 0.05);
    rf_gp_free(&g);
    /* fitting raises the marginal likelihood above the fixed start */
    double xx[12], yy[12];
    for (int i = 0; i < 12; i++)
        xx[i] = i / 11.0, yy[i] = sin(6 * xx[i]);
    rf_gp f0 = {0}, f1 = {0};
    f0.ls[0] = f1.ls[0] = 5, f0.noise = f1.noise = 0.1;
    assert_int_equal(rf_gp_fit(&f0, xx, yy, 12, 1, 0, &e), 0);
    assert_int_equal(rf_gp_fit(&f1, xx, yy, 12, 1, 1, &e), 0);
    assert_true(f1.lml > f0.lml + 1);
    rf_gp_free(&f0), rf_gp_free(&f1);
}

static void test_log_ei(void **state)
{
    (void)state;
    double m = 0.3, s = 0.7, best = 0.1, z = (best - m) / s;
    double ei = s * (z * 0.5 * erfc(-z / sqrt(2)) + exp(-z * z / 2) / sqrt(2 * M_PI));
    assert_near(rf_log_ei(m, s, best), log(ei), 1e-12);
    double far = rf_log_ei(40, 1, 0);     /* EI underflows; log-EI does not */
    assert_true(isfinite(far) && far < -700);
    assert_true(rf_log_ei(39, 1, 0) > far);
}

static void test_nondominated(void **state)
{
    (void)state;
    /* fronts: {(1,4), (2,2), (4,1)}, {(2,5), (3,3), (5,2)}, {(6,6)} */
    double y[] = {3, 3, 1, 4, 6, 6, 2, 2, 5, 2, 4, 1, 2, 5};
    size_t want[] = {1, 0, 2, 0, 1, 0, 1}, rank[7];
    double crowd[7];
    rf_err e = {0};
    assert_int_equal(rf_nondominated_sort(y, 7, 2, rank, crowd, &e), 0);
    for (int i = 0; i < 7; i++)
        assert_int_equal(rank[i], want[i]);
    assert_true(isinf(crowd[1]) && isinf(crowd[5]) && isinf(crowd[2]));
    assert_near(crowd[3], 1.0 + 1.0, 1e-12);  /* (4-1)/3 + (4-1)/3 */
    assert_near(crowd[0], 2.0, 1e-12);
}

static void test_prune(void **state)
{
    (void)state;
    double good[3][6] = {{1, .8, .6, .5, .4, .3}, {1.1, .9, .7, .6, .5, .4},
                         {.9, .7, .5, .4, .3, .2}};
    double more[2][6] = {{1.2, 1, .8, .7, .6, .5}, {1, .85, .65, .55, .45, .35}};
    rf_curve others[5] = {{good[0], 6}, {good[1], 6}, {good[2], 6},
                          {more[0], 6}, {more[1], 6}};
    double bad[6] = {3, 3, 3, 3, 3, 3}, fine[6] = {.9, .7, .55, .4, .3, .2};
    rf_prune_cfg c;
    rf_prune_cfg_default(&c, RF_PRUNER_MEDIAN);
    int stop;
    rf_err e = {0};
    rf_curve self = {bad, 2};
    assert_int_equal(rf_prune_check(&c, &self, others, 5, &stop, &e), 0);
    assert_int_equal(stop, 1);
    self.v = fine;
    assert_int_equal(rf_prune_check(&c, &self, others, 5, &stop, &e), 0);
    assert_int_equal(stop, 0);
    self.v = bad;  /* too few others yet: keep going */
    assert_int_equal(rf_prune_check(&c, &self, others, 3, &stop, &e), 0);
    assert_int_equal(stop, 0);
    rf_prune_cfg_default(&c, RF_PRUNER_ASHA);  /* rungs at steps 1, 3, 9 */
    self = (rf_curve){bad, 3};
    assert_int_equal(rf_prune_check(&c, &self, others, 5, &stop, &e), 0);
    assert_int_equal(stop, 1);
    self.n = 2;                                   /* between rungs */
    assert_int_equal(rf_prune_check(&c, &self, others, 5, &stop, &e), 0);
    assert_int_equal(stop, 0);
    self = (rf_curve){fine, 3};
    assert_int_equal(rf_prune_check(&c, &self, others, 5, &stop, &e), 0);
    assert_int_equal(stop, 0);
    self = (rf_curve){bad, 3};                    /* alone at its rung */
    assert_int_equal(rf_prune_check(&c, &self, others, 0, &stop, &e), 0);
    assert_int_equal(stop, 0);
}

static void test_plot_tune(void **state)
{
    (void)state;
    json_t *t = json_loads(
        "[{\"trial\": 1, \"state\": \"complete\", \"values\": [2, 1],"
        "  \"objective\": [\"loss\", \"size\"], \"direction\": [\"minimize\", \"minimize\"]},"
        " {\"trial\": 0, \"state\": \"complete\", \"values\": [1, 3]},"
        " {\"trial\": 2, \"state\": \"failed\", \"values\": null},"
        " {\"trial\": 3, \"state\": \"complete\", \"values\": [3, 3]}]", 0, NULL);
    assert_non_null(t);
    rf_buf b = RF_BUF_INIT;
    rf_err e = {0};
    assert_int_equal(rf_plot_tune_svg(&b, "s", t, &e), 0);
    assert_non_null(strstr(b.data, "best so far"));
    assert_non_null(strstr(b.data, "Pareto front"));
    assert_non_null(strstr(b.data, "<polyline"));
    rf_buf_free(&b);
    json_t *none = json_loads("[{\"trial\": 0, \"state\": \"failed\"}]", 0, NULL);
    assert_int_equal(rf_plot_tune_svg(&b, "s", none, &e), -1);
    assert_non_null(strstr(e.msg, "no complete trial"));
    rf_buf_free(&b);
    json_decref(t), json_decref(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_space_bad),
        cmocka_unit_test(test_space_default),
        cmocka_unit_test(test_space_roundtrip),
        cmocka_unit_test(test_sobol),
        cmocka_unit_test(test_grid),
        cmocka_unit_test(test_samplers_in_space),
        cmocka_unit_test(test_gp_learns),
        cmocka_unit_test(test_gp_constant_liar),
        cmocka_unit_test(test_tpe_joint),
        cmocka_unit_test(test_sampler_names),
        cmocka_unit_test(test_gp_hand),
        cmocka_unit_test(test_log_ei),
        cmocka_unit_test(test_nondominated),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_plot_tune),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
