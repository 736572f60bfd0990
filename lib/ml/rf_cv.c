/* rf_cv: cross-validation fold assignment. See rf_cv.h. */
#include "ml/rf_cv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"

static const char *const scheme_names[] = {
    "kfold", "stratified", "group", "stratified-group", "timeseries"
};
#define N_SCHEMES (sizeof scheme_names / sizeof *scheme_names)

void rf_cv_spec_default(rf_cv_spec *s)
{
    memset(s, 0, sizeof *s);
    s->scheme = RF_CV_KFOLD;
    s->folds = 5;
    s->seed = 42;
    s->shuffle = 1;
}

int rf_cv_scheme_parse(const char *s)
{
    for (size_t i = 0; s && i < N_SCHEMES; i++)
        if (!strcmp(s, scheme_names[i]))
            return (int)i;
    return -1;
}

const char *rf_cv_scheme_name(int scheme)
{
    return scheme >= 0 && (size_t)scheme < N_SCHEMES ? scheme_names[scheme] : "?";
}

/* splitmix64: tiny, seedable with any value, good enough to shuffle rows;
 * private so that a split depends on nothing but the seed. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias. */
static size_t rng_below(uint64_t *s, size_t n)
{
    uint64_t lim = UINT64_MAX - UINT64_MAX % n, r;
    do
        r = rng_next(s);
    while (r >= lim);
    return (size_t)(r % n);
}

