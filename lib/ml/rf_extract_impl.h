/* rf_extract_impl.h: private to rf_extract*.c.
 *
 * The extractor's per-session state (sessions, their threads, tool calls
 * and API messages), the small hash map that indexes it, and the functions
 * the files of the extractor call in each other:
 *   rf_extract.c          the extractor: sessions, threads, walking the lines
 *   rf_extract_text.c     reasoning and messages: sequences, comms, context
 *   rf_extract_rows.c     tool calls and results: plans, recoveries, rows
 *   rf_extract_signals.c  closing a session: threads, signals, level, category
 *   rf_extract_stats.c    per-file counts (summary.json) */
#ifndef RF_EXTRACT_IMPL_H
#define RF_EXTRACT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_buf.h"
#include "ml/rf_extract.h"
#include "ml/rf_toolfeat.h"

/* Hash of a span's raw bytes; never 0 (0 marks empty slots and "none"). */
static inline uint64_t span_hash(rf_jspan v, uint64_t salt)
{
    uint64_t h = rf_fnv1a(v.p, v.n, RF_FNV0 ^ salt);
    return h ? h : 1;
}

/* uint64 -> uint32 map with open addressing; key 0 is reserved. */
typedef struct rf_u64map {
    uint64_t *k;
    uint32_t *v;
    size_t n, cap;
} rf_u64map;

void rf_u64map_free(rf_u64map *m);
int rf_u64map_get(const rf_u64map *m, uint64_t key, uint32_t *out);
void rf_u64map_put(rf_u64map *m, uint64_t key, uint32_t v);

#define GROW(arr, n, cap)                                                   \
    do {                                                                    \
        if ((n) == (cap)) {                                                 \
            (cap) = (cap) ? 2 * (cap) : 16;                                 \
            (arr) = rf_xrealloc((arr), (cap) * sizeof *(arr));              \
        }                                                                   \
    } while (0)

/* ---- per-session state ---- */

typedef struct pend_failure {
    int32_t tool;
    int64_t call_ord;     /* thread ordinal of the failed call */
    size_t rec, row;
} pend_failure;

typedef struct thread {
    uint64_t key;         /* 0 = main thread */
    int kind;             /* enum rf_thread_kind */
    int32_t parent;       /* call index of the spawning Task, -1 unknown */
    uint64_t agent;       /* agentId hash (projects subagent files) */
    rf_fhash ctx;
    int64_t ctx_thinking_chars, ctx_text_chars;
    int32_t ctx_thinking_blocks;
    int32_t seq_thinking, seq_text;
    int64_t seq_chars, seq_line;
    int32_t prev[8];      /* previous tools, most recent first; -1 none */
    int64_t last_row;     /* its latest tool-selection row, -1 none */
    int64_t last_err_row; /* its latest error-recovery row, -1 none */
    rf_toolfeat tf;       /* what its tool-selection rows know (rf_toolfeat.h) */
    int64_t calls, errors, results;
    int last_failed;
    pend_failure *pend;
    size_t npend, pend_cap;
} thread;

typedef struct call {
    uint32_t thread;
    int32_t tool;
    int64_t ord;          /* ordinal in its thread */
    int32_t plan;
    uint64_t prompt;      /* Task: hash of input.prompt, 0 otherwise */
    int status;           /* 0 pending, 1 ok, 2 error */
    int linked;           /* a subagent thread points here */
} call;

typedef struct msg {
    uint32_t thread;
    uint32_t calls;
    int32_t plan;
    int64_t in_tok, out_tok;
    rf_file_stats *stats;
} msg;

typedef struct sess {
    uint64_t key;
    char *id;
    int32_t group;
    rf_file_stats *main_stats, *last_stats;
    int closing;          /* its unit ended: finalized unless the next file continues it */
    thread *th;
    size_t nth, th_cap;
    rf_u64map th_ix;      /* thread key -> index */
    call *calls;
    size_t ncalls, calls_cap;
    rf_u64map call_ix;    /* tool_use_id hash -> call */
    msg *msgs;
    size_t nmsgs, msgs_cap;
    rf_u64map msg_ix;     /* message.id hash -> msg */
    rf_u64map inputs;     /* (tool, input) hash -> 1: redundancy */
    rf_u64map uuid_th;    /* inline sidechain uuid -> thread */
    rf_u64map agent_call; /* agentId hash -> call index */
    int64_t tool_calls, redundant, tool_errors, thinking_blocks, thinking_chars;
    int64_t events, api_errors, failures, recovered;
    char *prompt, *first_text;
    int has_result, result_error;
    char *outcome;
    int64_t turns, duration_ms;
    double cost;
    int64_t first_ms, last_ms, gap_sum, gap_n;
} sess;

struct rf_extractor {
    rf_extract_opts o;
    rf_extract_out out;
    sess **open;
    size_t nopen, open_cap;
    rf_file_stats *stats;
    sess *cur;            /* session of the current file's last line */
    rf_fhash tmp;         /* scratch for error-recovery rows */
};

/* The line being handled: its session, thread and time since the last. */
typedef struct line_ctx {
    rf_extractor *x;
    sess *s;
    uint32_t ti;
    int64_t line;
    double gap_s;
} line_ctx;

/* rf_extract.c: the API message a line belongs to (by message.id); the
 * release of a session's state. */
uint32_t rf_extract_msg_of(line_ctx *c, const rf_line_info *li);
void rf_extract_sess_free(sess *s);

/* rf_extract_text.c */
void rf_extract_seq_close(rf_extractor *x, sess *s, uint32_t ti, int why);
void rf_extract_on_thinking(line_ctx *c, const rf_event *ev);
void rf_extract_on_message(line_ctx *c, const rf_line_info *li, const rf_event *ev);

/* rf_extract_rows.c */
void rf_extract_on_tool_use(line_ctx *c, const rf_line_info *li, const rf_event *ev);
void rf_extract_on_result(line_ctx *c, const rf_event *ev);

/* rf_extract_signals.c: records the session's threads and signals, then
 * frees it. */
void rf_extract_sess_finalize(rf_extractor *x, sess *s);

/* rf_extract_stats.c: the per-file counts of one line. */
void rf_extract_count_line(rf_file_stats *st, const rf_line_info *li);

#endif
