/* tune_bench: the tuner on Branin and Hartmann-6 written in the exec form.
 *   tune_bench eval FUNC                    the objective: JSON params on
 *                                           stdin, {"value": f} on stdout
 *   tune_bench run FUNC SAMPLER SEEDS N     SEEDS searches of N trials, each
 *                                           trial run through rf_proc as a
 *                                           tune-trial runs it; prints the
 *                                           median best at 30, 60, 100
 *   tune_bench overhead N                   ms per GP proposal with N
 *                                           finished Hartmann-6 trials */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rf_proc.h"
#include "base/rf_time.h"
#include "ml/rf_space.h"
#include "ml/rf_tune.h"

static double branin(const double *x)
{
    double a = 1, b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, r = 6, s = 10,
           t = 1 / (8 * M_PI);
    double q = x[1] - b * x[0] * x[0] + c * x[0] - r;
    return a * q * q + s * (1 - t) * cos(x[0]) + s;
}

static double hartmann6(const double *x)
{
    static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8}, {0.05, 10, 17, 0.1, 8, 14},
                                   {3, 3.5, 1.7, 10, 17, 8}, {17, 8, 0.05, 10, 0.1, 14}};
    static const double P[4][6] = {{.1312, .1696, .5569, .0124, .8283, .5886},
                                   {.2329, .4135, .8307, .3736, .1004, .9991},
                                   {.2348, .1451, .3522, .2883, .3047, .6650},
                                   {.4047, .8828, .8732, .5743, .1091, .0381}};
    static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
    double f = 0;
    for (int i = 0; i < 4; i++) {
        double e = 0;
        for (int j = 0; j < 6; j++)
            e += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
        f -= alpha[i] * exp(-e);
    }
    return f;
}

static const char *BRANIN = "{\"x1\": {\"uniform\": [-5, 10]}, \"x2\": {\"uniform\": [0, 15]}}";
static const char *HART6 = "{\"x1\": {\"uniform\": [0, 1]}, \"x2\": {\"uniform\": [0, 1]},"
    " \"x3\": {\"uniform\": [0, 1]}, \"x4\": {\"uniform\": [0, 1]},"
    " \"x5\": {\"uniform\": [0, 1]}, \"x6\": {\"uniform\": [0, 1]}}";

static int is_branin(const char *f)
{
    return !strcmp(f, "branin");
}

static int eval_main(const char *func)
{
    json_error_t je;
    json_t *p = json_loadf(stdin, 0, &je);
    if (!json_is_object(p)) {
        fprintf(stderr, "eval: stdin is not a JSON object: %s\n", je.text);
        return 1;
    }
    double x[6];
    int d = is_branin(func) ? 2 : 6;
    for (int j = 0; j < d; j++) {
        char k[16];
        snprintf(k, sizeof k, "x%d", j + 1);
        x[j] = json_number_value(json_object_get(p, k));
    }
    printf("{\"value\": %.17g}\n", is_branin(func) ? branin(x) : hartmann6(x));
    json_decref(p);
    return 0;
}

