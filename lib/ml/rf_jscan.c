/* rf_jscan: validating JSON span scanner; see rf_jscan.h. */
#include "ml/rf_jscan.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "base/rf_buf.h"

/* Eight bytes at a time: a string run can skip a word when it holds no
 * quote, no backslash, no control byte and no byte >= 0x80. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t load64(const char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static inline int word_is_plain(uint64_t w)
{
    uint64_t quote = w ^ (ONES * '"');
    uint64_t bslash = w ^ (ONES * '\\');
    uint64_t t = ((quote - ONES) & ~quote) | ((bslash - ONES) & ~bslash) |
                 (w - ONES * 0x20) | w;
    return (t & HIGHS) == 0;
}

static inline int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_ws((unsigned char)*p))
        p++;
    return p;
}

/* Length of the UTF-8 sequence at p (>= 0x80 lead), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;   /* overlong */
        else if (c == 0xED)
            hi = 0x9F;   /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;   /* > U+10FFFF */
    } else
        return 0;
    if ((size_t)(end - p) <= need)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i <= need; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return need + 1;
}

static int is_simple_escape(char e)
{
    switch (e) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return 1;
    default:
        return 0;
    }
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Skip the plain run at p: bytes that are not '"', '\\', controls or
 * non-ASCII. Signed compare: bytes >= 0x80 are negative, so "< 0x20"
 * catches controls and non-ASCII in one go. */
static inline const char *skip_plain(const char *p, const char *end)
{
#ifdef __SSE2__
    const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\');
    const __m128i sp = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, b)),
                                 _mm_cmplt_epi8(x, sp));
        int bits = _mm_movemask_epi8(m);
        if (bits)
            return p + __builtin_ctz((unsigned)bits);
        p += 16;
    }
#endif
    while (end - p >= 8 && word_is_plain(load64(p)))
        p += 8;
    return p;
}

/* p at the opening quote; returns the byte after the closing quote. */
static const char *scan_string(const char *p, const char *end, const char **reason,
                               const char **at)
{
    p++;
    for (;;) {
        p = skip_plain(p, end);
        if (p >= end) {
            *reason = "truncated (unexpected end of line)";
            return *at = p, NULL;
        }
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            if (end - p < 2) {
                *reason = "truncated (unexpected end of line)";
                return *at = p, NULL;
            }
            char e = p[1];
            if (e == 'u') {
                if (end - p < 6) {
                    *reason = "truncated (unexpected end of line)";
                    return *at = p, NULL;
                }
                if (hexval(p[2]) < 0 || hexval(p[3]) < 0 ||
                    hexval(p[4]) < 0 || hexval(p[5]) < 0) {
                    *reason = "bad \\u escape";
                    return *at = p, NULL;
                }
                p += 6;
            } else if (is_simple_escape(e)) {
                p += 2;
            } else {
                *reason = "bad escape in string";
                return *at = p, NULL;
            }
        } else if (c < 0x20) {
            *reason = "control character in string";
            return *at = p, NULL;
        } else if (c >= 0x80) {
            size_t k = utf8_seq((const unsigned char *)p, (const unsigned char *)end);
            if (!k) {
                *reason = "invalid UTF-8";
                return *at = p, NULL;
            }
            p += k;
        } else
            p++;
    }
}

static const char *scan_digits(const char *p, const char *end)
{
    const char *s = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p > s ? p : NULL;
}

static const char *scan_number(const char *p, const char *end, const char **reason,
                               const char **at)
{
    if (*p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (!(p = scan_digits(p, end)))
        goto bad;
    if (p < end && *p == '.' && !(p = scan_digits(p + 1, end)))
        goto bad;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!(p = scan_digits(p, end)))
            goto bad;
    }
    return p;
bad:
    *reason = "bad number";
    *at = p;
    return NULL;
}

/* An object key and its ':'; returns the position after the colon. */
static const char *scan_key(const char *p, const char *end, const char **reason,
                            const char **at)
{
    if (p == end || *p != '"') {
        *reason = p == end ? "truncated (unexpected end of line)" : "expected a key";
        *at = p;
        return NULL;
    }
    if (!(p = scan_string(p, end, reason, at)))
        return NULL;
    p = skip_ws(p, end);
    if (p == end || *p != ':') {
        *reason = p == end ? "truncated (unexpected end of line)" : "expected ':'";
        *at = p;
        return NULL;
    }
    return p + 1;
}

static const char *scan_literal(const char *p, const char *end, const char *lit,
                                const char **reason, const char **at)
{
    size_t n = strlen(lit);
    if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0) {
        *reason = "invalid literal";
        *at = p;
        return NULL;
    }
    return p + n;
}

