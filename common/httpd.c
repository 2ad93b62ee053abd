/*
 * The operations endpoint on libmicrohttpd. Owns the daemon; every answer
 * of its own is built from metrics.h, which is safe to read from its
 * threads. A program's own paths are its handler's (ev_httpd_app).
 */
#include "httpd.h"

#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "metrics.h"
#include "signals.h"

/* What one client may take: connections at once (in all, and per
 * address), seconds of silence, and bytes of request. */
#define MAX_CONNECTIONS        32
#define MAX_CONNECTIONS_PER_IP 8
#define IDLE_TIMEOUT_S         5
#define REQUEST_MEMORY         (16 * 1024)
/* With an app: its request headers, and the read buffer its bodies pass
 * through (libmicrohttpd's default). */
#define APP_REQUEST_MEMORY (32 * 1024)

struct ev_httpd {
        struct MHD_Daemon *daemon;
        double alive_s;
        struct ev_httpd_app app; /* handler NULL: none */
        MHD_socket quiesced;     /* the listening socket ev_httpd_quiesce
                                  * took back, to close after the stop */
        char host[256];
};

struct MHD_Response *ev_httpd_response(const char *type, char *body, size_t len,
                                       enum MHD_ResponseMemoryMode mode)
{
        struct MHD_Response *resp;

        resp = MHD_create_response_from_buffer(len, body, mode);
        if (!resp) {
                if (mode == MHD_RESPMEM_MUST_FREE)
                        free(body);
                return NULL;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        /* Probes, scrapes and receipts want the state now, never a
         * cached one. */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-store");
        return resp;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status,
                              const char *type, char *body, size_t len,
                              enum MHD_ResponseMemoryMode mode)
{
        struct MHD_Response *resp;
        enum MHD_Result ret;

        resp = ev_httpd_response(type, body, len, mode);
        if (!resp)
                return MHD_NO;
        if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                        "GET, HEAD");
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result text(struct MHD_Connection *conn, unsigned status,
                            const char *body)
{
        return answer(conn, status, "text/plain; charset=utf-8", (char *)body,
                      strlen(body), MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
        struct ev_httpd *h = cls;
        size_t len;
        char *body;

        if (h->app.handler && strcmp(url, "/healthz") &&
            strcmp(url, "/readyz") && strcmp(url, "/metrics"))
                return h->app.handler(h->app.cls, conn, url, method, version,
                                      upload_data, upload_data_size, con_cls);
        /* Answered at once, before any request body is read. */
        if (strcmp(method, MHD_HTTP_METHOD_GET) &&
            strcmp(method, MHD_HTTP_METHOD_HEAD))
                return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                            "method not allowed\n");
        if (!strcmp(url, "/healthz"))
                return ev_health_alive(h->alive_s)
                           ? text(conn, MHD_HTTP_OK, "ok\n")
                           : text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                  "the poll loop is not turning\n");
        if (!strcmp(url, "/readyz"))
                return ev_health_ready()
                           ? text(conn, MHD_HTTP_OK, "ready\n")
                           : text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                  "not ready\n");
        if (!strcmp(url, "/metrics")) {
                body = ev_metrics_render(&len);
                if (!body)
                        return text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                    "out of memory\n");
                return answer(conn, MHD_HTTP_OK,
                              "text/plain; version=0.0.4; charset=utf-8", body,
                              len, MHD_RESPMEM_MUST_FREE);
        }
        return text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* Splits "HOST:PORT" or "[V6]:PORT" into host and port; false when it is
 * not that shape. */
static bool split_addr(const char *addr, char *host, size_t host_size,
                       const char **port)
{
        const char *colon;
        size_t n;

        if (addr[0] == '[') {
                const char *end = strchr(addr, ']');

                if (!end || end[1] != ':')
                        return false;
                n = (size_t)(end - addr - 1);
                colon = end + 1;
                addr++;
        } else {
                colon = strrchr(addr, ':');
                if (!colon)
                        return false;
                n = (size_t)(colon - addr);
        }
        if (n == 0 || n >= host_size || !colon[1])
                return false;
        memcpy(host, addr, n);
        host[n] = '\0';
        *port = colon + 1;
        return strspn(*port, "0123456789") == strlen(*port) &&
               strlen(*port) <= 5 && atoi(*port) <= 65535;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
        struct ev_httpd *h = cls;

        if (h->app.completed)
                h->app.completed(h->app.cls, conn, con_cls, toe);
}

