/* rf_dataset_artifact: an rf_dataset as a "ruvflow/dataset" artifact, and
 * rf_dataset_load_any, which sniffs artifact / FANN / CSV.
 *
 * Payload (one map; tensors are row-major):
 *   format        int 1
 *   kind          "classification" | "regression"
 *   X             f32 [n_rows, n_features]
 *   y_class       i32 [n_rows]            classification
 *   labels        [str] n_classes         classification
 *   y_reg         f32 [n_rows, n_targets] regression
 *   split level   u8  [n_rows]            optional
 *   group category i32 [n_rows]           optional (category: -1 = none)
 *   prev          i32 [n_rows]            optional: previous row of the same
 *                                         sequence and group, -1 at a start
 *   categories    [str]                   optional
 *   feature_names [str] n_features        optional
 *   mean std      f32 [n_features]        optional
 *   name          str                     optional
 * Writing borrows the dataset's arrays (no copy); reading validates every
 * shape and every value range before the caller sees the dataset. */
#include "ml/rf_dataset.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_buf.h"
#include "store/rf_codec.h"

#define CTYPE "ruvflow/dataset"

static void put_tensor(rf_obj *m, const char *key, int dtype, const void *data,
                       uint64_t rows, uint64_t cols)
{
    if (!data)
        return;
    uint64_t shape[2] = {rows, cols};
    rf_obj_set(m, key, rf_obj_tensor_wrap(dtype, cols ? 2 : 1, shape, (void *)data));
}

static void put_strs(rf_obj *m, const char *key, char *const *v, size_t n)
{
    if (!v)
        return;
    rf_obj *a = rf_obj_array();
    for (size_t i = 0; i < n; i++)
        rf_obj_push(a, rf_obj_str(v[i] ? v[i] : ""));
    rf_obj_set(m, key, a);
}

int rf_dataset_write(const char *path, const rf_dataset *d, rf_err *err)
{
    if (!d->X || d->n_rows == 0 || d->n_features == 0)
        return rf_errf(err, RF_EINVAL, "dataset write %s: empty dataset", path);
    rf_obj *m = rf_obj_map();
    size_t n = d->n_rows;
    rf_obj_set(m, "format", rf_obj_int(1));
    rf_obj_set(m, "kind", rf_obj_str(d->kind == RF_CLASSIFICATION ? "classification"
                                                                  : "regression"));
    put_tensor(m, "X", RF_F32, d->X, n, d->n_features);
    if (d->kind == RF_CLASSIFICATION) {
        put_tensor(m, "y_class", RF_I32, d->y_class, n, 0);
        char **labels = d->labels;
        if (!labels) {
            rf_obj *a = rf_obj_array();
            for (size_t i = 0; i < d->n_classes; i++) {
                char tmp[24];
                snprintf(tmp, sizeof tmp, "%zu", i);
                rf_obj_push(a, rf_obj_str(tmp));
            }
            rf_obj_set(m, "labels", a);
        }
        put_strs(m, "labels", labels, d->n_classes);
    } else {
        put_tensor(m, "y_reg", RF_F32, d->y_reg, n, d->n_targets);
    }
    put_tensor(m, "split", RF_U8, d->split, n, 0);
    put_tensor(m, "level", RF_U8, d->level, n, 0);
    put_tensor(m, "group", RF_I32, d->group, n, 0);
    put_tensor(m, "category", RF_I32, d->category, n, 0);
    put_tensor(m, "prev", RF_I32, d->prev_row, n, 0);
    put_strs(m, "categories", d->categories, d->n_categories);
    put_strs(m, "feature_names", d->feature_names, d->n_features);
    put_tensor(m, "mean", RF_F32, d->mean, d->n_features, 0);
    put_tensor(m, "std", RF_F32, d->std, d->n_features, 0);
    if (d->name)
        rf_obj_set(m, "name", rf_obj_str(d->name));
    int rc = rf_artifact_write(path, CTYPE, m, NULL, NULL, err);
    rf_obj_free(m);
    if (rc)
        rf_err_prefix(err, "dataset write %s", path);
    return rc;
}

/* ---- reading ------------------------------------------------------------- */

/* Copy tensor `key` (dtype, shape [rows] or [rows, cols]) out of m.
 * cols == 0 means 1-D; *cols_out receives the width when cols is
 * SIZE_MAX (unknown). Absent + optional -> *out = NULL. */
