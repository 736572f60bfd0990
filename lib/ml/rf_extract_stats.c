/* rf_extract_stats: the per-file counts of summary.json (line types,
 * subtypes, dialect votes, skipped lines) and the file's format guess. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml/rf_extract_impl.h"

/* ---- file stats ---- */

const char *rf_file_format(const rf_file_stats *s)
{
    if (s->json_lines == 0)
        return "unknown";
    if (s->result_only && s->json_lines <= 1)
        return "json";
    if (s->top_level_arrays && s->json_lines == (uint64_t)s->top_level_arrays)
        return "json";
    if (s->votes[RF_DIALECT_STREAM] > s->votes[RF_DIALECT_PROJECTS])
        return "stream-json";
    if (s->votes[RF_DIALECT_PROJECTS] > 0)
        return "projects";
    return "unknown";
}

void rf_file_stats_skip(rf_file_stats *s, uint64_t line, const char *reason)
{
    s->skipped_lines++;
    if (s->nskipped < sizeof s->skipped / sizeof s->skipped[0]) {
        s->skipped[s->nskipped].line = line;
        snprintf(s->skipped[s->nskipped].reason, sizeof s->skipped[0].reason,
                 "%s", reason);
        s->nskipped++;
    }
}

void rf_name_counts_add(rf_name_counts *c, const char *name, size_t len, uint64_t k)
{
    for (size_t i = 0; i < c->n; i++)
        if (strlen(c->v[i].name) == len && !memcmp(c->v[i].name, name, len)) {
            c->v[i].n += k;
            return;
        }
    c->v = rf_xrealloc(c->v, (c->n + 1) * sizeof *c->v);
    char *copy = rf_xmalloc(len + 1);
    memcpy(copy, name, len);
    copy[len] = '\0';
    c->v[c->n].name = copy;
    c->v[c->n].n = k;
    c->n++;
}

void rf_name_counts_free(rf_name_counts *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].name);
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* Count a string value by name; a missing or non-string one as "(none)". */
static void count_span(rf_name_counts *c, rf_jspan v)
{
    rf_jspan raw = rf_jstr_raw(v);
    if (raw.p)
        rf_name_counts_add(c, raw.p, raw.n, 1);
    else
        rf_name_counts_add(c, "(none)", 6, 1);
}

/* Line types this version knows; others are counted as unknown_types. */
static int known_type(rf_jspan t)
{
    static const char *const known[] = {
        "assistant", "user", "system", "result", "progress", "summary",
        "file-history-snapshot", "queue-operation", "stream_event",
        "rate_limit_event", "control_request", "control_response"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (rf_jstr_eq(t, known[i]))
            return 1;
    return 0;
}

void rf_file_stats_free(rf_file_stats *s)
{
    rf_name_counts_free(&s->results);
    rf_name_counts_free(&s->types);
    rf_name_counts_free(&s->system);
    free(s->path);
    memset(s, 0, sizeof *s);
}

void rf_extract_count_line(rf_file_stats *st, const rf_line_info *li)
{
    st->votes[li->dialect]++;
    if (li->sidechain)
        st->sidechain_lines++;
    count_span(&st->types, li->type);
    if (li->kind == RF_LK_RESULT)
        count_span(&st->results, li->subtype);
    else
        st->result_only = 0;
    if (li->kind == RF_LK_SYSTEM)
        count_span(&st->system, li->subtype);
    if (!known_type(li->type))
        st->unknown_types++;
}
