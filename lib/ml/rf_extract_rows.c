/* rf_extract_rows: tool calls and their results. A call joins the plan of
 * its API message and makes a tool-selection row (the context before it);
 * a failed result makes an error-recovery row and a recovery record, which
 * a later success of the same tool marks recovered. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml/rf_extract_impl.h"

/* Shared context features of a row: previous tools and numbers. */
static void row_context(rf_extractor *x, rf_rows *r, size_t row, sess *s,
                        thread *t, uint32_t ti, int batch_pos, double gap_s,
                        const int32_t *prev, int nprev)
{
    const rf_vocab *tools = &x->out.tools;
    for (int k = 0; k < nprev && k < r->k_prev; k++)
        if (prev[k] >= 0) {
            const char *name = tools->names[prev[k]];
            uint32_t b = rf_tool_slot(name, strlen(name));
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

static void plan_add_tool(rf_plan_rec *p, const char *name)
{
    size_t old = p->tools ? strlen(p->tools) : 0, n = strlen(name);
    p->tools = rf_xrealloc(p->tools, old + n + 2);
    if (old)
        p->tools[old++] = ',';
    memcpy(p->tools + old, name, n + 1);
}

void rf_extract_on_tool_use(line_ctx *c, const rf_line_info *li, const rf_event *ev)
{
    rf_extractor *x = c->x;
    sess *s = c->s;
    thread *t = &s->th[c->ti];
    rf_extract_seq_close(x, s, c->ti, 0);

    rf_jspan name = rf_jstr_raw(ev->tool_name);
    if (!name.n)
        name = (rf_jspan){"(unnamed)", 9};
    int32_t tool = rf_vocab_id(&x->out.tools, name.p, name.n);

    /* the batch: every tool call of one API message */
    uint32_t mi = rf_extract_msg_of(c, li);
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
    r->prev_row[row] = (int32_t)t->last_row;
    t->last_row = (int64_t)row;
    x->stats->rows[0]++;
    rows_add_fhash(r, &t->ctx);
    rf_toolfeat_row(&t->tf, r, r->num + row * RF_NF_COUNT);   /* its own tool slots */
    row_context(x, r, row, s, t, c->ti, batch_pos, c->gap_s, t->prev, 0);
    rf_toolfeat_call(&t->tf, t->calls, name.p, name.n, batch_pos, ev->input);

    /* redundancy: the same tool with byte-identical input again */
    uint64_t ih = span_hash(ev->input, (uint64_t)tool * 0x9e3779b97f4a7c15ULL);
    uint32_t seen;
    if (rf_u64map_get(&s->inputs, ih, &seen))
        s->redundant++;
    else
        rf_u64map_put(&s->inputs, ih, 1);

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
        rf_u64map_put(&s->call_ix, span_hash(ev->tool_id, 0x74), (uint32_t)s->ncalls);
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
    r->prev_row[row] = (int32_t)t->last_err_row;
    t->last_err_row = (int64_t)row;
    x->stats->rows[1]++;
    rows_add_fhash(r, h);
    /* slot 0 is the failed tool, then the tools before it */
    int32_t prev[9];
    prev[0] = cl ? cl->tool : -1;
    memcpy(prev + 1, t->prev, 8 * sizeof prev[0]);
    row_context(x, r, row, c->s, t, c->ti, 0, c->gap_s, prev, x->o.k_prev);
    *row_out = row;
}

void rf_extract_on_result(line_ctx *c, const rf_event *ev)
{
    rf_extractor *x = c->x;
    sess *s = c->s;
    uint32_t ci;
    call *cl = NULL;
    if (ev->tool_id.n && rf_u64map_get(&s->call_ix, span_hash(ev->tool_id, 0x74), &ci))
        cl = &s->calls[ci];
    else if (!x->stats->unpaired_results++)
        x->stats->first_unpaired_line = (uint64_t)c->line;
    /* Results belong to the thread of their call. */
    uint32_t ti = cl ? cl->thread : c->ti;
    thread *t = &s->th[ti];
    rf_extract_seq_close(x, s, ti, 1);
    rf_fhash_reset(&t->ctx);
    t->ctx_thinking_chars = t->ctx_text_chars = 0;
    t->ctx_thinking_blocks = 0;
    t->results++;
    t->last_failed = ev->is_error;
    if (cl)
        rf_toolfeat_result(&t->tf, cl->ord, ev->is_error,
                           rf_jspan_type(ev->text) == RF_J_STRING ? rf_jstr_raw(ev->text).n
                                                                 : ev->text.n);
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

