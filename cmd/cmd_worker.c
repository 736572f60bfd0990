/* cmd_worker: `ruvflow worker --types noop,sleep [...]` serves the built-in
 * task types with the same runtime loop as the worker binaries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd_engine.h"
#include "engine/rf_builtin.h"
#include "engine/rf_runtime.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ruvflow worker --types TYPE[,TYPE...] [--concurrency N] [--pool NAME]\n"
            "                      [--redis URL] [--prefix P] [--store URL] [--lease MS]\n"
            "                      [--grace S] [--retry S] [--prefetch N] [--tmp DIR]\n"
            "                      [--metrics ADDR]\n\n"
            "Serves the built-in task types until SIGTERM/SIGINT (the first drains,\n"
            "a second exits at once). Types:\n"
            "  noop    succeeds at once\n"
            "  sleep   sleeps with.ms milliseconds\n");
}

RF_CMD(worker)
{
    const char *types = NULL;
    /* Room for a --redis URL ahead of the caller's options. */
    char **rest = calloc((size_t)argc + 3, sizeof *rest);
    int nrest = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            free(rest);
            return 0;
        }
        if (!strcmp(argv[i], "--types") && i + 1 < argc)
            types = argv[++i];
        else
            rest[nrest++] = argv[i];
    }
    if (!types) {
        fprintf(stderr, "ruvflow: worker: --types is required\n");
        usage(stderr);
        free(rest);
        return 2;
    }
    const rf_worker_def *defs[8];
    size_t ndefs = 0;
    char *copy = strdup(types), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const rf_worker_def *d = rf_builtin_find(t);
        if (!d) {
            fprintf(stderr, "ruvflow: worker: unknown built-in type \"%s\" (have noop, sleep; "
                    "other types are served by their ruvflow-<type> binaries)\n", t);
            rc = 2;
            break;
        }
        int dup = 0;
        for (size_t i = 0; i < ndefs; i++)
            dup |= defs[i] == d;
        if (!dup && ndefs < sizeof defs / sizeof defs[0])
            defs[ndefs++] = d;
    }
    free(copy);
    if (rc == 0 && ndefs == 0) {
        fprintf(stderr, "ruvflow: worker: --types is empty\n");
        rc = 2;
    }
    if (rc == 0) {
        /* The runtime alone knows only the environment and config; find
         * the Redis of `ruvflow up` as the run verbs do. A --redis of the
         * caller's comes later and wins. */
        memmove(rest + 2, rest, (size_t)nrest * sizeof *rest);
        rest[0] = "--redis";
        rest[1] = (char *)engine_redis_url(NULL);
        nrest += 2;
    }
    if (rc == 0)
        rc = rf_runtime_serve(nrest, rest, defs, ndefs);
    free(rest);
    return rc;
}
