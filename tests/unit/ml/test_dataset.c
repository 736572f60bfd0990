/* Unit tests for rf_dataset: FANN and CSV loaders, errors with file:line,
 * normalization, the artifact form and load_any's sniffing. */
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

#include "store/rf_codec.h"
#include "ml/rf_dataset.h"
#include "rf_test.h"

static char tmpdir[] = "/tmp/rf_test_dataset.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_fann_classification(void **state)
{
    const char *p = write_file("c.train", "3 2 3\n0.5 1\n0 1 0\n1 2\n1 0 0\n-1 0\n0 0 1\n");
    rf_dataset d;
    rf_err e = {0};
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), 0);
    assert_int_equal(d.kind, RF_CLASSIFICATION);
    assert_int_equal(d.n_rows, 3);
    assert_int_equal(d.n_features, 2);
    assert_int_equal(d.n_classes, 3);
    assert_int_equal(d.y_class[0], 1);
    assert_int_equal(d.y_class[1], 0);
    assert_int_equal(d.y_class[2], 2);
    assert_true(d.X[5] == 0.0f && d.X[0] == 0.5f);
    rf_dataset_free(&d);

    /* symmetric -1/1 one-hot and a single 0/1 output are classes too */
    p = write_file("s.train", "2 1 2\n0\n-1 1\n1\n1 -1\n");
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), 0);
    assert_int_equal(d.kind, RF_CLASSIFICATION);
    assert_int_equal(d.y_class[0], 1);
    rf_dataset_free(&d);
    p = write_file("b.train", "2 1 1\n0\n1\n1\n0\n");
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), 0);
    assert_int_equal(d.kind, RF_CLASSIFICATION);
    assert_int_equal(d.n_classes, 2);
    rf_dataset_free(&d);
}

static void test_fann_regression(void **state)
{
    const char *p = write_file("r.train", "2 1 2\n0.1\n0.2 0.3\n0.4\n1 0\n");
    rf_dataset d;
    rf_err e = {0};
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), 0);
    assert_int_equal(d.kind, RF_REGRESSION);
    assert_int_equal(d.n_targets, 2);
    assert_float_equal(d.y_reg[1], 0.3f, 1e-7);
    rf_dataset_free(&d);
}

static void test_fann_errors(void **state)
{
    rf_dataset d;
    rf_err e = {0};
    const char *p = write_file("bad1", "2 2 1\n1 2\n1\n3 x\n0\n");
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), -1);
    assert_int_equal(e.code, RF_ECORRUPT);
    assert_non_null(strstr(e.msg, "bad1:4:"));
    p = write_file("bad2", "2 2 1\n1 2\n1\n3 4\n");
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), -1);
    p = write_file("bad3", "1 1 1\nnan\n1\n");
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), -1);
    assert_non_null(strstr(e.msg, "finite"));
    p = write_file("bad4", "0 1 1\n");
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), -1);
    p = write_file("bad5", "1000000000 1000 1\n1 2\n");
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), -1);
    p = write_file("bad6", "1 1 1\n1\n1\n2\n");
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), -1);
    assert_non_null(strstr(e.msg, "trailing"));
    assert_int_equal(rf_dataset_load_fann("/nonexistent/x", &d, &e), -1);
    assert_int_equal(e.code, RF_ENOTFOUND);
}

static void test_csv(void **state)
{
    const char *p = write_file("a.csv", "a,b,species,level\n1,2,cat,easy\n3,4,dog,hard\r\n"
                                        "\n5,6,cat,trivial\n");
    rf_dataset d;
    rf_err e = {0};
    assert_int_equal(rf_dataset_load_csv(p, "species", &d, &e), 0);
    assert_int_equal(d.kind, RF_CLASSIFICATION);
    assert_int_equal(d.n_rows, 3);
    assert_int_equal(d.n_features, 2);
    assert_int_equal(d.n_classes, 2);
    assert_string_equal(d.labels[1], "dog");
    assert_int_equal(d.y_class[2], 0);
    assert_string_equal(d.feature_names[1], "b");
    assert_non_null(d.level);
    assert_int_equal(d.level[1], RF_LEVEL_HARD);
    assert_true(d.X[4] == 5.0f);
    rf_dataset_free(&d);

    p = write_file("r.csv", "x,\"y, quoted\"\n1,0.5\n2,1.5\n");
    assert_int_equal(rf_dataset_load_csv(p, NULL, &d, &e), 0);
    assert_int_equal(d.kind, RF_REGRESSION);
    assert_float_equal(d.y_reg[1], 1.5f, 0);
    rf_dataset_free(&d);
}

