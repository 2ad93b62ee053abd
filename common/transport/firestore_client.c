/*
 * Commits to Cloud Firestore over REST (firestore_client.h). Owns the
 * credentials, the easy handle and its answer buffer; borrows the config.
 */
#include "firestore_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firestore_api.h"
#include "gapi.h"
#include "gauth.h"
#include "log.h"
#include "pubsub_api.h"

#define URL_SIZE 1024

struct ev_firestore_client {
        struct ev_gapi api; /* its ga owned here */
        CURL *easy;
        struct ev_http_resp resp;
        char database[URL_SIZE]; /* "projects/P/databases/D" */
        char commit_url[URL_SIZE];
};

/* Checks what names the database, and where it is: the service's
 * endpoint, or the emulator's address, into base. */
static enum ev_err check(const struct ev_config *cfg, char *base, size_t size,
                         char *errstr, size_t errstr_size)
{
        size_t n;

        if (!ev_pubsub_valid_project(cfg->project)) {
                snprintf(errstr, errstr_size,
                         "invalid project id '%s' for GCP_PROJECT_ID/--project",
                         cfg->project ? cfg->project : "");
                return EV_ERR_USAGE;
        }
        if (!ev_firestore_valid_database(cfg->firestore_database)) {
                snprintf(errstr, errstr_size,
                         "invalid database id '%s' for FIRESTORE_DATABASE/"
                         "--firestore-database: (default), or 4 to 63 of a-z "
                         "0-9 -, starting with a letter",
                         cfg->firestore_database);
                return EV_ERR_USAGE;
        }
        if (cfg->firestore_emulator_host) {
                n = (size_t)snprintf(base, size, "http://%s",
                                     cfg->firestore_emulator_host);
        } else if (strncmp(cfg->firestore_endpoint, "https://", 8) &&
                   strncmp(cfg->firestore_endpoint, "http://", 7)) {
                snprintf(errstr, errstr_size,
                         "invalid value '%s' for FIRESTORE_ENDPOINT/"
                         "--firestore-endpoint: expected an https:// or "
                         "http:// URL",
                         cfg->firestore_endpoint);
                return EV_ERR_USAGE;
        } else {
                n = strlen(cfg->firestore_endpoint);
                while (n && cfg->firestore_endpoint[n - 1] == '/')
                        n--;
                n = (size_t)snprintf(base, size, "%.*s", (int)n,
                                     cfg->firestore_endpoint);
        }
        if (n >= size) {
                snprintf(errstr, errstr_size,
                         "the Firestore endpoint is longer than %zu bytes",
                         size - 1);
                return EV_ERR_USAGE;
        }
        return EV_OK;
}

static enum ev_err init(struct ev_firestore_client *fc,
                        const struct ev_config *cfg, double retry_budget,
                        char *errstr, size_t errstr_size)
{
        char base[URL_SIZE];
        enum ev_err err;

        err = check(cfg, base, sizeof(base), errstr, errstr_size);
        if (err)
                return err;
        /* Checked, not cut: a cut URL would name another resource. */
        if ((size_t)snprintf(fc->database, sizeof(fc->database),
                             "projects/%s/databases/%s", cfg->project,
                             cfg->firestore_database) >= sizeof(fc->database) ||
            (size_t)snprintf(fc->commit_url, sizeof(fc->commit_url),
                             "%s/v1/%s/documents:commit", base,
                             fc->database) >= sizeof(fc->commit_url)) {
                snprintf(errstr, errstr_size,
                         "the Firestore endpoint and names make a URL longer "
                         "than %d bytes",
                         URL_SIZE - 1);
                return EV_ERR_USAGE;
        }
        err = ev_http_global_init(errstr, errstr_size);
        if (err)
                return err;
        fc->easy = ev_http_easy_new();
        if (!fc->easy) {
                snprintf(errstr, errstr_size, "out of memory");
                return EV_ERR_NOMEM;
        }
        fc->api.service = "firestore";
        fc->api.timeout_s = cfg->request_timeout;
        fc->api.retry_budget = retry_budget;
        fc->api.classify = ev_firestore_classify;
        if (cfg->firestore_emulator_host) {
                fc->api.fixed_auth = "Bearer owner";
                ev_log(EV_LOG_INFO,
                       "firestore: writing to database %s of project %s on "
                       "the emulator at %s",
                       cfg->firestore_database, cfg->project,
                       cfg->firestore_emulator_host);
                return EV_OK;
        }
        fc->api.ga = ev_gauth_new(cfg->credentials, EV_FIRESTORE_SCOPE, &err,
                                  errstr, errstr_size);
        if (!fc->api.ga)
                return err;
        ev_log(EV_LOG_INFO,
               "firestore: writing to database %s of project %s at %s as %s",
               cfg->firestore_database, cfg->project, base,
               ev_gauth_describe(fc->api.ga));
        return EV_OK;
}

struct ev_firestore_client *
ev_firestore_client_new(const struct ev_config *cfg, double retry_budget,
                        enum ev_err *err, char *errstr, size_t errstr_size)
{
        struct ev_firestore_client *fc = calloc(1, sizeof(*fc));

        if (!fc) {
                snprintf(errstr, errstr_size, "out of memory");
                *err = EV_ERR_NOMEM;
                return NULL;
        }
        *err = init(fc, cfg, retry_budget, errstr, errstr_size);
        if (*err) {
                ev_firestore_client_destroy(fc);
                return NULL;
        }
        return fc;
}

const char *ev_firestore_client_database(const struct ev_firestore_client *fc)
{
        return fc->database;
}

enum ev_err ev_firestore_client_commit(struct ev_firestore_client *fc,
                                       const char *body, size_t len,
                                       size_t writes, char *errstr,
                                       size_t errstr_size)
{
        char what[64];
        enum ev_err err;

        snprintf(what, sizeof(what), "Firestore commit of %zu writes", writes);
        err = ev_gapi_call(&fc->api, fc->easy, &fc->resp, what, "POST",
                           fc->commit_url, body, len, errstr, errstr_size);
        if (err)
                return err;
        return ev_firestore_parse_commit(fc->resp.body, fc->resp.len, writes,
                                         errstr, errstr_size);
}

void ev_firestore_client_destroy(struct ev_firestore_client *fc)
{
        if (!fc)
                return;
        ev_gauth_destroy(fc->api.ga);
        if (fc->easy)
                curl_easy_cleanup(fc->easy);
        ev_http_resp_free(&fc->resp);
        free(fc);
}
