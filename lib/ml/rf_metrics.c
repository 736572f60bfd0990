/* rf_metrics: prediction metrics and their aggregation across folds.
 * See rf_metrics.h for the conventions. */
#include "ml/rf_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "ml/rf_dataset.h"

#define LOGLOSS_EPS 1e-15

/* ---- classification ----------------------------------------------------- */

static size_t argmax(const float *p, size_t k)
{
    size_t best = 0;
    for (size_t j = 1; j < k; j++)
        if (p[j] > p[best])
            best = j;
    return best;
}

static int check_class_inputs(const rf_preds *p, rf_err *err)
{
    if (p->n_classes < 1)
        return rf_errf(err, RF_EINVAL, "classification metrics need at least one class");
    if (!p->prob && !p->pred)
        return rf_errf(err, RF_EINVAL, "no predictions (neither classes nor probabilities)");
    for (size_t i = 0; i < p->n; i++) {
        if (p->y_class[i] < 0 || (size_t)p->y_class[i] >= p->n_classes)
            return rf_errf(err, RF_EINVAL, "row %zu: true class %d outside [0, %zu)",
                           i, (int)p->y_class[i], p->n_classes);
        if (p->pred && (p->pred[i] < 0 || (size_t)p->pred[i] >= p->n_classes))
            return rf_errf(err, RF_EINVAL, "row %zu: predicted class %d outside [0, %zu)",
                           i, (int)p->pred[i], p->n_classes);
        for (size_t j = 0; p->prob && j < p->n_classes; j++)
            if (!isfinite(p->prob[i * p->n_classes + j]))
                return rf_errf(err, RF_EINVAL, "row %zu: prediction %zu is %s", i, j,
                               isnan(p->prob[i * p->n_classes + j]) ? "NaN" : "infinite");
    }
    return 0;
}

static double log_loss(const rf_preds *p)
{
    double sum = 0;
    size_t k = p->n_classes;
    for (size_t i = 0; i < p->n; i++) {
        const float *row = p->prob + i * k;
        double total = 0, mine = 0;
        for (size_t j = 0; j < k; j++) {
            double q = fmin(fmax(row[j], LOGLOSS_EPS), 1 - LOGLOSS_EPS);
            total += q;
            if ((int32_t)j == p->y_class[i])
                mine = q;
        }
        sum -= log(mine / total);
    }
    return sum / (double)p->n;
}

static double safe_div(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static int classification(const rf_preds *p, rf_cls_metrics *m, rf_err *err)
{
    if (check_class_inputs(p, err) < 0)
        return -1;
    size_t k = p->n_classes;
    m->n = p->n;
    m->n_classes = k;
    m->confusion = rf_xcalloc(k * k, sizeof *m->confusion);
    m->support = rf_xcalloc(k, sizeof *m->support);
    m->precision = rf_xcalloc(k, sizeof *m->precision);
    m->recall = rf_xcalloc(k, sizeof *m->recall);
    m->f1 = rf_xcalloc(k, sizeof *m->f1);
    uint64_t *predicted = rf_xcalloc(k, sizeof *predicted);
    uint64_t correct = 0;
    for (size_t i = 0; i < p->n; i++) {
        size_t t = (size_t)p->y_class[i];
        size_t q = p->pred ? (size_t)p->pred[i] : argmax(p->prob + i * k, k);
        m->confusion[t * k + q]++;
        m->support[t]++;
        predicted[q]++;
        correct += t == q;
    }
    size_t present = 0;
    double sp = 0, sr = 0, sf = 0;
    for (size_t c = 0; c < k; c++) {
        double tp = (double)m->confusion[c * k + c];
        m->precision[c] = safe_div(tp, (double)predicted[c]);
        m->recall[c] = safe_div(tp, (double)m->support[c]);
        m->f1[c] = safe_div(2 * tp, (double)(predicted[c] + m->support[c]));
        if (predicted[c] || m->support[c]) {
            present++;
            sp += m->precision[c];
            sr += m->recall[c];
            sf += m->f1[c];
        }
    }
    free(predicted);
    m->accuracy = (double)correct / (double)p->n;
    /* Single-label: micro precision = micro recall = micro F1 = accuracy. */
    m->f1_micro = m->accuracy;
    m->precision_macro = sp / (double)present;
    m->recall_macro = sr / (double)present;
    m->f1_macro = sf / (double)present;
    m->log_loss = p->prob ? log_loss(p) : NAN;
    return 0;
}

static void cls_free(rf_cls_metrics *m)
{
    free(m->precision);
    free(m->recall);
    free(m->f1);
    free(m->support);
    free(m->confusion);
    memset(m, 0, sizeof *m);
}

/* ---- regression --------------------------------------------------------- */

static int check_reg_inputs(const rf_preds *p, rf_err *err)
{
    if (p->n_targets < 1)
        return rf_errf(err, RF_EINVAL, "regression metrics need at least one target");
    for (size_t i = 0; i < p->n * p->n_targets; i++)
        if (!isfinite(p->y_hat[i]))
            return rf_errf(err, RF_EINVAL, "row %zu: prediction %zu is %s",
                           i / p->n_targets, i % p->n_targets,
                           isnan(p->y_hat[i]) ? "NaN" : "infinite");
    return 0;
}

static int sign(double x)
{
    return (x > 0) - (x < 0);
}

/* One target column (stride n_targets); accumulates into m, which the
 * caller divides by the number of targets. */
static void reg_target(const rf_preds *p, size_t j, int time_series,
                       rf_reg_metrics *m, double *ape, uint64_t *ape_n,
                       uint64_t *hits, uint64_t *steps)
{
    size_t n = p->n, t = p->n_targets;
    double mean = 0, se = 0, ae = 0, ss_tot = 0;
    for (size_t i = 0; i < n; i++)
        mean += p->y_reg[i * t + j];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double y = p->y_reg[i * t + j], e = y - p->y_hat[i * t + j];
        se += e * e;
        ae += fabs(e);
        ss_tot += (y - mean) * (y - mean);
        if (y != 0) {
            *ape += fabs(e) / fabs(y);
            (*ape_n)++;
        } else {
            m->mape_zero++;
        }
        if (time_series && i > 0) {
            double prev = p->y_reg[(i - 1) * t + j];
            *hits += sign(y - prev) == sign(p->y_hat[i * t + j] - prev);
            (*steps)++;
        }
    }
    m->mse += se / (double)n;
    m->mae += ae / (double)n;
    m->r2 += ss_tot > 0 ? 1 - se / ss_tot : (se == 0 ? 1 : 0);
}

