/*
 * The HTTP layer the Google transports share (pubsub.c, gauth.c): one
 * request on a caller-owned libcurl easy handle, reused from call to call
 * so that its connection is kept alive, with a timeout on every request
 * and a bounded response body. Part of the Pub/Sub and Google-auth family:
 * the only headers besides theirs that include curl.h.
 *
 * Secrets: an Authorization header is sent, never logged, and never appears
 * in errstr. libcurl's own verbose output stays off.
 */
#ifndef EV_HTTP_H
#define EV_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "err.h"

/* Responses larger than this are cut off and reported as an error: a
 * Pub/Sub answer is at most tens of MB (1,000 messages of 10 MB are
 * refused by the service before that). */
#define EV_HTTP_MAX_BODY ((size_t)256 << 20)

struct ev_http_req {
        const char *method;        /* "GET", "POST", "PUT", "DELETE" */
        const char *url;           /* borrowed */
        const char *authorization; /* "Bearer TOKEN", or NULL for none */
        const char *content_type;  /* NULL: application/json when there is
                                    * a body */
        const char *body;          /* NULL: no body; borrowed, must outlive
                                    * the transfer */
        size_t body_len;
        const char *extra_header; /* one "Name: value", or NULL (the
                                   * metadata server's Metadata-Flavor) */
        double timeout_s;         /* whole request, connect included; > 0 */
};

/* One answer. body is owned by the response, always NUL-terminated (also
 * when empty), and kept across ev_http_resp_reset so that its buffer is
 * reused. */
struct ev_http_resp {
        long status; /* HTTP status; 0 when no answer arrived */
        char *body;
        size_t len;
        size_t cap;
        bool too_large; /* the body passed EV_HTTP_MAX_BODY and was cut */
};

/* One-time process setup (curl_global_init); call from main() before any
 * other function here, before threads start. */
enum ev_err ev_http_global_init(char *errstr, size_t errstr_size);

/* A new easy handle with our defaults (keep-alive, TCP keep-alive, no
 * signals, redirects not followed, a user agent naming event-ingest).
 * NULL when out of memory. Free it with curl_easy_cleanup. */
CURL *ev_http_easy_new(void);

/*
 * Prepares easy (from ev_http_easy_new) for req, writing the answer into
 * resp, which is reset first. The caller then runs the transfer itself
 * (curl_multi_add_handle) and, when it is done, calls ev_http_finish.
 * *headers is set to a list the caller frees with ev_http_headers_free
 * after the transfer. Returns EV_ERR_NOMEM or EV_OK.
 */
enum ev_err ev_http_prepare(CURL *easy, const struct ev_http_req *req,
                            struct ev_http_resp *resp,
                            struct curl_slist **headers, char *errstr,
                            size_t errstr_size);

/*
 * Completes a transfer that ended with cc: sets resp->status. Returns EV_OK
 * when an HTTP answer arrived (any status: the caller classifies it), or
 * EV_ERR_TRANSIENT with errstr naming the URL's host and the curl error
 * (connection refused, timeout, reset) when none did, or when the body was
 * too large (EV_ERR_PERMANENT).
 */
enum ev_err ev_http_finish(CURL *easy, CURLcode cc,
                           const struct ev_http_req *req,
                           struct ev_http_resp *resp, char *errstr,
                           size_t errstr_size);

/* Frees a header list from ev_http_prepare after zeroing its lines, one of
 * which may hold a bearer token. NULL is a no-op. */
void ev_http_headers_free(struct curl_slist *headers);

/* ev_http_prepare, curl_easy_perform and ev_http_finish in one call, for
 * requests made one at a time. */
enum ev_err ev_http_perform(CURL *easy, const struct ev_http_req *req,
                            struct ev_http_resp *resp, char *errstr,
                            size_t errstr_size);

/* Empties resp for the next request, keeping its buffer. */
void ev_http_resp_reset(struct ev_http_resp *resp);

/* Frees resp's buffer. Safe on a zeroed resp. */
void ev_http_resp_free(struct ev_http_resp *resp);

#endif
