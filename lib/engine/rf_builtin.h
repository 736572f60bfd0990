/* rf_builtin: the built-in task types served by `ruvflow worker`, for
 * tests and benchmarks of the engine itself: `noop` succeeds at once and
 * `sleep` sleeps `ms` milliseconds (stopping early when asked to). */
#ifndef RF_BUILTIN_H
#define RF_BUILTIN_H

#include <stddef.h>

#include "engine/rf_task.h"

extern const rf_worker_def rf_builtin_noop;
extern const rf_worker_def rf_builtin_sleep;

/* The built-in definition named name, or NULL. */
const rf_worker_def *rf_builtin_find(const char *name);

#endif
