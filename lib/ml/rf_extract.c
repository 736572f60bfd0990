/* rf_extract: sessions, event tables and dataset rows from events; see
 * rf_extract.h. */
#include "ml/rf_extract.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "ml/rf_dataset.h"

/* ---- hashing helpers ---- */

/* Hash of a span's raw bytes; never 0 (0 marks empty slots and "none"). */
static uint64_t span_hash(rf_jspan v, uint64_t salt)
{
    uint64_t h = rf_fnv1a(v.p, v.n, RF_FNV0 ^ salt);
    return h ? h : 1;
}

/* uint64 -> uint32 map with open addressing; key 0 is reserved. */
typedef struct u64map {
    uint64_t *k;
    uint32_t *v;
    size_t n, cap;
} u64map;

static void map_free(u64map *m)
{
    free(m->k);
    free(m->v);
    memset(m, 0, sizeof *m);
}

static uint32_t *map_slot(u64map *m, uint64_t key, int insert)
{
    if (insert && (m->n + 1) * 2 > m->cap) {
        u64map g = {0};
        g.cap = m->cap ? 2 * m->cap : 64;
        g.k = rf_xcalloc(g.cap, sizeof *g.k);
        g.v = rf_xcalloc(g.cap, sizeof *g.v);
        for (size_t i = 0; i < m->cap; i++)
            if (m->k[i]) {
                size_t j = rf_mix64(m->k[i]) & (g.cap - 1);
                while (g.k[j])
                    j = (j + 1) & (g.cap - 1);
                g.k[j] = m->k[i];
                g.v[j] = m->v[i];
            }
        g.n = m->n;
        map_free(m);
        *m = g;
    }
    if (!m->cap)
        return NULL;
    size_t j = rf_mix64(key) & (m->cap - 1);
    while (m->k[j] && m->k[j] != key)
        j = (j + 1) & (m->cap - 1);
    if (!m->k[j]) {
        if (!insert)
            return NULL;
        m->k[j] = key;
        m->n++;
    }
    return &m->v[j];
}

static int map_get(const u64map *m, uint64_t key, uint32_t *out)
{
    uint32_t *s = map_slot((u64map *)m, key, 0);
    if (s)
        *out = *s;
    return s != NULL;
}

static void map_put(u64map *m, uint64_t key, uint32_t v)
{
    *map_slot(m, key, 1) = v;
}

#define GROW(arr, n, cap)                                                   \
    do {                                                                    \
        if ((n) == (cap)) {                                                 \
            (cap) = (cap) ? 2 * (cap) : 16;                                 \
            (arr) = rf_xrealloc((arr), (cap) * sizeof *(arr));              \
        }                                                                   \
    } while (0)

/* ---- categories and levels ---- */

const char *const rf_categories[RF_CATEGORY_COUNT] = {
    "bug fix", "feature", "refactoring", "testing", "documentation",
    "performance", "security"
};

/* Keyword stems per category, matched at word starts, case-insensitive. */
static const char *const cat_words[RF_CATEGORY_COUNT][16] = {
    {"bug", "fix", "error", "crash", "broken", "fail", "issue", "exception",
     "wrong", "regression", "debug", "not work", NULL},
    {"add", "implement", "create", "build", "support", "new ", "feature",
     "introduce", "make ", "write a", NULL},
    {"refactor", "clean up", "cleanup", "restructure", "rename", "simplif",
     "extract", "reorganiz", "dedup", "modulari", "migrat", NULL},
    {"test", "spec", "coverage", "assert", "mock", "e2e", NULL},
    {"doc", "readme", "comment", "explain", "describe", "tutorial", "guide",
     "changelog", NULL},
    {"perf", "slow", "fast", "optimi", "speed", "latency", "memory",
     "benchmark", "profil", "cache", NULL},
    {"secur", "vulnerab", "cve", "xss", "injection", "csrf", "sanitiz",
     "secret", "permission", "exploit", "auth", NULL},
};

/* Ties are broken by this order: the more specific intent first. */
static const int cat_priority[RF_CATEGORY_COUNT] = {6, 5, 3, 2, 4, 0, 1};

/* Word characters, as the feature hashing tokenizer sees them. */
static int word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

static int word_start_match(const char *s, size_t n, size_t i, const char *w)
{
    size_t m = strlen(w);
    if (i + m > n || (i > 0 && word_byte((unsigned char)s[i - 1])))
        return 0;
    for (size_t j = 0; j < m; j++) {
        unsigned char c = (unsigned char)s[i + j];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)w[j])
            return 0;
    }
    return 1;
}

int rf_category_of(const char *s, size_t n)
{
    int score[RF_CATEGORY_COUNT] = {0};
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < RF_CATEGORY_COUNT; c++)
            for (int w = 0; cat_words[c][w]; w++)
                if (word_start_match(s, n, i, cat_words[c][w]))
                    score[c]++;
    int best = 1;   /* no keyword at all: a feature request */
    int best_score = 0;
    for (int k = 0; k < RF_CATEGORY_COUNT; k++) {
        int c = cat_priority[k];
        if (score[c] > best_score)
            best = c, best_score = score[c];
    }
    return best;
}

