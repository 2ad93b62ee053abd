/*
 * The gateway's requests on libmicrohttpd's threads. Owns the relay, the
 * daemon (through httpd.c) and each request's state, from its headers to
 * its end; the rules are request.c's, the publishing the relay's.
 */
#include "server.h"

#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <microhttpd.h>

#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "ops.h"
#include "relay.h"
#include "request.h"
#include "signals.h"
#include "timefmt.h"

/* Threads serving connections: requests wait on the broker suspended,
 * not on a thread, so a few serve many. */
#define THREADS 4
/* Seconds of silence before a connection (kept alive, or a slow sender)
 * is closed. */
#define IDLE_TIMEOUT_S 30
/* How much of a chunked body past --max-body-bytes is read and dropped to
 * answer 413 at its end (libmicrohttpd 0.9 sends no answer while a body
 * comes in); a body larger still has its connection closed. */
#define DISCARD_MAX ((size_t)64 << 20)
/* How long the stop lets requests already on accepted connections come
 * in (they are answered as usual), and how long it then lets the last
 * answers go out before it closes every connection. */
#define GRACE_S   0.1
#define ANSWERS_S 2.0
/* Retry-After, in seconds: another instance takes over a stopping one at
 * once; a broker that did not confirm may need longer. */
#define RETRY_AFTER_STOPPING "1"
#define RETRY_AFTER_FAILED   "5"

struct ev_server {
        const struct ev_config *cfg;   /* borrowed */
        const struct ev_apikeys *keys; /* borrowed; NULL: none */
        struct ev_relay *relay;
        struct ev_httpd *httpd;
        atomic_uint open; /* requests between their first call and end */
};

/* One POST /ingest, from its headers to its end: libmicrohttpd's
 * con_cls. While submitted and not yet reported, the relay has it and its
 * connection is suspended. */
struct request {
        struct MHD_Connection *conn;
        double started;      /* monotonic, for the latency histogram */
        int64_t received_ms; /* the event's timestamp */
        enum ev_request_type type;
        const char *key_tenant; /* borrowed from the keys; NULL: none */
        char *body;
        size_t len, cap;
        size_t dropped; /* bytes past the limit, read and dropped */
        bool submitted; /* handed to the relay */
        struct ev_relay_job job;
        struct ev_request_event ev;
        /* The outcome: the relay's report, or why it was not published. */
        enum ev_request_error err;
        char detail[512];
        char message_id[EV_REQUEST_MESSAGE_ID_SIZE];
};

/* What one answer says, and what its log line needs. */
struct answer {
        enum ev_request_error err;
        const char *detail;                /* with err */
        const struct ev_request_event *ev; /* without: the 202's */
        const char *message_id;            /* without err */
        const char *tenant;                /* for the log; NULL: unknown */
        double started;
};

/* The client's address, for the log. */
static void client_of(struct MHD_Connection *conn, char *buf, size_t size)
{
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = info ? info->client_addr : NULL;

        if (!sa ||
            getnameinfo(sa,
                        sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                  : sizeof(struct sockaddr_in),
                        buf, (socklen_t)size, NULL, 0, NI_NUMERICHOST))
                snprintf(buf, size, "unknown");
}

/* One line per request not accepted: what and who, never the key; the
 * body's bytes only escaped, inside the detail. */
static void log_refusal(struct MHD_Connection *conn, const char *method,
                        const char *url, const struct answer *a)
{
        unsigned status = ev_request_status(a->err);
        struct ev_log_field f[7];
        char client[INET6_ADDRSTRLEN + 1];
        char code[8];
        size_t n = 0;

        client_of(conn, client, sizeof(client));
        snprintf(code, sizeof(code), "%u", status);
        f[n++] = (struct ev_log_field){"method", method, false};
        f[n++] = (struct ev_log_field){"path", url, false};
        f[n++] = (struct ev_log_field){"status", code, true};
        f[n++] = (struct ev_log_field){"error", ev_request_code(a->err), false};
        if (a->tenant)
                f[n++] = (struct ev_log_field){"tenant", a->tenant, false};
        f[n++] = (struct ev_log_field){"client", client, false};
        f[n++] = (struct ev_log_field){"detail", a->detail, false};
        ev_log_fields(status >= 500 ? EV_LOG_WARN : EV_LOG_INFO,
                      "request refused", f, n);
}

