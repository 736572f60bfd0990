/* rf_plot: SVG line charts for training curves. */
#include "ml/rf_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PLOT_W = 380, PANEL_H = 320, MARGIN_L = 64, MARGIN_R = 16, MARGIN_T = 34,
       MARGIN_B = 46, TITLE_H = 30, LEGEND_GAP = 12 };

#define NCOLORS 10
static const char *const colors[NCOLORS] = {
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22"
};

static const char *series_color(const rf_plot_series *se, size_t s)
{
    return colors[(se->group ? (size_t)se->color : s) % NCOLORS];
}

size_t rf_plot_ticks(double lo, double hi, size_t max, double *first, double *step)
{
    if (!(hi > lo) || max < 2) {
        *first = lo;
        *step = 1;
        return 1;
    }
    double raw = (hi - lo) / (double)(max - 1), mag = pow(10, floor(log10(raw)));
    double f = raw / mag, nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    *step = nice * mag;
    *first = ceil(lo / *step - 1e-9) * *step;
    size_t n = (size_t)floor((hi - *first) / *step + 1e-9) + 1;
    return n;
}

/* Escape text for SVG. */
static void add_text(rf_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': rf_buf_adds(b, "&lt;"); break;
        case '>': rf_buf_adds(b, "&gt;"); break;
        case '&': rf_buf_adds(b, "&amp;"); break;
        case '"': rf_buf_adds(b, "&quot;"); break;
        default: rf_buf_add(b, s, 1);
        }
    }
}

static void fmt_tick(char *buf, size_t n, double v, double step)
{
    if (fabs(v) < step * 1e-6)
        v = 0;
    if (step >= 1 && fabs(v) < 1e6)
        snprintf(buf, n, "%.0f", v);
    else if (step >= 1e-3 && fabs(v) < 1e6)
        snprintf(buf, n, "%.*f", (int)ceil(-log10(step) - 1e-9), v);
    else
        snprintf(buf, n, "%.2g", v);
}

typedef struct range {
    double lo, hi;
} range;

static range y_range(const rf_plot_panel *p)
{
    range r = {INFINITY, -INFINITY};
    for (size_t s = 0; s < p->n_series; s++)
        for (size_t i = 0; i < p->n; i++) {
            double v = p->series[s].y[i];
            if (isfinite(v)) {
                r.lo = v < r.lo ? v : r.lo;
                r.hi = v > r.hi ? v : r.hi;
            }
        }
    if (!isfinite(r.lo))
        r = (range){0, 1};
    if (p->y_from_zero && r.lo > 0)
        r.lo = 0;
    if (p->y_unit) {
        r.lo = r.lo < 0 ? 0 : r.lo;
        r.hi = 1;
    }
    if (r.hi - r.lo < 1e-12) {
        r.lo -= 0.5;
        r.hi += 0.5;
    }
    /* a little headroom so lines do not run along the frame */
    double pad = (r.hi - r.lo) * 0.04;
    if (!p->y_unit)
        r.hi += pad;
    if (r.lo != 0)
        r.lo -= pad;
    return r;
}

static range x_range(const rf_plot_panel *p)
{
    range r = {INFINITY, -INFINITY};
    for (size_t i = 0; i < p->n; i++) {
        r.lo = p->x[i] < r.lo ? p->x[i] : r.lo;
        r.hi = p->x[i] > r.hi ? p->x[i] : r.hi;
    }
    if (!isfinite(r.lo))
        r = (range){0, 1};
    if (r.hi - r.lo < 1e-12)
        r.hi = r.lo + 1;
    return r;
}

static void axes(rf_buf *b, const rf_plot_panel *p, double ox, double oy, double w, double h,
                 range xr, range yr)
{
    double first, step;
    char t[64];
    rf_buf_addf(b, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='#fff' "
                "stroke='#444'/>\n", ox, oy, w, h);
    size_t n = rf_plot_ticks(yr.lo, yr.hi, 6, &first, &step);
    for (size_t i = 0; i < n; i++) {
        double v = first + (double)i * step, y = oy + h - (v - yr.lo) / (yr.hi - yr.lo) * h;
        fmt_tick(t, sizeof t, v, step);
        rf_buf_addf(b, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#e5e5e5'/>"
                    "<text x='%.1f' y='%.1f' text-anchor='end'>%s</text>\n",
                    ox, y, ox + w, y, ox - 6, y + 4, t);
    }
    n = rf_plot_ticks(xr.lo, xr.hi, 8, &first, &step);
    if (step < 1 && xr.hi - xr.lo >= 1)   /* epochs are whole numbers */
        n = rf_plot_ticks(xr.lo, xr.hi, (size_t)(xr.hi - xr.lo) + 1, &first, &step);
    for (size_t i = 0; i < n; i++) {
        double v = first + (double)i * step, x = ox + (v - xr.lo) / (xr.hi - xr.lo) * w;
        fmt_tick(t, sizeof t, v, step);
        rf_buf_addf(b, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#444'/>"
                    "<text x='%.1f' y='%.1f' text-anchor='middle'>%s</text>\n",
                    x, oy + h, x, oy + h + 5, x, oy + h + 18, t);
    }
    rf_buf_addf(b, "<text x='%.1f' y='%.1f' text-anchor='middle'>", ox + w / 2, oy + h + 38);
    add_text(b, p->xlabel);
    rf_buf_addf(b, "</text>\n<text transform='translate(%.1f %.1f) rotate(-90)' "
                "text-anchor='middle'>", ox - 48, oy + h / 2);
    add_text(b, p->ylabel);
    rf_buf_addf(b, "</text>\n<text x='%.1f' y='%.1f' text-anchor='middle' font-weight='bold'>",
                ox + w / 2, oy - 10);
    add_text(b, p->title);
    rf_buf_adds(b, "</text>\n");
}

