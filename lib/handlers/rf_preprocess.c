/* rf_preprocess: session logs or tabular data -> dataset, event tables and
 * summary.json; see rf_preprocess.h. */
#include "handlers/rf_preprocess.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rf_buf.h"
#include "store/rf_codec.h"
#include "ml/rf_dataset.h"
#include "ml/rf_jscan.h"
#include "store/rf_obj.h"
#include "ml/rf_sessions.h"
#include "ml/rf_split.h"

/* ---- scanning ---- */

static int is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

void rf_preprocess_line(rf_extractor *x, rf_file_stats *st, const char *line,
                        size_t len, int flags, uint64_t lineno)
{
    st->lines++;
    st->bytes += len + !(flags & RF_LINE_NO_NEWLINE);
    if (flags & RF_LINE_TOOLONG) {
        rf_file_stats_skip(st, lineno, "line longer than the size cap (with.max_line)");
        return;
    }
    if (is_blank(line, len)) {
        rf_file_stats_skip(st, lineno, "blank line");
        return;
    }
    rf_jspan v;
    const char *why;
    size_t where;
    if (rf_jscan_validate(line, len, &v, &why, &where) != 0) {
        char reason[96];
        const char *first = line;
        while (*first == ' ' || *first == '\t')
            first++;
        if ((flags & RF_LINE_NO_NEWLINE) && strncmp(why, "truncated", 9) == 0)
            snprintf(reason, sizeof reason, "truncated last line (no newline, JSON incomplete)");
        else if (*first != '{' && *first != '[' && *first != '"')
            snprintf(reason, sizeof reason, "not JSON (%s at byte %zu)", why, where + 1);
        else
            snprintf(reason, sizeof reason, "%s at byte %zu", why, where + 1);
        rf_file_stats_skip(st, lineno, reason);
        return;
    }
    st->json_lines++;
    int t = rf_jspan_type(v);
    if (t != RF_J_OBJECT && t != RF_J_ARRAY) {
        rf_file_stats_skip(st, lineno, "JSON value is not an object");
        return;
    }
    rf_extract_line(x, v, lineno);
}

int rf_preprocess_file(rf_extractor *x, rf_file_stats *st, const char *path,
                       size_t max_line, rf_err *err)
{
    rf_lines *r;
    if (rf_lines_open(path, max_line, &r, err) != 0)
        return -1;
    st->compression = rf_lines_compression(r);
    rf_extract_begin_file(x, st);
    char *line;
    size_t len;
    int flags, rc;
    while ((rc = rf_lines_next(r, &line, &len, &flags, err)) == 1)
        rf_preprocess_line(x, st, line, len, flags, rf_lines_lineno(r));
    rf_extract_end_file(x);
    rf_lines_close(r);
    return rc < 0 ? -1 : 0;
}

/* ---- summary.json ---- */

static json_t *counts_json(const uint64_t *v, size_t n, const char *(*name)(int))
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, name((int)i), json_integer((json_int_t)v[i]));
    return o;
}

static json_t *names_json(const rf_name_counts *c)
{
    json_t *o = json_object();
    for (size_t i = 0; i < c->n; i++)
        json_object_set_new(o, c->v[i].name, json_integer((json_int_t)c->v[i].n));
    return o;
}

static void names_add(rf_name_counts *a, const rf_name_counts *b)
{
    for (size_t i = 0; i < b->n; i++)
        rf_name_counts_add(a, b->v[i].name, strlen(b->v[i].name), b->v[i].n);
}

static const char *compression_name(int c)
{
    return c == RF_COMP_GZIP ? "gzip" : c == RF_COMP_ZSTD ? "zstd" : "none";
}

