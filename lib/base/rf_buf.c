/* rf_buf: growable byte buffer; see rf_buf.h. */
#include "base/rf_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "ruvflow: out of memory allocating %zu bytes\n", n);
    abort();
}

void *rf_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *rf_xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        oom(n * sz);
    return p;
}

void *rf_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *rf_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(rf_xmalloc(n), s, n);
}

void rf_buf_grow(rf_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = rf_xrealloc(b->data, cap);
    b->cap = cap;
}

void rf_buf_add(rf_buf *b, const void *p, size_t n)
{
    rf_buf_grow(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void rf_buf_adds(rf_buf *b, const char *s)
{
    rf_buf_add(b, s, strlen(s));
}

void rf_buf_addf(rf_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    rf_buf_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void rf_buf_reset(rf_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void rf_buf_free(rf_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *rf_buf_detach(rf_buf *b, size_t *len)
{
    if (!b->data)
        rf_buf_grow(b, 0), b->data[0] = '\0';
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
