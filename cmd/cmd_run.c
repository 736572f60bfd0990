/* cmd_run: the run verbs: submit, status, list, watch, logs, cancel, retry,
 * resume, outputs, and the scheduler daemon. Exit codes (docs/ruvflow.1):
 * 0 success, 1 failure (a run that failed or was cancelled, Redis errors),
 * 2 usage or invalid workflow, 3 no such run or step. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "handlers/rf_tune_lint.h"
#include "cmd.h"
#include "cmd_engine.h"
#include "base/rf_buf.h"
#include "base/rf_config.h"
#include "base/rf_json.h"
#include "base/rf_log.h"
#include "engine/rf_dag.h"
#include "engine/rf_monitor.h"
#include "engine/rf_workflow.h"
#include "store/rf_tier.h"
#include "base/rf_time.h"

/* ------------------------------------------------------------ engine */

/* The configured Redis and where it came from (rf_config_source). */
static int redis_from_config(char *url, size_t nurl, char *src, size_t nsrc, char *looked,
                             size_t nlooked)
{
    rf_config c;
    rf_err err;
    if (rf_config_load(&c, NULL, &err) < 0) {
        fprintf(stderr, "ruvflow: config: %s (using defaults)\n", err.msg);
        return -1;
    }
    snprintf(url, nurl, "%s", c.redis_url);
    snprintf(src, nsrc, "%s", rf_config_source(&c, "redis_url"));
    snprintf(looked, nlooked, "%s", c.stack_looked ? c.stack_looked : "");
    rf_config_free(&c);
    return 0;
}

/* A Redis named by the environment or the config file (not the default,
 * not the local stack's). */
const char *engine_configured_redis(void)
{
    static char named[512];
    char src[1024], looked[4096];
    if (redis_from_config(named, sizeof named, src, sizeof src, looked, sizeof looked) < 0)
        return NULL;
    return !strncmp(src, "env ", 4) || !strncmp(src, "file ", 5) ? named : NULL;
}

const char *engine_redis_url(const char *opt)
{
    static char url[512];
    char src[1024], looked[4096];
    if (opt)
        return opt;
    if (redis_from_config(url, sizeof url, src, sizeof src, looked, sizeof looked) < 0)
        return "redis://127.0.0.1:6379/0";
    return url;
}

void engine_explain_redis(const char *opt, FILE *f)
{
    char url[512], src[1024], looked[4096];
    if (opt) {
        fprintf(f, "hint: Redis was named by --redis\n");
        return;
    }
    if (redis_from_config(url, sizeof url, src, sizeof src, looked, sizeof looked) < 0)
        return;
    if (!strcmp(src, "default")) {
        fprintf(f, "hint: no local stack found (looked for " RF_STACK_DIR "/ in %s), so "
                "the default Redis was used; start one with `ruvflow up`, or set "
                "RUVFLOW_REDIS_URL\n", looked[0] ? looked : "no folder");
        return;
    }
    char red[512];
    rf_redact(red, sizeof red, url);
    fprintf(f, "hint: Redis %s came from %s%s\n", red, src,
            !strncmp(src, "stack ", 6) ? "; is that stack still up? (`ruvflow up` there)"
                                       : "");
}

const char *engine_prefix(const char *opt)
{
    const char *env = getenv("RUVFLOW_REDIS_PREFIX");
    return opt ? opt : env && *env ? env : "rf:";
}

long engine_retention_s(void)
{
    rf_config c;
    rf_err err;
    if (rf_config_load(&c, NULL, &err) < 0)
        return 7 * 24 * 3600;
    long v = c.retention_s;
    rf_config_free(&c);
    return v > 0 ? v : 7 * 24 * 3600;
}

static int stop_flag_set(void *ud)
{
    return *(volatile sig_atomic_t *)ud != 0;
}

int engine_open(engine *e, const char *url, const char *prefix, long retry_ms,
                const rf_sched_opts *so, volatile sig_atomic_t *stop, rf_err *err)
{
    memset(e, 0, sizeof *e);
    rf_redis_opts ro;
    rf_redis_opts_default(&ro);
    ro.retry_ms = retry_ms;
    if (stop) {
        ro.should_stop = stop_flag_set;
        ro.stop_ud = (void *)stop;
    }
    ro.log = so ? so->log : NULL;
    rf_queue_opts qo;
    rf_queue_opts_default(&qo);
    qo.prefix = prefix;
    qo.retention_s = engine_retention_s();
    rf_sched_opts d;
    rf_sched_opts_default(&d);
    d.retention_s = qo.retention_s;
    if (rf_redis_connect(url, &ro, &e->r, err) < 0)
        return -1;
    if (rf_queue_open(e->r, &qo, &e->q, err) < 0 ||
        rf_sched_open(e->r, e->q, so ? so : &d, &e->s, err) < 0) {
        engine_close(e);
        return -1;
    }
    return 0;
}

void engine_close(engine *e)
{
    rf_sched_close(e->s);
    rf_queue_close(e->q);
    rf_redis_close(e->r);
    memset(e, 0, sizeof *e);
}

/* ----------------------------------------------------------- options */

/* Options every run verb accepts; the rest are the verb's own. */
typedef struct common {
    const char *redis, *prefix;
    int json, help;
} common;

/* Consume a common option at argv[*i]; 1 if it was one, -1 if incomplete. */
static int common_opt(common *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--json"))
        return c->json = 1, 1;
    if (!strcmp(a, "--help") || !strcmp(a, "-h"))
        return c->help = 1, 1;
    if (!strcmp(a, "--redis") || !strcmp(a, "--prefix")) {
        if (*i + 1 >= argc)
            return -1;
        *(a[2] == 'r' ? &c->redis : &c->prefix) = argv[++*i];
        return 1;
    }
    return 0;
}

static int usage_error(const char *usage)
{
    fputs(usage, stderr);
    return 2;
}

/* Print the error; returns the exit status of the one table (ruvflow.1). */
static int fail(const char *verb, const rf_err *err)
{
    fprintf(stderr, "ruvflow %s: %s\n", verb, err->msg);
    return rf_err_exit_status(err);
}

/* 0, or the exit status after printing why Redis could not be used. */
static int open_engine(engine *e, const common *c, const char *verb)
{
    rf_err err;
    /* Interactive verbs fail fast on a missing Redis; the daemon waits. */
    if (engine_open(e, engine_redis_url(c->redis), engine_prefix(c->prefix), 3000, NULL,
                    NULL, &err) < 0) {
        int status = fail(verb, &err);
        if (err.code != RF_EAUTH)
            engine_explain_redis(c->redis, stderr);
        return status;
    }
    return 0;
}