static int bucket(int64_t x, const int64_t *edges, int n)
{
    int b = 0;
    while (b < n && x > edges[b])
        b++;
    return b;
}

int rf_level_of(const rf_signal_rec *s)
{
    static const int64_t call_edges[] = {0, 5, 20, 60};      /* 0..4 points */
    static const int64_t turn_edges[] = {1, 10, 40};         /* 0..3 */
    static const int64_t err_edges[] = {0, 2, 5};            /* 0..3 */
    int score = bucket(s->tool_calls, call_edges, 4) +
                bucket(s->turns, turn_edges, 3) +
                bucket(s->tool_errors, err_edges, 3) +
                (s->subagents > 2 ? 2 : s->subagents);
    /* 0..12 points */
    if (score <= 2)
        return RF_LEVEL_TRIVIAL;
    if (score <= 4)
        return RF_LEVEL_EASY;
    if (score <= 6)
        return RF_LEVEL_MEDIUM;
    if (score <= 8)
        return RF_LEVEL_HARD;
    return RF_LEVEL_EXPERT;
}

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
    u64map th_ix;         /* thread key -> index */
    call *calls;
    size_t ncalls, calls_cap;
    u64map call_ix;       /* tool_use_id hash -> call */
    msg *msgs;
    size_t nmsgs, msgs_cap;
    u64map msg_ix;        /* message.id hash -> msg */
    u64map inputs;        /* (tool, input) hash -> 1: redundancy */
    u64map uuid_th;       /* inline sidechain uuid -> thread */
    u64map agent_call;    /* agentId hash -> call index */
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

rf_extractor *rf_extract_new(const rf_extract_opts *o)
{
    rf_extractor *x = rf_xcalloc(1, sizeof *x);
    x->o.hash_dim = o && o->hash_dim ? o->hash_dim : 4096;
    x->o.k_prev = o && o->k_prev > 0 ? o->k_prev : 3;
    if (x->o.k_prev > 8)
        x->o.k_prev = 8;
    rf_rows_init(&x->out.tool_rows, x->o.hash_dim, x->o.k_prev);
    rf_rows_init(&x->out.error_rows, x->o.hash_dim, x->o.k_prev);
    rf_fhash_init(&x->tmp, x->o.hash_dim);
    return x;
}

static uint32_t thread_get(rf_extractor *x, sess *s, uint64_t key)
{
    uint32_t i;
    if (map_get(&s->th_ix, key, &i))
        return i;
    GROW(s->th, s->nth, s->th_cap);
    thread *t = &s->th[s->nth];
    memset(t, 0, sizeof *t);
    t->key = key;
    t->parent = -1;
    rf_fhash_init(&t->ctx, x->o.hash_dim);
    for (int k = 0; k < 8; k++)
        t->prev[k] = -1;
    map_put(&s->th_ix, key, (uint32_t)s->nth);
    return (uint32_t)s->nth++;
}

static sess *sess_new(rf_extractor *x, uint64_t key, const char *id, size_t idn)
{
    sess *s = rf_xcalloc(1, sizeof *s);
    s->key = key;
    s->id = rf_xmalloc(idn + 1);
    memcpy(s->id, id, idn);
    s->id[idn] = '\0';
    s->group = (int32_t)x->out.nsigs;
    GROW(x->out.sigs, x->out.nsigs, x->out.sigs_cap);
    memset(&x->out.sigs[x->out.nsigs++], 0, sizeof x->out.sigs[0]);
    s->main_stats = x->stats;
    s->first_ms = s->last_ms = -1;
    s->duration_ms = -1;
    s->turns = -1;
    s->cost = NAN;
    thread_get(x, s, 0);
    GROW(x->open, x->nopen, x->open_cap);
    x->open[x->nopen++] = s;
    return s;
}

static sess *sess_find(rf_extractor *x, uint64_t key)
{
    for (size_t i = x->nopen; i-- > 0;)
        if (x->open[i]->key == key)
            return x->open[i];
    return NULL;
}

/* ---- records ---- */

static void seq_close(rf_extractor *x, sess *s, uint32_t ti, int why)
{
    thread *t = &s->th[ti];
    if (!t->seq_thinking && !t->seq_text)
        return;
    rf_extract_out *o = &x->out;
    GROW(o->seqs, o->nseqs, o->seqs_cap);
    o->seqs[o->nseqs++] = (rf_seq_rec){s->group, (int32_t)ti, t->seq_line,
                                       t->seq_thinking, t->seq_text, t->seq_chars, why};
    t->seq_thinking = t->seq_text = 0;
    t->seq_chars = 0;
}

