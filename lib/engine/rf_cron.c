/* rf_cron: cron expression parsing and next fire times; see rf_cron.h. */
#include "engine/rf_cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct field {
    const char *name;
    int lo, hi;
    const char *const *names;   /* names[i] is lo + i; NULL: numbers only */
} field;

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                     "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const field fields[5] = {
    {"minute", 0, 59, NULL},
    {"hour", 0, 23, NULL},
    {"day of month", 1, 31, NULL},
    {"month", 1, 12, months},
    {"day of week", 0, 7, days},   /* 7 is Sunday too */
};

#define CRON_MAX_LEN 256

/* A number or a name of the field at *s; advances *s. */
static int value(const field *f, const char **s, int *out)
{
    const char *p = *s;
    if (isdigit((unsigned char)*p)) {
        long v = 0;
        while (isdigit((unsigned char)*p) && v < 1000)
            v = v * 10 + (*p++ - '0');
        *out = (int)v;
        *s = p;
        return 0;
    }
    for (int i = 0; f->names && f->names[i]; i++)
        if (!strncasecmp(p, f->names[i], 3) && !isalpha((unsigned char)p[3])) {
            *out = f->lo + i;
            *s = p + 3;
            return 0;
        }
    return -1;
}

static int bad(rf_err *err, const char *expr, const char *at, const field *f,
               const char *why)
{
    return rf_errf(err, RF_EINVAL, "cron expression \"%s\": column %d, %s field: %s",
                   expr, (int)(at - expr) + 1, f->name, why);
}

/* One field's text [s, end) into bits; *any when it covers the whole field. */
static int parse_field(const char *expr, const char *s, const char *end, const field *f,
                       uint64_t *bits, int *any, rf_err *err)
{
    char why[128];
    *bits = 0;
    /* As Vixie cron: a field that starts with a star (with a step too) is
     * unrestricted for the either-day rule. */
    *any = *s == '*';
    while (s < end) {
        const char *item = s;
        int lo = f->lo, hi = f->hi, step = 1;
        if (*s == '*') {
            s++;
        } else {
            if (value(f, &s, &lo) < 0)
                return bad(err, expr, s, f, f->names ? "expected a number, a name "
                           "(as JAN or MON), * or a range" : "expected a number, * or a range");
            hi = lo;
            if (*s == '-') {
                s++;
                if (value(f, &s, &hi) < 0)
                    return bad(err, expr, s, f, "expected the end of the range");
            } else if (*s == '/') {
                hi = f->hi;           /* A/S: from A to the end */
            }
        }
        if (*s == '/') {
            s++;
            const char *at = s;
            if (value(&fields[0], &s, &step) < 0 || step < 1)
                return bad(err, expr, at, f, "expected a step of 1 or more after /");
        }
        if (s < end && *s != ',')
            return bad(err, expr, s, f, "unexpected character; use numbers, names, "
                       "*, -, / and ,");
        if (lo < f->lo || hi > f->hi || lo > hi) {
            snprintf(why, sizeof why, "%d-%d is outside %d-%d (or backwards)", lo, hi,
                     f->lo, f->hi);
            return bad(err, expr, item, f, why);
        }
        for (int v = lo; v <= hi; v += step)
            *bits |= 1ull << v;
        if (s < end)
            s++;              /* the comma */
        if (s == end && s[-1] == ',')
            return bad(err, expr, s - 1, f, "a list may not end with a comma");
    }
    return 0;
}

static const char *shorthand(const char *expr)
{
    static const char *const map[][2] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"}, {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcasecmp(expr, map[i][0]))
            return map[i][1];
    return NULL;
}

int rf_cron_parse(const char *expr, rf_cron *c, rf_err *err)
{
    memset(c, 0, sizeof *c);
    if (strlen(expr) > CRON_MAX_LEN)
        return rf_errf(err, RF_EINVAL, "cron expression longer than %d characters",
                       CRON_MAX_LEN);
    const char *text = expr[0] == '@' ? shorthand(expr) : expr;
    if (!text)
        return rf_errf(err, RF_EINVAL, "cron expression \"%s\": unknown shorthand; use "
                       "@yearly, @monthly, @weekly, @daily, @hourly or 5 fields", expr);
    uint64_t bits[5];
    int any[5], n = 0;
    const char *s = text;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        const char *end = s;
        while (*end && *end != ' ' && *end != '\t')
            end++;
        if (n == 5)
            return rf_errf(err, RF_EINVAL, "cron expression \"%s\": more than 5 fields "
                           "(minute hour day-of-month month day-of-week)", expr);
        if (parse_field(text, s, end, &fields[n], &bits[n], &any[n], err) < 0)
            return -1;
        n++;
        s = end;
    }
    if (n < 5)
        return rf_errf(err, RF_EINVAL, "cron expression \"%s\": %d field%s; expected 5: "
                       "minute hour day-of-month month day-of-week (e.g. \"*/15 * * * *\")",
                       expr, n, n == 1 ? "" : "s");
    c->minute = bits[0];
    c->hour = (uint32_t)bits[1];
    c->dom = (uint32_t)bits[2];
    c->month = (uint16_t)bits[3];
    c->dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f);   /* 7 is Sunday */
    c->dom_any = any[2];
    c->dow_any = any[4];
    if (rf_cron_next(c, 0) < 0 && rf_cron_next(c, 4 * 366 * 1440) < 0)
        return rf_errf(err, RF_EINVAL, "cron expression \"%s\" never fires (no such "
                       "date); check the day of month and month", expr);
    return 0;
}

/* Days since the epoch to year, month (1..12), day (1..31): Howard
 * Hinnant's civil_from_days. */
static void civil(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int day_matches(const rf_cron *c, int64_t day)
{
    int y, m, d;
    civil(day, &y, &m, &d);
    int wd = (int)(((day % 7) + 11) % 7);   /* 1970-01-01 was a Thursday (4) */
    if (!(c->month >> m & 1))
        return 0;
    int dom = (int)(c->dom >> d & 1), dow = c->dow >> wd & 1;
    if (c->dom_any && c->dow_any)
        return 1;
    if (c->dom_any)
        return dow;
    if (c->dow_any)
        return dom;
    return dom || dow;
}

int64_t rf_cron_next(const rf_cron *c, int64_t after)
{
    int64_t t = after + 1;
    if (t < 0)
        t = 0;
    int64_t day = t / 1440;
    int first = (int)(t % 1440);
    for (int64_t k = 0; k < 5 * 366 + 2; k++, day++, first = 0) {
        if (!day_matches(c, day))
            continue;
        for (int h = first / 60; h < 24; h++) {
            if (!(c->hour >> h & 1))
                continue;
            for (int mi = h == first / 60 ? first % 60 : 0; mi < 60; mi++)
                if (c->minute >> mi & 1)
                    return day * 1440 + h * 60 + mi;
        }
    }
    return -1;
}
