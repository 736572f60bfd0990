/* rf_extract_text: reasoning and messages. Thinking blocks and assistant
 * text form sequences (closed by a tool call, a user turn or the end of the
 * thread); assistant text is a comm record; user text, thinking and
 * assistant text feed the hashed context of the next tool-selection row. */
#include <stdlib.h>
#include <string.h>

#include "ml/rf_extract_impl.h"

void rf_extract_seq_close(rf_extractor *x, sess *s, uint32_t ti, int why)
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

void rf_extract_on_thinking(line_ctx *c, const rf_event *ev)
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
        rf_toolfeat_assistant_text(&t->tf, raw.p, raw.n);
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

void rf_extract_on_message(line_ctx *c, const rf_line_info *li, const rf_event *ev)
{
    sess *s = c->s;
    thread *t = &s->th[c->ti];
    rf_jspan raw = rf_jstr_raw(ev->text);
    if (li->kind == RF_LK_USER) {
        /* A user turn ends the assistant's reasoning and starts context. */
        rf_extract_seq_close(c->x, s, c->ti, 1);
        if (!s->prompt && c->ti == 0 && !li->is_meta && raw.n && raw.p[0] != '<')
            s->prompt = decode_head(ev->text, 4096);
        rf_fhash_break(&t->ctx);
        rf_fhash_add(&t->ctx, raw.p, raw.n);
        t->ctx_text_chars += (int64_t)raw.n;
        rf_toolfeat_user_text(&t->tf, raw.p, raw.n);
        return;
    }
    if (!t->seq_thinking && !t->seq_text)
        t->seq_line = c->line;
    t->seq_text++;
    t->seq_chars += (int64_t)raw.n;
    t->ctx_text_chars += (int64_t)raw.n;
    rf_fhash_break(&t->ctx);
    rf_fhash_add(&t->ctx, raw.p, raw.n);
    rf_toolfeat_assistant_text(&t->tf, raw.p, raw.n);
    if (!s->first_text && c->ti == 0)
        s->first_text = decode_head(ev->text, 4096);
    comm_add(c->x, s, c->ti, c->line, raw);
}

