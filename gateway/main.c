/*
 * event-gateway: takes log events over HTTP (POST /ingest, per tenant) and
 * publishes each one to Kafka or Pub/Sub, answering 202 only once the
 * broker has confirmed it.
 */
#include <stdio.h>
#include <time.h>

#include <microhttpd.h>

#include "apikeys.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "signals.h"
#include "transport.h"

/* How often the main thread looks at the stop flag and the publisher. */
#define WATCH_MS 100

/* What the settings' table cannot say: a request needs time to be
 * confirmed, and a connection to arrive on. */
static enum ev_err check(const struct ev_config *cfg)
{
        if (cfg->publish_timeout <= 0) {
                ev_log(EV_LOG_ERROR,
                       "PUBLISH_TIMEOUT/--publish-timeout must be more than 0");
                return EV_ERR_USAGE;
        }
        if (cfg->max_conns == 0) {
                ev_log(EV_LOG_ERROR, "GATEWAY_MAX_CONNECTIONS/"
                                     "--max-connections must be at least 1");
                return EV_ERR_USAGE;
        }
        return EV_OK;
}

/* Serves until a stop signal, or until the publisher fails for good. */
static enum ev_err serve(struct ev_server *server)
{
        char errstr[512];
        enum ev_err err = EV_OK;

        while (!ev_signals_stop_requested() &&
               !(err = ev_server_status(server, errstr, sizeof(errstr))))
                nanosleep(&(struct timespec){0, WATCH_MS * 1000 * 1000}, NULL);
        if (err)
                ev_log(EV_LOG_ERROR, "the publisher failed: %s", errstr);
        else
                ev_log(EV_LOG_INFO, "stopping: answering the requests in "
                                    "flight, then flushing");
        return err;
}

int main(int argc, char **argv)
{
        struct ev_server *server = NULL;
        struct ev_apikeys *keys = NULL;
        struct ev_config cfg;
        char errstr[512];
        char versions[128];
        char libraries[192];
        char version[224];
        char addr[300];
        enum ev_err err;
        size_t failed;

        ev_transport_versions(versions, sizeof(versions));
        snprintf(libraries, sizeof(libraries), "%s, libmicrohttpd %s", versions,
                 MHD_get_version());
        snprintf(version, sizeof(version), "event-gateway %s (%s)", EV_VERSION,
                 libraries);
        if (!ev_config_load(&cfg, EV_ROLE_GATEWAY, "event-gateway", version,
                            argc, argv, &err))
                goto out;
        err = check(&cfg);
        if (err)
                goto out;
        ev_signals_install();
        ev_metrics_init(cfg.role, EV_VERSION, libraries);
        if (cfg.api_keys) {
                keys =
                    ev_apikeys_load(cfg.api_keys, &err, errstr, sizeof(errstr));
                if (!keys) {
                        ev_log(EV_LOG_ERROR, "%s", errstr);
                        goto out;
                }
        }
        server = ev_server_start(&cfg, keys, &err, errstr, sizeof(errstr));
        if (!server) {
                ev_log(EV_LOG_ERROR, "%s", errstr);
                goto out;
        }
        ev_server_address(server, addr, sizeof(addr));
        ev_log(EV_LOG_INFO,
               "listening on http://%s: POST /ingest, GET /healthz, /readyz "
               "and /metrics; publishing to %s topic %s; %zu API keys",
               addr, cfg.transport == EV_TRANSPORT_PUBSUB ? "Pub/Sub" : "Kafka",
               cfg.transport == EV_TRANSPORT_PUBSUB ? cfg.pubsub_topic
                                                    : cfg.topic,
               keys ? ev_apikeys_count(keys) : 0);
        err = serve(server);
        failed = ev_server_stop(server);
        server = NULL;
        if (failed)
                ev_log(EV_LOG_WARN,
                       "%zu requests answered 503: not confirmed by the "
                       "broker before the stop",
                       failed);
        ev_log(EV_LOG_INFO, "stopped");
out:
        ev_server_stop(server);
        ev_apikeys_destroy(keys);
        ev_config_free(&cfg);
        return ev_err_exit_code(err);
}
