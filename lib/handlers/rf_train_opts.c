/* rf_train_opts: the training keys of a task's `with`, shared by the
 * workers that train (train-stage, eval-fold) so that a key means the same
 * and defaults the same in both. See rf_train_stage.h. */
#include "handlers/rf_train_stage.h"

#include <stdlib.h>
#include <string.h>

/* The training keys, shared with eval-fold (rf_train_stage_parse_opts)... */
const char *const rf_train_opt_keys[] = {
    "hidden", "activation", "optimizer", "lr", "batch", "epochs", "patience", "l1", "l2",
    "weight_decay", "dropout", "clip", "accum", "momentum", "schedule", "warmup",
    "step_every", "gamma", "on_diverge", "refit", "timings", NULL
};

/* The table; graduation is derived from each stage's data
 * (rf_train_graduate.h), not fixed here. */
static const rf_level_defaults level_table[RF_LEVEL_COUNT] = {
    {1e-3, 64, 10, 3, 0.0, 0.0, 1, 0.0},
    {5e-4, 32, 20, 5, 0.0, 0.0, 1, 0.0},
    {1e-4, 16, 30, 7, 1.0, 0.0, 1, 0.0},
    {5e-5, 8, 50, 10, 0.5, 0.3, 1, 0.0},
    {1e-5, 4, 100, 15, 0.1, 0.5, 4, 0.0},
};
/* Without a level: plain supervised training, tuned on the FANN sets
 * (tests/bench/bench_train.sh; docs/training.md). */
static const rf_level_defaults plain_defaults = {3e-3, 32, 200, 20, 0.0, 0.2, 1, 0.0};

const rf_level_defaults *rf_level_defaults_for(int level)
{
    return level >= 0 && level < RF_LEVEL_COUNT ? &level_table[level] : &plain_defaults;
}

static int listed(const char *const *keys, const char *k)
{
    while (*keys && strcmp(*keys, k))
        keys++;
    return *keys != NULL;
}

int rf_train_check_keys(rf_task *t, const char *const *own, rf_err *err)
{
    const char *k;
    for (size_t i = 0; (k = rf_task_param_key(t, i)); i++)
        if (!listed(rf_train_opt_keys, k) && !listed(own, k))
            return rf_errf(err, RF_EINVAL, "with.%s: unknown key (see --help)", k);
    return 0;
}

static int parse_hidden(const char *s, rf_train_setup *c, rf_err *err)
{
    c->n_hidden = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v <= 0 || v > (1 << 16) || c->n_hidden == RF_MLP_MAXLAYERS - 1 ||
            (*end && *end != ','))
            return rf_errf(err, RF_EINVAL, "with.hidden: expected widths like 64,32, got "
                           "\"%s\"", s);
        c->hidden[c->n_hidden++] = (size_t)v;
        p = *end ? end + 1 : end;
    }
    return 0;
}

int rf_train_param_enum(rf_task *t, const char *key, const char *def, int (*parse)(const char *),
                      int *out, rf_err *err)
{
    const char *v = rf_task_param_or(t, key, def);
    *out = parse(v);
    if (*out < 0)
        return rf_errf(err, RF_EINVAL, "with.%s: unknown value \"%s\"", key, v);
    return 0;
}

static int parse_refit(const char *s)
{
    return !strcmp(s, "auto") ? RF_REFIT_AUTO : !strcmp(s, "true") || !strcmp(s, "1")
           ? RF_REFIT_ON : !strcmp(s, "false") || !strcmp(s, "0") ? RF_REFIT_OFF : -2;
}

static int parse_diverge(const char *s)
{
    return !strcmp(s, "stop") ? RF_DIVERGE_STOP : !strcmp(s, "lower_lr") ? RF_DIVERGE_LOWER_LR
                                                                            : -1;
}

