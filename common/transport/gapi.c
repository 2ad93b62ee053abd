/*
 * One Google REST API call with its retries (gapi.h). Owns nothing: the
 * handle, the answer buffer and the credentials belong to the caller.
 */
#include "gapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gauth.h"
#include "log.h"
#include "pubsub_api.h"
#include "signals.h"

void ev_gapi_sleep(double s)
{
        struct timespec ts;

        if (s <= 0)
                return;
        ts.tv_sec = (time_t)s;
        ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
        /* A stop signal cuts the sleep short: the caller looks at the
         * clock, not at how long it slept. */
        nanosleep(&ts, NULL);
}

double ev_gapi_jitter(void)
{
        return (double)rand() / ((double)RAND_MAX + 1.0);
}

enum ev_err ev_gapi_authorize(const struct ev_gapi *g, char *auth, char *errstr,
                              size_t errstr_size)
{
        auth[0] = '\0';
        if (g->ga)
                return ev_gauth_authorization(g->ga, auth, EV_GAPI_AUTH_SIZE,
                                              errstr, errstr_size);
        if (g->fixed_auth)
                snprintf(auth, EV_GAPI_AUTH_SIZE, "%s", g->fixed_auth);
        return EV_OK;
}

enum ev_err ev_gapi_call(const struct ev_gapi *g, CURL *easy,
                         struct ev_http_resp *resp, const char *what,
                         const char *method, const char *url, const char *body,
                         size_t len, char *errstr, size_t errstr_size)
{
        double start = ev_signals_now(), give_up = start + g->retry_budget;
        char auth[EV_GAPI_AUTH_SIZE];
        char why[512];
        struct ev_http_req req = {
            .method = method,
            .url = url,
            .body = body,
            .body_len = len,
            .timeout_s = g->timeout_s,
        };
        enum ev_err err, cls;
        unsigned attempt;
        double delay;

        for (attempt = 0;; attempt++) {
                err = ev_gapi_authorize(g, auth, why, sizeof(why));
                if (!err) {
                        req.authorization = auth[0] ? auth : NULL;
                        err =
                            ev_http_perform(easy, &req, resp, why, sizeof(why));
                        cls = g->classify(err, resp->status, resp->body,
                                          resp->len);
                        if (!cls)
                                return EV_OK;
                        /* Google's APIs share one error body. */
                        if (!err)
                                ev_pubsub_error_text(resp->status, resp->body,
                                                     resp->len, why,
                                                     sizeof(why));
                        err = cls;
                }
                snprintf(errstr, errstr_size, "%s: %s", what, why);
                if (err != EV_ERR_TRANSIENT)
                        return err;
                delay = ev_pubsub_backoff(attempt, ev_gapi_jitter());
                /* A stop request ends the retries too: the caller's
                 * failure path (messages redelivered, a delivery
                 * reported failed) loses nothing. */
                if (ev_signals_now() + delay > give_up ||
                    ev_signals_stop_requested()) {
                        /* The time taken, not the budget: an attempt
                         * can outlast the budget by a request timeout. */
                        snprintf(
                            errstr, errstr_size,
                            "%s: %s (gave up after %u attempts in %.1f "
                            "s%s)",
                            what, why, attempt + 1, ev_signals_now() - start,
                            ev_signals_stop_requested() ? ", stop requested"
                                                        : "");
                        return EV_ERR_TRANSIENT;
                }
                ev_log(EV_LOG_WARN, "%s: %s; retrying in %.1f s", g->service,
                       errstr, delay);
                ev_gapi_sleep(delay);
        }
}
