/* rf_s3xml: a bounded tag extractor for S3's XML responses; see rf_s3xml.h. */
#include "store/rf_s3xml.h"

#include <string.h>

static int is_name_end(char c)
{
    return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Find `<tag` followed by a name delimiter, in [p, end). */
static const char *find_open(const char *p, const char *end, const char *tag, size_t tl)
{
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt)
            return NULL;
        if ((size_t)(end - lt) > tl + 1 && !memcmp(lt + 1, tag, tl) &&
            is_name_end(lt[1 + tl]))
            return lt;
        p = lt + 1;
    }
    return NULL;
}

/* Find `</tag>` (whitespace before '>' allowed) in [p, end). Elements of the
 * same name do not nest in S3's documents, so the first one closes it. */
static const char *find_close(const char *p, const char *end, const char *tag,
                              size_t tl, const char **after)
{
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt)
            return NULL;
        const char *q = lt + 2 + tl;
        if ((size_t)(end - lt) >= tl + 3 && lt[1] == '/' && !memcmp(lt + 2, tag, tl)) {
            while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
                q++;
            if (q < end && *q == '>') {
                *after = q + 1;
                return lt;
            }
        }
        p = lt + 1;
    }
    return NULL;
}

int rf_s3xml_next(rf_s3xml *x, const char *tag, rf_s3xml *inner)
{
    size_t tl = strlen(tag);
    const char *open = find_open(x->p, x->end, tag, tl);
    if (!open)
        return 0;
    const char *gt = memchr(open, '>', (size_t)(x->end - open));
    if (!gt)
        return 0;
    if (gt[-1] == '/') { /* <Tag/> or <Tag attr="..."/> */
        inner->p = inner->end = gt + 1;
        x->p = gt + 1;
        return 1;
    }
    const char *after;
    const char *close = find_close(gt + 1, x->end, tag, tl, &after);
    if (!close)
        return 0;
    inner->p = gt + 1;
    inner->end = close;
    x->p = after;
    return 1;
}

int rf_s3xml_text(const rf_s3xml *x, const char *tag, rf_buf *out)
{
    rf_s3xml cur = *x, in;
    rf_buf_reset(out);
    rf_buf_add(out, "", 0);
    if (!rf_s3xml_next(&cur, tag, &in))
        return 0;
    rf_s3xml_unescape(out, in.p, (size_t)(in.end - in.p));
    return 1;
}

static void add_utf8(rf_buf *out, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD; /* invalid reference: the replacement character */
    if (cp < 0x80) {
        b[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6), b[1] = (char)(0x80 | (cp & 63)), n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 63));
        b[2] = (char)(0x80 | (cp & 63)), n = 3;
    } else {
        b[0] = (char)(0xF0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 63));
        b[2] = (char)(0x80 | ((cp >> 6) & 63)), b[3] = (char)(0x80 | (cp & 63)), n = 4;
    }
    rf_buf_add(out, b, n);
}

/* Decode the reference starting at s ('&'); returns its length, 0 if it is
 * not a reference (the '&' is then copied literally). */
static size_t decode_ref(rf_buf *out, const char *s, size_t n)
{
    static const struct { const char *name; char c; } named[] = {
        {"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''},
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        size_t l = strlen(named[i].name);
        if (n > l && !memcmp(s + 1, named[i].name, l)) {
            rf_buf_add(out, &named[i].c, 1);
            return l + 1;
        }
    }
    if (n < 4 || s[1] != '#')
        return 0;
    int hex = s[2] == 'x' || s[2] == 'X';
    size_t i = hex ? 3 : 2;
    unsigned long cp = 0;
    size_t digits = 0;
    for (; i < n && digits < 8; i++, digits++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
              : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            break;
        cp = cp * (hex ? 16 : 10) + (unsigned long)d;
    }
    if (!digits || i >= n || s[i] != ';')
        return 0;
    add_utf8(out, cp);
    return i + 1;
}

void rf_s3xml_unescape(rf_buf *out, const char *s, size_t n)
{
    rf_buf_grow(out, n);
    size_t i = 0;
    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t run = amp ? (size_t)(amp - (s + i)) : n - i;
        rf_buf_add(out, s + i, run);
        i += run;
        if (i >= n)
            break;
        size_t used = decode_ref(out, s + i, n - i);
        if (!used) {
            rf_buf_add(out, "&", 1);
            used = 1;
        }
        i += used;
    }
}

void rf_s3xml_escape(rf_buf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': rf_buf_adds(out, "&amp;"); break;
        case '<': rf_buf_adds(out, "&lt;"); break;
        case '>': rf_buf_adds(out, "&gt;"); break;
        case '"': rf_buf_adds(out, "&quot;"); break;
        case '\'': rf_buf_adds(out, "&apos;"); break;
        default: rf_buf_add(out, s, 1);
        }
    }
}
