/* rf_builtin: the noop and sleep task types; see rf_builtin.h. */
#include "engine/rf_builtin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* with out_NAME: TEXT writes TEXT as output NAME (a file in the task's
 * output folder): a step whose output later steps read, e.g. the list of
 * a `foreach: ${{ steps.S.outputs.NAME }}`, without a real worker. */
static int noop_handler(rf_task *t, rf_err *err)
{
    for (size_t i = 0; rf_task_param_key(t, i); i++) {
        const char *k = rf_task_param_key(t, i);
        if (strncmp(k, "out_", 4) || !k[4])
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", rf_task_outdir(t), k + 4);
        FILE *f = fopen(path, "wb");
        const char *text = rf_task_param(t, k);
        if (!f)
            return rf_err_errno(err, "noop: %s", path);
        int bad = fputs(text, f) < 0;
        bad |= fclose(f) != 0;
        if (bad)
            return rf_errf(err, RF_EIO, "noop: cannot write %s", path);
        if (rf_task_output(t, k + 4, path, err) < 0)
            return -1;
    }
    return 0;
}

static int sleep_handler(rf_task *t, rf_err *err)
{
    long ms;
    if (rf_task_param_long(t, "ms", 0, &ms, err) != 0)
        return -1;
    if (ms < 0 || ms > 24L * 3600 * 1000)
        return rf_errf(err, RF_EINVAL, "with.ms: %ld is outside 0..86400000", ms);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    /* Sleep in short slices so a drain or cancel stops us promptly. */
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long done = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (done >= ms)
            break;
        if (rf_task_should_stop(t))
            return rf_errf(err, RF_ECANCEL, "sleep: stopped after %ld of %ld ms", done, ms);
        long slice = ms - done < 10 ? ms - done : 10;
        struct timespec ts = {0, slice * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    rf_task_metric(t, "slept_ms", (double)ms);
    return 0;
}

const rf_worker_def rf_builtin_noop = {
    "noop", "1", noop_handler,
    "Succeeds at once.\n  with: out_NAME  text written as output NAME (optional)\n"};
const rf_worker_def rf_builtin_sleep = {
    "sleep", "1", sleep_handler,
    "Sleeps, then succeeds.\n  with: ms  milliseconds to sleep (default 0)\n"};

const rf_worker_def *rf_builtin_find(const char *name)
{
    if (!strcmp(name, "noop"))
        return &rf_builtin_noop;
    if (!strcmp(name, "sleep"))
        return &rf_builtin_sleep;
    return NULL;
}
