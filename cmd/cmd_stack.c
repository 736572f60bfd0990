/* cmd_stack: `ruvflow up` and `ruvflow down`, the embedded local stack.
 *
 * up starts, in the background and in their own sessions: a private
 * redis-server (append-only file under ./.ruvflow/redis, so the stack
 * survives restarts) unless RUVFLOW_REDIS_URL or --redis names one, a
 * scheduler, and N workers of each kind (ruvflow-<worker> serve, plus
 * `ruvflow worker --types noop,sleep`) on file:// storage under
 * ./.ruvflow/store. Each process gets a pid file in ./.ruvflow/pids holding
 * its pid and program name, so down stops exactly what up started (a pid
 * reused by an unrelated process is left alone). Logs: ./.ruvflow/logs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd_engine.h"
#include "base/rf_buf.h"

static const char *const worker_kinds[] = {
    "preprocess", "train-stage", "tune-trial", "eval-fold", "checkpoint-compact", NULL
};

static const char up_usage[] =
    "usage: ruvflow up [--workers N] [--redis URL]\n"
    "\n"
    "Start the local stack in the background: a private redis-server (data in\n"
    "./.ruvflow/redis, append-only) unless --redis, RUVFLOW_REDIS_URL or the\n"
    "config file names one, a scheduler, and N workers of each kind (default\n"
    "1) plus N built-in noop/sleep workers, all on file:// storage in\n"
    "./.ruvflow/store. Other\n"
    "ruvflow commands run in this folder or below it then use this stack's\n"
    "Redis and store (found like git finds its repository).\n"
    "Logs are in ./.ruvflow/logs; `ruvflow down` stops everything.\n"
    "\n"
    "Exit status: 0 started, 1 something did not start (nothing is left running).\n";

static const char down_usage[] =
    "usage: ruvflow down [--grace S]\n"
    "\n"
    "Stop the local stack started by `ruvflow up` in this folder or the nearest\n"
    "one above it that has a " RF_STACK_DIR "/ folder: workers and\n"
    "the scheduler first (SIGTERM; workers finish or hand back their tasks),\n"
    "then Redis (which writes its append-only file). Processes still alive\n"
    "after the grace period (default 20 s) are killed.\n";

/* -------------------------------------------------------------- paths */

static int mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* Folder of the running binary, to find ruvflow-<worker> beside it. */
static void bin_dir(char *out, size_t n)
{
    ssize_t k = readlink("/proc/self/exe", out, n - 1);
    if (k <= 0) {
        snprintf(out, n, ".");
        return;
    }
    out[k] = 0;
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = 0;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* ----------------------------------------------------------- processes */

typedef struct started {
    char name[64];
    pid_t pid;
} started;

/* Start argv in the background, in its own session, stdout and stderr to
 * logs/NAME.log, and record its pid. No shell is involved. */
static pid_t spawn(const char *name, char *const argv[], started *list, size_t *n)
{
    char log[PATH_MAX], pidf[PATH_MAX];
    snprintf(log, sizeof log, RF_STACK_DIR "/logs/%s.log", name);
    snprintf(pidf, sizeof pidf, RF_STACK_DIR "/pids/%s.pid", name);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setsid();
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || null < 0)
            _exit(127);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        dprintf(2, "ruvflow up: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    FILE *f = fopen(pidf, "w");
    if (f) {
        const char *prog = strrchr(argv[0], '/');
        fprintf(f, "%ld\n%s\n", (long)pid, prog ? prog + 1 : argv[0]);
        fclose(f);
    }
    snprintf(list[*n].name, sizeof list[*n].name, "%s", name);
    list[(*n)++].pid = pid;
    return pid;
}

/* Is pid alive and running program prog (so a reused pid is not ours)? */
static int is_ours(pid_t pid, const char *prog)
{
    char path[64], cmd[PATH_MAX] = "";
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t got = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    cmd[got] = 0;
    const char *base = strrchr(cmd, '/');
    base = base ? base + 1 : cmd;
    /* redis-server rewrites its argv to "redis-server 127.0.0.1:PORT". */
    return !strncmp(base, prog, strlen(prog));
}

typedef struct pidfile {
    char path[PATH_MAX];
    char name[128];
    char prog[128];
    pid_t pid;
} pidfile;

static size_t read_pidfiles(pidfile **out)
{
    *out = NULL;
    DIR *d = opendir(RF_STACK_DIR "/pids");
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".pid"))
            continue;
        pidfile p = {0};
        snprintf(p.path, sizeof p.path, RF_STACK_DIR "/pids/%s", e->d_name);
        snprintf(p.name, sizeof p.name, "%.*s", (int)(l - 4), e->d_name);
        FILE *f = fopen(p.path, "r");
        long pid = 0;
        if (!f)
            continue;
        if (fscanf(f, "%ld %127s", &pid, p.prog) != 2)
            pid = 0;
        fclose(f);
        p.pid = (pid_t)pid;
        *out = rf_xrealloc(*out, (n + 1) * sizeof **out);
        (*out)[n++] = p;
    }
    closedir(d);
    return n;
}

