/* rf_awsini: the AWS shared credentials/config INI files; see rf_awsini.h. */
#include "store/rf_awsini.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"

/* Files are a few lines; anything this large is not a credentials file. */
#define MAX_INI_BYTES (1u << 20)

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static char *dup_trimmed(const char *s, size_t n)
{
    while (n && is_blank(*s))
        s++, n--;
    while (n && is_blank(s[n - 1]))
        n--;
    char *d = rf_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void add_section(rf_awsini *ini, char *name)
{
    ini->sections = rf_xrealloc(ini->sections, (ini->nsections + 1) * sizeof *ini->sections);
    ini->sections[ini->nsections++] = name;
}

static void add_kv(rf_awsini *ini, const char *section, char *key, char *value, int line)
{
    ini->kv = rf_xrealloc(ini->kv, (ini->n + 1) * sizeof *ini->kv);
    ini->kv[ini->n++] = (rf_awsini_kv){rf_xstrdup(section), key, value, line};
}

/* One "[name]" line (l is the whole line, col of '[' is 1-based). */
static int parse_header(const char *name, int lineno, const char *l, size_t n, int col,
                        rf_awsini *ini, rf_err *err)
{
    const char *close = memchr(l, ']', n);
    if (!close)
        return rf_errf(err, RF_EINVAL, "%s:%d:%d: section header without ']'", name, lineno,
                       col);
    for (const char *p = close + 1; p < l + n; p++)
        if (!is_blank(*p))
            return rf_errf(err, RF_EINVAL, "%s:%d:%d: text after the section header", name,
                           lineno, (int)(p - l) + 1);
    char *sec = dup_trimmed(l + (col - 1) + 1, (size_t)(close - l) - (size_t)col);
    if (!*sec) {
        free(sec);
        return rf_errf(err, RF_EINVAL, "%s:%d:%d: empty section name", name, lineno, col);
    }
    for (const char *p = sec; *p; p++)
        if ((unsigned char)*p < 0x20) {
            free(sec);
            return rf_errf(err, RF_EINVAL, "%s:%d:%d: control character in section name",
                           name, lineno, col);
        }
    add_section(ini, sec);
    return 0;
}

/* Per line: state carried between lines. */
typedef struct ini_state {
    const char *section;     /* current section, NULL before the first */
    int nested;              /* inside an indented block after "key =" */
} ini_state;

static int parse_line(const char *name, int lineno, const char *l, size_t n, ini_state *st,
                      rf_awsini *ini, rf_err *err)
{
    size_t i = 0;
    while (i < n && is_blank(l[i]))
        i++;
    if (i == n || l[i] == '#' || l[i] == ';')
        return 0;
    if (i > 0 && st->nested)
        return 0; /* a line of a nested block (e.g. "s3 =" settings): not ours */
    st->nested = 0;
    int col = (int)i + 1;
    if (l[i] == '[') {
        if (parse_header(name, lineno, l, n, col, ini, err) < 0)
            return -1;
        st->section = ini->sections[ini->nsections - 1];
        return 0;
    }
    const char *eq = memchr(l + i, '=', n - i);
    if (!eq)
        return rf_errf(err, RF_EINVAL, "%s:%d:%d: expected [section] or key = value", name,
                       lineno, col);
    if (!st->section)
        return rf_errf(err, RF_EINVAL, "%s:%d:%d: key before the first [section]", name,
                       lineno, col);
    char *key = dup_trimmed(l + i, (size_t)(eq - (l + i)));
    if (!*key) {
        free(key);
        return rf_errf(err, RF_EINVAL, "%s:%d:%d: empty key before '='", name, lineno, col);
    }
    char *value = dup_trimmed(eq + 1, (size_t)(l + n - eq - 1));
    st->nested = !*value;
    add_kv(ini, st->section, key, value, lineno);
    return 0;
}

int rf_awsini_parse(const char *name, const char *text, size_t n, rf_awsini *out,
                    rf_err *err)
{
    memset(out, 0, sizeof *out);
    if (memchr(text, '\0', n))
        return rf_errf(err, RF_EINVAL, "%s: a NUL byte: not a text file", name);
    ini_state st = {0};
    int lineno = 0;
    size_t pos = 0;
    /* A UTF-8 byte order mark (Windows editors) is not part of line 1. */
    if (n >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        pos = 3;
    while (pos < n) {
        const char *l = text + pos;
        const char *nl = memchr(l, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - l) : n - pos;
        lineno++;
        if (parse_line(name, lineno, l, len, &st, out, err) < 0) {
            rf_awsini_free(out);
            return -1;
        }
        pos += len + (nl != NULL);
    }
    return 0;
}

int rf_awsini_load(const char *path, rf_awsini *out, rf_err *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return rf_err_errno(err, "%s", path);
    rf_buf b = RF_BUF_INIT;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= MAX_INI_BYTES)
        rf_buf_add(&b, chunk, got);
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (bad)
        rc = rf_errf(err, RF_EIO, "%s: read error", path);
    else if (b.len > MAX_INI_BYTES)
        rc = rf_errf(err, RF_ETOOBIG, "%s: over %u bytes: not a credentials file", path,
                     MAX_INI_BYTES);
    else
        rc = rf_awsini_parse(path, b.data ? b.data : "", b.len, out, err);
    rf_buf_free(&b);
    return rc;
}

void rf_awsini_free(rf_awsini *ini)
{
    for (size_t i = 0; i < ini->n; i++) {
        free(ini->kv[i].section);
        free(ini->kv[i].key);
        if (ini->kv[i].value) /* values may be secrets: wipe them */
            memset(ini->kv[i].value, 0, strlen(ini->kv[i].value));
        free(ini->kv[i].value);
    }
    free(ini->kv);
    for (size_t i = 0; i < ini->nsections; i++)
        free(ini->sections[i]);
    free(ini->sections);
    memset(ini, 0, sizeof *ini);
}

const char *rf_awsini_get(const rf_awsini *ini, const char *section, const char *key)
{
    for (size_t i = ini->n; i-- > 0;)
        if (!strcmp(ini->kv[i].section, section) && !strcmp(ini->kv[i].key, key))
            return ini->kv[i].value;
    return NULL;
}

int rf_awsini_has_section(const rf_awsini *ini, const char *section)
{
    for (size_t i = 0; i < ini->nsections; i++)
        if (!strcmp(ini->sections[i], section))
            return 1;
    return 0;
}
