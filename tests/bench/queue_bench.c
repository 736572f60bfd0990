/* queue_bench: the producer and meter of tests/bench/bench_queue.sh. The
 * consumers are real `ruvflow worker --types noop` processes started by
 * the script; this program enqueues no-op tasks through rf_queue, waits
 * until all are committed (the "done" events), then reads each record's
 * enqueue and start times (both from the Redis clock, in us).
 *
 *   queue_bench throughput URL PREFIX N        as fast as possible
 *   queue_bench latency URL PREFIX N RATE      paced at RATE tasks/s
 *   queue_bench memory URL PREFIX N            INFO used_memory per queued task
 *
 * Prints "key value" lines: tasks_per_s, p50_ms, p99_ms, bytes_per_task. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/rf_queue.h"
#include "engine/rf_redis.h"

#define BATCH 500

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what, const rf_err *err)
{
    fprintf(stderr, "queue_bench: %s: %s\n", what, err->msg);
    exit(1);
}

static long long redis_int(rf_redis *r, const char *fmt, const char *arg)
{
    redisReply *rep;
    rf_err err = {0};
    if (rf_redis_cmd(r, &rep, &err, fmt, arg) != 0)
        die("redis", &err);
    long long v = rep->integer;
    freeReplyObject(rep);
    return v;
}

static long long used_memory(rf_redis *r)
{
    redisReply *rep;
    rf_err err = {0};
    if (rf_redis_cmd(r, &rep, &err, "INFO memory") != 0)
        die("INFO", &err);
    const char *p = strstr(rep->str, "used_memory:");
    long long v = p ? atoll(p + 12) : 0;
    freeReplyObject(rep);
    return v;
}

static void enqueue_range(rf_queue *q, char (*ids)[24], size_t from, size_t to)
{
    rf_task_spec s[BATCH];
    rf_err err = {0};
    while (from < to) {
        size_t n = to - from < BATCH ? to - from : BATCH;
        for (size_t i = 0; i < n; i++)
            s[i] = (rf_task_spec){.id = ids[from + i], .run = "bench", .step = "noop",
                                  .index = (long)(from + i), .type = "noop"};
        if (rf_queue_enqueue(q, s, n, NULL, &err) != 0)
            die("enqueue", &err);
        from += n;
    }
}

static void wait_done(rf_redis *r, const char *events, long long want)
{
    struct timespec ts = {0, 5000000}; /* light polling: the meter must not load Redis */
    while (redis_int(r, "XLEN %s", events) < want)
        nanosleep(&ts, NULL);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Enqueue-to-start latency of every task, from its record. */
static void latencies(rf_queue *q, char (*ids)[24], size_t n)
{
    long long *lat = malloc(n * sizeof *lat);
    rf_err err = {0};
    for (size_t i = 0; i < n; i++) {
        rf_task_info info;
        if (rf_queue_get(q, ids[i], &info, &err) != 1 || strcmp(info.state, "done") != 0) {
            fprintf(stderr, "queue_bench: task %s not done\n", ids[i]);
            exit(1);
        }
        lat[i] = info.started_us - info.enqueued_us;
        rf_task_info_free(&info);
    }
    qsort(lat, n, sizeof *lat, cmp_ll);
    printf("p50_ms %.3f\n", (double)lat[n / 2] / 1000.0);
    printf("p99_ms %.3f\n", (double)lat[(n * 99) / 100] / 1000.0);
    printf("max_ms %.3f\n", (double)lat[n - 1] / 1000.0);
    free(lat);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: queue_bench throughput|latency|memory URL PREFIX N [RATE]\n");
        return 2;
    }
    const char *mode = argv[1];
    size_t n = (size_t)atol(argv[4]);
    double rate = argc > 5 ? atof(argv[5]) : 0;
    rf_redis *r;
    rf_queue *q;
    rf_err err = {0};
    if (rf_redis_connect(argv[2], NULL, &r, &err) != 0)
        die("connect", &err);
    rf_queue_opts o;
    rf_queue_opts_default(&o);
    o.prefix = argv[3];
    if (rf_queue_open(r, &o, &q, &err) != 0)
        die("open", &err);
    char (*ids)[24] = calloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        snprintf(ids[i], sizeof ids[i], "%c%zu", mode[0], i);
    long long events0 = redis_int(r, "XLEN %s", rf_queue_events_key(q));

    if (!strcmp(mode, "memory")) {
        long long before = used_memory(r);
        enqueue_range(q, ids, 0, n);
        long long after = used_memory(r);
        printf("bytes_per_task %.1f\n", (double)(after - before) / (double)n);
        const char **v = malloc(n * sizeof *v);
        for (size_t i = 0; i < n; i++)
            v[i] = ids[i];
        if (rf_queue_forget(q, v, n, &err) != 0)
            die("forget", &err);
        free(v);
    } else if (!strcmp(mode, "throughput")) {
        int64_t t0 = now_us();
        enqueue_range(q, ids, 0, n);
        wait_done(r, rf_queue_events_key(q), events0 + (long long)n);
        double s = (double)(now_us() - t0) / 1e6;
        printf("tasks_per_s %.0f\n", (double)n / s);
        latencies(q, ids, n);
    } else if (!strcmp(mode, "latency") && rate > 0) {
        /* Each millisecond, enqueue what the rate owes by now. */
        int64_t t0 = now_us();
        size_t sent = 0;
        struct timespec tick = {0, 1000000};
        while (sent < n) {
            size_t due = (size_t)((double)(now_us() - t0) * rate / 1e6);
            if (due > n)
                due = n;
            if (due > sent) {
                enqueue_range(q, ids, sent, due);
                sent = due;
            }
            nanosleep(&tick, NULL);
        }
        wait_done(r, rf_queue_events_key(q), events0 + (long long)n);
        printf("rate %.0f\n", rate);
        latencies(q, ids, n);
    } else {
        fprintf(stderr, "queue_bench: unknown mode %s\n", mode);
        return 2;
    }
    free(ids);
    rf_queue_close(q);
    rf_redis_close(r);
    return 0;
}
