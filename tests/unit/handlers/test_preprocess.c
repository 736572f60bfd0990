/* Unit tests for preprocess: the JSON span scanner, the line reader,
 * message reassembly, tool-call pairing, subagent linking, error
 * recoveries, feature hashing, categories/levels and the splits. */
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
#include <zlib.h>
#include <zstd.h>

#include "ml/rf_dataset.h"
#include "ml/rf_extract.h"
#include "ml/rf_jscan.h"
#include "handlers/rf_preprocess.h"
#include "ml/rf_sessions.h"
#include "ml/rf_split.h"
#include "engine/rf_task_impl.h"
#include "rf_test.h"

/* ---- helpers ---- */

typedef struct fixture {
    rf_extractor *x;
    rf_file_stats st;
} fixture;

/* Feed text (lines separated by '\n') as one file of one unit. */
static rf_extract_out *feed(fixture *f, const char *text)
{
    rf_extract_opts o = {256, 3};
    f->x = rf_extract_new(&o);
    memset(&f->st, 0, sizeof f->st);
    f->st.path = strdup("test.jsonl");
    rf_extract_begin_file(f->x, &f->st);
    char *copy = strdup(text);
    uint64_t lineno = 0;
    for (char *line = copy, *next; line && *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        rf_preprocess_line(f->x, &f->st, line, strlen(line), nl ? 0 : RF_LINE_NO_NEWLINE, ++lineno);
    }
    free(copy);
    rf_extract_end_file(f->x);
    rf_extract_finish(f->x);
    return rf_extract_result(f->x);
}

static void fixture_free(fixture *f)
{
    rf_extract_free(f->x);
    rf_file_stats_free(&f->st);
}

static const rf_plan_rec *plan_with_calls(const rf_extract_out *o, int calls)
{
    for (size_t i = 0; i < o->nplans; i++)
        if (o->plans[i].calls == calls)
            return &o->plans[i];
    return NULL;
}

/* ---- scanner ---- */

static int valid(const char *s)
{
    rf_jspan v;
    const char *why;
    size_t where;
    return rf_jscan_validate(s, strlen(s), &v, &why, &where) == 0;
}

static void test_jscan_validate(void **state)
{
    assert_true(valid("{}"));
    assert_true(valid(" {\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\n\"]} "));
    assert_true(valid("\"caf\xc3\xa9\""));
    assert_true(valid("[[[]]]"));
    assert_false(valid(""));
    assert_false(valid("{\"a\":1"));                 /* truncated */
    assert_false(valid("{\"a\":1}x"));               /* trailing */
    assert_false(valid("{\"a\" 1}"));
    assert_false(valid("{\"a\":01}"));
    assert_false(valid("[1,]"));
    assert_false(valid("\"\\x\""));
    assert_false(valid("\"\xc3\""));                  /* cut UTF-8 */
    assert_false(valid("\"\xed\xa0\x80\""));          /* surrogate */
    assert_false(valid("\"\xc0\xaf\""));              /* overlong */
    assert_false(valid("\"a\tb\""));                  /* raw control */
    assert_false(valid("hello world"));
    char deep[2 * RF_JSCAN_MAX_DEPTH + 10];
    memset(deep, '[', RF_JSCAN_MAX_DEPTH + 1);
    memset(deep + RF_JSCAN_MAX_DEPTH + 1, ']', RF_JSCAN_MAX_DEPTH + 1);
    deep[2 * RF_JSCAN_MAX_DEPTH + 2] = '\0';
    assert_false(valid(deep));

    rf_jspan v;
    const char *why;
    size_t where;
    const char *t = "{\"a\":\"xyz";
    assert_int_equal(rf_jscan_validate(t, strlen(t), &v, &why, &where), -1);
    assert_non_null(strstr(why, "truncated"));
}

static void test_jscan_walk(void **state)
{
    const char *s = "{\"type\":\"user\",\"n\":42,\"msg\":{\"k\":[1,{\"x\":\"a\\\"b\"}]},\"t\":true}";
    rf_jspan v;
    const char *why;
    size_t where;
    assert_int_equal(rf_jscan_validate(s, strlen(s), &v, &why, &where), 0);
    assert_true(rf_jstr_eq(rf_jobj_get(v, "type"), "user"));
    assert_int_equal((int)rf_jnum(rf_jobj_get(v, "n"), -1), 42);
    assert_true(rf_jbool(rf_jobj_get(v, "t")));
    assert_int_equal(rf_jspan_type(rf_jobj_get(v, "nope")), RF_J_ABSENT);
    rf_jspan k = rf_jobj_get(rf_jobj_get(v, "msg"), "k");
    assert_int_equal(rf_jspan_type(k), RF_J_ARRAY);
    rf_jiter it = rf_jiter_begin(k);
    rf_jspan e;
    int n = 0;
    while (rf_jarr_next(&it, &e))
        n++;
    assert_int_equal(n, 2);
    it = rf_jiter_begin(k);
    rf_jarr_next(&it, &e);
    rf_jarr_next(&it, &e);
    char *x = rf_jspan_decode_str(rf_jobj_get(e, "x"), NULL);
    assert_string_equal(x, "a\"b");
    free(x);
}

