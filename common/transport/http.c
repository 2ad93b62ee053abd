/*
 * One HTTP request at a time on a caller-owned libcurl easy handle: our
 * handle defaults, the request's method, headers and timeout, and the
 * bounded response body buffer. Owns neither the handle nor the header
 * list after ev_http_prepare returns; knows nothing of Pub/Sub or OAuth.
 */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first body buffer; most answers (tokens, acks, errors) fit in it. */
#define RESP_INITIAL_CAP 4096

/* memset through a volatile pointer, so that wiping a secret just before
 * free() is not optimised away as a dead store. */
static void *(*const volatile wipe)(void *, int, size_t) = memset;

/* A day: longer than any request should take, and within a 32-bit long. */
#define TIMEOUT_MAX_MS 86400000L

/* How much of a URL's scheme and host an errstr quotes. */
#define ORIGIN_MAX 200

enum ev_err ev_http_global_init(char *errstr, size_t errstr_size)
{
        CURLcode cc;

        cc = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (cc != CURLE_OK) {
                snprintf(errstr, errstr_size, "curl_global_init: %s",
                         curl_easy_strerror(cc));
                return cc == CURLE_OUT_OF_MEMORY ? EV_ERR_NOMEM : EV_ERR_FATAL;
        }
        return EV_OK;
}

CURL *ev_http_easy_new(void)
{
        CURL *easy;

        easy = curl_easy_init();
        if (!easy)
                return NULL;
        /* Signals would interrupt other threads' system calls and the
         * resolver's alarm() is not thread-safe. */
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        /* Idle pooled connections behind NATs and load balancers are
         * dropped silently after a few minutes without this. */
        curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 60L);
        curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 30L);
        /* A redirect would carry the Authorization header to wherever the
         * Location points; Google's APIs never redirect. */
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS,
                         (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        curl_easy_setopt(easy, CURLOPT_USERAGENT, "event-ingest/" EV_VERSION);
        /* Pulled-message batches compress well; "" offers every encoding
         * this libcurl decodes. The size bound applies after decoding. */
        curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(easy, CURLOPT_VERBOSE, 0L);
        return easy;
}

void ev_http_resp_reset(struct ev_http_resp *resp)
{
        resp->status = 0;
        resp->len = 0;
        resp->too_large = false;
        if (resp->body)
                resp->body[0] = '\0';
}

void ev_http_resp_free(struct ev_http_resp *resp)
{
        free(resp->body);
        resp->body = NULL;
        resp->len = 0;
        resp->cap = 0;
        resp->status = 0;
        resp->too_large = false;
}

/* Makes room for need more bytes plus the NUL. False when out of memory;
 * the caller has checked need against EV_HTTP_MAX_BODY already. */
static bool resp_reserve(struct ev_http_resp *resp, size_t need)
{
        size_t want = resp->len + need + 1;
        size_t cap;
        char *body;

        if (want <= resp->cap)
                return true;
        cap = resp->cap ? resp->cap : RESP_INITIAL_CAP;
        while (cap < want)
                cap *= 2;
        if (cap > EV_HTTP_MAX_BODY + 1)
                cap = EV_HTTP_MAX_BODY + 1;
        body = realloc(resp->body, cap);
        if (!body)
                return false;
        resp->body = body;
        resp->cap = cap;
        return true;
}

/* Returning less than n makes libcurl abort the transfer with
 * CURLE_WRITE_ERROR, which ev_http_finish turns into too_large's error. */
static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct ev_http_resp *resp = userdata;
        size_t n = size * nmemb;

        if (n > EV_HTTP_MAX_BODY - resp->len) {
                resp->too_large = true;
                return 0;
        }
        if (!resp_reserve(resp, n))
                return 0;
        memcpy(resp->body + resp->len, data, n);
        resp->len += n;
        resp->body[resp->len] = '\0';
        return n;
}

