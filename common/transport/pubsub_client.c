/*
 * What the Pub/Sub source and publisher share: the API's URLs, the
 * credentials, one call with its retries (made by gapi.c), and --create.
 * Owns the gauth handle; each caller owns its connections.
 */
#include "pubsub_client.h"

#include <stdio.h>
#include <string.h>

#include "gauth.h"
#include "log.h"
#include "metrics.h"
#include "pubsub.h"
#include "pubsub_api.h"

/* How long one request is retried (429, 5xx, no answer) before the
 * operation fails: long enough to ride out a broker restart. */
#define RETRY_BUDGET_S 60.0

const char *ev_pubsub_version(void)
{
        return curl_version_info(CURLVERSION_NOW)->version;
}

void ev_pubsub_conn_free(struct ev_pubsub_conn *cn)
{
        if (cn->easy)
                curl_easy_cleanup(cn->easy);
        cn->easy = NULL;
        ev_http_resp_free(&cn->resp);
}

enum ev_err ev_pubsub_conn_init(struct ev_pubsub_conn *cn, char *errstr,
                                size_t errstr_size)
{
        memset(cn, 0, sizeof(*cn));
        cn->easy = ev_http_easy_new();
        if (cn->easy)
                return EV_OK;
        snprintf(errstr, errstr_size, "out of memory");
        return EV_ERR_NOMEM;
}

/* Pub/Sub's answers are judged by their status alone. */
static enum ev_err classify(enum ev_err transport_err, long status,
                            const char *body, size_t len)
{
        (void)body;
        (void)len;
        return ev_pubsub_classify(transport_err, status);
}

enum ev_err ev_pubsub_call(struct ev_pubsub_client *c,
                           struct ev_pubsub_conn *cn, const char *what,
                           const char *method, const char *url,
                           const char *body, size_t len, char *errstr,
                           size_t errstr_size)
{
        return ev_gapi_call(&c->api, cn->easy, &cn->resp, what, method, url,
                            body, len, errstr, errstr_size);
}

/* True when a refused call's answer carries this google.rpc status. */
static bool refused_with(const struct ev_pubsub_conn *cn, const char *status)
{
        char got[64];

        ev_pubsub_error_status(cn->resp.body, cn->resp.len, got, sizeof(got));
        return !strcmp(got, status);
}

/* PUT url body: creates a topic or subscription; one that already exists
 * is success (--create is idempotent). */
static enum ev_err create(struct ev_pubsub_client *c, struct ev_pubsub_conn *cn,
                          const char *what, const char *url, const char *body,
                          char *errstr, size_t errstr_size)
{
        enum ev_err err;

        err = ev_pubsub_call(c, cn, what, "PUT", url, body,
                             body ? strlen(body) : 0, errstr, errstr_size);
        if (err == EV_ERR_PERMANENT && cn->resp.status == 409 &&
            refused_with(cn, "ALREADY_EXISTS"))
                return EV_OK;
        if (!err)
                ev_log(EV_LOG_INFO, "pubsub: created %s", what);
        return err;
}

/* --create: the topic, then a subscription to it. */
static enum ev_err create_both(struct ev_pubsub_client *c,
                               struct ev_pubsub_conn *cn, char *errstr,
                               size_t errstr_size)
{
        const struct ev_config *cfg = c->cfg;
        struct ev_pubsub_body b = {0};
        char what[EV_PUBSUB_URL_SIZE + 32];
        enum ev_err err;

        snprintf(what, sizeof(what), "topic %s", c->topic_path);
        err = create(c, cn, what, c->topic_url, NULL, errstr, errstr_size);
        if (err)
                return err;
        err =
            ev_pubsub_subscription_body(&b, cfg->project, cfg->pubsub_topic,
                                        (int)cfg->ack_deadline, cfg->ordering);
        if (err) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        snprintf(what, sizeof(what),
                 "subscription projects/%s/subscriptions/%s", cfg->project,
                 cfg->subscription);
        err = create(c, cn, what, c->sub_url, b.data, errstr, errstr_size);
out:
        ev_pubsub_body_free(&b);
        return err;
}

/* GET url; a resource that does not exist is EV_ERR_FATAL, and so is any
 * other refusal: the transport cannot work without it. */
static enum ev_err check_exists(struct ev_pubsub_client *c,
                                struct ev_pubsub_conn *cn, const char *what,
                                const char *url, char *errstr,
                                size_t errstr_size)
{
        enum ev_err err;

        err = ev_pubsub_call(c, cn, what, "GET", url, NULL, 0, errstr,
                             errstr_size);
        if (err == EV_ERR_PERMANENT) {
                if (cn->resp.status == 404)
                        snprintf(errstr + strlen(errstr),
                                 errstr_size - strlen(errstr),
                                 " (create it, or run with --create)");
                return EV_ERR_FATAL;
        }
        return err;
}

void ev_pubsub_client_free(struct ev_pubsub_client *c)
{
        ev_gauth_destroy(c->api.ga);
        c->api.ga = NULL;
}