static void comm_add(rf_extractor *x, sess *s, uint32_t ti, int64_t line, rf_jspan raw)
{
    rf_comm_rec c = {s->group, (int32_t)ti, line, (int64_t)raw.n, 0, 0, 0};
    int line_start = 1;
    for (size_t i = 0; i < raw.n; i++) {
        char ch = raw.p[i];
        if (ch == '?')
            c.questions++;
        if (ch == '`' && i + 2 < raw.n && raw.p[i + 1] == '`' && raw.p[i + 2] == '`') {
            c.code_blocks++;
            i += 2;
        }
        if (line_start) {
            size_t j = i;
            while (j < raw.n && raw.p[j] == ' ')
                j++;
            if (j + 1 < raw.n && (raw.p[j] == '-' || raw.p[j] == '*') && raw.p[j + 1] == ' ')
                c.list_items++;
            else if (j + 1 < raw.n && raw.p[j] >= '0' && raw.p[j] <= '9' &&
                     raw.p[j + 1] == '.')
                c.list_items++;
        }
        /* lines end at an escaped newline in raw JSON text */
        line_start = ch == 'n' && i > 0 && raw.p[i - 1] == '\\';
    }
    c.code_blocks /= 2;   /* fences come in pairs */
    rf_extract_out *o = &x->out;
    GROW(o->comms, o->ncomms, o->comms_cap);
    o->comms[o->ncomms++] = c;
}

/* Shared context features of a row: previous tools and numbers. */
static void row_context(rf_extractor *x, rf_rows *r, size_t row, sess *s,
                        thread *t, uint32_t ti, int batch_pos, double gap_s,
                        const int32_t *prev, int nprev)
{
    const rf_vocab *tools = &x->out.tools;
    for (int k = 0; k < nprev && k < r->k_prev; k++)
        if (prev[k] >= 0) {
            const char *name = tools->names[prev[k]];
            uint32_t b = rf_fhash_index(name, strlen(name), RF_TOOL_SLOTS);
            rf_rows_add(r, r->hash_dim + (uint32_t)k * RF_TOOL_SLOTS + b, 1.0f);
        }
    rf_rows_end(r, row);
    float *f = r->num + row * RF_NF_COUNT;
    f[RF_NF_CALL_INDEX] = log1pf((float)s->tool_calls);
    f[RF_NF_THREAD_CALL_INDEX] = log1pf((float)t->calls);
    f[RF_NF_ERRORS_SO_FAR] = log1pf((float)t->errors);
    f[RF_NF_LAST_FAILED] = (float)t->last_failed;
    f[RF_NF_IN_SUBAGENT] = ti != 0;
    f[RF_NF_CTX_THINKING_CHARS] = log1pf((float)t->ctx_thinking_chars);
    f[RF_NF_CTX_TEXT_CHARS] = log1pf((float)t->ctx_text_chars);
    f[RF_NF_CTX_THINKING_BLOCKS] = (float)t->ctx_thinking_blocks;
    f[RF_NF_BATCH_POS] = (float)batch_pos;
    f[RF_NF_SECONDS_SINCE_PREV] = gap_s > 0 ? log1pf((float)gap_s) : 0.0f;
    f[RF_NF_ERROR_RATE] = t->results ? (float)t->errors / (float)t->results : 0.0f;
    f[RF_NF_EVENT_INDEX] = log1pf((float)s->events);
}

static void rows_add_fhash(rf_rows *r, const rf_fhash *h)
{
    for (uint32_t i = 0; i < h->ntouched; i++)
        rf_rows_add(r, h->touched[i], h->v[h->touched[i]]);
}

/* ---- the line handler ---- */

typedef struct line_ctx {
    rf_extractor *x;
    sess *s;
    uint32_t ti;
    int64_t line;
    double gap_s;
} line_ctx;

static void on_thinking(line_ctx *c, const rf_event *ev)
{
    thread *t = &c->s->th[c->ti];
    rf_jspan raw = rf_jstr_raw(ev->text);
    if (!t->seq_thinking && !t->seq_text)
        t->seq_line = c->line;
    t->seq_thinking++;
    t->seq_chars += (int64_t)raw.n;
    t->ctx_thinking_blocks++;
    t->ctx_thinking_chars += (int64_t)raw.n;
    c->s->thinking_blocks++;
    c->s->thinking_chars += (int64_t)raw.n;
    if (ev->block == RF_BLK_THINKING) {
        rf_fhash_break(&t->ctx);
        rf_fhash_add(&t->ctx, raw.p, raw.n);
    }
}

/* The first max bytes of a string value, decoded, cut at a UTF-8 boundary. */
static char *decode_head(rf_jspan v, size_t max)
{
    size_t n;
    char *s = rf_jspan_decode_str(v, &n);
    if (s && n > max) {
        while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
            max--;
        s[max] = '\0';
    }
    return s;
}

static void on_message(line_ctx *c, const rf_line_info *li, const rf_event *ev)
{
    sess *s = c->s;
    thread *t = &s->th[c->ti];
    rf_jspan raw = rf_jstr_raw(ev->text);
    if (li->kind == RF_LK_USER) {
        /* A user turn ends the assistant's reasoning and starts context. */
        seq_close(c->x, s, c->ti, 1);
        if (!s->prompt && c->ti == 0 && !li->is_meta && raw.n && raw.p[0] != '<')
            s->prompt = decode_head(ev->text, 4096);
        rf_fhash_break(&t->ctx);
        rf_fhash_add(&t->ctx, raw.p, raw.n);
        t->ctx_text_chars += (int64_t)raw.n;
        return;
    }
    if (!t->seq_thinking && !t->seq_text)
        t->seq_line = c->line;
    t->seq_text++;
    t->seq_chars += (int64_t)raw.n;
    t->ctx_text_chars += (int64_t)raw.n;
    rf_fhash_break(&t->ctx);
    rf_fhash_add(&t->ctx, raw.p, raw.n);
    if (!s->first_text && c->ti == 0)
        s->first_text = decode_head(ev->text, 4096);
    comm_add(c->x, s, c->ti, c->line, raw);
}