static void lines(rf_buf *b, const rf_plot_panel *p, double ox, double oy, double w, double h,
                  range xr, range yr)
{
    for (size_t s = 0; s < p->n_series; s++) {
        const rf_plot_series *se = &p->series[s];
        int open = 0;
        for (size_t i = 0; i <= p->n; i++) {
            int ok = i < p->n && isfinite(se->y[i]);
            if (ok && !open) {
                rf_buf_addf(b, "<polyline fill='none' stroke='%s' stroke-width='1.8'%s "
                            "points='", series_color(se, s),
                            se->dashed ? " stroke-dasharray='5 3'" : "");
                open = 1;
            } else if (!ok && open) {
                rf_buf_adds(b, "'/>\n");
                open = 0;
            }
            if (ok) {
                double x = ox + (p->x[i] - xr.lo) / (xr.hi - xr.lo) * w;
                double y = oy + h - (se->y[i] - yr.lo) / (yr.hi - yr.lo) * h;
                rf_buf_addf(b, "%.1f,%.1f ", x, y);
            }
        }
    }
}

/* A legend entry: a line sample (color, dashed) and a label. */
typedef struct entry {
    const char *label, *color;
    int dashed;
} entry;

/* The legend's entries: one per ungrouped series, one per group, and, when
 * groups mix solid and dashed lines, a neutral key for the two styles. */
static size_t legend_entries(const rf_plot_panel *p, entry *e, size_t max)
{
    size_t n = 0;
    int solid = 0, dashed = 0;
    for (size_t s = 0; s < p->n_series && n < max; s++) {
        const rf_plot_series *se = &p->series[s];
        if (!se->group) {
            e[n++] = (entry){se->name, series_color(se, s), se->dashed};
            continue;
        }
        *(se->dashed ? &dashed : &solid) = 1;
        int seen = 0;
        for (size_t i = 0; i < n && !seen; i++)
            seen = e[i].label == se->group || !strcmp(e[i].label, se->group);
        if (!seen)
            e[n++] = (entry){se->group, series_color(se, s), 0};
    }
    for (size_t s = 0; s < p->n_series && solid && dashed && n + 2 <= max; s++)
        if (p->series[s].group) {
            const char *train = NULL, *val = NULL;
            for (size_t i = 0; i < p->n_series; i++)
                if (p->series[i].group)
                    *(p->series[i].dashed ? &val : &train) = p->series[i].name;
            e[n++] = (entry){train, "#555", 0};
            e[n++] = (entry){val, "#555", 1};
            break;
        }
    return n;
}

static double legend_width(const rf_plot_panel *p)
{
    entry e[RF_PLOT_MAXSERIES + 2];
    size_t n = legend_entries(p, e, RF_PLOT_MAXSERIES + 2);
    double lw = 0;
    for (size_t i = 0; i < n; i++) {
        double tw = 7.0 * (double)strlen(e[i].label ? e[i].label : "") + 34;
        lw = tw > lw ? tw : lw;
    }
    return n ? lw : 0;
}

/* To the right of the frame at x, top aligned with it: never over a line. */
static void legend(rf_buf *b, const rf_plot_panel *p, double x, double oy)
{
    entry e[RF_PLOT_MAXSERIES + 2];
    size_t n = legend_entries(p, e, RF_PLOT_MAXSERIES + 2);
    if (!n)
        return;
    double lw = legend_width(p), y = oy, h = 18.0 * (double)n + 8;
    rf_buf_addf(b, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='#fff' "
                "stroke='#bbb'/>\n", x, y, lw, h);
    for (size_t i = 0; i < n; i++) {
        double ly = y + 16 + 18.0 * (double)i;
        rf_buf_addf(b, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' "
                    "stroke-width='2'%s/><text x='%.1f' y='%.1f'>", x + 6, ly - 4, x + 26, ly - 4,
                    e[i].color, e[i].dashed ? " stroke-dasharray='5 3'" : "", x + 30, ly);
        add_text(b, e[i].label);
        rf_buf_adds(b, "</text>\n");
    }
}