/* ---- line reader ---- */

static char *write_tmp(const char *name, const void *p, size_t n)
{
    char *path = malloc(256);
    snprintf(path, 256, "/tmp/rf-test-pp-%d-%s", (int)getpid(), name);
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
    return path;
}

static int read_all(const char *path, size_t cap, char lines[][64], int *flags)
{
    rf_lines *r;
    rf_err err = {0};
    assert_int_equal(rf_lines_open(path, cap, &r, &err), 0);
    char *line;
    size_t len;
    int fl, n = 0;
    while (rf_lines_next(r, &line, &len, &fl, &err) == 1) {
        snprintf(lines[n], 64, "%.*s", (int)len, line);
        flags[n++] = fl;
    }
    rf_lines_close(r);
    return n;
}

static void test_lines_plain_gz_zst(void **state)
{
    const char text[] = "{\"a\":1}\r\n\nsecond\nlast-no-newline";
    char lines[8][64];
    int flags[8];
    char *p = write_tmp("plain", text, sizeof text - 1);
    assert_int_equal(read_all(p, 0, lines, flags), 4);
    assert_string_equal(lines[0], "{\"a\":1}");
    assert_string_equal(lines[1], "");
    assert_string_equal(lines[3], "last-no-newline");
    assert_int_equal(flags[3], RF_LINE_NO_NEWLINE);
    unlink(p);
    free(p);

    /* gzip, two members concatenated */
    char gzpath[256];
    snprintf(gzpath, sizeof gzpath, "/tmp/rf-test-pp-%d.any", (int)getpid());
    gzFile gz = gzopen(gzpath, "wb");
    gzwrite(gz, text, 10);
    gzclose(gz);
    gz = gzopen(gzpath, "ab");
    gzwrite(gz, text + 10, sizeof text - 11);
    gzclose(gz);
    assert_int_equal(read_all(gzpath, 0, lines, flags), 4);
    assert_string_equal(lines[2], "second");
    unlink(gzpath);

    /* zstd */
    size_t bound = ZSTD_compressBound(sizeof text);
    void *z = malloc(bound);
    size_t zn = ZSTD_compress(z, bound, text, sizeof text - 1, 3);
    p = write_tmp("zst", z, zn);
    assert_int_equal(read_all(p, 0, lines, flags), 4);
    assert_string_equal(lines[3], "last-no-newline");
    unlink(p);
    free(p);
    free(z);
}

static void test_lines_cap(void **state)
{
    /* a 5000-byte line between two short ones, cap 1024 */
    size_t n = 5000 + 20;
    char *text = malloc(n);
    strcpy(text, "short1\n");
    memset(text + 7, 'x', 5000);
    strcpy(text + 5007, "\nshort2\n");
    char *p = write_tmp("cap", text, strlen(text));
    char lines[8][64];
    int flags[8];
    assert_int_equal(read_all(p, 1024, lines, flags), 3);
    assert_string_equal(lines[0], "short1");
    assert_int_equal(flags[1], RF_LINE_TOOLONG);
    assert_string_equal(lines[2], "short2");
    unlink(p);
    free(p);
    free(text);
}

/* ---- extraction ---- */

/* Stream-json: one message split over three lines (text + 2 parallel
 * calls), usage growing as a running snapshot; then the results. */
