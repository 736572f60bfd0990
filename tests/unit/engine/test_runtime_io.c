/* Tests of rf_runtime_io. On a file:// store (always): with only a store
 * URL, outputs land in its hot/warm/cold folders; an input keeps its file
 * name and knows its origin; an output moved to another tier is still
 * fetched. Against the real S3 test stack (tests/lib/s3.sh, needs
 * RF_TEST_S3_ENDPOINT and RF_TEST_S3_BUCKET, else skipped): outputs land in
 * the step's tier with that tier's storage class. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rf_config.h"
#include "engine/rf_runtime_io.h"
#include "store/rf_s3_client.h"
#include "store/rf_store.h"

static int noop_handler(rf_task *t, rf_err *err)
{
    (void)t;
    (void)err;
    return 0;
}

static const rf_worker_def def = {"noop", "1", noop_handler, ""};

/* Tiers under a fresh prefix of the test bucket; warm opts into
 * REDUCED_REDUNDANCY (a class s3rver keeps), hot sends none. */
static void s3_conf(rf_config *c, char *root, size_t n)
{
    memset(c, 0, sizeof *c);
    rf_s3_conf_from_env(&c->s3);
    free(c->s3.endpoint);
    c->s3.endpoint = strdup(getenv("RF_TEST_S3_ENDPOINT"));
    c->s3.max_retries = 2;
    c->s3.timeout_ms = 10000;
    snprintf(root, n, "s3://%s/rtio-%ld-%d", getenv("RF_TEST_S3_BUCKET"), (long)time(NULL),
             (int)getpid());
    c->tiers[RF_TIER_WARM].storage_class = strdup("REDUCED_REDUNDANCY");
}

/* Uploads one small output to tier and checks the stored object's class. */
static void upload_and_head(const char *tier, const char *want_class)
{
    rf_config c;
    char root[256], tiers[RF_TIER_COUNT][300], dir[] = "/tmp/rf-rtio-XXXXXX", path[64];
    s3_conf(&c, root, sizeof root);
    const char *turls[RF_TIER_COUNT];
    for (int i = 0; i < RF_TIER_COUNT; i++) {
        snprintf(tiers[i], sizeof tiers[i], "%s/%s", root, rf_tier_name(i));
        turls[i] = tiers[i];
    }
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/out.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "output of a %s task %s\n", tier, root);
    fclose(f);

    rf_err err = {0};
    rf_task *t = rf_task_new(&def, "run/step/0", 1, dir);
    assert_int_equal(rf_task_output(t, "out", path, &err), 0);
    rf_rtio *io = rf_rtio_new(root, turls, &c);
    char *json = NULL;
    if (rf_rtio_upload_outputs(io, t, tier, &json, &err) != 0)
        fail_msg("upload: %s", err.msg);

    json_t *o = json_loads(json, 0, NULL);
    const char *url = json_string_value(json_object_get(o, "out"));
    assert_non_null(url);
    const char *turl = tiers[rf_tier_parse(tier)];
    assert_int_equal(strncmp(url, turl, strlen(turl)), 0);
    char *sroot = NULL, *key = NULL;
    rf_store *s;
    rf_store_meta m;
    assert_int_equal(rf_store_split_url(url, &sroot, &key, &err), 0);
    if (rf_store_open(sroot, &c, &s, &err) != 0 || rf_store_head(s, key, &m, &err) != 0)
        fail_msg("head %s: %s", url, err.msg);
    assert_string_equal(m.storage_class, want_class);

    rf_store_close(s);
    free(sroot);
    free(key);
    json_decref(o);
    free(json);
    rf_rtio_free(io);
    rf_task_free(t);
    unlink(path);
    rmdir(dir);
    free(c.tiers[RF_TIER_WARM].storage_class);
    rf_s3_conf_free(&c.s3);
}

static void warm_output_has_warm_class(void **state)
{
    (void)state;
    upload_and_head("warm", "REDUCED_REDUNDANCY");
}

static void hot_output_has_default_class(void **state)
{
    (void)state;
    upload_and_head("hot", "STANDARD");
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void file_tiers_and_moved_inputs(void **state)
{
    (void)state;
    char dir[] = "/tmp/rf-rtio-file-XXXXXX", root[128], path[256], work[2048];
    assert_non_null(mkdtemp(dir));
    snprintf(root, sizeof root, "file://%s/store", dir);
    snprintf(path, sizeof path, "%s/out.txt", dir);
    write_text(path, "a warm output\n");
    rf_err err = {0};
    rf_task *t = rf_task_new(&def, "run/step/0", 1, dir);
    assert_int_equal(rf_task_output(t, "out", path, &err), 0);
    rf_rtio *io = rf_rtio_new(root, NULL, NULL);
    char *json = NULL;
    if (rf_rtio_upload_outputs(io, t, "warm", &json, &err) != 0)
        fail_msg("upload: %s", err.msg);
    json_t *o = json_loads(json, 0, NULL);
    const char *url = json_string_value(json_object_get(o, "out"));
    char want[256];
    snprintf(want, sizeof want, "%s/warm/cas/", root);
    assert_int_equal(strncmp(url, want, strlen(want)), 0);
    assert_int_equal(access(url + 7, R_OK), 0);   /* really in the warm folder */
    rf_task_free(t);

    /* `ruvflow store tier URL cold` moved it: the same key under cold/. */
    char cold[512];
    snprintf(cold, sizeof cold, "%s/store/cold/%s", dir, url + strlen(want) - 4);
    snprintf(work, sizeof work, "mkdir -p \"$(dirname '%s')\" && mv '%s' '%s'", cold, url + 7,
             cold);
    assert_int_equal(system(work), 0);
    snprintf(work, sizeof work, "%s/in", dir);
    assert_int_equal(mkdir(work, 0700), 0);
    char inputs[1024];
    snprintf(inputs, sizeof inputs, "{\"model\": [\"%s\"]}", url);
    t = rf_task_new(&def, "run/next/0", 1, dir);
    if (rf_rtio_fetch_inputs(io, inputs, work, t, &err) != 0)
        fail_msg("fetch of a moved output: %s", err.msg);
    const char *in = rf_task_input(t, "model", 0);
    assert_non_null(in);
    /* the file keeps its name; messages can name where it came from */
    assert_string_equal(strrchr(in, '/') + 1, strrchr(url, '/') + 1);
    char shown[512];
    assert_string_equal(rf_task_input_origin(t, in, shown, sizeof shown), url + 7);
    assert_string_equal(rf_task_input_origin(t, "/elsewhere", shown, sizeof shown),
                        "/elsewhere");
    rf_task_free(t);
    json_decref(o);
    free(json);
    rf_rtio_free(io);
    snprintf(work, sizeof work, "rm -rf '%s'", dir);
    assert_int_equal(system(work), 0);
}

int main(void)
{
    const struct CMUnitTest file_tests[] = {
        cmocka_unit_test(file_tiers_and_moved_inputs),
    };
    int rc = cmocka_run_group_tests(file_tests, NULL, NULL);
    if (!getenv("RF_TEST_S3_ENDPOINT") || !getenv("RF_TEST_S3_BUCKET")) {
        printf("skip: RF_TEST_S3_ENDPOINT/RF_TEST_S3_BUCKET not set\n");
        return rc;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(warm_output_has_warm_class),
        cmocka_unit_test(hot_output_has_default_class),
    };
    return rc | cmocka_run_group_tests(tests, NULL, NULL);
}
