/* rf_dataset: loading tabular files (FANN text, CSV) into an rf_dataset,
 * normalization, and the helpers every reader of a dataset shares. The
 * artifact form (write, read, load_any's sniffing) lives in
 * rf_dataset_artifact.c, so a program that only parses text files does not
 * link the codec. */
#include "ml/rf_dataset.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/rf_buf.h"

static const char *const level_names[RF_LEVEL_COUNT] = {
    "trivial", "easy", "medium", "hard", "expert"
};

const char *rf_level_name(int level)
{
    if (level >= 0 && level < RF_LEVEL_COUNT)
        return level_names[level];
    return "none";
}

int rf_level_parse(const char *s)
{
    for (int i = 0; i < RF_LEVEL_COUNT; i++)
        if (!strcmp(s, level_names[i]))
            return i;
    return -1;
}

static void free_strs(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void rf_dataset_free(rf_dataset *d)
{
    if (!d)
        return;
    free(d->X);
    free(d->y_class);
    free_strs(d->labels, d->n_classes);
    free(d->y_reg);
    free(d->split);
    free(d->group);
    free(d->level);
    free(d->category);
    free(d->prev_row);
    free_strs(d->categories, d->n_categories);
    free_strs(d->feature_names, d->n_features);
    free(d->mean);
    free(d->std);
    free(d->name);
    memset(d, 0, sizeof *d);
}

/* ---- size limits ---------------------------------------------------------- */

uint64_t rf_dataset_mem_limit(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    uint64_t mem = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : UINT64_MAX;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (uint64_t)rl.rlim_cur < mem)
        mem = (uint64_t)rl.rlim_cur;
    return mem / 2;
}

int rf_dataset_check_size(const char *path, uint64_t rows, uint64_t cols, uint64_t limit,
                          rf_err *err)
{
    /* Compared by division: rows * cols * 8 may not fit in 64 bits. */
    if (rows == 0 || cols == 0 || cols <= limit / 8 / rows)
        return 0;
    return rf_errf(err, RF_ETOOBIG, "%s:1:1: %llu rows x %llu columns need more than the "
                   "%llu MiB this process may plan for a dataset (8 bytes a cell; half of "
                   "memory or of ulimit -v); use fewer columns or rows", path,
                   (unsigned long long)rows, (unsigned long long)cols,
                   (unsigned long long)(limit >> 20));
}

/* ---- reading a whole file ------------------------------------------------ */

static int slurp(const char *path, char **out, size_t *len, rf_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rf_err_errno(err, "open %s", path);
    rf_buf b = RF_BUF_INIT;
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rf_buf_add(&b, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        rf_buf_free(&b);
        return rf_err_errno(err, "read %s", path);
    }
    if (!b.data)
        rf_buf_add(&b, "", 0);
    *out = rf_buf_detach(&b, len);
    return 0;
}

