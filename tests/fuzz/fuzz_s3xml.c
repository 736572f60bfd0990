/* fuzz_s3xml: the S3 XML tag extractor and error mapping on arbitrary
 * bytes. Must never crash, read out of bounds or loop: every S3 answer the
 * client parses goes through these functions. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/rf_buf.h"
#include "base/rf_err.h"
#include "store/rf_s3.h"
#include "store/rf_s3_client.h"
#include "store/rf_s3xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    rf_s3xml doc = {p, p + size}, it = doc, el;
    rf_buf v = RF_BUF_INIT;
    /* Walk a listing the way rf_s3.c does. */
    int guard = 0;
    while (rf_s3xml_next(&it, "Contents", &el) && guard++ < 100000) {
        rf_s3xml_text(&el, "Key", &v);
        rf_s3xml_text(&el, "Size", &v);
        rf_s3xml_text(&el, "ETag", &v);
    }
    rf_s3xml_text(&doc, "NextContinuationToken", &v);
    rf_s3xml_text(&doc, "UploadId", &v);
    rf_buf_reset(&v);
    rf_s3xml_unescape(&v, p, size);
    rf_err e;
    rf_s3_error(&e, 403, p, size);
    /* Header parsers see the same bytes, NUL-terminated. */
    rf_buf s = RF_BUF_INIT;
    rf_buf_add(&s, p, size);
    rf_s3_restore_state(s.data, s.data);
    rf_s3_parse_time(s.data);
    rf_buf_free(&s);
    rf_buf_free(&v);
    return 0;
}
