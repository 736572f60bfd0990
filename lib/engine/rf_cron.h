/* rf_cron: standard 5-field cron expressions and their next fire time, for
 * `ruvflow cron add` (scheduled submission).
 *
 *   minute hour day-of-month month day-of-week
 *
 * Each field is `*`, a value, a range `A-B`, a step `*\/S`, `A-B/S` or
 * `A/S` (A to the field's end), or a comma list of those. Months take
 * JAN..DEC and days of the week SUN..SAT (case-insensitive); day of the
 * week 7 is Sunday too. As in Vixie cron, when both day fields are
 * restricted a day matches if either does. Shorthands: @yearly
 * (@annually), @monthly, @weekly, @daily (@midnight), @hourly. Times are
 * UTC minutes. Pure: no clock, no I/O. */
#ifndef RF_CRON_H
#define RF_CRON_H

#include <stdint.h>

#include "base/rf_err.h"

typedef struct rf_cron {
    uint64_t minute;      /* bit m: minute m (0..59) */
    uint32_t hour;        /* bit h (0..23) */
    uint32_t dom;         /* bit d (1..31) */
    uint16_t month;       /* bit m (1..12) */
    uint8_t dow;          /* bit d (0..6, 0 = Sunday) */
    int dom_any, dow_any; /* the field was `*` (or a step over all of it) */
} rf_cron;

/* Parse; -1 with RF_EINVAL saying which field is wrong and why, with the
 * column (1-based) in the expression. Also refused: expressions that never
 * fire (`0 0 30 2 *`). */
int rf_cron_parse(const char *expr, rf_cron *c, rf_err *err);

/* The first minute strictly after `after` (minutes since the epoch, UTC)
 * that c matches, within about five years; -1 if none. */
int64_t rf_cron_next(const rf_cron *c, int64_t after);

#endif