json_t *rf_file_stats_json(const rf_file_stats *s)
{
    json_t *o = json_object();
    if (s->path)
        json_object_set_new(o, "path", json_string(s->path));
    json_object_set_new(o, "format", json_string(s->path ? rf_file_format(s) : "total"));
    if (s->path)
        json_object_set_new(o, "compression", json_string(compression_name(s->compression)));
    json_object_set_new(o, "bytes", json_integer((json_int_t)s->bytes));
    json_object_set_new(o, "lines", json_integer((json_int_t)s->lines));
    json_object_set_new(o, "json_lines", json_integer((json_int_t)s->json_lines));
    json_object_set_new(o, "skipped_lines", json_integer((json_int_t)s->skipped_lines));
    json_t *sk = json_array();
    for (size_t i = 0; i < s->nskipped; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "line", json_integer((json_int_t)s->skipped[i].line));
        json_object_set_new(e, "reason", json_string(s->skipped[i].reason));
        json_array_append_new(sk, e);
    }
    if (s->path)
        json_object_set_new(o, "skipped", sk);
    else
        json_decref(sk);
    json_object_set_new(o, "sessions", json_integer((json_int_t)s->sessions));
    json_object_set_new(o, "events_by_type", counts_json(s->events, RF_EV_COUNT, rf_ev_type_name));
    json_object_set_new(o, "blocks_by_type", counts_json(s->blocks, RF_BLK_COUNT, rf_block_type_name));
    json_object_set_new(o, "tool_calls", json_integer((json_int_t)s->tool_calls));
    json_object_set_new(o, "tool_errors", json_integer((json_int_t)s->tool_errors));
    json_object_set_new(o, "parallel_batches", json_integer((json_int_t)s->parallel_batches));
    json_object_set_new(o, "max_batch", json_integer((json_int_t)s->max_batch));
    json_object_set_new(o, "sidechain_lines", json_integer((json_int_t)s->sidechain_lines));
    json_object_set_new(o, "results_by_subtype", names_json(&s->results));
    json_object_set_new(o, "lines_by_type", names_json(&s->types));
    json_object_set_new(o, "system_by_subtype", names_json(&s->system));
    json_object_set_new(o, "unpaired_results", json_integer((json_int_t)s->unpaired_results));
    json_object_set_new(o, "unknown_types", json_integer((json_int_t)s->unknown_types));
    return o;
}

void rf_file_stats_add(rf_file_stats *a, const rf_file_stats *b)
{
    a->lines += b->lines;
    a->json_lines += b->json_lines;
    a->skipped_lines += b->skipped_lines;
    a->bytes += b->bytes;
    for (int i = 0; i < RF_EV_COUNT; i++)
        a->events[i] += b->events[i];
    for (int i = 0; i < RF_BLK_COUNT; i++)
        a->blocks[i] += b->blocks[i];
    a->tool_calls += b->tool_calls;
    a->tool_errors += b->tool_errors;
    a->parallel_batches += b->parallel_batches;
    if (b->max_batch > a->max_batch)
        a->max_batch = b->max_batch;
    a->sidechain_lines += b->sidechain_lines;
    a->unknown_types += b->unknown_types;
    a->unpaired_results += b->unpaired_results;
    a->rows[0] += b->rows[0];
    a->rows[1] += b->rows[1];
    names_add(&a->results, &b->results);
    names_add(&a->types, &b->types);
    names_add(&a->system, &b->system);
}

/* rows per split: {"total": n, "train": a, "val": b, "test": c} */
static json_t *split_counts_json(size_t n, const uint8_t *split, const int32_t *file,
                                 int32_t only_file)
{
    uint64_t c[3] = {0, 0, 0}, total = 0;
    for (size_t i = 0; i < n; i++) {
        if (only_file >= 0 && file && file[i] != only_file)
            continue;
        total++;
        if (split && split[i] < 3)
            c[split[i]]++;
    }
    json_t *o = json_object();
    json_object_set_new(o, "total", json_integer((json_int_t)total));
    json_object_set_new(o, "train", json_integer((json_int_t)c[0]));
    json_object_set_new(o, "val", json_integer((json_int_t)c[1]));
    json_object_set_new(o, "test", json_integer((json_int_t)c[2]));
    return o;
}

/* ---- parameters ---- */

typedef struct pp_opts {
    const char *task;
    long seed, hash_dim, k_prev, max_line;
    double frac[3];
    const char *target;
    int stratify_level;   /* session tasks: stratify by level, not label */
    int allow_empty;      /* no rows is a success (summary and tables only) */
} pp_opts;

static int read_opts(rf_task *t, pp_opts *o, rf_err *err)
{
    o->task = rf_task_param_or(t, "task", "tool-selection");
    if (strcmp(o->task, "tool-selection") && strcmp(o->task, "error-recovery") &&
        strcmp(o->task, "tabular"))
        return rf_errf(err, RF_EINVAL,
                       "with.task: expected tool-selection, error-recovery or tabular, got \"%s\"",
                       o->task);
    if (rf_task_param_long(t, "seed", 42, &o->seed, err) ||
        rf_task_param_long(t, "hash_dim", 4096, &o->hash_dim, err) ||
        rf_task_param_long(t, "k_prev", 3, &o->k_prev, err) ||
        rf_task_param_long(t, "max_line", RF_LINE_CAP_DEFAULT, &o->max_line, err) ||
        rf_task_param_bool(t, "allow_empty", 0, &o->allow_empty, err))
        return -1;
    if (o->hash_dim < 16 || o->hash_dim > (1L << 20))
        return rf_errf(err, RF_EINVAL, "with.hash_dim: %ld is outside [16, 1048576]", o->hash_dim);
    if (o->k_prev < 0 || o->k_prev > 8)
        return rf_errf(err, RF_EINVAL, "with.k_prev: %ld is outside [0, 8]", o->k_prev);
    if (o->max_line < 1024)
        return rf_errf(err, RF_EINVAL, "with.max_line: %ld is below 1024 bytes", o->max_line);
    if (rf_split_parse(rf_task_param_or(t, "split", "70/15/15"), o->frac, err))
        return -1;
    o->target = rf_task_param(t, "target");
    const char *st = rf_task_param_or(t, "stratify", "label");
    if (strcmp(st, "label") && strcmp(st, "level"))
        return rf_errf(err, RF_EINVAL, "with.stratify: expected label or level, got \"%s\"", st);
    o->stratify_level = !strcmp(st, "level");
    return 0;
}

