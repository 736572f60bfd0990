/* Integration tests of the worker runtime: real `ruvflow worker` processes
 * ($RF_BIN/ruvflow) against the redis-server of tests/run.sh, plus a
 * private appendonly redis-server for the restart test. Tasks are enqueued
 * and checked through rf_queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/rf_queue.h"
#include "engine/rf_redis.h"
#include "base/rf_hash.h"
#include "engine/rf_runtime.h"
#include "store/rf_store.h"
#include "rf_test.h"

extern char **environ;

typedef struct fx {
    char url[128];
    char prefix[64];
    rf_redis *r;
    rf_queue *q;
} fx;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void fx_connect(fx *f, long lease_ms)
{
    rf_err err = {0};
    if (rf_redis_connect(f->url, NULL, &f->r, &err) != 0)
        fail_msg("connect %s: %s", f->url, err.msg);
    rf_queue_opts o;
    rf_queue_opts_default(&o);
    o.prefix = f->prefix;
    o.lease_ms = lease_ms;
    assert_int_equal(rf_queue_open(f->r, &o, &f->q, &err), 0);
}

static fx *fx_open(const char *url, long lease_ms)
{
    static int seq;
    fx *f = calloc(1, sizeof *f);
    if (!url && !(url = getenv("RF_TEST_REDIS_URL")))
        fail_msg("RF_TEST_REDIS_URL is not set: run through tests/run.sh");
    snprintf(f->url, sizeof f->url, "%s", url);
    snprintf(f->prefix, sizeof f->prefix, "tw%d.%d:", (int)getpid(), ++seq);
    fx_connect(f, lease_ms);
    return f;
}

static void fx_close(fx *f)
{
    rf_queue_close(f->q);
    rf_redis_close(f->r);
    free(f);
}

/* Every process started here, killed at exit so a failed test leaves
 * nothing running. */
static pid_t spawned[64];
static int nspawned;

static void kill_spawned(void)
{
    for (int i = 0; i < nspawned; i++)
        if (kill(spawned[i], 0) == 0)
            kill(spawned[i], SIGKILL);
}

static void track(pid_t pid)
{
    if (nspawned < 64)
        spawned[nspawned++] = pid;
}

