/* rf_httpd: GET endpoints on libmicrohttpd; see rf_httpd.h. */
#include "base/rf_httpd.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct rf_httpd {
    struct MHD_Daemon *d;
    rf_httpd_fn fn;
    void *ctx;
    int fd, port;
};

/* HOST:PORT -> host (may be empty = any) and port text. */
static int split_addr(const char *addr, char *host, size_t hn, char *port, size_t pn,
                      rf_err *err)
{
    const char *colon = NULL;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end || end[1] != ':')
            return rf_errf(err, RF_EINVAL, "bad address \"%s\" (want [V6]:PORT)", addr);
        snprintf(host, hn, "%.*s", (int)(end - addr - 1), addr + 1);
        colon = end + 1;
    } else if ((colon = strrchr(addr, ':'))) {
        snprintf(host, hn, "%.*s", (int)(colon - addr), addr);
    } else {
        host[0] = '\0';
    }
    const char *p = colon ? colon + 1 : addr;
    char *e;
    long v = strtol(p, &e, 10);
    if (!*p || *e || v < 0 || v > 65535)
        return rf_errf(err, RF_EINVAL, "bad address \"%s\" (want HOST:PORT, port 0..65535)",
                       addr);
    snprintf(port, pn, "%ld", v);
    return 0;
}

static int bind_listen(const char *addr, int *fd_out, int *port_out, rf_err *err)
{
    char host[256], port[16];
    if (split_addr(addr, host, sizeof host, port, sizeof port, err) != 0)
        return -1;
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (gai != 0)
        return rf_errf(err, RF_EINVAL, "cannot listen on %s: %s", addr, gai_strerror(gai));
    int fd = -1, saved = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 32) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return rf_errf(err, RF_ENET, "cannot listen on %s: %s", addr, strerror(saved));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *ctype,
                             rf_buf *body)
{
    size_t n = body->len;
    char *p = rf_buf_detach(body, &n);
    struct MHD_Response *r = MHD_create_response_from_buffer(n, p, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(p);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **state)
{
    rf_httpd *h = cls;
    (void)version, (void)upload, (void)upload_size, (void)state;
    rf_buf body = {0};
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        rf_buf_adds(&body, "method not allowed\n");
        return reply(c, 405, "text/plain", &body);
    }
    const char *ctype = "text/plain";
    int status = h->fn(h->ctx, url, &body, &ctype);
    return reply(c, status, ctype, &body);
}

int rf_httpd_start(const char *addr, rf_httpd_fn fn, void *ctx, rf_httpd **out, rf_err *err)
{
    *out = NULL;
    rf_httpd *h = rf_xcalloc(1, sizeof *h);
    h->fn = fn;
    h->ctx = ctx;
    if (bind_listen(addr, &h->fd, &h->port, err) != 0) {
        free(h);
        return -1;
    }
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, h,
                            MHD_OPTION_LISTEN_SOCKET, h->fd, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)32, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                            MHD_OPTION_END);
    if (!h->d) {
        close(h->fd);
        free(h);
        return rf_errf(err, RF_EIO, "cannot start the HTTP server on %s", addr);
    }
    *out = h;
    return 0;
}

int rf_httpd_port(const rf_httpd *h)
{
    return h->port;
}

void rf_httpd_stop(rf_httpd *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d); /* closes the listening socket it was given */
    free(h);
}
