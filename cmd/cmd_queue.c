/* cmd_queue: `ruvflow queues`, `ruvflow workers` and `ruvflow dlq`: what
 * the task queues hold, who serves them, and the dead letters. Tables on
 * a terminal, JSON with --json. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd_engine.h"
#include "base/rf_config.h"
#include "engine/rf_poolstat.h"
#include "engine/rf_queue.h"
#include "engine/rf_redis.h"
#include "engine/rf_runtime.h"

typedef struct qopts {
    rf_config cfg;
    const char *redis, *prefix, *pool, *type;
    int json;
    long limit;
    rf_scale_opts scale;
    const char **ids;
    int nids;
} qopts;

/* Common options; positional arguments are collected as ids. */
static int parse(int argc, char **argv, int first, qopts *o, const char *verb)
{
    rf_err err = {0};
    o->ids = calloc((size_t)argc + 1, sizeof *o->ids);
    if (rf_config_load(&o->cfg, NULL, &err) != 0) {
        fprintf(stderr, "ruvflow: %s: %s\n", verb, err.msg);
        return -1;
    }
    o->redis = engine_redis_url(NULL);  /* as the run verbs: finds `ruvflow up`'s */
    o->prefix = rf_runtime_default_prefix();
    o->limit = 100;
    scale_opts_from_env(&o->scale);
    for (int i = first; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = scale_opt(&o->scale, argc, argv, &i);
        if (k < 0) {
            fprintf(stderr, "ruvflow: %s: incomplete or non-numeric option \"%s\"\n", verb, a);
            return -1;
        }
        if (k > 0)
            continue;
        if (!strcmp(a, "--json"))
            o->json = 1;
        else if (!strcmp(a, "--redis") && v)
            o->redis = v, i++;
        else if (!strcmp(a, "--prefix") && v)
            o->prefix = v, i++;
        else if (!strcmp(a, "--pool") && v)
            o->pool = v, i++;
        else if (!strcmp(a, "--type") && v)
            o->type = v, i++;
        else if (!strcmp(a, "--limit") && v)
            o->limit = atol(v), i++;
        else if (a[0] == '-') {
            fprintf(stderr, "ruvflow: %s: unknown or incomplete option \"%s\"\n", verb, a);
            return -1;
        } else
            o->ids[o->nids++] = a;
    }
    if (o->limit <= 0 || o->limit > 100000) {
        fprintf(stderr, "ruvflow: %s: --limit must be in 1..100000\n", verb);
        return -1;
    }
    return 0;
}

static void qopts_free(qopts *o)
{
    free(o->ids);
    rf_config_free(&o->cfg);
}

static int open_queue(const qopts *o, rf_redis **r, rf_queue **q, rf_err *err)
{
    rf_redis_opts ro;
    rf_redis_opts_default(&ro);
    ro.retry_ms = 3000; /* an interactive command should not hang for long */
    rf_queue_opts qo;
    rf_queue_opts_default(&qo);
    qo.prefix = o->prefix;
    if (rf_redis_connect(o->redis, &ro, r, err) != 0)
        return -1;
    if (rf_queue_open(*r, &qo, q, err) != 0) {
        rf_redis_close(*r);
        return -1;
    }
    return 0;
}

static int fail(const char *verb, const rf_err *err)
{
    fprintf(stderr, "ruvflow: %s: %s\n", verb, err->msg);
    return rf_err_exit_status(err);
}

static void print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(j);
}

static void ago(char *out, size_t n, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t d = ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000) - ms;
    if (ms <= 0)
        snprintf(out, n, "-");
    else if (d < 10000)
        snprintf(out, n, "%.1fs ago", (double)d / 1000.0);
    else if (d < 3600000)
        snprintf(out, n, "%lldm ago", (long long)(d / 60000));
    else
        snprintf(out, n, "%lldh ago", (long long)(d / 3600000));
}

static json_t *queues_json(const rf_poolstat *ps)
{
    json_t *qa = json_array(), *pa = json_array();
    for (size_t i = 0; i < ps->nqueues; i++) {
        const rf_qstat *s = &ps->queues[i];
        json_array_append_new(
            qa, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:f}", "pool", s->pool, "type", s->type,
                          "ready", (json_int_t)s->ready, "delayed", (json_int_t)s->delayed,
                          "in_flight", (json_int_t)s->leased, "dead", (json_int_t)s->dead,
                          "oldest_age_s",
                          s->head_age_ms < 0 ? 0.0 : (double)s->head_age_ms / 1000.0));
    }
    for (size_t i = 0; i < ps->npools; i++) {
        const rf_pstat *p = &ps->pools[i];
        json_array_append_new(
            pa, json_pack("{s:s,s:I,s:I,s:I,s:i,s:I}", "pool", p->pool, "waiting",
                          (json_int_t)p->waiting, "in_flight", (json_int_t)p->in_flight,
                          "workers", (json_int_t)p->workers, "slots", (int)p->slots,
                          "desired_workers", (json_int_t)p->desired));
    }
    return json_pack("{s:o,s:o}", "queues", qa, "pools", pa);
}