/* Parse one finite float from the cell [s, e). */
static int parse_cell(const char *s, const char *e, float *out)
{
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    if (s == e || e - s > 63)
        return -1;
    char tmp[64];
    memcpy(tmp, s, (size_t)(e - s));
    tmp[e - s] = 0;
    char *end;
    errno = 0;
    float v = strtof(tmp, &end);
    if (*end || end == tmp || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* ---- FANN text format ---------------------------------------------------- */

typedef struct cursor {
    const char *p, *end, *path;
    size_t line;
} cursor;

/* Next whitespace-separated token; 0 at end of input. */
static int next_token(cursor *c, const char **s, const char **e)
{
    while (c->p < c->end && isspace((unsigned char)*c->p)) {
        if (*c->p == '\n')
            c->line++;
        c->p++;
    }
    if (c->p >= c->end)
        return 0;
    *s = c->p;
    while (c->p < c->end && !isspace((unsigned char)*c->p))
        c->p++;
    *e = c->p;
    return 1;
}

static int next_float(cursor *c, float *v, const char *what, rf_err *err)
{
    const char *s, *e;
    if (!next_token(c, &s, &e))
        return rf_errf(err, RF_ECORRUPT, "%s:%zu: unexpected end of file (expected %s)",
                       c->path, c->line, what);
    if (parse_cell(s, e, v) != 0)
        return rf_errf(err, RF_ECORRUPT, "%s:%zu: %s \"%.*s\" is not a finite number",
                       c->path, c->line, what, (int)(e - s > 40 ? 40 : e - s), s);
    return 0;
}

static int next_size(cursor *c, size_t *v, const char *what, rf_err *err)
{
    const char *s, *e;
    if (!next_token(c, &s, &e))
        return rf_errf(err, RF_ECORRUPT, "%s:%zu: missing %s in header", c->path, c->line, what);
    char tmp[32];
    size_t n = (size_t)(e - s);
    if (n >= sizeof tmp)
        return rf_errf(err, RF_ECORRUPT, "%s:%zu: bad %s", c->path, c->line, what);
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(tmp, &end, 10);
    if (*end || errno || tmp[0] == '-' || x > (1ull << 40))
        return rf_errf(err, RF_ECORRUPT, "%s:%zu: bad %s \"%s\"", c->path, c->line, what, tmp);
    *v = (size_t)x;
    return 0;
}

/* Outputs are one-hot (0/1 or -1/1 with exactly one high) -> class index;
 * a single 0/1 (or -1/1) output is a binary class. -1 otherwise. */
static int onehot_class(const float *y, size_t n_out)
{
    if (n_out == 1) {
        if (y[0] == 1.0f)
            return 1;
        if (y[0] == 0.0f || y[0] == -1.0f)
            return 0;
        return -1;
    }
    int cls = -1;
    for (size_t j = 0; j < n_out; j++) {
        if (y[j] == 1.0f) {
            if (cls >= 0)
                return -1;
            cls = (int)j;
        } else if (y[j] != 0.0f && y[j] != -1.0f) {
            return -1;
        }
    }
    return cls;
}

static char **number_labels(size_t n)
{
    char **v = rf_xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        char tmp[24];
        snprintf(tmp, sizeof tmp, "%zu", i);
        v[i] = rf_xstrdup(tmp);
    }
    return v;
}

static int fann_parse(cursor *c, rf_dataset *d, rf_err *err)
{
    size_t n, n_in, n_out;
    if (next_size(c, &n, "pair count", err) || next_size(c, &n_in, "input count", err) ||
        next_size(c, &n_out, "output count", err))
        return -1;
    if (n == 0)
        return rf_errf(err, RF_ECORRUPT, "%s:1: no training pairs", c->path);
    if (n_in == 0 || n_out == 0)
        return rf_errf(err, RF_ECORRUPT, "%s:1: zero inputs or outputs", c->path);
    if (n_in > SIZE_MAX / 2 - n_out)
        return rf_errf(err, RF_ETOOBIG, "%s:1: %zu + %zu columns is too many", c->path, n_in,
                       n_out);
    if (rf_dataset_check_size(c->path, n, n_in + n_out, rf_dataset_mem_limit(), err) != 0)
        return -1;
    /* The header's counts must also be backed by the file's bytes (2 per
     * value at least), so a hostile header cannot make us allocate GiBs. */
    if ((n * (n_in + n_out)) > (size_t)(c->end - c->p))
        return rf_errf(err, RF_ECORRUPT, "%s:1: header declares %zu pairs of %zu+%zu values "
                       "but the file is too short", c->path, n, n_in, n_out);
    d->X = malloc(n * n_in * sizeof(float));
    float *Y = malloc(n * n_out * sizeof(float));
    if (!d->X || !Y) {
        free(Y);
        return rf_errf(err, RF_ENOMEM, "%s: out of memory", c->path);
    }
    d->n_rows = n;
    d->n_features = n_in;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n_in; j++)
            if (next_float(c, &d->X[i * n_in + j], "input", err))
                goto fail;
        for (size_t j = 0; j < n_out; j++)
            if (next_float(c, &Y[i * n_out + j], "output", err))
                goto fail;
    }
    const char *s, *e;
    if (next_token(c, &s, &e)) {
        rf_errf(err, RF_ECORRUPT, "%s:%zu: trailing data after %zu pairs", c->path, c->line, n);
        goto fail;
    }
    int is_class = 1;
    for (size_t i = 0; i < n && is_class; i++)
        is_class = onehot_class(&Y[i * n_out], n_out) >= 0;
    if (is_class) {
        d->kind = RF_CLASSIFICATION;
        d->n_classes = n_out == 1 ? 2 : n_out;
        d->y_class = rf_xmalloc(n * sizeof *d->y_class);
        for (size_t i = 0; i < n; i++)
            d->y_class[i] = onehot_class(&Y[i * n_out], n_out);
        d->labels = number_labels(d->n_classes);
        free(Y);
    } else {
        d->kind = RF_REGRESSION;
        d->n_targets = n_out;
        d->y_reg = Y;
    }
    return 0;
