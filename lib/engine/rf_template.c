/* rf_template: `${{ ... }}` references and `when` expressions (see the
 * header for the language). */
#include "engine/rf_template.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OPEN "${{"
#define CLOSE "}}"

static int name_char(int c)
{
    return isalnum(c) || c == '_' || c == '-';
}

/* Split "a.b.c" (already trimmed) into at most 5 segments of name chars. */
static int split_segments(const char *s, size_t n, const char *seg[5],
                          size_t len[5], size_t *nseg)
{
    size_t k = 0, i = 0;
    while (i <= n) {
        size_t start = i;
        while (i < n && name_char((unsigned char)s[i]))
            i++;
        if (i == start || k == 5)
            return -1;
        seg[k] = s + start;
        len[k++] = i - start;
        if (i == n)
            break;
        if (s[i] != '.')
            return -1;
        i++;
        if (i == n)
            return -1;
    }
    *nseg = k;
    return 0;
}

static int seg_is(const char *seg, size_t len, const char *word)
{
    return strlen(word) == len && !memcmp(seg, word, len);
}

static int copy_name(char *dst, const char *src, size_t n, rf_err *err)
{
    if (n >= RF_REF_NAME_MAX)
        return rf_errf(err, RF_EINVAL, "name \"%.*s...\" is longer than %d characters",
                       20, src, RF_REF_NAME_MAX - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
    return 0;
}

#define REF_HELP "use params.NAME, item, item.KEY, index, steps.STEP.outputs.NAME, " \
                 "steps.STEP.metrics.NAME, prev.outputs.NAME, prev.metrics.NAME, run.id, " \
                 "workflow.status or workflow.failures"

int rf_ref_parse(const char *s, size_t n, rf_ref *r, rf_err *err)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    memset(r, 0, sizeof *r);
    const char *seg[5];
    size_t len[5], k;
    if (n == 0)
        return rf_errf(err, RF_EINVAL, "empty reference; " REF_HELP);
    if (split_segments(s, n, seg, len, &k) < 0)
        return rf_errf(err, RF_EINVAL, "malformed reference \"%.*s\"; " REF_HELP,
                       (int)(n > 60 ? 60 : n), s);
    if (seg_is(seg[0], len[0], "params") && k == 2) {
        r->kind = RF_REF_PARAM;
        return copy_name(r->key, seg[1], len[1], err);
    }
    if (seg_is(seg[0], len[0], "item") && k <= 2) {
        r->kind = RF_REF_ITEM;
        return k == 2 ? copy_name(r->key, seg[1], len[1], err) : 0;
    }
    if (seg_is(seg[0], len[0], "index") && k == 1) {
        r->kind = RF_REF_INDEX;
        return 0;
    }
    if (seg_is(seg[0], len[0], "run") && k == 2 && seg_is(seg[1], len[1], "id")) {
        r->kind = RF_REF_RUN_ID;
        return 0;
    }
    if (seg_is(seg[0], len[0], "workflow") && k == 2 &&
        (seg_is(seg[1], len[1], "status") || seg_is(seg[1], len[1], "failures"))) {
        r->kind = RF_REF_WORKFLOW;
        return copy_name(r->key, seg[1], len[1], err);
    }
    size_t at = 0;
    if (seg_is(seg[0], len[0], "steps") && k == 4) {
        if (copy_name(r->step, seg[1], len[1], err) < 0)
            return -1;
        at = 2;
    } else if (seg_is(seg[0], len[0], "prev") && k == 3) {
        r->prev = 1;
        at = 1;
    } else {
        return rf_errf(err, RF_EINVAL, "unknown reference \"%.*s\"; " REF_HELP,
                       (int)(n > 60 ? 60 : n), s);
    }
    if (seg_is(seg[at], len[at], "outputs"))
        r->kind = RF_REF_OUTPUT;
    else if (seg_is(seg[at], len[at], "metrics"))
        r->kind = RF_REF_METRIC;
    else
        return rf_errf(err, RF_EINVAL, "\"%.*s\": expected \"outputs\" or \"metrics\" "
                       "after the step name", (int)(n > 60 ? 60 : n), s);
    return copy_name(r->key, seg[at + 1], len[at + 1], err);
}

int rf_ref_is_dynamic(const rf_ref *r)
{
    return r->kind == RF_REF_OUTPUT || r->kind == RF_REF_METRIC;
}

