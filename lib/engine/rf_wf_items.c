/* rf_wf_items: JSON list / JSON lines text into foreach items; see
 * rf_wf_items.h. */
#include "engine/rf_wf_items.h"

#include "base/rf_json.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* A number reads as its shortest exact text (0.1, not 0.10000000000000001);
 * inside an object or list jansson's 17 digits keep it exact. */
static char *item_text(json_t *v)
{
    if (json_is_string(v))
        return rf_xstrdup(json_string_value(v));
    if (json_is_real(v)) {
        char tmp[64];
        return rf_xstrdup(rf_num_fmt(tmp, sizeof tmp, json_real_value(v), 0));
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!s)
        abort();   /* jansson fails only on allocation */
    return s;
}

static const char *kind_of(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "a JSON object";
    case JSON_STRING: return "a JSON string";
    case JSON_INTEGER:
    case JSON_REAL: return "a JSON number";
    case JSON_TRUE:
    case JSON_FALSE: return "a JSON boolean";
    default: return "JSON null";
    }
}

static int push(char ***items, size_t *n, size_t max, json_t *v, rf_err *err)
{
    if (*n >= max)
        return rf_errf(err, RF_ETOOBIG, "more than %zu items; the workflow may have "
                       "at most %zu tasks (raise it with --max-tasks)", max, max);
    *items = rf_xrealloc(*items, (*n + 1) * sizeof **items);
    (*items)[(*n)++] = item_text(v);
    return 0;
}

static int parse_list(json_t *a, size_t max, char ***items, size_t *n, rf_err *err)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (push(items, n, max, v, err) < 0)
        return -1;
    return 0;
}

/* One JSON value per non-blank line. */
static int parse_lines(const char *text, size_t len, size_t max, char ***items,
                       size_t *n, rf_err *err)
{
    size_t line = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        line++;
        const char *q = p;
        while (q < e && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < e) {
            json_error_t je;
            json_t *v = json_loadb(q, (size_t)(e - q), JSON_DECODE_ANY, &je);
            if (!v)
                return rf_errf(err, RF_EINVAL, "not a JSON list, nor JSON lines: line "
                               "%zu: %s", line, je.text);
            int rc = push(items, n, max, v, err);
            json_decref(v);
            if (rc < 0)
                return -1;
        }
        p = e + 1;
    }
    return 0;
}

int rf_wf_items_parse(const char *text, size_t len, size_t max, char ***items,
                      size_t *n, rf_err *err)
{
    if (len > RF_WF_ITEMS_MAX_BYTES)
        return rf_errf(err, RF_ETOOBIG, "%zu bytes; a list of items may have at most %u",
                       len, RF_WF_ITEMS_MAX_BYTES);
    if (memchr(text, 0, len))
        return rf_errf(err, RF_EINVAL, "not a JSON list: the text has a NUL byte");
    size_t before = *n;
    json_error_t je;
    json_t *whole = json_loadb(text, len, JSON_DECODE_ANY, &je);
    int rc;
    if (json_is_array(whole))
        rc = parse_list(whole, max, items, n, err);
    else if (whole && (!len || text[len - 1] != '\n'))   /* JSON lines end lines */
        rc = rf_errf(err, RF_EINVAL, "%s, not a list; foreach needs a JSON list "
                     "([...]) or JSON lines", kind_of(whole));
    else
        rc = parse_lines(text, len, max, items, n, err);
    json_decref(whole);
    if (rc < 0) {
        if (*items)   /* none parsed yet: no array to offset into */
            rf_wf_items_free(*items + before, *n - before);
        *n = before;
        if (!before) {
            free(*items);
            *items = NULL;
        }
    }
    return rc;
}

void rf_wf_items_free(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
}

int rf_wf_item_key(const char *item, const char *key, rf_buf *out, rf_err *err)
{
    json_t *o = item ? json_loads(item, 0, NULL) : NULL;
    json_t *v = json_object_get(o, key);
    int rc = 0;
    if (!json_is_object(o))
        rc = rf_errf(err, RF_EINVAL, "item.%s: the item is not a JSON object", key);
    else if (!v)
        rc = rf_errf(err, RF_EINVAL, "item.%s: the item has no key \"%s\"", key, key);
    else {
        char *t = item_text(v);
        rf_buf_adds(out, t);
        free(t);
    }
    json_decref(o);
    return rc;
}
