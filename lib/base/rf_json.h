/* rf_json: the small JSON chores shared by the workers (jansson):
 * numbers that may be NaN, atomic file writes, loading a file with the
 * parse error in the message. */
#ifndef RF_JSON_H
#define RF_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "base/rf_err.h"

/* A JSON number, or null for NaN and infinities (JSON has neither). */
json_t *rf_json_num(double v);
/* The number in v, NaN for null or a non-number. */
double rf_json_double(const json_t *v);
/* Format a number for people and for templates: whole numbers as integers
 * ("20", not "2e+01"), others with sig significant digits, or with the
 * shortest text that reads back as the same double when sig is 0 ("0.1").
 * NaN and infinities print as "nan", "inf", "-inf". Returns buf. */
const char *rf_num_fmt(char *buf, size_t n, double v, int sig);
/* Write o (not stolen) to path through a temporary file and rename;
 * pretty: indented for people, else one compact line (big index lists). */
int rf_json_write(const char *path, const json_t *o, int pretty, rf_err *err);
/* Load path; *out is the caller's (json_decref). */
int rf_json_load(const char *path, json_t **out, rf_err *err);

#endif
