/* rf_features: feature hashing, sparse rows and label vocabularies; see
 * rf_features.h. */
#include "ml/rf_features.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"

uint64_t rf_fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}

uint64_t rf_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* ---- feature hashing ---- */

void rf_fhash_init(rf_fhash *h, uint32_t dim)
{
    memset(h, 0, sizeof *h);
    h->dim = dim;
    h->v = rf_xcalloc(dim, sizeof *h->v);
    h->touched = rf_xmalloc(dim * sizeof *h->touched);
}

void rf_fhash_init_salted(rf_fhash *h, uint32_t dim, uint64_t salt)
{
    rf_fhash_init(h, dim);
    h->salt = salt;
}

void rf_fhash_free(rf_fhash *h)
{
    free(h->v);
    free(h->touched);
    memset(h, 0, sizeof *h);
}

static void fh_bump(rf_fhash *h, uint64_t x)
{
    uint32_t i = (uint32_t)(rf_mix64(h->salt ? x ^ rf_mix64(h->salt) : x) % h->dim);
    if (h->v[i] == 0.0f)
        h->touched[h->ntouched++] = i;
    h->v[i] += 1.0f;
}

uint32_t rf_fhash_index(const char *tok, size_t n, uint32_t dim)
{
    return (uint32_t)(rf_mix64(rf_fnv1a(tok, n, RF_FNV0)) % dim);
}

void rf_fhash_token(rf_fhash *h, const char *tok, size_t n)
{
    uint64_t t = rf_fnv1a(tok, n, RF_FNV0);
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

/* ---- tool slots and outcomes ---- */

/* Claude Code's built-in tools, in a fixed order: never reorder, only
 * append (up to RF_TOOL_KNOWN), or old datasets change meaning. */
static const char *const known_tools[] = {
    "Bash", "Read", "Edit", "Write", "Grep", "Glob", "TodoWrite", "Task", "Agent",
    "WebFetch", "WebSearch", "MultiEdit", "NotebookEdit", "NotebookRead", "LS",
    "BashOutput", "KillBash", "KillShell", "ExitPlanMode", "EnterPlanMode",
    "AskUserQuestion", "TaskOutput", "TaskStop", "Skill", "SlashCommand", "TodoRead",
    "ListMcpResourcesTool", "ReadMcpResourceTool", "ToolSearch", "LSP",
};
#define N_KNOWN (sizeof known_tools / sizeof *known_tools)
_Static_assert(N_KNOWN <= RF_TOOL_KNOWN, "known tools must fit their slots");

uint32_t rf_tool_slot(const char *name, size_t n)
{
    for (uint32_t i = 0; i < N_KNOWN; i++)
        if (strlen(known_tools[i]) == n && memcmp(known_tools[i], name, n) == 0)
            return i;
    return RF_TOOL_KNOWN + rf_fhash_index(name, n, RF_TOOL_SLOTS - RF_TOOL_KNOWN);
}

const char *rf_tool_slot_name(uint32_t slot)
{
    return slot < N_KNOWN ? known_tools[slot] : slot < RF_TOOL_KNOWN ? "unused" : "hashed";
}

static const char *const outcome_names[RF_OUTCOME_SLOTS] = {
    "ok", "error", "pending", "size_le100", "size_le1k", "size_le10k", "size_le100k",
    "size_gt100k"
};

const char *rf_outcome_name(int i)
{
    return i >= 0 && i < RF_OUTCOME_SLOTS ? outcome_names[i] : "?";
}

int rf_outcome_size_bucket(uint64_t bytes)
{
    return bytes <= 100 ? RF_OUT_SIZE_100 : bytes <= 1000 ? RF_OUT_SIZE_1K
           : bytes <= 10000 ? RF_OUT_SIZE_10K : bytes <= 100000 ? RF_OUT_SIZE_100K
                            : RF_OUT_SIZE_MORE;
}

/* ---- rows ---- */

static const char *const nf_names[RF_NF_COUNT] = {
    "log_call_index", "log_thread_call_index", "log_errors_so_far",
    "last_result_failed", "in_subagent", "log_ctx_thinking_chars",
    "log_ctx_text_chars", "ctx_thinking_blocks", "batch_position",
    "log_seconds_since_prev", "error_rate_so_far", "log_event_index",
    "prev_in_batch", "log_todo_total", "todo_done_frac", "todo_active_pos",
    "log_calls_since_todo", "cwd_changed", "on_git_branch"
};

const char *rf_num_feature_name(int i)
{
    return i >= 0 && i < RF_NF_COUNT ? nf_names[i] : "?";
}

size_t rf_rows_n_features(const rf_rows *r)
{
    return r->hash_dim + (size_t)r->k_prev * (RF_TOOL_SLOTS + RF_OUTCOME_SLOTS) + RF_NF_COUNT;
}

void rf_rows_init(rf_rows *r, uint32_t dim, int k_prev)
{
    memset(r, 0, sizeof *r);
    r->hash_dim = dim;
    r->k_prev = k_prev;
}

void rf_rows_add(rf_rows *r, uint32_t idx, float val)
{
    if (r->nnz == r->nz_cap) {
        r->nz_cap = r->nz_cap ? 2 * r->nz_cap : 1024;
        r->nz_idx = rf_xrealloc(r->nz_idx, r->nz_cap * sizeof *r->nz_idx);
        r->nz_val = rf_xrealloc(r->nz_val, r->nz_cap * sizeof *r->nz_val);
    }
    r->nz_idx[r->nnz] = idx;
    r->nz_val[r->nnz] = val;
    r->nnz++;
}

size_t rf_rows_begin(rf_rows *r, int32_t label, int32_t group, int32_t file)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->nz_off = rf_xrealloc(r->nz_off, (r->cap + 1) * sizeof *r->nz_off);
        r->num = rf_xrealloc(r->num, r->cap * RF_NF_COUNT * sizeof *r->num);
        r->label = rf_xrealloc(r->label, r->cap * sizeof *r->label);
        r->group = rf_xrealloc(r->group, r->cap * sizeof *r->group);
        r->prev_row = rf_xrealloc(r->prev_row, r->cap * sizeof *r->prev_row);
        r->file = rf_xrealloc(r->file, r->cap * sizeof *r->file);
    }
    size_t i = r->n++;
    r->nz_off[i] = r->nnz;
    r->nz_off[i + 1] = r->nnz;
    r->label[i] = label;
    r->group[i] = group;
    r->prev_row[i] = -1;
    r->file[i] = file;
    memset(r->num + i * RF_NF_COUNT, 0, RF_NF_COUNT * sizeof *r->num);
    return i;
}