#define COMMON_HELP \
    "  --redis URL    Redis (default $RUVFLOW_REDIS_URL, the stack of `ruvflow up`,\n" \
    "                 else redis://127.0.0.1:6379/0)\n" \
    "  --prefix P     key prefix (default $RUVFLOW_REDIS_PREFIX or rf:)\n"

/* ----------------------------------------------------------- display */

static void fmt_duration(char *out, size_t n, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    int64_t s = ms / 1000;
    if (s < 60)
        snprintf(out, n, "%.1fs", (double)ms / 1000);
    else if (s < 3600)
        snprintf(out, n, "%dm%02ds", (int)(s / 60), (int)(s % 60));
    else
        snprintf(out, n, "%dh%02dm", (int)(s / 3600), (int)(s % 3600 / 60));
}

/* A finished run (failed, cancelled) dispatches nothing more: its tasks
 * still waiting will not run (unless `ruvflow retry`/`resume`) and count
 * as skipped. The count of such tasks of s, and why, in *why. */
static size_t not_run(const rf_run_status *st, const rf_step_status *s, const char **why)
{
    if (!strcmp(st->state, "running")) {
        *why = NULL;
        return 0;
    }
    *why = !strcmp(st->state, "cancelled") ? "the run was cancelled" : "the run failed";
    return s->queued + s->retrying + s->pending;
}

static json_t *status_json(const rf_run_status *st)
{
    json_t *steps = json_array();
    const char *why = NULL;
    for (size_t i = 0; i < st->nsteps; i++) {
        const rf_step_status *s = &st->steps[i];
        size_t never = not_run(st, s, &why);
        json_array_append_new(steps, json_pack(
            "{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "name", s->name, "worker",
            s->worker, "total", (json_int_t)s->total,
            /* a result reused from the cache is done: "cached" says how many */
            "done", (json_int_t)(s->done + s->cached),
            "cached", (json_int_t)s->cached, "skipped", (json_int_t)(s->skipped + never),
            "not_run", (json_int_t)never,
            "failed", (json_int_t)s->failed, "running", (json_int_t)s->running,
            "queued", (json_int_t)(never ? 0 : s->queued),
            "retrying", (json_int_t)(never ? 0 : s->retrying),
            "pending", (json_int_t)(never ? 0 : s->pending)));
        if (s->waiting && !strcmp(st->state, "running"))
            json_object_set_new(json_array_get(steps, json_array_size(steps) - 1),
                                "waiting_approval", json_true());
    }
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:b,s:{s:I,s:I,s:I},s:o}", "run",
                     st->id, "name", st->name, "file", st->file, "state", st->state,
                     "error", st->error, "created_ms", (json_int_t)st->created_ms,
                     "finished_ms", (json_int_t)st->finished_ms, "no_cache",
                     st->no_cache, "tasks", "total", (json_int_t)st->total, "finished",
                     (json_int_t)st->finished, "failed", (json_int_t)st->failed,
                     "steps", steps);
    if (why)
        json_object_set_new(j, "not_run_reason", json_string(why));
    if (st->main && st->main[0])   /* on_exit: how the main steps ended */
        json_object_set_new(j, "main", json_string(st->main));
    if (st->exit_error && st->exit_error[0])
        json_object_set_new(j, "exit_error", json_string(st->exit_error));
    return j;
}

/* Elapsed time and, while running with some tasks finished, ", ETA D"
 * (the remaining tasks at the rate so far). */
static void run_times(const rf_run_status *st, char *el, size_t nel, char *eta, size_t neta)
{
    int64_t end = st->finished_ms ? st->finished_ms : rf_wall_ms();
    int64_t elapsed = end - st->created_ms;
    fmt_duration(el, nel, elapsed);
    eta[0] = '\0';
    size_t left = st->total - st->finished;
    if (!strcmp(st->state, "running") && st->finished && left) {
        char d[32];
        fmt_duration(d, sizeof d, (int64_t)((double)elapsed * (double)left / (double)st->finished));
        snprintf(eta, neta, ", ETA %s", d);
    }
}

/* The progress table; returns the number of lines printed (for redraw). */
static int print_status(FILE *f, const rf_run_status *st)
{
    char el[32], eta[48];
    run_times(st, el, sizeof el, eta, sizeof eta);
    int lines = 0;
    fprintf(f, "run %s  %s  %s%s\n", st->id, st->state, el, eta);
    lines++;
    if (st->main && st->main[0] && !strcmp(st->state, "running")) {
        fprintf(f, "  main steps %s; running the on_exit steps\n", st->main);
        lines++;
    }
    fprintf(f, "  %-18s %-18s %7s %7s %7s %7s %7s %7s\n", "STEP", "WORKER", "TASKS", "DONE",
            "RUNNING", "QUEUED", "FAILED", "SKIPPED");
    lines++;
    size_t never_total = 0;
    const char *why = NULL;
    for (size_t i = 0; i < st->nsteps; i++) {
        const rf_step_status *s = &st->steps[i];
        char done[32];
        size_t never = not_run(st, s, &why);
        never_total += never;
        if (s->cached)
            snprintf(done, sizeof done, "%zu*", s->done + s->cached);
        else
            snprintf(done, sizeof done, "%zu", s->done);
        fprintf(f, "  %-18.18s %-18.18s %7zu %7s %7zu %7zu %7zu %7zu%s%s%s\n", s->name,
                s->worker, s->total, done, s->running,
                never ? 0 : s->queued + s->retrying + s->pending, s->failed,
                s->skipped + never, s->fan == RF_FAN_CHAIN ? "  (chain)" : "",
                never ? "  (not run)" : "", s->on_exit ? "  (on_exit)" : "");
        if (s->waiting && !strcmp(st->state, "running")) {
            fprintf(f, "    waiting for approval: ruvflow approve %s %s (or reject)\n",
                    st->id, s->name);
            lines++;
        }
        lines++;
    }
    if (never_total) {
        fprintf(f, "  %zu task%s skipped, not run: %s (`ruvflow retry %s` or `resume` "
                "runs them)\n", never_total, never_total == 1 ? "" : "s", why, st->id);
        lines++;
    }
    int cached = 0;
    for (size_t i = 0; i < st->nsteps; i++)
        cached |= st->steps[i].cached > 0;
    fprintf(f, "  %zu/%zu tasks finished%s%s%s\n", st->finished, st->total,
            cached ? " (* includes results reused from the cache)" : "",
            st->error[0] ? "; error: " : "", st->error);
    lines++;
    if (st->exit_error && st->exit_error[0] && strcmp(st->exit_error, st->error)) {
        fprintf(f, "  on_exit failed: %s\n", st->exit_error);
        lines++;
    }
    return lines;
}