static int get_tensor(const rf_obj *m, const char *key, int dtype, size_t rows,
                      size_t *cols, int required, void **out, rf_err *err)
{
    *out = NULL;
    rf_obj *o = rf_obj_get(m, key);
    if (!o)
        return required ? rf_errf(err, RF_ECORRUPT, "missing \"%s\"", key) : 0;
    rf_tensor *t = rf_obj_get_tensor(m, key, dtype);
    if (!t)
        return rf_errf(err, RF_ECORRUPT, "\"%s\" is not a %s tensor", key,
                       rf_dtype_name(dtype));
    int want_dims = *cols ? 2 : 1;
    if (t->ndim != want_dims || t->shape[0] != rows ||
        (want_dims == 2 && *cols != SIZE_MAX && t->shape[1] != *cols))
        return rf_errf(err, RF_ECORRUPT, "\"%s\" has the wrong shape", key);
    if (want_dims == 2) {
        if (t->shape[1] == 0 || t->shape[1] > (1u << 24))
            return rf_errf(err, RF_ECORRUPT, "\"%s\" has a bad width", key);
        *cols = (size_t)t->shape[1];
    }
    size_t bytes = (size_t)rf_tensor_count(t) * rf_dtype_size(dtype);
    *out = malloc(bytes ? bytes : 1);
    if (!*out)
        return rf_errf(err, RF_ENOMEM, "\"%s\": out of memory", key);
    memcpy(*out, t->data, bytes);
    return 0;
}

static int get_strs(const rf_obj *m, const char *key, size_t want, int required,
                    char ***out, size_t *n_out, rf_err *err)
{
    *out = NULL;
    rf_obj *a = rf_obj_get(m, key);
    if (!a)
        return required ? rf_errf(err, RF_ECORRUPT, "missing \"%s\"", key) : 0;
    if (a->type != RF_ARRAY || (want != SIZE_MAX && a->u.a.len != want))
        return rf_errf(err, RF_ECORRUPT, "\"%s\" must be an array of %zu strings", key, want);
    char **v = rf_xcalloc(a->u.a.len ? a->u.a.len : 1, sizeof *v);
    for (size_t i = 0; i < a->u.a.len; i++) {
        if (a->u.a.items[i]->type != RF_STR) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return rf_errf(err, RF_ECORRUPT, "\"%s\"[%zu] is not a string", key, i);
        }
        v[i] = rf_xstrdup(a->u.a.items[i]->u.s.p);
    }
    *out = v;
    if (n_out)
        *n_out = a->u.a.len;
    return 0;
}

static int check_range_i32(const int32_t *v, size_t n, int32_t lo, int32_t hi,
                           const char *key, rf_err *err)
{
    for (size_t i = 0; v && i < n; i++)
        if (v[i] < lo || v[i] >= hi)
            return rf_errf(err, RF_ECORRUPT, "\"%s\"[%zu] = %d is out of range", key, i,
                           (int)v[i]);
    return 0;
}

/* A predecessor comes before its row and, with groups, in the same group
 * (so a grouped split never separates a row from it). */
static int check_prev(const rf_dataset *d, rf_err *err)
{
    for (size_t i = 0; d->prev_row && i < d->n_rows; i++) {
        int32_t p = d->prev_row[i];
        if (p < -1 || (p >= 0 && (size_t)p >= i))
            return rf_errf(err, RF_ECORRUPT, "\"prev\"[%zu] = %d is not an earlier row", i,
                           (int)p);
        if (p >= 0 && d->group && d->group[p] != d->group[i])
            return rf_errf(err, RF_ECORRUPT, "\"prev\"[%zu] = %d is in another group", i,
                           (int)p);
    }
    return 0;
}