struct ev_httpd *ev_httpd_start(const char *addr, double alive_s,
                                enum ev_err *err, char *errstr,
                                size_t errstr_size)
{
        return ev_httpd_start_app(addr, alive_s, NULL, err, errstr,
                                  errstr_size);
}

struct ev_httpd *ev_httpd_start_app(const char *addr, double alive_s,
                                    const struct ev_httpd_app *app,
                                    enum ev_err *err, char *errstr,
                                    size_t errstr_size)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        const char *setting =
            app ? app->setting : "METRICS_ADDR/--metrics-addr";
        struct addrinfo *ai = NULL;
        struct ev_httpd *h;
        const char *port;
        sigset_t old;
        int rc;

        h = calloc(1, sizeof(*h));
        if (!h) {
                *err = EV_ERR_NOMEM;
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        h->alive_s = alive_s;
        h->quiesced = MHD_INVALID_SOCKET;
        if (app)
                h->app = *app;
        if (!split_addr(addr, h->host, sizeof(h->host), &port)) {
                *err = EV_ERR_USAGE;
                snprintf(errstr, errstr_size,
                         "%s '%s': expected HOST:PORT, e.g. 0.0.0.0:9100",
                         setting, addr);
                goto err;
        }
        rc = getaddrinfo(h->host, port, &hints, &ai);
        if (rc) {
                *err = EV_ERR_USAGE;
                snprintf(errstr, errstr_size, "%s '%s': %s", setting, addr,
                         gai_strerror(rc));
                goto err;
        }
        /* Its threads inherit the mask: stop signals must reach the main
         * thread, whose waits they cut short. An app's requests are
         * bounded by its own limits, and no address is limited alone:
         * its clients may all come through one proxy. */
        ev_signals_block_stop(&old);
        h->daemon = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                (app ? MHD_ALLOW_SUSPEND_RESUME : 0) |
                (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
            0, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
            MHD_OPTION_THREAD_POOL_SIZE, app ? app->threads : 1U,
            MHD_OPTION_CONNECTION_LIMIT,
            app ? app->max_conns : (unsigned)MAX_CONNECTIONS,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            app ? 0U : (unsigned)MAX_CONNECTIONS_PER_IP,
            MHD_OPTION_CONNECTION_TIMEOUT,
            app ? app->timeout_s : (unsigned)IDLE_TIMEOUT_S,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)(app ? APP_REQUEST_MEMORY : REQUEST_MEMORY),
            MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_END);
        ev_signals_restore(&old);
        freeaddrinfo(ai);
        if (!h->daemon) {
                *err = EV_ERR_IO;
                snprintf(errstr, errstr_size,
                         "cannot listen on %s (address in use, or not "
                         "this host's?)",
                         addr);
                goto err;
        }
        *err = EV_OK;
        return h;
err:
        free(h);
        return NULL;
}

void ev_httpd_address(const struct ev_httpd *h, char *buf, size_t size)
{
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
        bool v6 = strchr(h->host, ':') != NULL;

        snprintf(buf, size, "%s%s%s:%u", v6 ? "[" : "", h->host, v6 ? "]" : "",
                 info ? (unsigned)info->port : 0);
}

void ev_httpd_quiesce(struct ev_httpd *h)
{
        if (h->quiesced != MHD_INVALID_SOCKET)
                return;
        h->quiesced = MHD_quiesce_daemon(h->daemon);
        /* Refused from now on, rather than left in the backlog to be
         * reset at the stop (Linux stops a listening socket so; the
         * descriptor stays open for the daemon's threads). */
        if (h->quiesced != MHD_INVALID_SOCKET)
                shutdown(h->quiesced, SHUT_RDWR);
}

void ev_httpd_stop(struct ev_httpd *h)
{
        if (!h)
                return;
        MHD_stop_daemon(h->daemon);
        /* Ours since the quiesce, but in use by the daemon's threads
         * until they stop. */
        if (h->quiesced != MHD_INVALID_SOCKET)
                close(h->quiesced);
        free(h);
}