fail:
    free(Y);
    return -1;
}

int rf_dataset_load_fann(const char *path, rf_dataset *d, rf_err *err)
{
    memset(d, 0, sizeof *d);
    char *text;
    size_t len;
    if (slurp(path, &text, &len, err))
        return -1;
    cursor c = {text, text + len, path, 1};
    int rc = fann_parse(&c, d, err);
    free(text);
    if (rc) {
        rf_dataset_free(d);
        return -1;
    }
    d->name = rf_xstrdup(path);
    return 0;
}

/* ---- CSV ----------------------------------------------------------------- */

/* Split one line into cells in place (RFC 4180 quotes, no embedded
 * newlines). Returns the cell count; cells[] point into line. */
static size_t csv_split(char *line, char ***cells, size_t *cap)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        if (n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *cells = rf_xrealloc(*cells, *cap * sizeof **cells);
        }
        char *out = p, *start = p;
        if (*p == '"') {
            p++;
            while (*p) {
                if (*p == '"' && p[1] == '"') {
                    *out++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *out++ = *p++;
                }
            }
            while (*p && *p != ',')
                p++;
        } else {
            while (*p && *p != ',')
                p++;
            out = p;
        }
        char sep = *p;
        *out = 0;
        (*cells)[n++] = start;
        if (!sep)
            return n;
        p++;
    }
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

typedef struct str_table {   /* distinct strings in first-seen order */
    char **v;
    size_t n;
} str_table;

static int32_t str_table_index(str_table *t, const char *s)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i], s))
            return (int32_t)i;
    t->v = rf_xrealloc(t->v, (t->n + 1) * sizeof *t->v);
    t->v[t->n] = rf_xstrdup(s);
    return (int32_t)t->n++;
}

typedef struct csv_state {
    const char *path;
    char **hdr;
    size_t ncol, target_col, level_col;   /* level_col == ncol: none */
    char **cells;
    size_t cap;
    /* growing columns */
    rf_buf X, yv, ylab, lvl;
    str_table labels;
    int target_numeric;                    /* decided by the first row */
    size_t rows;
} csv_state;

static int csv_row(csv_state *s, char *line, size_t lineno, rf_err *err)
{
    size_t n = csv_split(line, &s->cells, &s->cap);
    if (n != s->ncol)
        return rf_errf(err, RF_ECORRUPT, "%s:%zu: expected %zu cells, got %zu", s->path,
                       lineno, s->ncol, n);
    for (size_t j = 0; j < n; j++) {
        char *cell = trim(s->cells[j]);
        float v;
        if (j == s->level_col) {
            int lv = rf_level_parse(cell);
            if (lv < 0)
                return rf_errf(err, RF_ECORRUPT, "%s:%zu: unknown level \"%s\" (expected "
                               "trivial, easy, medium, hard or expert)", s->path, lineno, cell);
            uint8_t b = (uint8_t)lv;
            rf_buf_add(&s->lvl, &b, 1);
        } else if (j == s->target_col) {
            if (s->rows == 0)
                s->target_numeric = parse_cell(cell, cell + strlen(cell), &v) == 0;
            if (s->target_numeric) {
                if (parse_cell(cell, cell + strlen(cell), &v) != 0)
                    return rf_errf(err, RF_ECORRUPT, "%s:%zu: target \"%s\" is not a finite "
                                   "number (earlier rows are numeric)", s->path, lineno, cell);
                rf_buf_add(&s->yv, &v, sizeof v);
            } else {
                if (!*cell)
                    return rf_errf(err, RF_ECORRUPT, "%s:%zu: empty label", s->path, lineno);
                int32_t k = str_table_index(&s->labels, cell);
                rf_buf_add(&s->ylab, &k, sizeof k);
            }
        } else {
            if (parse_cell(cell, cell + strlen(cell), &v) != 0)
                return rf_errf(err, RF_ECORRUPT, "%s:%zu: column \"%s\": \"%.40s\" is not a "
                               "finite number", s->path, lineno, s->hdr[j], cell);
            rf_buf_add(&s->X, &v, sizeof v);
        }
    }
    s->rows++;
    return 0;
}

