/*
 * The operations endpoint (--metrics-addr): GET /metrics (Prometheus text
 * format, from metrics.h), /healthz (the pipeline's loop is turning) and
 * /readyz (connected, and holding partitions or reaching the
 * subscription). Any other path is 404, any other method 405. It runs on
 * libmicrohttpd's own thread with bounded connections, time and memory,
 * so that a slow or hostile client never reaches the pipeline.
 */
#ifndef EV_HTTPD_H
#define EV_HTTPD_H

#include <stddef.h>

#include "err.h"

struct ev_httpd;

/*
 * Listens on addr ("HOST:PORT"; HOST an IPv4 or IPv6 address or a name,
 * "[::1]:9100" for IPv6, PORT 0 for any free port). alive_s: how old the
 * pipeline's last beat may be for /healthz to answer 200. Returns NULL
 * with *err (EV_ERR_USAGE for a bad address, EV_ERR_IO when it cannot
 * listen) and errstr set.
 */
struct ev_httpd *ev_httpd_start(const char *addr, double alive_s,
                                enum ev_err *err, char *errstr,
                                size_t errstr_size);

/* The address it listens on, "HOST:PORT" with the real port, into buf. */
void ev_httpd_address(const struct ev_httpd *h, char *buf, size_t size);

/* Stops the thread and frees h (NULL is a no-op). */
void ev_httpd_stop(struct ev_httpd *h);

#endif
