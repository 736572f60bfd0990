/* Unit tests for train-stage `mode: incremental` (rf_train_online) on a
 * file:// registry: the first batch bootstraps version 1; a later batch is
 * promoted through the gate; a gated-out update leaves production exactly
 * as it was and records why; a replay buffer that does not decode fails
 * clearly with production untouched; a label-distribution step is seen as
 * drift; rollback restores the previous version. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "base/rf_rng.h"
#include "engine/rf_task_impl.h"
#include "handlers/rf_train_stage.h"
#include "ml/rf_dataset.h"
#include "store/rf_modelreg.h"
#include "rf_test.h"

static char tmpdir[] = "/tmp/rf_test_train_online.XXXXXX";
static const rf_worker_def def = {"train-stage", "test", rf_train_stage_handle, NULL};
static char *names[3] = {"Read", "Edit", "Bash"};

/* n rows of 4 features; the class is the region of (x0, x1); `shift`
 * moves most rows into class 2's region (a label-distribution step). */
static void write_batch(const char *path, size_t n, uint64_t seed, int shift)
{
    rf_dataset d = {0};
    d.kind = RF_CLASSIFICATION;
    d.n_rows = n;
    d.n_features = 4;
    d.n_classes = 3;
    d.labels = names;
    d.X = malloc(n * 4 * sizeof *d.X);
    d.y_class = malloc(n * sizeof *d.y_class);
    d.group = malloc(n * sizeof *d.group);
    rf_rng rng;
    rf_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        float a = (float)rf_rng_normal(&rng), b = (float)rf_rng_normal(&rng);
        if (shift && rf_rng_float(&rng) < 0.8f)
            a = fabsf(a) + 0.5f, b = fabsf(b) + 0.5f;
        d.X[4 * i] = a;
        d.X[4 * i + 1] = b;
        d.X[4 * i + 2] = (float)rf_rng_normal(&rng);
        d.X[4 * i + 3] = 1.0f;
        d.y_class[i] = a > 0 && b > 0 ? 2 : a > 0 ? 1 : 0;
        d.group[i] = (int32_t)(i / 10);
    }
    rf_err e = {0};
    if (rf_dataset_write(path, &d, &e))
        fail_msg("%s", e.msg);
    d.labels = NULL;
    rf_dataset_free(&d);
}

static char registry[600];

static rf_task *online_task(const char *batch, const char *out, const char *lr)
{
    mkdir(out, 0755);
    rf_task *t = rf_task_new(&def, "t", 1, out);
    rf_task_add_input(t, "dataset", batch);
    rf_task_add_param(t, "mode", "incremental");
    rf_task_add_param(t, "registry", registry);
    rf_task_add_param(t, "model", "tools");
    rf_task_add_param(t, "hidden", "16");
    rf_task_add_param(t, "lr", lr);
    rf_task_add_param(t, "epochs", "5");
    rf_task_add_param(t, "tolerance", "0.02");
    return t;
}

static double metric(rf_task *t, const char *name)
{
    for (size_t i = 0; i < rf_task_metric_count(t); i++)
        if (!strcmp(rf_task_metric_name(t, i), name))
            return rf_task_metric_value(t, i);
    return NAN;
}

static void slurp(const char *path, rf_buf *b)
{
    rf_buf_reset(b);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        rf_buf_add(b, tmp, n);
    fclose(f);
}

static int run(const char *batch, const char *leaf, const char *lr, rf_task **out,
               rf_err *e)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, leaf);
    *out = online_task(batch, dir, lr);
    return rf_train_stage_handle(*out, e);
}

static void current(rf_modelreg *m, int *v)
{
    rf_err e = {0};
    if (rf_modelreg_current(m, v, NULL, 0, &e))
        fail_msg("%s", e.msg);
}

