/* rf_buf: a growable byte buffer, always NUL-terminated for convenience.
 * The buffer owns its memory; rf_buf_free() releases it, rf_buf_detach()
 * hands it to the caller. Allocation failure aborts (as git's strbuf does):
 * buffers hold small things such as requests, keys and JSON, never tensors. */
#ifndef RF_BUF_H
#define RF_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct rf_buf {
    char *data;
    size_t len, cap;
} rf_buf;

#define RF_BUF_INIT {NULL, 0, 0}

void rf_buf_grow(rf_buf *b, size_t extra);
void rf_buf_add(rf_buf *b, const void *p, size_t n);
void rf_buf_adds(rf_buf *b, const char *s);
void rf_buf_addf(rf_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rf_buf_reset(rf_buf *b);
void rf_buf_free(rf_buf *b);
char *rf_buf_detach(rf_buf *b, size_t *len);

/* Abort-on-failure allocators for small bookkeeping allocations. */
void *rf_xmalloc(size_t n);
void *rf_xcalloc(size_t n, size_t sz);
void *rf_xrealloc(void *p, size_t n);
char *rf_xstrdup(const char *s);

#endif
