/* rf_tune_lint: static checks of tune-trial steps (see rf_tune_lint.h). */
#include "handlers/rf_tune_lint.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/rf_tune_trial.h"
#include "ml/rf_prune.h"
#include "ml/rf_space.h"
#include "ml/rf_tune.h"

/* The metrics a train-stage trial reports (docs/training.md). */
static const char *const train_metrics[] = {
    "val_loss", "val_accuracy", "train_loss", "train_accuracy", "test_loss",
    "test_accuracy", "test_mse", "best_epoch", "epochs", "seconds", NULL};

static void diag(rf_wf_diags *d, rf_wf_loc loc, const char *file, size_t *added,
                 const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void diag(rf_wf_diags *d, rf_wf_loc loc, const char *file, size_t *added,
                 const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rf_wf_diag *v = realloc(d->v, (d->n + 1) * sizeof *v);
    if (!v)
        return;
    d->v = v;
    d->v[d->n].loc = loc;
    d->v[d->n].file = file ? strdup(file) : NULL; /* NULL: the workflow file */
    d->v[d->n++].msg = strdup(msg);
    (*added)++;
}

static const rf_wf_kv *with_kv(const rf_wf_step *s, const char *key)
{
    for (size_t i = 0; i < s->nwith; i++)
        if (!strcmp(s->with[i].key, key))
            return &s->with[i];
    return NULL;
}

/* A value decided at run time (a template) is checked then, not here. */
static const rf_wf_kv *literal(const rf_wf_step *s, const char *key)
{
    const rf_wf_kv *kv = with_kv(s, key);
    return kv && !strstr(kv->val, "${{") ? kv : NULL;
}

/* Messages name the key as it was written: tune.X for a `tune:` step. */
static const char *pfx(const rf_wf_step *s)
{
    return s->from_tune ? "tune" : "with";
}

/* Where a space error points: the parameter its message names ("lr: ..."),
 * its condition for condition errors, when the parser marked them. */
static rf_wf_loc space_loc(const rf_wf_step *s, const char *msg, rf_wf_loc fallback)
{
    char path[300];
    size_t n = strcspn(msg, ":");
    if (!msg[n] || n > 200)
        return fallback;
    int cond = strstr(msg + n, "when") || strstr(msg + n, "cycle");
    snprintf(path, sizeof path, "space.%.*s%s", (int)n, msg, cond ? ".when" : ".dist");
    rf_wf_loc l = rf_wf_mark_loc(s, path, (rf_wf_loc){0, 0});
    if (l.line)
        return l;
    snprintf(path, sizeof path, "space.%.*s", (int)n, msg);
    return rf_wf_mark_loc(s, path, fallback);
}

static size_t count_list(const char *v)
{
    size_t n = *v ? 1 : 0;
    for (; *v; v++)
        n += *v == ',';
    return n;
}

static void check_space(const rf_wf_step *s, rf_wf_diags *d, size_t *added)
{
    const rf_wf_kv *kv = literal(s, "space");
    if (!kv)
        return;
    json_error_t je;
    json_t *j = json_loads(strcmp(kv->val, "default") ? kv->val : rf_space_train_default,
                           0, &je);
    rf_space sp;
    rf_err e = {0};
    if (!j)
        diag(d, kv->loc, kv->file, added, "%s.space: not JSON (%s, at line %d column %d of "
             "the value)", pfx(s), je.text, je.line, je.column);
    else if (rf_space_parse(j, &sp, &e) < 0)
        diag(d, space_loc(s, e.msg, kv->loc), kv->file, added, "%s.space: %s", pfx(s), e.msg);
    else
        rf_space_free(&sp);
    json_decref(j);
    if (!with_kv(s, "trial"))
        diag(d, s->loc, NULL, added, "step %s: a search needs with.trial: ${{ index }}",
             s->name);
}

static void check_objective(const rf_wf_step *s, rf_wf_diags *d, size_t *added)
{
    const rf_wf_kv *obj = literal(s, "objective"), *dir = literal(s, "direction");
    const rf_wf_kv *smp = literal(s, "sampler");
    size_t n_obj = obj ? count_list(obj->val) : 1;
    int v;
    rf_err e = {0};
    if (smp && rf_sampler_parse(smp->val, &v, &e) < 0)
        diag(d, smp->loc, smp->file, added, "%s.sampler: %s", pfx(s), e.msg);
    else if (smp && n_obj > 1 && (v == RF_SAMPLER_GP || v == RF_SAMPLER_TPE))
        diag(d, smp->loc, smp->file, added, "%s.sampler: %s optimises one objective; use "
             "nsga2 for %zu", pfx(s), smp->val, n_obj);
    const rf_wf_kv *pr = literal(s, "pruner");
    if (pr && rf_pruner_parse(pr->val, &v, &e) < 0)
        diag(d, pr->loc, pr->file, added, "%s.pruner: %s", pfx(s), e.msg);
    if (dir) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", dir->val);
        for (char *t = strtok(buf, ","); t; t = strtok(NULL, ","))
            if (strcmp(t, "minimize") && strcmp(t, "maximize"))
                diag(d, dir->loc, dir->file, added, "with.direction: '%s' (want minimize or "
                     "maximize)", t);
        size_t nd = count_list(dir->val);
        if (nd != 1 && nd != n_obj)
            diag(d, dir->loc, dir->file, added, "with.direction: %zu directions for %zu "
                 "objectives", nd, n_obj);
    }
    if (!obj || with_kv(s, "exec"))
        return;   /* an exec program's metrics are known when it runs */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", obj->val);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        char path[300];
        snprintf(path, sizeof path, "objective.%.200s", t);
        if (!rf_tune_listed(train_metrics, t))
            diag(d, rf_wf_mark_loc(s, path, obj->loc), obj->file, added, "%s.objective: no "
                 "train-stage trial reports '%s' (val_loss, val_accuracy, train_loss, "
                 "train_accuracy, test_loss, test_accuracy, test_mse, ...)", pfx(s), t);
    }
}

size_t rf_tune_lint(const rf_workflow *wf, rf_wf_diags *d)
{
    size_t added = 0;
    for (size_t i = 0; i < wf->nsteps; i++) {
        const rf_wf_step *s = &wf->steps[i];
        if (strcmp(s->worker, "tune-trial") || with_kv(s, "summary") ||
            !with_kv(s, "space"))
            continue;
        check_space(s, d, &added);
        check_objective(s, d, &added);
    }
    return added;
}