static void test_csv_errors(void **state)
{
    rf_dataset d;
    rf_err e = {0};
    const char *p = write_file("rag.csv", "a,b,c\n1,2,x\n1,2\n");
    assert_int_equal(rf_dataset_load_csv(p, NULL, &d, &e), -1);
    assert_non_null(strstr(e.msg, "rag.csv:3: expected 3 cells, got 2"));
    p = write_file("nn.csv", "a,b,c\n1,2,x\n1,oops,y\n");
    assert_int_equal(rf_dataset_load_csv(p, NULL, &d, &e), -1);
    assert_non_null(strstr(e.msg, "nn.csv:3:"));
    assert_non_null(strstr(e.msg, "\"b\""));
    p = write_file("inf.csv", "a,b\ninf,1\n");
    assert_int_equal(rf_dataset_load_csv(p, NULL, &d, &e), -1);
    p = write_file("empty.csv", "a,b\n");
    assert_int_equal(rf_dataset_load_csv(p, NULL, &d, &e), -1);
    assert_non_null(strstr(e.msg, "no data rows"));
    p = write_file("nt.csv", "a,b\n1,2\n");
    assert_int_equal(rf_dataset_load_csv(p, "zz", &d, &e), -1);
    assert_non_null(strstr(e.msg, "zz"));
    assert_int_equal(e.code, RF_EINVAL);   /* a request error, not bad data */
    /* a repeated column name is ambiguous: refused, both columns named */
    p = write_file("dup.csv", "x,y,b,x,label\n1,2,3,4,a\n");
    assert_int_equal(rf_dataset_load_csv(p, NULL, &d, &e), -1);
    assert_int_equal(e.code, RF_ECORRUPT);
    assert_non_null(strstr(e.msg, "dup.csv:1: column 4 repeats the name \"x\" of column 1"));
}

static void test_normalize(void **state)
{
    const char *p = write_file("n.train", "4 2 1\n1 1000\n0.1\n2 1000\n0.2\n3 1000\n0.3\n"
                                          "100 1000\n0.4\n");
    rf_dataset d;
    rf_err e = {0};
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), 0);
    d.split = calloc(4, 1);
    d.split[3] = RF_SPLIT_TEST;   /* excluded from the statistics */
    rf_dataset_normalize(&d);
    assert_float_equal(d.mean[0], 2.0f, 1e-6);
    assert_float_equal(d.std[0], sqrtf(2.0f / 3.0f), 1e-6);
    assert_float_equal(d.std[1], 1.0f, 0);   /* constant feature */
    assert_float_equal(d.X[0], -1.0f / sqrtf(2.0f / 3.0f), 1e-5);
    assert_float_equal(d.X[1], 0.0f, 0);
    rf_dataset_free(&d);
}

static void test_levels(void **state)
{
    assert_string_equal(rf_level_name(RF_LEVEL_EXPERT), "expert");
    assert_string_equal(rf_level_name(RF_LEVEL_NONE), "none");
    assert_int_equal(rf_level_parse("medium"), RF_LEVEL_MEDIUM);
    assert_int_equal(rf_level_parse("x"), -1);
}

static void test_real_fann_file(void **state)
{
    const char *shared = getenv("RF_SHARED");
    if (!shared)
        skip();
    char p[512];
    snprintf(p, sizeof p, "%s/datasets/fann/thyroid.train", shared);
    rf_dataset d;
    rf_err e = {0};
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), 0);
    assert_int_equal(d.n_rows, 3600);
    assert_int_equal(d.n_features, 21);
    assert_int_equal(d.n_classes, 3);
    rf_dataset_free(&d);
}