static int from_obj(const rf_obj *m, rf_dataset *d, rf_err *err)
{
    if (!m || m->type != RF_MAP)
        return rf_errf(err, RF_ECORRUPT, "payload is not a map");
    const char *kind = rf_obj_get_str(m, "kind");
    if (!kind || (strcmp(kind, "classification") && strcmp(kind, "regression")))
        return rf_errf(err, RF_ECORRUPT, "\"kind\" must be classification or regression");
    d->kind = !strcmp(kind, "classification") ? RF_CLASSIFICATION : RF_REGRESSION;
    rf_tensor *X = rf_obj_get_tensor(m, "X", RF_F32);
    if (!X || X->ndim != 2 || X->shape[0] == 0 || X->shape[1] == 0)
        return rf_errf(err, RF_ECORRUPT, "\"X\" must be a non-empty 2-D f32 tensor");
    size_t n = (size_t)X->shape[0];
    size_t cols = SIZE_MAX;
    if (get_tensor(m, "X", RF_F32, n, &cols, 1, (void **)&d->X, err))
        return -1;
    d->n_rows = n;
    d->n_features = cols;
    size_t zero = 0;
    if (d->kind == RF_CLASSIFICATION) {
        if (get_tensor(m, "y_class", RF_I32, n, &zero, 1, (void **)&d->y_class, err) ||
            get_strs(m, "labels", SIZE_MAX, 1, &d->labels, &d->n_classes, err))
            return -1;
        if (d->n_classes == 0)
            return rf_errf(err, RF_ECORRUPT, "\"labels\" is empty");
        if (check_range_i32(d->y_class, n, 0, (int32_t)d->n_classes, "y_class", err))
            return -1;
    } else {
        size_t t = SIZE_MAX;
        if (get_tensor(m, "y_reg", RF_F32, n, &t, 1, (void **)&d->y_reg, err))
            return -1;
        d->n_targets = t;
    }
    if (get_tensor(m, "split", RF_U8, n, &zero, 0, (void **)&d->split, err) ||
        get_tensor(m, "level", RF_U8, n, &zero, 0, (void **)&d->level, err) ||
        get_tensor(m, "group", RF_I32, n, &zero, 0, (void **)&d->group, err) ||
        get_tensor(m, "category", RF_I32, n, &zero, 0, (void **)&d->category, err) ||
        get_tensor(m, "prev", RF_I32, n, &zero, 0, (void **)&d->prev_row, err) ||
        get_strs(m, "categories", SIZE_MAX, 0, &d->categories, &d->n_categories, err) ||
        get_strs(m, "feature_names", d->n_features, 0, &d->feature_names, NULL, err) ||
        get_tensor(m, "mean", RF_F32, d->n_features, &zero, 0, (void **)&d->mean, err) ||
        get_tensor(m, "std", RF_F32, d->n_features, &zero, 0, (void **)&d->std, err))
        return -1;
    for (size_t i = 0; d->split && i < n; i++)
        if (d->split[i] > RF_SPLIT_TEST)
            return rf_errf(err, RF_ECORRUPT, "\"split\"[%zu] = %d is out of range", i,
                           d->split[i]);
    for (size_t i = 0; d->level && i < n; i++)
        if (d->level[i] >= RF_LEVEL_COUNT && d->level[i] != RF_LEVEL_NONE)
            return rf_errf(err, RF_ECORRUPT, "\"level\"[%zu] = %d is out of range", i,
                           d->level[i]);
    if (check_range_i32(d->category, n, -1, (int32_t)d->n_categories, "category", err) ||
        check_prev(d, err))
        return -1;
    const char *name = rf_obj_get_str(m, "name");
    if (name)
        d->name = rf_xstrdup(name);
    return 0;
}

int rf_dataset_read(const char *path, rf_dataset *d, rf_err *err)
{
    memset(d, 0, sizeof *d);
    rf_obj *root = NULL;
    rf_artifact_info info;
    if (rf_artifact_read(path, NULL, &info, &root, err))
        return rf_err_prefix(err, "dataset read %s", path);
    int rc = 0;
    if (strcmp(info.content_type, CTYPE))
        rc = rf_errf(err, RF_EINVAL, "content type is \"%s\", expected \"" CTYPE "\"",
                     info.content_type);
    else
        rc = from_obj(root, d, err);
    rf_obj_free(root);
    if (rc) {
        rf_dataset_free(d);
        return rf_err_prefix(err, "dataset read %s", path);
    }
    return 0;
}

int rf_dataset_load_any(const char *path, const char *target, rf_dataset *d, rf_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rf_err_errno(err, "open %s", path);
    char head[256];
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    head[n] = 0;
    if (rf_artifact_sniff(head, n))
        return rf_dataset_read(path, d, err);
    /* FANN starts with three integers and no comma; a CSV with a header. */
    unsigned long a, b, c;
    char tail;
    if (sscanf(head, "%lu %lu %lu%c", &a, &b, &c, &tail) == 4 &&
        isspace((unsigned char)tail) && !memchr(head, ',', strcspn(head, "\n")))
        return rf_dataset_load_fann(path, d, err);
    return rf_dataset_load_csv(path, target, d, err);
}
