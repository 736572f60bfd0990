/* rf_curriculum: cumulative stages by difficulty level on one trainer. See
 * rf_curriculum.h. */
#include "ml/rf_curriculum.h"

#include <math.h>
#include <stdlib.h>

#include "base/rf_buf.h"

/* Stage rank of a level: its own, rows without one after every level. */
static int rank_of(uint8_t lv)
{
    return lv < RF_LEVEL_COUNT ? lv : RF_LEVEL_COUNT;
}

int rf_train_curriculum(rf_trainer *tr, const rf_dataset *d, const uint32_t *train,
                        size_t n_train, const uint32_t *val, size_t n_val, rf_epoch_fn cb,
                        void *ud, rf_curriculum_stage *stages, size_t *n_stages,
                        rf_err *err)
{
    *n_stages = 0;
    if (!d->level)
        return rf_errf(err, RF_EINVAL, "curriculum: the dataset has no difficulty levels");
    if (n_train == 0)
        return rf_errf(err, RF_EINVAL, "the training split is empty");
    size_t count[RF_CURRICULUM_MAX_STAGES] = {0};
    for (size_t i = 0; i < n_train; i++) {
        if (train[i] >= d->n_rows)
            return rf_errf(err, RF_EINVAL, "train row %u is out of range (dataset has %zu "
                           "rows)", train[i], d->n_rows);
        count[rank_of(d->level[train[i]])]++;
    }
    int ranks[RF_CURRICULUM_MAX_STAGES];
    size_t S = 0;
    for (int r = 0; r < RF_CURRICULUM_MAX_STAGES; r++)
        if (count[r])
            ranks[S++] = r;
    /* rows ordered by stage rank: stage s trains on the prefix up to it */
    uint32_t *rows = rf_xmalloc(n_train * sizeof *rows);
    size_t at[RF_CURRICULUM_MAX_STAGES + 1] = {0};
    for (int r = 0; r < RF_CURRICULUM_MAX_STAGES; r++)
        at[r + 1] = at[r] + count[r];
    size_t end[RF_CURRICULUM_MAX_STAGES];
    for (int r = 0; r < RF_CURRICULUM_MAX_STAGES; r++)
        end[r] = at[r + 1];
    for (size_t i = 0; i < n_train; i++)
        rows[at[rank_of(d->level[train[i]])]++] = train[i];
    int64_t budget = tr->opts.max_epochs, start = tr->epoch;
    int rc = 0;
    for (size_t s = 0; s < S && rc == 0; s++) {
        int r = ranks[s];
        int64_t until = start + (budget - start) * (int64_t)(s + 1) / (int64_t)S;
        int64_t before = tr->epoch;
        tr->opts.max_epochs = until;
        tr->bad_epochs = 0;            /* patience is per stage */
        tr->stop_reason = RF_STOP_NONE;
        rc = rf_train_run(tr, d, rows, end[r], val, n_val, cb, ud, err);
        rf_curriculum_stage *st = &stages[s];
        st->level = r < RF_LEVEL_COUNT ? r : RF_LEVEL_NONE;
        st->n_rows = end[r];
        st->epochs = tr->epoch - before;
        st->stop_reason = tr->stop_reason;
        st->val_acc = tr->n_history && tr->epoch > before
                          ? tr->history[tr->n_history - 1].val_acc : NAN;
        *n_stages = s + 1;
        if (tr->stop_reason == RF_STOP_CALLBACK)
            break;
    }
    tr->opts.max_epochs = budget;
    free(rows);
    return rc;
}
