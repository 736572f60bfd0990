/* rf_extract: events of session logs -> sessions, event tables, datasets.
 *
 * The extractor is fed one validated line at a time (rf_extract_line) and
 * keeps only the state of the sessions still open: API messages by
 * message.id (tool calls of one message form a batch; usage is a running
 * snapshot, so the last one per id counts), tool calls by tool_use_id
 * (results pair with them), threads (the main thread and one per subagent,
 * linked to the Task call that spawned it), and the hashed context that
 * tool-selection rows are made of. A session is finalized when a new
 * session starts after its unit of files ended (so a subagent file given
 * as the next input still joins it), when another session starts in the
 * same file, or at rf_extract_finish; then its signals, level and category
 * are computed and its per-session state is released. What stays is what the outputs need: rows
 * in sparse form, and small table records.
 *
 * Tables (one C struct per record, exported as columns by the caller):
 * sequences (reasoning), plans (tool calls of one message), recoveries,
 * comms (assistant messages to the user) and signals (one per session). */
#ifndef RF_EXTRACT_H
#define RF_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "ml/rf_events.h"
#include "ml/rf_features.h"

/* ---- table records ---- */

typedef struct rf_seq_rec {
    int32_t session, thread;
    int64_t line;
    int32_t thinking_blocks, text_blocks;
    int64_t chars;
    int32_t closed_by;   /* 0 tool call, 1 message, 2 end of thread */
} rf_seq_rec;

typedef struct rf_plan_rec {
    int32_t session, thread;
    int64_t line;
    int32_t calls, results, errors;
    int64_t purpose_chars;
    char *tools;         /* "Read,Grep,Read" */
} rf_plan_rec;

typedef struct rf_recovery_rec {
    int32_t session, thread;
    int64_t line;
    char *tool;
    int32_t steps;       /* tool calls between failure and recovery (or end) */
    int32_t recovered;
} rf_recovery_rec;

typedef struct rf_comm_rec {
    int32_t session, thread;
    int64_t line;
    int64_t chars;
    int32_t questions, code_blocks, list_items;
} rf_comm_rec;

/* Threads: the main one (0) and one per subagent, linked to its Task. */
enum rf_thread_kind {
    RF_THREAD_MAIN, RF_THREAD_STREAM, RF_THREAD_FILE, RF_THREAD_INLINE
};

typedef struct rf_thread_rec {
    int32_t session, thread;
    int32_t kind;         /* enum rf_thread_kind: how the subagent was logged */
    int32_t parent_call;  /* index of the Task call in the session, -1 */
    int32_t parent_tool;  /* its tool id (label vocabulary), -1 */
    int32_t calls, errors;
} rf_thread_rec;

typedef struct rf_signal_rec {
    char *session_id, *file, *outcome, *first_prompt_head;
    int32_t is_error, turns, tool_calls, redundant_calls, tool_errors;
    int32_t recoveries, recovered, thinking_blocks, subagents, messages, api_errors;
    int32_t level, category;      /* rf_level, index into rf_categories */
    int64_t duration_ms, thinking_chars, input_tokens, output_tokens;
    double cost_usd, batch_utilization, tool_error_rate, recovery_rate;
    double reasoning_depth, thinking_chars_per_action, mean_gap_ms;
} rf_signal_rec;

#define RF_CATEGORY_COUNT 7
extern const char *const rf_categories[RF_CATEGORY_COUNT];
/* Category index of a prompt (rules in docs/preprocess.md). */
int rf_category_of(const char *prompt, size_t n);
/* Difficulty level from a session's measured signals. */
int rf_level_of(const rf_signal_rec *s);

/* ---- per-file counts (summary.json) ---- */

/* Counts by name (line types, subtypes): few distinct names, so a list. */
typedef struct rf_name_count {
    char *name;
    uint64_t n;
} rf_name_count;

typedef struct rf_name_counts {
    rf_name_count *v;
    size_t n;
} rf_name_counts;

void rf_name_counts_add(rf_name_counts *c, const char *name, size_t len, uint64_t k);
void rf_name_counts_free(rf_name_counts *c);

typedef struct rf_file_stats {
    char *path;
    int32_t index;                /* position in the caller's file list */
    int compression;              /* enum rf_compression */
    uint64_t rows[2];             /* tool-selection, error-recovery rows */
    uint64_t first_unpaired_line;
    uint64_t lines, json_lines, skipped_lines, bytes;
    uint64_t events[RF_EV_COUNT], blocks[RF_BLK_COUNT];
    uint64_t tool_calls, tool_errors, parallel_batches, max_batch;
    uint64_t sidechain_lines, unknown_types, unpaired_results, sessions;
    int votes[3];                 /* by rf_line_dialect */
    int result_only;              /* only result lines so far */
    int top_level_arrays;
    rf_name_counts results;       /* results_by_subtype */
    rf_name_counts types;         /* lines_by_type */
    rf_name_counts system;        /* system_by_subtype */
    struct { uint64_t line; char reason[96]; } skipped[8];
    size_t nskipped;              /* recorded (<= 8) */
} rf_file_stats;

const char *rf_file_format(const rf_file_stats *s);  /* "stream-json", ... */
void rf_file_stats_skip(rf_file_stats *s, uint64_t line, const char *reason);
void rf_file_stats_free(rf_file_stats *s);

/* ---- the extractor ---- */

typedef struct rf_extract_opts {
    uint32_t hash_dim;   /* default 4096 */
    int k_prev;          /* default 3 */
} rf_extract_opts;

typedef struct rf_extractor rf_extractor;

typedef struct rf_extract_out {
    rf_rows tool_rows, error_rows;
    rf_vocab tools;                 /* tool-selection labels */
    rf_seq_rec *seqs;      size_t nseqs, seqs_cap;
    rf_plan_rec *plans;    size_t nplans, plans_cap;
    rf_recovery_rec *recs; size_t nrecs, recs_cap;
    rf_comm_rec *comms;    size_t ncomms, comms_cap;
    rf_thread_rec *threads; size_t nthreads, threads_cap;
    rf_signal_rec *sigs;   size_t nsigs, sigs_cap;   /* index = group */
} rf_extract_out;

rf_extractor *rf_extract_new(const rf_extract_opts *o);
/* Following lines come from this file (stats receives its counts). */
void rf_extract_begin_file(rf_extractor *x, rf_file_stats *stats);
/* One validated JSON object line of the current file. */
void rf_extract_line(rf_extractor *x, rf_jspan obj, uint64_t lineno);
/* End of the current file; end of a unit (its sessions close when the
 * next file starts another session); end of all input. */
void rf_extract_end_file(rf_extractor *x);
void rf_extract_end_unit(rf_extractor *x);
void rf_extract_finish(rf_extractor *x);
/* Results so far (sessions finalized). Owned by the extractor. */
rf_extract_out *rf_extract_result(rf_extractor *x);
/* Number of sessions currently open (for tests and memory checks). */
size_t rf_extract_open_sessions(const rf_extractor *x);
void rf_extract_free(rf_extractor *x);

#endif