void rf_rows_end(rf_rows *r, size_t i)
{
    r->nz_off[i + 1] = r->nnz;
}

void rf_rows_densify(const rf_rows *r, size_t i, float *out)
{
    size_t nf = rf_rows_n_features(r);
    memset(out, 0, nf * sizeof *out);
    /* the sources of one row's words (context, user message, assistant
     * text) may share a bucket: counts add up, then are damped; tool and
     * outcome slots are 0/1 */
    for (uint64_t j = r->nz_off[i]; j < r->nz_off[i + 1]; j++)
        out[r->nz_idx[j]] += r->nz_val[j];
    for (uint32_t k = 0; k < r->hash_dim; k++)
        out[k] = log1pf(out[k]);
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
    free(r->prev_row);
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
            size_t j = rf_fnv1a(v->names[i], strlen(v->names[i]), RF_FNV0) & (ns - 1);
            while (slots[j] >= 0)
                j = (j + 1) & (ns - 1);
            slots[j] = (int32_t)i;
        }
        free(v->slots);
        v->slots = slots;
        v->nslots = ns;
    }
    size_t j = rf_fnv1a(s, n, RF_FNV0) & (v->nslots - 1);
    while (v->slots[j] >= 0) {
        const char *name = v->names[v->slots[j]];
        if (strlen(name) == n && memcmp(name, s, n) == 0)
            return v->slots[j];
        j = (j + 1) & (v->nslots - 1);
    }
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 16;
        v->names = rf_xrealloc(v->names, v->cap * sizeof *v->names);
    }
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