static const char *const STREAM =
    "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s1\"}\n"
    "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"Fix the crash in the parser\"},\"session_id\":\"s1\",\"parent_tool_use_id\":null}\n"
    "{\"type\":\"assistant\",\"message\":{\"id\":\"m1\",\"content\":[{\"type\":\"text\",\"text\":\"Let me look at the parser.\"}],\"usage\":{\"input_tokens\":10,\"output_tokens\":1}},\"session_id\":\"s1\",\"parent_tool_use_id\":null}\n"
    "{\"type\":\"assistant\",\"message\":{\"id\":\"m1\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Read\",\"input\":{\"file\":\"a.c\"}}],\"usage\":{\"input_tokens\":10,\"output_tokens\":5}},\"session_id\":\"s1\",\"parent_tool_use_id\":null}\n"
    "{\"type\":\"assistant\",\"message\":{\"id\":\"m1\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t2\",\"name\":\"Grep\",\"input\":{\"p\":\"x\"}}],\"usage\":{\"input_tokens\":10,\"output_tokens\":9}},\"session_id\":\"s1\",\"parent_tool_use_id\":null}\n"
    "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t2\",\"content\":\"no match\",\"is_error\":true}]},\"session_id\":\"s1\",\"parent_tool_use_id\":null}\n"
    "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"int main\"}]},\"session_id\":\"s1\",\"parent_tool_use_id\":null}\n"
    "{\"type\":\"assistant\",\"message\":{\"id\":\"m2\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"try again\",\"signature\":\"x\"}],\"usage\":{\"input_tokens\":20,\"output_tokens\":3}},\"session_id\":\"s1\",\"parent_tool_use_id\":null}\n"
    "{\"type\":\"assistant\",\"message\":{\"id\":\"m2\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t3\",\"name\":\"Grep\",\"input\":{\"p\":\"y\"}}],\"usage\":{\"input_tokens\":20,\"output_tokens\":7}},\"session_id\":\"s1\",\"parent_tool_use_id\":null}\n"
    "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t3\",\"content\":\"found\"}]},\"session_id\":\"s1\",\"parent_tool_use_id\":null}\n"
    "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"nope\",\"content\":\"orphan\"}]},\"session_id\":\"s1\",\"parent_tool_use_id\":null}\n"
    "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"num_turns\":3,\"duration_ms\":1234,\"total_cost_usd\":0.5,\"session_id\":\"s1\"}\n";

static void test_reassembly_and_pairing(void **state)
{
    fixture f;
    rf_extract_out *o = feed(&f, STREAM);
    assert_int_equal(f.st.json_lines, 12);
    assert_int_equal(f.st.tool_calls, 3);
    assert_int_equal(f.st.parallel_batches, 1);   /* m1 holds 2 calls */
    assert_int_equal(f.st.max_batch, 2);
    assert_int_equal(f.st.tool_errors, 1);
    assert_int_equal(f.st.unpaired_results, 1);   /* "nope" */
    assert_int_equal(f.st.events[RF_EV_TOOL_USE], 3);
    assert_int_equal(f.st.events[RF_EV_FUNCTION_RESULT], 4);
    assert_int_equal(f.st.events[RF_EV_ERROR], 1);
    assert_int_equal(f.st.events[RF_EV_THINKING], 1);
    assert_string_equal(rf_file_format(&f.st), "stream-json");

    const rf_plan_rec *p = plan_with_calls(o, 2);
    assert_non_null(p);
    assert_string_equal(p->tools, "Read,Grep");
    assert_int_equal(p->results, 2);             /* both results paired */
    assert_int_equal(p->errors, 1);
    assert_true(p->purpose_chars > 0);            /* the text before */

    assert_int_equal(o->nsigs, 1);
    const rf_signal_rec *s = &o->sigs[0];
    assert_string_equal(s->session_id, "s1");
    assert_string_equal(s->outcome, "success");
    assert_int_equal(s->turns, 3);
    assert_int_equal(s->duration_ms, 1234);
    /* usage: last snapshot per message id, summed over messages */
    assert_int_equal(s->output_tokens, 9 + 7);
    assert_int_equal(s->input_tokens, 10 + 20);
    assert_true(s->batch_utilization > 0.66 && s->batch_utilization < 0.67);
    assert_int_equal(s->category, 0);            /* "Fix the crash": bug fix */

    /* Grep failed, then Grep succeeded: one recovery with no step between */
    assert_int_equal(o->nrecs, 1);
    assert_string_equal(o->recs[0].tool, "Grep");
    assert_int_equal(o->recs[0].recovered, 1);
    assert_int_equal(o->recs[0].steps, 0);
    assert_int_equal(o->error_rows.n, 1);
    assert_int_equal(o->error_rows.label[0], 1);

    /* tool-selection rows: one per call, labelled with the tool */
    assert_int_equal(o->tool_rows.n, 3);
    assert_string_equal(o->tools.names[o->tool_rows.label[0]], "Read");
    assert_string_equal(o->tools.names[o->tool_rows.label[2]], "Grep");
    float *row = calloc(rf_rows_n_features(&o->tool_rows), sizeof *row);
    rf_rows_densify(&o->tool_rows, 2, row);
    size_t nf = rf_rows_n_features(&o->tool_rows);
    assert_float_equal(row[nf - RF_NF_COUNT + RF_NF_LAST_FAILED], 0.0, 1e-6);
    assert_float_equal(row[nf - RF_NF_COUNT + RF_NF_CTX_THINKING_BLOCKS], 1.0, 1e-6);
    /* "try again" was hashed into the context of the third call */
    uint32_t idx = rf_fhash_index("try", 3, 256);
    (void)idx;
    float words = 0;
    for (uint32_t i = 0; i < 256; i++)
        words += row[i];
    assert_true(words > 0);
    rf_rows_densify(&o->tool_rows, 1, row);
    assert_float_equal(row[nf - RF_NF_COUNT + RF_NF_BATCH_POS], 1.0, 1e-6);
    free(row);
    fixture_free(&f);
}