/* Header names are compared by index so the error can name both columns. */
static int cmp_col(const void *a, const void *b, void *hdr)
{
    const char *const *h = hdr;
    int c = strcmp(h[*(const size_t *)a], h[*(const size_t *)b]);
    if (c)
        return c;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* A repeated column name would make target= and the feature names
 * ambiguous: refuse it, naming both columns (1-based, as spreadsheets do). */
static int csv_unique_names(const csv_state *s, rf_err *err)
{
    size_t *ix = rf_xmalloc((s->ncol ? s->ncol : 1) * sizeof *ix);
    for (size_t j = 0; j < s->ncol; j++)
        ix[j] = j;
    qsort_r(ix, s->ncol, sizeof *ix, cmp_col, s->hdr);
    int rc = 0;
    for (size_t j = 1; j < s->ncol && rc == 0; j++)
        if (!strcmp(s->hdr[ix[j - 1]], s->hdr[ix[j]]))
            rc = rf_errf(err, RF_ECORRUPT, "%s:1: column %zu repeats the name \"%s\" of "
                         "column %zu", s->path, ix[j] + 1, s->hdr[ix[j]], ix[j - 1] + 1);
    free(ix);
    return rc;
}

static int csv_header(csv_state *s, char *line, const char *target, rf_err *err)
{
    size_t n = csv_split(line, &s->cells, &s->cap);
    s->ncol = n;
    s->hdr = rf_xcalloc(n, sizeof *s->hdr);
    s->target_col = n - 1;
    s->level_col = n;
    int found = target == NULL;
    for (size_t j = 0; j < n; j++) {
        s->hdr[j] = rf_xstrdup(trim(s->cells[j]));
        if (target && !strcmp(s->hdr[j], target)) {
            s->target_col = j;
            found = 1;
        }
    }
    for (size_t j = 0; j < n; j++)
        if (!strcmp(s->hdr[j], "level") && (!target || strcmp(target, "level")))
            s->level_col = j;
    /* the default target is the last column that is not the level */
    if (!target && s->level_col == n - 1)
        s->target_col = n - 2;
    if (csv_unique_names(s, err) != 0)
        return -1;
    if (!found)
        return rf_errf(err, RF_EINVAL, "%s:1: no column named \"%s\"", s->path, target);
    if (n - 1 - (s->level_col < n) == 0)
        return rf_errf(err, RF_ECORRUPT, "%s:1: no feature columns", s->path);
    return 0;
}

static int csv_finish(csv_state *s, rf_dataset *d, rf_err *err)
{
    if (s->rows == 0)
        return rf_errf(err, RF_EINVAL, "%s: no data rows", s->path);
    d->n_rows = s->rows;
    d->n_features = s->ncol - 1 - (s->level_col < s->ncol);
    d->X = (float *)rf_buf_detach(&s->X, NULL);
    d->feature_names = rf_xcalloc(d->n_features, sizeof *d->feature_names);
    for (size_t j = 0, k = 0; j < s->ncol; j++)
        if (j != s->target_col && j != s->level_col)
            d->feature_names[k++] = rf_xstrdup(s->hdr[j]);
    if (s->target_numeric) {
        d->kind = RF_REGRESSION;
        d->n_targets = 1;
        d->y_reg = (float *)rf_buf_detach(&s->yv, NULL);
    } else {
        d->kind = RF_CLASSIFICATION;
        d->y_class = (int32_t *)rf_buf_detach(&s->ylab, NULL);
        d->n_classes = s->labels.n;
        d->labels = s->labels.v;
        s->labels.v = NULL;
        s->labels.n = 0;
    }
    if (s->level_col < s->ncol)
        d->level = (uint8_t *)rf_buf_detach(&s->lvl, NULL);
    return 0;
}

/* Cells of one CSV line, as csv_split counts them (commas outside quotes). */
static uint64_t count_cells(const char *line)
{
    uint64_t n = 1;
    int quoted = 0;
    for (; *line; line++)
        if (*line == '"')
            quoted = !quoted;
        else if (*line == ',' && !quoted)
            n++;
    return n;
}

/* Lines from p to the end (the last may lack its newline). */
static uint64_t count_lines(const char *p)
{
    uint64_t n = 0;
    for (; p && *p; n++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return n;
}

static int csv_parse(csv_state *s, char *text, const char *target, rf_dataset *d,
                     rf_err *err)
{
    size_t lineno = 0;
    int have_header = 0;
    char *save = NULL;
    for (char *p = text; p; p = save) {
        char *nl = strchr(p, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = 0;
        lineno++;
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[--len] = 0;
        if (!*trim(p))
            continue;   /* blank lines carry no row */
        /* The lines left bound the rows: refuse a table wider than memory
         * before its header's names or its first row take any. */
        if (!have_header &&
            rf_dataset_check_size(s->path, count_lines(save), count_cells(p),
                                  rf_dataset_mem_limit(), err) != 0)
            return -1;
        int rc = have_header ? csv_row(s, p, lineno, err) : csv_header(s, p, target, err);
        if (rc)
            return -1;
        have_header = 1;
    }
    if (!have_header)
        return rf_errf(err, RF_EINVAL, "%s: empty file (no header)", s->path);
    return csv_finish(s, d, err);
}

int rf_dataset_load_csv(const char *path, const char *target, rf_dataset *d, rf_err *err)
{
    memset(d, 0, sizeof *d);
    char *text;
    size_t len;
    if (slurp(path, &text, &len, err))
        return -1;
    if (memchr(text, 0, len)) {
        free(text);
        return rf_errf(err, RF_ECORRUPT, "%s: binary data in a CSV file", path);
    }
    csv_state s = {.path = path};
    int rc = csv_parse(&s, text, target, d, err);
    free(text);
    free_strs(s.hdr, s.ncol);
    free(s.cells);
    rf_buf_free(&s.X);
    rf_buf_free(&s.yv);
    rf_buf_free(&s.ylab);
    rf_buf_free(&s.lvl);
    free_strs(s.labels.v, s.labels.n);
    if (rc) {
        rf_dataset_free(d);
        return -1;
    }
    d->name = rf_xstrdup(path);
    return 0;
}

/* ---- normalization ------------------------------------------------------- */

void rf_dataset_normalize(rf_dataset *d)
{
    size_t f = d->n_features;
    double *sum = rf_xcalloc(f, sizeof *sum), *sq = rf_xcalloc(f, sizeof *sq);
    size_t cnt = 0;
    for (size_t i = 0; i < d->n_rows; i++) {
        if (d->split && d->split[i] != RF_SPLIT_TRAIN)
            continue;
        const float *x = &d->X[i * f];
        for (size_t j = 0; j < f; j++)
            sum[j] += x[j];
        cnt++;
    }
    if (!d->mean)
        d->mean = rf_xmalloc(f * sizeof *d->mean);
    if (!d->std)
        d->std = rf_xmalloc(f * sizeof *d->std);
    for (size_t j = 0; j < f; j++)
        d->mean[j] = cnt ? (float)(sum[j] / (double)cnt) : 0.0f;
    /* Two passes: the one-pass formula loses everything to cancellation on
     * features with a large mean and a small spread. */
    for (size_t i = 0; i < d->n_rows; i++) {
        if (d->split && d->split[i] != RF_SPLIT_TRAIN)
            continue;
        const float *x = &d->X[i * f];
        for (size_t j = 0; j < f; j++) {
            double dv = x[j] - d->mean[j];
            sq[j] += dv * dv;
        }
    }
    for (size_t j = 0; j < f; j++) {
        double sd = cnt ? sqrt(sq[j] / (double)cnt) : 0.0;
        d->std[j] = sd > 1e-12 ? (float)sd : 1.0f;
    }
    for (size_t i = 0; i < d->n_rows; i++) {
        float *x = &d->X[i * f];
        for (size_t j = 0; j < f; j++)
            x[j] = (x[j] - d->mean[j]) / d->std[j];
    }
    free(sum);
    free(sq);
}