/* Counts an answer, and logs it unless it is a 202. */
static void account(struct MHD_Connection *conn, const char *method,
                    const char *url, const struct answer *a)
{
        ev_metrics_request(ev_request_status(a->err));
        ev_metrics_observe(EV_H_GATEWAY_SECONDS, ev_signals_now() - a->started);
        if (a->err)
                log_refusal(conn, method, url, a);
}

/* Queues the answer and accounts for it. */
static enum MHD_Result respond(struct MHD_Connection *conn, const char *method,
                               const char *url, const struct answer *a)
{
        unsigned status = ev_request_status(a->err);
        struct MHD_Response *resp;
        enum MHD_Result ret;
        size_t len = 0;
        char *body;

        body = a->err ? ev_request_error_body(a->err, a->detail, &len)
                      : ev_request_accepted_body(a->ev, a->message_id, &len);
        /* Out of memory: MHD_NO closes the connection, all we can do. */
        if (!body)
                return MHD_NO;
        resp = ev_httpd_response("application/json", body, len,
                                 MHD_RESPMEM_MUST_FREE);
        if (!resp)
                return MHD_NO;
        if (a->err == EV_REQUEST_METHOD)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
        if (a->err == EV_REQUEST_UNAUTHORIZED)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                        "Bearer realm=\"event-gateway\"");
        if (a->err == EV_REQUEST_PUBLISH_FAILED)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
                                        RETRY_AFTER_FAILED);
        if (a->err == EV_REQUEST_STOPPING) {
                MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
                                        RETRY_AFTER_STOPPING);
                /* Kept-alive clients go elsewhere for the next one. */
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
                                        "close");
        }
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        account(conn, method, url, a);
        return ret;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
        return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* The Content-Length the client declared, when it did. */
static bool declared_length(struct MHD_Connection *conn,
                            unsigned long long *len)
{
        const char *value = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
        char *end;

        if (!value || *value < '0' || *value > '9')
                return false;
        *len = strtoull(value, &end, 10);
        return !*end;
}

/* The first call, with the headers only: everything that needs no body is
 * answered now, before a byte of it is read. */
static enum MHD_Result begin(struct ev_server *s, struct MHD_Connection *conn,
                             const char *url, const char *method,
                             void **con_cls)
{
        size_t max = s->cfg->max_body_bytes, token_len;
        struct answer a = {.started = ev_signals_now()};
        enum ev_request_type type = EV_REQUEST_OTHER;
        const char *key_tenant = NULL, *token;
        unsigned long long declared = 0;
        struct request *rq;
        char detail[160];

        a.detail = detail;
        a.tenant = header(conn, "X-Tenant-ID");
        if (strcmp(url, "/ingest")) {
                a.err = EV_REQUEST_NOT_FOUND;
                snprintf(detail, sizeof(detail),
                         "no such path: events go to POST /ingest");
        } else if (strcmp(method, MHD_HTTP_METHOD_POST)) {
                a.err = EV_REQUEST_METHOD;
                snprintf(detail, sizeof(detail), "/ingest takes POST only");
        } else if (s->keys && !(ev_request_bearer(header(conn, "Authorization"),
                                                  &token, &token_len) &&
                                (key_tenant = ev_apikeys_tenant(s->keys, token,
                                                                token_len)))) {
                a.err = EV_REQUEST_UNAUTHORIZED;
                snprintf(detail, sizeof(detail),
                         "a known key is required: Authorization: Bearer "
                         "KEY");
        } else if ((type = ev_request_type(
                        header(conn, MHD_HTTP_HEADER_CONTENT_TYPE))) ==
                   EV_REQUEST_OTHER) {
                a.err = EV_REQUEST_MEDIA_TYPE;
                snprintf(detail, sizeof(detail),
                         "Content-Type must be application/json or "
                         "text/plain");
        } else if (declared_length(conn, &declared) && declared > max) {
                a.err = EV_REQUEST_TOO_LARGE;
                snprintf(detail, sizeof(detail),
                         "a body of %llu bytes is over the limit of %zu",
                         declared, max);
        }
        if (a.err)
                return respond(conn, method, url, &a);
        rq = calloc(1, sizeof(*rq));
        if (!rq)
                return MHD_NO;
        rq->conn = conn;
        rq->started = a.started;
        rq->received_ms = ev_timefmt_now_ms();
        rq->type = type;
        rq->key_tenant = key_tenant;
        /* A declared length is allocated once, up front. */
        if (declared) {
                rq->body = malloc(declared);
                rq->cap = rq->body ? declared : 0;
        }
        *con_cls = rq;
        atomic_fetch_add(&s->open, 1);
        return MHD_YES;
}

