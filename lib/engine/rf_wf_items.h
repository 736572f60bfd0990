/* rf_wf_items: the items of `foreach: ${{ steps.A.outputs.NAME }}` (Argo's
 * withParam), read from the text of A's output when A has finished.
 *
 * The text is a JSON list (`["a", 1, {"lr": 0.1}]`) or JSON lines (one
 * JSON value per non-blank line). Each item becomes text: a string is
 * itself, any other value its compact JSON (`1`, `{"lr":0.1}`), so that
 * `${{ item }}` reads naturally and `${{ item.KEY }}` can look into an
 * object. Pure: no Redis, no store. */
#ifndef RF_WF_ITEMS_H
#define RF_WF_ITEMS_H

#include <stddef.h>

#include "base/rf_buf.h"
#include "base/rf_err.h"

/* Most bytes of list text the scheduler reads. */
#define RF_WF_ITEMS_MAX_BYTES (64u << 20)

/* Append the items of text[0..len) to *items (*n of them, each malloc'd,
 * the array realloc'd), at most max in all. -1 with RF_EINVAL saying what
 * the text is instead of a list ("a JSON object", "line 3: ..."), or
 * RF_ETOOBIG past max. */
int rf_wf_items_parse(const char *text, size_t len, size_t max, char ***items,
                      size_t *n, rf_err *err);
void rf_wf_items_free(char **items, size_t n);

/* ${{ item.KEY }}: append member KEY of the JSON object item (a string
 * member as itself, others as compact JSON). RF_EINVAL when item is not
 * an object or has no such member. */
int rf_wf_item_key(const char *item, const char *key, rf_buf *out, rf_err *err);

#endif
