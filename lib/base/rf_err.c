/* rf_err: error values with context; see rf_err.h. */
#include "base/rf_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int rf_errf(rf_err *e, int code, const char *fmt, ...)
{
    if (!e)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
    return -1;
}

int rf_err_prefix(rf_err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    char pre[512], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    snprintf(e->msg, sizeof e->msg, "%.500s: %.500s", pre, old);
    return -1;
}

int rf_err_errno(rf_err *e, const char *fmt, ...)
{
    int saved = errno;
    if (!e)
        return -1;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int code = RF_EIO;
    if (saved == ENOENT)
        code = RF_ENOTFOUND;
    else if (saved == ENOMEM)
        code = RF_ENOMEM;
    else if (saved == EINVAL)
        code = RF_EINVAL;
    return rf_errf(e, code, "%s: %s", what, strerror(saved));
}

void rf_err_clear(rf_err *e)
{
    if (e) {
        e->code = RF_OK;
        e->msg[0] = '\0';
    }
}

const char *rf_code_name(int code)
{
    static const char *names[] = {
        "ok", "invalid", "io", "not found", "corrupt", "too big", "auth",
        "network", "state", "conflict", "no memory", "unsupported", "cancelled",
    };
    if (code < 0 || code >= (int)(sizeof names / sizeof names[0]))
        return "unknown";
    return names[code];
}

int rf_err_exit_status(const rf_err *e)
{
    switch (e ? e->code : RF_EIO) {
    case RF_EINVAL: return 2;
    case RF_ENOTFOUND: return 3;
    case RF_ECORRUPT: case RF_ETOOBIG: return 4;
    case RF_EAUTH: return 5;
    case RF_ENET: return 6;
    case RF_EIO: return 7;
    default: return 1;
    }
}
