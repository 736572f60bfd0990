/* rf_extract: sessions, event tables and dataset rows from events; see
 * rf_extract.h. */
#include "rf_extract.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rf_buf.h"
#include "rf_dataset.h"

/* ---- small hashing helpers ---- */

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}
#define FNV0 0xcbf29ce484222325ULL

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* Hash of a span's raw bytes; never 0 (0 marks empty slots and "none"). */
static uint64_t span_hash(rf_jspan v, uint64_t salt)
{
    uint64_t h = fnv1a(v.p, v.n, FNV0 ^ salt);
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
                size_t j = mix64(m->k[i]) & (g.cap - 1);
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
    size_t j = mix64(key) & (m->cap - 1);
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

/* ---- feature hashing ---- */

void rf_fhash_init(rf_fhash *h, uint32_t dim)
{
    memset(h, 0, sizeof *h);
    h->dim = dim;
    h->v = rf_xcalloc(dim, sizeof *h->v);
    h->touched = rf_xmalloc(dim * sizeof *h->touched);
}

void rf_fhash_free(rf_fhash *h)
{
    free(h->v);
    free(h->touched);
    memset(h, 0, sizeof *h);
}

static void fh_bump(rf_fhash *h, uint64_t x)
{
    uint32_t i = (uint32_t)(mix64(x) % h->dim);
    if (h->v[i] == 0.0f)
        h->touched[h->ntouched++] = i;
    h->v[i] += 1.0f;
}

uint32_t rf_fhash_index(const char *tok, size_t n, uint32_t dim)
{
    return (uint32_t)(mix64(fnv1a(tok, n, FNV0)) % dim);
}

void rf_fhash_token(rf_fhash *h, const char *tok, size_t n)
{
    uint64_t t = fnv1a(tok, n, FNV0);
    fh_bump(h, t);
    if (h->prev)
        fh_bump(h, h->prev * 31 + t + 0x9e3779b97f4a7c15ULL);
    h->prev = t;
}

void rf_fhash_break(rf_fhash *h)
{
    h->prev = 0;
}

static int tok_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

void rf_fhash_add(rf_fhash *h, const char *s, size_t n)
{
    char tok[64];
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' && i + 1 < n) {
            /* JSON escapes are separators: \n, \", \uXXXX */
            i += s[i + 1] == 'u' ? 6 : 2;
            continue;
        }
        if (!tok_byte(c)) {
            i++;
            continue;
        }
        size_t len = 0;
        while (i < n && tok_byte((unsigned char)s[i])) {
            if (len < sizeof tok) {
                unsigned char b = (unsigned char)s[i];
                tok[len++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
            }
            i++;
        }
        rf_fhash_token(h, tok, len);
    }
}

void rf_fhash_reset(rf_fhash *h)
{
    for (uint32_t i = 0; i < h->ntouched; i++)
        h->v[h->touched[i]] = 0.0f;
    h->ntouched = 0;
    h->prev = 0;
}

/* ---- rows ---- */

static const char *const nf_names[RF_NF_COUNT] = {
    "log_call_index", "log_thread_call_index", "log_errors_so_far",
    "last_result_failed", "in_subagent", "log_ctx_thinking_chars",
    "log_ctx_text_chars", "ctx_thinking_blocks", "batch_position",
    "log_seconds_since_prev", "error_rate_so_far", "log_event_index"
};

const char *rf_num_feature_name(int i)
{
    return i >= 0 && i < RF_NF_COUNT ? nf_names[i] : "?";
}

size_t rf_rows_n_features(const rf_rows *r)
{
    return r->hash_dim + (size_t)r->k_prev * RF_TOOL_SLOTS + RF_NF_COUNT;
}

static void rows_init(rf_rows *r, uint32_t dim, int k_prev)
{
    memset(r, 0, sizeof *r);
    r->hash_dim = dim;
    r->k_prev = k_prev;
}

static void rows_nz(rf_rows *r, uint32_t idx, float val)
{
    GROW(r->nz_idx, r->nnz, r->nz_cap);
    r->nz_val = rf_xrealloc(r->nz_val, r->nz_cap * sizeof *r->nz_val);
    r->nz_idx[r->nnz] = idx;
    r->nz_val[r->nnz] = val;
    r->nnz++;
}