/* Follow a run until it finishes. Returns the exit status (0 succeeded). */
static int follow(engine *e, const char *run, int json)
{
    int tty = isatty(STDOUT_FILENO) && !json;
    int drawn = 0;
    size_t last_finished = (size_t)-1;
    int64_t last_print = 0, started = rf_wall_ms();
    int warned = 0;
    for (;;) {
        rf_run_status st;
        rf_err err;
        if (rf_sched_status(e->s, run, &st, &err) < 0)
            return fail("status", &err);
        int running = !strcmp(st.state, "running");
        if (tty) {
            if (drawn)
                printf("\033[%dA\033[J", drawn);
            drawn = print_status(stdout, &st);
            fflush(stdout);
        } else if (!json && ((st.finished != last_finished &&
                               rf_wall_ms() - last_print >= 2000) ||
                              rf_wall_ms() - last_print >= 5000 || !running)) {
            /* Not a terminal: a line when tasks finish (at most every 2 s),
             * else every 5 s, so a log shows the ETA moving. */
            char el[32], eta[48];
            run_times(&st, el, sizeof el, eta, sizeof eta);
            printf("%s: %s, %zu/%zu tasks finished, %zu failed, %s elapsed%s\n", run,
                   st.state, st.finished, st.total, st.failed, el, eta);
            fflush(stdout);
            last_print = rf_wall_ms();
            last_finished = st.finished;
        }
        if (!running) {
            if (json) {
                json_t *j = status_json(&st);
                json_dumpf(j, stdout, JSON_INDENT(2));
                putchar('\n');
                json_decref(j);
            } else if (!tty) {
                print_status(stdout, &st);
            }
            int ok = !strcmp(st.state, "succeeded");
            rf_run_status_free(&st);
            return ok ? 0 : 1;
        }
        if (!warned && st.finished == 0 && rf_wall_ms() - started > 10000) {
            size_t alive = 0;
            if (rf_sched_alive(e->s, 10000, &alive, &err) == 0 && !alive) {
                fprintf(stderr, "ruvflow: no scheduler has been seen for 10 s: start one "
                        "with `ruvflow scheduler` or `ruvflow up`\n");
                warned = 1;
            }
        }
        /* A status read scans unfinished tasks: poll big runs less often. */
        long pause = (long)(st.total - st.finished) / 20;
        pause = pause < 250 ? 250 : pause > 2000 ? 2000 : pause;
        rf_run_status_free(&st);
        usleep((useconds_t)pause * 1000);
    }
}

/* -------------------------------------------------------------- submit */

static const char submit_usage[] =
    "usage: ruvflow submit FILE [-p KEY=VALUE]... [--wait] [--json] [--no-cache]\n"
    "                      [--id RUN] [--dry-run] [--max-tasks N]\n"
    "\n"
    "Validate the workflow, store it as a new run in Redis, print the run id.\n"
    "A scheduler (`ruvflow scheduler`, or the stack of `ruvflow up`) runs it.\n"
    "\n"
    "  -p KEY=VALUE   override a parameter (repeatable)\n"
    "  --wait         show live progress per step; exit 0 only if the run succeeds\n"
    "  --json         print {\"run\": ID} (with --wait, the final status as JSON)\n"
    "  --no-cache     run every task even when a cached result exists\n"
    "  --id RUN       choose the run id (default NAME-YYMMDD-HHMMSS-XXXX)\n"
    "  --dry-run      print the tasks the workflow expands to; submit nothing\n"
    "  --max-tasks N  allow up to N tasks (default 1000000)\n"
    COMMON_HELP
    "\n"
    "Exit status: 0 submitted (--wait: succeeded), 1 failed or cancelled, 2 invalid\n"
    "workflow or usage.\n";

static int dry_run(const rf_workflow *wf)
{
    rf_dag_task *t;
    size_t n;
    rf_err err;
    if (rf_dag_expand(wf, &t, &n, &err) < 0)
        return fail("submit", &err);
    for (size_t i = 0; i < n; i++) {
        const rf_wf_step *s = &wf->steps[t[i].step];
        printf("%s/%zu\t%s", s->name, t[i].index, s->worker);
        for (size_t a = 0; a < s->naxes; a++)
            printf("\t%s%s%s", s->axes[a].key, s->axes[a].key[0] ? "=" : "item=",
                   rf_wf_item(s, a, t[i].index));
        if (t[i].after)
            printf("\tafter %s/%zu", s->name, t[i].after - 1);
        putchar('\n');
    }
    fprintf(stderr, "%zu tasks at submit\n", n);
    free(t);
    return 0;
}

