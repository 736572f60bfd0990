/* Unit tests for rf_config: defaults, the file format, precedence of the
 * sources, bad values with file:line, and redaction in rf_config_print. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rf_config.h"
#include "rf_test.h"

extern char **environ;

typedef struct fx {
    char dir[64];
    char oldcwd[4096];
} fx;

/* Every test runs in an empty directory with no ruvflow or AWS variables,
 * and HOME pointing there, so no stray config file is read. */
static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rf-config-test.XXXXXX");
    if (!mkdtemp(f->dir) || !getcwd(f->oldcwd, sizeof f->oldcwd) || chdir(f->dir))
        return -1;
    for (;;) {
        char **e;
        for (e = environ; *e; e++)
            if (!strncmp(*e, "RUVFLOW_", 8) || !strncmp(*e, "AWS_", 4) ||
                !strncmp(*e, "XDG_CONFIG_HOME=", 16))
                break;
        if (!*e)
            break;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
        unsetenv(name);
    }
    setenv("HOME", f->dir, 1);
    /* A stack someone started in /tmp must not leak into these tests. */
    setenv("RUVFLOW_CEILING_DIRECTORIES", "/tmp", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (chdir(f->oldcwd))
        return -1;
    if (rf_test_rmtree(f->dir))
        return -1;
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static char *printed(const rf_config *c)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    rf_config_print(c, m);
    fclose(m);
    return buf;
}

static void test_defaults(void **state)
{
    fx *f = *state;
    rf_config c;
    rf_err err = {0};
    assert_int_equal(rf_config_load(&c, NULL, &err), 0);
    assert_null(c.path);
    char want[256];
    snprintf(want, sizeof want, "file://%s/.ruvflow/store", f->dir);
    assert_string_equal(c.store, want);
    assert_string_equal(c.redis_url, "redis://127.0.0.1:6379/0");
    snprintf(want, sizeof want, "file://%s/.ruvflow/store/cold", f->dir);
    assert_string_equal(c.tiers[RF_TIER_COLD].url, want);
    for (int t = 0; t < RF_TIER_COUNT; t++)
        assert_null(c.tiers[t].storage_class);
    assert_null(c.s3.endpoint);
    assert_null(c.s3.access_key);
    assert_string_equal(c.s3.region, "us-east-1");
    assert_int_equal(c.s3.path_style, -1);
    assert_int_equal(c.s3.part_size, 16u << 20);
    assert_int_equal(c.s3.multipart_threshold, 64u << 20);
    assert_int_equal(c.s3.max_retries, 5);
    assert_int_equal(c.s3.connect_timeout_ms, 5000);
    assert_int_equal(c.s3.timeout_ms, 300000);
    assert_int_equal(c.codec_level, 3);
    assert_int_equal(c.max_artifact, 4ull << 30);
    assert_int_equal(c.lease_ms, 5000);
    assert_int_equal(c.retention_s, 7 * 86400);
    rf_config_free(&c);
    assert_null(c.store);
}

static void test_tier_names(void **state)
{
    assert_string_equal(rf_tier_name(RF_TIER_HOT), "hot");
    assert_string_equal(rf_tier_name(RF_TIER_COLD), "cold");
    assert_int_equal(rf_tier_parse("warm"), RF_TIER_WARM);
    assert_int_equal(rf_tier_parse("lukewarm"), -1);
    assert_int_equal(rf_tier_parse(NULL), -1);
}

static const char *conf_text =
    "# a comment\n"
    "; another\n"
    "store = s3://bucket/prefix/\n"
    "redis_url = \"redis://:hunter2@10.0.0.1:6380/2\"\n"
    "\n"
    "[tier.cold]\n"
    "url = s3://archive/cold\n"
    "storage_class = GLACIER\n"
    "[s3]\n"
    "  endpoint   =   http://127.0.0.1:9000  \n"
    "region = eu-west-1\n"
    "path_style = true\n"
    "part_size = 8M\n"
    "multipart_threshold = 32 MiB\n"
    "access_key_id = AKIAFILEFILEFILE1234\n"
    "secret_access_key = filesecret\n"
    "[codec]\n"
    "level = 19\n"
    "max_artifact = 2G\n"
    "[worker]\n"
    "lease_ms = 2500\n";