static double panel_width(const rf_plot_panel *p)
{
    double lw = legend_width(p);
    return MARGIN_L + PLOT_W + MARGIN_R + (lw > 0 ? lw + LEGEND_GAP : 0);
}

void rf_plot_svg(rf_buf *out, const char *title, const rf_plot_panel *panels, size_t n)
{
    double W = 0, H = PANEL_H + TITLE_H;
    for (size_t i = 0; i < n; i++)
        W += panel_width(&panels[i]);
    if (W == 0)
        W = MARGIN_L + PLOT_W + MARGIN_R;
    rf_buf_addf(out, "<?xml version='1.0' encoding='UTF-8'?>\n"
                "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
                "viewBox='0 0 %.0f %.0f' font-family='Helvetica, Arial, sans-serif' "
                "font-size='12' fill='#222'>\n<rect width='100%%' height='100%%' fill='#fafafa'/>\n",
                W, H, W, H);
    if (title) {
        rf_buf_addf(out, "<text x='%.1f' y='20' text-anchor='middle' font-size='15' "
                    "font-weight='bold'>", W / 2);
        add_text(out, title);
        rf_buf_adds(out, "</text>\n");
    }
    double left = 0;
    for (size_t i = 0; i < n; i++) {
        const rf_plot_panel *p = &panels[i];
        double ox = left + MARGIN_L, oy = TITLE_H + MARGIN_T;
        double w = PLOT_W, h = PANEL_H - MARGIN_T - MARGIN_B;
        range xr = x_range(p), yr = y_range(p);
        rf_buf_adds(out, "<g>\n");
        axes(out, p, ox, oy, w, h, xr, yr);
        lines(out, p, ox, oy, w, h, xr, yr);
        legend(out, p, ox + w + LEGEND_GAP, oy);
        rf_buf_adds(out, "</g>\n");
        left += panel_width(p);
    }
    rf_buf_adds(out, "</svg>\n");
}

static int any_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            return 1;
    return 0;
}

void rf_plot_training_svg(rf_buf *out, const char *title, const rf_plot_epoch *pts, size_t n)
{
    rf_plot_curve c = {NULL, pts, n, 0};
    rf_plot_curves_svg(out, title, "epoch", &c, 1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The sorted distinct x values of all curves: the shared axis. */
static size_t shared_x(const rf_plot_curve *c, size_t nc, double **out)
{
    size_t total = 0;
    for (size_t i = 0; i < nc; i++)
        total += c[i].n;
    double *x = rf_xmalloc((total ? total : 1) * sizeof *x);
    size_t k = 0;
    for (size_t i = 0; i < nc; i++)
        for (size_t j = 0; j < c[i].n; j++)
            x[k++] = c[i].x_offset + c[i].pts[j].epoch;
    qsort(x, k, sizeof *x, cmp_double);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || x[i] != x[u - 1])
            x[u++] = x[i];
    *out = x;
    return u;
}

static size_t x_index(const double *x, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void rf_plot_curves_svg(rf_buf *out, const char *title, const char *xlabel,
                        const rf_plot_curve *curves, size_t n)
{
    if (n > RF_PLOT_MAXCURVES)
        n = RF_PLOT_MAXCURVES;
    double *x;
    size_t nx = shared_x(curves, n, &x);
    /* four columns per curve: train loss, val loss, train acc, val acc */
    size_t cols = 4 * (n ? n : 1) * (nx ? nx : 1);
    double *y = rf_xmalloc(cols * sizeof *y);
    for (size_t i = 0; i < cols; i++)
        y[i] = NAN;
    rf_plot_panel p[2] = {
        {.title = "Loss", .xlabel = xlabel, .ylabel = "loss", .x = x, .n = nx,
         .y_from_zero = 1},
        {.title = "Accuracy", .xlabel = xlabel, .ylabel = "accuracy", .x = x, .n = nx,
         .y_unit = 1},
    };
    for (size_t c = 0; c < n; c++) {
        double *col[4];
        for (int k = 0; k < 4; k++)
            col[k] = y + (4 * c + (size_t)k) * nx;
        for (size_t j = 0; j < curves[c].n; j++) {
            const rf_plot_epoch *e = &curves[c].pts[j];
            size_t i = x_index(x, nx, curves[c].x_offset + e->epoch);
            col[0][i] = e->train_loss;
            col[1][i] = e->val_loss;
            col[2][i] = e->train_acc;
            col[3][i] = e->val_acc;
        }
        const char *g = curves[c].label;
        rf_plot_panel *pl[4] = {&p[0], &p[0], &p[1], &p[1]};
        for (int k = 0; k < 4; k++)
            if (k == 0 || any_finite(col[k], nx))
                pl[k]->series[pl[k]->n_series++] = (rf_plot_series){
                    k % 2 ? "validation" : "train", col[k], k % 2, g, (int)c};
    }
    rf_plot_svg(out, title, p, p[1].n_series ? 2 : 1);
    free(y);
    free(x);
}
