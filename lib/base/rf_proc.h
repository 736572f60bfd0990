/* rf_proc: run a program directly (execvp, never through a shell), feed it
 * bytes on stdin, collect its stdout and the tail of its stderr, and stop it
 * (SIGKILL) on a deadline or when the caller's stop callback says so. Used
 * by the tune-trial worker's exec objective. */
#ifndef RF_PROC_H
#define RF_PROC_H

#include <stddef.h>

#include "base/rf_buf.h"
#include "base/rf_err.h"

#define RF_PROC_STDERR_TAIL 2048
#define RF_PROC_STDOUT_MAX (16u << 20)

typedef struct rf_proc_result {
    int exited;        /* 1: exited normally, status in code */
    int code;          /* exit status, or the signal that ended it */
    int timed_out;     /* killed at the deadline */
    int stopped;       /* killed because stop() returned non-zero */
    char err_tail[RF_PROC_STDERR_TAIL + 1];   /* last bytes of stderr */
} rf_proc_result;

/* What the caller watches while the program runs; any member may be NULL.
 * stop() is polled; line() sees each complete stdout line as it arrives
 * (without its newline). Either returning non-zero kills the program
 * (res->stopped). */
typedef struct rf_proc_watch {
    int (*stop)(void *arg);
    int (*line)(void *arg, const char *line, size_t len);
    void *arg;
} rf_proc_watch;

/* Run argv[0] (looked up in PATH) with argv; out receives stdout (at most
 * RF_PROC_STDOUT_MAX bytes, more is an error). timeout_ms <= 0: no
 * deadline. w may be NULL. Returns -1 only when the program could not be
 * run at all (not found, not executable, fork failed, output too big);
 * how it ended is in *res. */
int rf_proc_run(char *const *argv, const void *in, size_t in_len,
                long timeout_ms, const rf_proc_watch *w, rf_buf *out,
                rf_proc_result *res, rf_err *err);

#endif