/* Start `ruvflow worker` with extra args (NULL-terminated). */
static pid_t spawn_worker(fx *f, const char *lease, ...)
{
    const char *bin = getenv("RF_BIN");
    if (!bin)
        fail_msg("RF_BIN is not set: run through tests/run.sh");
    char exe[512];
    snprintf(exe, sizeof exe, "%s/ruvflow", bin);
    const char *argv[32] = {exe, "worker", "--types", "noop,sleep", "--redis", f->url,
                            "--prefix", f->prefix, "--lease", lease};
    int n = 10;
    va_list ap;
    va_start(ap, lease);
    for (const char *a; (a = va_arg(ap, const char *)) && n < 31;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    pid_t pid;
    if (posix_spawn(&pid, exe, NULL, NULL, (char **)argv, environ) != 0)
        fail_msg("cannot start %s", exe);
    track(pid);
    return pid;
}

/* Exit status of pid within ms, or -1 (then it is killed). */
static int wait_exit(pid_t pid, long ms)
{
    int64_t end = mono_ms() + ms;
    int st;
    while (mono_ms() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static void enqueue_sleep(fx *f, const char *id, const char *params, int max_attempts)
{
    rf_task_spec s = {.id = id, .run = "r", .step = "s", .type = "sleep", .params = params,
                      .max_attempts = max_attempts, .priority = strcmp(id, "short") ? 0 : 10};
    rf_err err = {0};
    size_t added;
    if (rf_queue_enqueue(f->q, &s, 1, &added, &err) != 0)
        fail_msg("enqueue: %s", err.msg);
}

/* Poll a task until its state is `want`; returns its info (caller frees). */
static rf_task_info wait_state(fx *f, const char *id, const char *want, long ms)
{
    rf_task_info info = {0};
    rf_err err = {0};
    int64_t end = mono_ms() + ms;
    for (;;) {
        int have = rf_queue_get(f->q, id, &info, &err);
        if (have < 0)
            fail_msg("get %s: %s", id, err.msg);
        if (have && !strcmp(info.state, want))
            return info;
        if (mono_ms() > end)
            fail_msg("task %s: state %s, wanted %s after %ld ms", id,
                     have ? info.state : "(none)", want, ms);
        rf_task_info_free(&info);
        sleep_ms(10);
    }
}

/* Count "done" events for a task id in the events stream. */
static int done_events(fx *f, const char *id)
{
    redisReply *rep;
    rf_err err = {0};
    assert_int_equal(rf_redis_cmd(f->r, &rep, &err, "XRANGE %s - +", rf_queue_events_key(f->q)), 0);
    int n = 0;
    for (size_t i = 0; i < rep->elements; i++) {
        redisReply *kv = rep->element[i]->element[1];
        int is_done = 0, is_id = 0;
        for (size_t j = 0; j + 1 < kv->elements; j += 2) {
            is_done |= !strcmp(kv->element[j]->str, "ev") && !strcmp(kv->element[j + 1]->str, "done");
            is_id |= !strcmp(kv->element[j]->str, "task") && !strcmp(kv->element[j + 1]->str, id);
        }
        n += is_done && is_id;
    }
    freeReplyObject(rep);
    return n;
}

static void test_serves_noop_and_sleep(void **state)
{
    fx *f = fx_open(NULL, 2000);
    enum { N = 200 };
    rf_task_spec s[N];
    char ids[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "n%d", i);
        s[i] = (rf_task_spec){.id = ids[i], .run = "r", .step = "s", .index = i,
                              .type = i % 20 ? "noop" : "sleep",
                              .params = i % 20 ? NULL : "{\"ms\":30}"};
    }
    rf_err err = {0};
    assert_int_equal(rf_queue_enqueue(f->q, s, N, NULL, &err), 0);
    pid_t w = spawn_worker(f, "2000", "--concurrency", "3", NULL);
    for (int i = 0; i < N; i++) {
        rf_task_info info = wait_state(f, ids[i], "done", 10000);
        if (i % 20 == 0)
            assert_string_equal(info.metrics, "{\"slept_ms\":30.0}");
        rf_task_info_free(&info);
    }
    /* The worker registry shows it. */
    rf_worker_info *wi;
    size_t n;
    assert_int_equal(rf_queue_workers(f->q, &wi, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(wi[0].types, "noop,sleep");
    assert_int_equal(wi[0].pid, w);
    rf_worker_info_free(wi, n);
    kill(w, SIGTERM);
    assert_int_equal(wait_exit(w, 5000), 0);
    assert_int_equal(rf_queue_workers(f->q, &wi, &n, &err), 0);
    assert_int_equal(n, 0); /* a clean exit unregisters */
    rf_worker_info_free(wi, n);
    fx_close(f);
}

/* A bad parameter is the task's fault: dead letter at once, with the reason. */
static void test_bad_param_dead_letters(void **state)
{
    fx *f = fx_open(NULL, 2000);
    enqueue_sleep(f, "bad", "{\"ms\":\"soon\"}", 5);
    pid_t w = spawn_worker(f, "2000", NULL);
    rf_task_info info = wait_state(f, "bad", "dead", 5000);
    assert_int_equal(info.attempt, 1);
    assert_string_equal(info.error, "with.ms: expected an integer, got \"soon\"");
    rf_task_info_free(&info);
    kill(w, SIGTERM);
    assert_int_equal(wait_exit(w, 5000), 0);
    fx_close(f);
}

/* A task over its timeout is stopped and failed as retryable; with its
 * attempts used up it is dead-lettered with the reason. */
static void test_task_timeout(void **state)
{
    fx *f = fx_open(NULL, 600);
    rf_task_spec s = {.id = "slow", .run = "r", .type = "sleep", .params = "{\"ms\":5000}",
                      .timeout_ms = 300, .max_attempts = 1};
    rf_err err = {0};
    assert_int_equal(rf_queue_enqueue(f->q, &s, 1, NULL, &err), 0);
    int64_t t0 = mono_ms();
    pid_t w = spawn_worker(f, "600", NULL);
    rf_task_info info = wait_state(f, "slow", "dead", 5000);
    assert_true(mono_ms() - t0 < 2500);
    assert_string_equal(info.error, "timeout after 300 ms (attempt 1 of 1)");
    rf_task_info_free(&info);
    kill(w, SIGTERM);
    assert_int_equal(wait_exit(w, 5000), 0);
    fx_close(f);
}

/* kill -9 of a worker mid-task: re-delivered after the lease, committed once. */
static void test_kill9_redelivers_once(void **state)
{
    fx *f = fx_open(NULL, 500);
    enqueue_sleep(f, "k9", "{\"ms\":800}", 3);
    pid_t a = spawn_worker(f, "500", NULL);
    rf_task_info info = wait_state(f, "k9", "leased", 5000);
    rf_task_info_free(&info);
    sleep_ms(100);
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);
    int64_t t0 = mono_ms();
    pid_t b = spawn_worker(f, "500", NULL);
    info = wait_state(f, "k9", "done", 10000);
    int64_t dt = mono_ms() - t0;
    assert_int_equal(info.attempt, 2);
    assert_int_equal(info.token, 2);
    assert_true(dt < 3000); /* lease 0.5 s + the 0.8 s task + slack */
    rf_task_info_free(&info);
    sleep_ms(300);
    assert_int_equal(done_events(f, "k9"), 1);
    kill(b, SIGTERM);
    assert_int_equal(wait_exit(b, 5000), 0);
    fx_close(f);
}

/* SIGTERM: a task that outlives the grace period is stopped and its lease
 * released at once, without charging an attempt; a short one finishes. */
static void test_sigterm_drain(void **state)
{
    fx *f = fx_open(NULL, 5000);
    enqueue_sleep(f, "long", "{\"ms\":20000}", 3);
    pid_t w = spawn_worker(f, "5000", "--grace", "1", NULL);
    rf_task_info info = wait_state(f, "long", "leased", 5000);
    rf_task_info_free(&info);
    sleep_ms(300); /* leased -> running: a task taken but not begun is simply released */
    int64_t t0 = mono_ms();
    kill(w, SIGTERM);
    assert_int_equal(wait_exit(w, 5000), 0);
    assert_true(mono_ms() - t0 < 2500);
    info = wait_state(f, "long", "ready", 100); /* released, not left to expire */
    assert_int_equal(info.attempt, 0);
    rf_task_info_free(&info);

    enqueue_sleep(f, "short", "{\"ms\":600}", 3);
    w = spawn_worker(f, "5000", "--grace", "30", NULL);
    info = wait_state(f, "short", "leased", 5000);
    rf_task_info_free(&info);
    sleep_ms(100);
    kill(w, SIGTERM);
    assert_int_equal(wait_exit(w, 5000), 0);
    info = wait_state(f, "short", "done", 100);
    rf_task_info_free(&info);
    /* The second worker took "short" (higher priority) and drained before
     * taking "long". */
    info = wait_state(f, "long", "ready", 100);
    rf_task_info_free(&info);
    fx_close(f);
}

/* A second signal exits at once. */
static void test_second_signal_exits(void **state)
{
    fx *f = fx_open(NULL, 5000);
    enqueue_sleep(f, "stuck", "{\"ms\":20000}", 3);
    pid_t w = spawn_worker(f, "5000", "--grace", "30", NULL);
    rf_task_info info = wait_state(f, "stuck", "leased", 5000);
    rf_task_info_free(&info);
    sleep_ms(300);
    kill(w, SIGTERM);
    sleep_ms(200);
    kill(w, SIGTERM);
    int rc = wait_exit(w, 1000);
    assert_int_equal(rc, 128 + SIGTERM);
    fx_close(f);
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    return ntohs(a.sin_port);
}

static pid_t start_redis(int port, const char *dir)
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    const char *argv[] = {"redis-server", "--port", p, "--bind", "127.0.0.1", "--dir", dir,
                          "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                          "--logfile", "redis.log", NULL};
    pid_t pid;
    if (posix_spawnp(&pid, "redis-server", NULL, NULL, (char **)argv, environ) != 0)
        fail_msg("cannot start redis-server");
    track(pid);
    return pid;
}

/* Redis killed (-9) and restarted with its AOF mid-run: every task is
 * committed once; workers reconnect and reload their scripts. */
static void test_redis_restart(void **state)
{
    char dir[] = "/tmp/rf-test-redis-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int port = free_port();
    pid_t rs = start_redis(port, dir);
    char url[128];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", port);
    sleep_ms(300);
    fx *f = fx_open(url, 1000);
    enum { N = 60 };
    rf_task_spec s[N];
    char ids[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "rs%d", i);
        s[i] = (rf_task_spec){.id = ids[i], .type = "sleep", .params = "{\"ms\":25}",
                              .max_attempts = 10};
    }
    rf_err err = {0};
    assert_int_equal(rf_queue_enqueue(f->q, s, N, NULL, &err), 0);
    pid_t w = spawn_worker(f, "1000", "--concurrency", "2", NULL);
    rf_task_info info = wait_state(f, ids[10], "done", 10000);
    rf_task_info_free(&info);
    kill(rs, SIGKILL);
    waitpid(rs, NULL, 0);
    sleep_ms(700);
    rs = start_redis(port, dir);
    /* Our own connection reconnects by itself too. */
    for (int i = 0; i < N; i++) {
        info = wait_state(f, ids[i], "done", 20000);
        rf_task_info_free(&info);
    }
    sleep_ms(300);
    for (int i = 0; i < N; i++)
        assert_int_equal(done_events(f, ids[i]), 1);
    kill(w, SIGTERM);
    assert_int_equal(wait_exit(w, 5000), 0);
    fx_close(f);
    kill(rs, SIGTERM);
    waitpid(rs, NULL, 0);
    assert_int_equal(rf_test_rmtree(dir), 0);
}

/* A handler exercising the runtime's I/O: reads input "src", writes
 * output "out" (the input plus "!"), streams a metric and a log line, and
 * keeps a state file across attempts (fails its first attempt when asked). */
static int echo_handler(rf_task *t, rf_err *err)
{
    const char *in = rf_task_input(t, "src", 0);
    if (!in)
        return rf_errf(err, RF_EINVAL, "no input src");
    char buf[256] = {0}, path[1024], st[1024];
    FILE *f = fopen(in, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 2, f) : 0;
    if (f)
        fclose(f);
    snprintf(st, sizeof st, "%s/state.txt", rf_task_outdir(t));
    int had = rf_task_state_load(t, "progress", st, err);
    if (had < 0)
        return -1;
    rf_task_metric(t, "resumed", had);
    f = fopen(st, "w");
    fputs("half done", f);
    fclose(f);
    if (rf_task_state_save(t, "progress", st, err) != 0)
        return -1;
    if (rf_task_attempt(t) == 1 && rf_task_param(t, "fail_first"))
        return rf_errf(err, RF_EIO, "transient failure, as asked");
    buf[n] = '!';
    snprintf(path, sizeof path, "%s/out.txt", rf_task_outdir(t));
    f = fopen(path, "wb");
    fwrite(buf, 1, n + 1, f);
    fclose(f);
    rf_task_metric(t, "bytes", (double)(n + 1));
    rf_task_logf(t, "echoed %zu bytes", n + 1);
    return rf_task_output(t, "out", path, err);
}

static const rf_worker_def echo_def = {"echo", "1", echo_handler, ""};

/* Serve echo tasks from a forked child running the real runtime loop. */
static pid_t spawn_echo(fx *f, const char *store)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"--redis", f->url, "--prefix", f->prefix, "--store", (char *)store,
                        "--lease", "2000", NULL};
        const rf_worker_def *defs[] = {&echo_def};
        _exit(rf_runtime_serve(8, argv, defs, 1));
    }
    track(pid);
    return pid;
}