static void test_file(void **state)
{
    write_file("my.conf", conf_text);
    rf_config c;
    rf_err err = {0};
    if (rf_config_load(&c, "my.conf", &err))
        fail_msg("%s", err.msg);
    assert_string_equal(c.path, "my.conf");
    assert_string_equal(c.store, "s3://bucket/prefix");
    assert_string_equal(c.redis_url, "redis://:hunter2@10.0.0.1:6380/2");
    assert_string_equal(c.tiers[RF_TIER_COLD].url, "s3://archive/cold");
    assert_string_equal(c.tiers[RF_TIER_COLD].storage_class, "GLACIER");
    /* Unset tiers follow the store. */
    assert_string_equal(c.tiers[RF_TIER_HOT].url, "s3://bucket/prefix/hot");
    assert_null(c.tiers[RF_TIER_HOT].storage_class);
    assert_string_equal(c.s3.endpoint, "http://127.0.0.1:9000");
    assert_string_equal(c.s3.region, "eu-west-1");
    assert_int_equal(c.s3.path_style, 1);
    assert_int_equal(c.s3.part_size, 8u << 20);
    assert_int_equal(c.s3.multipart_threshold, 32u << 20);
    assert_string_equal(c.s3.access_key, "AKIAFILEFILEFILE1234");
    assert_string_equal(c.s3.secret_key, "filesecret");
    assert_int_equal(c.codec_level, 19);
    assert_int_equal(c.max_artifact, 2ull << 30);
    assert_int_equal(c.lease_ms, 2500);
    rf_config_free(&c);

    /* Found without being named: ./ruvflow.conf, then ~/.config/ruvflow. */
    write_file("ruvflow.conf", "redis_url = redis://cwd:1/0\n");
    assert_int_equal(rf_config_load(&c, NULL, &err), 0);
    assert_string_equal(c.redis_url, "redis://cwd:1/0");
    rf_config_free(&c);
    unlink("ruvflow.conf");
    assert_int_equal(system("mkdir -p .config/ruvflow"), 0);
    write_file(".config/ruvflow/ruvflow.conf", "redis_url = redis://home:1/0\n");
    assert_int_equal(rf_config_load(&c, NULL, &err), 0);
    assert_string_equal(c.redis_url, "redis://home:1/0");
    rf_config_free(&c);
    setenv("RUVFLOW_CONFIG", "my.conf", 1);
    assert_int_equal(rf_config_load(&c, NULL, &err), 0);
    assert_string_equal(c.path, "my.conf");
    rf_config_free(&c);
}

/* Later sources win: file < AWS_* < RUVFLOW_*. */
static void test_precedence(void **state)
{
    write_file("my.conf", conf_text);
    setenv("AWS_ACCESS_KEY_ID", "AKIAENVENVENVENV5678", 1);
    setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
    setenv("AWS_ENDPOINT_URL", "http://generic:1", 1);
    setenv("AWS_ENDPOINT_URL_S3", "http://s3specific:2", 1);
    rf_config c;
    rf_err err = {0};
    assert_int_equal(rf_config_load(&c, "my.conf", &err), 0);
    assert_string_equal(c.s3.access_key, "AKIAENVENVENVENV5678");
    assert_string_equal(c.s3.secret_key, "filesecret");   /* not overridden */
    assert_string_equal(c.s3.region, "ap-south-1");
    assert_string_equal(c.s3.endpoint, "http://s3specific:2");
    rf_config_free(&c);

    setenv("AWS_REGION", "us-west-2", 1);   /* beats AWS_DEFAULT_REGION */
    setenv("RUVFLOW_S3_ENDPOINT", "http://ours:3", 1);
    setenv("RUVFLOW_STORE", "/data/store/", 1);
    setenv("RUVFLOW_TIER_WARM", "file:///warm", 1);
    setenv("RUVFLOW_TIER_WARM_CLASS", "STANDARD_IA", 1);
    setenv("RUVFLOW_TIER_COLD_CLASS", "none", 1);
    setenv("RUVFLOW_S3_PART_SIZE", "6MiB", 1);
    setenv("RUVFLOW_S3_PATH_STYLE", "auto", 1);
    setenv("RUVFLOW_LEASE_MS", "", 1);   /* empty = unset */
    assert_int_equal(rf_config_load(&c, "my.conf", &err), 0);
    assert_string_equal(c.s3.region, "us-west-2");
    assert_string_equal(c.s3.endpoint, "http://ours:3");
    assert_string_equal(c.store, "file:///data/store");
    assert_string_equal(c.tiers[RF_TIER_HOT].url, "file:///data/store/hot");
    assert_string_equal(c.tiers[RF_TIER_WARM].url, "file:///warm");
    assert_string_equal(c.tiers[RF_TIER_WARM].storage_class, "STANDARD_IA");
    assert_string_equal(c.tiers[RF_TIER_COLD].url, "s3://archive/cold");
    assert_null(c.tiers[RF_TIER_COLD].storage_class);
    assert_int_equal(c.s3.part_size, 6u << 20);
    assert_int_equal(c.s3.path_style, -1);
    assert_int_equal(c.lease_ms, 2500);
    rf_config_free(&c);
}