static uint32_t msg_of(line_ctx *c, const rf_line_info *li)
{
    sess *s = c->s;
    uint64_t key = rf_jspan_type(li->msg_id) == RF_J_STRING
                       ? span_hash(li->msg_id, 0x6d)
                       : rf_mix64((uint64_t)c->line * 2654435761u + 1) | 1;
    uint32_t i;
    if (map_get(&s->msg_ix, key, &i))
        return i;
    GROW(s->msgs, s->nmsgs, s->msgs_cap);
    s->msgs[s->nmsgs] = (msg){c->ti, 0, -1, 0, 0, c->x->stats};
    map_put(&s->msg_ix, key, (uint32_t)s->nmsgs);
    return (uint32_t)s->nmsgs++;
}

static void plan_add_tool(rf_plan_rec *p, const char *name)
{
    size_t old = p->tools ? strlen(p->tools) : 0, n = strlen(name);
    p->tools = rf_xrealloc(p->tools, old + n + 2);
    if (old)
        p->tools[old++] = ',';
    memcpy(p->tools + old, name, n + 1);
}

static void on_tool_use(line_ctx *c, const rf_line_info *li, const rf_event *ev)
{
    rf_extractor *x = c->x;
    sess *s = c->s;
    thread *t = &s->th[c->ti];
    seq_close(x, s, c->ti, 0);

    rf_jspan name = rf_jstr_raw(ev->tool_name);
    if (!name.n)
        name = (rf_jspan){"(unnamed)", 9};
    int32_t tool = rf_vocab_id(&x->out.tools, name.p, name.n);

    /* the batch: every tool call of one API message */
    uint32_t mi = msg_of(c, li);
    msg *m = &s->msgs[mi];
    if (m->plan < 0) {
        rf_extract_out *o = &x->out;
        GROW(o->plans, o->nplans, o->plans_cap);
        o->plans[o->nplans] = (rf_plan_rec){s->group, (int32_t)c->ti, c->line,
                                            0, 0, 0, t->ctx_text_chars, NULL};
        m->plan = (int32_t)o->nplans++;
    }
    rf_plan_rec *p = &x->out.plans[m->plan];
    p->calls++;
    plan_add_tool(p, x->out.tools.names[tool]);
    int batch_pos = (int)m->calls++;

    /* the row: context before this call */
    rf_rows *r = &x->out.tool_rows;
    size_t row = rf_rows_begin(r, tool, s->group, x->stats->index);
    x->stats->rows[0]++;
    rows_add_fhash(r, &t->ctx);
    row_context(x, r, row, s, t, c->ti, batch_pos, c->gap_s, t->prev, x->o.k_prev);

    /* redundancy: the same tool with byte-identical input again */
    uint64_t ih = span_hash(ev->input, (uint64_t)tool * 0x9e3779b97f4a7c15ULL);
    uint32_t seen;
    if (map_get(&s->inputs, ih, &seen))
        s->redundant++;
    else
        map_put(&s->inputs, ih, 1);

    GROW(s->calls, s->ncalls, s->calls_cap);
    call *cl = &s->calls[s->ncalls];
    memset(cl, 0, sizeof *cl);
    cl->thread = c->ti;
    cl->tool = tool;
    cl->ord = t->calls;
    cl->plan = m->plan;
    if (rf_jspan_type(ev->input) == RF_J_OBJECT &&
        ((name.n == 4 && !memcmp(name.p, "Task", 4)) ||
         (name.n == 5 && !memcmp(name.p, "Agent", 5)))) {
        rf_jspan pr = rf_jstr_raw(rf_jobj_get(ev->input, "prompt"));
        if (pr.n)
            cl->prompt = span_hash(pr, 0x70);
    }
    if (ev->tool_id.n)
        map_put(&s->call_ix, span_hash(ev->tool_id, 0x74), (uint32_t)s->ncalls);
    s->ncalls++;

    memmove(t->prev + 1, t->prev, 7 * sizeof t->prev[0]);
    t->prev[0] = tool;
    t->calls++;
    s->tool_calls++;
    x->stats->tool_calls++;
}

static void error_row(line_ctx *c, thread *t, const call *cl, const rf_event *ev,
                      size_t *row_out)
{
    rf_extractor *x = c->x;
    rf_fhash *h = &x->tmp;
    rf_fhash_reset(h);
    /* the error text: a string, or the text blocks of a list */
    if (rf_jspan_type(ev->text) == RF_J_STRING) {
        rf_jspan raw = rf_jstr_raw(ev->text);
        rf_fhash_add(h, raw.p, raw.n < 65536 ? raw.n : 65536);
    } else if (rf_jspan_type(ev->text) == RF_J_ARRAY) {
        rf_jiter it = rf_jiter_begin(ev->text);
        rf_jspan b;
        while (rf_jarr_next(&it, &b)) {
            rf_jspan raw = rf_jstr_raw(rf_jobj_get(b, "text"));
            rf_fhash_break(h);
            rf_fhash_add(h, raw.p, raw.n < 65536 ? raw.n : 65536);
        }
    }
    rf_rows *r = &x->out.error_rows;
    size_t row = rf_rows_begin(r, 0, c->s->group, x->stats->index);
    x->stats->rows[1]++;
    rows_add_fhash(r, h);
    /* slot 0 is the failed tool, then the tools before it */
    int32_t prev[9];
    prev[0] = cl ? cl->tool : -1;
    memcpy(prev + 1, t->prev, 8 * sizeof prev[0]);
    row_context(x, r, row, c->s, t, c->ti, 0, c->gap_s, prev, x->o.k_prev);
    *row_out = row;
}

