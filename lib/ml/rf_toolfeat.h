/* rf_toolfeat: what a tool-selection row knows about its thread.
 *
 * One per thread (main or subagent) of a session, fed by the extractor as
 * the thread's events arrive, and read when a tool call makes a row, so
 * every feature comes from what happened before that call:
 *   - the last calls: tool, outcome (ok, error, no result yet), result
 *     size bucket, and whether each was part of a parallel batch;
 *   - the latest user message and the assistant's latest text/thinking
 *     (hashed, each in a namespace of its own, so they persist across tool
 *     results, unlike the context since the last result);
 *   - the current todo list (the last TodoWrite: items, done, the position
 *     of the item in progress) and the calls since it was written;
 *   - working-directory signals of the lines (cwd moved away from the
 *     first one, a git branch present).
 * docs/preprocess.md lists the resulting columns. */
#ifndef RF_TOOLFEAT_H
#define RF_TOOLFEAT_H

#include <stdint.h>

#include "ml/rf_features.h"
#include "ml/rf_jscan.h"

#define RF_TOOLFEAT_HIST 8

typedef struct rf_toolfeat_past {
    int64_t ord;          /* the call's ordinal in its thread */
    uint32_t slot;        /* rf_tool_slot of its name */
    int outcome;          /* RF_OUT_OK, RF_OUT_ERROR or RF_OUT_PENDING */
    int size;             /* RF_OUT_SIZE_* once a result came, else -1 */
    int in_batch;         /* one of two or more calls of one message */
} rf_toolfeat_past;

typedef struct rf_toolfeat {
    rf_toolfeat_past hist[RF_TOOLFEAT_HIST];   /* most recent first */
    int nhist;
    rf_fhash user;        /* latest user message */
    rf_fhash asst;        /* assistant's latest run of text/thinking */
    int asst_closed;      /* a call came after it: the next text starts anew */
    int32_t todo_total, todo_done, todo_active;   /* active: 1-based, 0 none */
    int64_t todo_ord;     /* thread ordinal of the last TodoWrite, -1 none */
    int64_t calls;        /* calls of the thread so far */
    uint64_t cwd0, cwd;   /* hashes of the first and latest cwd, 0 none */
    int on_branch;        /* the latest line with a gitBranch had a non-empty one */
} rf_toolfeat;

void rf_toolfeat_init(rf_toolfeat *f, uint32_t hash_dim);
void rf_toolfeat_free(rf_toolfeat *f);

/* A user message (raw JSON string contents): it replaces the previous one. */
void rf_toolfeat_user_text(rf_toolfeat *f, const char *raw, size_t n);
/* Assistant text or thinking; after a call, the next one starts a new run. */
void rf_toolfeat_assistant_text(rf_toolfeat *f, const char *raw, size_t n);
/* Envelope signals of a line of this thread: its cwd and gitBranch values
 * (RF_J_ABSENT spans when the line has none). */
void rf_toolfeat_line(rf_toolfeat *f, rf_jspan cwd, rf_jspan branch);

/* The row of a call about to be made: adds the salted user and assistant
 * hashes and the k_prev tool and outcome slots to row (before rf_rows_end)
 * and fills the numbers this module owns in num (RF_NF_PREV_IN_BATCH ..
 * RF_NF_ON_BRANCH). */
void rf_toolfeat_row(const rf_toolfeat *f, rf_rows *r, float *num);

/* Then the call itself: its ordinal, tool name, position in its message
 * (0 = first) and input (a TodoWrite's todos are read). */
void rf_toolfeat_call(rf_toolfeat *f, int64_t ord, const char *name, size_t n,
                      int batch_pos, rf_jspan input);
/* The result of the call with ordinal ord (content: its bytes). */
void rf_toolfeat_result(rf_toolfeat *f, int64_t ord, int is_error, uint64_t bytes);

#endif
