/* fuzz_streamjson: arbitrary bytes as a session log. Every line goes
 * through the validator, the envelope and event mapping and the extractor;
 * then the sessions are finalized and the datasets' rows densified and
 * split. Checks: no crash, no leak, counts consistent, the scanner agrees
 * with jansson on what is valid JSON. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ml/rf_extract.h"
#include "ml/rf_jscan.h"
#include "handlers/rf_preprocess.h"
#include "ml/rf_sessions.h"
#include "ml/rf_split.h"

static void check_scanner_agrees(const char *p, size_t n)
{
    rf_jspan v;
    const char *why;
    size_t where;
    int ours = rf_jscan_validate(p, n, &v, &why, &where) == 0;
    json_error_t e;
    /* A raw NUL byte is never JSON (RFC 8259: not even inside a string),
     * but jansson's json_loadb accepts one after a number ("1\0,"). */
    if (memchr(p, '\0', n)) {
        if (ours)
            abort();
        return;
    }
    json_t *j = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    /* jansson rejects "\u0000" only without JSON_ALLOW_NUL and nests up to
     * 2048; we cap at 512: only compare below the cap. */
    if (j && !ours && strcmp(why, "nesting too deep") != 0)
        abort();
    /* jansson also refuses numbers it cannot represent: those are JSON */
    if (!j && ours && !strstr(e.text, "too big") && !strstr(e.text, "overflow"))
        abort();
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rf_extract_opts o = {64, 3};
    rf_extractor *x = rf_extract_new(&o);
    rf_file_stats st = {0};
    st.path = strdup("fuzz.jsonl");
    rf_extract_begin_file(x, &st);
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    uint64_t lineno = 0;
    size_t i = 0;
    while (i < size) {
        char *nl = memchr(buf + i, '\n', size - i);
        size_t len = nl ? (size_t)(nl - (buf + i)) : size - i;
        if (len < 4096)
            check_scanner_agrees(buf + i, len);
        rf_preprocess_line(x, &st, buf + i, len, nl ? 0 : RF_LINE_NO_NEWLINE, ++lineno);
        i += len + 1;
    }
    rf_extract_end_file(x);
    rf_extract_finish(x);
    if (st.json_lines + st.skipped_lines < st.lines - st.json_lines)
        abort();
    rf_extract_out *out = rf_extract_result(x);
    float *row = malloc(rf_rows_n_features(&out->tool_rows) * sizeof *row);
    for (size_t r = 0; r < out->tool_rows.n; r++)
        rf_rows_densify(&out->tool_rows, r, row);
    free(row);
    if (out->tool_rows.n) {
        uint8_t *part = malloc(out->tool_rows.n);
        double frac[3] = {0.7, 0.15, 0.15};
        if (rf_split_grouped(out->tool_rows.n, out->tool_rows.group, out->tool_rows.label,
                             out->tools.n, frac, 3, 1, part, NULL) != 0)
            abort();
        free(part);
    }
    json_decref(rf_file_stats_json(&st));
    rf_extract_free(x);
    rf_file_stats_free(&st);
    free(buf);
    return 0;
}
