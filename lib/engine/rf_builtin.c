/* rf_builtin: the noop and sleep task types; see rf_builtin.h. */
#include "engine/rf_builtin.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static int noop_handler(rf_task *t, rf_err *err)
{
    (void)t, (void)err;
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
    "noop", "1", noop_handler, "Succeeds at once. No parameters, no inputs, no outputs.\n"};
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
