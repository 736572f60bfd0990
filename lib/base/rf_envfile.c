/* rf_envfile: EnvironmentFile= parsing; see rf_envfile.h. */
#include "base/rf_envfile.h"

#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"

static int is_key_char(char c, int first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

/* The value from p to end (one line), unquoted, into v. */
static int parse_value(const char *name, int line, const char *p, const char *end,
                       const char *bol, rf_buf *v, rf_err *err)
{
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    if (p < end && (*p == '"' || *p == '\'')) {
        char q = *p;
        const char *s = p + 1;
        for (; s < end && *s != q; s++) {
            if (q == '"' && *s == '\\' && s + 1 < end)
                s++;
            rf_buf_add(v, s, 1);
        }
        if (s >= end)
            return rf_errf(err, RF_EINVAL, "%s:%d:%d: unterminated %s quote", name, line,
                           (int)(p - bol) + 1, q == '"' ? "double" : "single");
        if (s + 1 != end)
            return rf_errf(err, RF_EINVAL, "%s:%d:%d: text after the closing quote", name,
                           line, (int)(s + 1 - bol) + 1);
    } else {
        rf_buf_add(v, p, (size_t)(end - p));
    }
    rf_buf_add(v, "", 1);
    return 0;
}

static int parse_line(const char *name, int line, const char *bol, const char *eol,
                      rf_env_entry *e, rf_err *err)
{
    const char *p = bol;
    while (p < eol && (*p == ' ' || *p == '\t'))
        p++;
    const char *k = p;
    while (p < eol && is_key_char(*p, p == k))
        p++;
    if (p == k || p >= eol || *p != '=')
        return rf_errf(err, RF_EINVAL, "%s:%d:%d: expected KEY=VALUE (KEY of letters, digits "
                       "and _)", name, line, (int)(p - bol) + 1);
    rf_buf v = {0};
    if (parse_value(name, line, p + 1, eol, bol, &v, err) != 0) {
        rf_buf_free(&v);
        return -1;
    }
    if (memchr(v.data, '\0', v.len - 1))
        return rf_buf_free(&v), rf_errf(err, RF_EINVAL, "%s:%d: NUL byte in the value", name,
                                        line);
    e->key = rf_xmalloc((size_t)(p - k) + 1);
    memcpy(e->key, k, (size_t)(p - k));
    e->key[p - k] = '\0';
    e->value = rf_buf_detach(&v, NULL);
    e->line = line;
    return 0;
}

int rf_envfile_parse(const char *name, const char *text, size_t n, rf_env_entry **out,
                     size_t *nout, rf_err *err)
{
    *out = NULL;
    *nout = 0;
    rf_env_entry *e = NULL;
    size_t ne = 0;
    const char *p = text, *end = text + n;
    for (int line = 1; p < end; line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *s = p;
        while (s < eol && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        if (s < eol && *s != '#' && *s != ';') {
            e = rf_xrealloc(e, (ne + 1) * sizeof *e);
            if (parse_line(name, line, p, eol, &e[ne], err) != 0) {
                rf_env_free(e, ne);
                return -1;
            }
            ne++;
        }
        p = eol + 1;
    }
    *out = e;
    *nout = ne;
    return 0;
}

void rf_env_free(rf_env_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].key);
        free(e[i].value);
    }
    free(e);
}
