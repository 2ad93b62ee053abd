/*
 * Internal to the Pub/Sub transport (pubsub_source.c, pubsub_publisher.c):
 * the API's URLs and credentials, one request with its retries, and
 * --create. Not part of the transport's contract; that is pubsub.h.
 */
#ifndef EV_PUBSUB_CLIENT_H
#define EV_PUBSUB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "gapi.h"
#include "http.h"

#define EV_PUBSUB_URL_SIZE 1024

/* What the source and the publisher share: where the API is, how to
 * authenticate, and the names they work on. Embedded in its user. */
struct ev_pubsub_client {
        const struct ev_config *cfg; /* borrowed */
        /* How calls are made: its ga (NULL with the emulator) is owned
         * here; retry_budget, 60 s from init, may be lowered. */
        struct ev_gapi api;
        char topic_url[EV_PUBSUB_URL_SIZE];
        char sub_url[EV_PUBSUB_URL_SIZE];
        char topic_path[EV_PUBSUB_URL_SIZE]; /* "projects/P/topics/T" */
};

/* One easy handle and its answer buffer: a connection that is kept alive
 * from request to request. Used by one thread at a time. */
struct ev_pubsub_conn {
        CURL *easy;
        struct ev_http_resp resp;
};

/* Checks cfg's project, ids and endpoint (EV_ERR_USAGE), builds the URLs,
 * and finds the credentials unless cfg->emulator_host is set (EV_ERR_CONFIG
 * for a bad file). Makes no request. c must be released with
 * ev_pubsub_client_free on every return. */
enum ev_err ev_pubsub_client_init(struct ev_pubsub_client *c,
                                  const struct ev_config *cfg, char *errstr,
                                  size_t errstr_size);
void ev_pubsub_client_free(struct ev_pubsub_client *c);

/* With cfg->create, creates the topic and the subscription (an existing
 * one is fine); then checks that the subscription (subscription true) or
 * the topic exists: a missing one, or any refusal, is EV_ERR_FATAL with
 * the API's message. */
enum ev_err ev_pubsub_client_ready(struct ev_pubsub_client *c,
                                   struct ev_pubsub_conn *cn, bool subscription,
                                   char *errstr, size_t errstr_size);

/* A new connection (EV_ERR_NOMEM), and its release (safe on a zeroed
 * one). */
enum ev_err ev_pubsub_conn_init(struct ev_pubsub_conn *cn, char *errstr,
                                size_t errstr_size);
void ev_pubsub_conn_free(struct ev_pubsub_conn *cn);

/*
 * One API call on cn, named what in messages, retried (ev_gapi_call) while
 * it fails transiently (no answer, 408, 429, 499, 5xx, a token endpoint
 * that does) for up to c->api.retry_budget. EV_OK:
 * cn->resp holds a 2xx answer. EV_ERR_PERMANENT: cn->resp holds the refusal
 * (the caller may look at its status), errstr says what it was.
 * EV_ERR_TRANSIENT: the time ran out. body (len bytes, may be NULL) is
 * borrowed.
 */
enum ev_err ev_pubsub_call(struct ev_pubsub_client *c,
                           struct ev_pubsub_conn *cn, const char *what,
                           const char *method, const char *url,
                           const char *body, size_t len, char *errstr,
                           size_t errstr_size);

#endif