/* A scalar or the opening of a container at p. Containers push onto stack. */
int rf_jscan_validate(const char *p0, size_t n, rf_jspan *value,
                      const char **reason, size_t *where)
{
    const char *p = p0, *end = p0 + n;
    char stack[RF_JSCAN_MAX_DEPTH];   /* '{' or '[' */
    int depth = 0;
    const char *why = NULL, *at = NULL;

    p = skip_ws(p, end);
    const char *start = p;
    if (p == end) {
        why = "empty";
        goto fail;
    }
    for (;;) {
        /* expect a value */
        p = skip_ws(p, end);
        if (p == end) {
            why = "truncated (unexpected end of line)";
            goto fail;
        }
        switch (*p) {
        case '{':
        case '[':
            if (depth == RF_JSCAN_MAX_DEPTH) {
                why = "nesting too deep";
                goto fail;
            }
            stack[depth++] = *p;
            p = skip_ws(p + 1, end);
            if (p < end && *p == (stack[depth - 1] == '{' ? '}' : ']')) {
                depth--;
                p++;
                break;
            }
            if (stack[depth - 1] == '{') {
                if (!(p = scan_key(p, end, &why, &at)))
                    goto fail;
            }
            continue;   /* first element's value */
        case '"':
            if (!(p = scan_string(p, end, &why, &at)))
                goto fail;
            break;
        case 't': if (!(p = scan_literal(p, end, "true", &why, &at))) goto fail; break;
        case 'f': if (!(p = scan_literal(p, end, "false", &why, &at))) goto fail; break;
        case 'n': if (!(p = scan_literal(p, end, "null", &why, &at))) goto fail; break;
        default:
            if (*p == '-' || (*p >= '0' && *p <= '9')) {
                if (!(p = scan_number(p, end, &why, &at)))
                    goto fail;
            } else {
                why = depth ? "unexpected character" : "not JSON";
                goto fail;
            }
        }
        /* after a value: close containers or move to the next element */
        for (;;) {
            if (depth == 0)
                goto done;
            p = skip_ws(p, end);
            if (p == end) {
                why = "truncated (unexpected end of line)";
                goto fail;
            }
            char close = stack[depth - 1] == '{' ? '}' : ']';
            if (*p == close) {
                depth--;
                p++;
                continue;
            }
            if (*p != ',') {
                why = "expected ',' or a closing bracket";
                goto fail;
            }
            p = skip_ws(p + 1, end);
            if (stack[depth - 1] == '{') {
                if (!(p = scan_key(p, end, &why, &at)))
                    goto fail;
            }
            break;
        }
    }
done:
    value->p = start;
    value->n = (size_t)(p - start);
    p = skip_ws(p, end);
    if (p != end) {
        why = "trailing characters after the JSON value";
        goto fail;
    }
    return 0;
fail:
    *reason = why;
    if (!at)
        at = p;
    *where = (size_t)(at - p0);
    value->p = NULL;
    value->n = 0;
    return -1;
}

int rf_jspan_type(rf_jspan v)
{
    if (!v.n)
        return RF_J_ABSENT;
    switch (v.p[0]) {
    case '{': return RF_J_OBJECT;
    case '[': return RF_J_ARRAY;
    case '"': return RF_J_STRING;
    case 't': return RF_J_TRUE;
    case 'f': return RF_J_FALSE;
    case 'n': return RF_J_NULL;
    default: return RF_J_NUMBER;
    }
}

/* Skipping already-validated text: find the next quote with memchr (the
 * libc's vector loop) and check that it is not escaped. */
static const char *skip_string(const char *p, const char *end)
{
    p++;
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            return end;
        const char *b = q;
        while (b > p && b[-1] == '\\')
            b--;
        if (((q - b) & 1) == 0)
            return q + 1;
        p = q + 1;
    }
}

static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;
    do {
        if (p >= end)
            return end;
        char c = *p;
        if (c == '"')
            p = skip_string(p, end);
        else if (c == '{' || c == '[')
            depth++, p++;
        else if (c == '}' || c == ']')
            depth--, p++;
        else if (depth > 0 || c == ',' || is_ws((unsigned char)c) || c == ':')
            p++;
        else {
            /* scalar at top level */
            while (p < end && *p != ',' && *p != '}' && *p != ']' && !is_ws((unsigned char)*p))
                p++;
            return p;
        }
    } while (depth > 0);
    return p;
}

rf_jiter rf_jiter_begin(rf_jspan c)
{
    rf_jiter it = {NULL, NULL};
    if (c.n >= 2 && (c.p[0] == '{' || c.p[0] == '[')) {
        it.p = c.p + 1;
        it.end = c.p + c.n - 1;   /* the closing bracket */
    }
    return it;
}