/* Start a row: returns its index; caller adds sparse entries then nums. */
static size_t rows_begin(rf_rows *r, int32_t label, int32_t group, int32_t file)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->nz_off = rf_xrealloc(r->nz_off, (r->cap + 1) * sizeof *r->nz_off);
        r->num = rf_xrealloc(r->num, r->cap * RF_NF_COUNT * sizeof *r->num);
        r->label = rf_xrealloc(r->label, r->cap * sizeof *r->label);
        r->group = rf_xrealloc(r->group, r->cap * sizeof *r->group);
        r->file = rf_xrealloc(r->file, r->cap * sizeof *r->file);
    }
    size_t i = r->n++;
    r->nz_off[i] = r->nnz;
    r->nz_off[i + 1] = r->nnz;
    r->label[i] = label;
    r->group[i] = group;
    r->file[i] = file;
    memset(r->num + i * RF_NF_COUNT, 0, RF_NF_COUNT * sizeof *r->num);
    return i;
}

static void rows_end(rf_rows *r, size_t i)
{
    r->nz_off[i + 1] = r->nnz;
}

void rf_rows_densify(const rf_rows *r, size_t i, float *out)
{
    size_t nf = rf_rows_n_features(r);
    memset(out, 0, nf * sizeof *out);
    for (uint64_t j = r->nz_off[i]; j < r->nz_off[i + 1]; j++) {
        uint32_t k = r->nz_idx[j];
        /* word counts are damped; tool slots are 0/1 */
        out[k] = k < r->hash_dim ? log1pf(r->nz_val[j]) : r->nz_val[j];
    }
    memcpy(out + nf - RF_NF_COUNT, r->num + i * RF_NF_COUNT,
           RF_NF_COUNT * sizeof *out);
}

void rf_rows_free(rf_rows *r)
{
    free(r->nz_off);
    free(r->nz_idx);
    free(r->nz_val);
    free(r->num);
    free(r->label);
    free(r->group);
    free(r->file);
    memset(r, 0, sizeof *r);
}

/* ---- vocabulary ---- */

int32_t rf_vocab_id(rf_vocab *v, const char *s, size_t n)
{
    if ((v->n + 1) * 2 > v->nslots) {
        size_t ns = v->nslots ? 2 * v->nslots : 64;
        int32_t *slots = rf_xmalloc(ns * sizeof *slots);
        for (size_t i = 0; i < ns; i++)
            slots[i] = -1;
        for (size_t i = 0; i < v->n; i++) {
            size_t j = fnv1a(v->names[i], strlen(v->names[i]), FNV0) & (ns - 1);
            while (slots[j] >= 0)
                j = (j + 1) & (ns - 1);
            slots[j] = (int32_t)i;
        }
        free(v->slots);
        v->slots = slots;
        v->nslots = ns;
    }
    size_t j = fnv1a(s, n, FNV0) & (v->nslots - 1);
    while (v->slots[j] >= 0) {
        const char *name = v->names[v->slots[j]];
        if (strlen(name) == n && memcmp(name, s, n) == 0)
            return v->slots[j];
        j = (j + 1) & (v->nslots - 1);
    }
    GROW(v->names, v->n, v->cap);
    char *copy = rf_xmalloc(n + 1);
    memcpy(copy, s, n);
    copy[n] = '\0';
    v->names[v->n] = copy;
    v->slots[j] = (int32_t)v->n;
    return (int32_t)v->n++;
}

void rf_vocab_free(rf_vocab *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->names[i]);
    free(v->names);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

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