/* Stream-json subagent: lines with parent_tool_use_id = the Task call. */
static void test_subagent_stream(void **state)
{
    fixture f;
    rf_extract_out *o = feed(&f,
        "{\"type\":\"assistant\",\"message\":{\"id\":\"m1\",\"content\":[{\"type\":\"tool_use\",\"id\":\"task1\",\"name\":\"Task\",\"input\":{\"prompt\":\"look\"}}]},\"session_id\":\"s\",\"parent_tool_use_id\":null}\n"
        "{\"type\":\"assistant\",\"message\":{\"id\":\"m2\",\"content\":[{\"type\":\"tool_use\",\"id\":\"b1\",\"name\":\"Bash\",\"input\":{}}]},\"session_id\":\"s\",\"parent_tool_use_id\":\"task1\"}\n"
        "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"b1\",\"content\":\"ok\"}]},\"session_id\":\"s\",\"parent_tool_use_id\":\"task1\"}\n"
        "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"task1\",\"content\":\"done\"}]},\"session_id\":\"s\",\"parent_tool_use_id\":null}\n");
    assert_int_equal(f.st.sidechain_lines, 2);
    assert_int_equal(o->nthreads, 2);
    const rf_thread_rec *sub = &o->threads[1];
    assert_int_equal(sub->kind, RF_THREAD_STREAM);
    assert_int_equal(sub->parent_call, 0);         /* the Task call */
    assert_string_equal(o->tools.names[sub->parent_tool], "Task");
    assert_int_equal(sub->calls, 1);
    assert_int_equal(o->sigs[0].subagents, 1);
    /* the subagent's Bash call knows it runs in a subagent */
    float *row = calloc(rf_rows_n_features(&o->tool_rows), sizeof *row);
    rf_rows_densify(&o->tool_rows, 1, row);
    assert_float_equal(row[rf_rows_n_features(&o->tool_rows) - RF_NF_COUNT + RF_NF_IN_SUBAGENT], 1.0, 1e-6);
    free(row);
    fixture_free(&f);
}

/* Projects 1.0.x: inline isSidechain lines, linked by the Task prompt. */
static void test_subagent_inline(void **state)
{
    fixture f;
    rf_extract_out *o = feed(&f,
        "{\"type\":\"assistant\",\"sessionId\":\"p\",\"isSidechain\":false,\"uuid\":\"a1\",\"parentUuid\":null,\"message\":{\"id\":\"m1\",\"content\":[{\"type\":\"tool_use\",\"id\":\"tA\",\"name\":\"Task\",\"input\":{\"prompt\":\"first job\"}}]}}\n"
        "{\"type\":\"assistant\",\"sessionId\":\"p\",\"isSidechain\":false,\"uuid\":\"a2\",\"parentUuid\":\"a1\",\"message\":{\"id\":\"m1\",\"content\":[{\"type\":\"tool_use\",\"id\":\"tB\",\"name\":\"Task\",\"input\":{\"prompt\":\"second job\"}}]}}\n"
        "{\"type\":\"user\",\"sessionId\":\"p\",\"isSidechain\":true,\"uuid\":\"s1\",\"parentUuid\":null,\"message\":{\"role\":\"user\",\"content\":\"second job\"}}\n"
        "{\"type\":\"assistant\",\"sessionId\":\"p\",\"isSidechain\":true,\"uuid\":\"s2\",\"parentUuid\":\"s1\",\"message\":{\"id\":\"m9\",\"content\":[{\"type\":\"tool_use\",\"id\":\"x1\",\"name\":\"Read\",\"input\":{}}]}}\n"
        "{\"type\":\"user\",\"sessionId\":\"p\",\"isSidechain\":true,\"uuid\":\"s3\",\"parentUuid\":\"s2\",\"message\":{\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"x1\",\"content\":\"..\"}]}}\n");
    assert_string_equal(rf_file_format(&f.st), "projects");
    assert_int_equal(f.st.sidechain_lines, 3);
    assert_int_equal(f.st.parallel_batches, 1);
    assert_int_equal(o->nthreads, 2);
    assert_int_equal(o->threads[1].kind, RF_THREAD_INLINE);
    assert_int_equal(o->threads[1].parent_call, 1);   /* matched "second job" */
    assert_int_equal(o->threads[1].calls, 1);
    fixture_free(&f);
}

