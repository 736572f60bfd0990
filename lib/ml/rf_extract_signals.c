/* rf_extract_signals: closing a session. Its threads become thread records
 * (subagents linked to their Task), its counts become the signal record of
 * its group, with a category from the prompt and a difficulty level; then
 * its per-session state is freed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml/rf_dataset.h"
#include "ml/rf_extract_impl.h"

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

/* ---- closing a session ---- */

void rf_extract_sess_finalize(rf_extractor *x, sess *s)
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
        rf_extract_seq_close(x, s, (uint32_t)i, 2);
        for (size_t j = 0; j < t->npend; j++)
            o->recs[t->pend[j].rec].steps = (int32_t)(t->calls - t->pend[j].call_ord - 1);
        uint32_t ci;
        if (i > 0 && t->parent < 0 && t->agent && rf_u64map_get(&s->agent_call, t->agent, &ci)) {
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
    rf_extract_sess_free(s);
}

