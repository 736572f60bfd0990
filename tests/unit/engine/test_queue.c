/* Tests for rf_redis and rf_queue against the real redis-server that
 * tests/run.sh starts (RF_TEST_REDIS_URL). Each test uses its own key
 * prefix, so tests never see each other's keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/rf_queue.h"
#include "engine/rf_redis.h"

typedef struct fx {
    rf_redis *r;
    rf_queue *q;
    char prefix[64];
} fx;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *redis_url(void)
{
    const char *u = getenv("RF_TEST_REDIS_URL");
    if (!u)
        fail_msg("RF_TEST_REDIS_URL is not set: run through tests/run.sh");
    return u;
}

static fx *fx_open(long lease_ms)
{
    static int seq;
    fx *f = calloc(1, sizeof *f);
    rf_err err = {0};
    if (rf_redis_connect(redis_url(), NULL, &f->r, &err) != 0)
        fail_msg("connect: %s", err.msg);
    snprintf(f->prefix, sizeof f->prefix, "tq%d.%d:", (int)getpid(), ++seq);
    rf_queue_opts o;
    rf_queue_opts_default(&o);
    o.prefix = f->prefix;
    o.lease_ms = lease_ms;
    assert_int_equal(rf_queue_open(f->r, &o, &f->q, &err), 0);
    return f;
}

static void fx_close(fx *f)
{
    rf_queue_close(f->q);
    rf_redis_close(f->r);
    free(f);
}

static rf_task_spec spec(const char *id, const char *type, int prio)
{
    rf_task_spec s = {0};
    s.id = id;
    s.run = "run1";
    s.step = "step";
    s.type = type;
    s.priority = prio;
    s.params = "{\"ms\":\"1\"}";
    return s;
}

static void enqueue(fx *f, const rf_task_spec *s, size_t n)
{
    rf_err err = {0};
    size_t added;
    if (rf_queue_enqueue(f->q, s, n, &added, &err) != 0)
        fail_msg("enqueue: %s", err.msg);
    assert_int_equal(added, n);
}

static size_t take(fx *f, const char *type, size_t max, rf_lease **l)
{
    rf_err err = {0};
    size_t n;
    const char *types[] = {type};
    if (rf_queue_take(f->q, "default", types, 1, "w1", max, l, &n, &err) != 0)
        fail_msg("take: %s", err.msg);
    return n;
}

static int commit1(fx *f, const rf_lease *l)
{
    rf_err err = {0};
    rf_task_result r = {l->id, l->token, "{\"o\":\"file:///x\"}", "{\"loss\":0.5}"};
    int st = -1;
    if (rf_queue_commit(f->q, &r, 1, &st, &err) != 0)
        fail_msg("commit: %s", err.msg);
    return st;
}

static rf_queue_stat stat_of(fx *f, const char *type)
{
    rf_queue_stat *s, out = {0};
    size_t n;
    rf_err err = {0};
    assert_int_equal(rf_queue_stats(f->q, &s, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s[i].type, type))
            out = s[i];
    free(s);
    return out;
}

static long long redis_int(fx *f, const char *fmt, const char *arg)
{
    redisReply *rep;
    rf_err err = {0};
    assert_int_equal(rf_redis_cmd(f->r, &rep, &err, fmt, arg), 0);
    long long v = rep->integer;
    freeReplyObject(rep);
    return v;
}

static void test_url_parse(void **state)
{
    rf_redis_url_parts p;
    rf_err err = {0};
    assert_int_equal(rf_redis_url_parse("redis://alice:s3cret@db.example:6380/4", &p, &err), 0);
    assert_string_equal(p.user, "alice");
    assert_string_equal(p.pass, "s3cret");
    assert_string_equal(p.host, "db.example");
    assert_int_equal(p.port, 6380);
    assert_int_equal(p.db, 4);
    rf_redis_url_parts_free(&p);
    assert_int_equal(rf_redis_url_parse("redis://:pw@h", &p, &err), 0);
    assert_null(p.user);
    assert_string_equal(p.pass, "pw");
    assert_int_equal(p.port, 6379);
    rf_redis_url_parts_free(&p);
    assert_int_equal(rf_redis_url_parse("http://h", &p, &err), -1);
    assert_int_equal(rf_redis_url_parse("redis://h:99999", &p, &err), -1);
    assert_int_equal(rf_redis_url_parse("redis://h/x", &p, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
}

/* Unreachable: a clear message naming the URL without its password, after
 * retrying with backoff for the budget (not at once, not forever). */