static void queues_table(const rf_poolstat *ps)
{
    printf("%-16s %-20s %9s %9s %9s %9s %10s\n", "POOL", "TYPE", "READY", "DELAYED",
           "IN-FLIGHT", "DEAD", "OLDEST");
    for (size_t i = 0; i < ps->nqueues; i++) {
        const rf_qstat *s = &ps->queues[i];
        char age[32] = "-";
        if (s->head_age_ms >= 0)
            snprintf(age, sizeof age, "%.1fs", (double)s->head_age_ms / 1000.0);
        printf("%-16s %-20s %9lld %9lld %9lld %9lld %10s\n", s->pool, s->type,
               (long long)s->ready, (long long)s->delayed, (long long)s->leased,
               (long long)s->dead, age);
    }
    if (ps->nqueues == 0) {
        printf("(no queues yet)\n");
        return;
    }
    printf("\n%-16s %9s %9s %9s %9s %9s\n", "POOL", "WAITING", "IN-FLIGHT", "WORKERS",
           "SLOTS", "DESIRED");
    for (size_t i = 0; i < ps->npools; i++) {
        const rf_pstat *p = &ps->pools[i];
        printf("%-16s %9lld %9lld %9lld %9ld %9lld\n", p->pool, (long long)p->waiting,
               (long long)p->in_flight, (long long)p->workers, p->slots,
               (long long)p->desired);
    }
}

RF_CMD(queues)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: ruvflow queues [--json] [--redis URL] [--prefix P]\n"
               "                      [--slots SPEC] [--min-workers N] [--max-workers N]\n\n"
               "Per queue (pool/type): ready, delayed (retry backoff), leased (in flight)\n"
               "and dead-lettered task counts, and how long the task at the head of the\n"
               "queue has waited. Per pool: tasks waiting (ready + delayed), in flight,\n"
               "live workers and desired workers = ceil((waiting + in flight) / slots),\n"
               "within the bounds: the autoscaling signal (docs/operations.md).\n"
               "--json prints {\"queues\": [...], \"pools\": [...]}.\n"
               SCALE_HELP);
        return 0;
    }
    qopts o = {0};
    rf_err err = {0};
    rf_redis *r;
    rf_queue *q;
    if (parse(argc, argv, 1, &o, "queues") != 0 || o.nids) {
        qopts_free(&o);
        return 2;
    }
    if (rf_scale_opts_check(&o.scale, &err) != 0) {
        qopts_free(&o);
        fprintf(stderr, "ruvflow: queues: %s\n", err.msg);
        return 2;
    }
    int rc = open_queue(&o, &r, &q, &err);
    if (rc != 0) {
        qopts_free(&o);
        return fail("queues", &err);
    }
    rf_poolstat ps;
    rc = rf_poolstat_read(r, o.prefix, &o.scale, &ps, &err);
    rf_queue_close(q);
    rf_redis_close(r);
    qopts_free(&o);
    if (rc != 0)
        return fail("queues", &err);
    if (o.json)
        print_json(queues_json(&ps));
    else
        queues_table(&ps);
    rf_poolstat_free(&ps);
    return 0;
}

RF_CMD(workers)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: ruvflow workers [--json] [--redis URL] [--prefix P]\n\n"
               "Live workers: id, host, pid, pool, types, current task, last heartbeat.\n"
               "A worker that stops heartbeating disappears after 3 lease periods.\n");
        return 0;
    }
    qopts o = {0};
    rf_err err = {0};
    rf_redis *r;
    rf_queue *q;
    if (parse(argc, argv, 1, &o, "workers") != 0 || o.nids) {
        qopts_free(&o);
        return 2;
    }
    int rc = open_queue(&o, &r, &q, &err);
    qopts_free(&o); /* o's strings are not used past this point */
    if (rc != 0)
        return fail("workers", &err);
    rf_worker_info *w;
    size_t n;
    rc = rf_queue_workers(q, &w, &n, &err);
    rf_queue_close(q);
    rf_redis_close(r);
    if (rc != 0)
        return fail("workers", &err);
    if (o.json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:I,s:I}", "id", w[i].id,
                                               "host", w[i].host, "pid", (json_int_t)w[i].pid,
                                               "pool", w[i].pool, "types", w[i].types,
                                               "current", w[i].current,
                                               "started_ms", (json_int_t)w[i].started_ms,
                                               "seen_ms", (json_int_t)w[i].seen_ms));
        print_json(a);
    } else {
        printf("%-28s %-8s %-12s %-20s %-28s %s\n", "WORKER", "PID", "POOL", "TYPES", "CURRENT",
               "HEARTBEAT");
        for (size_t i = 0; i < n; i++) {
            char seen[32];
            ago(seen, sizeof seen, w[i].seen_ms);
            printf("%-28s %-8ld %-12s %-20s %-28s %s\n", w[i].id, w[i].pid, w[i].pool,
                   w[i].types, w[i].current[0] ? w[i].current : "-", seen);
        }
        if (n == 0)
            printf("(no live workers)\n");
    }
    rf_worker_info_free(w, n);
    return 0;
}