/* Projects 2.x: a subagent file (agentId) linked through toolUseResult. */
static void test_subagent_file(void **state)
{
    rf_extract_opts eo = {64, 2};
    rf_extractor *x = rf_extract_new(&eo);
    rf_file_stats a = {0}, b = {0};
    a.path = strdup("main.jsonl");
    b.path = strdup("main/subagents/agent-z.jsonl");
    b.index = 1;
    const char *main_lines[] = {
        "{\"type\":\"assistant\",\"sessionId\":\"q\",\"message\":{\"id\":\"m1\",\"content\":[{\"type\":\"tool_use\",\"id\":\"T\",\"name\":\"Task\",\"input\":{\"prompt\":\"go\"}}]}}",
        "{\"type\":\"user\",\"sessionId\":\"q\",\"toolUseResult\":{\"status\":\"completed\",\"agentId\":\"z\"},\"message\":{\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"T\",\"content\":\"done\"}]}}",
    };
    const char *sub_lines[] = {
        "{\"type\":\"user\",\"sessionId\":\"q\",\"isSidechain\":true,\"agentId\":\"z\",\"message\":{\"role\":\"user\",\"content\":\"go\"}}",
        "{\"type\":\"assistant\",\"sessionId\":\"q\",\"isSidechain\":true,\"agentId\":\"z\",\"message\":{\"id\":\"k\",\"content\":[{\"type\":\"tool_use\",\"id\":\"g\",\"name\":\"Glob\",\"input\":{}}]}}",
    };
    rf_extract_begin_file(x, &a);
    for (int i = 0; i < 2; i++)
        rf_preprocess_line(x, &a, main_lines[i], strlen(main_lines[i]), 0, (uint64_t)i + 1);
    rf_extract_end_file(x);
    /* given as separate inputs (two units): the subagent file still joins */
    rf_extract_end_unit(x);
    rf_extract_begin_file(x, &b);
    for (int i = 0; i < 2; i++)
        rf_preprocess_line(x, &b, sub_lines[i], strlen(sub_lines[i]), 0, (uint64_t)i + 1);
    rf_extract_end_file(x);
    assert_int_equal(rf_extract_open_sessions(x), 1);   /* one session, two files */
    rf_extract_end_unit(x);
    assert_int_equal(rf_extract_open_sessions(x), 1);
    /* the next unit's new session closes it */
    rf_file_stats c = {0};
    c.path = strdup("other.jsonl");
    const char *other = "{\"type\":\"user\",\"sessionId\":\"r\",\"message\":{\"content\":\"hi\"}}";
    rf_extract_begin_file(x, &c);
    rf_preprocess_line(x, &c, other, strlen(other), 0, 1);
    rf_extract_end_file(x);
    assert_int_equal(rf_extract_open_sessions(x), 1);
    rf_extract_finish(x);
    assert_int_equal(rf_extract_open_sessions(x), 0);
    rf_file_stats_free(&c);
    rf_extract_out *o = rf_extract_result(x);
    assert_int_equal(o->nsigs, 2);
    assert_int_equal(o->nthreads, 3);
    assert_int_equal(o->threads[1].kind, RF_THREAD_FILE);
    assert_int_equal(o->threads[1].parent_call, 0);
    assert_int_equal(a.sessions, 1);
    assert_int_equal(b.sessions, 1);
    assert_int_equal(o->tool_rows.file[1], 1);
    rf_extract_free(x);
    rf_file_stats_free(&a);
    rf_file_stats_free(&b);
}

static void test_bad_lines(void **state)
{
    fixture f;
    feed(&f,
         "\n"
         "not json at all\n"
         "{\"type\":\"user\",\"message\":{\"content\":\"caf\xc3\"}}\n"
         "42\n"
         "{\"type\":\"mystery\",\"session_id\":\"u\"}\n"
         "{\"type\":\"assistant\",\"message\":{\"id\":\"z\",\"content\":[{\"type\":\"hologram\"},{\"type\":\"image\",\"source\":{}}]},\"session_id\":\"u\"}\n"
         "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_re");
    assert_int_equal(f.st.lines, 7);
    assert_int_equal(f.st.json_lines, 3);          /* 42, mystery, assistant */
    assert_int_equal(f.st.skipped_lines, 5);
    assert_int_equal(f.st.skipped[0].line, 1);
    assert_string_equal(f.st.skipped[0].reason, "blank line");
    assert_non_null(strstr(f.st.skipped[2].reason, "invalid UTF-8"));
    assert_non_null(strstr(f.st.skipped[3].reason, "not an object"));
    assert_int_equal(f.st.skipped[4].line, 7);
    assert_non_null(strstr(f.st.skipped[4].reason, "truncated last line"));
    assert_int_equal(f.st.blocks[RF_BLK_OTHER], 1);
    assert_int_equal(f.st.blocks[RF_BLK_IMAGE], 1);
    assert_int_equal(f.st.events[RF_EV_SYSTEM], 1);
    assert_int_equal(f.st.unknown_types, 1);        /* "mystery" */
    assert_int_equal(f.st.types.n, 2);
    fixture_free(&f);
}

