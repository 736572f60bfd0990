/* rf_events: one session-log line -> its envelope and its events.
 *
 * The event model: Thinking (thinking and redacted_thinking blocks),
 * ToolUse (tool_use blocks), Message (text blocks and string contents of
 * assistant and user lines), FunctionResult (tool_result blocks), Error
 * (tool results with is_error, API-error pseudo messages, failed result
 * lines) and SystemMetadata (every other line: system, result, summary,
 * progress, file-history-snapshot, unknown types). An Error accompanies the
 * event it is about, so one failed tool result is a FunctionResult and an
 * Error.
 *
 * Everything here works on spans of a line validated by rf_jscan: no tree
 * is built, and only the strings a caller asks for get decoded. Unknown
 * types, subtypes and block types map to SystemMetadata or "other" blocks;
 * nothing is fatal. */
#ifndef RF_EVENTS_H
#define RF_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "ml/rf_jscan.h"

enum rf_ev_type {
    RF_EV_THINKING, RF_EV_TOOL_USE, RF_EV_MESSAGE, RF_EV_FUNCTION_RESULT,
    RF_EV_ERROR, RF_EV_SYSTEM, RF_EV_COUNT
};

enum rf_block_type {
    RF_BLK_TEXT, RF_BLK_THINKING, RF_BLK_REDACTED_THINKING, RF_BLK_TOOL_USE,
    RF_BLK_TOOL_RESULT, RF_BLK_IMAGE, RF_BLK_OTHER, RF_BLK_COUNT
};

enum rf_line_kind {
    RF_LK_OTHER, RF_LK_ASSISTANT, RF_LK_USER, RF_LK_SYSTEM, RF_LK_RESULT,
    RF_LK_PROGRESS
};

/* Where a line says it comes from, for format detection. */
enum rf_line_dialect { RF_DIALECT_NONE, RF_DIALECT_STREAM, RF_DIALECT_PROJECTS };

/* The envelope of one JSON object line. */
typedef struct rf_line_info {
    int kind;                 /* enum rf_line_kind */
    int dialect;              /* enum rf_line_dialect */
    rf_jspan obj;             /* the whole object */
    rf_jspan type, subtype;
    rf_jspan session;         /* session_id or sessionId */
    rf_jspan timestamp;
    rf_jspan uuid, parent_uuid;
    rf_jspan parent_tool_use_id;  /* stream-json subagent lines */
    rf_jspan agent_id;        /* projects subagent files (agentId) */
    int sidechain;            /* isSidechain or a parent_tool_use_id */
    int is_meta;              /* isMeta: injected by the harness */
    int api_error;            /* isApiErrorMessage or model "<synthetic>" */
    rf_jspan message, msg_id, model, usage, content;
    rf_jspan tool_use_result; /* projects: toolUseResult */
    rf_jspan data;            /* progress: data */
    rf_jspan parent_tool_use_id_progress;  /* progress: parentToolUseID */
    /* result lines */
    int is_error;
    rf_jspan duration_ms, num_turns, cost;
} rf_line_info;

/* Read the envelope of a validated object. */
void rf_line_info_parse(rf_jspan obj, rf_line_info *li);

typedef struct rf_event {
    int type;                 /* enum rf_ev_type */
    int block;                /* enum rf_block_type, or -1 for line events */
    size_t block_index;
    rf_jspan text;            /* text, thinking, string content, result content */
    rf_jspan tool_id;         /* tool_use id, or tool_result tool_use_id */
    rf_jspan tool_name, input;
    int is_error;
} rf_event;

typedef void (*rf_event_fn)(void *ud, const rf_line_info *li, const rf_event *ev);

/* Call fn for every event of the line, in block order. Returns the number
 * of events. Block counts are added to blocks[RF_BLK_COUNT] when non-NULL
 * (only for top-level assistant and user lines, as summary.json defines). */
size_t rf_events_map(const rf_line_info *li, rf_event_fn fn, void *ud,
                     uint64_t blocks[RF_BLK_COUNT]);

const char *rf_ev_type_name(int type);      /* "Thinking", ... */
const char *rf_block_type_name(int block);  /* "text", ... */
int rf_block_type_of(rf_jspan type_str);

#endif
