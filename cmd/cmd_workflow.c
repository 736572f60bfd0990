/* cmd_workflow: `ruvflow lint FILE [-p k=v]...`: validate a workflow file
 * without touching Redis. Exit 0 valid, 2 invalid, 3 no such file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "handlers/rf_tune_lint.h"
#include "engine/rf_workflow.h"

static const char lint_usage[] =
    "usage: ruvflow lint FILE [-p KEY=VALUE]... [-q] [--max-tasks N] [--json]\n"
    "\n"
    "Parse and validate a workflow file: unknown keys, wrong types, unknown\n"
    "workers, dangling references, cycles, malformed templates and conditions.\n"
    "Each problem is printed as FILE:LINE:COL: message; how to fix it.\n"
    "Nothing is submitted.\n"
    "\n"
    "  -p KEY=VALUE   override a parameter, as submit does\n"
    "  -q             print nothing when the file is valid\n"
    "  --max-tasks N  allow up to N tasks in the workflow (default 1000000)\n"
    "  --json         print one JSON object: {\"file\", \"valid\", \"problems\":\n"
    "                 [{\"line\", \"col\", \"message\"}], and when valid \"name\",\n"
    "                 \"steps\", \"tasks\"}\n"
    "\n"
    "Exit status: 0 valid, 2 invalid (or bad usage), 3 no such file, 7 the\n"
    "file cannot be read (see EXIT STATUS in ruvflow(1)).\n";

/* --json: the result as one JSON object on stdout. */
static void print_json(const char *file, const rf_workflow *wf, const rf_wf_diags *d,
                       const rf_err *err)
{
    json_t *problems = json_array();
    for (size_t i = 0; d && i < d->n; i++)
        json_array_append_new(problems, json_pack("{s:i,s:i,s:s}", "line", d->v[i].loc.line,
                                                  "col", d->v[i].loc.col, "message",
                                                  d->v[i].msg));
    if (!wf && err && (!d || d->n == 0))   /* unreadable: no diagnostics */
        json_array_append_new(problems, json_pack("{s:i,s:i,s:s}", "line", 0, "col", 0,
                                                  "message", err->msg));
    json_t *o = json_pack("{s:s,s:b,s:o}", "file", file, "valid", wf != NULL, "problems",
                          problems);
    if (wf) {
        size_t tasks = 0;
        for (size_t i = 0; i < wf->nsteps; i++)
            tasks += wf->steps[i].ntasks;
        json_object_set_new(o, "name", json_string(wf->name));
        json_object_set_new(o, "steps", json_integer((json_int_t)wf->nsteps));
        json_object_set_new(o, "tasks", json_integer((json_int_t)tasks));
    }
    json_dumpf(o, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(o);
}

RF_CMD(lint)
{
    const char *file = NULL;
    const char **ov = calloc((size_t)argc, sizeof *ov);
    size_t nov = 0;
    int quiet = 0, json = 0;
    unsigned long long max_tasks = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(lint_usage, stdout);
            free(ov);
            return 0;
        } else if (!strcmp(argv[i], "-p") && i + 1 < argc) {
            ov[nov++] = argv[++i];
        } else if (!strcmp(argv[i], "-q")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "--max-tasks") && i + 1 < argc) {
            char *end;
            max_tasks = strtoull(argv[++i], &end, 10);
            if (*end || !max_tasks) {
                fprintf(stderr, "ruvflow lint: --max-tasks takes a positive number, got \"%s\"\n",
                        argv[i]);
                free(ov);
                return 2;
            }
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (argv[i][0] == '-' || file) {
            fputs(lint_usage, stderr);
            free(ov);
            return 2;
        } else {
            file = argv[i];
        }
    }
    if (!file) {
        fputs(lint_usage, stderr);
        free(ov);
        return 2;
    }
    rf_workflow *wf;
    rf_wf_diags d = {0};
    d.max_tasks = (size_t)max_tasks;
    rf_err err;
    int rc = rf_workflow_load(file, ov, nov, &wf, &d, &err);
    free(ov);
    if (rc == 0 && rf_tune_lint(wf, &d) > 0) {   /* tune-trial spaces */
        rf_workflow_free(wf);
        rf_errf(&err, RF_EINVAL, "%s: %zu problem%s", file, d.n, d.n == 1 ? "" : "s");
        rc = -1;
    }
    if (rc < 0) {
        if (json)
            print_json(file, NULL, &d, &err);
        rf_wf_diags_print(&d, file, stderr);
        fprintf(stderr, "ruvflow lint: %s\n", err.msg);
        rf_wf_diags_free(&d);
        return rf_err_exit_status(&err);
    }
    if (json) {
        print_json(file, wf, NULL, NULL);
    } else if (!quiet) {
        size_t tasks = 0;
        for (size_t i = 0; i < wf->nsteps; i++)
            tasks += wf->steps[i].ntasks;
        printf("%s: ok: workflow \"%s\", %zu step%s, %zu task%s at submit\n", file,
               wf->name, wf->nsteps, wf->nsteps == 1 ? "" : "s", tasks,
               tasks == 1 ? "" : "s");
    }
    rf_workflow_free(wf);
    return 0;
}
