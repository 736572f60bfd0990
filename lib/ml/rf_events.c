/* rf_events: line envelope and event mapping; see rf_events.h. */
#include "ml/rf_events.h"

#include <string.h>

static int key_eq(rf_jspan k, const char *lit, size_t n)
{
    return k.n == n && memcmp(k.p, lit, n) == 0;
}
#define KEY(k, lit) key_eq((k), lit, sizeof(lit) - 1)

static int kind_of(rf_jspan type)
{
    if (rf_jstr_eq(type, "assistant"))
        return RF_LK_ASSISTANT;
    if (rf_jstr_eq(type, "user"))
        return RF_LK_USER;
    if (rf_jstr_eq(type, "system"))
        return RF_LK_SYSTEM;
    if (rf_jstr_eq(type, "result"))
        return RF_LK_RESULT;
    if (rf_jstr_eq(type, "progress"))
        return RF_LK_PROGRESS;
    return RF_LK_OTHER;
}

/* Line types that only the projects files have. */
static int projects_only_type(rf_jspan type)
{
    return rf_jstr_eq(type, "summary") || rf_jstr_eq(type, "progress") ||
           rf_jstr_eq(type, "file-history-snapshot") ||
           rf_jstr_eq(type, "queue-operation");
}

static void parse_message(rf_line_info *li)
{
    rf_jspan k, v;
    rf_jiter it = rf_jiter_begin(li->message);
    while (rf_jobj_next(&it, &k, &v)) {
        if (KEY(k, "content"))
            li->content = v;
        else if (KEY(k, "id"))
            li->msg_id = v;
        else if (KEY(k, "model"))
            li->model = v;
        else if (KEY(k, "usage"))
            li->usage = v;
    }
    if (rf_jstr_eq(li->model, "<synthetic>"))
        li->api_error = 1;
}

void rf_line_info_parse(rf_jspan obj, rf_line_info *li)
{
    memset(li, 0, sizeof *li);
    li->obj = obj;
    int stream = 0, projects = 0;
    rf_jspan k, v;
    rf_jiter it = rf_jiter_begin(obj);
    while (rf_jobj_next(&it, &k, &v)) {
        /* Most lines have a dozen keys; dispatch on the first byte. */
        switch (k.n ? k.p[0] : 0) {
        case 't':
            if (KEY(k, "type")) li->type = v;
            else if (KEY(k, "timestamp")) li->timestamp = v;
            else if (KEY(k, "toolUseResult")) li->tool_use_result = v;
            else if (KEY(k, "total_cost_usd")) li->cost = v;
            else if (KEY(k, "total_cost") && !li->cost.n) li->cost = v;
            break;
        case 's':
            if (KEY(k, "subtype")) li->subtype = v;
            else if (KEY(k, "session_id")) li->session = v, stream = 1;
            else if (KEY(k, "sessionId")) li->session = v, projects = 1;
            break;
        case 'm':
            if (KEY(k, "message")) li->message = v;
            break;
        case 'p':
            if (KEY(k, "parent_tool_use_id")) {
                stream = 1;
                if (rf_jspan_type(v) == RF_J_STRING)
                    li->parent_tool_use_id = v, li->sidechain = 1;
            } else if (KEY(k, "parentUuid"))
                li->parent_uuid = v, projects = 1;
            else if (KEY(k, "parentToolUseID"))
                li->parent_tool_use_id_progress = v;
            break;
        case 'a':
            if (KEY(k, "agentId")) li->agent_id = v;
            break;
        case 'i':
            if (KEY(k, "isSidechain")) {
                projects = 1;
                if (rf_jbool(v))
                    li->sidechain = 1;
            } else if (KEY(k, "isMeta")) li->is_meta = rf_jbool(v);
            else if (KEY(k, "isApiErrorMessage")) li->api_error |= rf_jbool(v);
            else if (KEY(k, "is_error")) li->is_error = rf_jbool(v);
            break;
        case 'd':
            if (KEY(k, "data")) li->data = v;
            else if (KEY(k, "duration_ms")) li->duration_ms = v;
            break;
        case 'u':
            if (KEY(k, "uuid")) li->uuid = v;
            break;
        case 'n':
            if (KEY(k, "num_turns")) li->num_turns = v;
            break;
        case 'c':
            if (KEY(k, "cost_usd") && !li->cost.n) li->cost = v;
            break;
        default:
            break;
        }
    }
    li->kind = kind_of(li->type);
    if (projects_only_type(li->type))
        projects = 1;
    li->dialect = stream ? RF_DIALECT_STREAM
                         : projects ? RF_DIALECT_PROJECTS : RF_DIALECT_NONE;
    if (rf_jspan_type(li->message) == RF_J_OBJECT)
        parse_message(li);
}

