/* cmd_delete: `ruvflow delete RUN [--outputs] [--force]`: forget a run's
 * Redis state and, with --outputs, the output objects only it references.
 * Objects go first, the run's state last: a failure midway leaves the run
 * in place, so the same command can be run again (deleting is idempotent). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd_engine.h"
#include "base/rf_config.h"
#include "store/rf_store.h"
#include "store/rf_tier.h"

static const char delete_usage[] =
    "usage: ruvflow delete RUN [--outputs] [--force] [--json]\n"
    "\n"
    "Delete a finished run: its record, plan, task records, results, logs and\n"
    "progress in Redis. --outputs also deletes its output objects that no other\n"
    "run and no cache entry of another run references (in whichever tier they\n"
    "are now), and the cache entries its tasks made. A running run is refused\n"
    "unless --force, which cancels it first.\n"
    "  --redis URL    Redis (default $RUVFLOW_REDIS_URL, the stack of `ruvflow up`,\n"
    "                 else redis://127.0.0.1:6379/0)\n"
    "  --prefix P     key prefix (default $RUVFLOW_REDIS_PREFIX or rf:)\n"
    "\n"
    "Exit status: 0 deleted, 1 the run is running (no --force), 2 usage, 3 no such\n"
    "run, 5 or 6 the store or Redis refused or is unreachable.\n";

typedef struct opened {
    char *url;
    rf_store *s;
} opened;

typedef struct stores {
    opened v[8];
    size_t n;
    const rf_config *cfg;
} stores;

static rf_store *store_at(stores *ss, const char *url, rf_err *err)
{
    for (size_t i = 0; i < ss->n; i++)
        if (!strcmp(ss->v[i].url, url))
            return ss->v[i].s;
    rf_store *s;
    if (rf_store_open(url, ss->cfg, &s, err) < 0)
        return NULL;
    if (ss->n == sizeof ss->v / sizeof ss->v[0]) { /* many stores: recycle the oldest */
        rf_store_close(ss->v[0].s);
        free(ss->v[0].url);
        memmove(ss->v, ss->v + 1, (ss->n - 1) * sizeof ss->v[0]);
        ss->n--;
    }
    ss->v[ss->n++] = (opened){rf_xstrdup(url), s};
    return s;
}

static void stores_close(stores *ss)
{
    for (size_t i = 0; i < ss->n; i++) {
        rf_store_close(ss->v[i].s);
        free(ss->v[i].url);
    }
}

/* One object where it was written and, when it lies in a tier, under the
 * same key in the other tiers (`ruvflow store tier` may have moved it). */
static int delete_object(stores *ss, rf_tiers *tt, const char *url, rf_err *err)
{
    char *store_url = NULL, *key = NULL;
    int rc = rf_store_split_url(url, &store_url, &key, err);
    rf_store *s = rc == 0 ? store_at(ss, store_url, err) : NULL;
    if (rc == 0 && (!s || rf_store_delete(s, key, err) < 0))
        rc = -1;
    free(store_url);
    free(key);
    int tier;
    rf_err none;   /* an output outside every tier has no other copies */
    if (rc == 0 && tt && rf_tiers_locate(tt, url, &tier, &key, &none) == 0) {
        for (int t = 0; rc == 0 && t < RF_TIER_COUNT; t++)
            if (t != tier && tt->store[t])
                rc = rf_store_delete(tt->store[t], key, err);
        free(key);
    }
    if (rc < 0)
        return rf_err_prefix(err, "output %s", url);
    return 0;
}

static int delete_outputs(engine *e, const char *run, size_t *nobj, size_t *ncache,
                          rf_err *err)
{
    json_t *urls;
    if (rf_sched_exclusive_outputs(e->s, run, &urls, err) < 0)
        return -1;
    rf_config cfg;
    if (rf_config_load(&cfg, NULL, err) < 0) {
        json_decref(urls);
        return -1;
    }
    rf_tiers tiers, *tt = NULL;
    rf_err terr;
    if (rf_tiers_open(&tiers, &cfg, &terr) == 0)
        tt = &tiers;
    stores ss = {.cfg = &cfg};
    /* The cache entries first: a new run must not be served dangling URLs. */
    int rc = rf_sched_forget_cache_of(e->s, run, ncache, err);
    size_t i;
    json_t *u;
    json_array_foreach(urls, i, u) {
        if (rc == 0 && (rc = delete_object(&ss, tt, json_string_value(u), err)) == 0)
            (*nobj)++;
    }
    stores_close(&ss);
    if (tt)
        rf_tiers_close(tt);
    rf_config_free(&cfg);
    json_decref(urls);
    return rc;
}

RF_CMD(delete)
{
    const char *run = NULL, *redis = NULL, *prefix = NULL;
    int outputs = 0, force = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(delete_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--outputs")) {
            outputs = 1;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if ((!strcmp(a, "--redis") || !strcmp(a, "--prefix")) && i + 1 < argc) {
            *(a[2] == 'r' ? &redis : &prefix) = argv[++i];
        } else if (a[0] != '-' && !run) {
            run = a;
        } else {
            fputs(delete_usage, stderr);
            return 2;
        }
    }
    if (!run) {
        fputs(delete_usage, stderr);
        return 2;
    }
    engine e;
    rf_err err;
    if (engine_open(&e, engine_redis_url(redis), engine_prefix(prefix), 3000, NULL, NULL,
                    &err) < 0) {
        fprintf(stderr, "ruvflow delete: %s\n", err.msg);
        if (err.code != RF_EAUTH)
            engine_explain_redis(redis, stderr);
        return rf_err_exit_status(&err);
    }
    size_t nobj = 0, ncache = 0;
    int rc = rf_sched_delete_check(e.s, run, force, &err);
    if (rc == 0 && outputs)
        rc = delete_outputs(&e, run, &nobj, &ncache, &err);
    if (rc == 0)
        rc = rf_sched_delete(e.s, run, &err);
    engine_close(&e);
    if (rc < 0) {
        fprintf(stderr, "ruvflow delete: %s\n", err.msg);
        return rf_err_exit_status(&err);
    }
    if (json)
        printf("{\"run\": \"%s\", \"deleted\": true, \"outputs_deleted\": %zu, "
               "\"cache_entries_deleted\": %zu}\n", run, nobj, ncache);
    else if (outputs)
        printf("run %s: deleted, with %zu output object(s) and %zu cache entr%s\n", run, nobj,
               ncache, ncache == 1 ? "y" : "ies");
    else
        printf("run %s: deleted\n", run);
    return 0;
}