/* Appends "name: value" (or line when value is NULL) to *headers. */
static bool add_header(struct curl_slist **headers, const char *name,
                       const char *value)
{
        struct curl_slist *list;
        size_t len;
        char *line;

        len = strlen(name) + 2 + strlen(value) + 1;
        line = malloc(len);
        if (!line)
                return false;
        snprintf(line, len, "%s: %s", name, value);
        list = curl_slist_append(*headers, line);
        /* The line may hold a bearer token; curl_slist_append has copied
         * it. */
        wipe(line, 0, len);
        free(line);
        if (!list)
                return false;
        *headers = list;
        return true;
}

static bool build_headers(const struct ev_http_req *req,
                          struct curl_slist **headers)
{
        struct curl_slist *list;
        const char *type = req->content_type;

        if (!type && req->body)
                type = "application/json";
        if (type && !add_header(headers, "Content-Type", type))
                return false;
        /* Without a body, libcurl would still label a POST as a form. */
        if (!type) {
                list = curl_slist_append(*headers, "Content-Type:");
                if (!list)
                        return false;
                *headers = list;
        }
        if (req->authorization &&
            !add_header(headers, "Authorization", req->authorization))
                return false;
        if (req->extra_header) {
                list = curl_slist_append(*headers, req->extra_header);
                if (!list)
                        return false;
                *headers = list;
        }
        /* libcurl waits up to a second for "100 Continue" before sending a
         * body over 1 MB; Google's front ends do not need the pause. */
        list = curl_slist_append(*headers, "Expect:");
        if (!list)
                return false;
        *headers = list;
        return true;
}

/* Every option a previous request on the same handle may have set is set
 * again here, so that nothing leaks from one request into the next. */
static void set_method(CURL *easy, const struct ev_http_req *req)
{
        const char *method = req->method ? req->method : "GET";
        bool has_body = req->body || !strcmp(method, "POST") ||
                        !strcmp(method, "PUT") || !strcmp(method, "PATCH");

        curl_easy_setopt(easy, CURLOPT_NOBODY, 0L);
        if (has_body) {
                /* "" rather than NULL: a POST without a body must still
                 * send Content-Length: 0, or some front ends answer 411. */
                curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                                 (curl_off_t)(req->body ? req->body_len : 0));
                curl_easy_setopt(easy, CURLOPT_POSTFIELDS,
                                 req->body ? req->body : "");
        } else {
                /* Setting CURLOPT_POSTFIELDS switches to POST, so clear it
                 * before asking for GET. */
                curl_easy_setopt(easy, CURLOPT_POSTFIELDS, NULL);
                curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                                 (curl_off_t)-1);
                curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
        }
        if (!strcmp(method, "HEAD"))
                curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        if (!strcmp(method, "GET") || !strcmp(method, "POST") ||
            !strcmp(method, "HEAD"))
                curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, NULL);
        else
                curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
}

enum ev_err ev_http_prepare(CURL *easy, const struct ev_http_req *req,
                            struct ev_http_resp *resp,
                            struct curl_slist **headers, char *errstr,
                            size_t errstr_size)
{
        long timeout_ms;

        *headers = NULL;
        ev_http_resp_reset(resp);
        /* The header promises a NUL-terminated body even when the answer
         * is empty, so the buffer exists before the transfer. */
        if (!resp_reserve(resp, 0))
                goto nomem;
        resp->body[0] = '\0';
        if (!build_headers(req, headers))
                goto nomem;

        /* Clamped before the conversion: a double out of long's range
         * would be undefined behaviour, and NaN fails both tests. */
        timeout_ms = 1;
        if (req->timeout_s * 1000.0 > 1.0)
                timeout_ms = req->timeout_s * 1000.0 < TIMEOUT_MAX_MS
                                 ? (long)(req->timeout_s * 1000.0)
                                 : TIMEOUT_MAX_MS;
        curl_easy_setopt(easy, CURLOPT_URL, req->url);
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, *headers);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, resp);
        set_method(easy, req);
        return EV_OK;

nomem:
        ev_http_headers_free(*headers);
        *headers = NULL;
        snprintf(errstr, errstr_size, "out of memory preparing a request");
        return EV_ERR_NOMEM;
}