static double exec_trial(const char *self, const char *func, const json_t *params)
{
    char *const argv[] = {(char *)self, "eval", (char *)func, NULL};
    char *in = json_dumps(params, JSON_COMPACT);
    rf_buf out = RF_BUF_INIT;
    rf_proc_result res;
    rf_err e = {0};
    double v = NAN;
    if (rf_proc_run(argv, in, strlen(in), 10000, NULL, &out, &res, &e) == 0 &&
        res.exited && res.code == 0) {
        json_t *o = json_loadb(out.data, out.len, 0, NULL);
        v = json_number_value(json_object_get(o, "value"));
        json_decref(o);
    }
    free(in);
    rf_buf_free(&out);
    return v;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void parse_space(const char *func, rf_space *s)
{
    json_t *j = json_loads(is_branin(func) ? BRANIN : HART6, 0, NULL);
    rf_err e = {0};
    if (rf_space_parse(j, s, &e) < 0)
        fprintf(stderr, "%s\n", e.msg), exit(1);
    json_decref(j);
}

/* One search; best[t] = best value after t + 1 trials. */
static void search(const char *self, const char *func, int sampler, uint64_t seed,
                   size_t n, double *best, double *ms_total)
{
    rf_space s;
    parse_space(func, &s);
    double *u = calloc(n * s.n, sizeof *u), *y = calloc(n, sizeof *y);
    rf_trial *h = calloc(n, sizeof *h);
    rf_tune_cfg cfg = {.sampler = sampler, .seed = seed, .n_obj = 1, .grid_points = 10};
    rf_err e = {0};
    double b = INFINITY;
    for (size_t t = 0; t < n; t++) {
        int64_t t0 = rf_mono_ms();
        if (rf_tune_propose(&s, &cfg, h, t, t, u + t * s.n, &e) < 0)
            fprintf(stderr, "%s\n", e.msg), exit(1);
        *ms_total += (double)(rf_mono_ms() - t0);
        json_t *p = rf_space_decode(&s, u + t * s.n);
        y[t] = exec_trial(self, func, p);
        json_decref(p);
        h[t] = (rf_trial){u + t * s.n, &y[t], isfinite(y[t]) ? RF_TRIAL_COMPLETE
                                                               : RF_TRIAL_FAILED};
        if (y[t] < b)
            b = y[t];
        best[t] = b;
    }
    free(u), free(y), free(h);
    rf_space_free(&s);
}

static int run_main(const char *self, const char *func, const char *smp, int seeds,
                    size_t n)
{
    int sampler;
    rf_err e = {0};
    if (rf_sampler_parse(smp, &sampler, &e) < 0)
        return fprintf(stderr, "%s\n", e.msg), 2;
    double *best = malloc((size_t)seeds * n * sizeof *best), ms = 0;
    for (int k = 0; k < seeds; k++)
        search(self, func, sampler, (uint64_t)k, n, best + (size_t)k * n, &ms);
    printf("{\"func\": \"%s\", \"sampler\": \"%s\", \"ms_per_proposal\": %.4g",
           func, smp, ms / (double)(seeds * (int)n));
    const size_t at[3] = {30, 60, 100};
    for (int i = 0; i < 3; i++) {
        if (at[i] > n)
            continue;
        double col[256];
        for (int k = 0; k < seeds && k < 256; k++)
            col[k] = best[(size_t)k * n + at[i] - 1];
        qsort(col, (size_t)seeds, sizeof *col, cmp);
        double med = seeds % 2 ? col[seeds / 2] : 0.5 * (col[seeds / 2 - 1] + col[seeds / 2]);
        printf(", \"%zu\": %.8g", at[i], med);
    }
    printf("}\n");
    free(best);
    return 0;
}

/* ms per GP proposal with n finished Hartmann-6 trials (random history). */
static int overhead_main(size_t n)
{
    rf_space s;
    parse_space("hartmann6", &s);
    double *u = calloc((n + 1) * s.n, sizeof *u), *y = calloc(n + 1, sizeof *y);
    rf_trial *h = calloc(n + 1, sizeof *h);
    rf_rng r;
    rf_rng_seed(&r, 7);
    for (size_t t = 0; t < n; t++) {
        rf_tune_random_point(&s, &r, u + t * s.n);
        y[t] = hartmann6(u + t * s.n);
        h[t] = (rf_trial){u + t * s.n, &y[t], RF_TRIAL_COMPLETE};
    }
    rf_tune_cfg cfg = {.sampler = RF_SAMPLER_GP, .seed = 1, .n_obj = 1};
    rf_err e = {0};
    const int reps = 5;
    int64_t t0 = rf_mono_ms();
    for (int k = 0; k < reps; k++)
        if (rf_tune_propose(&s, &cfg, h, n, n + (size_t)k, u + n * s.n, &e) < 0)
            return fprintf(stderr, "%s\n", e.msg), 1;
    printf("%.4g\n", (double)(rf_mono_ms() - t0) / reps);
    free(u), free(y), free(h);
    rf_space_free(&s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "eval"))
        return eval_main(argv[2]);
    if (argc == 6 && !strcmp(argv[1], "run")) {
        char self[4096];
        ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
        if (k <= 0)
            return perror("readlink"), 1;
        self[k] = 0;
        return run_main(self, argv[2], argv[3], atoi(argv[4]), (size_t)atol(argv[5]));
    }
    if (argc == 3 && !strcmp(argv[1], "overhead"))
        return overhead_main((size_t)atol(argv[2]));
    fprintf(stderr, "usage: tune_bench eval FUNC | run FUNC SAMPLER SEEDS N | "
                    "overhead N\n");
    return 2;
}