static rf_jspan span_of(const char *p, const char *end)
{
    rf_jspan v = {p, (size_t)(skip_value(p, end) - p)};
    return v;
}

int rf_jobj_next(rf_jiter *it, rf_jspan *key, rf_jspan *val)
{
    if (!it->p)
        return 0;
    const char *p = skip_ws(it->p, it->end);
    if (p < it->end && *p == ',')
        p = skip_ws(p + 1, it->end);
    if (p >= it->end || *p != '"')
        return 0;
    const char *kend = skip_string(p, it->end);
    key->p = p + 1;
    key->n = (size_t)(kend - p - 2);
    p = skip_ws(kend, it->end);
    if (p < it->end && *p == ':')
        p = skip_ws(p + 1, it->end);
    *val = span_of(p, it->end);
    it->p = val->p + val->n;
    return val->n > 0;
}

int rf_jarr_next(rf_jiter *it, rf_jspan *val)
{
    if (!it->p)
        return 0;
    const char *p = skip_ws(it->p, it->end);
    if (p < it->end && *p == ',')
        p = skip_ws(p + 1, it->end);
    if (p >= it->end)
        return 0;
    *val = span_of(p, it->end);
    it->p = val->p + val->n;
    return val->n > 0;
}

static int key_is(rf_jspan k, const char *key, size_t klen)
{
    return k.n == klen && memcmp(k.p, key, klen) == 0;
}

rf_jspan rf_jobj_get(rf_jspan obj, const char *key)
{
    rf_jspan none = {NULL, 0}, k, v;
    if (rf_jspan_type(obj) != RF_J_OBJECT)
        return none;
    size_t klen = strlen(key);
    rf_jiter it = rf_jiter_begin(obj);
    while (rf_jobj_next(&it, &k, &v))
        if (key_is(k, key, klen))
            return v;
    return none;
}

void rf_jobj_get_many(rf_jspan obj, const char *const *keys, rf_jspan *vals,
                      size_t n)
{
    rf_jspan k, v;
    for (size_t i = 0; i < n; i++)
        vals[i].p = NULL, vals[i].n = 0;
    if (rf_jspan_type(obj) != RF_J_OBJECT)
        return;
    rf_jiter it = rf_jiter_begin(obj);
    while (rf_jobj_next(&it, &k, &v))
        for (size_t i = 0; i < n; i++)
            if (!vals[i].n && k.n == strlen(keys[i]) &&
                memcmp(k.p, keys[i], k.n) == 0) {
                vals[i] = v;
                break;
            }
}

rf_jspan rf_jstr_raw(rf_jspan v)
{
    rf_jspan r = {NULL, 0};
    if (rf_jspan_type(v) == RF_J_STRING && v.n >= 2) {
        r.p = v.p + 1;
        r.n = v.n - 2;
    }
    return r;
}

int rf_jstr_eq(rf_jspan v, const char *lit)
{
    if (rf_jspan_type(v) != RF_J_STRING)
        return 0;
    size_t n = strlen(lit);
    return v.n == n + 2 && memcmp(v.p + 1, lit, n) == 0;
}

int rf_jbool(rf_jspan v)
{
    return rf_jspan_type(v) == RF_J_TRUE;
}

double rf_jnum(rf_jspan v, double def)
{
    if (rf_jspan_type(v) != RF_J_NUMBER || v.n > 64)
        return def;
    char tmp[65];
    memcpy(tmp, v.p, v.n);
    tmp[v.n] = '\0';
    return strtod(tmp, NULL);
}

char *rf_jspan_decode_str(rf_jspan v, size_t *len)
{
    if (rf_jspan_type(v) != RF_J_STRING)
        return NULL;
    rf_jspan raw = rf_jstr_raw(v);
    if (!memchr(raw.p, '\\', raw.n)) {
        char *s = rf_xmalloc(raw.n + 1);
        memcpy(s, raw.p, raw.n);
        s[raw.n] = '\0';
        if (len)
            *len = raw.n;
        return s;
    }
    json_t *j = rf_jspan_load(v);
    if (!j)
        return NULL;
    size_t n = json_string_length(j);
    char *s = rf_xmalloc(n + 1);
    memcpy(s, json_string_value(j), n);
    s[n] = '\0';
    json_decref(j);
    if (len)
        *len = n;
    return s;
}

json_t *rf_jspan_load(rf_jspan v)
{
    if (!v.n)
        return NULL;
    json_error_t e;
    return json_loadb(v.p, v.n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
}