/* Appends n bytes of body; false when out of memory. The caller has
 * checked the limit. */
static bool append(struct request *rq, const char *data, size_t n)
{
        if (rq->len + n > rq->cap) {
                size_t cap = rq->cap ? rq->cap : 4096;
                char *grown;

                while (cap < rq->len + n)
                        cap *= 2;
                grown = realloc(rq->body, cap);
                if (!grown)
                        return false;
                rq->body = grown;
                rq->cap = cap;
        }
        memcpy(rq->body + rq->len, data, n);
        rq->len += n;
        return true;
}

/* The whole body is in: the event is built and handed to the relay, and
 * the connection waits, suspended, for the broker's word. */
static enum MHD_Result submit(struct ev_server *s, struct request *rq,
                              const char *url, const char *method)
{
        unsigned char random[EV_REQUEST_RANDOM_BYTES];
        const struct ev_request req = {
            .type = rq->type,
            .body = rq->body,
            .len = rq->len,
            .tenant_header = header(rq->conn, "X-Tenant-ID"),
            .log_id_header = header(rq->conn, "X-Log-ID"),
            .key_tenant = rq->key_tenant,
            .received_ms = rq->received_ms,
            .random = random,
            /* The consumer's default limit, or a larger one the operator
             * chose for bodies (and must give the consumer too). */
            .max_bytes = s->cfg->max_body_bytes > EV_DEFAULT_MAX_PAYLOAD_BYTES
                             ? s->cfg->max_body_bytes
                             : EV_DEFAULT_MAX_PAYLOAD_BYTES,
        };
        enum ev_err err;

        if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random)) {
                rq->err = EV_REQUEST_INTERNAL;
                snprintf(rq->detail, sizeof(rq->detail),
                         "no random bytes for a log id");
        } else {
                rq->err = ev_request_build(&req, &rq->ev, rq->detail,
                                           sizeof(rq->detail));
        }
        free(rq->body);
        rq->body = NULL;
        if (rq->err)
                return respond(
                    rq->conn, method, url,
                    &(struct answer){.err = rq->err,
                                     .detail = rq->detail,
                                     .tenant = rq->ev.tenant_id[0]
                                                   ? rq->ev.tenant_id
                                                   : req.tenant_header,
                                     .started = rq->started});
        rq->job.msg = (struct ev_out_msg){
            .payload = rq->ev.payload,
            .len = rq->ev.payload_len,
            /* One tenant's events stay in order: one partition, one
             * Pub/Sub ordering key (with --ordering). */
            .key = rq->ev.tenant_id,
            .key_len = strlen(rq->ev.tenant_id),
            .opaque = rq,
        };
        rq->submitted = true;
        /* Suspended first: the report may come before submit returns. */
        MHD_suspend_connection(rq->conn);
        err = ev_relay_submit(s->relay, &rq->job);
        if (err) {
                rq->err = EV_REQUEST_STOPPING;
                snprintf(rq->detail, sizeof(rq->detail), "%s",
                         err == EV_ERR_FATAL
                             ? "the broker client has failed; retry"
                             : "shutting down; retry");
                MHD_resume_connection(rq->conn);
        }
        return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
        struct ev_server *s = cls;
        struct request *rq = *con_cls;
        size_t n = *upload_data_size;

        (void)version;
        if (!rq)
                return begin(s, conn, url, method, con_cls);
        if (n) {
                *upload_data_size = 0;
                if (!rq->dropped && n <= s->cfg->max_body_bytes - rq->len)
                        return append(rq, upload_data, n) ? MHD_YES : MHD_NO;
                /* A body without a length (chunked) that grows over the
                 * limit: what it has is dropped and the rest read and
                 * dropped too, up to a bound, to answer 413 at its end. A
                 * declared length over the limit got its 413 before any of
                 * the body was read. */
                free(rq->body);
                rq->body = NULL;
                rq->len = rq->cap = 0;
                rq->dropped += n;
                if (rq->dropped <= DISCARD_MAX)
                        return MHD_YES;
                account(conn, method, url,
                        &(struct answer){
                            .err = EV_REQUEST_TOO_LARGE,
                            .detail = "the body is over the limit, and "
                                      "64 MiB past it: connection closed",
                            .tenant = header(conn, "X-Tenant-ID"),
                            .started = rq->started});
                return MHD_NO;
        }
        if (rq->dropped) {
                char detail[160];

                snprintf(detail, sizeof(detail),
                         "the body is over the limit of %zu bytes",
                         s->cfg->max_body_bytes);
                return respond(
                    conn, method, url,
                    &(struct answer){.err = EV_REQUEST_TOO_LARGE,
                                     .detail = detail,
                                     .tenant = header(conn, "X-Tenant-ID"),
                                     .started = rq->started});
        }
        if (!rq->submitted)
                return submit(s, rq, url, method);
        /* Resumed: the relay has reported. */
        return respond(conn, method, url,
                       &(struct answer){.err = rq->err,
                                        .detail = rq->detail,
                                        .ev = &rq->ev,
                                        .message_id = rq->message_id,
                                        .tenant = rq->ev.tenant_id,
                                        .started = rq->started});
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
        struct ev_server *s = cls;
        struct request *rq = *con_cls;

        (void)conn;
        (void)toe;
        if (!rq)
                return;
        *con_cls = NULL;
        free(rq->body);
        free(rq->ev.payload);
        free(rq);
        atomic_fetch_sub(&s->open, 1);
}