static void on_result(line_ctx *c, const rf_event *ev)
{
    rf_extractor *x = c->x;
    sess *s = c->s;
    uint32_t ci;
    call *cl = NULL;
    if (ev->tool_id.n && map_get(&s->call_ix, span_hash(ev->tool_id, 0x74), &ci))
        cl = &s->calls[ci];
    else if (!x->stats->unpaired_results++)
        x->stats->first_unpaired_line = (uint64_t)c->line;
    /* Results belong to the thread of their call. */
    uint32_t ti = cl ? cl->thread : c->ti;
    thread *t = &s->th[ti];
    seq_close(x, s, ti, 1);
    rf_fhash_reset(&t->ctx);
    t->ctx_thinking_chars = t->ctx_text_chars = 0;
    t->ctx_thinking_blocks = 0;
    t->results++;
    t->last_failed = ev->is_error;
    if (cl) {
        cl->status = ev->is_error ? 2 : 1;
        if (cl->plan >= 0) {
            x->out.plans[cl->plan].results++;
            x->out.plans[cl->plan].errors += ev->is_error;
        }
    }
    if (ev->is_error) {
        t->errors++;
        s->tool_errors++;
        x->stats->tool_errors++;
        line_ctx c2 = *c;
        c2.ti = ti;
        size_t row;
        error_row(&c2, t, cl, ev, &row);
        rf_extract_out *o = &x->out;
        s->failures++;
        GROW(o->recs, o->nrecs, o->recs_cap);
        const char *tn = cl ? o->tools.names[cl->tool] : "(unpaired)";
        o->recs[o->nrecs] = (rf_recovery_rec){s->group, (int32_t)ti, c->line,
                                              rf_xstrdup(tn), 0, 0};
        if (cl) {
            GROW(t->pend, t->npend, t->pend_cap);
            t->pend[t->npend++] = (pend_failure){cl->tool, cl->ord, o->nrecs, row};
        }
        o->nrecs++;
        return;
    }
    if (!cl)
        return;
    /* A success of the same tool recovers every earlier failure of it. */
    for (size_t i = 0; i < t->npend;) {
        pend_failure *pf = &t->pend[i];
        if (pf->tool == cl->tool && cl->ord > pf->call_ord) {
            rf_recovery_rec *rr = &x->out.recs[pf->rec];
            rr->recovered = 1;
            rr->steps = (int32_t)(cl->ord - pf->call_ord - 1);
            x->out.error_rows.label[pf->row] = 1;
            s->recovered++;
            t->pend[i] = t->pend[--t->npend];
        } else
            i++;
    }
}

static void on_event(void *ud, const rf_line_info *li, const rf_event *ev)
{
    line_ctx *c = ud;
    c->x->stats->events[ev->type]++;
    c->s->events++;
    switch (ev->type) {
    case RF_EV_THINKING:
        on_thinking(c, ev);
        break;
    case RF_EV_MESSAGE:
        on_message(c, li, ev);
        break;
    case RF_EV_TOOL_USE:
        on_tool_use(c, li, ev);
        break;
    case RF_EV_FUNCTION_RESULT:
        on_result(c, ev);
        break;
    case RF_EV_ERROR:
        if (ev->block < 0 && li->kind != RF_LK_RESULT)
            c->s->api_errors++;
        break;
    default:
        break;
    }
}

/* "2026-02-10T21:54:53.186Z" -> ms since the epoch; -1 if not ISO-8601. */
static int64_t parse_ts(rf_jspan v)
{
    rf_jspan r = rf_jstr_raw(v);
    if (r.n < 19)
        return -1;
    int f[6];
    static const int at[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};
    for (int i = 0; i < 6; i++) {
        f[i] = 0;
        for (int j = 0; j < len[i]; j++) {
            char ch = r.p[at[i] + j];
            if (ch < '0' || ch > '9')
                return -1;
            f[i] = f[i] * 10 + (ch - '0');
        }
    }
    int ms = 0;
    if (r.n > 20 && r.p[19] == '.')
        for (size_t k = 0, scale = 100; k < 3 && 20 + k < r.n; k++, scale /= 10) {
            char ch = r.p[20 + k];
            if (ch < '0' || ch > '9')
                break;
            ms += (ch - '0') * (int)scale;
        }
    /* days from civil (Howard Hinnant) */
    int y = f[0] - (f[1] <= 2);
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153u * (unsigned)(f[1] + (f[1] > 2 ? -3 : 9)) + 2) / 5 + (unsigned)f[2] - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + (int64_t)doe - 719468;
    return ((days * 24 + f[3]) * 60 + f[4]) * 60000 + (int64_t)f[5] * 1000 + ms;
}

