/* rf_extract: the extractor itself; see rf_extract.h. Each line is walked
 * here: its session (opened, or closing others), its thread (subagents
 * linked to their Task call), its API message, and then its events, handed
 * to rf_extract_text.c and rf_extract_rows.c. */
#include "ml/rf_extract.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "ml/rf_extract_impl.h"

/* ---- the map the session state is indexed by ---- */

void rf_u64map_free(rf_u64map *m)
{
    free(m->k);
    free(m->v);
    memset(m, 0, sizeof *m);
}

static uint32_t *map_slot(rf_u64map *m, uint64_t key, int insert)
{
    if (insert && (m->n + 1) * 2 > m->cap) {
        rf_u64map g = {0};
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
        rf_u64map_free(m);
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

int rf_u64map_get(const rf_u64map *m, uint64_t key, uint32_t *out)
{
    uint32_t *s = map_slot((rf_u64map *)m, key, 0);
    if (s)
        *out = *s;
    return s != NULL;
}

void rf_u64map_put(rf_u64map *m, uint64_t key, uint32_t v)
{
    *map_slot(m, key, 1) = v;
}

/* ---- sessions and threads ---- */

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
    if (rf_u64map_get(&s->th_ix, key, &i))
        return i;
    GROW(s->th, s->nth, s->th_cap);
    thread *t = &s->th[s->nth];
    memset(t, 0, sizeof *t);
    t->key = key;
    t->parent = -1;
    rf_fhash_init(&t->ctx, x->o.hash_dim);
    for (int k = 0; k < 8; k++)
        t->prev[k] = -1;
    t->last_row = t->last_err_row = -1;
    rf_toolfeat_init(&t->tf, x->o.hash_dim);
    rf_u64map_put(&s->th_ix, key, (uint32_t)s->nth);
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

static void thread_free(thread *t)
{
    rf_fhash_free(&t->ctx);
    rf_toolfeat_free(&t->tf);
    free(t->pend);
}

void rf_extract_sess_free(sess *s)
{
    for (size_t i = 0; i < s->nth; i++)
        thread_free(&s->th[i]);
    free(s->th);
    rf_u64map_free(&s->th_ix);
    free(s->calls);
    rf_u64map_free(&s->call_ix);
    free(s->msgs);
    rf_u64map_free(&s->msg_ix);
    rf_u64map_free(&s->inputs);
    rf_u64map_free(&s->uuid_th);
    rf_u64map_free(&s->agent_call);
    free(s->id);
    free(s->prompt);
    free(s->first_text);
    free(s->outcome);
    free(s);
}

/* ---- the line walker ---- */

/* The API message of a line: by message.id, else one per line. */
uint32_t rf_extract_msg_of(line_ctx *c, const rf_line_info *li)
{
    sess *s = c->s;
    uint64_t key = rf_jspan_type(li->msg_id) == RF_J_STRING
                       ? span_hash(li->msg_id, 0x6d)
                       : rf_mix64((uint64_t)c->line * 2654435761u + 1) | 1;
    uint32_t i;
    if (rf_u64map_get(&s->msg_ix, key, &i))
        return i;
    GROW(s->msgs, s->nmsgs, s->msgs_cap);
    s->msgs[s->nmsgs] = (msg){c->ti, 0, -1, 0, 0, c->x->stats};
    rf_u64map_put(&s->msg_ix, key, (uint32_t)s->nmsgs);
    return (uint32_t)s->nmsgs++;
}

static void on_event(void *ud, const rf_line_info *li, const rf_event *ev)
{
    line_ctx *c = ud;
    c->x->stats->events[ev->type]++;
    c->s->events++;
    switch (ev->type) {
    case RF_EV_THINKING:
        rf_extract_on_thinking(c, ev);
        break;
    case RF_EV_MESSAGE:
        rf_extract_on_message(c, li, ev);
        break;
    case RF_EV_TOOL_USE:
        rf_extract_on_tool_use(c, li, ev);
        break;
    case RF_EV_FUNCTION_RESULT:
        rf_extract_on_result(c, ev);
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
            rf_u64map_get(&s->call_ix, span_hash(li->parent_tool_use_id, 0x74), &ci)) {
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
        rf_u64map_get(&s->uuid_th, span_hash(li->parent_uuid, 0x55), &ti)) {
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
        rf_u64map_put(&s->uuid_th, span_hash(li->uuid, 0x55), ti);
    return ti;
}

static void note_agent_link(sess *s, rf_jspan agent_id, rf_jspan tool_use_id)
{
    uint32_t ci;
    if (rf_jspan_type(agent_id) != RF_J_STRING || rf_jspan_type(tool_use_id) != RF_J_STRING)
        return;
    if (rf_u64map_get(&s->call_ix, span_hash(tool_use_id, 0x74), &ci))
        rf_u64map_put(&s->agent_call, span_hash(agent_id, 0x41), ci);
}

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
                rf_extract_sess_finalize(x, old);
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
    rf_extract_count_line(st, &li);

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

    if (li.kind == RF_LK_ASSISTANT || li.kind == RF_LK_USER)
        c.ti = thread_of(x, s, &li);
    static const char *const wd_keys[] = {"cwd", "gitBranch"};
    rf_jspan wd[2];
    rf_jobj_get_many(li.obj, wd_keys, wd, 2);
    rf_toolfeat_line(&s->th[c.ti].tf, wd[0], wd[1]);
    if (li.kind == RF_LK_ASSISTANT || li.kind == RF_LK_USER) {
        if (li.kind == RF_LK_ASSISTANT) {
            uint32_t mi = rf_extract_msg_of(&c, &li);
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

void rf_extract_end_unit(rf_extractor *x)
{
    for (size_t i = 0; i < x->nopen; i++)
        x->open[i]->closing = 1;
    x->cur = NULL;
}

void rf_extract_finish(rf_extractor *x)
{
    while (x->nopen)
        rf_extract_sess_finalize(x, x->open[--x->nopen]);
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
