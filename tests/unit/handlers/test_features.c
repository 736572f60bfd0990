/* The tool-selection features of a hand-written two-session stream-json
 * log, column by column, exactly as docs/preprocess.md ("Features")
 * documents them: preprocess runs on the log, the dataset's columns are
 * looked up by name and un-normalized (x * std + mean), and each row is
 * compared with the values worked out by hand in the comments below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml/rf_dataset.h"
#include "ml/rf_features.h"
#include "handlers/rf_preprocess.h"
#include "engine/rf_task_impl.h"
#include "rf_test.h"

#define S(id) ",\"session_id\":\"" id "\",\"parent_tool_use_id\":null}\n"
#define ASSIST(m, block) "{\"type\":\"assistant\",\"message\":{\"id\":\"" m "\",\"role\":" \
    "\"assistant\",\"content\":[" block "]}"
#define TOOL(id, name, input) "{\"type\":\"tool_use\",\"id\":\"" id "\",\"name\":\"" name \
    "\",\"input\":" input "}"
#define RESULT(id, err, content) "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":[" \
    "{\"type\":\"tool_result\",\"tool_use_id\":\"" id "\",\"is_error\":" err ",\"content\":\"" \
    content "\"}]}"

/* 200 bytes of error output: size bucket (100, 1000] */
#define E200 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const char session_log[] =
    /* session a: a user message, one text, then Read; its result (3 bytes);
     * one message with TodoWrite and Bash (a parallel batch); TodoWrite's
     * result ok, Bash's an error of 200 bytes; then Bash again */
    "{\"type\":\"system\",\"subtype\":\"init\",\"cwd\":\"/w\"" S("a")
    "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"please fix the bug\"}" S("a")
    ASSIST("m1", "{\"type\":\"text\",\"text\":\"I will read it\"}") S("a")
    ASSIST("m1", TOOL("t1", "Read", "{\"file_path\":\"x\"}")) S("a")
    RESULT("t1", "false", "abc") S("a")
    ASSIST("m2", TOOL("t2", "TodoWrite", "{\"todos\":[{\"content\":\"a\",\"status\":\"completed\"},"
           "{\"content\":\"b\",\"status\":\"in_progress\"},{\"content\":\"c\",\"status\":\"pending\"}]}"))
        S("a")
    ASSIST("m2", TOOL("t3", "Bash", "{\"command\":\"make\"}")) S("a")
    RESULT("t2", "false", "ok") S("a")
    RESULT("t3", "true", E200) S("a")
    ASSIST("m3", TOOL("t4", "Bash", "{\"command\":\"make\"}")) S("a")
    /* session b: another folder, one Grep */
    "{\"type\":\"system\",\"subtype\":\"init\",\"cwd\":\"/v\"" S("b")
    ASSIST("m4", TOOL("t5", "Grep", "{\"pattern\":\"x\"}")) S("b");

static char dir[] = "/tmp/rf-test-feat-XXXXXX";
static rf_dataset d;

static int setup(void **state)
{
    (void)state;
    static const rf_worker_def def = {"preprocess", "test", rf_preprocess_handler, NULL};
    if (!mkdtemp(dir))
        return -1;
    char log[512], path[512];
    snprintf(log, sizeof log, "%s/two.jsonl", dir);
    FILE *f = fopen(log, "w");
    fputs(session_log, f);
    fclose(f);
    rf_task *t = rf_task_new(&def, "t", 1, dir);
    rf_task_add_input(t, "sessions", log);
    rf_task_add_param(t, "hash_dim", "16");
    rf_task_add_param(t, "k_prev", "2");
    rf_err err = {0};
    int rc = rf_preprocess_handler(t, &err);
    rf_task_free(t);
    if (rc)
        fail_msg("%s", err.msg);
    snprintf(path, sizeof path, "%s/dataset.art", dir);
    return rf_dataset_read(path, &d, &err);
}

static int teardown(void **state)
{
    (void)state;
    rf_dataset_free(&d);
    return rf_test_rmtree(dir);
}

static size_t col(const char *name)
{
    for (size_t j = 0; j < d.n_features; j++)
        if (!strcmp(d.feature_names[j], name))
            return j;
    fail_msg("no feature %s", name);
    return 0;
}

/* The un-normalized value of feature name in row i. */
static double at(size_t i, const char *name)
{
    size_t j = col(name);
    double x = d.X[i * d.n_features + j];
    return d.mean ? x * d.std[j] + d.mean[j] : x;
}

#define EQ(row, name, want) do { \
        double got_ = at(row, name); \
        if (fabs(got_ - (want)) > 1e-5) \
            fail_msg("row %d %s: %g, expected %g", row, name, got_, (double)(want)); \
    } while (0)

