/* redis_cluster_client: drives rf_redis against a real cluster for
 * tests/integration/redis_cluster.sh. Reads one command a line on stdin,
 * answers one line on stdout (flushed), so the script can reshard or kill
 * nodes between commands while the same connection lives on:
 *
 *   set KEY VAL | get KEY          plain commands (routed by key)
 *   eval KEY TAGKEY                a script in KEY's slot (rf_redis_eval_key):
 *                                  INCR KEY and HSET TAGKEY, which shares the tag
 *   slotcheck N                    our slot of N keys against CLUSTER KEYSLOT
 *   spread N                       SET then GET N keys; answers the nodes used
 *   pipeline N                     N INCR scripts in one rf_redis_eval_many
 *   writer MS [TAG]                write for MS ms (see below), then verify;
 *                                  with TAG, half the keys in TAG's slot
 *   findtag LO HI                  a tag whose slot is in LO..HI
 *   bench MS BATCH                 INCR scripts in pipelines of BATCH for MS
 *                                  ms over 100,000 keys: scripts per second
 *   stats                          per-node round trips, errors, reconnects
 *   quit
 * An error answers "err MESSAGE". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rf_time.h"
#include "engine/rf_redis.h"
#include "engine/rf_redis_slot.h"

static const rf_script incr_script = {
    "test incr", "local v = redis.call('INCR', KEYS[1])\n"
                 "if ARGV[1] then redis.call('HSET', ARGV[1], 'last', v) end\n"
                 "return v\n"};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void cmd_set_get(rf_redis *r, int set, const char *key, const char *val)
{
    redisReply *rep;
    rf_err err = {0};
    if ((set ? rf_redis_cmd(r, &rep, &err, "SET %s %s", key, val)
             : rf_redis_cmd(r, &rep, &err, "GET %s", key)) != 0) {
        say("err %s", err.msg);
        return;
    }
    say("%s", rep->type == REDIS_REPLY_STRING ? rep->str
              : rep->type == REDIS_REPLY_STATUS ? "ok" : "nil");
    freeReplyObject(rep);
}

static void cmd_eval(rf_redis *r, const char *key, const char *tagkey)
{
    redisReply *rep;
    rf_err err = {0};
    const char *argv[] = {tagkey};
    if (rf_redis_eval_key(r, &incr_script, key, 1, argv, NULL, &rep, &err) != 0) {
        say("err %s", err.msg);
        return;
    }
    say("%lld", rep->integer);
    freeReplyObject(rep);
}

static void cmd_slotcheck(rf_redis *r, int n)
{
    int bad = 0;
    char key[64];
    for (int i = 0; i < n; i++) {
        /* Tags on every third key, so both rules are compared. */
        snprintf(key, sizeof key, i % 3 ? "k:%d:x" : "a{t%d}b", i);
        redisReply *rep;
        rf_err err = {0};
        if (rf_redis_cmd(r, &rep, &err, "CLUSTER KEYSLOT %s", key) != 0) {
            say("err %s", err.msg);
            return;
        }
        bad += rep->integer != rf_redis_key_slot(key, strlen(key));
        freeReplyObject(rep);
    }
    say("mismatch=%d of %d", bad, n);
}

/* Nodes whose round-trip counter moved since `before`. */
static int nodes_used(rf_redis *r, const uint64_t *before)
{
    int used = 0;
    for (size_t i = 0; i < rf_redis_nodes(r); i++) {
        rf_redis_stats s;
        rf_redis_node_stats_get(r, i, NULL, 0, &s);
        used += s.round_trips > before[i];
    }
    return used;
}

static void snap(rf_redis *r, uint64_t *rt)
{
    for (size_t i = 0; i < 64; i++)
        rt[i] = 0;
    for (size_t i = 0; i < rf_redis_nodes(r); i++) {
        rf_redis_stats s;
        rf_redis_node_stats_get(r, i, NULL, 0, &s);
        rt[i] = s.round_trips;
    }
}

static void cmd_spread(rf_redis *r, int n)
{
    uint64_t before[64];
    snap(r, before);
    char key[64], val[64];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "spread:%d", i);
        snprintf(val, sizeof val, "v%d", i * 7);
        redisReply *rep;
        rf_err err = {0};
        if (rf_redis_cmd(r, &rep, &err, "SET %s %s", key, val) != 0) {
            say("err %s", err.msg);
            return;
        }
        freeReplyObject(rep);
    }
    int wrong = 0;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "spread:%d", i);
        snprintf(val, sizeof val, "v%d", i * 7);
        redisReply *rep;
        rf_err err = {0};
        if (rf_redis_cmd(r, &rep, &err, "GET %s", key) != 0) {
            say("err %s", err.msg);
            return;
        }
        wrong += rep->type != REDIS_REPLY_STRING || strcmp(rep->str, val) != 0;
        freeReplyObject(rep);
    }
    say("wrong=%d nodes=%d", wrong, nodes_used(r, before));
}

