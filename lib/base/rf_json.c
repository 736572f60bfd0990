/* rf_json: see rf_json.h. */
#include "base/rf_json.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

json_t *rf_json_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

double rf_json_double(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
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
