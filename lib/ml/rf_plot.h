/* rf_plot: training curves as a hand-written SVG.
 *
 * A figure is one or more panels side by side; a panel has axes with
 * "nice" ticks (1, 2, 5 x 10^k), a title, axis labels, a legend, and line
 * series. NaN y values break a line (a missing validation point), so
 * partial curves draw honestly. The SVG is self-contained (no scripts,
 * no external fonts) and small: one <polyline> per series. */
#ifndef RF_PLOT_H
#define RF_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/rf_buf.h"

#define RF_PLOT_MAXCURVES 16   /* tasks drawn in one figure */
#define RF_PLOT_MAXSERIES (2 * RF_PLOT_MAXCURVES)

typedef struct rf_plot_series {
    const char *name;
    const double *y;          /* n values, NaN = gap */
    int dashed;
    const char *group;        /* NULL: own color and legend entry; else series of
                                 one group share a color and one legend entry, and
                                 the legend explains solid and dashed once */
    int color;                /* palette index (used with group) */
} rf_plot_series;

typedef struct rf_plot_panel {
    const char *title, *xlabel, *ylabel;
    const double *x;          /* n shared x values */
    size_t n;
    rf_plot_series series[RF_PLOT_MAXSERIES];
    size_t n_series;
    int y_from_zero;          /* include 0 in the y range */
    int y_unit;               /* clamp the y range to [0, 1] (accuracies) */
} rf_plot_panel;

/* Append an SVG document with the panels side by side to out. The legend
 * of each panel stands to the right of its frame, never over the lines. */
void rf_plot_svg(rf_buf *out, const char *title, const rf_plot_panel *panels, size_t n);

/* One epoch of a training curve (fields NaN when unknown). */
typedef struct rf_plot_epoch {
    double epoch, train_loss, val_loss, train_acc, val_acc;
} rf_plot_epoch;

/* The usual figure: loss (train, validation) and, when any accuracy is
 * known, accuracy (train, validation), against the epoch. */
void rf_plot_training_svg(rf_buf *out, const char *title, const rf_plot_epoch *pts, size_t n);

/* One task's curve: its points (any order) drawn from x_offset + epoch. */
typedef struct rf_plot_curve {
    const char *label;        /* legend entry, e.g. "curriculum/1" */
    const rf_plot_epoch *pts;
    size_t n;
    double x_offset;          /* chain stages: the epochs before this one */
} rf_plot_curve;

/* Several tasks on shared axes, one color per curve (train solid,
 * validation dashed); at most RF_PLOT_MAXCURVES are drawn. */
void rf_plot_curves_svg(rf_buf *out, const char *title, const char *xlabel,
                        const rf_plot_curve *curves, size_t n);

/* Nice axis ticks over [lo, hi]: *step and the first tick; returns the
 * count (<= max). Exposed for tests. */
size_t rf_plot_ticks(double lo, double hi, size_t max, double *first, double *step);

#endif