/* Inputs named sessions, then data: one list of paths. */
static size_t input_count(rf_task *t)
{
    return rf_task_input_count(t, "sessions") + rf_task_input_count(t, "data");
}

static const char *input_at(rf_task *t, size_t i)
{
    size_t ns = rf_task_input_count(t, "sessions");
    return i < ns ? rf_task_input(t, "sessions", i) : rf_task_input(t, "data", i - ns);
}

/* ---- output helpers ---- */

static int write_json(rf_task *t, const char *name, json_t *j, rf_err *err)
{
    char path[PATH_MAX], tmp[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s.json", rf_task_outdir(t), name);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    if (json_dump_file(j, tmp, JSON_INDENT(2)) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return rf_err_errno(err, "write %s", path);
    }
    return rf_task_output(t, name, path, err);
}

static int split_rows(rf_dataset *d, const pp_opts *o, rf_err *err);

/* Splits (unless the caller made them), train-only normalization, write. */
static int split_and_write(rf_task *t, rf_dataset *d, const pp_opts *o, rf_err *err)
{
    if (!d->split && split_rows(d, o, err) != 0)
        return -1;
    rf_dataset_normalize(d);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/dataset.art", rf_task_outdir(t));
    if (rf_dataset_write(path, d, err) != 0)
        return rf_err_prefix(err, "write dataset");
    return rf_task_output(t, "dataset", path, err);
}

static int split_rows(rf_dataset *d, const pp_opts *o, rf_err *err)
{
    d->split = rf_xmalloc(d->n_rows ? d->n_rows : 1);
    const int32_t *label = d->kind == RF_CLASSIFICATION ? d->y_class : NULL;
    int32_t *own_group = NULL;
    const int32_t *group = d->group;
    if (!group) {   /* tabular rows are independent: each its own group */
        own_group = rf_xmalloc((d->n_rows ? d->n_rows : 1) * sizeof *own_group);
        for (size_t i = 0; i < d->n_rows; i++)
            own_group[i] = (int32_t)i;
        group = own_group;
    }
    int rc = rf_split_grouped(d->n_rows, group, label, d->n_classes, o->frac, 3,
                              (uint64_t)o->seed, d->split, err);
    free(own_group);
    return rc;
}

/* ---- event tables as column maps ---- */

typedef struct col_desc {
    const char *name;
    char type;      /* 'i' int32, 'I' int64, 'd' double, 's' string */
    size_t off;
} col_desc;

#define COL(T, f, ty) {#f, ty, offsetof(T, f)}

static rf_obj *table_obj(const void *recs, size_t n, size_t size,
                         const col_desc *cols, size_t ncols)
{
    rf_obj *m = rf_obj_map();
    for (size_t c = 0; c < ncols; c++) {
        const col_desc *d = &cols[c];
        if (d->type == 's') {
            rf_obj *a = rf_obj_array();
            for (size_t i = 0; i < n; i++) {
                const char *s = *(char *const *)((const char *)recs + i * size + d->off);
                rf_obj_push(a, rf_obj_str(s ? s : ""));
            }
            rf_obj_set(m, d->name, a);
            continue;
        }
        int dt = d->type == 'i' ? RF_I32 : d->type == 'I' ? RF_I64 : RF_F64;
        uint64_t shape[1] = {n};
        rf_obj *tn = rf_obj_tensor_new(dt, 1, shape);
        if (!tn) {
            rf_obj_free(m);
            return NULL;
        }
        size_t w = rf_dtype_size(dt);
        for (size_t i = 0; i < n; i++)
            memcpy((char *)tn->u.t.data + i * w, (const char *)recs + i * size + d->off, w);
        rf_obj_set(m, d->name, tn);
    }
    return m;
}

