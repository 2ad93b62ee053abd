/*
 * One call to a Google REST API, shared by the Pub/Sub transport and the
 * firestore sink: the Authorization header, the request on a kept-alive
 * handle, and its retries while it fails for a passing reason, with
 * capped, jittered exponential backoff. Part of the Google family (uses
 * http.h, so includes curl.h).
 */
#ifndef EV_GAPI_H
#define EV_GAPI_H

#include <stddef.h>

#include "err.h"
#include "http.h"

/* Room for an Authorization value ("Bearer " and a token). */
#define EV_GAPI_AUTH_SIZE 4096

struct ev_gauth;

/* How its user calls an API. Filled in by the user, which owns it; the
 * functions below only read it. */
struct ev_gapi {
        struct ev_gauth *ga;    /* borrowed; NULL: no token */
        const char *fixed_auth; /* with ga NULL: the Authorization value
                                 * sent ("Bearer owner"), or NULL for none */
        const char *service;    /* "pubsub", "firestore": in log lines */
        double timeout_s;       /* of each request */
        double retry_budget;    /* s one call is retried */
        /* EV_OK, EV_ERR_TRANSIENT or EV_ERR_PERMANENT for a request that
         * ended with transport_err (what ev_http_finish returned) and, when
         * that is EV_OK, an answer of status with body[0..len). */
        enum ev_err (*classify)(enum ev_err transport_err, long status,
                                const char *body, size_t len);
};

/* Writes the Authorization value into auth (EV_GAPI_AUTH_SIZE bytes): a
 * token from g->ga, else g->fixed_auth, else "". Errors as
 * ev_gauth_authorization. */
enum ev_err ev_gapi_authorize(const struct ev_gapi *g, char *auth, char *errstr,
                              size_t errstr_size);

/*
 * One API call on easy (from ev_http_easy_new), its answer in resp, named
 * what in messages; retried while g->classify calls it transient (and
 * while the token endpoint fails so) for up to g->retry_budget, each retry
 * logged as a warning. A stop request ends the retries. EV_OK: resp holds
 * the answer classify accepted. EV_ERR_PERMANENT: resp holds the refusal
 * (the caller may look at its status), errstr says what it was (the
 * service's error status and message, escaped and bounded).
 * EV_ERR_TRANSIENT: the time ran out, or a stop was requested. body (len
 * bytes, may be NULL) is borrowed.
 */
enum ev_err ev_gapi_call(const struct ev_gapi *g, CURL *easy,
                         struct ev_http_resp *resp, const char *what,
                         const char *method, const char *url, const char *body,
                         size_t len, char *errstr, size_t errstr_size);

/* Sleeps s seconds, or less when a signal arrives. */
void ev_gapi_sleep(double s);

/* Uniform in [0, 1), for backoff jitter. */
double ev_gapi_jitter(void);

#endif