/* Find the next "${{" at or after *pos; fills the reference and the span. */
static int next_ref(const char *s, size_t *pos, rf_ref *r, size_t *off, size_t *len,
                    rf_err *err)
{
    const char *p = strstr(s + *pos, OPEN);
    if (!p)
        return 0;
    *off = (size_t)(p - s);
    const char *body = p + strlen(OPEN);
    const char *end = strstr(body, CLOSE);
    if (!end)
        return rf_errf(err, RF_EINVAL, "unterminated \"${{\"; close it with \"}}\"");
    if (memchr(body, '{', (size_t)(end - body)))
        return rf_errf(err, RF_EINVAL, "nested \"{\" in a reference; write "
                       "${{ NAME }} with one reference per pair of braces");
    if (rf_ref_parse(body, (size_t)(end - body), r, err) < 0)
        return -1;
    *len = (size_t)(end + strlen(CLOSE) - p);
    *pos = *off + *len;
    return 1;
}

int rf_tpl_scan(const char *s, rf_tpl_visit_fn fn, void *ud, size_t *bad_off,
                rf_err *err)
{
    size_t pos = 0, off = 0, len = 0;
    rf_ref r;
    int rc;
    while ((rc = next_ref(s, &pos, &r, &off, &len, err)) > 0)
        if (fn && fn(ud, &r, off, len, err) < 0) {
            if (bad_off)
                *bad_off = off;
            return -1;
        }
    if (rc < 0 && bad_off)
        *bad_off = off;
    return rc;
}

int rf_tpl_render(const char *s, rf_tpl_lookup_fn fn, void *ud, rf_buf *out,
                  rf_err *err)
{
    size_t pos = 0, off = 0, len = 0, copied = 0;
    rf_ref r;
    int rc;
    rf_buf_grow(out, strlen(s));
    while ((rc = next_ref(s, &pos, &r, &off, &len, err)) > 0) {
        rf_buf_add(out, s + copied, off - copied);
        int got = fn(ud, &r, out, err);
        if (got < 0)
            return -1;
        if (got == 1)
            rf_buf_add(out, s + off, len);
        copied = off + len;
    }
    if (rc < 0)
        return -1;
    rf_buf_adds(out, s + copied);
    return 0;
}

int rf_tpl_single_ref(const char *s, rf_ref *r, rf_err *err)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= 5 && !strncmp(s, OPEN, 3) && !strncmp(s + n - 2, CLOSE, 2)) {
        if (memmem(s + 3, n - 5, OPEN, 3) || memmem(s + 3, n - 5, CLOSE, 2))
            return 0;
        return rf_ref_parse(s + 3, n - 5, r, err) < 0 ? -1 : 1;
    }
    if (!strncmp(s, "steps.", 6) || !strncmp(s, "prev.", 5))
        return rf_ref_parse(s, n, r, err) < 0 ? -1 : 1;
    return 0;
}

int rf_value_truthy(const char *v)
{
    while (isspace((unsigned char)*v))
        v++;
    if (!*v || !strcasecmp(v, "false") || !strcasecmp(v, "no"))
        return 0;
    char *end;
    double d = strtod(v, &end);
    if (end != v && !*end)
        return d != 0;
    return 1;
}

/* ---- `when` expressions: a recursive-descent evaluator over values ---- */

typedef struct expr {
    const char *s;
    size_t pos;
    rf_tpl_lookup_fn fn;
    void *ud;
    rf_err *err;
    int depth;
} expr;

typedef struct val {
    rf_buf text;
    int is_bool, b;      /* result of a comparison or a logical operator */
} val;

static void skip_ws(expr *e)
{
    while (isspace((unsigned char)e->s[e->pos]))
        e->pos++;
}

static int expr_fail(expr *e, const char *what)
{
    return rf_errf(e->err, RF_EINVAL, "in condition at column %zu: %s",
                   e->pos + 1, what);
}

static int truth(const val *v)
{
    return v->is_bool ? v->b : rf_value_truthy(v->text.data ? v->text.data : "");
}

static void set_bool(val *v, int b)
{
    rf_buf_reset(&v->text);
    v->is_bool = 1;
    v->b = b;
}

static int parse_or(expr *e, val *out);

