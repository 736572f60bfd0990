/* cmd_scale: the autoscaling options that `ruvflow queues` and `ruvflow
 * scheduler` share (slots per worker, bounds on desired workers), read
 * from the command line or the environment the units set. */
#include <stdlib.h>
#include <string.h>

#include "cmd_engine.h"

void scale_opts_from_env(rf_scale_opts *o)
{
    rf_scale_opts_default(o);
    const char *v;
    if ((v = getenv("RUVFLOW_SCALE_SLOTS")) && *v)
        o->slots = v;
    if ((v = getenv("RUVFLOW_SCALE_MIN")) && *v)
        o->min_workers = atol(v);
    if ((v = getenv("RUVFLOW_SCALE_MAX")) && *v)
        o->max_workers = atol(v);
}

int scale_opt(rf_scale_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    int slots = !strcmp(a, "--slots"), lo = !strcmp(a, "--min-workers"),
        hi = !strcmp(a, "--max-workers");
    if (!slots && !lo && !hi)
        return 0;
    if (*i + 1 >= argc)
        return -1;
    const char *v = argv[++*i];
    if (slots) {
        o->slots = v;
        return 1;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end)
        return -1;
    *(lo ? &o->min_workers : &o->max_workers) = n;
    return 1;
}