static int wait_gone(pid_t pid, const char *prog, long ms)
{
    for (long t = 0; t < ms; t += 50) {
        /* Our own children must be reaped, or they stay as zombies. */
        waitpid(pid, NULL, WNOHANG);
        if (!is_ours(pid, prog))
            return 1;
        usleep(50000);
    }
    return 0;
}

static int is_redis(const pidfile *p)
{
    return strcmp(p->name, "redis") == 0;
}

/* Stop the processes of the given group (redis or everything else). */
static size_t stop_group(pidfile *p, size_t n, int redis, long grace_ms)
{
    size_t stopped = 0;
    for (size_t i = 0; i < n; i++)
        if (is_redis(&p[i]) == redis && p[i].pid > 0 &&
            is_ours(p[i].pid, p[i].prog) && kill(p[i].pid, SIGTERM) == 0)
            stopped++;
        else if (is_redis(&p[i]) == redis)
            p[i].pid = 0;   /* not ours (any more): leave it alone */
    for (size_t i = 0; i < n; i++) {
        if (is_redis(&p[i]) != redis)
            continue;
        if (p[i].pid > 0 && !wait_gone(p[i].pid, p[i].prog, grace_ms)) {
            fprintf(stderr, "ruvflow down: %s (pid %ld) did not stop in time; killing it\n",
                    p[i].name, (long)p[i].pid);
            kill(p[i].pid, SIGKILL);
            wait_gone(p[i].pid, p[i].prog, 2000);
        }
        unlink(p[i].path);
    }
    return stopped;
}

static int stack_down(long grace_ms, int quiet)
{
    pidfile *p;
    size_t n = read_pidfiles(&p);
    size_t a = stop_group(p, n, 0, grace_ms);
    size_t b = stop_group(p, n, 1, grace_ms);
    free(p);
    unlink(RF_STACK_DIR "/redis.url");
    if (!quiet)
        printf("ruvflow down: stopped %zu process%s\n", a + b, a + b == 1 ? "" : "es");
    return 0;
}

/* ------------------------------------------------------------------ up */

static int already_up(void)
{
    pidfile *p;
    size_t n = read_pidfiles(&p);
    int live = 0;
    for (size_t i = 0; i < n; i++)
        live |= p[i].pid > 0 && is_ours(p[i].pid, p[i].prog);
    free(p);
    return live;
}

static int start_redis(char *url, size_t n, started *list, size_t *nl)
{
    int port = free_port();
    if (port < 0)
        return -1;
    char portbuf[16], dir[PATH_MAX];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    if (!getcwd(dir, sizeof dir - 32))
        return -1;
    strcat(dir, "/" RF_STACK_DIR "/redis");
    char *argv[] = {"/usr/bin/redis-server", "--port", portbuf, "--bind", "127.0.0.1",
                    "--dir", dir, "--appendonly", "yes", "--save", "",
                    "--protected-mode", "yes", NULL};
    if (access(argv[0], X_OK) != 0)
        argv[0] = "/usr/local/bin/redis-server";
    if (access(argv[0], X_OK) != 0) {
        fprintf(stderr, "ruvflow up: redis-server not found (apt-get install "
                "redis-server, or `make deps`), or set RUVFLOW_REDIS_URL\n");
        return -1;
    }
    if (spawn("redis", argv, list, nl) < 0)
        return -1;
    snprintf(url, n, "redis://127.0.0.1:%d/0", port);
    return 0;
}

/* Wait until Redis answers (a fresh redis-server needs a moment). */
static int wait_redis(const char *url)
{
    rf_redis_opts o;
    rf_redis_opts_default(&o);
    o.retry_ms = 10000;
    rf_redis *r;
    rf_err err;
    if (rf_redis_connect(url, &o, &r, &err) < 0) {
        fprintf(stderr, "ruvflow up: %s\n", err.msg);
        return -1;
    }
    rf_redis_close(r);
    return 0;
}

static int check_alive(const started *list, size_t n)
{
    usleep(500000);
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        int status;
        if (waitpid(list[i].pid, &status, WNOHANG) == list[i].pid) {
            fprintf(stderr, "ruvflow up: %s exited at once (status %d); see "
                    RF_STACK_DIR "/logs/%s.log\n", list[i].name,
                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                    list[i].name);
            ok = 0;
        }
    }
    return ok ? 0 : -1;
}