static rf_obj *tables_obj(const rf_extract_out *o)
{
    static const col_desc seq[] = {
        COL(rf_seq_rec, session, 'i'), COL(rf_seq_rec, thread, 'i'),
        COL(rf_seq_rec, line, 'I'), COL(rf_seq_rec, thinking_blocks, 'i'),
        COL(rf_seq_rec, text_blocks, 'i'), COL(rf_seq_rec, chars, 'I'),
        COL(rf_seq_rec, closed_by, 'i')};
    static const col_desc plan[] = {
        COL(rf_plan_rec, session, 'i'), COL(rf_plan_rec, thread, 'i'),
        COL(rf_plan_rec, line, 'I'), COL(rf_plan_rec, calls, 'i'),
        COL(rf_plan_rec, results, 'i'), COL(rf_plan_rec, errors, 'i'),
        COL(rf_plan_rec, purpose_chars, 'I'), COL(rf_plan_rec, tools, 's')};
    static const col_desc rec[] = {
        COL(rf_recovery_rec, session, 'i'), COL(rf_recovery_rec, thread, 'i'),
        COL(rf_recovery_rec, line, 'I'), COL(rf_recovery_rec, tool, 's'),
        COL(rf_recovery_rec, steps, 'i'), COL(rf_recovery_rec, recovered, 'i')};
    static const col_desc comm[] = {
        COL(rf_comm_rec, session, 'i'), COL(rf_comm_rec, thread, 'i'),
        COL(rf_comm_rec, line, 'I'), COL(rf_comm_rec, chars, 'I'),
        COL(rf_comm_rec, questions, 'i'), COL(rf_comm_rec, code_blocks, 'i'),
        COL(rf_comm_rec, list_items, 'i')};
    static const col_desc thr[] = {
        COL(rf_thread_rec, session, 'i'), COL(rf_thread_rec, thread, 'i'),
        COL(rf_thread_rec, kind, 'i'), COL(rf_thread_rec, parent_call, 'i'),
        COL(rf_thread_rec, parent_tool, 'i'), COL(rf_thread_rec, calls, 'i'),
        COL(rf_thread_rec, errors, 'i')};
    static const col_desc sig[] = {
        COL(rf_signal_rec, session_id, 's'), COL(rf_signal_rec, file, 's'),
        COL(rf_signal_rec, outcome, 's'), COL(rf_signal_rec, is_error, 'i'),
        COL(rf_signal_rec, turns, 'i'), COL(rf_signal_rec, duration_ms, 'I'),
        COL(rf_signal_rec, cost_usd, 'd'), COL(rf_signal_rec, tool_calls, 'i'),
        COL(rf_signal_rec, redundant_calls, 'i'), COL(rf_signal_rec, batch_utilization, 'd'),
        COL(rf_signal_rec, tool_errors, 'i'), COL(rf_signal_rec, tool_error_rate, 'd'),
        COL(rf_signal_rec, recoveries, 'i'), COL(rf_signal_rec, recovered, 'i'),
        COL(rf_signal_rec, recovery_rate, 'd'), COL(rf_signal_rec, thinking_blocks, 'i'),
        COL(rf_signal_rec, thinking_chars, 'I'), COL(rf_signal_rec, reasoning_depth, 'd'),
        COL(rf_signal_rec, thinking_chars_per_action, 'd'),
        COL(rf_signal_rec, mean_gap_ms, 'd'), COL(rf_signal_rec, subagents, 'i'),
        COL(rf_signal_rec, messages, 'i'), COL(rf_signal_rec, api_errors, 'i'),
        COL(rf_signal_rec, input_tokens, 'I'),
        COL(rf_signal_rec, output_tokens, 'I'), COL(rf_signal_rec, level, 'i'),
        COL(rf_signal_rec, category, 'i'), COL(rf_signal_rec, first_prompt_head, 's')};
#define N(a) (sizeof a / sizeof a[0])
    struct { const char *name; rf_obj *t; } parts[] = {
        {"sequences", table_obj(o->seqs, o->nseqs, sizeof *o->seqs, seq, N(seq))},
        {"plans", table_obj(o->plans, o->nplans, sizeof *o->plans, plan, N(plan))},
        {"recoveries", table_obj(o->recs, o->nrecs, sizeof *o->recs, rec, N(rec))},
        {"comms", table_obj(o->comms, o->ncomms, sizeof *o->comms, comm, N(comm))},
        {"threads", table_obj(o->threads, o->nthreads, sizeof *o->threads, thr, N(thr))},
        {"signals", table_obj(o->sigs, o->nsigs, sizeof *o->sigs, sig, N(sig))},
    };
    rf_obj *m = rf_obj_map();
    int ok = 1;
    for (size_t i = 0; i < N(parts); i++) {
        if (!parts[i].t)
            ok = 0;
        else
            rf_obj_set(m, parts[i].name, parts[i].t);
    }
    rf_obj *names = rf_obj_array();
    for (size_t i = 0; i < o->tools.n; i++)
        rf_obj_push(names, rf_obj_str(o->tools.names[i]));
    rf_obj_set(m, "tool_names", names);
    rf_obj *cats = rf_obj_array();
    for (size_t i = 0; i < RF_CATEGORY_COUNT; i++)
        rf_obj_push(cats, rf_obj_str(rf_categories[i]));
    rf_obj_set(m, "categories", cats);
#undef N
    if (!ok) {
        rf_obj_free(m);
        return NULL;
    }
    return m;
}