static void test_unreachable(void **state)
{
    rf_redis_opts o;
    rf_redis_opts_default(&o);
    o.retry_ms = 600;
    rf_redis *r = NULL;
    rf_err err = {0};
    int64_t t0 = mono_ms();
    /* Port 1 on loopback: nothing listens there. */
    assert_int_equal(rf_redis_connect("redis://bob:hunter2@127.0.0.1:1/0", &o, &r, &err), -1);
    int64_t dt = mono_ms() - t0;
    assert_null(r);
    assert_int_equal(err.code, RF_ENET);
    assert_non_null(strstr(err.msg, "unreachable after"));
    assert_non_null(strstr(err.msg, "127.0.0.1:1"));
    assert_null(strstr(err.msg, "hunter2"));
    assert_true(dt >= 500 && dt < 3000);
}

static void test_auth_refused(void **state)
{
    fx *f = fx_open(5000);
    rf_redis_url_parts p;
    rf_err err = {0};
    assert_int_equal(rf_redis_url_parse(redis_url(), &p, &err), 0);
    char url[256];
    snprintf(url, sizeof url, "redis://nobody:wrong@%s:%d/0", p.host, p.port);
    rf_redis_url_parts_free(&p);
    rf_redis *r = NULL;
    assert_int_equal(rf_redis_connect(url, NULL, &r, &err), -1);
    assert_int_equal(err.code, RF_EAUTH);
    assert_null(strstr(err.msg, "wrong"));
    fx_close(f);
}

static void test_enqueue_take_commit(void **state)
{
    fx *f = fx_open(5000);
    rf_task_spec s[3] = {spec("a", "noop", 0), spec("b", "noop", 0), spec("c", "noop", 0)};
    enqueue(f, s, 3);
    size_t added = 9;
    rf_err err = {0};
    assert_int_equal(rf_queue_enqueue(f->q, s, 3, &added, &err), 0);
    assert_int_equal(added, 0); /* idempotent */
    assert_int_equal(stat_of(f, "noop").ready, 3);

    rf_lease *l;
    assert_int_equal(take(f, "noop", 10, &l), 3);
    assert_string_equal(l[0].id, "a"); /* FIFO */
    assert_string_equal(l[2].id, "c");
    assert_int_equal(l[0].token, 1);
    assert_int_equal(l[0].attempt, 1);
    assert_string_equal(l[0].params, "{\"ms\":\"1\"}");
    assert_string_equal(l[0].tier, "hot");
    assert_string_equal(l[0].run, "run1");
    assert_true(l[0].started_us >= l[0].enqueued_us);
    assert_int_equal(stat_of(f, "noop").leased, 3);

    rf_task_result r[3];
    for (int i = 0; i < 3; i++)
        r[i] = (rf_task_result){l[i].id, l[i].token, "{\"model\":\"file:///m\"}", "{\"acc\":1}"};
    int st[3] = {-1, -1, -1};
    assert_int_equal(rf_queue_commit(f->q, r, 3, st, &err), 0);
    assert_int_equal(st[0] + st[1] + st[2], RF_LEASE_OK);
    /* A repeated commit (lost reply, resent) is accepted without effect. */
    assert_int_equal(commit1(f, &l[1]), RF_LEASE_OK);

    rf_task_info info;
    assert_int_equal(rf_queue_get(f->q, "b", &info, &err), 1);
    assert_string_equal(info.state, "done");
    assert_string_equal(info.outputs, "{\"model\":\"file:///m\"}");
    assert_string_equal(info.metrics, "{\"acc\":1}");
    assert_string_equal(info.worker, "w1");
    rf_task_info_free(&info);
    assert_int_equal(rf_queue_get(f->q, "zzz", &info, &err), 0);

    rf_queue_stat qs = stat_of(f, "noop");
    assert_int_equal(qs.ready + qs.leased + qs.dead, 0);
    char key[128];
    snprintf(key, sizeof key, "%sevents", f->prefix);
    assert_int_equal(redis_int(f, "XLEN %s", key), 3);
    /* Committed records expire by retention. */
    snprintf(key, sizeof key, "%st:a", f->prefix);
    assert_true(redis_int(f, "TTL %s", key) > 3600);
    rf_leases_free(l, 3);
    fx_close(f);
}