static int regression(const rf_preds *p, int time_series, rf_reg_metrics *m,
                      rf_err *err)
{
    if (check_reg_inputs(p, err) < 0)
        return -1;
    double ape = 0;
    uint64_t ape_n = 0, hits = 0, steps = 0;
    memset(m, 0, sizeof *m);
    m->n = p->n;
    m->n_targets = p->n_targets;
    for (size_t j = 0; j < p->n_targets; j++)
        reg_target(p, j, time_series, m, &ape, &ape_n, &hits, &steps);
    double t = (double)p->n_targets;
    m->mse /= t;
    m->mae /= t;
    m->r2 /= t;
    m->rmse = sqrt(m->mse);
    m->mape = ape_n ? ape / (double)ape_n : NAN;
    m->directional = steps ? (double)hits / (double)steps : NAN;
    return 0;
}

/* ---- entry points ------------------------------------------------------- */

int rf_metrics_compute(const rf_preds *p, int time_series, rf_metrics *m,
                       rf_err *err)
{
    memset(m, 0, sizeof *m);
    m->kind = p->kind;
    if (p->n == 0)
        return rf_errf(err, RF_EINVAL, "no rows to evaluate");
    if (p->kind == RF_CLASSIFICATION)
        return classification(p, &m->cls, err);
    if (p->kind == RF_REGRESSION)
        return regression(p, time_series, &m->reg, err);
    return rf_errf(err, RF_EINVAL, "unknown task kind %d", p->kind);
}

void rf_metrics_free(rf_metrics *m)
{
    if (m->kind == RF_CLASSIFICATION)
        cls_free(&m->cls);
}

/* Gathers the rows with key == j into owned copies that *sub borrows. */
typedef struct gathered {
    int32_t *y_class, *pred;
    float *prob, *y_reg, *y_hat;
} gathered;

static void gather(const rf_preds *p, const int32_t *key, int32_t j,
                   size_t count, rf_preds *sub, gathered *g)
{
    size_t k = p->n_classes, t = p->n_targets, r = 0;
    memset(g, 0, sizeof *g);
    *sub = *p;
    sub->n = count;
    if (p->kind == RF_CLASSIFICATION) {
        g->y_class = rf_xmalloc(count * sizeof *g->y_class);
        g->pred = p->pred ? rf_xmalloc(count * sizeof *g->pred) : NULL;
        g->prob = p->prob ? rf_xmalloc(count * k * sizeof *g->prob) : NULL;
    } else {
        g->y_reg = rf_xmalloc(count * t * sizeof *g->y_reg);
        g->y_hat = rf_xmalloc(count * t * sizeof *g->y_hat);
    }
    for (size_t i = 0; i < p->n; i++) {
        if (key[i] != j)
            continue;
        if (p->kind == RF_CLASSIFICATION) {
            g->y_class[r] = p->y_class[i];
            if (g->pred)
                g->pred[r] = p->pred[i];
            if (g->prob)
                memcpy(g->prob + r * k, p->prob + i * k, k * sizeof *g->prob);
        } else {
            memcpy(g->y_reg + r * t, p->y_reg + i * t, t * sizeof *g->y_reg);
            memcpy(g->y_hat + r * t, p->y_hat + i * t, t * sizeof *g->y_hat);
        }
        r++;
    }
    sub->y_class = g->y_class;
    sub->pred = g->pred;
    sub->prob = g->prob;
    sub->y_reg = g->y_reg;
    sub->y_hat = g->y_hat;
}

