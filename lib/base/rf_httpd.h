/* rf_httpd: a small HTTP server for GET endpoints such as /metrics, on
 * libmicrohttpd (one internal thread, bounded connections and timeouts).
 *
 * The listening socket is bound here, so a port already in use is a clear
 * error ("metrics: cannot listen on 127.0.0.1:9478: Address already in
 * use") before anything else starts. Only GET and HEAD are served; other
 * methods get 405. The handler runs on the server's thread. */
#ifndef RF_HTTPD_H
#define RF_HTTPD_H

#include "base/rf_buf.h"
#include "base/rf_err.h"

typedef struct rf_httpd rf_httpd;

/* Fill body for path; return the HTTP status. *ctype defaults to
 * text/plain. */
typedef int (*rf_httpd_fn)(void *ctx, const char *path, rf_buf *body, const char **ctype);

/* addr is HOST:PORT, [V6]:PORT, :PORT (all interfaces) or PORT (all
 * interfaces); PORT 0 picks a free one (see rf_httpd_port). RF_EINVAL for a
 * malformed address, RF_ENET when it cannot be bound. */
int rf_httpd_start(const char *addr, rf_httpd_fn fn, void *ctx, rf_httpd **out, rf_err *err);
int rf_httpd_port(const rf_httpd *h);
void rf_httpd_stop(rf_httpd *h);

#endif