static void test_priorities(void **state)
{
    fx *f = fx_open(5000);
    rf_task_spec s[5] = {spec("low1", "noop", 0), spec("mid", "noop", 5),
                         spec("high", "noop", 10), spec("low2", "noop", 0),
                         spec("other", "sleep", 7)};
    enqueue(f, s, 5);
    const char *types[] = {"noop", "sleep"};
    const char *want[] = {"high", "other", "mid", "low1", "low2"};
    rf_err err = {0};
    for (int i = 0; i < 5; i++) {
        rf_lease *l;
        size_t n;
        assert_int_equal(rf_queue_take(f->q, "default", types, 2, "w", 1, &l, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(l[0].id, want[i]);
        rf_leases_free(l, n);
    }
    /* A worker of type noop never sees sleep tasks. */
    rf_task_spec t = spec("s2", "sleep", 1000);
    enqueue(f, &t, 1);
    rf_lease *l;
    assert_int_equal(take(f, "noop", 5, &l), 0);
    fx_close(f);
}

static void test_lease_expiry_and_fencing(void **state)
{
    fx *f = fx_open(300);
    rf_task_spec s = spec("t1", "noop", 0);
    enqueue(f, &s, 1);
    rf_lease *old, *nw;
    assert_int_equal(take(f, "noop", 1, &old), 1);
    assert_int_equal(take(f, "noop", 1, &nw), 0);
    int64_t t0 = mono_ms();
    size_t n = 0;
    while ((n = take(f, "noop", 1, &nw)) == 0 && mono_ms() - t0 < 3000)
        sleep_ms(20);
    assert_int_equal(n, 1);
    assert_true(mono_ms() - t0 < 1000); /* re-delivered promptly after 300 ms */
    assert_string_equal(nw[0].id, "t1");
    assert_int_equal(nw[0].token, 2);
    assert_int_equal(nw[0].attempt, 2);

    /* The stale holder can neither renew, commit, fail nor release. */
    rf_lease_ref ref = {old[0].id, old[0].token};
    int st = -1;
    rf_err err = {0};
    assert_int_equal(rf_queue_heartbeat(f->q, &ref, NULL, 1, &st, &err), 0);
    assert_int_equal(st, RF_LEASE_LOST);
    assert_int_equal(commit1(f, &old[0]), RF_LEASE_LOST);
    assert_int_equal(rf_queue_fail(f->q, &ref, 1, "x", NULL, &err), -1);
    assert_int_equal(err.code, RF_ECONFLICT);
    assert_int_equal(rf_queue_release(f->q, &ref, 1, &st, &err), 0);
    assert_int_equal(st, RF_LEASE_LOST);
    /* The new owner commits. */
    assert_int_equal(commit1(f, &nw[0]), RF_LEASE_OK);
    rf_task_info info;
    assert_int_equal(rf_queue_get(f->q, "t1", &info, &err), 1);
    assert_string_equal(info.state, "done");
    rf_task_info_free(&info);
    rf_leases_free(old, 1);
    rf_leases_free(nw, 1);
    fx_close(f);
}

static void test_heartbeat_keeps_lease(void **state)
{
    fx *f = fx_open(300);
    rf_task_spec s = spec("hb", "noop", 0);
    enqueue(f, &s, 1);
    rf_lease *l, *other;
    assert_int_equal(take(f, "noop", 1, &l), 1);
    rf_lease_ref ref = {l[0].id, l[0].token};
    rf_err err = {0};
    for (int i = 0; i < 9; i++) { /* 900 ms: three leases long */
        int st = -1;
        sleep_ms(100);
        assert_int_equal(rf_queue_heartbeat(f->q, &ref, NULL, 1, &st, &err), 0);
        assert_int_equal(st, RF_LEASE_OK);
        assert_int_equal(take(f, "noop", 1, &other), 0);
    }
    assert_int_equal(commit1(f, &l[0]), RF_LEASE_OK);
    rf_leases_free(l, 1);
    fx_close(f);
}

static void test_retries_then_dead_letter(void **state)
{
    fx *f = fx_open(5000);
    rf_task_spec s = spec("r1", "noop", 0);
    s.max_attempts = 2;
    s.backoff_ms = 100;
    enqueue(f, &s, 1);
    rf_lease *l;
    rf_err err = {0};
    int out = -1;
    assert_int_equal(take(f, "noop", 1, &l), 1);
    rf_lease_ref ref = {l[0].id, l[0].token};
    assert_int_equal(rf_queue_fail(f->q, &ref, 1, "boom", &out, &err), 0);
    assert_int_equal(out, RF_FAIL_RETRY);
    rf_leases_free(l, 1);
    assert_int_equal(stat_of(f, "noop").delayed, 1);
    assert_int_equal(take(f, "noop", 1, &l), 0); /* backoff not yet over */
    sleep_ms(120);
    assert_int_equal(take(f, "noop", 1, &l), 1);
    assert_int_equal(l[0].attempt, 2);
    ref = (rf_lease_ref){l[0].id, l[0].token};
    assert_int_equal(rf_queue_fail(f->q, &ref, 1, "boom again", &out, &err), 0);
    assert_int_equal(out, RF_FAIL_DEAD);
    rf_leases_free(l, 1);

    rf_dead *d;
    size_t n;
    assert_int_equal(rf_queue_dlq_list(f->q, NULL, NULL, 10, &d, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(d[0].id, "r1");
    assert_string_equal(d[0].reason, "boom again (attempt 2 of 2)");
    assert_int_equal(d[0].attempts, 2);
    rf_dead_free(d, n);
    assert_int_equal(stat_of(f, "noop").dead, 1);

    /* requeue gives a fresh budget; drop deletes. */
    const char *ids[] = {"r1"};
    size_t done;
    assert_int_equal(rf_queue_dlq_requeue(f->q, ids, 1, &done, &err), 0);
    assert_int_equal(done, 1);
    assert_int_equal(take(f, "noop", 1, &l), 1);
    assert_int_equal(l[0].attempt, 1);
    assert_int_equal(l[0].token, 3);
    ref = (rf_lease_ref){l[0].id, l[0].token};
    assert_int_equal(rf_queue_fail(f->q, &ref, 0, "not implemented", &out, &err), 0);
    assert_int_equal(out, RF_FAIL_DEAD); /* final failures do not retry */
    rf_leases_free(l, 1);
    assert_int_equal(rf_queue_dlq_drop(f->q, ids, 1, &done, &err), 0);
    assert_int_equal(done, 1);
    rf_task_info info;
    assert_int_equal(rf_queue_get(f->q, "r1", &info, &err), 0);
    assert_int_equal(stat_of(f, "noop").dead, 0);
    fx_close(f);
}

/* Lease expiry counts attempts too: a worker that keeps crashing ends in
 * the dead letters instead of looping forever. */
/* Server time in ms, as the scripts read it. */
static int64_t server_ms(fx *f)
{
    redisReply *rep;
    rf_err err = {0};
    assert_int_equal(rf_redis_cmd(f->r, &rep, &err, "TIME"), 0);
    int64_t t = atoll(rep->element[0]->str) * 1000 + atoll(rep->element[1]->str) / 1000;
    freeReplyObject(rep);
    return t;
}

/* Fails n fresh tasks once each with the given jitter; the retry delays
 * (ms, from just before each fail) into d. D, the un-jittered delay, is
 * the backoff base: first retry. */
static void retry_delays(double jitter, long D, size_t n, double *d)
{
    fx *f = fx_open(60000);
    char ids[64][24], key[128];
    rf_task_spec s[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        snprintf(ids[i], sizeof ids[i], "j%zu", i);
        s[i] = spec(ids[i], "noop", 0);
        s[i].max_attempts = 3;
        s[i].backoff_ms = D;
        s[i].jitter = jitter;
    }
    enqueue(f, s, n);
    rf_lease *l;
    assert_int_equal(take(f, "noop", n, &l), n);
    snprintf(key, sizeof key, "%sq:default:noop:delayed", f->prefix);
    for (size_t i = 0; i < n; i++) {
        rf_lease_ref ref = {l[i].id, l[i].token};
        rf_err err = {0};
        int out = -1;
        int64_t before = server_ms(f);
        assert_int_equal(rf_queue_fail(f->q, &ref, 1, "boom", &out, &err), 0);
        assert_int_equal(out, RF_FAIL_RETRY);
        redisReply *rep;
        assert_int_equal(rf_redis_cmd(f->r, &rep, &err, "ZSCORE %s %s", key, l[i].id), 0);
        d[i] = atof(rep->str) - (double)before;
        freeReplyObject(rep);
    }
    rf_leases_free(l, n);
    fx_close(f);
}

/* delay = D * (1 - jitter * u), u in [0, 1): within (D * (1 - jitter), D]
 * (plus the few ms between our clock read and the script's), and spread
 * over that range rather than fixed. */
static void test_retry_jitter_bounds(void **state)
{
    enum { N = 40 };
    const long D = 10000;
    const double slack = 50;
    double d[N], lo = 1e18, hi = -1e18;
    retry_delays(0.3, D, N, d);
    for (size_t i = 0; i < N; i++) {
        if (!(d[i] > D * 0.7 - 1 && d[i] <= D + slack))
            fail_msg("delay %zu: %.0f ms outside (%.0f, %ld]", i, d[i], D * 0.7, D);
        lo = d[i] < lo ? d[i] : lo;
        hi = d[i] > hi ? d[i] : hi;
    }
    assert_true(hi - lo > D * 0.3 * 0.5);   /* it does vary, across most of the range */

    retry_delays(0, D, 8, d);                /* jitter 0: exactly D */
    for (size_t i = 0; i < 8; i++)
        assert_true(d[i] > D - 1 && d[i] <= D + slack);

    fx *f = fx_open(5000);                   /* outside 0..1: refused */
    rf_task_spec bad = spec("jbad", "noop", 0);
    bad.jitter = 1.5;
    rf_err err = {0};
    assert_int_equal(rf_queue_enqueue(f->q, &bad, 1, NULL, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    fx_close(f);
}

/* A worker that keeps heartbeating a stuck handler (its own timer failed)
 * does not hold the task forever: past timeout + 2 leases of running, on
 * the server's clock, the heartbeat fails it (retry), reports the lease
 * lost, and its late commit is fenced off. A prefetched task not yet
 * running is not timed. */
static void test_queue_enforces_timeout(void **state)
{
    const long lease = 300, tmo = 200;
    fx *f = fx_open(lease);
    rf_task_spec s[2] = {spec("stuck", "noop", 0), spec("waiting", "noop", 0)};
    for (int i = 0; i < 2; i++) {
        s[i].timeout_ms = tmo;
        s[i].max_attempts = 2;
        s[i].backoff_ms = 50;
    }
    enqueue(f, s, 2);
    rf_lease *l;
    assert_int_equal(take(f, "noop", 2, &l), 2);
    int is = strcmp(l[0].id, "stuck") ? 1 : 0;
    rf_lease_ref refs[2] = {{l[0].id, l[0].token}, {l[1].id, l[1].token}};
    unsigned char running[2] = {is == 0, is == 1};
    int64_t t0 = mono_ms(), lost_at = 0;
    rf_err err = {0};
    while (mono_ms() - t0 < 3000 && !lost_at) {
        int st[2] = {-1, -1};
        assert_int_equal(rf_queue_heartbeat(f->q, refs, running, 2, st, &err), 0);
        assert_int_equal(st[1 - is], RF_LEASE_OK);   /* not started: not timed */
        if (st[is] == RF_LEASE_LOST)
            lost_at = mono_ms() - t0;
        else
            assert_int_equal(st[is], RF_LEASE_OK);
        sleep_ms(lease / 3);
    }
    if (lost_at < tmo + 2 * lease || lost_at > tmo + 2 * lease + 2 * lease)
        fail_msg("timed out after %lld ms, want %ld..%ld", (long long)lost_at,
                 tmo + 2 * lease, tmo + 4 * lease);
    char key[128];
    snprintf(key, sizeof key, "%st:stuck", f->prefix);
    redisReply *rep;
    assert_int_equal(rf_redis_cmd(f->r, &rep, &err, "HMGET %s st err", key), 0);
    assert_string_equal(rep->element[0]->str, "delayed");
    assert_non_null(strstr(rep->element[1]->str, "enforced by the queue"));
    freeReplyObject(rep);
    assert_int_equal(commit1(f, &l[is]), RF_LEASE_LOST);   /* fenced */
    rf_leases_free(l, 2);

    sleep_ms(100);   /* the retry's backoff */
    assert_int_equal(take(f, "noop", 1, &l), 1);
    assert_string_equal(l[0].id, "stuck");
    assert_int_equal(l[0].attempt, 2);
    assert_int_equal(commit1(f, &l[0]), RF_LEASE_OK);
    rf_leases_free(l, 1);
    fx_close(f);
}

static void test_expiry_exhausts_attempts(void **state)
{
    fx *f = fx_open(150);
    rf_task_spec s = spec("crashy", "noop", 0);
    s.max_attempts = 2;
    enqueue(f, &s, 1);
    rf_lease *l;
    assert_int_equal(take(f, "noop", 1, &l), 1);
    rf_leases_free(l, 1);
    sleep_ms(200);
    assert_int_equal(take(f, "noop", 1, &l), 1);
    rf_leases_free(l, 1);
    sleep_ms(200);
    rf_err err = {0};
    size_t moved = 0;
    assert_int_equal(rf_queue_reap(f->q, 0, &moved, &err), 0);
    assert_int_equal(moved, 1);
    assert_int_equal(rf_queue_reap(f->q, 0, &moved, &err), 0);
    assert_int_equal(moved, 0); /* idempotent */
    rf_dead *d;
    size_t n;
    assert_int_equal(rf_queue_dlq_list(f->q, "default", "noop", 10, &d, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_non_null(strstr(d[0].reason, "lease expired on attempt 2 of 2"));
    rf_dead_free(d, n);
    fx_close(f);
}

static void test_malformed_to_dlq(void **state)
{
    fx *f = fx_open(5000);
    rf_task_spec s[3] = {spec("m1", "noop", 0), spec("m2", "noop", 0), spec("ok", "noop", 0)};
    enqueue(f, s, 3);
    char key[128];
    redisReply *rep;
    rf_err err = {0};
    snprintf(key, sizeof key, "%st:m1", f->prefix);
    assert_int_equal(rf_redis_cmd(f->r, &rep, &err, "HSET %s params %s", key, "not json"), 0);
    freeReplyObject(rep);
    snprintf(key, sizeof key, "%st:m2", f->prefix);
    assert_int_equal(rf_redis_cmd(f->r, &rep, &err, "HSET %s att %s", key, "lots"), 0);
    freeReplyObject(rep);
    rf_lease *l;
    assert_int_equal(take(f, "noop", 10, &l), 1);
    assert_string_equal(l[0].id, "ok");
    rf_leases_free(l, 1);
    rf_dead *d;
    size_t n;
    assert_int_equal(rf_queue_dlq_list(f->q, NULL, NULL, 10, &d, &n, &err), 0);
    assert_int_equal(n, 2);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(d[i].id, "m1"))
            seen += !strcmp(d[i].reason, "malformed record: params is not a JSON object");
        if (!strcmp(d[i].id, "m2"))
            seen += !strcmp(d[i].reason, "malformed record: field att is not a number: lots");
    }
    assert_int_equal(seen, 2);
    rf_dead_free(d, n);
    /* Bad specs never reach Redis. */
    rf_task_spec bad = spec("has space", "noop", 0);
    assert_int_equal(rf_queue_enqueue(f->q, &bad, 1, NULL, &err), -1);
    assert_int_equal(err.code, RF_EINVAL);
    bad = spec("x", "no/slash", 0);
    assert_int_equal(rf_queue_enqueue(f->q, &bad, 1, NULL, &err), -1);
    bad = spec("x", "noop", 1001);
    assert_int_equal(rf_queue_enqueue(f->q, &bad, 1, NULL, &err), -1);
    fx_close(f);
}

/* Enqueue checks existence once per batch when all ids are new: a repeat
 * inside the batch, and a batch mixing old and new ids, still add each
 * task once. */
static void test_enqueue_repeats(void **state)
{
    fx *f = fx_open(5000);
    rf_task_spec s[3] = {spec("x", "noop", 0), spec("x", "noop", 0), spec("y", "noop", 0)};
    size_t added = 0;
    rf_err err = {0};
    assert_int_equal(rf_queue_enqueue(f->q, s, 3, &added, &err), 0);
    assert_int_equal(added, 2);
    rf_task_spec t[2] = {spec("y", "noop", 0), spec("z", "noop", 0)};
    assert_int_equal(rf_queue_enqueue(f->q, t, 2, &added, &err), 0);
    assert_int_equal(added, 1);
    assert_int_equal(stat_of(f, "noop").ready, 3);
    rf_lease *l;
    assert_int_equal(take(f, "noop", 10, &l), 3);
    assert_string_equal(l[0].id, "x");   /* FIFO: x keeps its first place */
    assert_string_equal(l[1].id, "y");
    assert_string_equal(l[2].id, "z");
    rf_leases_free(l, 3);
    fx_close(f);
}

/* What a step's tasks share (priority, retry policy, tier) is stored once
 * in the policy hash, not in each record; take, get and fail read it back.
 * A record in the older layout (the fields inline) still runs. */
static void test_step_policy_shared(void **state)
{
    fx *f = fx_open(5000);
    rf_task_spec s[3] = {spec("p1", "noop", 7), spec("p2", "noop", 7), spec("p3", "noop", 3)};
    for (int i = 0; i < 3; i++) {
        s[i].tier = "warm";
        s[i].max_attempts = 2;
        s[i].backoff_ms = 50;
    }
    s[2].tier = "cold";
    enqueue(f, s, 3);
    char key[128], pol1[32] = "", pol3[32] = "";
    redisReply *rep;
    rf_err err = {0};
    const char *ids[] = {"p1", "p2", "p3"};
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "%st:%s", f->prefix, ids[i]);
        assert_int_equal(redis_int(f, "HEXISTS %s prio", key), 0);
        assert_int_equal(redis_int(f, "HEXISTS %s maxa", key), 0);
        assert_int_equal(rf_redis_cmd(f->r, &rep, &err, "HGET %s pol", key), 0);
        assert_int_equal(rep->type, REDIS_REPLY_STRING);
        if (i == 0)
            snprintf(pol1, sizeof pol1, "%s", rep->str);
        else if (i == 1)
            assert_string_equal(rep->str, pol1);   /* same step values: one policy */
        else
            snprintf(pol3, sizeof pol3, "%s", rep->str);
        freeReplyObject(rep);
    }
    assert_string_not_equal(pol1, pol3);
    snprintf(key, sizeof key, "%spol", f->prefix);
    assert_int_equal(redis_int(f, "HLEN %s", key), 5);   /* n, and 2 ids both ways */

    /* An older record: the fields inline, no policy. */
    snprintf(key, sizeof key, "%st:old", f->prefix);
    assert_int_equal(rf_redis_cmd(f->r, &rep, &err,
                                  "HSET %s run r step s idx 0 type noop pool default prio 5 "
                                  "params {} inputs {} tier hot tmo 0 maxa 4 st ready att 0 "
                                  "tok 0 seq 99 enq 0", key), 0);
    freeReplyObject(rep);
    snprintf(key, sizeof key, "%sq:default:noop:ready", f->prefix);
    assert_int_equal(rf_redis_cmd(f->r, &rep, &err, "ZADD %s 1 old", key), 0);
    freeReplyObject(rep);

    rf_lease *l;
    assert_int_equal(take(f, "noop", 10, &l), 4);
    assert_string_equal(l[0].id, "old");
    assert_int_equal(l[0].max_attempts, 4);
    assert_string_equal(l[0].tier, "hot");
    assert_string_equal(l[1].id, "p1");
    assert_int_equal(l[1].priority, 7);
    assert_int_equal(l[1].max_attempts, 2);
    assert_string_equal(l[1].tier, "warm");
    assert_string_equal(l[3].id, "p3");
    assert_int_equal(l[3].priority, 3);
    assert_string_equal(l[3].tier, "cold");
    rf_task_info info;
    assert_int_equal(rf_queue_get(f->q, "p2", &info, &err), 1);
    assert_int_equal(info.max_attempts, 2);
    rf_task_info_free(&info);
    /* The retry budget comes from the policy: the second failure is final. */
    int out = -1;
    rf_lease_ref ref = {l[1].id, l[1].token};
    assert_int_equal(rf_queue_fail(f->q, &ref, 1, "boom", &out, &err), 0);
    assert_int_equal(out, RF_FAIL_RETRY);
    rf_leases_free(l, 4);
    sleep_ms(80);
    assert_int_equal(take(f, "noop", 1, &l), 1);
    assert_string_equal(l[0].id, "p1");
    ref = (rf_lease_ref){l[0].id, l[0].token};
    assert_int_equal(rf_queue_fail(f->q, &ref, 1, "boom again", &out, &err), 0);
    assert_int_equal(out, RF_FAIL_DEAD);
    rf_leases_free(l, 1);
    fx_close(f);
}

static void test_release_refunds_attempt(void **state)
{
    fx *f = fx_open(5000);
    rf_task_spec s[2] = {spec("first", "noop", 0), spec("second", "noop", 0)};
    enqueue(f, s, 2);
    rf_lease *l;
    assert_int_equal(take(f, "noop", 2, &l), 2);
    rf_lease_ref refs[2] = {{l[0].id, l[0].token}, {l[1].id, l[1].token}};
    int st[2] = {-1, -1};
    rf_err err = {0};
    assert_int_equal(rf_queue_release(f->q, refs, 2, st, &err), 0);
    assert_int_equal(st[0], RF_LEASE_OK);
    assert_int_equal(st[1], RF_LEASE_OK);
    rf_leases_free(l, 2);
    assert_int_equal(take(f, "noop", 1, &l), 1);
    assert_string_equal(l[0].id, "first"); /* keeps its place */
    assert_int_equal(l[0].attempt, 1);    /* not charged */
    assert_int_equal(l[0].token, 2);      /* but a new token */
    rf_leases_free(l, 1);
    fx_close(f);
}

static void test_cancel(void **state)
{
    fx *f = fx_open(5000);
    rf_task_spec s[2] = {spec("run-a", "noop", 0), spec("run-b", "noop", 0)};
    enqueue(f, s, 2);
    rf_lease *l;
    assert_int_equal(take(f, "noop", 1, &l), 1);
    const char *ids[] = {"run-a", "run-b"};
    rf_err err = {0};
    assert_int_equal(rf_queue_cancel(f->q, ids, 2, &err), 0);
    rf_lease_ref ref = {l[0].id, l[0].token};
    int st = -1, out = -1;
    assert_int_equal(rf_queue_heartbeat(f->q, &ref, NULL, 1, &st, &err), 0);
    assert_int_equal(st, RF_LEASE_CANCELLED);
    assert_int_equal(rf_queue_fail(f->q, &ref, 0, "stopped", &out, &err), 0);
    rf_task_info info;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rf_queue_get(f->q, ids[i], &info, &err), 1);
        assert_string_equal(info.state, "cancelled");
        rf_task_info_free(&info);
    }
    rf_queue_stat qs = stat_of(f, "noop");
    assert_int_equal(qs.ready + qs.leased + qs.dead, 0);
    rf_leases_free(l, 1);
    fx_close(f);
}

static void test_wait_wakes(void **state)
{
    fx *f = fx_open(5000);
    const char *types[] = {"noop"};
    rf_err err = {0};
    int64_t t0 = mono_ms();
    assert_int_equal(rf_queue_wait(f->q, "default", types, 1, 200, &err), 0);
    assert_true(mono_ms() - t0 >= 150);
    rf_task_spec s = spec("w", "noop", 0);
    enqueue(f, &s, 1);
    t0 = mono_ms();
    assert_int_equal(rf_queue_wait(f->q, "default", types, 1, 2000, &err), 1);
    assert_true(mono_ms() - t0 < 100);
    fx_close(f);
}

/* After SCRIPT FLUSH (as after a Redis restart) EVALSHA answers NOSCRIPT;
 * the script is loaded again and the call succeeds. */
static void test_noscript_reload(void **state)
{
    fx *f = fx_open(5000);
    rf_task_spec s = spec("ns", "noop", 0);
    enqueue(f, &s, 1);
    redisReply *rep;
    rf_err err = {0};
    assert_int_equal(rf_redis_cmd(f->r, &rep, &err, "SCRIPT FLUSH"), 0);
    freeReplyObject(rep);
    rf_lease *l;
    assert_int_equal(take(f, "noop", 1, &l), 1);
    assert_int_equal(commit1(f, &l[0]), RF_LEASE_OK);
    rf_leases_free(l, 1);
    fx_close(f);
}

static void test_workers_registry(void **state)
{
    fx *f = fx_open(5000);
    rf_worker_info w = {.id = "host1:42", .host = "host1", .pool = "default",
                        .types = "noop,sleep", .current = "t9", .pid = 42,
                        .started_ms = 1000};
    rf_err err = {0};
    assert_int_equal(rf_queue_worker_beat(f->q, &w, 200, &err), 0);
    rf_worker_info *ws;
    size_t n;
    assert_int_equal(rf_queue_workers(f->q, &ws, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ws[0].types, "noop,sleep");
    assert_string_equal(ws[0].current, "t9");
    assert_int_equal(ws[0].pid, 42);
    assert_true(ws[0].seen_ms > 0);
    rf_worker_info_free(ws, n);
    sleep_ms(300); /* TTL passes: the worker is gone */
    assert_int_equal(rf_queue_workers(f->q, &ws, &n, &err), 0);
    assert_int_equal(n, 0);
    rf_worker_info_free(ws, n);
    fx_close(f);
}

/* Workers killed (-9) never say goodbye: the next beat of any worker drops
 * index entries not seen for two TTLs, so the index does not grow with
 * every restart when nobody lists the workers (chaos harness finding). */
static void test_workers_index_pruned(void **state)
{
    fx *f = fx_open(5000);
    char key[96];
    snprintf(key, sizeof key, "%sworkers", f->prefix);
    rf_err err = {0};
    rf_worker_info dead = {.id = "host1:1", .host = "host1", .pool = "default",
                           .types = "noop", .pid = 1, .started_ms = 1000};
    rf_worker_info live = dead;
    live.id = "host1:2";
    live.pid = 2;
    assert_int_equal(rf_queue_worker_beat(f->q, &dead, 100, &err), 0);
    assert_int_equal(rf_queue_worker_beat(f->q, &live, 100, &err), 0);
    assert_int_equal(redis_int(f, "ZCARD %s", key), 2);
    sleep_ms(120);   /* one TTL: the record expired, the entry is kept a while */
    assert_int_equal(rf_queue_worker_beat(f->q, &live, 100, &err), 0);
    assert_int_equal(redis_int(f, "ZCARD %s", key), 2);
    sleep_ms(120);   /* past two TTLs since its last beat: dropped */
    assert_int_equal(rf_queue_worker_beat(f->q, &live, 100, &err), 0);
    assert_int_equal(redis_int(f, "ZCARD %s", key), 1);
    fx_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_workers_index_pruned),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_auth_refused),
        cmocka_unit_test(test_enqueue_take_commit),
        cmocka_unit_test(test_priorities),
        cmocka_unit_test(test_lease_expiry_and_fencing),
        cmocka_unit_test(test_heartbeat_keeps_lease),
        cmocka_unit_test(test_retries_then_dead_letter),
        cmocka_unit_test(test_retry_jitter_bounds),
        cmocka_unit_test(test_queue_enforces_timeout),
        cmocka_unit_test(test_expiry_exhausts_attempts),
        cmocka_unit_test(test_malformed_to_dlq),
        cmocka_unit_test(test_step_policy_shared),
        cmocka_unit_test(test_enqueue_repeats),
        cmocka_unit_test(test_release_refunds_attempt),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_wait_wakes),
        cmocka_unit_test(test_noscript_reload),
        cmocka_unit_test(test_workers_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
