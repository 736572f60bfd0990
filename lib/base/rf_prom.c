/* rf_prom: Prometheus text format and histograms; see rf_prom.h. */
#include "base/rf_prom.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int rf_prom_name_valid(const char *name)
{
    if (!name || !*name)
        return 0;
    for (const char *p = name; *p; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                    *p == ':';
        if (!alpha && !(p > name && *p >= '0' && *p <= '9'))
            return 0;
    }
    return 1;
}

/* HELP text escapes backslash and newline; label values also the quote. */
static void add_escaped(rf_buf *b, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            rf_buf_adds(b, "\\\\");
        else if (*s == '\n')
            rf_buf_adds(b, "\\n");
        else if (*s == '"' && quote)
            rf_buf_adds(b, "\\\"");
        else
            rf_buf_add(b, s, 1);
    }
}

void rf_prom_family(rf_buf *b, const char *name, const char *type, const char *help)
{
    rf_buf_addf(b, "# HELP %s ", name);
    add_escaped(b, help, 0);
    rf_buf_addf(b, "\n# TYPE %s %s\n", name, type);
}

static void add_value(rf_buf *b, double v)
{
    if (isnan(v))
        rf_buf_adds(b, "NaN");
    else if (isinf(v))
        rf_buf_adds(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9.007199254740992e15)
        rf_buf_addf(b, "%.0f", v);
    else
        rf_buf_addf(b, "%.17g", v);
}

/* {a="x",b="y"} plus an optional extra pair (the histogram's le). */
static void add_labels(rf_buf *b, const char *const *labels, const char *xk, const char *xv)
{
    int any = 0;
    for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
        rf_buf_adds(b, any ? "," : "{");
        rf_buf_addf(b, "%s=\"", labels[i]);
        add_escaped(b, labels[i + 1], 1);
        rf_buf_adds(b, "\"");
        any = 1;
    }
    if (xk) {
        rf_buf_adds(b, any ? "," : "{");
        rf_buf_addf(b, "%s=\"%s\"", xk, xv);
        any = 1;
    }
    if (any)
        rf_buf_adds(b, "}");
}

void rf_prom_sample(rf_buf *b, const char *name, const char *const *labels, double value)
{
    rf_buf_adds(b, name);
    add_labels(b, labels, NULL, NULL);
    rf_buf_adds(b, " ");
    add_value(b, value);
    rf_buf_adds(b, "\n");
}

void rf_prom_hist_init(rf_prom_hist *h, const double *bounds, size_t nbounds)
{
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->nbounds = nbounds > RF_PROM_MAX_BUCKETS ? RF_PROM_MAX_BUCKETS : nbounds;
}

void rf_prom_hist_observe(rf_prom_hist *h, double v)
{
    size_t i = 0;
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

void rf_prom_hist_write(rf_buf *b, const char *name, const char *const *labels,
                        const rf_prom_hist *h)
{
    char bucket[256], le[64];
    snprintf(bucket, sizeof bucket, "%s_bucket", name);
    uint64_t cum = 0;
    for (size_t i = 0; i <= h->nbounds; i++) {
        cum += h->counts[i];
        if (i < h->nbounds)
            snprintf(le, sizeof le, "%.15g", h->bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        rf_buf_adds(b, bucket);
        add_labels(b, labels, "le", le);
        rf_buf_addf(b, " %llu\n", (unsigned long long)cum);
    }
    char sub[256];
    snprintf(sub, sizeof sub, "%s_sum", name);
    rf_prom_sample(b, sub, labels, h->sum);
    snprintf(sub, sizeof sub, "%s_count", name);
    rf_prom_sample(b, sub, labels, (double)h->count);
}