RF_CMD(submit)
{
    common c = {0};
    const char *file = NULL, *id = NULL;
    const char **ov = calloc((size_t)argc + 1, sizeof *ov);
    size_t nov = 0;
    int wait = 0, no_cache = 0, dry = 0;
    size_t max_tasks = 0;
    for (int i = 1; i < argc; i++) {
        int k = common_opt(&c, argc, argv, &i);
        if (k < 0)
            return free(ov), usage_error(submit_usage);
        if (k)
            continue;
        if (!strcmp(argv[i], "-p") && i + 1 < argc)
            ov[nov++] = argv[++i];
        else if (!strcmp(argv[i], "--id") && i + 1 < argc)
            id = argv[++i];
        else if (!strcmp(argv[i], "--wait"))
            wait = 1;
        else if (!strcmp(argv[i], "--no-cache"))
            no_cache = 1;
        else if (!strcmp(argv[i], "--dry-run"))
            dry = 1;
        else if (!strcmp(argv[i], "--max-tasks") && i + 1 < argc) {
            char *end;
            max_tasks = (size_t)strtoull(argv[++i], &end, 10);
            if (*end || !max_tasks)
                return free(ov), usage_error(submit_usage);
        }
        else if (argv[i][0] == '-' || file)
            return free(ov), usage_error(submit_usage);
        else
            file = argv[i];
    }
    if (c.help)
        return free(ov), fputs(submit_usage, stdout), 0;
    if (!file)
        return free(ov), usage_error(submit_usage);
    rf_workflow *wf;
    rf_wf_diags d = {0};
    d.max_tasks = max_tasks;
    rf_err err;
    int rc = rf_workflow_load(file, ov, nov, &wf, &d, &err);
    free(ov);
    if (rc == 0 && rf_tune_lint(wf, &d) > 0) {   /* tune-trial spaces */
        rf_workflow_free(wf);
        rf_errf(&err, RF_EINVAL, "%s: %zu problem%s", file, d.n, d.n == 1 ? "" : "s");
        rc = -1;
    }
    if (rc < 0) {
        rf_wf_diags_print(&d, file, stderr);
        rf_wf_diags_free(&d);
        fprintf(stderr, "ruvflow submit: %s; nothing submitted\n", err.msg);
        return err.code == RF_EINVAL ? 2 : 1;
    }
    if (dry) {
        rc = dry_run(wf);
        rf_workflow_free(wf);
        return rc;
    }
    engine e;
    int status = open_engine(&e, &c, "submit");
    if (status != 0) {
        rf_workflow_free(wf);
        return status;
    }
    rf_submit_opts so = {no_cache, id};
    char *run;
    rc = rf_sched_submit(e.s, wf, &so, &run, &err);
    rf_workflow_free(wf);
    if (rc < 0) {
        engine_close(&e);
        return fail("submit", &err);
    }
    if (c.json && !wait)
        printf("{\"run\": \"%s\"}\n", run);
    else if (!c.json)
        printf("%s\n", run);
    fflush(stdout);
    rc = wait ? follow(&e, run, c.json) : 0;
    free(run);
    engine_close(&e);
    return rc;
}

/* -------------------------------------------------------------- status */

static const char status_usage[] =
    "usage: ruvflow status RUN [--json]\n"
    "\n"
    "The state of a run and of each step: tasks done (* = some from the cache),\n"
    "running, queued (including retries waiting for their backoff and tasks\n"
    "not dispatched yet), failed and skipped.\n"
    COMMON_HELP
    "\n"
    "Exit status: 0 shown, 3 no such run, 1 Redis errors.\n";

/* Parse "VERB RUN [extra]" with common options; returns the exit status or
 * -1 to continue. */
static int run_args(int argc, char **argv, const char *usage, common *c,
                    const char **pos, int npos_min, int npos_max, int *npos)
{
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        int k = common_opt(c, argc, argv, &i);
        if (k < 0)
            return usage_error(usage);
        if (k)
            continue;
        if (argv[i][0] == '-' && strcmp(argv[i], "-f"))
            return usage_error(usage);
        if (!strcmp(argv[i], "-f")) {
            pos[npos_max] = "-f";
            continue;
        }
        if (*npos == npos_max)
            return usage_error(usage);
        pos[(*npos)++] = argv[i];
    }
    if (c->help) {
        fputs(usage, stdout);
        return 0;
    }
    if (*npos < npos_min)
        return usage_error(usage);
    return -1;
}

RF_CMD(status)
{
    common c = {0};
    const char *pos[2] = {0};
    int n, rc = run_args(argc, argv, status_usage, &c, pos, 1, 1, &n);
    if (rc >= 0)
        return rc;
    engine e;
    int status = open_engine(&e, &c, "status");
    if (status != 0)
        return status;
    rf_run_status st;
    rf_err err;
    if (rf_sched_status(e.s, pos[0], &st, &err) < 0) {
        engine_close(&e);
        return fail("status", &err);
    }
    if (c.json) {
        json_t *j = status_json(&st);
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(j);
    } else {
        print_status(stdout, &st);
        cmd_online_status(e.s, &st, stdout);
    }
    rf_run_status_free(&st);
    engine_close(&e);
    return 0;
}

/* ---------------------------------------------------------------- list */

static const char list_usage[] =
    "usage: ruvflow list [--limit N] [--json]\n"
    "\n"
    "Recent runs, newest first (default 20).\n"
    COMMON_HELP;

RF_CMD(list)
{
    common c = {0};
    long limit = 20;
    for (int i = 1; i < argc; i++) {
        int k = common_opt(&c, argc, argv, &i);
        if (k < 0)
            return usage_error(list_usage);
        if (k)
            continue;
        if (!strcmp(argv[i], "--limit") && i + 1 < argc)
            limit = strtol(argv[++i], NULL, 10);
        else
            return usage_error(list_usage);
    }
    if (c.help)
        return fputs(list_usage, stdout), 0;
    if (limit <= 0)
        return usage_error(list_usage);
    engine e;
    int status = open_engine(&e, &c, "list");
    if (status != 0)
        return status;
    char **ids;
    size_t n;
    rf_err err;
    if (rf_sched_list(e.s, (size_t)limit, &ids, &n, &err) < 0) {
        engine_close(&e);
        return fail("list", &err);
    }
    json_t *arr = json_array();
    if (!c.json)
        printf("%-44s %-10s %9s %8s  %s\n", "RUN", "STATE", "TASKS", "AGE", "WORKFLOW");
    for (size_t i = 0; i < n; i++) {
        rf_run_status st;
        if (rf_sched_status(e.s, ids[i], &st, &err) == 0) {
            if (c.json) {
                json_array_append_new(arr, status_json(&st));
            } else {
                char age[32], tasks[48];
                fmt_duration(age, sizeof age, rf_wall_ms() - st.created_ms);
                snprintf(tasks, sizeof tasks, "%zu/%zu", st.finished, st.total);
                printf("%-44s %-10s %9s %8s  %s\n", st.id, st.state, tasks, age, st.file);
            }
            rf_run_status_free(&st);
        }
        free(ids[i]);
    }
    free(ids);
    if (c.json) {
        json_dumpf(arr, stdout, JSON_INDENT(2));
        putchar('\n');
    }
    json_decref(arr);
    engine_close(&e);
    return 0;
}

/* --------------------------------------------------------------- watch */

static const char watch_usage[] =
    "usage: ruvflow watch RUN [--json]\n"
    "\n"
    "Live progress of a run (the same display as submit --wait) and the latest\n"
    "progress points its tasks stream (training curves), until it finishes.\n"
    "--json: JSON lines instead, {\"type\": \"progress\", \"task\", \"series\",\n"
    "\"step\", \"values\"} for every point and {\"type\": \"status\", ...} (as\n"
    "status --json) whenever a task finishes, and once at the end.\n"
    COMMON_HELP
    "\n"
    "Exit status: 0 the run succeeded, 1 it failed or was cancelled, 3 no such run.\n";

