/* rf_json: see rf_json.h. */
#include "base/rf_json.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

json_t *rf_json_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

double rf_json_double(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *rf_num_fmt(char *buf, size_t n, double v, int sig)
{
    if (isnan(v))
        snprintf(buf, n, "nan");
    else if (isinf(v))
        snprintf(buf, n, "%s", v < 0 ? "-inf" : "inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)   /* 2^53: exact */
        snprintf(buf, n, "%.0f", v == 0 ? 0.0 : v);   /* no "-0" */
    else if (sig > 0)
        snprintf(buf, n, "%.*g", sig, v);
    else
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, n, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    return buf;
}

int rf_json_write(const char *path, const json_t *o, int pretty, rf_err *err)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    size_t flags = JSON_REAL_PRECISION(10) | (pretty ? JSON_INDENT(2) : JSON_COMPACT);
    if (json_dump_file(o, tmp, flags) != 0) {
        unlink(tmp);
        return rf_err_errno(err, "write %s", tmp);
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return rf_err_errno(err, "rename %s", tmp);
    }
    return 0;
}

int rf_json_load(const char *path, json_t **out, rf_err *err)
{
    json_error_t je;
    *out = NULL;
    if (access(path, R_OK) != 0)
        return rf_err_errno(err, "read %s", path);
    *out = json_load_file(path, 0, &je);
    if (!*out)
        return rf_errf(err, RF_ECORRUPT, "%s:%d: %s", path, je.line, je.text);
    return 0;
}
