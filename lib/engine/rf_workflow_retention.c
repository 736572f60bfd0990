/* rf_workflow_retention: the top-level `retention:` key of a workflow file,
 * how many finished runs of the workflow the scheduler keeps:
 *
 *   retention: {runs: 10}     the 10 newest finished runs
 *   retention: {days: 7}      finished runs created in the last 7 days
 *
 * Exactly one of the two; the scheduler applies it (rf_sched_delete.c). */
#include "engine/rf_workflow_impl.h"

static const char *const retention_keys[] = {"runs", "days", NULL};

static int retention_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                          void *ud)
{
    int *seen = ud;
    if (rf_workflow_expect_scalar(p, v, key) < 0)
        return 0;
    const char *s = rf_workflow_scalar(v);
    (*seen)++;
    if (!strcmp(key, "runs")) {
        long n;
        if (rf_workflow_parse_long(s, &n) < 0 || n < 1 || n > 1000000)
            DIAG(p, v, "retention.runs must be a whole number from 1 to 1000000, not \"%s\"",
                 s);
        else
            p->wf->keep_runs = n;
    } else {
        double d;
        if (rf_workflow_parse_double(s, &d) < 0 || !(d > 0) || d > 36500)
            DIAG(p, v, "retention.days must be a number of days above 0 (e.g. 7 or 0.5), "
                       "not \"%s\"", s);
        else
            p->wf->keep_days = d;
    }
    return 0;
}

void rf_workflow_parse_retention(parser *p, yaml_node_t *v)
{
    if (rf_workflow_expect_mapping(p, v, "retention") < 0)
        return;
    int seen = 0;
    rf_workflow_each_pair(p, v, retention_keys, "retention", retention_pair, &seen);
    if (seen == 0)
        DIAG(p, v, "retention needs runs or days, e.g. `retention: {runs: 10}`");
    else if (seen > 1)
        DIAG(p, v, "retention takes runs or days, not both");
}