/* A task id without its run's prefix: "train/0". */
static const char *short_task(const char *task, const char *run)
{
    size_t n = strlen(run);
    return !strncmp(task, run, n) && task[n] == '/' ? task + n + 1 : task;
}

/* One progress entry's fields: task, series, step and the k=v values. */
typedef struct progress_point {
    const char *task, *series, *step;
    const redisReply *kv;
} progress_point;

static progress_point progress_fields(const redisReply *kv)
{
    progress_point p = {"", "", "", kv};
    for (size_t j = 0; j + 1 < kv->elements; j += 2) {
        const char *f = kv->element[j]->str, *v = kv->element[j + 1]->str;
        if (!strcmp(f, "task"))
            p.task = v;
        else if (!strcmp(f, "series"))
            p.series = v;
        else if (!strcmp(f, "step"))
            p.step = v;
    }
    return p;
}

static int is_meta_field(const char *f)
{
    return !strcmp(f, "task") || !strcmp(f, "series") || !strcmp(f, "step");
}

/* Print the newest progress point of each task seen in the last entries. */
static void print_progress(engine *e, const char *prefix, const char *run)
{
    rf_buf k = RF_BUF_INIT;
    rf_buf_addf(&k, "%srun:%s:progress", prefix, run);
    const char *argv[] = {"XREVRANGE", k.data, "+", "-", "COUNT", "200"};
    redisReply *rep;
    rf_err err;
    if (rf_redis_cmdv(e->r, 6, argv, NULL, &rep, &err) < 0) {
        rf_buf_free(&k);
        return;
    }
    char seen[16][256];
    size_t nseen = 0;
    for (size_t i = 0; i < rep->elements && nseen < 16; i++) {
        progress_point p = progress_fields(rep->element[i]->element[1]);
        int dup = 0;
        for (size_t s = 0; s < nseen && !dup; s++)
            dup = !strcmp(seen[s], p.task);
        if (dup)
            continue;
        snprintf(seen[nseen++], sizeof seen[0], "%s", p.task);
        printf("  %-24s %s %s:", short_task(p.task, run), p.series, p.step);
        for (size_t j = 0; j + 1 < p.kv->elements; j += 2) {
            const char *f = p.kv->element[j]->str, *v = p.kv->element[j + 1]->str;
            char num[64];
            if (!is_meta_field(f))
                printf(" %s=%s", f, rf_num_fmt(num, sizeof num, strtod(v, NULL), 4));
        }
        putchar('\n');
    }
    freeReplyObject(rep);
    rf_buf_free(&k);
}

/* A JSON number from Redis text ("nan" becomes null). */
static json_t *redis_number(const char *v)
{
    char *end;
    double d = strtod(v, &end);
    return *end ? json_string(v) : rf_json_num(d);
}

/* watch --json: every progress point after *last as one JSON line. */
static int stream_progress_json(engine *e, const char *prefix, const char *run, char *last,
                                size_t nlast, rf_err *err)
{
    rf_buf k = RF_BUF_INIT;
    rf_buf_addf(&k, "%srun:%s:progress", prefix, run);
    for (;;) {
        char start[80];
        snprintf(start, sizeof start, "(%s", last);
        const char *argv[] = {"XRANGE", k.data, start, "+", "COUNT", "1000"};
        redisReply *rep;
        if (rf_redis_cmdv(e->r, 6, argv, NULL, &rep, err) < 0) {
            rf_buf_free(&k);
            return -1;
        }
        for (size_t i = 0; i < rep->elements; i++) {
            const redisReply *en = rep->element[i];
            snprintf(last, nlast, "%s", en->element[0]->str);
            progress_point p = progress_fields(en->element[1]);
            json_t *vals = json_object();
            for (size_t j = 0; j + 1 < p.kv->elements; j += 2) {
                const char *f = p.kv->element[j]->str;
                if (!is_meta_field(f))
                    json_object_set_new(vals, f, redis_number(p.kv->element[j + 1]->str));
            }
            json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o}", "type", "progress", "task",
                                  short_task(p.task, run), "series", p.series, "step",
                                  redis_number(p.step), "values", vals);
            json_dumpf(o, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(o);
        }
        size_t n = rep->elements;
        freeReplyObject(rep);
        if (n < 1000)
            break;
    }
    rf_buf_free(&k);
    return 0;
}

/* One JSON line: the run's status with "type": "status". */
static void status_line(const rf_run_status *st)
{
    json_t *j = status_json(st);
    json_object_set_new(j, "type", json_string("status"));
    json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
    putchar('\n');
    json_decref(j);
}

RF_CMD(watch)
{
    common c = {0};
    const char *pos[2] = {0};
    int n, rc = run_args(argc, argv, watch_usage, &c, pos, 1, 1, &n);
    if (rc >= 0)
        return rc;
    engine e;
    int status = open_engine(&e, &c, "watch");
    if (status != 0)
        return status;
    int tty = isatty(STDOUT_FILENO) && !c.json;
    const char *prefix = engine_prefix(c.prefix);
    char last[64] = "0-0";
    size_t last_finished = (size_t)-1;
    for (;;) {
        rf_run_status st;
        rf_err err;
        if (rf_sched_status(e.s, pos[0], &st, &err) < 0 ||
            (c.json && stream_progress_json(&e, prefix, pos[0], last, sizeof last, &err) < 0)) {
            engine_close(&e);
            return fail("watch", &err);
        }
        int running = !strcmp(st.state, "running");
        if (c.json) {
            if (st.finished != last_finished || !running)
                status_line(&st);
            last_finished = st.finished;
        } else {
            if (tty)
                printf("\033[H\033[J");
            print_status(stdout, &st);
            printf("latest progress:\n");
            print_progress(&e, prefix, pos[0]);
        }
        fflush(stdout);
        int ok = !strcmp(st.state, "succeeded");
        rf_run_status_free(&st);
        if (!running) {
            engine_close(&e);
            return ok ? 0 : 1;
        }
        sleep(1);
        if (!tty && !c.json)
            printf("\n");
    }
}

/* ---------------------------------------------------------------- logs */

static const char logs_usage[] =
    "usage: ruvflow logs RUN [STEP[/INDEX]] [-f] [--json]\n"
    "\n"
    "Log lines of a run's tasks (the newest 10,000 are kept), optionally of one\n"
    "step or one task. -f keeps following until the run finishes. --json: one\n"
    "JSON object a line, {\"task\": \"STEP/INDEX\", \"line\": ..., \"time_ms\": ...}.\n"
    COMMON_HELP;