/* Which thread a line belongs to; links subagents to their Task call. */
static uint32_t thread_of(rf_extractor *x, sess *s, const rf_line_info *li)
{
    if (!li->sidechain)
        return 0;
    if (li->parent_tool_use_id.n) {   /* stream-json subagent line */
        uint32_t ti = thread_get(x, s, span_hash(li->parent_tool_use_id, 0x50));
        thread *t = &s->th[ti];
        uint32_t ci;
        t->kind = RF_THREAD_STREAM;
        if (t->parent < 0 &&
            map_get(&s->call_ix, span_hash(li->parent_tool_use_id, 0x74), &ci)) {
            t->parent = (int32_t)ci;
            s->calls[ci].linked = 1;
        }
        return ti;
    }
    if (li->agent_id.n) {             /* projects subagent file */
        uint64_t a = span_hash(li->agent_id, 0x41);
        uint32_t ti = thread_get(x, s, a);
        s->th[ti].agent = a;
        s->th[ti].kind = RF_THREAD_FILE;
        return ti;
    }
    /* inline sidechain (1.0.x): follow the uuid chain */
    uint32_t ti;
    if (li->parent_uuid.n && rf_jspan_type(li->parent_uuid) == RF_J_STRING &&
        map_get(&s->uuid_th, span_hash(li->parent_uuid, 0x55), &ti)) {
        /* known chain */
    } else {
        uint64_t key = li->uuid.n ? span_hash(li->uuid, 0x53) : (uint64_t)s->nth + 7;
        ti = thread_get(x, s, key);
        s->th[ti].kind = RF_THREAD_INLINE;
        /* link to the Task call whose prompt this chain starts with,
         * else to the oldest Task call not linked yet */
        rf_jspan pr = rf_jstr_raw(li->content);
        uint64_t ph = pr.n && rf_jspan_type(li->content) == RF_J_STRING
                          ? span_hash(pr, 0x70) : 0;
        call *best = NULL;
        for (size_t i = 0; i < s->ncalls; i++) {
            call *cl = &s->calls[i];
            if (!cl->prompt || cl->linked)
                continue;
            if (cl->prompt == ph) {
                best = cl;
                break;
            }
            if (!best)
                best = cl;
        }
        if (best) {
            best->linked = 1;
            s->th[ti].parent = (int32_t)(best - s->calls);
        }
    }
    if (li->uuid.n)
        map_put(&s->uuid_th, span_hash(li->uuid, 0x55), ti);
    return ti;
}

static void note_agent_link(sess *s, rf_jspan agent_id, rf_jspan tool_use_id)
{
    uint32_t ci;
    if (rf_jspan_type(agent_id) != RF_J_STRING || rf_jspan_type(tool_use_id) != RF_J_STRING)
        return;
    if (map_get(&s->call_ix, span_hash(tool_use_id, 0x74), &ci))
        map_put(&s->agent_call, span_hash(agent_id, 0x41), ci);
}

static void sess_finalize(rf_extractor *x, sess *s);

static sess *session_of(rf_extractor *x, const rf_line_info *li)
{
    rf_jspan id = rf_jstr_raw(li->session);
    if (!id.n) {
        if (x->cur)
            return x->cur;
        /* Lines without a session before any with one: only the lines that
         * carry conversation start an anonymous session (named by file). */
        if (li->kind != RF_LK_ASSISTANT && li->kind != RF_LK_USER &&
            li->kind != RF_LK_RESULT)
            return NULL;
        id = (rf_jspan){x->stats->path, strlen(x->stats->path)};
    }
    uint64_t key = span_hash(id, 0x5e);
    if (x->cur && x->cur->key == key)
        return x->cur;
    sess *s = sess_find(x, key);
    if (s)
        s->closing = 0;   /* e.g. its subagent file, given as its own input */
    else {
        /* A new session ends those whose unit is over, and those open in
         * this file (concatenated logs). */
        for (size_t i = 0; i < x->nopen;) {
            if (x->open[i]->closing || x->open[i]->last_stats == x->stats) {
                sess *old = x->open[i];
                x->open[i] = x->open[--x->nopen];
                sess_finalize(x, old);
            } else
                i++;
        }
        s = sess_new(x, key, id.p, id.n);
    }
    return s;
}

static void count_event(void *ud, const rf_line_info *li, const rf_event *ev)
{
    rf_file_stats *st = ud;
    (void)li;
    st->events[ev->type]++;
}

