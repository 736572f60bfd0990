/* rf_toolfeat: per-thread state behind the tool-selection features. See
 * rf_toolfeat.h; the columns are documented in docs/preprocess.md. */
#include "ml/rf_toolfeat.h"

#include <math.h>
#include <string.h>

#define SALT_USER 0x75736572ULL   /* "user" */
#define SALT_ASST 0x61737374ULL   /* "asst" */

void rf_toolfeat_init(rf_toolfeat *f, uint32_t hash_dim)
{
    memset(f, 0, sizeof *f);
    rf_fhash_init_salted(&f->user, hash_dim, SALT_USER);
    rf_fhash_init_salted(&f->asst, hash_dim, SALT_ASST);
    f->todo_ord = -1;
}

void rf_toolfeat_free(rf_toolfeat *f)
{
    rf_fhash_free(&f->user);
    rf_fhash_free(&f->asst);
}

void rf_toolfeat_user_text(rf_toolfeat *f, const char *raw, size_t n)
{
    rf_fhash_reset(&f->user);
    rf_fhash_add(&f->user, raw, n);
}

void rf_toolfeat_assistant_text(rf_toolfeat *f, const char *raw, size_t n)
{
    if (f->asst_closed) {
        rf_fhash_reset(&f->asst);
        f->asst_closed = 0;
    }
    rf_fhash_break(&f->asst);
    rf_fhash_add(&f->asst, raw, n);
}

void rf_toolfeat_line(rf_toolfeat *f, rf_jspan cwd, rf_jspan branch)
{
    if (rf_jspan_type(cwd) == RF_J_STRING) {
        rf_jspan raw = rf_jstr_raw(cwd);
        f->cwd = rf_fnv1a(raw.p, raw.n, RF_FNV0) | 1;
        if (!f->cwd0)
            f->cwd0 = f->cwd;
    }
    if (rf_jspan_type(branch) == RF_J_STRING)
        f->on_branch = rf_jstr_raw(branch).n > 0;
}

static void add_hash(rf_rows *r, const rf_fhash *h)
{
    for (uint32_t i = 0; i < h->ntouched; i++)
        rf_rows_add(r, h->touched[i], h->v[h->touched[i]]);
}

void rf_toolfeat_row(const rf_toolfeat *f, rf_rows *r, float *num)
{
    add_hash(r, &f->user);
    add_hash(r, &f->asst);
    uint32_t tools = r->hash_dim;
    uint32_t outcomes = tools + (uint32_t)r->k_prev * RF_TOOL_SLOTS;
    for (int k = 0; k < r->k_prev && k < f->nhist; k++) {
        const rf_toolfeat_past *c = &f->hist[k];
        rf_rows_add(r, tools + (uint32_t)k * RF_TOOL_SLOTS + c->slot, 1.0f);
        uint32_t o = outcomes + (uint32_t)k * RF_OUTCOME_SLOTS;
        rf_rows_add(r, o + (uint32_t)c->outcome, 1.0f);
        if (c->size >= 0)
            rf_rows_add(r, o + (uint32_t)c->size, 1.0f);
    }
    num[RF_NF_PREV_IN_BATCH] = f->nhist ? (float)f->hist[0].in_batch : 0.0f;
    num[RF_NF_TODO_TOTAL] = log1pf((float)f->todo_total);
    num[RF_NF_TODO_DONE_FRAC] = f->todo_total ? (float)f->todo_done / (float)f->todo_total : 0;
    num[RF_NF_TODO_ACTIVE_POS] = f->todo_total ? (float)f->todo_active / (float)f->todo_total
                                               : 0;
    num[RF_NF_CALLS_SINCE_TODO] = f->todo_ord >= 0 ? log1pf((float)(f->calls - f->todo_ord - 1))
                                                   : 0;
    num[RF_NF_CWD_CHANGED] = f->cwd0 && f->cwd != f->cwd0;
    num[RF_NF_ON_BRANCH] = (float)f->on_branch;
}

/* A TodoWrite's list: items, completed ones, the first in progress. */
static void read_todos(rf_toolfeat *f, rf_jspan input)
{
    rf_jspan todos = rf_jobj_get(input, "todos");
    if (rf_jspan_type(todos) != RF_J_ARRAY)
        return;
    f->todo_total = f->todo_done = f->todo_active = 0;
    rf_jiter it = rf_jiter_begin(todos);
    rf_jspan item;
    while (rf_jarr_next(&it, &item)) {
        rf_jspan st = rf_jobj_get(item, "status");
        f->todo_total++;
        if (rf_jstr_eq(st, "completed"))
            f->todo_done++;
        else if (rf_jstr_eq(st, "in_progress") && !f->todo_active)
            f->todo_active = f->todo_total;
    }
}

void rf_toolfeat_call(rf_toolfeat *f, int64_t ord, const char *name, size_t n,
                      int batch_pos, rf_jspan input)
{
    memmove(f->hist + 1, f->hist, (RF_TOOLFEAT_HIST - 1) * sizeof f->hist[0]);
    if (f->nhist < RF_TOOLFEAT_HIST)
        f->nhist++;
    f->hist[0] = (rf_toolfeat_past){ord, rf_tool_slot(name, n), RF_OUT_PENDING, -1,
                                    batch_pos > 0};
    if (batch_pos > 0 && f->nhist > 1)
        f->hist[1].in_batch = 1;    /* the call before it in the same message */
    if (n == 9 && !memcmp(name, "TodoWrite", 9)) {
        read_todos(f, input);
        f->todo_ord = ord;
    }
    f->calls = ord + 1;
    f->asst_closed = 1;
}

void rf_toolfeat_result(rf_toolfeat *f, int64_t ord, int is_error, uint64_t bytes)
{
    for (int k = 0; k < f->nhist; k++)
        if (f->hist[k].ord == ord) {
            f->hist[k].outcome = is_error ? RF_OUT_ERROR : RF_OUT_OK;
            f->hist[k].size = rf_outcome_size_bucket(bytes);
            return;
        }
}
