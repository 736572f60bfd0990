/* fuzz_template: `${{ ... }}` templates and `when` expressions on arbitrary
 * bytes. Both come from workflow files (with:, inputs:, when:). Must never
 * crash, leak or read out of bounds; scanning, rendering and evaluation
 * must agree on what is malformed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "engine/rf_template.h"

static int count_ref(void *ud, const rf_ref *r, size_t off, size_t len, rf_err *err)
{
    (void)r, (void)off, (void)len, (void)err;
    (*(size_t *)ud)++;
    return 0;
}

/* Every reference has a value, except steps.* which is "not known yet". */
static int lookup(void *ud, const rf_ref *r, rf_buf *out, rf_err *err)
{
    (void)ud, (void)err;
    if (r->kind == RF_REF_OUTPUT && !r->prev)
        return 1;
    rf_buf_addf(out, "%d:%s", r->kind, r->key);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';   /* templates are C strings: stop at the first NUL */
    rf_err err;
    size_t refs = 0, bad = 0;
    int scanned = rf_tpl_scan(s, count_ref, &refs, &bad, &err);
    if (scanned != 0 && bad > strlen(s))
        abort();   /* the offending offset must be inside the text */
    rf_buf out = RF_BUF_INIT;
    int rendered = rf_tpl_render(s, lookup, NULL, &out, &err);
    /* A template that scans cleanly renders; one that does not, does not. */
    if ((scanned == 0) != (rendered == 0))
        abort();
    rf_buf_free(&out);
    rf_ref r;
    rf_tpl_single_ref(s, &r, &err);
    int truth = 0;
    rf_expr_eval(s, lookup, NULL, &truth, &err);
    rf_value_truthy(s);
    free(s);
    return 0;
}