static void shuffle(size_t *a, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(rng, i), t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* ---- kfold ------------------------------------------------------------ */

static void assign_kfold(const rf_cv_spec *s, size_t n, int32_t *fold)
{
    size_t *perm = rf_xmalloc((n ? n : 1) * sizeof *perm);
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    uint64_t rng = s->seed;
    if (s->shuffle)
        shuffle(perm, n, &rng);
    /* The first n % k blocks take one extra row, as scikit-learn's KFold. */
    size_t k = s->folds, pos = 0;
    for (size_t f = 0; f < k; f++) {
        size_t size = n / k + (f < n % k);
        for (size_t j = 0; j < size; j++)
            fold[perm[pos++]] = (int32_t)f;
    }
    free(perm);
}

/* ---- stratified ------------------------------------------------------- */

/* Counts rows per class into cnt (n_classes); fails on labels out of range. */
static int count_classes(const rf_cv_rows *r, size_t *cnt, rf_err *err)
{
    memset(cnt, 0, r->n_classes * sizeof *cnt);
    for (size_t i = 0; i < r->n; i++) {
        int32_t c = r->label[i];
        if (c < 0 || (size_t)c >= r->n_classes)
            return rf_errf(err, RF_EINVAL, "row %zu: class %d outside [0, %zu)",
                           i, (int)c, r->n_classes);
        cnt[c]++;
    }
    return 0;
}

/* Why stratification cannot work for these rows and k, or 0 if it can:
 * 1 no labels, 2 a single class, 3 a class with fewer rows than folds. */
static int strat_problem(const rf_cv_rows *r, size_t k, const size_t *cnt,
                         size_t *rarest, size_t *present)
{
    if (!r->label || r->n_classes == 0)
        return 1;
    *present = 0;
    *rarest = SIZE_MAX;
    for (size_t c = 0; c < r->n_classes; c++) {
        if (!cnt[c])
            continue;
        (*present)++;
        if (cnt[c] < *rarest)
            *rarest = cnt[c];
    }
    if (*present < 2)
        return 2;
    return *rarest < k ? 3 : 0;
}

static int strat_error(int why, size_t k, size_t rarest, int fallback,
                       const char *weaker, char *note, rf_err *err)
{
    char msg[200];
    if (why == 1)
        snprintf(msg, sizeof msg, "stratification needs class labels (the dataset has none)");
    else if (why == 2)
        snprintf(msg, sizeof msg, "stratification is meaningless with a single class");
    else
        snprintf(msg, sizeof msg, "%zu folds but the rarest class has only %zu row%s",
                 k, rarest, rarest == 1 ? "" : "s");
    if (!fallback)
        return rf_errf(err, RF_EINVAL, "%s (set fallback=true to use %s instead)",
                       msg, weaker);
    if (note)
        snprintf(note, 256, "%s: fell back to %s", msg, weaker);
    return 0;
}

static void assign_stratified(const rf_cv_spec *s, const rf_cv_rows *r,
                              const size_t *cnt, int32_t *fold)
{
    /* Rows ordered by class, shuffled within each class, then dealt
     * round-robin: each class is one contiguous run, so every fold gets
     * floor or ceil of n_c / k of it, and fold sizes differ by at most one. */
    size_t *start = rf_xcalloc(r->n_classes + 1, sizeof *start);
    for (size_t c = 0; c < r->n_classes; c++)
        start[c + 1] = start[c] + cnt[c];
    size_t *order = rf_xmalloc((r->n ? r->n : 1) * sizeof *order);
    size_t *fill = rf_xmalloc((r->n_classes ? r->n_classes : 1) * sizeof *fill);
    memcpy(fill, start, r->n_classes * sizeof *fill);
    for (size_t i = 0; i < r->n; i++)
        order[fill[r->label[i]]++] = i;
    uint64_t rng = s->seed;
    if (s->shuffle)
        for (size_t c = 0; c < r->n_classes; c++)
            shuffle(order + start[c], cnt[c], &rng);
    for (size_t i = 0; i < r->n; i++)
        fold[order[i]] = (int32_t)(i % s->folds);
    free(start);
    free(order);
    free(fill);
}

/* ---- groups ----------------------------------------------------------- */

typedef struct group {
    int32_t id;
    size_t index;       /* position in ascending-id order */
    size_t size;
    uint64_t key;       /* seeded tie break */
    double spread;      /* stratified-group: std of its class counts */
    size_t first, n_pairs;  /* stratified-group: its (class, count) pairs */
    int32_t fold;
} group;

/* A group's rows per class, sparse: most groups hold few of the classes. */
typedef struct class_count {
    uint32_t cls;
    uint32_t count;
} class_count;

static int cmp_row_group(const void *a, const void *b, void *g)
{
    const int32_t *grp = g;
    int32_t x = grp[*(const size_t *)a], y = grp[*(const size_t *)b];
    if (x != y)
        return (x > y) - (x < y);
    /* equal groups keep row order, so that everything below is stable */
    return (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

/* Distinct groups of the rows, in ascending id order; row_group[i] is the
 * index of row i's group; *order receives the rows sorted by group. */
static group *collect_groups(const rf_cv_rows *r, size_t *ng, size_t *row_group,
                             size_t **order)
{
    size_t *idx = rf_xmalloc((r->n ? r->n : 1) * sizeof *idx);
    for (size_t i = 0; i < r->n; i++)
        idx[i] = i;
    qsort_r(idx, r->n, sizeof *idx, cmp_row_group, (void *)r->group);
    group *g = rf_xcalloc(r->n ? r->n : 1, sizeof *g);
    size_t m = 0;
    for (size_t i = 0; i < r->n; i++) {
        int32_t id = r->group[idx[i]];
        if (m == 0 || g[m - 1].id != id) {
            g[m].id = id;
            g[m].index = m;
            m++;
        }
        g[m - 1].size++;
        row_group[idx[i]] = m - 1;
    }
    *order = idx;
    *ng = m;
    return g;
}

static int cmp_size_desc(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return (x->key > y->key) - (x->key < y->key);
}

static int cmp_spread_desc(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->spread != y->spread)
        return x->spread < y->spread ? 1 : -1;
    return (x->key > y->key) - (x->key < y->key);
}

static void assign_group_sizes(group *g, size_t ng, size_t k)
{
    size_t *load = rf_xcalloc(k, sizeof *load);
    qsort(g, ng, sizeof *g, cmp_size_desc);
    for (size_t i = 0; i < ng; i++) {
        size_t best = 0;
        for (size_t f = 1; f < k; f++)
            if (load[f] < load[best])
                best = f;
        g[i].fold = (int32_t)best;
        load[best] += g[i].size;
    }
    free(load);
}

/* Each group's (class, count) pairs, from the rows sorted by group, and the
 * standard deviation of its counts over all classes. Returns the pairs. */
static class_count *group_class_counts(group *g, size_t ng, const rf_cv_rows *r,
                                       const size_t *order)
{
    size_t nc = r->n_classes;
    class_count *pairs = rf_xmalloc((r->n ? r->n : 1) * sizeof *pairs);
    uint32_t *cnt = rf_xcalloc(nc, sizeof *cnt);
    size_t np = 0, row = 0;
    for (size_t i = 0; i < ng; i++) {
        size_t end = row + g[i].size;
        g[i].first = np;
        for (size_t j = row; j < end; j++)
            if (cnt[r->label[order[j]]]++ == 0)
                pairs[np++].cls = (uint32_t)r->label[order[j]];
        double sq = 0, m = (double)g[i].size / (double)nc;
        for (size_t p = g[i].first; p < np; p++) {
            pairs[p].count = cnt[pairs[p].cls];
            cnt[pairs[p].cls] = 0;
            sq += (double)pairs[p].count * pairs[p].count;
        }
        g[i].n_pairs = np - g[i].first;
        g[i].spread = sqrt(fmax(0, sq / (double)nc - m * m));
        row = end;
    }
    free(cnt);
    return pairs;
}

/* The folds' class shares, kept with per-class sums so that the effect of
 * adding one group to one fold costs O(classes in the group), not
 * O(folds x classes). spread(c) is the std over folds of class c's share. */
typedef struct strat_state {
    size_t k, nc, used;           /* used: classes with rows */
    const size_t *total;          /* rows per class */
    double *share;                /* [fold * nc + class] */
    double *s1, *s2;              /* per class: sum and sum of squares of shares */
    double *sd;                   /* per class: current spread */
    double sd_sum;
} strat_state;

static double class_sd(double s1, double s2, size_t k)
{
    double m = s1 / (double)k;
    return sqrt(fmax(0, s2 / (double)k - m * m));
}

/* Mean spread over classes if group g joined fold f (state unchanged). */
static double strat_eval(const strat_state *st, const class_count *pc, size_t n, size_t f)
{
    double sum = st->sd_sum;
    for (size_t p = 0; p < n; p++) {
        size_t c = pc[p].cls;
        double old = st->share[f * st->nc + c];
        double now = old + (double)pc[p].count / (double)st->total[c];
        sum += class_sd(st->s1[c] - old + now, st->s2[c] - old * old + now * now, st->k) -
               st->sd[c];
    }
    return sum / (double)st->used;
}

static void strat_add(strat_state *st, const class_count *pc, size_t n, size_t f)
{
    for (size_t p = 0; p < n; p++) {
        size_t c = pc[p].cls;
        double old = st->share[f * st->nc + c];
        double now = old + (double)pc[p].count / (double)st->total[c];
        st->share[f * st->nc + c] = now;
        st->s1[c] += now - old;
        st->s2[c] += now * now - old * old;
        st->sd_sum -= st->sd[c];
        st->sd[c] = class_sd(st->s1[c], st->s2[c], st->k);
        st->sd_sum += st->sd[c];
    }
}

/* scikit-learn's StratifiedGroupKFold greedy: groups with the most uneven
 * class counts first, each to the fold that keeps class shares most even,
 * ties to the fold with fewer rows. */
static void assign_group_strat(group *g, size_t ng, size_t k, size_t nc,
                               const size_t *total, const class_count *pairs)
{
    strat_state st = {.k = k, .nc = nc, .total = total};
    st.share = rf_xcalloc(k * nc, sizeof *st.share);
    st.s1 = rf_xcalloc(nc, sizeof *st.s1);
    st.s2 = rf_xcalloc(nc, sizeof *st.s2);
    st.sd = rf_xcalloc(nc, sizeof *st.sd);
    for (size_t c = 0; c < nc; c++)
        st.used += total[c] > 0;
    size_t *load = rf_xcalloc(k, sizeof *load);
    qsort(g, ng, sizeof *g, cmp_spread_desc);
    for (size_t i = 0; i < ng; i++) {
        const class_count *pc = pairs + g[i].first;
        size_t best = 0;
        double best_eval = INFINITY;
        for (size_t f = 0; f < k; f++) {
            double e = strat_eval(&st, pc, g[i].n_pairs, f);
            if (e < best_eval - 1e-12 ||
                (fabs(e - best_eval) <= 1e-12 && load[f] < load[best])) {
                best = f;
                best_eval = e;
            }
        }
        g[i].fold = (int32_t)best;
        load[best] += g[i].size;
        strat_add(&st, pc, g[i].n_pairs, best);
    }
    free(st.share), free(st.s1), free(st.s2), free(st.sd);
    free(load);
}

static int assign_grouped(const rf_cv_spec *s, const rf_cv_rows *r, int stratify,
                          const size_t *cnt, int32_t *fold, rf_err *err)
{
    size_t *row_group = rf_xmalloc((r->n ? r->n : 1) * sizeof *row_group);
    size_t ng, *order;
    group *g = collect_groups(r, &ng, row_group, &order);
    if (ng < s->folds) {
        free(row_group), free(order), free(g);
        /* No fallback: splitting a group would leak it into training. */
        return rf_errf(err, RF_EINVAL, "%zu folds but only %zu groups", s->folds, ng);
    }
    uint64_t rng = s->seed;
    for (size_t i = 0; i < ng; i++)
        g[i].key = rng_next(&rng);
    if (stratify) {
        class_count *pairs = group_class_counts(g, ng, r, order);
        assign_group_strat(g, ng, s->folds, r->n_classes, cnt, pairs);
        free(pairs);
    } else {
        assign_group_sizes(g, ng, s->folds);
    }
    /* Sorting moved the groups: map them back to ascending-id order. */
    int32_t *fold_of = rf_xmalloc(ng * sizeof *fold_of);
    for (size_t i = 0; i < ng; i++)
        fold_of[g[i].index] = g[i].fold;
    for (size_t i = 0; i < r->n; i++)
        fold[i] = fold_of[row_group[i]];
    free(fold_of), free(row_group), free(order), free(g);
    return 0;
}

/* ---- entry points ----------------------------------------------------- */

int rf_cv_assign(const rf_cv_spec *spec, const rf_cv_rows *rows, int32_t *fold,
                 int *used, char *note, rf_err *err)
{
    size_t k = spec->folds, n = rows->n;
    int scheme = spec->scheme;
    if (note)
        note[0] = '\0';
    if (k < 2)
        return rf_errf(err, RF_EINVAL, "folds must be at least 2 (got %zu)", k);
    if (k > n)
        return rf_errf(err, RF_EINVAL, "%zu folds but only %zu rows", k, n);
    if (n > UINT32_MAX)
        return rf_errf(err, RF_ETOOBIG, "%zu rows: at most 2^32-1 can be split", n);
    if (scheme == RF_CV_TIMESERIES)
        return rf_errf(err, RF_EINVAL, "timeseries folds are windows, not a partition");
    if ((scheme == RF_CV_GROUP || scheme == RF_CV_STRATIFIED_GROUP) && !rows->group)
        return rf_errf(err, RF_EINVAL, "%s needs a group per row (the dataset has none)",
                       rf_cv_scheme_name(scheme));

    size_t *cnt = NULL;
    int rc = 0;
    if (scheme == RF_CV_STRATIFIED || scheme == RF_CV_STRATIFIED_GROUP) {
        size_t rarest = 0, present = 0;
        int why = 1;
        if (rows->label && rows->n_classes) {
            cnt = rf_xcalloc(rows->n_classes, sizeof *cnt);
            if (count_classes(rows, cnt, err) < 0) {
                free(cnt);
                return -1;
            }
            why = strat_problem(rows, k, cnt, &rarest, &present);
        }
        if (why) {
            int weaker = scheme == RF_CV_STRATIFIED ? RF_CV_KFOLD : RF_CV_GROUP;
            if (strat_error(why, k, rarest, spec->fallback,
                            rf_cv_scheme_name(weaker), note, err) < 0) {
                free(cnt);
                return -1;
            }
            scheme = weaker;
        }
    }
    switch (scheme) {
    case RF_CV_KFOLD:
        assign_kfold(spec, n, fold);
        break;
    case RF_CV_STRATIFIED:
        assign_stratified(spec, rows, cnt, fold);
        break;
    case RF_CV_GROUP:
    case RF_CV_STRATIFIED_GROUP:
        rc = assign_grouped(spec, rows, scheme == RF_CV_STRATIFIED_GROUP, cnt, fold, err);
        break;
    default:
        rc = rf_errf(err, RF_EINVAL, "unknown split scheme %d", scheme);
    }
    free(cnt);
    if (rc == 0 && used)
        *used = scheme;
    return rc;
}

int rf_cv_timeseries_window(const rf_cv_spec *spec, size_t n, size_t k,
                            rf_cv_window *w, rf_err *err)
{
    size_t folds = spec->folds, gap = spec->gap;
    if (folds < 1)
        return rf_errf(err, RF_EINVAL, "folds must be at least 1");
    if (k >= folds)
        return rf_errf(err, RF_EINVAL, "fold %zu outside [0, %zu)", k, folds);
    size_t horizon = spec->horizon;
    if (!horizon && spec->window)
        /* the folds' test windows share the rows after the first window */
        horizon = spec->window + gap < n ? (n - spec->window - gap) / folds : 0;
    else if (!horizon)
        horizon = n / (folds + 1);
    size_t step = spec->step ? spec->step : horizon;
    if (horizon == 0)
        return rf_errf(err, RF_EINVAL, "empty test window (%zu rows for %zu folds)",
                       n, folds);
    size_t window = spec->window;
    if (!window) {
        /* Make the last test window end at row n, like TimeSeriesSplit. */
        size_t need = gap + (folds - 1) * step + horizon;
        if (need >= n)
            return rf_errf(err, RF_EINVAL,
                           "empty training window: %zu rows leave none before "
                           "%zu folds of horizon %zu, step %zu, gap %zu",
                           n, folds, horizon, step, gap);
        window = n - need;
    }
    /* Every fold of the run must fit, so that all of them fail alike. */
    size_t last_end = window + (folds - 1) * step + gap + horizon;
    if (last_end > n)
        return rf_errf(err, RF_EINVAL,
                       "empty test window: the last fold's test window ends at row "
                       "%zu but there are %zu rows (window %zu, horizon %zu, step %zu, gap %zu)",
                       last_end, n, window, horizon, step, gap);
    w->train_end = window + k * step;
    w->train_begin = spec->expanding ? 0 : w->train_end - window;
    w->test_begin = w->train_end + gap;
    w->test_end = w->test_begin + horizon;
    return 0;
}

static size_t *range(size_t b, size_t e)
{
    size_t *a = rf_xmalloc((e > b ? e - b : 1) * sizeof *a);
    for (size_t i = b; i < e; i++)
        a[i - b] = i;
    return a;
}

int rf_cv_split_fold(const rf_cv_spec *spec, const rf_cv_rows *rows, size_t k,
                     rf_cv_split *out, rf_err *err)
{
    memset(out, 0, sizeof *out);
    out->scheme_used = spec->scheme;
    if (spec->scheme == RF_CV_TIMESERIES) {
        rf_cv_window w;
        if (rf_cv_timeseries_window(spec, rows->n, k, &w, err) < 0)
            return -1;
        out->train = range(w.train_begin, w.train_end);
        out->n_train = w.train_end - w.train_begin;
        out->test = range(w.test_begin, w.test_end);
        out->n_test = w.test_end - w.test_begin;
        return 0;
    }
    if (k >= spec->folds)
        return rf_errf(err, RF_EINVAL, "fold %zu outside [0, %zu)", k, spec->folds);
    int32_t *fold = rf_xmalloc((rows->n ? rows->n : 1) * sizeof *fold);
    if (rf_cv_assign(spec, rows, fold, &out->scheme_used, out->note, err) < 0) {
        free(fold);
        return -1;
    }
    size_t nt = 0;
    for (size_t i = 0; i < rows->n; i++)
        nt += fold[i] == (int32_t)k;
    out->test = rf_xmalloc((nt ? nt : 1) * sizeof *out->test);
    out->train = rf_xmalloc((rows->n - nt ? rows->n - nt : 1) * sizeof *out->train);
    for (size_t i = 0; i < rows->n; i++) {
        if (fold[i] == (int32_t)k)
            out->test[out->n_test++] = i;
        else
            out->train[out->n_train++] = i;
    }
    free(fold);
    return 0;
}

void rf_cv_split_free(rf_cv_split *s)
{
    free(s->train);
    free(s->test);
    s->train = s->test = NULL;
    s->n_train = s->n_test = 0;
}