/* n INCR scripts in one pipeline, keys in every slot range. */
/* Key i of a writer or pipeline: PREFIXi, and with a tag every odd one in
 * the tag's slot, so a reshard of that slot hits half of them. */
static void key_of(char *out, size_t sz, const char *prefix, int i, const char *tag)
{
    if (tag && i % 2)
        snprintf(out, sz, "%s%d{%s}", prefix, i, tag);
    else
        snprintf(out, sz, "%s%d", prefix, i);
}

static int pipeline(rf_redis *r, int n, const char *prefix, const char *tag, long long *vals,
                    rf_err *err)
{
    rf_redis_call *calls = calloc((size_t)n, sizeof *calls);
    char (*keys)[64] = calloc((size_t)n, 64);
    const char **argv = calloc((size_t)n, sizeof *argv);
    for (int i = 0; i < n; i++) {
        key_of(keys[i], 64, prefix, i, tag);
        argv[i] = keys[i];
        calls[i] = (rf_redis_call){&incr_script, 1, 1, &argv[i], NULL, NULL};
    }
    int rc = rf_redis_eval_many(r, calls, (size_t)n, err);
    for (int i = 0; rc == 0 && i < n; i++) {
        vals[i] = calls[i].reply->type == REDIS_REPLY_INTEGER ? calls[i].reply->integer : -1;
        freeReplyObject(calls[i].reply);
    }
    free(calls), free(keys), free(argv);
    return rc;
}

static void cmd_pipeline(rf_redis *r, int n)
{
    uint64_t before[64];
    snap(r, before);
    long long *v = calloc((size_t)n, sizeof *v);
    rf_err err = {0};
    rf_redis_stats s0, s1;
    rf_redis_stats_get(r, &s0);
    if (pipeline(r, n, "pipe:", NULL, v, &err) != 0) {
        say("err %s", err.msg);
        free(v);
        return;
    }
    rf_redis_stats_get(r, &s1);
    long long lo = v[0], hi = v[0];
    for (int i = 0; i < n; i++)
        lo = v[i] < lo ? v[i] : lo, hi = v[i] > hi ? v[i] : hi;
    say("min=%lld max=%lld nodes=%d round_trips=%llu", lo, hi, nodes_used(r, before),
        (unsigned long long)(s1.round_trips - s0.round_trips));
    free(v);
}

/* Keep writing for ms: every round one pipeline of K INCR scripts (keys on
 * every primary) and K plain INCRs. Remembers the last value each key was
 * acknowledged with; at the end reads every key back: a key below its
 * acknowledged value lost writes (async replication's window). Answers
 * rounds, failures, the longest gap between acknowledged rounds, losses. */
#define K 12
static void cmd_writer(rf_redis *r, long ms, const char *tag)
{
    long long acked[2 * K] = {0}, v[K];
    int64_t start = rf_mono_ms(), last_ok = start, gap = 0;
    int rounds = 0, failed = 0;
    char key[64], first_err[1100] = "";
    while (rf_mono_ms() - start < ms) {
        rf_err err = {0};
        int ok = pipeline(r, K, "w:s:", tag, v, &err) == 0;
        if (ok)
            for (int i = 0; i < K; i++)
                acked[i] = v[i];
        for (int i = 0; ok && i < K; i++) {
            redisReply *rep;
            key_of(key, sizeof key, "w:c:", i, tag);
            if (rf_redis_cmd(r, &rep, &err, "INCR %s", key) != 0) {
                ok = 0;
                break;
            }
            acked[K + i] = rep->integer;
            freeReplyObject(rep);
        }
        if (!ok) {
            failed++;
            if (!first_err[0])
                snprintf(first_err, sizeof first_err, "%s", err.msg);
            continue;
        }
        int64_t now = rf_mono_ms();
        if (now - last_ok > gap)
            gap = now - last_ok;
        last_ok = now;
        rounds++;
    }
    int lost_keys = 0;
    long long lost = 0;
    for (int i = 0; i < 2 * K; i++) {
        redisReply *rep;
        rf_err err = {0};
        key_of(key, sizeof key, i < K ? "w:s:" : "w:c:", i % K, tag);
        if (rf_redis_cmd(r, &rep, &err, "GET %s", key) != 0) {
            say("err verify: %s", err.msg);
            return;
        }
        long long have = rep->type == REDIS_REPLY_STRING ? atoll(rep->str) : 0;
        freeReplyObject(rep);
        if (have < acked[i])
            lost_keys++, lost += acked[i] - have;
    }
    say("rounds=%d failed=%d max_gap_ms=%lld lost_keys=%d lost_writes=%lld%s%s", rounds, failed,
        (long long)gap, lost_keys, lost, first_err[0] ? " first_error=" : "", first_err);
}