static int print_log_entries(const redisReply *entries, const char *run,
                             const char *filter, int json, char *last, size_t nlast)
{
    int printed = 0;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        snprintf(last, nlast, "%s", e->element[0]->str);
        const redisReply *kv = e->element[1];
        const char *task = "", *line = "";
        for (size_t j = 0; j + 1 < kv->elements; j += 2) {
            if (!strcmp(kv->element[j]->str, "task"))
                task = kv->element[j + 1]->str;
            else if (!strcmp(kv->element[j]->str, "line"))
                line = kv->element[j + 1]->str;
        }
        const char *short_id = short_task(task, run);
        if (filter) {
            size_t fl = strlen(filter);
            if (strncmp(short_id, filter, fl) || (short_id[fl] && short_id[fl] != '/'))
                continue;
        }
        if (json) {
            /* a stream id is "MS-SEQ": the time the line was added */
            json_t *o = json_pack("{s:s,s:s,s:I}", "task", short_id, "line", line, "time_ms",
                                  (json_int_t)strtoll(e->element[0]->str, NULL, 10));
            json_dumpf(o, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(o);
        } else {
            printf("%s: %s\n", short_id, line);
        }
        printed++;
    }
    return printed;
}

RF_CMD(logs)
{
    common c = {0};
    const char *pos[3] = {0};
    int n, rc = run_args(argc, argv, logs_usage, &c, pos, 1, 2, &n);
    if (rc >= 0)
        return rc;
    int follow_mode = pos[2] != NULL;
    engine e;
    int status = open_engine(&e, &c, "logs");
    if (status != 0)
        return status;
    rf_run_status st;
    rf_err err;
    if (rf_sched_status(e.s, pos[0], &st, &err) < 0) {
        engine_close(&e);
        return fail("logs", &err);
    }
    rf_run_status_free(&st);
    rf_buf k = RF_BUF_INIT;
    rf_buf_addf(&k, "%srun:%s:log", engine_prefix(c.prefix), pos[0]);
    char last[64] = "0-0";
    const char *argv0[] = {"XRANGE", k.data, "-", "+"};
    redisReply *rep;
    rc = rf_redis_cmdv(e.r, 4, argv0, NULL, &rep, &err);
    if (rc == 0) {
        print_log_entries(rep, pos[0], pos[1], c.json, last, sizeof last);
        freeReplyObject(rep);
    }
    while (rc == 0 && follow_mode) {
        fflush(stdout);
        const char *argv1[] = {"XREAD", "BLOCK", "1000", "STREAMS", k.data, last};
        if ((rc = rf_redis_cmdv(e.r, 6, argv1, NULL, &rep, &err)) < 0)
            break;
        int got = rep->type == REDIS_REPLY_ARRAY && rep->elements;
        if (got)
            print_log_entries(rep->element[0]->element[1], pos[0], pos[1], c.json, last,
                              sizeof last);
        freeReplyObject(rep);
        if (!got) {
            if ((rc = rf_sched_status(e.s, pos[0], &st, &err)) < 0)
                break;
            int running = !strcmp(st.state, "running");
            rf_run_status_free(&st);
            if (!running)
                break;
        }
    }
    rf_buf_free(&k);
    engine_close(&e);
    return rc < 0 ? fail("logs", &err) : 0;
}

/* --------------------------------------------- cancel / retry / resume */

static const char cancel_usage[] =
    "usage: ruvflow cancel RUN\n"
    "\n"
    "Stop a run: nothing more is dispatched, queued tasks are removed and running\n"
    "ones are asked to stop (`ruvflow resume RUN` continues it later).\n"
    COMMON_HELP
    "\n"
    "Exit status: 0 cancelled, 1 already finished, 3 no such run.\n";

static const char retry_usage[] =
    "usage: ruvflow retry RUN\n"
    "\n"
    "Re-run the failed (dead-lettered) tasks of a failed run with a fresh retry\n"
    "budget; finished tasks are kept. The run becomes running again.\n"
    COMMON_HELP
    "\n"
    "Exit status: 0 retried, 1 the run is not failed, 3 no such run.\n";

static const char resume_usage[] =
    "usage: ruvflow resume RUN\n"
    "\n"
    "Continue a cancelled, failed or stuck run from where it stopped: finished\n"
    "tasks stay finished, everything else is dispatched again.\n"
    COMMON_HELP
    "\n"
    "Exit status: 0 resumed, 1 the run already succeeded, 3 no such run.\n";

static int run_verb(int argc, char **argv, const char *verb, const char *usage)
{
    common c = {0};
    const char *pos[2] = {0};
    int n, rc = run_args(argc, argv, usage, &c, pos, 1, 1, &n);
    if (rc >= 0)
        return rc;
    engine e;
    int status = open_engine(&e, &c, verb);
    if (status != 0)
        return status;
    rf_err err;
    size_t count = 0;
    if (!strcmp(verb, "cancel"))
        rc = rf_sched_cancel(e.s, pos[0], &err);
    else if (!strcmp(verb, "retry"))
        rc = rf_sched_retry(e.s, pos[0], &count, &err);
    else
        rc = rf_sched_resume(e.s, pos[0], &err);
    engine_close(&e);
    if (rc < 0)
        return fail(verb, &err);
    if (c.json)
        printf("{\"run\": \"%s\", \"%s\": true}\n", pos[0], verb);
    else if (!strcmp(verb, "retry"))
        printf("run %s: %zu failed task(s) retried\n", pos[0], count);
    else
        printf("run %s: %s\n", pos[0], !strcmp(verb, "cancel") ? "cancelled" : "resumed");
    return 0;
}

static const char approve_usage[] =
    "usage: ruvflow approve|reject RUN STEP\n"
    "\n"
    "Decide a suspend step (`suspend: true`) that waits for approval, as\n"
    "`ruvflow status RUN` shows: approve lets the run go on past it, reject\n"
    "fails it (and the run, whose on_exit steps still run).\n"
    COMMON_HELP
    "\n"
    "Exit status: 0 decided, 1 the step is not waiting (not reached yet, already\n"
    "decided, or the run is not running), 2 not a suspend step, 3 no such run or step.\n";

