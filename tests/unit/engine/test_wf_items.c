/* Unit tests for rf_wf_items: the items of a foreach over a step's output
 * (a JSON list or JSON lines), what is refused and why, the cap on items,
 * and ${{ item.KEY }} of object items. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rf_wf_items.h"

static size_t parse(const char *text, size_t max, char ***items, rf_err *err, int *rc)
{
    size_t n = 0;
    *items = NULL;
    *rc = rf_wf_items_parse(text, strlen(text), max, items, &n, err);
    return n;
}

static void drop(char **items, size_t n)
{
    rf_wf_items_free(items, n);
    free(items);
}

static void test_json_list(void **state)
{
    (void)state;
    char **v;
    rf_err err;
    int rc;
    size_t n = parse("[\"a\", 2, 1.5, true, {\"lr\": 0.1, \"h\": [8, 4]}, null]", 100, &v,
                     &err, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 6);
    assert_string_equal(v[0], "a");        /* strings as themselves */
    assert_string_equal(v[1], "2");
    assert_string_equal(v[2], "1.5");
    assert_string_equal(v[3], "true");
    /* compact, keys sorted, numbers exact */
    assert_string_equal(v[4], "{\"h\":[8,4],\"lr\":0.10000000000000001}");
    assert_string_equal(v[5], "null");
    drop(v, n);
    n = parse("[]", 100, &v, &err, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 0);
    drop(v, n);
}

static void test_json_lines(void **state)
{
    (void)state;
    char **v;
    rf_err err;
    int rc;
    size_t n = parse("{\"a\": 1}\n\n  \"two\"\r\n3\n", 100, &v, &err, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "{\"a\":1}");
    assert_string_equal(v[1], "two");
    assert_string_equal(v[2], "3");
    drop(v, n);
    n = parse("", 100, &v, &err, &rc);          /* no lines: no items */
    assert_int_equal(rc, 0);
    assert_int_equal(n, 0);
    drop(v, n);
}

static void test_refused(void **state)
{
    (void)state;
    char **v;
    rf_err err;
    int rc;
    parse("{\"a\": 1}", 100, &v, &err, &rc);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, RF_EINVAL);
    assert_non_null(strstr(err.msg, "a JSON object, not a list"));
    assert_null(v);
    parse("\"text\"", 100, &v, &err, &rc);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, "a JSON string, not a list"));
    parse("1\n2\nnot json\n", 100, &v, &err, &rc);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, "line 3"));
    assert_null(v);
    parse("[1, 2, 3]", 2, &v, &err, &rc);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, RF_ETOOBIG);
    assert_non_null(strstr(err.msg, "--max-tasks"));
    const char nul[] = "[1,\0 2]";
    size_t n = 0;
    v = NULL;
    assert_int_equal(rf_wf_items_parse(nul, sizeof nul - 1, 10, &v, &n, &err), -1);
    assert_non_null(strstr(err.msg, "NUL"));
}

static void test_item_key(void **state)
{
    (void)state;
    rf_buf b = RF_BUF_INIT;
    rf_err err;
    assert_int_equal(rf_wf_item_key("{\"lr\":0.1,\"name\":\"x\",\"h\":[8]}", "lr", &b, &err), 0);
    assert_string_equal(b.data, "0.1");
    rf_buf_reset(&b);
    assert_int_equal(rf_wf_item_key("{\"lr\":0.1,\"name\":\"x\",\"h\":[8]}", "name", &b, &err), 0);
    assert_string_equal(b.data, "x");
    rf_buf_reset(&b);
    assert_int_equal(rf_wf_item_key("{\"h\":[8,4]}", "h", &b, &err), 0);
    assert_string_equal(b.data, "[8,4]");
    assert_int_equal(rf_wf_item_key("{\"lr\":0.1}", "nope", &b, &err), -1);
    assert_non_null(strstr(err.msg, "no key \"nope\""));
    assert_int_equal(rf_wf_item_key("plain", "lr", &b, &err), -1);
    assert_non_null(strstr(err.msg, "not a JSON object"));
    rf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_list),
        cmocka_unit_test(test_json_lines),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_item_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