/* Every column of a slot group other than the listed ones is 0. */
static void only(size_t row, const char *prefix, const char *const *set)
{
    for (size_t j = 0; j < d.n_features; j++) {
        const char *n = d.feature_names[j];
        if (strncmp(n, prefix, strlen(prefix)))
            continue;
        int listed = 0;
        for (size_t k = 0; set[k]; k++)
            listed |= !strcmp(n, set[k]);
        EQ(row, n, listed ? 1.0 : 0.0);
    }
}

static void test_layout(void **state)
{
    (void)state;
    assert_int_equal(d.n_rows, 5);
    /* 16 hashed words, 2 x (64 tool buckets + 8 outcomes), the numbers */
    assert_int_equal(d.n_features, 16 + 2 * (64 + 8) + RF_NF_COUNT);
    assert_string_equal(d.feature_names[16], "prev_tool1_Bash");
    assert_string_equal(d.feature_names[16 + 64], "prev_tool2_Bash");
    assert_string_equal(d.feature_names[16 + 128], "prev_tool1_ok");
    assert_string_equal(d.feature_names[16 + 128 + 8 + 7], "prev_tool2_size_gt100k");
    const char *labels[] = {"Read", "TodoWrite", "Bash", "Bash", "Grep"};
    const int32_t prev[] = {-1, 0, 1, 2, -1};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(d.labels[d.y_class[i]], labels[i]);
        assert_int_equal(d.prev_row[i], prev[i]);
    }
    assert_int_equal(d.group[0], d.group[3]);
    assert_true(d.group[4] != d.group[0]);
}

static void test_previous_calls(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    only(0, "prev_tool", none);                    /* the first call */
    only(4, "prev_tool", none);                    /* session b starts afresh */
    /* row 1 (TodoWrite): Read before it, ok, 3 bytes */
    static const char *const r1[] = {"prev_tool1_Read", "prev_tool1_ok",
                                     "prev_tool1_size_le100", NULL};
    only(1, "prev_tool", r1);
    /* row 2 (Bash, second call of m2): TodoWrite has no result yet */
    static const char *const r2[] = {"prev_tool1_TodoWrite", "prev_tool1_pending",
                                     "prev_tool2_Read", "prev_tool2_ok",
                                     "prev_tool2_size_le100", NULL};
    only(2, "prev_tool", r2);
    /* row 3 (Bash): the failed Bash (200 bytes), TodoWrite ok (2 bytes) */
    static const char *const r3[] = {"prev_tool1_Bash", "prev_tool1_error",
                                     "prev_tool1_size_le1k", "prev_tool2_TodoWrite",
                                     "prev_tool2_ok", "prev_tool2_size_le100", NULL};
    only(3, "prev_tool", r3);
}

static void test_numbers(void **state)
{
    (void)state;
    const char *names[] = {"batch_position", "prev_in_batch", "last_result_failed",
                           "log_thread_call_index", "log_todo_total", "todo_done_frac",
                           "todo_active_pos", "log_calls_since_todo", "cwd_changed",
                           "on_git_branch", "in_subagent"};
    /* rows 0-4; the todo list is read when TodoWrite is called (row 1), so
     * rows 2 and 3 see it: 3 items, 1 done, the 2nd in progress */
    const double want[][11] = {
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {0, 0, 0, log1p(1), 0, 0, 0, 0, 0, 0, 0},
        {1, 0, 0, log1p(2), log1p(3), 1.0 / 3, 2.0 / 3, 0, 0, 0, 0},
        {0, 1, 1, log1p(3), log1p(3), 1.0 / 3, 2.0 / 3, log1p(1), 0, 0, 0},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    };
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 11; k++)
            EQ(i, names[k], want[i][k]);
}

/* Row 3 comes right after two tool results, so the context since the last
 * result is empty: its hashed words are exactly the latest user message and
 * the assistant's latest text, each in its own namespace, log(1 + count). */
static void test_text(void **state)
{
    (void)state;
    rf_fhash user, asst;
    rf_fhash_init_salted(&user, 16, 0x75736572ULL);
    rf_fhash_init_salted(&asst, 16, 0x61737374ULL);
    rf_fhash_add(&user, "please fix the bug", 18);
    rf_fhash_add(&asst, "I will read it", 14);
    for (int j = 0; j < 16; j++) {
        char name[32];
        snprintf(name, sizeof name, "ctx_word_%d", j);
        EQ(3, name, log1p(user.v[j] + asst.v[j]));
    }
    rf_fhash_free(&user);
    rf_fhash_free(&asst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_previous_calls),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