/* --output-format json: one result object; with --verbose, one array. */
static void test_json_formats(void **state)
{
    fixture f;
    rf_extract_out *o = feed(&f,
        "{\"type\":\"result\",\"subtype\":\"error_max_turns\",\"cost_usd\":3.5,\"duration_ms\":10,"
        "\"is_error\":false,\"num_turns\":30,\"session_id\":\"a6\"}\n");
    assert_string_equal(rf_file_format(&f.st), "json");
    assert_int_equal(f.st.events[RF_EV_ERROR], 1);   /* an error subtype */
    assert_string_equal(o->sigs[0].outcome, "error_max_turns");
    assert_true(o->sigs[0].is_error);
    assert_float_equal(o->sigs[0].cost_usd, 3.5, 1e-9);
    assert_int_equal(o->sigs[0].turns, 30);
    fixture_free(&f);

    o = feed(&f,
        "[{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"v\"},"
        "{\"type\":\"assistant\",\"message\":{\"id\":\"m\",\"model\":\"<synthetic>\","
        "\"content\":[{\"type\":\"text\",\"text\":\"API Error: 529\"},"
        "{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"Bash\",\"input\":{}}]},\"session_id\":\"v\"},"
        "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\","
        "\"content\":\"boom\",\"is_error\":true}]},\"session_id\":\"v\"},"
        "{\"type\":\"result\",\"subtype\":\"success\",\"session_id\":\"v\"}]\n");
    assert_string_equal(rf_file_format(&f.st), "json");
    assert_int_equal(f.st.json_lines, 1);
    assert_int_equal(f.st.tool_calls, 1);
    assert_int_equal(f.st.events[RF_EV_ERROR], 2);   /* API error + failed result */
    assert_int_equal(o->sigs[0].api_errors, 1);
    /* a failure never followed by a success: not recovered */
    assert_int_equal(o->nrecs, 1);
    assert_int_equal(o->recs[0].recovered, 0);
    assert_int_equal(o->error_rows.label[0], 0);
    fixture_free(&f);
}

/* ---- features, categories, levels ---- */

static void test_feature_hashing(void **state)
{
    rf_fhash h;
    rf_fhash_init(&h, 1024);
    rf_fhash_add(&h, "Read the FILE\\nread the file", 28);
    /* tokens: read the file read the file -> "read" twice (case folded,
     * the \n escape separates "FILE" and "read") */
    uint32_t i_read = rf_fhash_index("read", 4, 1024);
    (void)i_read;
    float total = 0;
    for (uint32_t i = 0; i < h.ntouched; i++)
        total += h.v[h.touched[i]];
    assert_float_equal(total, 6 + 5, 1e-6);        /* 6 words + 5 bigrams */
    /* the same text again hashes to the same buckets */
    rf_fhash g;
    rf_fhash_init(&g, 1024);
    rf_fhash_add(&g, "read the file", 13);
    rf_fhash_add(&g, "READ THE FILE", 13);
    for (uint32_t i = 0; i < 1024; i++)
        assert_true((h.v[i] == 0) == (g.v[i] == 0));
    rf_fhash_reset(&g);
    for (uint32_t i = 0; i < 1024; i++)
        assert_float_equal(g.v[i], 0, 0);
    assert_int_equal(g.ntouched, 0);
    for (int k = 0; k < 100; k++) {
        char tok[16];
        snprintf(tok, sizeof tok, "t%d", k);
        assert_true(rf_fhash_index(tok, strlen(tok), 7) < 7);
    }
    rf_fhash_free(&h);
    rf_fhash_free(&g);
}