static const char *const ev_names[RF_EV_COUNT] = {
    "Thinking", "ToolUse", "Message", "FunctionResult", "Error", "SystemMetadata"
};
static const char *const blk_names[RF_BLK_COUNT] = {
    "text", "thinking", "redacted_thinking", "tool_use", "tool_result", "image", "other"
};

const char *rf_ev_type_name(int t)
{
    return t >= 0 && t < RF_EV_COUNT ? ev_names[t] : "?";
}

const char *rf_block_type_name(int b)
{
    return b >= 0 && b < RF_BLK_COUNT ? blk_names[b] : "?";
}

int rf_block_type_of(rf_jspan t)
{
    for (int b = 0; b < RF_BLK_OTHER; b++)
        if (rf_jstr_eq(t, blk_names[b]))
            return b;
    return RF_BLK_OTHER;
}

static void emit(rf_event_fn fn, void *ud, const rf_line_info *li, rf_event *ev,
                 size_t *count)
{
    (*count)++;
    if (fn)
        fn(ud, li, ev);
}

static void map_block(const rf_line_info *li, rf_jspan blk, size_t idx,
                      rf_event_fn fn, void *ud, uint64_t *blocks, size_t *count)
{
    rf_event ev = {0};
    ev.block_index = idx;
    rf_jspan type = {0}, k, v;
    rf_jiter it = rf_jiter_begin(blk);
    if (rf_jspan_type(blk) != RF_J_OBJECT) {
        ev.block = RF_BLK_OTHER;
    } else {
        while (rf_jobj_next(&it, &k, &v)) {
            if (KEY(k, "type")) type = v;
            else if (KEY(k, "text") || KEY(k, "thinking") || KEY(k, "content") ||
                     KEY(k, "data"))
                ev.text = v;
            else if (KEY(k, "id") || KEY(k, "tool_use_id")) ev.tool_id = v;
            else if (KEY(k, "name")) ev.tool_name = v;
            else if (KEY(k, "input")) ev.input = v;
            else if (KEY(k, "is_error")) ev.is_error = rf_jbool(v);
        }
        ev.block = rf_block_type_of(type);
    }
    if (blocks)
        blocks[ev.block]++;
    switch (ev.block) {
    case RF_BLK_TEXT:
        ev.type = RF_EV_MESSAGE;
        break;
    case RF_BLK_THINKING:
    case RF_BLK_REDACTED_THINKING:
        ev.type = RF_EV_THINKING;
        break;
    case RF_BLK_TOOL_USE:
        ev.type = RF_EV_TOOL_USE;
        break;
    case RF_BLK_TOOL_RESULT:
        ev.type = RF_EV_FUNCTION_RESULT;
        emit(fn, ud, li, &ev, count);
        if (ev.is_error) {
            ev.type = RF_EV_ERROR;
            emit(fn, ud, li, &ev, count);
        }
        return;
    default:
        return;   /* images and unknown blocks: counted, no event */
    }
    emit(fn, ud, li, &ev, count);
}

static int result_failed(const rf_line_info *li)
{
    if (li->is_error)
        return 1;
    rf_jspan st = rf_jstr_raw(li->subtype);
    return st.n >= 5 && memcmp(st.p, "error", 5) == 0;
}

size_t rf_events_map(const rf_line_info *li, rf_event_fn fn, void *ud,
                     uint64_t blocks[RF_BLK_COUNT])
{
    size_t count = 0;
    rf_event ev = {0};
    ev.block = -1;
    if (li->kind != RF_LK_ASSISTANT && li->kind != RF_LK_USER) {
        ev.type = RF_EV_SYSTEM;
        emit(fn, ud, li, &ev, &count);
        if (li->kind == RF_LK_RESULT && result_failed(li)) {
            ev.type = RF_EV_ERROR;
            ev.is_error = 1;
            emit(fn, ud, li, &ev, &count);
        }
        return count;
    }
    int ct = rf_jspan_type(li->content);
    if (ct == RF_J_STRING) {
        ev.type = RF_EV_MESSAGE;
        ev.text = li->content;
        emit(fn, ud, li, &ev, &count);
    } else if (ct == RF_J_ARRAY) {
        rf_jspan blk;
        size_t idx = 0;
        rf_jiter it = rf_jiter_begin(li->content);
        while (rf_jarr_next(&it, &blk))
            map_block(li, blk, idx++, fn, ud, blocks, &count);
    }
    if (li->api_error) {
        ev.type = RF_EV_ERROR;
        ev.is_error = 1;
        ev.text = li->content;
        emit(fn, ud, li, &ev, &count);
    }
    return count;
}