void rf_extract_line(rf_extractor *x, rf_jspan obj, uint64_t lineno)
{
    rf_file_stats *st = x->stats;
    rf_line_info li;
    if (rf_jspan_type(obj) == RF_J_ARRAY) {
        /* `--output-format json --verbose`: one array of messages */
        st->top_level_arrays++;
        rf_jiter it = rf_jiter_begin(obj);
        rf_jspan el;
        while (rf_jarr_next(&it, &el))
            if (rf_jspan_type(el) == RF_J_OBJECT)
                rf_extract_line(x, el, lineno);
        return;
    }
    rf_line_info_parse(obj, &li);
    st->votes[li.dialect]++;
    if (li.sidechain)
        st->sidechain_lines++;
    count_span(&st->types, li.type);
    if (li.kind == RF_LK_RESULT)
        count_span(&st->results, li.subtype);
    else
        st->result_only = 0;
    if (li.kind == RF_LK_SYSTEM)
        count_span(&st->system, li.subtype);
    if (!known_type(li.type))
        st->unknown_types++;

    sess *s = session_of(x, &li);
    if (!s) {
        /* no session yet: still count the events */
        uint64_t *blocks = li.kind == RF_LK_ASSISTANT || li.kind == RF_LK_USER
                               ? st->blocks : NULL;
        rf_events_map(&li, count_event, st, blocks);
        return;
    }
    if (s->last_stats != st) {
        s->last_stats = st;
        st->sessions++;
    }
    x->cur = s;

    line_ctx c = {x, s, 0, (int64_t)lineno, 0.0};
    int64_t ts = parse_ts(li.timestamp);
    if (ts >= 0) {
        if (s->first_ms < 0)
            s->first_ms = ts;
        if (s->last_ms >= 0 && ts >= s->last_ms) {
            s->gap_sum += ts - s->last_ms;
            s->gap_n++;
            c.gap_s = (double)(ts - s->last_ms) / 1000.0;
        }
        if (ts > s->last_ms)
            s->last_ms = ts;
    }

    switch (li.kind) {
    case RF_LK_RESULT:
        s->has_result = 1;
        s->result_error = li.is_error;
        free(s->outcome);
        s->outcome = li.subtype.n ? rf_jspan_decode_str(li.subtype, NULL) : NULL;
        s->turns = (int64_t)rf_jnum(li.num_turns, -1);
        s->duration_ms = (int64_t)rf_jnum(li.duration_ms, -1);
        s->cost = rf_jnum(li.cost, NAN);
        break;
    case RF_LK_PROGRESS:
        if (rf_jspan_type(li.data) == RF_J_OBJECT) {
            static const char *const keys[] = {"type", "agentId"};
            rf_jspan v[2];
            rf_jobj_get_many(li.data, keys, v, 2);
            if (rf_jstr_eq(v[0], "agent_progress"))
                note_agent_link(s, v[1], li.parent_tool_use_id_progress);
        }
        break;
    case RF_LK_USER:
        if (rf_jspan_type(li.tool_use_result) == RF_J_OBJECT &&
            rf_jspan_type(li.content) == RF_J_ARRAY) {
            rf_jspan a = rf_jobj_get(li.tool_use_result, "agentId");
            if (a.n) {
                rf_jiter it = rf_jiter_begin(li.content);
                rf_jspan b;
                if (rf_jarr_next(&it, &b))
                    note_agent_link(s, a, rf_jobj_get(b, "tool_use_id"));
            }
        }
        break;
    default:
        break;
    }

    if (li.kind == RF_LK_ASSISTANT || li.kind == RF_LK_USER) {
        c.ti = thread_of(x, s, &li);
        if (li.kind == RF_LK_ASSISTANT) {
            uint32_t mi = msg_of(&c, &li);
            rf_jspan u[2];
            static const char *const ukeys[] = {"input_tokens", "output_tokens"};
            rf_jobj_get_many(li.usage, ukeys, u, 2);
            /* usage is a running snapshot per message: keep the last */
            if (u[0].n)
                s->msgs[mi].in_tok = (int64_t)rf_jnum(u[0], 0);
            if (u[1].n)
                s->msgs[mi].out_tok = (int64_t)rf_jnum(u[1], 0);
        }
        rf_events_map(&li, on_event, &c, st->blocks);
    } else
        rf_events_map(&li, on_event, &c, NULL);
}

void rf_extract_begin_file(rf_extractor *x, rf_file_stats *stats)
{
    x->stats = stats;
    x->cur = NULL;
    stats->result_only = 1;
}

void rf_extract_end_file(rf_extractor *x)
{
    x->cur = NULL;
}

static void thread_free(thread *t)
{
    rf_fhash_free(&t->ctx);
    free(t->pend);
}

static void sess_free(sess *s)
{
    for (size_t i = 0; i < s->nth; i++)
        thread_free(&s->th[i]);
    free(s->th);
    map_free(&s->th_ix);
    free(s->calls);
    map_free(&s->call_ix);
    free(s->msgs);
    map_free(&s->msg_ix);
    map_free(&s->inputs);
    map_free(&s->uuid_th);
    map_free(&s->agent_call);
    free(s->id);
    free(s->prompt);
    free(s->first_text);
    free(s->outcome);
    free(s);
}