static void test_category_level(void **state)
{
#define CAT(s) rf_categories[rf_category_of(s, strlen(s))]
    assert_string_equal(CAT("Fix the crash when parsing empty files"), "bug fix");
    assert_string_equal(CAT("Add a dark mode toggle"), "feature");
    assert_string_equal(CAT("Refactor the store module into smaller files"), "refactoring");
    assert_string_equal(CAT("Write unit tests for the parser"), "testing");
    assert_string_equal(CAT("Update the README"), "documentation");
    assert_string_equal(CAT("The build is slow, optimize it"), "performance");
    assert_string_equal(CAT("Check for SQL injection vulnerabilities"), "security");
    assert_string_equal(CAT("hello"), "feature");
#undef CAT
    rf_signal_rec s = {0};
    assert_int_equal(rf_level_of(&s), RF_LEVEL_TRIVIAL);
    s.tool_calls = 3, s.turns = 4;                  /* 1 + 1 points */
    assert_int_equal(rf_level_of(&s), RF_LEVEL_TRIVIAL);
    s.tool_calls = 8;                               /* 2 + 1 */
    assert_int_equal(rf_level_of(&s), RF_LEVEL_EASY);
    s.tool_calls = 30, s.turns = 20, s.tool_errors = 2;
    assert_int_equal(rf_level_of(&s), RF_LEVEL_MEDIUM);
    s.tool_calls = 150, s.turns = 60, s.tool_errors = 7, s.subagents = 3;
    assert_int_equal(rf_level_of(&s), RF_LEVEL_EXPERT);
}

/* ---- splits ---- */

static void test_split_grouped_stratified(void **state)
{
    enum { N = 3000 };
    int32_t *group = malloc(N * sizeof *group), *label = malloc(N * sizeof *label);
    uint8_t *a = malloc(N), *b = malloc(N), *c = malloc(N);
    uint64_t st = 7;
    for (int i = 0; i < N; i++) {
        group[i] = i / 20;                         /* 150 sessions */
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        label[i] = (int32_t)((st >> 33) % 10 < 7 ? 0 : (st >> 40) % 2 + 1);
    }
    double frac[3] = {0.7, 0.15, 0.15};
    rf_err err = {0};
    assert_int_equal(rf_split_grouped(N, group, label, 3, frac, 3, 42, a, &err), 0);
    assert_int_equal(rf_split_grouped(N, group, label, 3, frac, 3, 42, b, &err), 0);
    assert_int_equal(rf_split_grouped(N, group, label, 3, frac, 3, 43, c, &err), 0);
    assert_memory_equal(a, b, N);                  /* deterministic */
    assert_memory_not_equal(a, c, N);              /* the seed matters */
    int rows[3] = {0}, lab[3][3] = {{0}}, tot[3] = {0};
    for (int i = 0; i < N; i++) {
        assert_int_equal(a[i], a[group[i] * 20]);  /* grouped */
        rows[a[i]]++;
        lab[a[i]][label[i]]++;
        tot[label[i]]++;
    }
    assert_true(abs(rows[0] - 2100) <= 60);
    assert_true(abs(rows[1] - 450) <= 60);
    assert_true(abs(rows[2] - 450) <= 60);
    for (int p = 0; p < 3; p++)                    /* stratified */
        for (int l = 0; l < 3; l++) {
            double want = (double)tot[l] / N, got = (double)lab[p][l] / rows[p];
            assert_true(got > want - 0.04 && got < want + 0.04);
        }
    /* few groups: still no empty part */
    int32_t g3[6] = {5, 5, 9, 9, 1, 1};
    uint8_t s3[6];
    assert_int_equal(rf_split_grouped(6, g3, NULL, 0, frac, 3, 1, s3, &err), 0);
    int seen[3] = {0};
    for (int i = 0; i < 6; i++)
        seen[s3[i]] = 1;
    assert_true(seen[0] && seen[1] && seen[2]);
    /* bad arguments */
    int32_t bad[1] = {7};
    assert_int_equal(rf_split_grouped(1, g3, bad, 3, frac, 3, 1, s3, &err), -1);
    double fr[3];
    assert_int_equal(rf_split_parse("80/10/10", fr, &err), 0);
    assert_float_equal(fr[0], 0.8, 1e-9);
    assert_int_equal(rf_split_parse("80/10", fr, &err), -1);
    assert_int_equal(rf_split_parse("a/b/c", fr, &err), -1);
    free(group), free(label), free(a), free(b), free(c);
}

/* ---- the handler, end to end ---- */

static rf_task *new_task(char *dir)
{
    static const rf_worker_def def = {"preprocess", "test", rf_preprocess_handler, NULL};
    assert_non_null(mkdtemp(dir));
    return rf_task_new(&def, "t", 1, dir);
}

static void rm_dir(const char *dir)
{
    assert_int_equal(rf_test_rmtree(dir), 0);
}

/* The demo sessions: grouped splits, level/category per row, train-only
 * normalization (train columns have mean 0 afterwards, val/test do not
 * have to), deterministic bytes. */
