/* cmd_cron: `ruvflow cron add|ls|rm`, scheduled submission of workflows.
 * The schedules live in Redis (rf_sched_cron.c); a running scheduler
 * fires them. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cmd_engine.h"
#include "engine/rf_cron.h"
#include "engine/rf_workflow.h"

static const char cron_usage[] =
    "usage: ruvflow cron add 'EXPR' FILE [-p KEY=VALUE]... [--json]\n"
    "       ruvflow cron ls [--json]\n"
    "       ruvflow cron rm ID\n"
    "\n"
    "Submit FILE at the times the cron expression names (UTC), with the\n"
    "parameters given: `minute hour day-of-month month day-of-week`, each *,\n"
    "N, A-B, */S, A-B/S or a comma list (JAN..DEC, SUN..SAT allowed), or\n"
    "@hourly, @daily, @weekly, @monthly, @yearly. add checks the expression\n"
    "and the workflow (as lint does) and prints the schedule's id; a running\n"
    "`ruvflow scheduler` fires it, once per time however many run.\n"
    "  --redis URL    Redis (default $RUVFLOW_REDIS_URL, the stack of `ruvflow up`,\n"
    "                 else redis://127.0.0.1:6379/0)\n"
    "  --prefix P     key prefix (default $RUVFLOW_REDIS_PREFIX or rf:)\n"
    "\n"
    "Exit status: 0 done, 2 bad expression, workflow or usage, 3 no such id or file.\n";

typedef struct cron_args {
    const char *redis, *prefix, *pos[3];
    const char **params;
    size_t nparams, npos;
    int json;
} cron_args;

static int parse(int argc, char **argv, cron_args *a)
{
    memset(a, 0, sizeof *a);
    a->params = calloc((size_t)argc + 1, sizeof *a->params);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h"))
            return 1;
        if (!strcmp(s, "--json"))
            a->json = 1;
        else if ((!strcmp(s, "--redis") || !strcmp(s, "--prefix") || !strcmp(s, "-p")) &&
                 i + 1 < argc) {
            const char *v = argv[++i];
            if (s[1] == 'p')
                a->params[a->nparams++] = v;
            else if (s[2] == 'r')
                a->redis = v;
            else
                a->prefix = v;
        } else if (s[0] == '-' || a->npos == 3) {
            return -1;
        } else {
            a->pos[a->npos++] = s;
        }
    }
    return a->npos ? 0 : -1;
}

static int fail(const char *what, const rf_err *err)
{
    fprintf(stderr, "ruvflow cron %s: %s\n", what, err->msg);
    return rf_err_exit_status(err);
}

static int open_engine(engine *e, const cron_args *a)
{
    rf_err err;
    rf_sched_opts so;
    rf_sched_opts_default(&so);
    const char *tick = getenv("RUVFLOW_CRON_TICK_MS");   /* tests only */
    so.cron_tick_ms = tick ? atol(tick) : 0;
    if (engine_open(e, engine_redis_url(a->redis), engine_prefix(a->prefix), 3000, &so,
                    NULL, &err) < 0) {
        int status = fail("", &err);
        engine_explain_redis(a->redis, stderr);
        return status;
    }
    return 0;
}

/* Check the workflow as lint does; the scheduler reads it at each fire. */
static int check_workflow(const char *file, const cron_args *a, char **abs)
{
    rf_workflow *wf = NULL;
    rf_wf_diags d = {0};
    rf_err err;
    *abs = NULL;
    if (rf_workflow_load(file, a->params, a->nparams, &wf, &d, &err) < 0) {
        rf_wf_diags_print(&d, file, stderr);
        rf_wf_diags_free(&d);
        return fail("add", &err);
    }
    rf_workflow_free(wf);
    *abs = realpath(file, NULL);
    if (!*abs) {
        rf_err_errno(&err, "%s", file);
        return fail("add", &err);
    }
    return 0;
}

static int cron_add(const cron_args *a)
{
    rf_cron c;
    rf_err err;
    if (a->npos != 3)
        return fputs(cron_usage, stderr), 2;
    if (rf_cron_parse(a->pos[1], &c, &err) < 0)
        return fail("add", &err);
    char *abs = NULL;
    int status = check_workflow(a->pos[2], a, &abs);
    engine e;
    if (status || (status = open_engine(&e, a)))
        return free(abs), status;
    char *id;
    int rc = rf_sched_cron_add(e.s, a->pos[1], abs, a->params, a->nparams, &id, &err);
    engine_close(&e);
    free(abs);
    if (rc < 0)
        return fail("add", &err);
    if (a->json)
        printf("{\"id\": \"%s\"}\n", id);
    else
        printf("%s\n", id);
    free(id);
    return 0;
}

static void utc(char *out, size_t n, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static int cron_ls(const cron_args *a)
{
    engine e;
    int status = open_engine(&e, a);
    if (status)
        return status;
    rf_cron_entry *v;
    size_t n;
    rf_err err;
    int rc = rf_sched_cron_list(e.s, &v, &n, &err);
    engine_close(&e);
    if (rc < 0)
        return fail("ls", &err);
    if (!a->json)
        printf("%-14s %-18s %-20s %-28s %s\n", "ID", "EXPR", "NEXT (UTC)", "LAST RUN", "FILE");
    for (size_t i = 0; i < n; i++) {
        char next[32];
        utc(next, sizeof next, v[i].next_ms);
        if (a->json) {
            json_t *ps = json_array();
            for (size_t k = 0; k < v[i].nparams; k++)
                json_array_append_new(ps, json_string(v[i].params[k]));
            json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:I,s:s,s:s,s:I}", "id", v[i].id,
                                  "expr", v[i].expr, "file", v[i].file, "params", ps,
                                  "next_ms", (json_int_t)v[i].next_ms, "last_run",
                                  v[i].last_run, "last_error", v[i].last_error,
                                  "last_ms", (json_int_t)v[i].last_ms);
            char *t = json_dumps(j, JSON_COMPACT);
            puts(t);
            free(t);
            json_decref(j);
        } else {
            printf("%-14s %-18s %-20s %-28s %s%s%s\n", v[i].id, v[i].expr, next,
                   v[i].last_run[0] ? v[i].last_run : "-", v[i].file,
                   v[i].last_error[0] ? "\n    last error: " : "", v[i].last_error);
        }
    }
    rf_cron_entries_free(v, n);
    return 0;
}

static int cron_rm(const cron_args *a)
{
    if (a->npos != 2)
        return fputs(cron_usage, stderr), 2;
    engine e;
    int status = open_engine(&e, a);
    if (status)
        return status;
    rf_err err;
    int rc = rf_sched_cron_rm(e.s, a->pos[1], &err);
    engine_close(&e);
    if (rc < 0)
        return fail("rm", &err);
    printf("removed %s\n", a->pos[1]);
    return 0;
}

RF_CMD(cron)
{
    cron_args a;
    int p = parse(argc, argv, &a), rc;
    if (p > 0)
        rc = (fputs(cron_usage, stdout), 0);
    else if (p < 0)
        rc = (fputs(cron_usage, stderr), 2);
    else if (!strcmp(a.pos[0], "add"))
        rc = cron_add(&a);
    else if (!strcmp(a.pos[0], "ls") && a.npos == 1)
        rc = cron_ls(&a);
    else if (!strcmp(a.pos[0], "rm"))
        rc = cron_rm(&a);
    else
        rc = (fputs(cron_usage, stderr), 2);
    free(a.params);
    return rc;
}