static void sess_finalize(rf_extractor *x, sess *s)
{
    rf_extract_out *o = &x->out;
    int64_t batched = 0, in_tok = 0, out_tok = 0, main_msgs = 0;
    for (size_t i = 0; i < s->nmsgs; i++) {
        msg *m = &s->msgs[i];
        if (m->calls >= 2) {
            batched += m->calls;
            m->stats->parallel_batches++;
        }
        if (m->calls > m->stats->max_batch)
            m->stats->max_batch = m->calls;
        in_tok += m->in_tok;
        out_tok += m->out_tok;
        main_msgs += m->thread == 0;
    }
    int32_t subagents = 0;
    for (size_t i = 0; i < s->nth; i++) {
        thread *t = &s->th[i];
        seq_close(x, s, (uint32_t)i, 2);
        for (size_t j = 0; j < t->npend; j++)
            o->recs[t->pend[j].rec].steps = (int32_t)(t->calls - t->pend[j].call_ord - 1);
        uint32_t ci;
        if (i > 0 && t->parent < 0 && t->agent && map_get(&s->agent_call, t->agent, &ci)) {
            t->parent = (int32_t)ci;
            s->calls[ci].linked = 1;
        }
        subagents += i > 0;
        GROW(o->threads, o->nthreads, o->threads_cap);
        o->threads[o->nthreads++] = (rf_thread_rec){
            s->group, (int32_t)i, t->kind, t->parent,
            t->parent >= 0 ? (int32_t)s->calls[t->parent].tool : -1,
            (int32_t)t->calls, (int32_t)t->errors};
    }
    rf_signal_rec *g = &o->sigs[s->group];
    g->session_id = rf_xstrdup(s->id);
    g->file = rf_xstrdup(s->main_stats ? s->main_stats->path : "");
    g->outcome = rf_xstrdup(s->outcome ? s->outcome : s->has_result ? "(none)" : "no_result");
    g->is_error = s->result_error || (s->outcome && strncmp(s->outcome, "error", 5) == 0);
    g->turns = (int32_t)(s->turns >= 0 ? s->turns : main_msgs);
    g->duration_ms = s->duration_ms >= 0 ? s->duration_ms
                     : s->first_ms >= 0 ? s->last_ms - s->first_ms : 0;
    g->cost_usd = s->cost;
    g->tool_calls = (int32_t)s->tool_calls;
    g->redundant_calls = (int32_t)s->redundant;
    g->batch_utilization = s->tool_calls ? (double)batched / (double)s->tool_calls : 0;
    g->tool_errors = (int32_t)s->tool_errors;
    g->tool_error_rate = s->tool_calls ? (double)s->tool_errors / (double)s->tool_calls : 0;
    g->recoveries = (int32_t)s->failures;
    g->recovered = (int32_t)s->recovered;
    g->recovery_rate = s->failures ? (double)s->recovered / (double)s->failures : 0;
    g->api_errors = (int32_t)s->api_errors;
    g->thinking_blocks = (int32_t)s->thinking_blocks;
    g->thinking_chars = s->thinking_chars;
    g->reasoning_depth = s->tool_calls ? (double)s->thinking_blocks / (double)s->tool_calls
                                       : (double)s->thinking_blocks;
    g->thinking_chars_per_action = s->tool_calls ? (double)s->thinking_chars / (double)s->tool_calls
                                                 : (double)s->thinking_chars;
    g->mean_gap_ms = s->gap_n ? (double)s->gap_sum / (double)s->gap_n : NAN;
    g->subagents = subagents;
    g->messages = (int32_t)s->nmsgs;
    g->input_tokens = in_tok;
    g->output_tokens = out_tok;
    const char *prompt = s->prompt ? s->prompt : s->first_text;
    g->first_prompt_head = rf_xstrdup(prompt ? prompt : "");
    if (strlen(g->first_prompt_head) > 160)
        g->first_prompt_head[160] = '\0';
    g->category = prompt ? rf_category_of(prompt, strlen(prompt)) : -1;
    g->level = rf_level_of(g);
    if (x->cur == s)
        x->cur = NULL;
    sess_free(s);
}

void rf_extract_end_unit(rf_extractor *x)
{
    for (size_t i = 0; i < x->nopen; i++)
        x->open[i]->closing = 1;
    x->cur = NULL;
}

void rf_extract_finish(rf_extractor *x)
{
    while (x->nopen)
        sess_finalize(x, x->open[--x->nopen]);
    x->cur = NULL;
}

rf_extract_out *rf_extract_result(rf_extractor *x)
{
    return &x->out;
}

size_t rf_extract_open_sessions(const rf_extractor *x)
{
    return x->nopen;
}

void rf_extract_free(rf_extractor *x)
{
    if (!x)
        return;
    rf_extract_finish(x);
    rf_extract_out *o = &x->out;
    rf_rows_free(&o->tool_rows);
    rf_rows_free(&o->error_rows);
    rf_vocab_free(&o->tools);
    free(o->seqs);
    for (size_t i = 0; i < o->nplans; i++)
        free(o->plans[i].tools);
    free(o->plans);
    for (size_t i = 0; i < o->nrecs; i++)
        free(o->recs[i].tool);
    free(o->recs);
    free(o->comms);
    free(o->threads);
    for (size_t i = 0; i < o->nsigs; i++) {
        free(o->sigs[i].session_id);
        free(o->sigs[i].file);
        free(o->sigs[i].outcome);
        free(o->sigs[i].first_prompt_head);
    }
    free(o->sigs);
    rf_fhash_free(&x->tmp);
    free(x->open);
    free(x);
}