/* Writes the URL's "scheme://host[:port]" into buf: never the path or
 * query, and never the user:password before an '@'. */
static void url_origin(const char *url, char *buf, size_t size)
{
        const char *start, *end, *at;
        const char *sep;

        if (!url) {
                snprintf(buf, size, "(no URL)");
                return;
        }
        sep = strstr(url, "://");
        start = sep ? sep + 3 : url;
        end = start + strcspn(start, "/?#");
        at = memchr(start, '@', (size_t)(end - start));
        while (at) {
                start = at + 1;
                at = memchr(start, '@', (size_t)(end - start));
        }
        if (sep)
                snprintf(buf, size, "%.*s://%.*s", (int)(sep - url), url,
                         (int)(end - start), start);
        else
                snprintf(buf, size, "%.*s", (int)(end - start), start);
}

/* ev_http_finish, with the text of CURLOPT_ERRORBUFFER when the caller set
 * one for this transfer (errbuf, NULL otherwise). */
static enum ev_err finish(CURL *easy, CURLcode cc,
                          const struct ev_http_req *req,
                          struct ev_http_resp *resp, const char *errbuf,
                          char *errstr, size_t errstr_size)
{
        char origin[ORIGIN_MAX];
        const char *method = req->method ? req->method : "GET";
        long status = 0;
        long os_errno = 0;

        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        url_origin(req->url, origin, sizeof(origin));
        if (resp->too_large) {
                resp->status = status;
                snprintf(errstr, errstr_size,
                         "%s %s: HTTP %ld: response body larger than %zu "
                         "bytes",
                         method, origin, status, (size_t)EV_HTTP_MAX_BODY);
                return EV_ERR_PERMANENT;
        }
        if (cc == CURLE_OK) {
                resp->status = status;
                return EV_OK;
        }
        /* A cut-off answer is no answer: its body cannot be trusted. */
        resp->status = 0;
        if (errbuf && errbuf[0]) {
                snprintf(errstr, errstr_size, "%s %s: %s", method, origin,
                         errbuf);
                return EV_ERR_TRANSIENT;
        }
        curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno)
                snprintf(errstr, errstr_size, "%s %s: %s (%s)", method, origin,
                         curl_easy_strerror(cc), strerror((int)os_errno));
        else
                snprintf(errstr, errstr_size, "%s %s: %s", method, origin,
                         curl_easy_strerror(cc));
        return EV_ERR_TRANSIENT;
}

void ev_http_headers_free(struct curl_slist *headers)
{
        struct curl_slist *it;

        for (it = headers; it; it = it->next)
                wipe(it->data, 0, strlen(it->data));
        curl_slist_free_all(headers);
}

/* The multi interface gives ev_http_finish no place to keep an error
 * buffer across the transfer, so it reports curl_easy_strerror and the OS
 * error; ev_http_perform has the stack and uses CURLOPT_ERRORBUFFER. */
enum ev_err ev_http_finish(CURL *easy, CURLcode cc,
                           const struct ev_http_req *req,
                           struct ev_http_resp *resp, char *errstr,
                           size_t errstr_size)
{
        return finish(easy, cc, req, resp, NULL, errstr, errstr_size);
}

enum ev_err ev_http_perform(CURL *easy, const struct ev_http_req *req,
                            struct ev_http_resp *resp, char *errstr,
                            size_t errstr_size)
{
        char errbuf[CURL_ERROR_SIZE];
        struct curl_slist *headers = NULL;
        enum ev_err err;
        CURLcode cc;

        err = ev_http_prepare(easy, req, resp, &headers, errstr, errstr_size);
        if (err)
                return err;
        errbuf[0] = '\0';
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
        cc = curl_easy_perform(easy);
        err = finish(easy, cc, req, resp, errbuf, errstr, errstr_size);
        /* The handle outlives this frame: it must not keep pointing into
         * it, nor at the header list freed below. */
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
        ev_http_headers_free(headers);
        return err;
}