/* ---- session datasets ---- */

static char **str_array(const char *const *v, size_t n)
{
    char **a = rf_xcalloc(n ? n : 1, sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = rf_xstrdup(v[i]);
    return a;
}

/* Build the dataset of task from rows (dense X). */
static int build_dataset(const rf_extract_out *o, int error_task, uint32_t hash_dim,
                         int k_prev, rf_dataset *d, rf_err *err)
{
    const rf_rows *r = error_task ? &o->error_rows : &o->tool_rows;
    memset(d, 0, sizeof *d);
    d->kind = RF_CLASSIFICATION;
    d->n_rows = r->n;
    d->n_features = rf_rows_n_features(r);
    if (r->n > SIZE_MAX / sizeof(float) / d->n_features)
        return rf_errf(err, RF_ETOOBIG, "dataset of %zu x %zu is too big", r->n, d->n_features);
    d->X = malloc(r->n * d->n_features * sizeof *d->X);
    if (!d->X)
        return rf_errf(err, RF_ENOMEM, "dataset: %zu x %zu floats", r->n, d->n_features);
    for (size_t i = 0; i < r->n; i++)
        rf_rows_densify(r, i, d->X + i * d->n_features);
    d->y_class = rf_xmalloc((r->n ? r->n : 1) * sizeof *d->y_class);
    memcpy(d->y_class, r->label, r->n * sizeof *d->y_class);
    if (error_task) {
        static const char *const names[] = {"not_recovered", "recovered"};
        d->n_classes = 2;
        d->labels = str_array(names, 2);
    } else {
        d->n_classes = o->tools.n;
        d->labels = str_array((const char *const *)o->tools.names, o->tools.n);
    }
    d->group = rf_xmalloc((r->n ? r->n : 1) * sizeof *d->group);
    memcpy(d->group, r->group, r->n * sizeof *d->group);
    d->prev_row = rf_xmalloc((r->n ? r->n : 1) * sizeof *d->prev_row);
    memcpy(d->prev_row, r->prev_row, r->n * sizeof *d->prev_row);
    d->level = rf_xmalloc(r->n ? r->n : 1);
    d->category = rf_xmalloc((r->n ? r->n : 1) * sizeof *d->category);
    for (size_t i = 0; i < r->n; i++) {
        const rf_signal_rec *s = &o->sigs[r->group[i]];
        d->level[i] = (uint8_t)s->level;
        d->category[i] = s->category;
    }
    d->categories = str_array(rf_categories, RF_CATEGORY_COUNT);
    d->n_categories = RF_CATEGORY_COUNT;
    d->feature_names = rf_xcalloc(d->n_features, sizeof *d->feature_names);
    char name[64];
    for (uint32_t i = 0; i < hash_dim; i++) {
        snprintf(name, sizeof name, "%s_%u", error_task ? "error_word" : "ctx_word", i);
        d->feature_names[i] = rf_xstrdup(name);
    }
    size_t tools_at = hash_dim, outcomes_at = hash_dim + (size_t)k_prev * RF_TOOL_SLOTS;
    for (int k = 0; k < k_prev; k++) {
        char slot[32];
        snprintf(slot, sizeof slot, "%s%d", error_task && k == 0 ? "failed_tool" : "prev_tool",
                 error_task ? k : k + 1);
        for (uint32_t b = 0; b < RF_TOOL_SLOTS; b++) {
            const char *tool = rf_tool_slot_name(b);
            if (b < RF_TOOL_KNOWN && strcmp(tool, "unused"))
                snprintf(name, sizeof name, "%s_%s", slot, tool);
            else
                snprintf(name, sizeof name, "%s_%s%u", slot, tool, b);
            d->feature_names[tools_at + (size_t)k * RF_TOOL_SLOTS + b] = rf_xstrdup(name);
        }
        for (int b = 0; b < RF_OUTCOME_SLOTS; b++) {
            snprintf(name, sizeof name, "%s_%s", slot, rf_outcome_name(b));
            d->feature_names[outcomes_at + (size_t)k * RF_OUTCOME_SLOTS + b] = rf_xstrdup(name);
        }
    }
    for (int i = 0; i < RF_NF_COUNT; i++)
        d->feature_names[d->n_features - RF_NF_COUNT + i] = rf_xstrdup(rf_num_feature_name(i));
    char desc[160];
    snprintf(desc, sizeof desc, "%s rows from Claude Code session logs (%zu sessions)",
             error_task ? "error-recovery" : "tool-selection", o->nsigs);
    d->name = rf_xstrdup(desc);
    return 0;
}

static void log_file_notes(rf_task *t, const rf_file_stats *s)
{
    for (size_t i = 0; i < s->nskipped; i++)
        rf_task_logf(t, "%s:%llu: skipped: %s", s->path,
                     (unsigned long long)s->skipped[i].line, s->skipped[i].reason);
    if (s->skipped_lines > s->nskipped)
        rf_task_logf(t, "%s: %llu more lines skipped", s->path,
                     (unsigned long long)(s->skipped_lines - s->nskipped));
    if (s->unpaired_results)
        rf_task_logf(t, "%s:%llu: %llu tool result(s) without a matching tool call", s->path,
                     (unsigned long long)s->first_unpaired_line,
                     (unsigned long long)s->unpaired_results);
}

static int write_summary(rf_task *t, const pp_opts *o, const rf_file_list *files,
                         const rf_file_stats *stats, const rf_file_stats *total,
                         const rf_extract_out *out, uint8_t *const split[2], rf_err *err)
{
    json_t *sum = json_object();
    json_object_set_new(sum, "task", json_string(o->task));
    json_t *fa = json_array();
    for (size_t i = 0; i < files->n; i++) {
        json_t *fj = rf_file_stats_json(&stats[i]);
        json_t *rows = json_object();
        json_object_set_new(rows, "tool-selection",
                            split_counts_json(out->tool_rows.n, split[0], out->tool_rows.file, (int32_t)i));
        json_object_set_new(rows, "error-recovery",
                            split_counts_json(out->error_rows.n, split[1], out->error_rows.file, (int32_t)i));
        json_object_set_new(fj, "rows", rows);
        json_array_append_new(fa, fj);
    }
    json_object_set_new(sum, "files", fa);
    json_t *tj = rf_file_stats_json(total);
    json_t *rows = json_object();
    json_object_set_new(rows, "tool-selection", split_counts_json(out->tool_rows.n, split[0], NULL, -1));
    json_object_set_new(rows, "error-recovery", split_counts_json(out->error_rows.n, split[1], NULL, -1));
    json_object_set_new(tj, "rows", rows);
    json_object_set_new(tj, "files", json_integer((json_int_t)files->n));
    size_t subagents = 0, linked = 0;
    for (size_t i = 0; i < out->nthreads; i++)
        if (out->threads[i].thread > 0) {
            subagents++;
            linked += out->threads[i].parent_call >= 0;
        }
    json_object_set_new(tj, "subagents", json_integer((json_int_t)subagents));
    uint64_t by_level[RF_LEVEL_COUNT] = {0}, by_cat[RF_CATEGORY_COUNT + 1] = {0};
    for (size_t i = 0; i < out->nsigs; i++) {
        if (out->sigs[i].level >= 0 && out->sigs[i].level < RF_LEVEL_COUNT)
            by_level[out->sigs[i].level]++;
        by_cat[out->sigs[i].category >= 0 ? out->sigs[i].category : RF_CATEGORY_COUNT]++;
    }
    json_t *lv = json_object(), *cat = json_object();
    for (int i = 0; i < RF_LEVEL_COUNT; i++)
        json_object_set_new(lv, rf_level_name(i), json_integer((json_int_t)by_level[i]));
    for (int i = 0; i <= RF_CATEGORY_COUNT; i++)
        json_object_set_new(cat, i < RF_CATEGORY_COUNT ? rf_categories[i] : "none",
                            json_integer((json_int_t)by_cat[i]));
    json_object_set_new(tj, "sessions_by_level", lv);
    json_object_set_new(tj, "sessions_by_category", cat);
    json_object_set_new(tj, "subagents_linked", json_integer((json_int_t)linked));
    json_object_set_new(sum, "total", tj);
    json_t *labels = json_array();
    for (size_t i = 0; i < out->tools.n; i++)
        json_array_append_new(labels, json_string(out->tools.names[i]));
    json_object_set_new(sum, "tool_labels", labels);
    int rc = write_json(t, "summary", sum, err);
    json_decref(sum);
    return rc;
}

/* Read every input file through the extractor; stats gets one entry per
 * file (caller frees). */
static int scan_inputs(rf_task *t, const pp_opts *o, rf_file_list *files,
                       rf_extractor *x, rf_file_stats **stats_out, rf_err *err)
{
    size_t n_in = input_count(t);
    if (n_in == 0)
        return rf_errf(err, RF_EINVAL, "no input: give --input sessions=PATH (file or folder)");
    /* One file is read whatever its name; of several (a folder the
     * workflow expanded), those not named like logs are skipped, as a
     * folder walk skips them, and said once. */
    rf_buf odd = RF_BUF_INIT;
    size_t nodd = 0;
    for (size_t i = 0; i < n_in; i++) {
        const char *p = input_at(t, i);
        struct stat st;
        if (n_in > 1 && stat(p, &st) == 0 && !S_ISDIR(st.st_mode) && !rf_is_log_name(p)) {
            char shown[PATH_MAX];
            rf_buf_addf(&odd, "%s%s", nodd++ ? ", " : "",
                        rf_task_input_origin(t, p, shown, sizeof shown));
            continue;
        }
        if (rf_file_list_add(files, p, err) != 0) {
            rf_buf_free(&odd);
            return -1;
        }
    }
    if (nodd)
        rf_task_logf(t, "skipped %zu file%s not named like a session log (*.jsonl, *.json, "
                     "*.ndjson, optionally .gz or .zst): %s", nodd, nodd == 1 ? "" : "s",
                     odd.data);
    rf_task_metric(t, "skipped_files", (double)nodd);
    rf_buf_free(&odd);
    if (files->n == 0)
        return rf_errf(err, RF_EINVAL,
                       "no session logs (*.jsonl, *.json, *.ndjson, .gz, .zst) in the input");
    rf_file_stats *stats = rf_xcalloc(files->n, sizeof *stats);
    *stats_out = stats;
    for (size_t i = 0; i < files->n; i++) {
        char shown[PATH_MAX];   /* the user's file, not the worker's copy */
        stats[i].path = rf_xstrdup(rf_task_input_origin(t, files->paths[i], shown, sizeof shown));
        stats[i].index = (int32_t)i;
        if (rf_preprocess_file(x, &stats[i], files->paths[i], (size_t)o->max_line, err) != 0)
            return -1;
        if (i + 1 == files->n || files->unit[i + 1] != files->unit[i])
            rf_extract_end_unit(x);
        if (rf_task_should_stop(t))
            return rf_errf(err, RF_ECANCEL, "stopped");
    }
    rf_extract_finish(x);
    return 0;
}

/* Grouped splits of one dataset's rows, stratified by label or level. */
static int split_session_rows(const rf_extract_out *out, const rf_rows *r, size_t nlabels,
                              const pp_opts *o, uint8_t **split, rf_err *err)
{
    int32_t *strata = r->label;
    if (o->stratify_level) {
        strata = rf_xmalloc((r->n ? r->n : 1) * sizeof *strata);
        for (size_t i = 0; i < r->n; i++)
            strata[i] = out->sigs[r->group[i]].level;
        nlabels = RF_LEVEL_COUNT;
    }
    *split = rf_xmalloc(r->n ? r->n : 1);
    int rc = rf_split_grouped(r->n, r->group, strata, nlabels, o->frac, 3,
                              (uint64_t)o->seed, *split, err);
    if (strata != r->label)
        free(strata);
    return rc;
}

static int write_tables(rf_task *t, const rf_extract_out *out, rf_err *err)
{
    rf_obj *tab = tables_obj(out);
    if (!tab)
        return rf_errf(err, RF_ENOMEM, "event tables: out of memory");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/tables.art", rf_task_outdir(t));
    int rc = rf_artifact_write(path, "ruvflow/tables", tab, NULL, NULL, err);
    rf_obj_free(tab);
    if (rc != 0)
        return rf_err_prefix(err, "write event tables");
    return rf_task_output(t, "tables", path, err);
}

static int write_session_dataset(rf_task *t, const rf_extract_out *out, int error_task,
                                 const uint8_t *split, const pp_opts *o, rf_err *err)
{
    rf_dataset d;
    int rc = build_dataset(out, error_task, (uint32_t)o->hash_dim, (int)o->k_prev, &d, err);
    if (rc == 0) {
        d.split = rf_xmalloc(d.n_rows ? d.n_rows : 1);
        memcpy(d.split, split, d.n_rows);
        rc = split_and_write(t, &d, o, err);
    }
    rf_dataset_free(&d);
    return rc;
}

static int run_sessions(rf_task *t, const pp_opts *o, rf_err *err)
{
    rf_file_list files = {0};
    rf_file_stats *stats = NULL, total = {0};
    uint8_t *split[2] = {NULL, NULL};
    rf_extract_opts eo = {(uint32_t)o->hash_dim, (int)o->k_prev};
    rf_extractor *x = rf_extract_new(&eo);
    int error_task = !strcmp(o->task, "error-recovery");

    int rc = scan_inputs(t, o, &files, x, &stats, err);
    rf_extract_out *out = rf_extract_result(x);
    const rf_rows *want = error_task ? &out->error_rows : &out->tool_rows;
    if (rc == 0) {
        for (size_t i = 0; i < files.n; i++) {
            rf_file_stats_add(&total, &stats[i]);
            log_file_notes(t, &stats[i]);
        }
        total.sessions = out->nsigs;
        /* both datasets are split: their row counts go into the summary */
        rc = split_session_rows(out, &out->tool_rows, out->tools.n, o, &split[0], err);
        if (rc == 0)
            rc = split_session_rows(out, &out->error_rows, 2, o, &split[1], err);
    }
    /* Nothing usable fails the task, and a failed task leaves no output:
     * the message carries the counts. allow_empty=true keeps the summary
     * and tables of logs that have no rows (inspecting logs). */
    int empty = rc == 0 && (total.json_lines == 0 || want->n == 0);
    if (empty && !o->allow_empty && total.json_lines == 0)
        rc = rf_errf(err, RF_EINVAL, "nothing usable: no JSON lines in %zu input file(s) (%llu lines, %llu skipped)",
                     files.n, (unsigned long long)total.lines,
                     (unsigned long long)total.skipped_lines);
    else if (empty && !o->allow_empty)
        rc = rf_errf(err, RF_EINVAL, "nothing usable for task %s: %s in %zu session(s) of %zu file(s) "
                     "(%llu lines; with.allow_empty=true keeps the summary)",
                     o->task, error_task ? "no failed tool results" : "no tool calls",
                     out->nsigs, files.n, (unsigned long long)total.lines);
    if (rc == 0)
        rc = write_summary(t, o, &files, stats, &total, out, split, err);
    if (rc == 0)
        rc = write_tables(t, out, err);
    if (rc == 0 && !empty)
        rc = write_session_dataset(t, out, error_task, split[error_task], o, err);
    else if (rc == 0)
        rf_task_logf(t, "preprocess: no %s rows: no dataset output (with.allow_empty=true)",
                     o->task);
    if (rc == 0) {
        rf_task_metric(t, "files", (double)files.n);
        rf_task_metric(t, "lines", (double)total.lines);
        rf_task_metric(t, "skipped_lines", (double)total.skipped_lines);
        rf_task_metric(t, "sessions", (double)out->nsigs);
        rf_task_metric(t, "tool_calls", (double)total.tool_calls);
        rf_task_metric(t, "rows", (double)want->n);
        rf_task_metric(t, "classes", (double)(error_task ? 2 : out->tools.n));
    }
    free(split[0]);
    free(split[1]);
    /* The extractor first: finishing its open sessions (after an error)
     * still writes into the per-file stats. */
    rf_extract_free(x);
    rf_file_stats_free(&total);
    for (size_t i = 0; stats && i < files.n; i++)
        rf_file_stats_free(&stats[i]);
    free(stats);
    rf_file_list_free(&files);
    return rc;
}

/* ---- tabular ---- */

static int run_tabular(rf_task *t, const pp_opts *o, rf_err *err)
{
    size_t n_in = input_count(t);
    const char *path = input_at(t, 0);
    if (n_in != 1)
        return rf_errf(err, RF_EINVAL, "task tabular: expected one input file (--input data=PATH), got %zu", n_in);
    rf_dataset d;
    memset(&d, 0, sizeof d);
    if (rf_dataset_load_any(path, o->target, &d, err) != 0) {
        rf_dataset_free(&d);
        return -1;
    }
    int rc = 0;
    if (d.n_rows == 0)
        rc = rf_errf(err, RF_EINVAL, "nothing usable: %s has no data rows", path);
    /* tabular rows carry no session: no level or category */
    if (rc == 0)
        rc = split_and_write(t, &d, o, err);
    if (rc == 0) {
        json_t *sum = json_object();
        json_object_set_new(sum, "task", json_string("tabular"));
        json_t *f = json_object();
        json_object_set_new(f, "path", json_string(path));
        json_object_set_new(f, "rows", json_integer((json_int_t)d.n_rows));
        json_object_set_new(f, "features", json_integer((json_int_t)d.n_features));
        json_object_set_new(f, "kind", json_string(d.kind == RF_CLASSIFICATION ? "classification" : "regression"));
        json_t *fa = json_array();
        json_array_append_new(fa, f);
        json_object_set_new(sum, "files", fa);
        json_t *tot = json_object();
        json_t *rows = json_object();
        json_object_set_new(rows, "tabular", split_counts_json(d.n_rows, d.split, NULL, -1));
        json_object_set_new(tot, "rows", rows);
        json_object_set_new(sum, "total", tot);
        rc = write_json(t, "summary", sum, err);
        json_decref(sum);
        rf_task_metric(t, "rows", (double)d.n_rows);
    }
    rf_dataset_free(&d);
    return rc;
}

int rf_preprocess_handler(rf_task *t, rf_err *err)
{
    pp_opts o;
    if (read_opts(t, &o, err) != 0)
        return -1;
    if (!strcmp(o.task, "tabular"))
        return run_tabular(t, &o, err);
    return run_sessions(t, &o, err);
}