static void test_handler_sessions(void **state)
{
    char dir[] = "/tmp/rf-test-pp-XXXXXX";
    rf_task *t = new_task(dir);
    rf_task_add_input(t, "sessions", "workflows/data/sessions");
    rf_task_add_param(t, "hash_dim", "512");
    rf_err err = {0};
    assert_int_equal(rf_preprocess_handler(t, &err), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/dataset.art", dir);
    rf_dataset d;
    memset(&d, 0, sizeof d);
    assert_int_equal(rf_dataset_read(path, &d, &err), 0);
    assert_int_equal(d.n_rows, 271);
    assert_int_equal(d.n_features, 512 + 3 * (RF_TOOL_SLOTS + RF_OUTCOME_SLOTS) + RF_NF_COUNT);
    assert_non_null(d.prev_row);
    assert_non_null(d.split);
    assert_non_null(d.group);
    assert_non_null(d.level);
    assert_non_null(d.category);
    assert_non_null(d.mean);
    int parts[3] = {0};
    for (size_t i = 0; i < d.n_rows; i++) {
        parts[d.split[i]]++;
        for (size_t j = 0; j < i; j++)
            if (d.group[j] == d.group[i])
                assert_int_equal(d.split[j], d.split[i]);
        assert_true(d.level[i] < RF_LEVEL_COUNT);
        assert_true(d.category[i] >= -1 && d.category[i] < (int32_t)d.n_categories);
        assert_true(d.y_class[i] >= 0 && (size_t)d.y_class[i] < d.n_classes);
    }
    assert_true(parts[0] > 0 && parts[1] > 0 && parts[2] > 0);
    for (size_t j = 0; j < d.n_features; j++) {
        double m = 0;
        for (size_t i = 0; i < d.n_rows; i++)
            if (d.split[i] == RF_SPLIT_TRAIN)
                m += d.X[i * d.n_features + j];
        assert_true(fabs(m / parts[0]) < 1e-3);
    }
    rf_dataset_free(&d);
    rf_task_free(t);

    /* same input, same seed: the same bytes */
    char dir2[] = "/tmp/rf-test-pp-XXXXXX";
    rf_task *t2 = new_task(dir2);
    rf_task_add_input(t2, "sessions", "workflows/data/sessions");
    rf_task_add_param(t2, "hash_dim", "512");
    assert_int_equal(rf_preprocess_handler(t2, &err), 0);
    char a[600], b[600];
    snprintf(a, sizeof a, "cmp -s %s/dataset.art %s/dataset.art", dir, dir2);
    assert_int_equal(system(a), 0);
    snprintf(b, sizeof b, "cmp -s %s/tables.art %s/tables.art", dir, dir2);
    assert_int_equal(system(b), 0);
    rf_task_free(t2);
    rm_dir(dir);
    rm_dir(dir2);
}

static void test_handler_tabular(void **state)
{
    char dir[] = "/tmp/rf-test-pp-XXXXXX";
    rf_task *t = new_task(dir);
    char csv[600];
    snprintf(csv, sizeof csv, "%s/in.csv", dir);
    FILE *f = fopen(csv, "w");
    fprintf(f, "x,y,label\n");
    for (int i = 0; i < 100; i++)
        fprintf(f, "%d,%d,%s\n", i, i * i % 17, i % 3 ? "a" : "b");
    fclose(f);
    rf_task_add_input(t, "data", csv);
    rf_task_add_param(t, "task", "tabular");
    rf_task_add_param(t, "target", "label");
    rf_err err = {0};
    assert_int_equal(rf_preprocess_handler(t, &err), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/dataset.art", dir);
    rf_dataset d;
    memset(&d, 0, sizeof d);
    assert_int_equal(rf_dataset_read(path, &d, &err), 0);
    assert_int_equal(d.n_rows, 100);
    assert_int_equal(d.n_classes, 2);
    int parts[3] = {0}, b_in[3] = {0};
    for (size_t i = 0; i < d.n_rows; i++) {
        parts[d.split[i]]++;
        b_in[d.split[i]] += strcmp(d.labels[d.y_class[i]], "b") == 0;
    }
    assert_true(parts[0] >= 66 && parts[0] <= 74);
    assert_true(b_in[1] >= 4 && b_in[2] >= 4);   /* stratified: ~1/3 each */
    rf_dataset_free(&d);
    rf_task_free(t);
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jscan_validate),
        cmocka_unit_test(test_jscan_walk),
        cmocka_unit_test(test_lines_plain_gz_zst),
        cmocka_unit_test(test_lines_cap),
        cmocka_unit_test(test_reassembly_and_pairing),
        cmocka_unit_test(test_subagent_stream),
        cmocka_unit_test(test_subagent_inline),
        cmocka_unit_test(test_subagent_file),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_json_formats),
        cmocka_unit_test(test_feature_hashing),
        cmocka_unit_test(test_category_level),
        cmocka_unit_test(test_split_grouped_stratified),
        cmocka_unit_test(test_handler_sessions),
        cmocka_unit_test(test_handler_tabular),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
