/* rf_err: error values carried back to the caller with context.
 *
 * Every fallible ruvflow function returns int (0 on success, -1 on failure)
 * and, on failure, fills the caller's rf_err with a code and a one-line
 * message. Callers add context with rf_err_prefix() as the error travels up,
 * so the final message reads like git's: "store put runs/x: s3: 403
 * SignatureDoesNotMatch: ...". Passing a NULL rf_err is allowed. */
#ifndef RF_ERR_H
#define RF_ERR_H

#include <stddef.h>

enum rf_code {
    RF_OK = 0,
    RF_EINVAL,    /* bad argument or bad input (user's fault) */
    RF_EIO,       /* local I/O failure (disk full, permission) */
    RF_ENOTFOUND, /* key, file, bucket, task does not exist */
    RF_ECORRUPT,  /* data failed validation (checksum, framing, syntax) */
    RF_ETOOBIG,   /* a declared or actual size exceeds a configured cap */
    RF_EAUTH,     /* credentials refused */
    RF_ENET,      /* network failure or remote 5xx after retries */
    RF_ESTATE,    /* operation not possible in the object's state (cold) */
    RF_ECONFLICT, /* fenced write lost, already exists, in progress */
    RF_ENOMEM,    /* allocation failed */
    RF_EUNSUPP,   /* not implemented or not supported by this backend */
    RF_ECANCEL    /* cancelled or interrupted by a signal */
};

typedef struct rf_err {
    int code;
    char msg[1024];
} rf_err;

/* Set *e to code and a formatted message; always returns -1 so that
 * `return rf_errf(e, RF_EINVAL, "...")` reads naturally. */
int rf_errf(rf_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend "context: " to the message already in *e; returns -1. */
int rf_err_prefix(rf_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Set from errno with "what: strerror(errno)"; maps ENOENT, ENOSPC, ENOMEM. */
int rf_err_errno(rf_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void rf_err_clear(rf_err *e);
const char *rf_code_name(int code);

/* Process exit status for an error code, the same for every binary
 * (docs/ruvflow.1, EXIT STATUS): 2 invalid request (usage, options, a
 * workflow file, an input unusable for the task), 3 not found, 4 corrupt
 * or malformed data, 5 credentials refused, 6 network, 7 local I/O (disk
 * full, permission), 1 anything else. */
int rf_err_exit_status(const rf_err *e);

#endif
