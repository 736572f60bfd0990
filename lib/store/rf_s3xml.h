/* rf_s3xml: the few XML operations the S3 client needs, without an XML
 * library.
 *
 * S3 responses are flat documents of simple elements (ListBucketResult,
 * Error, InitiateMultipartUploadResult, DeleteResult, ...). Reading them
 * only takes "find the next <Tag>...</Tag> after this point" and entity
 * decoding. The scanner is linear, never recurses, never allocates, and
 * treats anything malformed as "not found"; tests/fuzz/fuzz_s3xml.c fuzzes
 * it. It is not a general XML parser: no namespaces prefixes, CDATA or
 * comments (S3 sends none). */
#ifndef RF_S3XML_H
#define RF_S3XML_H

#include <stddef.h>

#include "base/rf_buf.h"

/* A window of the document. */
typedef struct rf_s3xml {
    const char *p, *end;
} rf_s3xml;

/* Find the next element named tag at or after x->p. On success returns 1,
 * sets *inner to its content (empty for <Tag/>) and advances x->p past the
 * closing tag, so repeated calls iterate over siblings. Returns 0 if none. */
int rf_s3xml_next(rf_s3xml *x, const char *tag, rf_s3xml *inner);

/* Decoded text of the first element named tag in x (x is not advanced).
 * Returns 1 and fills out (reset first), or 0 if absent. */
int rf_s3xml_text(const rf_s3xml *x, const char *tag, rf_buf *out);

/* Append s decoded: the five named entities and &#N; / &#xH; references. */
void rf_s3xml_unescape(rf_buf *out, const char *s, size_t n);

/* Append s escaped for element content (&, <, >, ", '). */
void rf_s3xml_escape(rf_buf *out, const char *s);

#endif
