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

#include "cmd.h"
#include "cmd_engine.h"
#include "base/rf_buf.h"
#include "base/rf_config.h"
#include "engine/rf_dag.h"
#include "engine/rf_monitor.h"
#include "engine/rf_workflow.h"
#include "base/rf_time.h"

/* ------------------------------------------------------------ engine */

/* A Redis named by the environment or the config file (not the default). */
const char *engine_configured_redis(void)
{
    static char named[512];
    const char *env = getenv("RUVFLOW_REDIS_URL");
    if (env && *env)
        return env;
    rf_config c;
    rf_err err;
    if (rf_config_load(&c, NULL, &err) < 0) {
        fprintf(stderr, "ruvflow: config: %s (using defaults)\n", err.msg);
        return NULL;
    }
    int set = c.path && strcmp(c.redis_url, "redis://127.0.0.1:6379/0");
    if (set)
        snprintf(named, sizeof named, "%s", c.redis_url);
    rf_config_free(&c);
    return set ? named : NULL;
}

const char *engine_redis_url(const char *opt)
{
    static char recorded[512];
    const char *named = engine_configured_redis();
    if (opt)
        return opt;
    if (named)
        return named;
    FILE *f = fopen(RF_STACK_DIR "/redis.url", "r");
    if (f) {
        int ok = fgets(recorded, sizeof recorded, f) != NULL;
        fclose(f);
        recorded[strcspn(recorded, "\r\n")] = 0;
        if (ok && recorded[0])
            return recorded;
    }
    return "redis://127.0.0.1:6379/0";
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

int engine_open(engine *e, const char *url, const char *prefix, long retry_ms,
                const rf_sched_opts *so, rf_err *err)
{
    memset(e, 0, sizeof *e);
    rf_redis_opts ro;
    rf_redis_opts_default(&ro);
    ro.retry_ms = retry_ms;
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

static int fail(const char *verb, const rf_err *err)
{
    fprintf(stderr, "ruvflow %s: %s\n", verb, err->msg);
    return err->code == RF_ENOTFOUND ? 3 : err->code == RF_EINVAL ? 2 : 1;
}

static int open_engine(engine *e, const common *c, const char *verb)
{
    rf_err err;
    /* Interactive verbs fail fast on a missing Redis; the daemon waits. */
    if (engine_open(e, engine_redis_url(c->redis), engine_prefix(c->prefix), 3000, NULL,
                    &err) < 0) {
        fail(verb, &err);
        fprintf(stderr, "hint: start a local stack with `ruvflow up`, or set "
                "RUVFLOW_REDIS_URL\n");
        return -1;
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

static json_t *status_json(const rf_run_status *st)
{
    json_t *steps = json_array();
    for (size_t i = 0; i < st->nsteps; i++) {
        const rf_step_status *s = &st->steps[i];
        json_array_append_new(steps, json_pack(
            "{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "name", s->name, "worker",
            s->worker, "total", (json_int_t)s->total, "done", (json_int_t)s->done,
            "cached", (json_int_t)s->cached, "skipped", (json_int_t)s->skipped,
            "failed", (json_int_t)s->failed, "running", (json_int_t)s->running,
            "queued", (json_int_t)s->queued, "retrying", (json_int_t)s->retrying,
            "pending", (json_int_t)s->pending));
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:b,s:{s:I,s:I,s:I},s:o}", "run",
                     st->id, "name", st->name, "file", st->file, "state", st->state,
                     "error", st->error, "created_ms", (json_int_t)st->created_ms,
                     "finished_ms", (json_int_t)st->finished_ms, "no_cache",
                     st->no_cache, "tasks", "total", (json_int_t)st->total, "finished",
                     (json_int_t)st->finished, "failed", (json_int_t)st->failed,
                     "steps", steps);
}

/* The progress table; returns the number of lines printed (for redraw). */
static int print_status(FILE *f, const rf_run_status *st)
{
    char el[32], eta[48] = "";
    int64_t end = st->finished_ms ? st->finished_ms : rf_wall_ms();
    int64_t elapsed = end - st->created_ms;
    fmt_duration(el, sizeof el, elapsed);
    size_t left = st->total - st->finished;
    if (!strcmp(st->state, "running") && st->finished && left) {
        char d[32];
        fmt_duration(d, sizeof d, (int64_t)((double)elapsed * (double)left / (double)st->finished));
        snprintf(eta, sizeof eta, ", ETA %s", d);
    }
    int lines = 0;
    fprintf(f, "run %s  %s  %s%s\n", st->id, st->state, el, eta);
    lines++;
    fprintf(f, "  %-18s %-18s %7s %7s %7s %7s %7s %7s\n", "STEP", "WORKER", "TASKS", "DONE",
            "RUNNING", "QUEUED", "FAILED", "SKIPPED");
    lines++;
    for (size_t i = 0; i < st->nsteps; i++) {
        const rf_step_status *s = &st->steps[i];
        char done[32];
        if (s->cached)
            snprintf(done, sizeof done, "%zu*", s->done + s->cached);
        else
            snprintf(done, sizeof done, "%zu", s->done);
        fprintf(f, "  %-18.18s %-18.18s %7zu %7s %7zu %7zu %7zu %7zu%s\n", s->name,
                s->worker, s->total, done, s->running, s->queued + s->retrying + s->pending,
                s->failed, s->skipped, s->fan == RF_FAN_CHAIN ? "  (chain)" : "");
        lines++;
    }
    int cached = 0;
    for (size_t i = 0; i < st->nsteps; i++)
        cached |= st->steps[i].cached > 0;
    fprintf(f, "  %zu/%zu tasks finished%s%s%s\n", st->finished, st->total,
            cached ? " (* includes results reused from the cache)" : "",
            st->error[0] ? "; error: " : "", st->error);
    lines++;
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
        } else if (!json && (st.finished != last_finished || !running) &&
                   (rf_wall_ms() - last_print >= 2000 || !running)) {
            printf("%s: %s, %zu/%zu tasks finished, %zu failed\n", run, st.state,
                   st.finished, st.total, st.failed);
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
    "                      [--id RUN] [--dry-run]\n"
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
    rf_err err;
    int rc = rf_workflow_load(file, ov, nov, &wf, &d, &err);
    free(ov);
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
    if (open_engine(&e, &c, "submit") < 0) {
        rf_workflow_free(wf);
        return 1;
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
    if (open_engine(&e, &c, "status") < 0)
        return 1;
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
    if (open_engine(&e, &c, "list") < 0)
        return 1;
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
    "usage: ruvflow watch RUN\n"
    "\n"
    "Live progress of a run (the same display as submit --wait) and the latest\n"
    "progress points its tasks stream (training curves), until it finishes.\n"
    COMMON_HELP
    "\n"
    "Exit status: 0 the run succeeded, 1 it failed or was cancelled, 3 no such run.\n";

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
        redisReply *kv = rep->element[i]->element[1];
        const char *task = "", *series = "", *step = "";
        rf_buf vals = RF_BUF_INIT;
        for (size_t j = 0; j + 1 < kv->elements; j += 2) {
            const char *f = kv->element[j]->str, *v = kv->element[j + 1]->str;
            if (!strcmp(f, "task"))
                task = v;
            else if (!strcmp(f, "series"))
                series = v;
            else if (!strcmp(f, "step"))
                step = v;
            else
                rf_buf_addf(&vals, " %s=%s", f, v);
        }
        int dup = 0;
        for (size_t s = 0; s < nseen && !dup; s++)
            dup = !strcmp(seen[s], task);
        if (!dup) {
            snprintf(seen[nseen++], sizeof seen[0], "%s", task);
            const char *short_id = strncmp(task, run, strlen(run)) ? task
                                                                   : task + strlen(run) + 1;
            printf("  %-24s %s %s:%s\n", short_id, series, step, vals.data ? vals.data : "");
        }
        rf_buf_free(&vals);
    }
    freeReplyObject(rep);
    rf_buf_free(&k);
}

RF_CMD(watch)
{
    common c = {0};
    const char *pos[2] = {0};
    int n, rc = run_args(argc, argv, watch_usage, &c, pos, 1, 1, &n);
    if (rc >= 0)
        return rc;
    engine e;
    if (open_engine(&e, &c, "watch") < 0)
        return 1;
    int tty = isatty(STDOUT_FILENO);
    const char *prefix = engine_prefix(c.prefix);
    for (;;) {
        rf_run_status st;
        rf_err err;
        if (rf_sched_status(e.s, pos[0], &st, &err) < 0) {
            engine_close(&e);
            return fail("watch", &err);
        }
        if (tty)
            printf("\033[H\033[J");
        print_status(stdout, &st);
        printf("latest progress:\n");
        print_progress(&e, prefix, pos[0]);
        fflush(stdout);
        int running = !strcmp(st.state, "running");
        int ok = !strcmp(st.state, "succeeded");
        rf_run_status_free(&st);
        if (!running) {
            engine_close(&e);
            return ok ? 0 : 1;
        }
        sleep(1);
        if (!tty)
            printf("\n");
    }
}

/* ---------------------------------------------------------------- logs */

static const char logs_usage[] =
    "usage: ruvflow logs RUN [STEP[/INDEX]] [-f]\n"
    "\n"
    "Log lines of a run's tasks (the newest 10,000 are kept), optionally of one\n"
    "step or one task. -f keeps following until the run finishes.\n"
    COMMON_HELP;

static int print_log_entries(const redisReply *entries, const char *run,
                             const char *filter, char *last, size_t nlast)
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
        const char *short_id = strncmp(task, run, strlen(run)) ? task : task + strlen(run) + 1;
        if (filter) {
            size_t fl = strlen(filter);
            if (strncmp(short_id, filter, fl) || (short_id[fl] && short_id[fl] != '/'))
                continue;
        }
        printf("%s: %s\n", short_id, line);
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
    if (open_engine(&e, &c, "logs") < 0)
        return 1;
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
        print_log_entries(rep, pos[0], pos[1], last, sizeof last);
        freeReplyObject(rep);
    }
    while (rc == 0 && follow_mode) {
        fflush(stdout);
        const char *argv1[] = {"XREAD", "BLOCK", "1000", "STREAMS", k.data, last};
        if ((rc = rf_redis_cmdv(e.r, 6, argv1, NULL, &rep, &err)) < 0)
            break;
        int got = rep->type == REDIS_REPLY_ARRAY && rep->elements;
        if (got)
            print_log_entries(rep->element[0]->element[1], pos[0], pos[1], last,
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
    if (open_engine(&e, &c, verb) < 0)
        return 1;
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

RF_CMD(cancel) { return run_verb(argc, argv, "cancel", cancel_usage); }
RF_CMD(retry) { return run_verb(argc, argv, "retry", retry_usage); }
RF_CMD(resume) { return run_verb(argc, argv, "resume", resume_usage); }

/* ------------------------------------------------------------- outputs */

static const char outputs_usage[] =
    "usage: ruvflow outputs RUN STEP [--json]\n"
    "\n"
    "The artifacts (store URLs) and final metrics of a step's tasks, in task\n"
    "order; for a fan-out step, one entry per task.\n"
    COMMON_HELP
    "\n"
    "Exit status: 0 shown, 3 no such run or step.\n";

static void print_number(double d)
{
    char tmp[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    fputs(tmp, stdout);
}

RF_CMD(outputs)
{
    common c = {0};
    const char *pos[3] = {0};
    int n, rc = run_args(argc, argv, outputs_usage, &c, pos, 2, 2, &n);
    if (rc >= 0)
        return rc;
    engine e;
    if (open_engine(&e, &c, "outputs") < 0)
        return 1;
    char *text;
    rf_err err;
    rc = rf_sched_results(e.s, pos[0], pos[1], &text, &err);
    engine_close(&e);
    if (rc < 0)
        return fail("outputs", &err);
    json_t *arr = json_loads(text, 0, NULL);
    free(text);
    if (c.json) {
        json_dumpf(arr, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(arr);
        return 0;
    }
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r) {
        const char *how = json_string_value(json_object_get(r, "h"));
        printf("%s/%zu  %s\n", pos[1], i,
               !how ? "not finished" : !strcmp(how, "cache") ? "done (cached)"
               : !strcmp(how, "skip") ? "skipped" : !strcmp(how, "fail") ? "failed" : "done");
        const char *k;
        json_t *v;
        if (json_string_value(json_object_get(r, "e")))
            printf("  error: %s\n", json_string_value(json_object_get(r, "e")));
        json_object_foreach(json_object_get(r, "o"), k, v) {
            if (json_is_string(v)) {
                printf("  %-20s %s\n", k, json_string_value(v));
            } else {
                size_t j;
                json_t *u;
                json_array_foreach(v, j, u) printf("  %-20s %s\n", j ? "" : k,
                                                   json_string_value(u));
            }
        }
        json_object_foreach(json_object_get(r, "m"), k, v) {
            printf("  %-20s ", k);
            print_number(json_number_value(v));
            putchar('\n');
        }
    }
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
    engine e;
    rf_err err;
    const char *url = engine_redis_url(a.c.redis), *prefix = engine_prefix(a.c.prefix);
    /* A daemon waits for Redis (rf_redis retries with backoff), then exits
     * so that systemd restarts it (Restart=on-failure). */
    if (engine_open(&e, url, prefix, a.retry_s * 1000, &so, &err) < 0)
        return fail("scheduler", &err);
    rf_monitor *mon = NULL;
    if (a.metrics) {
        rf_monitor_opts mo = {prefix, a.scale, e.r, &lg};
        if (rf_monitor_start(url, a.metrics, &mo, &mon, &err) != 0) {
            engine_close(&e);
            return fail("scheduler", &err);
        }
        rf_log_info(&lg, "metrics on %s (port %d), path /metrics", a.metrics,
                    rf_monitor_port(mon));
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    rf_log_info(&lg, "started on %s", rf_redis_url(e.r));
    int rc = rf_sched_serve(e.s, &sched_stop, &err);
    if (rc < 0)
        rf_log_error(&lg, "%s", err.msg);
    else
        rf_log_info(&lg, "stopped");
    rf_monitor_stop(mon);
    engine_close(&e);
    return rc < 0 ? 1 : 0;
}