RF_CMD(up)
{
    long workers = 1;
    const char *redis_opt = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return fputs(up_usage, stdout), 0;
        if (!strcmp(argv[i], "--workers") && i + 1 < argc)
            workers = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--redis") && i + 1 < argc)
            redis_opt = argv[++i];
        else
            return fputs(up_usage, stderr), 2;
    }
    if (workers < 0 || workers > 64)
        return fputs("ruvflow up: --workers must be 0..64\n", stderr), 2;
    if (already_up()) {
        fprintf(stderr, "ruvflow up: a stack is already running here; `ruvflow down` "
                "first\n");
        return 1;
    }
    if (mkdirs(RF_STACK_DIR "/logs") < 0 || mkdirs(RF_STACK_DIR "/pids") < 0 ||
        mkdirs(RF_STACK_DIR "/redis") < 0 || mkdirs(RF_STACK_DIR "/store") < 0) {
        fprintf(stderr, "ruvflow up: cannot create " RF_STACK_DIR "/: %s\n",
                strerror(errno));
        return 1;
    }
    started list[8 + 6 * 64];
    size_t nl = 0;
    char url[256];
    const char *given = redis_opt ? redis_opt : engine_configured_redis();
    if (given)
        snprintf(url, sizeof url, "%s", given);
    else if (start_redis(url, sizeof url, list, &nl) < 0)
        goto fail;
    if (wait_redis(url) < 0)
        goto fail;
    /* Recorded also for an external Redis, so that commands run anywhere
     * below this folder find it (it may hold a password: 0600). */
    int ufd = open(RF_STACK_DIR "/redis.url", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (ufd < 0 || dprintf(ufd, "%s\n", url) < 0) {
        fprintf(stderr, "ruvflow up: cannot write " RF_STACK_DIR "/redis.url: %s\n",
                strerror(errno));
        if (ufd >= 0)
            close(ufd);
        goto fail;
    }
    close(ufd);
    char cwd[PATH_MAX], store[PATH_MAX + 64], bins[PATH_MAX], exe[PATH_MAX + 32];
    if (!getcwd(cwd, sizeof cwd))
        goto fail;
    snprintf(store, sizeof store, "file://%s/" RF_STACK_DIR "/store", cwd);
    setenv("RUVFLOW_REDIS_URL", url, 1);
    setenv("RUVFLOW_STORE", store, 0);
    bin_dir(bins, sizeof bins);
    snprintf(exe, sizeof exe, "%s/ruvflow", bins);
    /* The Redis URL reaches the children through RUVFLOW_REDIS_URL, never
     * argv: a password in it would show in /proc/PID/cmdline and ps. */
    char *sched[] = {exe, "scheduler", NULL};
    if (spawn("scheduler", sched, list, &nl) < 0)
        goto fail;
    for (long w = 0; w < workers; w++) {
        char name[64];
        for (size_t k = 0; worker_kinds[k]; k++) {
            char bin[PATH_MAX + 64];
            snprintf(bin, sizeof bin, "%s/ruvflow-%s", bins, worker_kinds[k]);
            snprintf(name, sizeof name, "%s-%ld", worker_kinds[k], w + 1);
            char *wargv[] = {bin, "serve", "--store", store, NULL};
            if (spawn(name, wargv, list, &nl) < 0)
                goto fail;
        }
        snprintf(name, sizeof name, "builtin-%ld", w + 1);
        char *bargv[] = {exe, "worker", "--types", "noop,sleep", "--concurrency", "4",
                         "--store", store, NULL};
        if (spawn(name, bargv, list, &nl) < 0)
            goto fail;
    }
    if (check_alive(list, nl) < 0)
        goto fail;
    char red[256];
    rf_redact(red, sizeof red, url);
    printf("ruvflow up: redis %s%s, scheduler, %ld worker%s of each kind\n", red,
           given ? " (external)" : "", workers, workers == 1 ? "" : "s");
    printf("  store %s; logs " RF_STACK_DIR "/logs; stop with `ruvflow down`\n", store);
    return 0;
fail:
    fprintf(stderr, "ruvflow up: stopping what was started\n");
    stack_down(5000, 1);
    return 1;
}

RF_CMD(down)
{
    long grace = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return fputs(down_usage, stdout), 0;
        if (!strcmp(argv[i], "--grace") && i + 1 < argc)
            grace = strtol(argv[++i], NULL, 10);
        else
            return fputs(down_usage, stderr), 2;
    }
    /* Like git, act on the stack of the nearest folder above that has one. */
    rf_stackdir sd;
    rf_stackdir_find(NULL, &sd);
    if (!sd.root) {
        fprintf(stderr, "ruvflow down: no local stack (looked for " RF_STACK_DIR "/ in %s)\n",
                sd.looked ? sd.looked : "no folder");
        rf_stackdir_free(&sd);
        return 1;
    }
    int rc = chdir(sd.root);
    if (rc < 0)
        fprintf(stderr, "ruvflow down: %s: %s\n", sd.root, strerror(errno));
    rf_stackdir_free(&sd);
    return rc < 0 ? 1 : stack_down(grace * 1000, 0);
}