static void expect_file_error(const char *text, const char *want)
{
    write_file("bad.conf", text);
    rf_config c;
    rf_err err = {0};
    if (rf_config_load(&c, "bad.conf", &err) == 0)
        fail_msg("accepted: %s", text);
    assert_int_equal(err.code, RF_EINVAL);
    if (!strstr(err.msg, want))
        fail_msg("error \"%s\" lacks \"%s\"", err.msg, want);
    assert_null(c.store);   /* freed on failure */
}

static void test_bad_values(void **state)
{
    expect_file_error("store = /x\nbogus = 1\n", "bad.conf:2: unknown key \"bogus\"");
    expect_file_error("[s3]\nregion = x\npart_size = 1M\n",
                      "bad.conf:3: s3.part_size: expected a size");
    expect_file_error("[s3]\npart_size = 12Q\n", "bad.conf:2: s3.part_size");
    expect_file_error("[s3]\npart_size = 99999999999999999999999G\n", "bad.conf:2");
    expect_file_error("[s3]\nmax_retries = -1\n", "bad.conf:2: s3.max_retries");
    expect_file_error("[s3]\nmax_retries = 3x\n", "bad.conf:2");
    expect_file_error("[s3]\npath_style = maybe\n", "expected auto, true or false");
    expect_file_error("[s3]\nendpoint = 127.0.0.1:9000\n", "expected http://");
    expect_file_error("store = relative/dir\n", "bad.conf:1: store: expected file:///");
    expect_file_error("store = file://relative\n", "absolute path");
    expect_file_error("store = s3://\n", "missing bucket");
    expect_file_error("redis_url = http://x\n", "bad.conf:1: redis_url");
    expect_file_error("[tier.cold]\nstorage_class = ICEBERG\n", "unknown storage class");
    expect_file_error("[tier.frozen]\nurl = /x\n", "unknown key \"tier.frozen.url\"");
    expect_file_error("just words\n", "bad.conf:1: expected \"key = value\"");
    expect_file_error("[s3\n", "bad.conf:1: malformed section");
    expect_file_error("[codec]\nlevel = 23\n", "codec.level");
    expect_file_error("store =\n", "no store");

    rf_config c;
    rf_err err = {0};
    assert_int_equal(rf_config_load(&c, "/no/such/file.conf", &err), -1);
    assert_int_equal(err.code, RF_ENOTFOUND);
    setenv("RUVFLOW_CONFIG", "/no/such/either.conf", 1);
    assert_int_equal(rf_config_load(&c, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "either.conf"));
    unsetenv("RUVFLOW_CONFIG");

    setenv("RUVFLOW_S3_MAX_RETRIES", "lots", 1);
    assert_int_equal(rf_config_load(&c, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "RUVFLOW_S3_MAX_RETRIES"));
    unsetenv("RUVFLOW_S3_MAX_RETRIES");
    setenv("AWS_ENDPOINT_URL", "localhost:9000", 1);
    assert_int_equal(rf_config_load(&c, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "AWS_ENDPOINT_URL"));
}

/* Remove the "# from ..." lines of printed output, in place. */
static void drop_from_lines(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        char *nl = strchr(r, '\n');
        size_t n = nl ? (size_t)(nl - r + 1) : strlen(r);
        if (strncmp(r, "# from ", 7)) {
            memmove(w, r, n);
            w += n;
        }
        r += n;
    }
    *w = '\0';
}

/* Each value says where it came from; the local stack is found in a parent
 * folder, as git finds its repository, and the search stops at a ceiling. */