static void gathered_free(gathered *g)
{
    free(g->y_class);
    free(g->pred);
    free(g->prob);
    free(g->y_reg);
    free(g->y_hat);
}

int rf_metrics_by_key(const rf_preds *p, const int32_t *key, size_t n_keys,
                      rf_metrics *out, size_t *count, rf_err *err)
{
    memset(out, 0, n_keys * sizeof *out);
    memset(count, 0, n_keys * sizeof *count);
    for (size_t i = 0; i < p->n; i++)
        if (key[i] >= 0 && (size_t)key[i] < n_keys)
            count[key[i]]++;
    for (size_t j = 0; j < n_keys; j++) {
        if (!count[j])
            continue;
        rf_preds sub;
        gathered g;
        gather(p, key, (int32_t)j, count[j], &sub, &g);
        int rc = rf_metrics_compute(&sub, 0, &out[j], err);
        gathered_free(&g);
        if (rc < 0) {
            for (size_t i = 0; i < j; i++)
                rf_metrics_free(&out[i]);
            return rf_err_prefix(err, "breakdown %zu", j);
        }
    }
    return 0;
}

/* ---- Student t ---------------------------------------------------------- */

/* One step of the modified Lentz algorithm: updates c and d with the
 * next partial numerator and returns the factor to multiply into h. */
static double lentz_step(double num, double *c, double *d)
{
    const double tiny = 1e-300;
    *d = 1 + num * *d;
    if (fabs(*d) < tiny)
        *d = tiny;
    *c = 1 + num / *c;
    if (fabs(*c) < tiny)
        *c = tiny;
    *d = 1 / *d;
    return *d * *c;
}

/* Continued fraction of the incomplete beta (Numerical Recipes' betacf),
 * valid for x < (a + 1) / (a + b + 2); the caller uses the symmetry
 * I_x(a, b) = 1 - I_{1-x}(b, a) otherwise. */
static double beta_cf(double a, double b, double x)
{
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < 1e-300)
        d = 1e-300;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        double m2 = 2.0 * m;
        h *= lentz_step(m * (b - m) * x / ((a + m2 - 1) * (a + m2)), &c, &d);
        double del = lentz_step(-(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1)),
                                &c, &d);
        h *= del;
        if (fabs(del - 1) < 1e-16)
            break;
    }
    return h;
}

/* Regularized incomplete beta I_x(a, b). */
static double beta_inc(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2))
        return exp(lbt) * beta_cf(a, b, x) / a;
    return 1 - exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

double rf_student_t_cdf(double t, double df)
{
    if (isnan(t) || !(df > 0))
        return NAN;
    double tail = 0.5 * beta_inc(df / 2, 0.5, df / (df + t * t));
    return t > 0 ? 1 - tail : tail;
}

double rf_student_t_quantile(double p, double df)
{
    if (!(p > 0 && p < 1) || !(df > 0))
        return NAN;
    if (p == 0.5)
        return 0;
    if (p < 0.5)
        return -rf_student_t_quantile(1 - p, df);
    /* The CDF is monotone: bracket, then bisect to machine precision. */
    double lo = 0, hi = 1;
    while (rf_student_t_cdf(hi, df) < p && hi < 1e300)
        lo = hi, hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (rf_student_t_cdf(mid, df) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

void rf_metrics_aggregate(const double *v, size_t n, double confidence, rf_agg *a)
{
    double sum = 0;
    a->n = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            sum += v[i], a->n++;
    a->mean = a->n ? sum / (double)a->n : NAN;
    a->std = a->ci_low = a->ci_high = NAN;
    if (a->n < 2)
        return;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            ss += (v[i] - a->mean) * (v[i] - a->mean);
    a->std = sqrt(ss / (double)(a->n - 1));
    double t = rf_student_t_quantile(0.5 + confidence / 2, (double)(a->n - 1));
    double half = t * a->std / sqrt((double)a->n);
    a->ci_low = a->mean - half;
    a->ci_high = a->mean + half;
}
