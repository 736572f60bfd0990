/* cmd_plot_tune: the search figures of `ruvflow plot` (rf_plot_tune):
 *   ruvflow plot RUN STEP -o F.svg   when STEP is a search (its tasks output
 *                                    `trial`) or its summary (`trials`):
 *                                    the trial documents are fetched from
 *                                    the store by their URLs;
 *   ruvflow plot --trials PATH...    trials.jsonl or trial.json files. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_engine.h"
#include "cmd_plot_tune.h"
#include "base/rf_buf.h"
#include "base/rf_config.h"
#include "store/rf_store.h"
#include "ml/rf_plot_tune.h"

/* Each JSON object of text (one document or JSON lines) into arr. */
static void add_docs(json_t *arr, const char *text, size_t len)
{
    json_t *one = json_loadb(text, len, 0, NULL);
    if (json_is_object(one)) {
        json_array_append_new(arr, one);
        return;
    }
    json_decref(one);
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *o = json_loadb(p, n, 0, NULL);
        if (json_is_object(o))
            json_array_append(arr, o);
        json_decref(o);
        p += n + 1;
    }
}

int plot_tune_files(char *const *paths, size_t n, json_t *arr, rf_err *err)
{
    for (size_t i = 0; i < n; i++) {
        FILE *f = fopen(paths[i], "rb");
        rf_buf b = RF_BUF_INIT;
        char chunk[65536];
        size_t k;
        if (!f)
            return rf_err_errno(err, "%s", paths[i]);
        while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
            rf_buf_add(&b, chunk, k);
        fclose(f);
        add_docs(arr, b.data ? b.data : "", b.len);
        rf_buf_free(&b);
    }
    return 0;
}

static int fetch(const char *url, const rf_config *cfg, json_t *arr, rf_err *err)
{
    char *store_url, *key;
    rf_store *st;
    rf_buf b = RF_BUF_INIT;
    if (rf_store_split_url(url, &store_url, &key, err))
        return -1;
    int rc = rf_store_open(store_url, cfg, &st, err);
    if (rc == 0) {
        rc = rf_store_get_mem(st, key, &b, err);
        rf_store_close(st);
    }
    if (rc == 0)
        add_docs(arr, b.data ? b.data : "", b.len);
    rf_buf_free(&b);
    free(store_url), free(key);
    return rc;
}

int plot_tune_step(const char *run, const char *step, json_t *arr, rf_err *err)
{
    engine e;
    rf_sched_opts so;
    rf_sched_opts_default(&so);
    if (engine_open(&e, engine_redis_url(NULL), engine_prefix(NULL), 0, &so, NULL, err) < 0)
        return -1;
    char *text = NULL;
    int rc = rf_sched_results(e.s, run, step, &text, err);
    engine_close(&e);
    if (rc < 0)
        return -1;
    json_t *res = json_loads(text, 0, NULL);
    free(text);
    rf_config cfg;
    if (rf_config_load(&cfg, NULL, err)) {
        json_decref(res);
        return -1;
    }
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r) {
        const json_t *o = json_object_get(r, "o");
        const char *url = json_string_value(json_object_get(o, "trial"));
        if (!url)
            url = json_string_value(json_object_get(o, "trials"));
        if (url && (rc = fetch(url, &cfg, arr, err)) < 0)
            break;
    }
    rf_config_free(&cfg);
    json_decref(res);
    return rc;
}