static void test_inputs_outputs_state(void **state)
{
    fx *f = fx_open(NULL, 2000);
    char dir[] = "/tmp/rf-test-store-XXXXXX", url[128], in_url[160], miss_url[160];
    assert_non_null(mkdtemp(dir));
    snprintf(url, sizeof url, "file://%s", dir);
    snprintf(in_url, sizeof in_url, "%s/in/a.txt", url);
    snprintf(miss_url, sizeof miss_url, "%s/in/missing.txt", url);
    rf_store *st;
    rf_err err = {0};
    assert_int_equal(rf_store_open(url, NULL, &st, &err), 0);
    assert_int_equal(rf_store_put_mem(st, "in/a.txt", "hello", 5, NULL, &err), 0);

    char inputs[256], missing[256];
    snprintf(inputs, sizeof inputs, "{\"src\": \"%s\"}", in_url);
    snprintf(missing, sizeof missing, "{\"src\": [\"%s\"]}", miss_url);
    rf_task_spec s[2] = {
        {.id = "echo1", .run = "r", .type = "echo", .inputs = inputs,
         .params = "{\"fail_first\": true}", .max_attempts = 3, .backoff_ms = 50},
        {.id = "echo2", .run = "r", .type = "echo", .inputs = missing, .max_attempts = 3},
    };
    assert_int_equal(rf_queue_enqueue(f->q, s, 2, NULL, &err), 0);
    pid_t w = spawn_echo(f, url);

    rf_task_info info = wait_state(f, "echo1", "done", 10000);
    assert_int_equal(info.attempt, 2);
    /* The second attempt found the first one's state. */
    assert_non_null(strstr(info.metrics, "\"resumed\":1.0"));
    assert_non_null(strstr(info.metrics, "\"bytes\":6.0"));
    /* The output is stored under the SHA-256 of its bytes, in the task's
     * tier: the store's hot/ (no tier was configured). */
    uint8_t md[RF_SHA256_LEN];
    char hex[RF_SHA256_HEX], want[512];
    rf_sha256("hello!", 6, md);
    rf_hex(hex, md, RF_SHA256_LEN);
    snprintf(want, sizeof want, "{\"out\":\"%s/hot/cas/%.2s/%s\"}", url, hex, hex);
    assert_string_equal(info.outputs, want);
    char key[128];
    snprintf(key, sizeof key, "hot/cas/%.2s/%s", hex, hex);
    rf_buf got = RF_BUF_INIT;
    assert_int_equal(rf_store_get_mem(st, key, &got, &err), 0);
    assert_int_equal(got.len, 6);
    assert_memory_equal(got.data, "hello!", 6);
    rf_buf_free(&got);
    rf_task_info_free(&info);

    /* A missing input is final: dead at once, with the reason. */
    info = wait_state(f, "echo2", "dead", 10000);
    assert_int_equal(info.attempt, 1);
    assert_non_null(strstr(info.error, "input src[0]"));
    assert_non_null(strstr(info.error, "missing.txt"));
    rf_task_info_free(&info);

    /* Log lines reached the run's log stream. */
    redisReply *rep;
    assert_int_equal(rf_redis_cmd(f->r, &rep, &err, "XLEN %srun:r:log", f->prefix), 0);
    assert_true(rep->integer >= 1);
    freeReplyObject(rep);

    kill(w, SIGTERM);
    assert_int_equal(wait_exit(w, 5000), 0);
    rf_store_close(st);
    fx_close(f);
    assert_int_equal(rf_test_rmtree(dir), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    atexit(kill_spawned);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serves_noop_and_sleep),
        cmocka_unit_test(test_bad_param_dead_letters),
        cmocka_unit_test(test_inputs_outputs_state),
        cmocka_unit_test(test_task_timeout),
        cmocka_unit_test(test_kill9_redelivers_once),
        cmocka_unit_test(test_sigterm_drain),
        cmocka_unit_test(test_second_signal_exits),
        cmocka_unit_test(test_redis_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