static void test_artifact_round_trip(void **state)
{
    const char *p = write_file("rt.csv", "a,b,label,level\n1,2,x,easy\n3,4,y,hard\n5,6,x,"
                                         "trivial\n");
    rf_dataset d, back;
    rf_err e = {0};
    assert_int_equal(rf_dataset_load_csv(p, "label", &d, &e), 0);
    d.split = calloc(3, 1);
    d.split[2] = RF_SPLIT_TEST;
    d.group = calloc(3, sizeof(int32_t));
    d.group[1] = 7;
    d.prev_row = malloc(3 * sizeof(int32_t));
    d.prev_row[0] = -1, d.prev_row[1] = -1, d.prev_row[2] = 0;
    rf_dataset_normalize(&d);
    char art[512];
    snprintf(art, sizeof art, "%s/d.art", tmpdir);
    assert_int_equal(rf_dataset_write(art, &d, &e), 0);
    assert_int_equal(rf_dataset_read(art, &back, &e), 0);
    assert_int_equal(back.kind, RF_CLASSIFICATION);
    assert_int_equal(back.n_rows, 3);
    assert_int_equal(back.n_features, 2);
    assert_memory_equal(back.X, d.X, 6 * sizeof(float));
    assert_memory_equal(back.y_class, d.y_class, 3 * sizeof(int32_t));
    assert_string_equal(back.labels[1], "y");
    assert_memory_equal(back.split, d.split, 3);
    assert_memory_equal(back.level, d.level, 3);
    assert_int_equal(back.group[1], 7);
    assert_memory_equal(back.prev_row, d.prev_row, 3 * sizeof(int32_t));
    assert_null(back.category);
    assert_string_equal(back.feature_names[0], "a");
    assert_memory_equal(back.mean, d.mean, 2 * sizeof(float));
    assert_memory_equal(back.std, d.std, 2 * sizeof(float));
    rf_dataset_free(&back);
    /* load_any sniffs the artifact, a FANN file and a CSV file */
    assert_int_equal(rf_dataset_load_any(art, NULL, &back, &e), 0);
    assert_int_equal(back.n_rows, 3);
    rf_dataset_free(&back);
    p = write_file("any.train", "1 2 1\n1 2\n0.5\n");
    assert_int_equal(rf_dataset_load_any(p, NULL, &back, &e), 0);
    assert_int_equal(back.kind, RF_REGRESSION);
    rf_dataset_free(&back);
    p = write_file("any.csv", "1,2,3\n4,5,6\n");   /* numeric header names */
    assert_int_equal(rf_dataset_load_any(p, NULL, &back, &e), 0);
    assert_int_equal(back.n_rows, 1);
    rf_dataset_free(&back);
    rf_dataset_free(&d);

    /* regression round trip */
    p = write_file("r2.train", "2 1 2\n0.1\n0.2 3\n0.4\n1 0\n");
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), 0);
    assert_int_equal(rf_dataset_write(art, &d, &e), 0);
    assert_int_equal(rf_dataset_read(art, &back, &e), 0);
    assert_int_equal(back.kind, RF_REGRESSION);
    assert_int_equal(back.n_targets, 2);
    assert_memory_equal(back.y_reg, d.y_reg, 4 * sizeof(float));
    rf_dataset_free(&back);
    rf_dataset_free(&d);
}

/* m written as a dataset artifact is refused on reading, as corrupt, with
 * a message containing what. */
static void expect_refused(const char *art, const rf_obj *m, const char *what)
{
    rf_dataset d;
    rf_err e = {0};
    assert_int_equal(rf_artifact_write(art, "ruvflow/dataset", m, NULL, NULL, &e), 0);
    assert_int_equal(rf_dataset_read(art, &d, &e), -1);
    assert_int_equal(e.code, RF_ECORRUPT);
    if (!strstr(e.msg, what))
        fail_msg("\"%s\" does not say \"%s\"", e.msg, what);
}

/* The size check: rows x cols x 8 against a limit, with no overflow for
 * hostile counts, and the readers refusing a too-wide table up front. */