static int dlq_ls(rf_queue *q, const qopts *o)
{
    rf_dead *d;
    size_t n;
    rf_err err = {0};
    if (rf_queue_dlq_list(q, o->pool, o->type, (size_t)o->limit, &d, &n, &err) != 0)
        return fail("dlq ls", &err);
    if (o->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:s}", "id", d[i].id,
                                               "pool", d[i].pool, "type", d[i].type, "run",
                                               d[i].run, "step", d[i].step, "attempts",
                                               d[i].attempts, "dead_ms", (json_int_t)d[i].dead_ms,
                                               "reason", d[i].reason));
        print_json(a);
    } else {
        printf("%-32s %-22s %-4s %-10s %s\n", "TASK", "QUEUE", "ATT", "WHEN", "REASON");
        for (size_t i = 0; i < n; i++) {
            char qn[140], when[32];
            snprintf(qn, sizeof qn, "%s/%s", d[i].pool, d[i].type);
            ago(when, sizeof when, d[i].dead_ms);
            printf("%-32s %-22s %-4d %-10s %s\n", d[i].id, qn, d[i].attempts, when, d[i].reason);
        }
        if (n == 0)
            printf("(no dead letters)\n");
    }
    rf_dead_free(d, n);
    return 0;
}

RF_CMD(dlq)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub || !strcmp(sub, "-h") || !strcmp(sub, "--help")) {
        FILE *f = sub ? stdout : stderr;
        fprintf(f, "usage: ruvflow dlq ls [--pool P] [--type T] [--limit N] [--json]\n"
                   "       ruvflow dlq requeue TASK...   back to ready, fresh attempts\n"
                   "       ruvflow dlq drop TASK...      delete for good\n"
                   "common: [--redis URL] [--prefix P]\n");
        return sub ? 0 : 2;
    }
    int is_ls = !strcmp(sub, "ls"), is_rq = !strcmp(sub, "requeue"), is_drop = !strcmp(sub, "drop");
    if (!is_ls && !is_rq && !is_drop) {
        fprintf(stderr, "ruvflow: dlq: unknown subcommand \"%s\" (ls, requeue, drop)\n", sub);
        return 2;
    }
    qopts o = {0};
    if (parse(argc, argv, 2, &o, "dlq") != 0 || (is_ls && o.nids) || (!is_ls && !o.nids)) {
        if (!is_ls && !o.nids)
            fprintf(stderr, "ruvflow: dlq %s: name at least one task id\n", sub);
        qopts_free(&o);
        return 2;
    }
    rf_err err = {0};
    rf_redis *r;
    rf_queue *q;
    if (open_queue(&o, &r, &q, &err) != 0) {
        qopts_free(&o);
        return fail("dlq", &err);
    }
    int rc = 0;
    if (is_ls) {
        rc = dlq_ls(q, &o);
    } else {
        size_t done = 0;
        int x = is_rq ? rf_queue_dlq_requeue(q, o.ids, (size_t)o.nids, &done, &err)
                      : rf_queue_dlq_drop(q, o.ids, (size_t)o.nids, &done, &err);
        if (x != 0) {
            rc = fail("dlq", &err);
        } else {
            if (o.json)
                printf("{\"%s\": %zu}\n", is_rq ? "requeued" : "dropped", done);
            else
                printf("%s %zu of %d task(s)\n", is_rq ? "requeued" : "dropped", done, o.nids);
            if (done < (size_t)o.nids) {
                fprintf(stderr, "ruvflow: dlq %s: %zu task(s) were not dead letters\n", sub,
                        (size_t)o.nids - done);
                rc = 3;
            }
        }
    }
    rf_queue_close(q);
    rf_redis_close(r);
    qopts_free(&o);
    return rc;
}
