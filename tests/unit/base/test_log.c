/* test_log: rf_log's JSON lines (RUVFLOW_LOG_FORMAT=json): each line is one
 * object with ts, level, component, msg, and the run/step/task/attempt ids
 * when the logger carries them; secrets redacted, bad UTF-8 kept parseable;
 * the text form unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "base/rf_log.h"

/* Every line of f parsed; returns how many, objects into out[]. */
static size_t read_lines(FILE *f, json_t **out, size_t max)
{
    char line[8192];
    size_t n = 0;
    rewind(f);
    while (fgets(line, sizeof line, f) && n < max) {
        json_error_t je;
        out[n] = json_loads(line, 0, &je);
        assert_non_null(out[n]);
        assert_true(json_is_object(out[n]));
        n++;
    }
    return n;
}

static const char *str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void test_json_lines(void **st)
{
    (void)st;
    FILE *f = tmpfile();
    rf_log base = {RF_LOG_DEBUG, f, "worker", 1, NULL};
    rf_log_info(&base, "started \"quoted\"\n and a newline");
    rf_log_ids ids = {"run-1", "train", "run-1/train/3", 2};
    rf_log lg = rf_log_with_ids(&base, &ids);
    rf_log_warn(&lg, "fetch redis://u:secret@h:1/0 failed");
    rf_log_debug(&lg, "bad utf-8: \xff\xfe end");
    rf_log_debug(&base, "filtered? no: debug level");
    base.level = RF_LOG_WARN;
    rf_log_info(&base, "below the level: not written");
    json_t *o[8];
    size_t n = read_lines(f, o, 8);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        const char *ts = str(o[i], "ts");
        assert_non_null(ts);
        assert_int_equal(strlen(ts), 24); /* 2026-12-04T01:02:03.456Z */
        assert_int_equal(ts[23], 'Z');
        assert_string_equal(str(o[i], "component"), "worker");
        assert_non_null(str(o[i], "msg"));
    }
    assert_string_equal(str(o[0], "level"), "info");
    assert_string_equal(str(o[0], "msg"), "started \"quoted\"\n and a newline");
    assert_null(json_object_get(o[0], "task"));
    assert_string_equal(str(o[1], "level"), "warn");
    assert_string_equal(str(o[1], "run"), "run-1");
    assert_string_equal(str(o[1], "step"), "train");
    assert_string_equal(str(o[1], "task"), "run-1/train/3");
    assert_int_equal(json_integer_value(json_object_get(o[1], "attempt")), 2);
    assert_null(strstr(str(o[1], "msg"), "secret"));
    assert_string_equal(str(o[2], "msg"), "bad utf-8: ?? end");
    assert_string_equal(str(o[2], "task"), "run-1/train/3");
    for (size_t i = 0; i < n; i++)
        json_decref(o[i]);
    fclose(f);
}

static void test_text_and_parse(void **st)
{
    (void)st;
    assert_int_equal(rf_log_format_parse("json"), 1);
    assert_int_equal(rf_log_format_parse("TEXT"), 0);
    assert_int_equal(rf_log_format_parse("xml"), -1);
    assert_int_equal(rf_log_format_parse(NULL), -1);
    FILE *f = tmpfile();
    rf_log_ids ids = {"r", "s", "t", 1};
    rf_log base = {RF_LOG_INFO, f, "scheduler", 0, NULL};
    rf_log lg = rf_log_with_ids(&base, &ids);
    rf_log_info(&lg, "hello");
    rewind(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "[scheduler] info: hello\n"));
    assert_int_not_equal(line[0], '{');
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_lines),
        cmocka_unit_test(test_text_and_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
