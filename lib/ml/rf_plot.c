/* rf_plot: SVG line charts for training curves. */
#include "ml/rf_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PANEL_W = 460, PANEL_H = 320, MARGIN_L = 64, MARGIN_R = 16, MARGIN_T = 34,
       MARGIN_B = 46, TITLE_H = 30 };

static const char *const colors[RF_PLOT_MAXSERIES] = {
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"
};

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
                            "points='", colors[s],
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

static void legend(rf_buf *b, const rf_plot_panel *p, double ox, double oy, double w)
{
    double lw = 0;
    for (size_t s = 0; s < p->n_series; s++) {
        double tw = 7.0 * (double)strlen(p->series[s].name) + 34;
        lw = tw > lw ? tw : lw;
    }
    double x = ox + w - lw - 8, y = oy + 8, h = 18.0 * (double)p->n_series + 8;
    rf_buf_addf(b, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='#fff' "
                "fill-opacity='0.85' stroke='#bbb'/>\n", x, y, lw, h);
    for (size_t s = 0; s < p->n_series; s++) {
        double ly = y + 16 + 18.0 * (double)s;
        rf_buf_addf(b, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' "
                    "stroke-width='2'%s/><text x='%.1f' y='%.1f'>", x + 6, ly - 4, x + 26, ly - 4,
                    colors[s], p->series[s].dashed ? " stroke-dasharray='5 3'" : "", x + 30, ly);
        add_text(b, p->series[s].name);
        rf_buf_adds(b, "</text>\n");
    }
}

void rf_plot_svg(rf_buf *out, const char *title, const rf_plot_panel *panels, size_t n)
{
    double W = (double)(PANEL_W * (n ? n : 1)), H = PANEL_H + TITLE_H;
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
    for (size_t i = 0; i < n; i++) {
        const rf_plot_panel *p = &panels[i];
        double ox = (double)(PANEL_W * i + MARGIN_L), oy = TITLE_H + MARGIN_T;
        double w = PANEL_W - MARGIN_L - MARGIN_R, h = PANEL_H - MARGIN_T - MARGIN_B;
        range xr = x_range(p), yr = y_range(p);
        rf_buf_adds(out, "<g>\n");
        axes(out, p, ox, oy, w, h, xr, yr);
        lines(out, p, ox, oy, w, h, xr, yr);
        legend(out, p, ox, oy, w);
        rf_buf_adds(out, "</g>\n");
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
    double *col = rf_xmalloc((n ? n : 1) * 5 * sizeof *col);
    double *x = col, *tl = col + n, *vl = col + 2 * n, *ta = col + 3 * n, *va = col + 4 * n;
    for (size_t i = 0; i < n; i++) {
        x[i] = pts[i].epoch;
        tl[i] = pts[i].train_loss;
        vl[i] = pts[i].val_loss;
        ta[i] = pts[i].train_acc;
        va[i] = pts[i].val_acc;
    }
    rf_plot_panel p[2] = {
        {.title = "Loss", .xlabel = "epoch", .ylabel = "loss", .x = x, .n = n,
         .y_from_zero = 1},
        {.title = "Accuracy", .xlabel = "epoch", .ylabel = "accuracy", .x = x, .n = n,
         .y_unit = 1},
    };
    p[0].series[p[0].n_series++] = (rf_plot_series){"train", tl, 0};
    if (any_finite(vl, n))
        p[0].series[p[0].n_series++] = (rf_plot_series){"validation", vl, 1};
    if (any_finite(ta, n))
        p[1].series[p[1].n_series++] = (rf_plot_series){"train", ta, 0};
    if (any_finite(va, n))
        p[1].series[p[1].n_series++] = (rf_plot_series){"validation", va, 1};
    rf_plot_svg(out, title, p, p[1].n_series ? 2 : 1);
    free(col);
}