static void test_stack_and_sources(void **state)
{
    fx *f = *state;
    assert_int_equal(system("mkdir -p a/b/c .ruvflow"), 0);
    write_file(".ruvflow/redis.url", "redis://127.0.0.1:45678/0\n");
    write_file("my.conf", "# c\n[s3]\nregion = eu-north-1\n");
    assert_int_equal(chdir("a/b/c"), 0);
    char path[256], want[1024];
    snprintf(path, sizeof path, "%s/my.conf", f->dir);
    rf_config c;
    rf_err err = {0};
    if (rf_config_load(&c, path, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(c.stack, f->dir);
    assert_string_equal(c.redis_url, "redis://127.0.0.1:45678/0");
    snprintf(want, sizeof want, "stack %s/.ruvflow/redis.url", f->dir);
    assert_string_equal(rf_config_source(&c, "redis_url"), want);
    snprintf(want, sizeof want, "file://%s/.ruvflow/store", f->dir);
    assert_string_equal(c.store, want);
    snprintf(want, sizeof want, "file %s:3", path);
    assert_string_equal(rf_config_source(&c, "s3.region"), want);
    assert_string_equal(rf_config_source(&c, "codec.level"), "default");
    assert_null(rf_config_source(&c, "no.such.key"));
    char *out = printed(&c);
    snprintf(want, sizeof want, "# from stack %s/.ruvflow/redis.url\nredis_url = "
             "redis://127.0.0.1:45678/0\n", f->dir);
    if (!strstr(out, want))
        fail_msg("no stack source in:\n%s", out);
    snprintf(want, sizeof want, "# from file %s:3\nregion = eu-north-1\n", path);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "\nlevel = 3\n"));   /* a default: no comment */
    free(out);
    rf_config_free(&c);

    /* The environment wins over the stack, and says so. */
    setenv("RUVFLOW_REDIS_URL", "redis://10.1.1.1:6379/0", 1);
    assert_int_equal(rf_config_load(&c, NULL, &err), 0);
    assert_string_equal(c.redis_url, "redis://10.1.1.1:6379/0");
    assert_string_equal(rf_config_source(&c, "redis_url"), "env RUVFLOW_REDIS_URL");
    rf_config_free(&c);
    unsetenv("RUVFLOW_REDIS_URL");

    /* Above the ceiling nothing is found, and the folders searched are named. */
    setenv("RUVFLOW_CEILING_DIRECTORIES", f->dir, 1);
    assert_int_equal(rf_config_load(&c, NULL, &err), 0);
    assert_null(c.stack);
    assert_string_equal(c.redis_url, "redis://127.0.0.1:6379/0");
    assert_string_equal(rf_config_source(&c, "redis_url"), "default");
    snprintf(want, sizeof want, "%s/a/b/c, %s/a/b, %s/a", f->dir, f->dir, f->dir);
    assert_string_equal(c.stack_looked, want);
    out = printed(&c);
    assert_non_null(strstr(out, "# local stack: none (looked for .ruvflow/ in "));
    free(out);
    rf_config_free(&c);
    assert_int_equal(chdir(f->dir), 0);
}

static void test_print_redacts(void **state)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEBYaDSESSIONTOKEN", 1);
    setenv("RUVFLOW_REDIS_URL", "redis://user:p4ssw0rd@127.0.0.1:6379/0", 1);
    rf_config c;
    rf_err err = {0};
    assert_int_equal(rf_config_load(&c, NULL, &err), 0);
    char *out = printed(&c);
    assert_null(strstr(out, "wJalrXUtnFEMI"));
    assert_null(strstr(out, "EXAMPLEKEY"));
    assert_null(strstr(out, "SESSIONTOKEN"));
    assert_null(strstr(out, "p4ssw0rd"));
    assert_null(strstr(out, "IOSFODNN7EX"));
    assert_non_null(strstr(out, "access_key_id = AKIA***MPLE"));
    assert_non_null(strstr(out, "secret_access_key = ***\n"));
    assert_non_null(strstr(out, "session_token = ***\n"));
    assert_non_null(strstr(out, "redis_url = redis://user:***@127.0.0.1:6379/0"));
    assert_non_null(strstr(out, "[s3]\n"));
    assert_non_null(strstr(out, "part_size = 16777216\n"));
    free(out);
    rf_config_free(&c);

    /* Without secrets, the output reads back as the same configuration. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("RUVFLOW_REDIS_URL");
    write_file("in.conf", conf_text);
    assert_int_equal(rf_config_load(&c, "in.conf", &err), 0);
    free(c.s3.access_key);
    free(c.s3.secret_key);
    c.s3.access_key = c.s3.secret_key = NULL;
    char *first = printed(&c);
    rf_config_free(&c);
    write_file("out.conf", first);
    if (rf_config_load(&c, "out.conf", &err))
        fail_msg("printed config does not load: %s", err.msg);
    char *second = printed(&c);
    rf_config_free(&c);
    /* Only the header line naming the file and the "from" comments differ. */
    drop_from_lines(first);
    drop_from_lines(second);
    assert_string_equal(strchr(first, '\n'), strchr(second, '\n'));
    free(first);
    free(second);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test(test_tier_names),
        cmocka_unit_test_setup_teardown(test_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_redacts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stack_and_sources, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
