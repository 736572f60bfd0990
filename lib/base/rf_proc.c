/* rf_proc: run a program without a shell, with stdin bytes, collected
 * stdout, a stderr tail and a deadline (see rf_proc.h). */
#include "base/rf_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/rf_time.h"

/* In the child: wire the descriptors and exec; on failure report errno on
 * the close-on-exec pipe `report`. Never returns. */
static void child(char *const *argv, int in, int out, int errfd, int report)
{
    setpgid(0, 0);   /* its own group, so a kill reaches its children too */
    dup2(in, 0), dup2(out, 1), dup2(errfd, 2);
    /* Nothing else of the worker's (sockets to Redis, files) reaches the
     * program; `report` is close-on-exec, gone once exec succeeds. */
    if (report > 3)
        close_range(3, (unsigned)report - 1, 0);
    close_range((unsigned)report + 1, ~0u, 0);
    execvp(argv[0], argv);
    int e = errno;
    (void)!write(report, &e, sizeof e);
    _exit(127);
}

static void keep_tail(rf_proc_result *r, size_t *len, const char *p, size_t n)
{
    if (n >= RF_PROC_STDERR_TAIL) {
        memcpy(r->err_tail, p + n - RF_PROC_STDERR_TAIL, RF_PROC_STDERR_TAIL);
        *len = RF_PROC_STDERR_TAIL;
    } else {
        size_t keep = *len + n > RF_PROC_STDERR_TAIL ? RF_PROC_STDERR_TAIL - n : *len;
        memmove(r->err_tail, r->err_tail + *len - keep, keep);
        memcpy(r->err_tail + keep, p, n);
        *len = keep + n;
    }
    r->err_tail[*len] = 0;
}

typedef struct io {
    int in, out, err;          /* our ends; -1 once closed */
    const char *data;
    size_t left;
    size_t err_len;
    size_t seen;               /* stdout bytes already split into lines */
} io;

/* Hand the complete new stdout lines to the watcher; 1 to stop. */
static int new_lines(io *s, const rf_buf *out, const rf_proc_watch *w)
{
    if (!w || !w->line)
        return 0;
    while (s->seen < out->len) {
        const char *p = out->data + s->seen;
        const char *nl = memchr(p, '\n', out->len - s->seen);
        if (!nl)
            return 0;
        s->seen += (size_t)(nl - p) + 1;
        if (w->line(w->arg, p, (size_t)(nl - p)))
            return 1;
    }
    return 0;
}

/* One poll round: feed stdin, drain stdout and stderr. Returns -1 when
 * stdout outgrew its cap. */
static int pump(io *s, rf_buf *out, rf_proc_result *res, int wait_ms)
{
    struct pollfd p[3] = {{s->in, POLLOUT, 0}, {s->out, POLLIN, 0},
                          {s->err, POLLIN, 0}};
    if (poll(p, 3, wait_ms) <= 0)
        return 0;
    if (s->in >= 0 && p[0].revents) {
        ssize_t w = s->left ? send(s->in, s->data, s->left, MSG_NOSIGNAL | MSG_DONTWAIT)
                            : 0;
        if (w > 0)
            s->data += w, s->left -= (size_t)w;
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            s->left = 0;   /* it closed stdin: nothing more to say */
        if (!s->left)
            close(s->in), s->in = -1;
    }
    char buf[8192];
    for (int k = 1; k <= 2; k++) {
        int *fd = k == 1 ? &s->out : &s->err;
        if (*fd < 0 || !p[k].revents)
            continue;
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN))) {
            close(*fd), *fd = -1;
        } else if (n > 0 && k == 1) {
            if (out->len + (size_t)n > RF_PROC_STDOUT_MAX)
                return -1;
            rf_buf_add(out, buf, (size_t)n);
        } else if (n > 0) {
            keep_tail(res, &s->err_len, buf, (size_t)n);
        }
    }
    return 0;
}

static void finish(pid_t pid, rf_proc_result *res, int kill_it)
{
    int st = 0;
    if (kill_it)
        kill(-pid, SIGKILL), kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    res->exited = WIFEXITED(st);
    res->code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? WTERMSIG(st) : -1;
}

static void close_fd(int fd)
{
    if (fd >= 0)
        close(fd);
}

int rf_proc_run(char *const *argv, const void *in, size_t in_len,
                long timeout_ms, const rf_proc_watch *w, rf_buf *out,
                rf_proc_result *res, rf_err *err)
{
    int sv[2], po[2], pe[2], pr[2];
    memset(res, 0, sizeof *res);
    if (!argv || !argv[0] || !argv[0][0])
        return rf_errf(err, RF_EINVAL, "exec: empty command");
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return rf_err_errno(err, "exec %s: socketpair", argv[0]);
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0 ||
        pipe2(pr, O_CLOEXEC) < 0)
        return rf_err_errno(err, "exec %s: pipe", argv[0]);
    pid_t pid = fork();
    if (pid < 0)
        return rf_err_errno(err, "exec %s: fork", argv[0]);
    if (pid == 0)
        child(argv, sv[1], po[1], pe[1], pr[1]);
    setpgid(pid, pid);
    close(sv[1]), close(po[1]), close(pe[1]), close(pr[1]);
    int e = 0;
    if (read(pr[0], &e, sizeof e) == (ssize_t)sizeof e) {
        close(pr[0]), close(sv[0]), close(po[0]), close(pe[0]);
        finish(pid, res, 0);
        errno = e;
        return rf_err_errno(err, "exec %s", argv[0]);
    }
    close(pr[0]);
    io s = {sv[0], po[0], pe[0], in, in_len, 0, 0};
    int64_t deadline = timeout_ms > 0 ? rf_mono_ms() + timeout_ms : 0;
    int rc = 0;
    while (s.out >= 0 || s.err >= 0) {
        if (deadline && rf_mono_ms() >= deadline) {
            res->timed_out = 1;
            break;
        }
        if (w && w->stop && w->stop(w->arg)) {
            res->stopped = 1;
            break;
        }
        if (pump(&s, out, res, 100) < 0) {
            rc = rf_errf(err, RF_ETOOBIG, "exec %s: stdout over %u bytes", argv[0],
                         RF_PROC_STDOUT_MAX);
            break;
        }
        if (new_lines(&s, out, w)) {
            res->stopped = 1;
            break;
        }
    }
    close_fd(s.in), close_fd(s.out), close_fd(s.err);
    finish(pid, res, res->timed_out || res->stopped || rc < 0);
    return rc;
}