int rf_train_stage_parse_opts(rf_task *t, int level, rf_train_setup *c, rf_err *err)
{
    memset(c, 0, sizeof *c);
    rf_train_opts *o = &c->opts;
    rf_train_opts_default(o);
    if (parse_hidden(rf_task_param_or(t, "hidden", "512"), c, err) ||
        rf_train_param_enum(t, "activation", "relu", rf_act_parse, &c->act, err))
        return -1;
    const rf_level_defaults *L = rf_level_defaults_for(level);
    const char *optname = rf_task_param_or(t, "optimizer", "adam");
    int kind = rf_opt_parse(optname);
    if (kind < 0)
        return rf_errf(err, RF_EINVAL, "with.optimizer: unknown value \"%s\"", optname);
    rf_optim_cfg_default(&o->optim, kind);
    o->optim.nesterov = !strcmp(optname, "nesterov");
    long batch, epochs, patience, accum, warmup, step_every;
    double lr, dropout;
    if (rf_task_param_double(t, "lr", L->lr, &lr, err) ||
        rf_task_param_long(t, "batch", L->batch, &batch, err) ||
        rf_task_param_long(t, "epochs", L->epochs, &epochs, err) ||
        rf_task_param_long(t, "patience", L->patience, &patience, err) ||
        rf_task_param_long(t, "accum", L->accum, &accum, err) ||
        rf_task_param_double(t, "dropout", L->dropout, &dropout, err) ||
        rf_task_param_double(t, "clip", L->clip, &o->optim.clip, err) ||
        rf_task_param_double(t, "l1", 0, &o->optim.l1, err) ||
        rf_task_param_double(t, "weight_decay", 0, &o->optim.weight_decay, err) ||
        rf_task_param_double(t, "momentum", 0.9, &o->optim.momentum, err) ||
        rf_task_param_double(t, "gamma", 0.1, &o->sched.gamma, err) ||
        rf_task_param_long(t, "warmup", 0, &warmup, err) ||
        rf_task_param_long(t, "step_every", 0, &step_every, err) ||
        rf_train_param_enum(t, "schedule", "constant", rf_sched_parse, &o->sched.kind, err) ||
        rf_train_param_enum(t, "on_diverge", "stop", parse_diverge, &o->on_diverge, err) ||
        rf_task_param_bool(t, "timings", 1, &o->record_time, err))
        return -1;
    /* l2: auto (the default without a level) picks it on the validation rows */
    c->l2_auto = !strcmp(rf_task_param_or(t, "l2", level < 0 ? "auto" : "1e-4"), "auto");
    o->optim.l2 = 1e-4;
    if (!c->l2_auto && rf_task_param_double(t, "l2", 1e-4, &o->optim.l2, err))
        return -1;
    const char *refit = rf_task_param_or(t, "refit", "auto");
    if ((c->refit = parse_refit(refit)) == -2)
        return rf_errf(err, RF_EINVAL, "with.refit: expected auto, true or false, got \"%s\"",
                       refit);
    if (batch <= 0 || epochs < 0 || patience < 0 || accum <= 0 || warmup < 0 ||
        step_every < 0 || !(lr > 0) || dropout < 0 || dropout >= 1 || o->optim.clip < 0 ||
        o->optim.l1 < 0 || o->optim.l2 < 0 || o->optim.weight_decay < 0)
        return rf_errf(err, RF_EINVAL, "with: a training value is out of range (batch, accum "
                       "and lr must be positive; epochs, patience, clip, l1, l2, weight_decay "
                       "not negative; dropout in [0,1))");
    o->sched.lr = lr;
    o->batch = (size_t)batch;
    o->max_epochs = epochs;
    o->patience = (int)patience;
    o->accum = (int)accum;
    o->dropout = (float)dropout;
    o->graduate = L->graduate;
    /* warm-up and step decay are given in epochs; rf_train_schedule_in_steps
     * converts them once the number of training rows is known */
    o->sched.warmup = warmup;
    o->sched.step_every = step_every;
    return 0;
}

void rf_train_schedule_in_steps(rf_train_opts *o, size_t n_train)
{
    size_t B = o->optim.kind == RF_OPT_RPROP || o->batch > n_train ? n_train : o->batch;
    int64_t per_epoch = (int64_t)(((n_train + B - 1) / B + (size_t)o->accum - 1) /
                                  (size_t)o->accum);
    o->sched.warmup *= per_epoch;
    o->sched.step_every *= per_epoch;
}