static int approve_verb(int argc, char **argv, int ok)
{
    common c = {0};
    const char *pos[3] = {0};
    const char *verb = ok ? "approve" : "reject";
    int n, rc = run_args(argc, argv, approve_usage, &c, pos, 2, 2, &n);
    if (rc >= 0)
        return rc;
    engine e;
    int status = open_engine(&e, &c, verb);
    if (status != 0)
        return status;
    rf_err err;
    rc = rf_sched_approve(e.s, pos[0], pos[1], ok, &err);
    engine_close(&e);
    if (rc < 0)
        return fail(verb, &err);
    if (c.json)
        printf("{\"run\": \"%s\", \"step\": \"%s\", \"%s\": true}\n", pos[0], pos[1],
               ok ? "approved" : "rejected");
    else
        printf("run %s: step %s %s\n", pos[0], pos[1], ok ? "approved" : "rejected");
    return 0;
}

RF_CMD(approve) { return approve_verb(argc, argv, 1); }
RF_CMD(reject) { return approve_verb(argc, argv, 0); }
RF_CMD(cancel) { return run_verb(argc, argv, "cancel", cancel_usage); }
RF_CMD(retry) { return run_verb(argc, argv, "retry", retry_usage); }
RF_CMD(resume) { return run_verb(argc, argv, "resume", resume_usage); }

/* ------------------------------------------------------------- outputs */

static const char outputs_usage[] =
    "usage: ruvflow outputs RUN STEP [--json]\n"
    "\n"
    "The artifacts (store URLs) and final metrics of a step's tasks, in task\n"
    "order; for a fan-out step, one entry per task. --json: an array of\n"
    "{\"task\", \"state\" (done, cached, skipped, failed, not finished),\n"
    "\"outputs\", \"tiers\" (hot, warm or cold, per output), \"metrics\", \"error\"}.\n"
    "An output moved with `ruvflow store tier` is shown where it is now.\n"
    COMMON_HELP
    "\n"
    "Exit status: 0 shown, 3 no such run or step.\n";

/* The state of one result {"h": ...}, in words. */
static const char *result_state(const json_t *r)
{
    const char *how = json_string_value(json_object_get(r, "h"));
    return !how ? "not finished" : !strcmp(how, "cache") ? "cached"
           : !strcmp(how, "skip") ? "skipped" : !strcmp(how, "fail") ? "failed" : "done";
}

/* Where an output is now: its tier (-1: in no tier, or not found) and its
 * current URL (malloc'd), which differs from url once `ruvflow store tier`
 * has moved it. Without tiers, url as it is. */
static int locate_output(rf_tiers *tt, const char *url, char **now)
{
    *now = rf_xstrdup(url);
    int tier, found;
    char *key;
    rf_err err;
    rf_store_meta m;
    if (!tt || rf_tiers_locate(tt, url, &tier, &key, &err) < 0)
        return -1;
    if (rf_store_head(tt->store[tier], key, &m, &err) == 0) {
        free(key);
        return tier;
    }
    found = err.code == RF_ENOTFOUND ? rf_tier_find(tt, key, &tier, &m, &err) : -1;
    if (found == 1) {
        rf_buf b = RF_BUF_INIT;
        rf_buf_addf(&b, "%s/%s", tt->url[tier], key);
        free(*now);
        *now = rf_buf_detach(&b, NULL);
    }
    free(key);
    return found == 1 ? tier : -1;
}

/* The outputs of result r with their current URLs, and (in *tiers) the
 * tier of each, same shape: a name maps to a string or a list. */
static json_t *current_outputs(rf_tiers *tt, const json_t *o, json_t **tiers)
{
    json_t *out = json_object();
    *tiers = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        int list = json_is_array(v);
        json_t *urls = list ? json_array() : NULL, *ts = list ? json_array() : NULL;
        size_t n = list ? json_array_size(v) : 1;
        for (size_t j = 0; j < n; j++) {
            const char *u = json_string_value(list ? json_array_get(v, j) : v);
            if (!u)
                continue;
            char *now;
            int t = locate_output(tt, u, &now);
            json_t *tn = t >= 0 ? json_string(rf_tier_name(t)) : json_null();
            if (list) {
                json_array_append_new(urls, json_string(now));
                json_array_append_new(ts, tn);
            } else {
                json_object_set_new(out, k, json_string(now));
                json_object_set_new(*tiers, k, tn);
            }
            free(now);
        }
        if (list) {
            json_object_set_new(out, k, urls);
            json_object_set_new(*tiers, k, ts);
        }
    }
    return out;
}

/* outputs --json: the scheduler's compact results with named keys. */
static json_t *named_results(json_t *arr, const char *step, rf_tiers *tt)
{
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r) {
        char task[300];
        snprintf(task, sizeof task, "%s/%zu", step, i);
        json_t *o = json_object_get(r, "o"), *m = json_object_get(r, "m");
        json_t *e = json_object_get(r, "e"), *tiers;
        json_t *outs = current_outputs(tt, o, &tiers);
        json_array_append_new(out, json_pack("{s:s,s:s,s:o,s:o,s:O,s:O}", "task", task,
                                             "state", result_state(r), "outputs", outs,
                                             "tiers", tiers, "metrics",
                                             m ? m : json_object(), "error",
                                             e ? e : json_null()));
    }
    return out;
}

/* Text: one line per output URL, with its tier. */
static void print_outputs(rf_tiers *tt, const json_t *o)
{
    json_t *tiers, *cur = current_outputs(tt, o, &tiers);
    const char *k;
    json_t *v;
    json_object_foreach(cur, k, v) {
        json_t *tv = json_object_get(tiers, k);
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t j = 0; j < n; j++) {
            const char *u = json_string_value(json_is_array(v) ? json_array_get(v, j) : v);
            const char *t = json_string_value(json_is_array(tv) ? json_array_get(tv, j) : tv);
            printf("  %-20s %s%s%s%s\n", j ? "" : k, u ? u : "", t ? "  (" : "", t ? t : "",
                   t ? ")" : "");
        }
    }
    json_decref(cur);
    json_decref(tiers);
}