/* Checks the names, builds the URLs and finds the credentials. */
enum ev_err ev_pubsub_client_init(struct ev_pubsub_client *c,
                                  const struct ev_config *cfg, char *errstr,
                                  size_t errstr_size)
{
        const char *ids[] = {cfg->pubsub_topic, cfg->subscription};
        char base[EV_PUBSUB_URL_SIZE];
        enum ev_err err;
        size_t i, n;

        memset(c, 0, sizeof(*c));
        c->cfg = cfg;
        c->api.service = "pubsub";
        c->api.timeout_s = cfg->request_timeout;
        c->api.retry_budget = RETRY_BUDGET_S;
        c->api.classify = classify;
        err = ev_http_global_init(errstr, errstr_size);
        if (err)
                return err;
        if (!ev_pubsub_valid_project(cfg->project)) {
                snprintf(errstr, errstr_size,
                         "invalid project id '%s' for GCP_PROJECT_ID/--project",
                         cfg->project);
                return EV_ERR_USAGE;
        }
        for (i = 0; i < 2; i++) {
                if (ev_pubsub_valid_id(ids[i]))
                        continue;
                snprintf(errstr, errstr_size,
                         "invalid Pub/Sub id '%s' for %s: 3 to 255 of A-Z a-z "
                         "0-9 - _ . ~ + %%, starting with a letter",
                         ids[i],
                         i ? "GCP_PUBSUB_SUBSCRIPTION/--subscription"
                           : "GCP_PUBSUB_TOPIC/--pubsub-topic");
                return EV_ERR_USAGE;
        }
        if (!cfg->emulator_host &&
            strncmp(cfg->pubsub_endpoint, "https://", 8) &&
            strncmp(cfg->pubsub_endpoint, "http://", 7)) {
                snprintf(errstr, errstr_size,
                         "invalid value '%s' for PUBSUB_ENDPOINT/"
                         "--pubsub-endpoint: expected an https:// or http:// "
                         "URL",
                         cfg->pubsub_endpoint);
                return EV_ERR_USAGE;
        }
        if (cfg->emulator_host) {
                n = (size_t)snprintf(base, sizeof(base), "http://%s",
                                     cfg->emulator_host);
        } else {
                n = strlen(cfg->pubsub_endpoint);
                while (n && cfg->pubsub_endpoint[n - 1] == '/')
                        n--;
                n = (size_t)snprintf(base, sizeof(base), "%.*s", (int)n,
                                     cfg->pubsub_endpoint);
        }
        /* Checked, not cut: a cut URL would name another resource. */
        if (n >= sizeof(base) ||
            (size_t)snprintf(c->topic_path, sizeof(c->topic_path),
                             "projects/%s/topics/%s", cfg->project,
                             cfg->pubsub_topic) >= sizeof(c->topic_path) ||
            (size_t)snprintf(c->topic_url, sizeof(c->topic_url), "%s/v1/%s",
                             base, c->topic_path) >= sizeof(c->topic_url) ||
            (size_t)snprintf(c->sub_url, sizeof(c->sub_url),
                             "%s/v1/projects/%s/subscriptions/%s", base,
                             cfg->project,
                             cfg->subscription) >= sizeof(c->sub_url)) {
                snprintf(errstr, errstr_size,
                         "the Pub/Sub endpoint and names make a URL longer "
                         "than %d bytes",
                         EV_PUBSUB_URL_SIZE - 1);
                return EV_ERR_USAGE;
        }
        if (cfg->emulator_host) {
                ev_log(EV_LOG_INFO, "pubsub: emulator at %s, no authentication",
                       cfg->emulator_host);
                return EV_OK;
        }
        c->api.ga = ev_gauth_new(cfg->credentials, EV_GAUTH_SCOPE_PUBSUB, &err,
                                 errstr, errstr_size);
        if (!c->api.ga)
                return err;
        ev_log(EV_LOG_INFO, "pubsub: %s at %s", ev_gauth_describe(c->api.ga),
               base);
        return EV_OK;
}

/* The topic (publisher) or the subscription (source) must be there before
 * anything starts; --create makes both. */
enum ev_err ev_pubsub_client_ready(struct ev_pubsub_client *c,
                                   struct ev_pubsub_conn *cn, bool subscription,
                                   char *errstr, size_t errstr_size)
{
        char what[EV_PUBSUB_URL_SIZE + 32];
        enum ev_err err;

        if (c->cfg->create) {
                err = create_both(c, cn, errstr, errstr_size);
                if (err)
                        return err == EV_ERR_PERMANENT ? EV_ERR_FATAL : err;
        }
        if (subscription)
                snprintf(what, sizeof(what),
                         "subscription projects/%s/subscriptions/%s",
                         c->cfg->project, c->cfg->subscription);
        else
                snprintf(what, sizeof(what), "topic %s", c->topic_path);
        err =
            check_exists(c, cn, what, subscription ? c->sub_url : c->topic_url,
                         errstr, errstr_size);
        /* The service answered: connected, for /readyz; but the consumer's
         * dead-letter publisher does not speak for its source. */
        if (!err && (subscription || c->cfg->role == EV_ROLE_PRODUCER))
                ev_health_set_connected(true);
        return err;
}