static void cmd_findtag(long lo, long hi)
{
    char tag[32];
    for (int i = 0; i < 1000000; i++) {
        snprintf(tag, sizeof tag, "t%d", i);
        int s = rf_redis_key_slot(tag, strlen(tag));
        if (s >= lo && s <= hi) {
            say("%s %d", tag, s);
            return;
        }
    }
    say("err no tag in %ld..%ld", lo, hi);
}

static void cmd_bench(rf_redis *r, long ms, int batch)
{
    rf_redis_call *calls = calloc((size_t)batch, sizeof *calls);
    char (*keys)[32] = calloc((size_t)batch, 32);
    const char **argv = calloc((size_t)batch, sizeof *argv);
    long long done = 0;
    unsigned next = 0;
    int64_t start = rf_mono_ms(), el = 0;
    while ((el = rf_mono_ms() - start) < ms) {
        for (int i = 0; i < batch; i++) {
            snprintf(keys[i], 32, "b:%u", next++ % 100000);
            argv[i] = keys[i];
            calls[i] = (rf_redis_call){&incr_script, 1, 1, &argv[i], NULL, NULL};
        }
        rf_err err = {0};
        if (rf_redis_eval_many(r, calls, (size_t)batch, &err) != 0) {
            say("err %s", err.msg);
            goto out;
        }
        for (int i = 0; i < batch; i++)
            freeReplyObject(calls[i].reply);
        done += batch;
    }
    say("ops_per_s=%.0f", (double)done * 1000.0 / (double)(el > 0 ? el : 1));
out:
    free(calls), free(keys), free(argv);
}

static void cmd_stats(rf_redis *r)
{
    char line[4096] = "", addr[300];
    size_t off = 0;
    off += (size_t)snprintf(line, sizeof line, "cluster=%d nodes=%zu", rf_redis_is_cluster(r),
                            rf_redis_nodes(r));
    for (size_t i = 0; i < rf_redis_nodes(r) && off < sizeof line - 100; i++) {
        rf_redis_stats s;
        rf_redis_node_stats_get(r, i, addr, sizeof addr, &s);
        off += (size_t)snprintf(line + off, sizeof line - off, " %s=%llu/%llu/%llu", addr,
                                (unsigned long long)s.round_trips,
                                (unsigned long long)s.errors, (unsigned long long)s.reconnects);
    }
    say("%s", line);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: redis_cluster_client URL < commands\n");
        return 2;
    }
    rf_redis_opts o;
    rf_redis_opts_default(&o);
    o.retry_ms = getenv("RF_RETRY_MS") ? atol(getenv("RF_RETRY_MS")) : 20000;
    rf_redis *r;
    rf_err err = {0};
    if (rf_redis_connect(argv[1], &o, &r, &err) != 0) {
        fprintf(stderr, "connect: %s\n", err.msg);
        return rf_err_exit_status(&err);
    }
    char line[1024], a[512], b[512];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        long n = 0;
        if (sscanf(line, "set %511s %511s", a, b) == 2)
            cmd_set_get(r, 1, a, b);
        else if (sscanf(line, "get %511s", a) == 1)
            cmd_set_get(r, 0, a, NULL);
        else if (sscanf(line, "eval %511s %511s", a, b) == 2)
            cmd_eval(r, a, b);
        else if (sscanf(line, "slotcheck %ld", &n) == 1)
            cmd_slotcheck(r, (int)n);
        else if (sscanf(line, "spread %ld", &n) == 1)
            cmd_spread(r, (int)n);
        else if (sscanf(line, "pipeline %ld", &n) == 1 && n > 0)
            cmd_pipeline(r, (int)n);
        else if (sscanf(line, "writer %ld %511s", &n, a) == 2)
            cmd_writer(r, n, a);
        else if (sscanf(line, "writer %ld", &n) == 1)
            cmd_writer(r, n, NULL);
        else if (sscanf(line, "bench %ld %511s", &n, b) == 2 && atoi(b) > 0)
            cmd_bench(r, n, atoi(b));
        else if (sscanf(line, "findtag %ld %511s", &n, b) == 2)
            cmd_findtag(n, atol(b));
        else if (!strcmp(line, "stats"))
            cmd_stats(r);
        else if (!strcmp(line, "quit"))
            break;
        else
            say("err unknown command: %s", line);
    }
    rf_redis_close(r);
    return 0;
}
