/* rf_template: the `${{ ... }}` references of workflow files and the small
 * expression language of `when` conditions.
 *
 * A template is text with references in it: "lr=${{ params.lr }}". A
 * reference names one value:
 *   params.NAME                  a workflow parameter
 *   item, item.KEY               the foreach/chain element (KEY: matrix axis)
 *   index                        the task's position in its step (0-based)
 *   steps.STEP.outputs.NAME      an artifact URL written by an earlier step
 *   steps.STEP.metrics.NAME      a final metric of an earlier step
 *   prev.outputs.NAME            chain steps: the previous element's output
 *   prev.metrics.NAME            chain steps: the previous element's metric
 *   run.id                       the run's id
 *   workflow.status              on_exit steps: how the main steps ended
 *   workflow.failures            on_exit steps: the failed tasks, as JSON
 * Parameters and items are resolved when a run is submitted; step and prev
 * references when the task is dispatched, once the values exist.
 *
 * A `when` expression compares values: `${{ steps.s.metrics.acc }} < 0.9 &&
 * !${{ params.fast }}`. Operators: == != < <= > >= && || ! and parentheses;
 * operands are references, numbers, 'quoted' or "quoted" strings and bare
 * words. Two numbers compare numerically, anything else as strings. A lone
 * value is true unless it is empty, 0, false or no. Referenced values are
 * never re-parsed as expression text. */
#ifndef RF_TEMPLATE_H
#define RF_TEMPLATE_H

#include <stddef.h>

#include "base/rf_buf.h"
#include "base/rf_err.h"

enum rf_ref_kind {
    RF_REF_PARAM, RF_REF_ITEM, RF_REF_INDEX, RF_REF_OUTPUT, RF_REF_METRIC,
    RF_REF_RUN_ID, RF_REF_WORKFLOW
};

#define RF_REF_NAME_MAX 128

typedef struct rf_ref {
    int kind;                      /* enum rf_ref_kind */
    int prev;                      /* 1 for prev.outputs/prev.metrics */
    char step[RF_REF_NAME_MAX];    /* RF_REF_OUTPUT/METRIC without prev */
    char key[RF_REF_NAME_MAX];     /* param, item key ("" = whole item), output, metric,
                                    * workflow.KEY ("status" or "failures") */
} rf_ref;

/* Parse the text of one reference ("steps.a.outputs.x", spaces around it
 * allowed). -1 with a message saying what is wrong and what is allowed. */
int rf_ref_parse(const char *s, size_t n, rf_ref *r, rf_err *err);

/* 1 when the reference needs an earlier task's result (steps.*, prev.*). */
int rf_ref_is_dynamic(const rf_ref *r);

/* Called for each reference in a template. off/len locate "${{ ... }}". */
typedef int (*rf_tpl_visit_fn)(void *ud, const rf_ref *r, size_t off, size_t len,
                               rf_err *err);

/* Visit every reference in s. On a malformed reference returns -1 and sets
 * *bad_off (if not NULL) to the byte offset of the offending "${{". */
int rf_tpl_scan(const char *s, rf_tpl_visit_fn fn, void *ud, size_t *bad_off,
                rf_err *err);

/* Appends the value of r to out: 0 done, 1 "not known yet" (the reference
 * is copied through unchanged), -1 error. */
typedef int (*rf_tpl_lookup_fn)(void *ud, const rf_ref *r, rf_buf *out, rf_err *err);

/* Render s into out (appended), resolving references through fn. */
int rf_tpl_render(const char *s, rf_tpl_lookup_fn fn, void *ud, rf_buf *out,
                  rf_err *err);

/* If s is exactly one reference (optionally with "${{ }}" around it, as in
 * `inputs: {data: steps.prep.outputs.dataset}`), parse it into r and return
 * 1; 0 if s is something else (a URL, plain text); -1 if it looks like a
 * reference but is malformed. */
int rf_tpl_single_ref(const char *s, rf_ref *r, rf_err *err);

/* Evaluate a `when` expression. -1 on a syntax error or a lookup failure;
 * a lookup answering "not known yet" is an error here. */
int rf_expr_eval(const char *s, rf_tpl_lookup_fn fn, void *ud, int *truth,
                 rf_err *err);

/* Truthiness of a single value, as described above. */
int rf_value_truthy(const char *v);

#endif
