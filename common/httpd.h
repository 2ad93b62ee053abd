/*
 * The operations endpoint (--metrics-addr): GET /metrics (Prometheus text
 * format, from metrics.h), /healthz (the pipeline's loop is turning) and
 * /readyz (connected, and holding partitions or reaching the
 * subscription). Any other path is 404, any other method 405. It runs on
 * libmicrohttpd's own thread with bounded connections, time and memory,
 * so that a slow or hostile client never reaches the pipeline.
 *
 * A program may serve its own paths beside them on the same daemon
 * (event-gateway's POST /ingest): see ev_httpd_start_app.
 */
#ifndef EV_HTTPD_H
#define EV_HTTPD_H

#include <stddef.h>

#include <microhttpd.h>

#include "err.h"

struct ev_httpd;

/* What a program serves beside the operations paths, and the limits of
 * the daemon that serves both. */
struct ev_httpd_app {
        /* Called, with cls, for every request to a path other than
         * /metrics, /healthz and /readyz, as libmicrohttpd's access
         * handler; it may suspend the connection. */
        MHD_AccessHandlerCallback handler;
        /* NULL, or called with cls when any request ends (*con_cls is
         * NULL for the operations paths). */
        MHD_RequestCompletedCallback completed;
        void *cls;
        const char *setting; /* of the address, for errors:
                              * "GATEWAY_LISTEN/--listen" */
        unsigned threads;    /* serving connections, at least 1 */
        unsigned max_conns;  /* connections at once; more wait in the
                              * listen backlog */
        unsigned timeout_s;  /* of silence before a connection is closed */
};

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

/*
 * As ev_httpd_start, also serving app (borrowed for the call; app->cls
 * must outlive the endpoint) on app->threads threads, with app's limits
 * instead of the endpoint's own. Errors name app->setting.
 */
struct ev_httpd *ev_httpd_start_app(const char *addr, double alive_s,
                                    const struct ev_httpd_app *app,
                                    enum ev_err *err, char *errstr,
                                    size_t errstr_size);

/* The address it listens on, "HOST:PORT" with the real port, into buf. */
void ev_httpd_address(const struct ev_httpd *h, char *buf, size_t size);

/*
 * A new response of the len bytes at body with the headers every answer
 * carries: Content-Type type and Cache-Control: no-store. mode as
 * libmicrohttpd's; with MHD_RESPMEM_MUST_FREE body is consumed, on failure
 * too. NULL when out of memory. The caller queues and destroys it.
 */
struct MHD_Response *ev_httpd_response(const char *type, char *body, size_t len,
                                       enum MHD_ResponseMemoryMode mode);

/* Stops accepting connections; those open are served on until
 * ev_httpd_stop. */
void ev_httpd_quiesce(struct ev_httpd *h);

/* Stops the threads, closing every connection, and frees h (NULL is a
 * no-op). */
void ev_httpd_stop(struct ev_httpd *h);

#endif
