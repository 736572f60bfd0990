/* fuzz_workflow: the workflow parser and validator on arbitrary bytes (a
 * workflow file is outside input), plus the `when` evaluator on the same
 * bytes. Must never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rf_template.h"
#include "engine/rf_workflow.h"

static int zero(void *ud, const rf_ref *r, rf_buf *out, rf_err *err)
{
    (void)ud, (void)r, (void)err;
    rf_buf_adds(out, "0");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rf_workflow *wf = NULL;
    rf_wf_diags d = {0};
    rf_err err;
    const char *ov[] = {"n=3", "levels=a,b"};
    if (rf_workflow_parse((const char *)data, size, "/fuzz/w.yaml", ov, 2, &wf, &d,
                          &err) == 0) {
        for (size_t i = 0; i < wf->nsteps; i++)
            for (size_t t = 0; t < wf->steps[i].ntasks && t < 4; t++)
                for (size_t a = 0; a < wf->steps[i].naxes; a++)
                    (void)rf_wf_item(&wf->steps[i], a, t);
        rf_workflow_free(wf);
    }
    rf_wf_diags_free(&d);

    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    int t;
    (void)rf_expr_eval(s, zero, NULL, &t, &err);
    free(s);
    return 0;
}