RF_CMD(outputs)
{
    common c = {0};
    const char *pos[3] = {0};
    int n, rc = run_args(argc, argv, outputs_usage, &c, pos, 2, 2, &n);
    if (rc >= 0)
        return rc;
    engine e;
    int status = open_engine(&e, &c, "outputs");
    if (status != 0)
        return status;
    char *text;
    rf_err err;
    rc = rf_sched_results(e.s, pos[0], pos[1], &text, &err);
    engine_close(&e);
    if (rc < 0)
        return fail("outputs", &err);
    json_t *arr = json_loads(text, 0, NULL);
    free(text);
    /* The tiers of the configuration, to say where each output is now. */
    rf_config cfg;
    rf_tiers tiers, *tt = NULL;
    if (rf_config_load(&cfg, NULL, &err) == 0) {
        if (rf_tiers_open(&tiers, &cfg, &err) == 0)
            tt = &tiers;
        rf_config_free(&cfg);
    }
    if (!tt)
        fprintf(stderr, "ruvflow outputs: tiers not shown: %s\n", err.msg);
    if (c.json) {
        json_t *named = named_results(arr, pos[1], tt);
        json_dumpf(named, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(named);
    } else {
        size_t i;
        json_t *r;
        json_array_foreach(arr, i, r) {
            const char *state = result_state(r);
            printf("%s/%zu  %s\n", pos[1], i,
                   !strcmp(state, "cached") ? "done (cached)" : state);
            const char *k;
            json_t *v;
            if (json_string_value(json_object_get(r, "e")))
                printf("  error: %s\n", json_string_value(json_object_get(r, "e")));
            print_outputs(tt, json_object_get(r, "o"));
            json_object_foreach(json_object_get(r, "m"), k, v) {
                char num[64];
                printf("  %-20s %s\n", k, rf_num_fmt(num, sizeof num, rf_json_double(v), 0));
            }
        }
    }
    if (tt)
        rf_tiers_close(tt);
    json_decref(arr);
    return 0;
}

/* ----------------------------------------------------------- scheduler */

static const char scheduler_usage[] =
    "usage: ruvflow scheduler [--redis URL] [--prefix P] [--metrics ADDR] [--retry S]\n"
    "                         [--slots SPEC] [--min-workers N] [--max-workers N]\n"
    "\n"
    "The scheduler daemon: dispatches ready tasks, reacts to completions and\n"
    "failures, reuses cached results, grows dynamic steps, trims old runs. Any\n"
    "number may run at once; all state is in Redis, so a restarted scheduler\n"
    "continues where the last one stopped. SIGTERM/SIGINT stop it cleanly.\n"
    "Logging: RUVFLOW_LOG=error|warn|info|debug (default info),\n"
    "RUVFLOW_LOG_FORMAT=json for one JSON object per line.\n"
    "  --metrics ADDR     serve Prometheus /metrics on HOST:PORT (default\n"
    "                     $RUVFLOW_METRICS_ADDR; empty = off)\n"
    "  --retry S          give up after S seconds if Redis is unreachable at start\n"
    "                     (default $RUVFLOW_RETRY_S or 300; exit status 6)\n"
    SCALE_HELP
    COMMON_HELP;

static volatile sig_atomic_t sched_stop;

static void on_signal(int sig)
{
    (void)sig;
    sched_stop = 1;
}

typedef struct sched_args {
    common c;
    const char *metrics;
    long retry_s;
    rf_scale_opts scale;
} sched_args;

static int sched_parse(int argc, char **argv, sched_args *a)
{
    const char *env = getenv("RUVFLOW_METRICS_ADDR");
    a->metrics = env && *env ? env : NULL;
    env = getenv("RUVFLOW_RETRY_S");
    a->retry_s = env && *env ? atol(env) : 300;
    scale_opts_from_env(&a->scale);
    for (int i = 1; i < argc; i++) {
        int k = common_opt(&a->c, argc, argv, &i);
        if (k == 0)
            k = scale_opt(&a->scale, argc, argv, &i);
        if (k == 0 && i + 1 < argc && !strcmp(argv[i], "--metrics"))
            a->metrics = *argv[++i] ? argv[i] : NULL, k = 1;
        else if (k == 0 && i + 1 < argc && !strcmp(argv[i], "--retry"))
            a->retry_s = atol(argv[++i]), k = 1;
        if (k <= 0)
            return -1;
    }
    if (a->retry_s < 0 || a->retry_s > 86400) {
        fprintf(stderr, "ruvflow: scheduler: --retry must be in 0..86400 seconds\n");
        return -1;
    }
    return 0;
}

RF_CMD(scheduler)
{
    sched_args a = {0};
    if (sched_parse(argc, argv, &a) != 0)
        return usage_error(scheduler_usage);
    if (a.c.help)
        return fputs(scheduler_usage, stdout), 0;
    rf_log lg = *rf_log_default();
    lg.tag = "scheduler";
    if (!getenv("RUVFLOW_LOG"))
        lg.level = RF_LOG_INFO;
    rf_sched_opts so;
    rf_sched_opts_default(&so);
    so.log = &lg;
    so.retention_s = engine_retention_s();
    const char *tick = getenv("RUVFLOW_CRON_TICK_MS");   /* tests only: a short cron minute */
    so.cron_tick_ms = tick ? atol(tick) : 0;
    engine e;
    rf_err err;
    /* Store settings, for reading the lists of foreach over a step's output. */
    rf_config cfg;
    int have_cfg = rf_config_load(&cfg, NULL, &err) == 0;
    if (!have_cfg)
        rf_log_warn(&lg, "configuration: %s (reading stores from the environment only)",
                    err.msg);
    so.cfg = have_cfg ? &cfg : NULL;
    const char *url = engine_redis_url(a.c.redis), *prefix = engine_prefix(a.c.prefix);
    /* A daemon waits for Redis (rf_redis retries with backoff) up to --retry,
     * then exits so that systemd restarts it (Restart=on-failure); it stops
     * waiting at SIGTERM/SIGINT. */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (engine_open(&e, url, prefix, a.retry_s * 1000, &so, &sched_stop, &err) < 0) {
        if (have_cfg)
            rf_config_free(&cfg);
        return fail("scheduler", &err);
    }
    rf_monitor *mon = NULL;
    if (a.metrics) {
        rf_monitor_opts mo = {prefix, a.scale, e.r, &lg};
        if (rf_monitor_start(url, a.metrics, &mo, &mon, &err) != 0) {
            engine_close(&e);
            if (have_cfg)
                rf_config_free(&cfg);
            return fail("scheduler", &err);
        }
        rf_log_info(&lg, "metrics on %s (port %d), path /metrics", a.metrics,
                    rf_monitor_port(mon));
    }
    rf_log_info(&lg, "started on %s", rf_redis_url(e.r));
    int rc = rf_sched_serve(e.s, &sched_stop, &err);
    if (rc < 0)
        rf_log_error(&lg, "%s", err.msg);
    else
        rf_log_info(&lg, "stopped");
    rf_monitor_stop(mon);
    engine_close(&e);
    if (have_cfg)
        rf_config_free(&cfg);
    return rc < 0 ? 1 : 0;
}