static int word_start_match(const char *s, size_t n, size_t i, const char *w)
{
    size_t m = strlen(w);
    if (i + m > n || (i > 0 && tok_byte((unsigned char)s[i - 1])))
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
    if (s->tool_calls == 0 && s->turns <= 1 && s->subagents == 0)
        return RF_LEVEL_TRIVIAL;
    int score = bucket(s->tool_calls, call_edges, 4) +
                bucket(s->turns, turn_edges, 3) +
                bucket(s->tool_errors, err_edges, 3) +
                (s->subagents > 2 ? 2 : s->subagents);
    if (score <= 3)
        return RF_LEVEL_EASY;
    if (score <= 6)
        return RF_LEVEL_MEDIUM;
    if (score <= 9)
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

static void stats_subtype(rf_file_stats *s, rf_jspan subtype)
{
    rf_jspan raw = rf_jstr_raw(subtype);
    const char *name = raw.n ? raw.p : "(none)";
    size_t n = raw.n ? raw.n : 6;
    for (size_t i = 0; i < s->nresults; i++)
        if (strlen(s->results[i].name) == n && !memcmp(s->results[i].name, name, n)) {
            s->results[i].n++;
            return;
        }
    s->results = rf_xrealloc(s->results, (s->nresults + 1) * sizeof *s->results);
    char *copy = rf_xmalloc(n + 1);
    memcpy(copy, name, n);
    copy[n] = '\0';
    s->results[s->nresults].name = copy;
    s->results[s->nresults].n = 1;
    s->nresults++;
}

void rf_file_stats_free(rf_file_stats *s)
{
    for (size_t i = 0; i < s->nresults; i++)
        free(s->results[i].name);
    free(s->results);
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
    int64_t events, api_errors;
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
    rf_vocab outcome_names;
};

rf_extractor *rf_extract_new(const rf_extract_opts *o)
{
    rf_extractor *x = rf_xcalloc(1, sizeof *x);
    x->o.hash_dim = o && o->hash_dim ? o->hash_dim : 4096;
    x->o.k_prev = o && o->k_prev > 0 ? o->k_prev : 3;
    if (x->o.k_prev > 8)
        x->o.k_prev = 8;
    rows_init(&x->out.tool_rows, x->o.hash_dim, x->o.k_prev);
    rows_init(&x->out.error_rows, x->o.hash_dim, x->o.k_prev);
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
            rows_nz(r, r->hash_dim + (uint32_t)k * RF_TOOL_SLOTS + b, 1.0f);
        }
    rows_end(r, row);
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
        rows_nz(r, h->touched[i], h->v[h->touched[i]]);
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

static char *decode_head(rf_jspan v, size_t max)
{
    rf_jspan cut = v;
    /* Decode at most max raw bytes: cut inside the string, then close it. */
    if (rf_jspan_type(v) != RF_J_STRING)
        return NULL;
    if (v.n <= max + 2)
        return rf_jspan_decode_str(v, NULL);
    cut.n = max;
    while (cut.n > 1 && (cut.p[cut.n - 1] == '\\' || ((unsigned char)cut.p[cut.n - 1] & 0xC0) == 0x80))
        cut.n--;
    /* drop a partial escape or UTF-8 sequence, then add the closing quote */
    char *tmp = rf_xmalloc(cut.n + 2);
    memcpy(tmp, cut.p, cut.n);
    size_t n = cut.n;
    for (size_t back = 1; back <= 6 && back < n; back++)
        if (tmp[n - back] == '\\') {
            n -= back;
            break;
        }
    if (n > 1 && ((unsigned char)tmp[n - 1] & 0xC0) == 0xC0)
        n--;
    tmp[n] = '"';
    rf_jspan s2 = {tmp, n + 1};
    char *out = rf_jspan_decode_str(s2, NULL);
    free(tmp);
    return out;
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
                       : mix64((uint64_t)c->line * 2654435761u + 1) | 1;
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
    size_t row = rows_begin(r, tool, s->group, x->stats->index);
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
    size_t row = rows_begin(r, 0, c->s->group, x->stats->index);
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
    if (!s) {
        /* Another session starting inside a file ends the ones that were
         * open in this file (concatenated logs). */
        for (size_t i = 0; i < x->nopen;) {
            if (x->open[i]->last_stats == x->stats) {
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
    if (li.kind == RF_LK_RESULT)
        stats_subtype(st, li.subtype);
    else
        st->result_only = 0;
    if (li.kind == RF_LK_OTHER && rf_jspan_type(li.type) != RF_J_STRING)
        st->unknown_types++;

    sess *s = session_of(x, &li);
    if (!s) {
        /* no session yet: still count the events */
        uint64_t *blocks = li.kind == RF_LK_ASSISTANT || li.kind == RF_LK_USER
                               ? st->blocks : NULL;
        rf_event_fn fn = NULL;
        size_t n = rf_events_map(&li, fn, NULL, blocks);
        st->events[RF_EV_SYSTEM] += n;
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
    int32_t recovered = 0, recoveries = 0;
    for (size_t i = 0; i < o->nrecs; i++)
        if (o->recs[i].session == s->group) {
            recoveries++;
            recovered += o->recs[i].recovered;
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
    g->recoveries = recoveries;
    g->recovered = recovered;
    g->recovery_rate = recoveries ? (double)recovered / recoveries : 0;
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
    rf_extract_end_unit(x);
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
    rf_vocab_free(&x->outcome_names);
    free(x->open);
    free(x);
}
