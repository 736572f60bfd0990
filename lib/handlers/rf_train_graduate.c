/* rf_train_graduate: graduation thresholds derived from a stage's data. See
 * rf_train_graduate.h. */
#include "handlers/rf_train_graduate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "ml/rf_baseline.h"

int rf_graduate_parse(rf_task *t, int level, rf_graduate *g, rf_err *err)
{
    memset(g, 0, sizeof *g);
    const char *v = rf_task_param_or(t, "graduate", level >= 0 ? "baseline" : "0");
    if (!strcmp(v, "baseline")) {
        g->basis = RF_GRAD_BASELINE;
        g->derived = 1;
        return 0;
    }
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= 0 && x <= 1))
        return rf_errf(err, RF_EINVAL, "with.graduate: expected baseline or a validation "
                       "accuracy in [0, 1], got \"%s\"", v);
    g->basis = x > 0 ? RF_GRAD_FIXED : RF_GRAD_OFF;
    g->threshold = x;
    return 0;
}

int rf_graduate_derive(rf_graduate *g, const rf_dataset *d, const uint32_t *train,
                       size_t n_train, const uint32_t *val, size_t n_val, rf_err *err)
{
    if (g->basis != RF_GRAD_BASELINE)
        return 0;
    g->basis = RF_GRAD_OFF;
    g->threshold = 0;
    g->n_val = n_val;
    if (d->kind != RF_CLASSIFICATION || n_val == 0 || n_train == 0)
        return 0;
    rf_baseline_rows rows = {d->y_class, d->n_classes, d->prev_row, train, n_train, val,
                             n_val};
    int32_t *pred = rf_xmalloc(n_val * sizeof *pred);
    for (int k = 0; k < RF_BASELINE_COUNT; k++) {
        if (!rf_baseline_applies(&rows, k))
            continue;
        if (rf_baseline_predict(&rows, k, pred, err) < 0) {
            free(pred);
            return rf_err_prefix(err, "graduate=baseline");
        }
        size_t hits = 0;
        for (size_t i = 0; i < n_val; i++)
            hits += pred[i] == d->y_class[val[i]];
        double acc = (double)hits / (double)n_val;
        if (g->basis == RF_GRAD_OFF || acc > g->threshold)
            g->basis = RF_GRAD_MAJORITY + k, g->threshold = acc;
    }
    free(pred);
    return 0;
}

static const char *basis_text(int basis)
{
    switch (basis) {
    case RF_GRAD_FIXED: return "with.graduate";
    case RF_GRAD_MAJORITY: return "the majority-class baseline on the validation rows";
    case RF_GRAD_PREVIOUS: return "the previous-action baseline on the validation rows";
    case RF_GRAD_MARKOV: return "the Markov baseline on the validation rows";
    default: return "off";
    }
}

void rf_graduate_report(rf_task *t, const rf_graduate *g, const rf_trainer *tr)
{
    double best = NAN;
    int64_t at = 0;
    for (size_t i = 0; i < tr->n_history; i++)
        if (!isnan(tr->history[i].val_acc) && !(tr->history[i].val_acc <= best))
            best = tr->history[i].val_acc, at = tr->history[i].epoch;
    rf_task_metric(t, "graduate_threshold", g->basis == RF_GRAD_OFF ? NAN : g->threshold);
    rf_task_metric(t, "graduate_basis", g->basis);
    rf_task_metric(t, "best_val_accuracy", best);
    if (g->basis == RF_GRAD_OFF) {
        if (g->derived)
            rf_task_logf(t, "graduation off: no validation rows (or no classes) to derive a "
                         "threshold from");
        return;
    }
    if (tr->stop_reason == RF_STOP_GRADUATED)
        rf_task_logf(t, "graduated at epoch %lld: validation accuracy %.4f reached %.4f (%s)",
                     (long long)tr->epoch, tr->history[tr->n_history - 1].val_acc,
                     g->threshold, basis_text(g->basis));
    else if (isnan(best))
        rf_task_logf(t, "not graduated: no validation accuracy to compare with %.4f (%s)",
                     g->threshold, basis_text(g->basis));
    else
        rf_task_logf(t, "not graduated: the best validation accuracy %.4f (epoch %lld) stayed "
                     "below %.4f (%s); stopped by %s", best, (long long)at, g->threshold,
                     basis_text(g->basis), rf_stop_reason_name(tr->stop_reason));
}
