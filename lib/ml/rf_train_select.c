/* rf_train_select: L2 chosen on the validation rows. See rf_train_select.h. */
#include "ml/rf_train_select.h"

#include <math.h>

const double rf_l2_candidates[RF_L2_CANDIDATES] = {1e-4, 1e-2};

int rf_train_select_l2(const rf_mlp_spec *spec, const rf_train_opts *opts,
                       const rf_dataset *d, const uint32_t *train, size_t n_train,
                       const uint32_t *val, size_t n_val, double *l2, double *score,
                       rf_err *err)
{
    *l2 = rf_l2_candidates[0];
    if (n_val == 0)
        return 0;
    double best = INFINITY, best_tie = INFINITY;
    for (int i = 0; i < RF_L2_CANDIDATES; i++) {
        rf_train_opts o = *opts;
        o.optim.l2 = rf_l2_candidates[i];
        o.graduate = 0;
        rf_trainer tr;
        if (rf_trainer_init(&tr, spec, &o, err) < 0)
            return -1;
        int rc = rf_train_run(&tr, d, train, n_train, val, n_val, NULL, NULL, err);
        double m = tr.best_metric, tie = tr.best_tie;
        rf_trainer_free(&tr);
        if (rc < 0)
            return rf_err_prefix(err, "l2=auto: candidate %g", rf_l2_candidates[i]);
        if (score)
            score[i] = m;
        if (m < best || (m == best && tie < best_tie)) {
            best = m, best_tie = tie;
            *l2 = rf_l2_candidates[i];
        }
    }
    return 0;
}
