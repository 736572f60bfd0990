/* Unit tests for rf_ckpt_merge on small networks: average, weighted and
 * three-way values element by element, the rest taken from the first, and
 * incompatible networks or a missing base refused with nothing written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ml/rf_checkpoint.h"
#include "ml/rf_ckpt_merge.h"
#include "rf_test.h"

static char dir[64];

static void make(const char *name, size_t hidden, float v, char *path)
{
    rf_mlp_spec s = {.n_layers = 2, .sizes = {2, hidden, 2}, .hidden_act = RF_ACT_RELU,
                     .out_act = RF_ACT_LINEAR, .loss = RF_LOSS_SOFTMAX_CE};
    rf_train_opts o;
    rf_train_opts_default(&o);
    rf_trainer tr;
    rf_err err = {0};
    assert_int_equal(rf_trainer_init(&tr, &s, &o, &err), 0);
    for (size_t i = 0; i < tr.net.n_params; i++)
        tr.net.params[i] = v + (float)i;
    tr.epoch = (int64_t)v;
    sprintf(path, "%s/%s.art", dir, name);
    assert_int_equal(rf_checkpoint_write(path, &tr, NULL, RF_CKPT_CURRENT, &err), 0);
    rf_trainer_free(&tr);
}

static void check_params(const char *path, float a, float b, float base, int kind, double w)
{
    rf_checkpoint c;
    rf_err err = {0};
    assert_int_equal(rf_checkpoint_read(path, &c, &err), 0);
    for (size_t i = 0; i < c.n_params; i++) {
        double x = a + (float)i, y = b + (float)i, z = base + (float)i;
        float want = (float)(kind == RF_MERGE_THREEWAY ? x + y - z
                             : kind == RF_MERGE_WEIGHTED ? (1 - w) * x + w * y : 0.5 * (x + y));
        assert_true(c.params[i] == want);
    }
    assert_int_equal(c.epoch, (int64_t)a);   /* the rest comes from the first */
    rf_checkpoint_free(&c);
}

static void test_merges(void **state)
{
    (void)state;
    char a[128], b[128], base[128], bad[128], out[128];
    make("a", 3, 1.0f, a);
    make("b", 3, 5.0f, b);
    make("base", 3, 2.0f, base);
    make("bad", 4, 0.0f, bad);
    sprintf(out, "%s/out.art", dir);
    rf_err err = {0};
    assert_int_equal(rf_ckpt_merge_files(a, b, NULL, RF_MERGE_AVERAGE, 0, out, &err), 0);
    check_params(out, 1, 5, 0, RF_MERGE_AVERAGE, 0);
    assert_int_equal(rf_ckpt_merge_files(a, b, NULL, RF_MERGE_WEIGHTED, 0.25, out, &err), 0);
    check_params(out, 1, 5, 0, RF_MERGE_WEIGHTED, 0.25);
    assert_int_equal(rf_ckpt_merge_files(a, b, base, RF_MERGE_THREEWAY, 0, out, &err), 0);
    check_params(out, 1, 5, 2, RF_MERGE_THREEWAY, 0);
    unlink(out);
    assert_int_equal(rf_ckpt_merge_files(a, bad, NULL, RF_MERGE_AVERAGE, 0, out, &err), -1);
    assert_non_null(strstr(err.msg, "incompatible networks"));
    assert_int_equal(rf_ckpt_merge_files(a, b, NULL, RF_MERGE_THREEWAY, 0, out, &err), -1);
    assert_int_equal(rf_ckpt_merge_files(a, b, NULL, RF_MERGE_WEIGHTED, 1.5, out, &err), -1);
    assert_int_equal(access(out, F_OK), -1);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/rf-merge-test.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_merges)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rf_test_rmtree(dir);
    return rc;
}