static void test_size_limit(void **state)
{
    (void)state;
    rf_err e = {0};
    assert_int_equal(rf_dataset_check_size("f", 1000, 1000, 8000000, &e), 0);
    assert_int_equal(rf_dataset_check_size("f", 1000, 1001, 8000000, &e), -1);
    assert_int_equal(e.code, RF_ETOOBIG);
    assert_non_null(strstr(e.msg, "f:1:1: 1000 rows x 1001 columns"));
    assert_int_equal(rf_dataset_check_size("f", 1ull << 40, 1ull << 40, UINT64_MAX, &e), -1);
    assert_int_equal(rf_dataset_check_size("f", 0, 1ull << 62, 1, &e), 0);
    uint64_t lim = rf_dataset_mem_limit();
    assert_true(lim > (1u << 20));
    /* A FANN header of 2^20 pairs x 2^30 inputs is refused before the file
     * length is even looked at (so the message is about memory). */
    rf_dataset d;
    const char *p = write_file("wide.fann", "1048576 1073741824 1\n");
    assert_int_equal(rf_dataset_load_fann(p, &d, &e), -1);
    assert_int_equal(e.code, RF_ETOOBIG);
    assert_non_null(strstr(e.msg, "1048576 rows x 1073741825 columns"));
}

static void test_artifact_errors(void **state)
{
    rf_dataset d;
    rf_err e = {0};
    char art[512];
    snprintf(art, sizeof art, "%s/bad.art", tmpdir);
    /* another content type */
    rf_obj *m = rf_obj_map();
    rf_obj_set(m, "kind", rf_obj_str("classification"));
    assert_int_equal(rf_artifact_write(art, "ruvflow/other", m, NULL, NULL, &e), 0);
    assert_int_equal(rf_dataset_read(art, &d, &e), -1);
    assert_non_null(strstr(e.msg, "ruvflow/other"));
    /* labels out of range */
    uint64_t shape[2] = {2, 1};
    rf_obj_set(m, "X", rf_obj_tensor_new(RF_F32, 2, shape));
    rf_obj *y = rf_obj_tensor_new(RF_I32, 1, shape);
    ((int32_t *)y->u.t.data)[1] = 5;
    rf_obj_set(m, "y_class", y);
    rf_obj *labels = rf_obj_array();
    rf_obj_push(labels, rf_obj_str("a"));
    rf_obj_push(labels, rf_obj_str("b"));
    rf_obj_set(m, "labels", labels);
    expect_refused(art, m, "y_class");
    /* a split tensor of the wrong length */
    ((int32_t *)y->u.t.data)[1] = 1;
    uint64_t three[1] = {3};
    rf_obj_set(m, "split", rf_obj_tensor_new(RF_U8, 1, three));
    expect_refused(art, m, "split");
    rf_obj_set(m, "split", rf_obj_tensor_new(RF_U8, 1, shape));   /* right length */
    /* a predecessor that is not an earlier row, or in another group */
    rf_obj *prev = rf_obj_tensor_new(RF_I32, 1, shape);
    ((int32_t *)prev->u.t.data)[0] = 1;
    rf_obj_set(m, "prev", prev);
    expect_refused(art, m, "\"prev\"[0] = 1 is not an earlier row");
    ((int32_t *)prev->u.t.data)[0] = -1;
    ((int32_t *)prev->u.t.data)[1] = 0;
    rf_obj *grp = rf_obj_tensor_new(RF_I32, 1, shape);
    ((int32_t *)grp->u.t.data)[1] = 3;
    rf_obj_set(m, "group", grp);
    expect_refused(art, m, "in another group");
    rf_obj_free(m);
    /* an empty dataset is not written */
    memset(&d, 0, sizeof d);
    assert_int_equal(rf_dataset_write(art, &d, &e), -1);
}

static int setup(void **state)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    return rf_test_rmtree(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fann_classification),
        cmocka_unit_test(test_fann_regression),
        cmocka_unit_test(test_fann_errors),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_real_fann_file),
        cmocka_unit_test(test_artifact_round_trip),
        cmocka_unit_test(test_artifact_errors),
        cmocka_unit_test(test_size_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