static void test_bootstrap_promote_gate_rollback(void **state)
{
    (void)state;
    char b1[700], b2[700], b3[700], path[900];
    snprintf(b1, sizeof b1, "%s/b1.art", tmpdir);
    snprintf(b2, sizeof b2, "%s/b2.art", tmpdir);
    snprintf(b3, sizeof b3, "%s/b3.art", tmpdir);
    write_batch(b1, 600, 1, 0);
    write_batch(b2, 300, 2, 0);
    write_batch(b3, 300, 3, 1);
    rf_store *s;
    rf_err e = {0};
    assert_int_equal(rf_store_open(registry, NULL, &s, &e), 0);
    rf_modelreg m;
    rf_modelreg_init(&m, s, "tools");

    rf_task *t;
    if (run(b1, "r1", "3e-3", &t, &e))
        fail_msg("%s", e.msg);
    assert_true(metric(t, "bootstrap") == 1);
    assert_true(metric(t, "holdout_acc") > 0.85);
    assert_true(metric(t, "holdout_acc") > metric(t, "holdout_majority_acc"));
    rf_task_free(t);
    int v;
    current(&m, &v);
    assert_int_equal(v, 1);

    /* with EWC: the penalty's path through the handler */
    char dir2[700];
    snprintf(dir2, sizeof dir2, "%s/r2", tmpdir);
    t = online_task(b2, dir2, "1e-3");
    rf_task_add_param(t, "ewc_lambda", "10");
    if (rf_train_stage_handle(t, &e))
        fail_msg("%s", e.msg);
    assert_true(metric(t, "bootstrap") == 0);
    assert_true(metric(t, "promoted") == 1);
    assert_true(metric(t, "prequential_acc") > metric(t, "majority_acc"));
    assert_true(metric(t, "drift") == 0);
    assert_true(metric(t, "replayed_rows") > 200);
    rf_task_free(t);
    current(&m, &v);
    assert_int_equal(v, 2);

    /* a gated-out update: a learning rate that wrecks the candidate */
    char prod_key[700];
    rf_modelreg_key(&m, 2, prod_key, sizeof prod_key);
    snprintf(path, sizeof path, "%s/tools/production", registry + 7);
    rf_buf before = RF_BUF_INIT, after = RF_BUF_INIT, v2a = RF_BUF_INIT, v2b = RF_BUF_INIT;
    slurp(path, &before);
    char v2path[1500];
    snprintf(v2path, sizeof v2path, "%s/%s", registry + 7, prod_key);
    slurp(v2path, &v2a);
    if (run(b3, "r3", "5", &t, &e))
        fail_msg("%s", e.msg);
    assert_true(metric(t, "promoted") == 0);
    assert_true(metric(t, "drift") == 1);      /* the label distribution stepped */
    assert_true(metric(t, "psi_labels") > 0.25);
    rf_task_free(t);
    slurp(path, &after);
    slurp(v2path, &v2b);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    assert_int_equal(v2a.len, v2b.len);
    assert_memory_equal(v2a.data, v2b.data, v2a.len);
    current(&m, &v);
    assert_int_equal(v, 2);
    snprintf(path, sizeof path, "%s/r3/gate.json", tmpdir);
    slurp(path, &after);
    rf_buf_add(&after, "", 1);
    assert_non_null(strstr(after.data, "\"promoted\": false"));
    assert_non_null(strstr(after.data, "kept production"));
    rf_buf log = RF_BUF_INIT;
    assert_int_equal(rf_modelreg_log(&m, &log, &e), 0);
    rf_buf_add(&log, "", 1);
    assert_non_null(strstr(log.data, " reject 2 kept production: holdout"));

    /* a replay buffer that does not decode: a clear error, production kept */
    snprintf(path, sizeof path, "%s/tools/replay", registry + 7);
    FILE *f = fopen(path, "r+b");
    fseek(f, 150, SEEK_SET);
    fputs("garbage", f);
    fclose(f);
    assert_int_equal(run(b2, "r4", "1e-3", &t, &e), -1);
    assert_non_null(strstr(e.msg, "replay buffer"));
    assert_non_null(strstr(e.msg, "does not decode"));
    rf_task_free(t);
    current(&m, &v);
    assert_int_equal(v, 2);

    /* rollback to version 1, and no further */
    assert_int_equal(rf_modelreg_rollback(&m, "test", &v, &e), 0);
    assert_int_equal(v, 1);
    current(&m, &v);
    assert_int_equal(v, 1);
    assert_int_equal(rf_modelreg_rollback(&m, "test", &v, &e), -1);
    assert_int_equal(e.code, RF_ESTATE);

    /* bad keys */
    assert_int_equal(run(b2, "r5", "nope", &t, &e), -1);
    assert_int_equal(e.code, RF_EINVAL);
    rf_task_free(t);
    rf_buf_free(&before), rf_buf_free(&after), rf_buf_free(&v2a), rf_buf_free(&v2b);
    rf_buf_free(&log);
    rf_store_close(s);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(registry, sizeof registry, "file://%s/registry", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return rf_test_rmtree(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootstrap_promote_gate_rollback),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