/* The relay's reports, on its thread. */
static void on_delivery(void *opaque, const struct ev_delivery *dr)
{
        struct ev_server *s = opaque;
        struct request *rq = dr->msg_opaque;

        if (!dr->ok) {
                rq->err = EV_REQUEST_PUBLISH_FAILED;
                snprintf(rq->detail, sizeof(rq->detail),
                         "the broker did not confirm the event: %s", dr->error);
        } else if (!ev_request_message_id(dr->where, s->cfg->topic,
                                          rq->message_id,
                                          sizeof(rq->message_id))) {
                /* Not a form the transports write: their own words. */
                snprintf(rq->message_id, sizeof(rq->message_id), "%s",
                         dr->where);
        }
        /* The last touch: from here on the request is its connection's
         * again, and may be gone. */
        MHD_resume_connection(rq->conn);
}

struct ev_server *ev_server_start(const struct ev_config *cfg,
                                  const struct ev_apikeys *keys,
                                  enum ev_err *err, char *errstr,
                                  size_t errstr_size)
{
        struct ev_server *s = calloc(1, sizeof(*s));
        struct ev_httpd_app app = {
            .handler = handle,
            .completed = completed,
            .cls = s,
            .setting = "GATEWAY_LISTEN/--listen",
            .threads = THREADS,
            .max_conns =
                cfg->max_conns < UINT_MAX ? (unsigned)cfg->max_conns : UINT_MAX,
            .timeout_s = IDLE_TIMEOUT_S,
        };

        if (!s) {
                *err = EV_ERR_NOMEM;
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        s->cfg = cfg;
        s->keys = keys;
        /* The broker first: a bad setting fails before the port is
         * taken. */
        s->relay =
            ev_relay_start(cfg, on_delivery, s, err, errstr, errstr_size);
        if (!s->relay)
                goto err;
        /* The longest wait that does not beat is one publish. */
        s->httpd = ev_httpd_start_app(cfg->listen,
                                      EV_OPS_ALIVE_S + cfg->publish_timeout,
                                      &app, err, errstr, errstr_size);
        if (!s->httpd)
                goto err;
        ev_health_set_serving(true);
        return s;
err:
        ev_relay_destroy(s->relay);
        free(s);
        return NULL;
}

void ev_server_address(const struct ev_server *s, char *buf, size_t size)
{
        ev_httpd_address(s->httpd, buf, size);
}

enum ev_err ev_server_status(struct ev_server *s, char *errstr,
                             size_t errstr_size)
{
        return ev_relay_status(s->relay, errstr, errstr_size);
}

size_t ev_server_stop(struct ev_server *s)
{
        double until;
        size_t failed;

        if (!s)
                return 0;
        ev_health_set_serving(false);
        ev_httpd_quiesce(s->httpd);
        nanosleep(&(struct timespec){0, (long)(GRACE_S * 1e9)}, NULL);
        failed = ev_relay_stop(s->relay, s->cfg->publish_timeout,
                               s->cfg->flush_timeout);
        /* Every request is resumed now; the daemon's threads send the
         * answers. */
        until = ev_signals_now() + ANSWERS_S;
        while (atomic_load(&s->open) && ev_signals_now() < until)
                nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        ev_httpd_stop(s->httpd);
        ev_relay_destroy(s->relay);
        free(s);
        return failed;
}