static int parse_atom(expr *e, val *v)
{
    skip_ws(e);
    const char *p = e->s + e->pos;
    rf_buf_reset(&v->text);
    rf_buf_adds(&v->text, "");
    v->is_bool = 0;
    if (*p == '(') {
        if (++e->depth > 64)
            return expr_fail(e, "parentheses nested too deeply");
        e->pos++;
        if (parse_or(e, v) < 0)
            return -1;
        skip_ws(e);
        if (e->s[e->pos] != ')')
            return expr_fail(e, "expected \")\"");
        e->pos++;
        e->depth--;
        return 0;
    }
    if (!strncmp(p, OPEN, 3)) {
        const char *end = strstr(p + 3, CLOSE);
        if (!end)
            return expr_fail(e, "unterminated \"${{\"; close it with \"}}\"");
        rf_ref r;
        if (rf_ref_parse(p + 3, (size_t)(end - p - 3), &r, e->err) < 0)
            return -1;
        int rc = e->fn(e->ud, &r, &v->text, e->err);
        if (rc < 0)
            return -1;
        if (rc == 1)
            return rf_errf(e->err, RF_ESTATE, "condition refers to a value that "
                           "is not known yet (%.*s)", (int)(end + 2 - p), p);
        e->pos = (size_t)(end + 2 - e->s);
        return 0;
    }
    if (*p == '\'' || *p == '"') {
        const char *q = strchr(p + 1, *p);
        if (!q)
            return expr_fail(e, "unterminated string");
        rf_buf_add(&v->text, p + 1, (size_t)(q - p - 1));
        e->pos = (size_t)(q + 1 - e->s);
        return 0;
    }
    size_t n = 0;
    while (p[n] && (isalnum((unsigned char)p[n]) || strchr("._-+", p[n])))
        n++;
    if (!n)
        return expr_fail(e, *p ? "expected a value" : "expression ends too early");
    rf_buf_add(&v->text, p, n);
    e->pos += n;
    return 0;
}

static int parse_not(expr *e, val *v)
{
    skip_ws(e);
    if (e->s[e->pos] == '!' && e->s[e->pos + 1] != '=') {
        e->pos++;
        if (++e->depth > 64)
            return expr_fail(e, "too many \"!\"");
        if (parse_not(e, v) < 0)
            return -1;
        e->depth--;
        set_bool(v, !truth(v));
        return 0;
    }
    return parse_atom(e, v);
}

static int as_number(const val *v, double *d)
{
    if (v->is_bool) {
        *d = v->b;
        return 1;
    }
    const char *s = v->text.data ? v->text.data : "";
    char *end;
    *d = strtod(s, &end);
    return end != s && !*end;
}

static int compare(const val *a, const val *b, const char *op)
{
    double x, y;
    int c;
    if (as_number(a, &x) && as_number(b, &y))
        c = (x > y) - (x < y);
    else
        c = strcmp(a->is_bool ? (a->b ? "true" : "false") : a->text.data,
                   b->is_bool ? (b->b ? "true" : "false") : b->text.data);
    if (!strcmp(op, "=="))
        return c == 0;
    if (!strcmp(op, "!="))
        return c != 0;
    if (!strcmp(op, "<="))
        return c <= 0;
    if (!strcmp(op, ">="))
        return c >= 0;
    if (!strcmp(op, "<"))
        return c < 0;
    return c > 0;
}

static int parse_cmp(expr *e, val *v)
{
    if (parse_not(e, v) < 0)
        return -1;
    skip_ws(e);
    static const char *ops[] = {"==", "!=", "<=", ">=", "<", ">"};
    for (size_t i = 0; i < 6; i++) {
        size_t n = strlen(ops[i]);
        if (strncmp(e->s + e->pos, ops[i], n))
            continue;
        e->pos += n;
        val rhs = {RF_BUF_INIT, 0, 0};
        int rc = parse_not(e, &rhs);
        if (rc == 0)
            set_bool(v, compare(v, &rhs, ops[i]));
        rf_buf_free(&rhs.text);
        return rc;
    }
    return 0;
}

static int parse_and(expr *e, val *v)
{
    if (parse_cmp(e, v) < 0)
        return -1;
    for (;;) {
        skip_ws(e);
        if (strncmp(e->s + e->pos, "&&", 2))
            return 0;
        e->pos += 2;
        val rhs = {RF_BUF_INIT, 0, 0};
        int rc = parse_cmp(e, &rhs);
        if (rc == 0)
            set_bool(v, truth(v) && truth(&rhs));
        rf_buf_free(&rhs.text);
        if (rc < 0)
            return -1;
    }
}

static int parse_or(expr *e, val *v)
{
    if (parse_and(e, v) < 0)
        return -1;
    for (;;) {
        skip_ws(e);
        if (strncmp(e->s + e->pos, "||", 2))
            return 0;
        e->pos += 2;
        val rhs = {RF_BUF_INIT, 0, 0};
        int rc = parse_and(e, &rhs);
        if (rc == 0)
            set_bool(v, truth(v) || truth(&rhs));
        rf_buf_free(&rhs.text);
        if (rc < 0)
            return -1;
    }
}

int rf_expr_eval(const char *s, rf_tpl_lookup_fn fn, void *ud, int *out, rf_err *err)
{
    expr e = {s, 0, fn, ud, err, 0};
    val v = {RF_BUF_INIT, 0, 0};
    int rc = parse_or(&e, &v);
    if (rc == 0) {
        skip_ws(&e);
        if (e.s[e.pos])
            rc = expr_fail(&e, "unexpected text; join conditions with && or ||");
        else
            *out = truth(&v);
    }
    rf_buf_free(&v.text);
    return rc;
}
