/* rf_fakesrv: a canned-response HTTP server on loopback for unit tests of
 * the S3 client (answers s3rver cannot give: GLACIER objects, x-amz-restore,
 * chosen error statuses). Serves script[i] to the i-th request, over any
 * number of connections, and keeps every request it read for the test to
 * check. Header-only like rf_test.h: each test is its own binary and links
 * nothing but libruvflow. Include after <cmocka.h>'s prerequisites. */
#ifndef RF_FAKESRV_H
#define RF_FAKESRV_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/rf_buf.h"

typedef struct rf_canned {
    int status;
    const char *headers; /* extra header lines, each ending in \r\n */
    const char *body;
} rf_canned;

#define RF_FAKESRV_MAXREQ 16

typedef struct rf_fakesrv {
    int lfd, port;
    pthread_t th;
    const rf_canned *script;
    size_t nscript, served;
    rf_buf requests[RF_FAKESRV_MAXREQ]; /* each: request line, headers, blank line, body */
} rf_fakesrv;

/* One whole request (headers and Content-Length bytes of body) into req. */
static inline int rf_fakesrv_read(int fd, rf_buf *req)
{
    char buf[4096];
    size_t hdr_end = 0, need = 0;
    rf_buf_add(req, "", 0);
    for (;;) {
        if (!hdr_end) {
            char *e = strstr(req->data, "\r\n\r\n");
            if (e) {
                hdr_end = (size_t)(e - req->data) + 4;
                char *cl = strcasestr(req->data, "\r\ncontent-length:");
                need = hdr_end + (cl && cl < e ? strtoul(cl + 17, NULL, 10) : 0);
            }
        }
        if (hdr_end && req->len >= need)
            return 0;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return -1;
        rf_buf_add(req, buf, (size_t)n);
    }
}

static inline void *rf_fakesrv_main(void *arg)
{
    rf_fakesrv *f = arg;
    while (f->served < f->nscript) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            break;
        while (f->served < f->nscript) {
            rf_buf *req = &f->requests[f->served];
            if (rf_fakesrv_read(fd, req) < 0)
                break;
            const rf_canned *c = &f->script[f->served++];
            rf_buf out = RF_BUF_INIT;
            size_t blen = c->body ? strlen(c->body) : 0;
            rf_buf_addf(&out, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", c->status, blen,
                        c->headers ? c->headers : "");
            if (strncmp(req->data, "HEAD ", 5) && blen)
                rf_buf_adds(&out, c->body);
            ssize_t w = write(fd, out.data, out.len);
            (void)w;
            rf_buf_free(&out);
        }
        close(fd);
    }
    return NULL;
}

/* Listen on a free loopback port (f->port) and serve script[0..n-1];
 * 0, or -1 if the socket could not be set up. */
static inline int rf_fakesrv_start(rf_fakesrv *f, const rf_canned *script, size_t n)
{
    memset(f, 0, sizeof *f);
    if (n > RF_FAKESRV_MAXREQ)
        return -1;
    f->script = script;
    f->nscript = n;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(f->lfd, 4) != 0 || getsockname(f->lfd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    f->port = ntohs(a.sin_port);
    return pthread_create(&f->th, NULL, rf_fakesrv_main, f) == 0 ? 0 : -1;
}

/* Stop accepting and wait for the server thread; requests stay readable. */
static inline void rf_fakesrv_stop(rf_fakesrv *f)
{
    shutdown(f->lfd, SHUT_RDWR);
    close(f->lfd);
    pthread_join(f->th, NULL);
}

static inline void rf_fakesrv_free(rf_fakesrv *f)
{
    for (size_t i = 0; i < RF_FAKESRV_MAXREQ; i++)
        rf_buf_free(&f->requests[i]);
}

#endif
