/*
 * The Pub/Sub publisher: messages batched within the API's limits, one
 * publish request at a time, a delivery report per message.
 */
#include "pubsub.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "metrics.h"
#include "pubsub_api.h"
#include "pubsub_client.h"
#include "signals.h"

/* How long a partly filled publish batch waits for more messages. */
#define LINGER_S 0.05
/* Longest message the service accepts. */
#define MAX_MESSAGE_BYTES ((size_t)10 * 1000 * 1000)

struct pubsub_publisher {
        struct ev_publisher base; /* first: the ops receive &base */
        struct ev_pubsub_client c;
        struct ev_pubsub_conn conn;
        char publish_url[EV_PUBSUB_URL_SIZE + 16];
        ev_delivery_cb dr_cb;
        void *opaque;
        struct ev_pubsub_body body;
        void **msg_opaques; /* of the messages in body, in order */
        size_t msg_opaques_cap;
        double batch_started;
};

/* The ordering key: the message's key, or else the service_name of a JSON
 * object payload. NULL when there is neither. */
static const char *ordering_key(const char *key, size_t key_len,
                                const char *payload, size_t len, char *buf,
                                size_t size, size_t *out_len)
{
        json_t *root, *name; /* name borrowed from root */
        const char *found = NULL;

        if (key) {
                *out_len = key_len;
                return key;
        }
        root = json_loadb(payload, len, 0, NULL);
        name = json_object_get(root, "service_name");
        if (json_is_string(name) && json_string_length(name) < size) {
                *out_len = json_string_length(name);
                memcpy(buf, json_string_value(name), *out_len);
                found = buf;
        }
        json_decref(root);
        return found;
}

/* Publishes the batch in hand and reports each of its messages, in the
 * order they were published. */
static void send_batch(struct pubsub_publisher *pp)
{
        struct ev_delivery dr = {.ok = false};
        size_t cnt = pp->body.msgs, i;
        const char **ids = NULL;
        void *json = NULL;
        char errstr[512];
        char where[160];
        enum ev_err err;

        if (!cnt)
                return;
        ids = calloc(cnt, sizeof(*ids));
        err = ids ? ev_pubsub_publish_finish(&pp->body) : EV_ERR_NOMEM;
        if (err)
                snprintf(errstr, sizeof(errstr), "out of memory");
        else
                err = ev_pubsub_call(&pp->c, &pp->conn, "publish", "POST",
                                     pp->publish_url, pp->body.data,
                                     pp->body.len, errstr, sizeof(errstr));
        if (!err)
                err = ev_pubsub_parse_publish(pp->conn.resp.body,
                                              pp->conn.resp.len, cnt, ids,
                                              &json, errstr, sizeof(errstr));
        /* The consumer's dead-letter publisher does not speak for the
         * source's readiness. */
        if (pp->c.cfg->role == EV_ROLE_PRODUCER)
                ev_health_set_connected(!err);
        for (i = 0; i < cnt && pp->dr_cb; i++) {
                dr.msg_opaque = pp->msg_opaques[i];
                dr.ok = !err;
                if (dr.ok) {
                        snprintf(where, sizeof(where), "message_id=%s", ids[i]);
                        dr.where = where;
                } else {
                        dr.error = errstr;
                }
                pp->dr_cb(pp->opaque, &dr);
        }
        json_decref(json);
        free(ids);
        ev_pubsub_body_reset(&pp->body);
}

/* Room for one more message's opaque. */
static bool reserve_opaque(struct pubsub_publisher *pp)
{
        size_t cap = pp->msg_opaques_cap ? pp->msg_opaques_cap * 2 : 64;
        void **grown;

        if (pp->body.msgs < pp->msg_opaques_cap)
                return true;
        grown = realloc(pp->msg_opaques, cap * sizeof(*grown));
        if (!grown)
                return false;
        pp->msg_opaques = grown;
        pp->msg_opaques_cap = cap;
        return true;
}

static enum ev_err publisher_publish(struct ev_publisher *pub,
                                     const struct ev_out_msg *msg, char *errstr,
                                     size_t errstr_size)
{
        struct pubsub_publisher *pp = (struct pubsub_publisher *)pub;
        const char *okey = NULL;
        size_t okey_len = 0, cost;
        char okey_buf[1024];
        enum ev_err err;

        if (msg->len > MAX_MESSAGE_BYTES) {
                snprintf(errstr, errstr_size,
                         "message of %zu bytes: over Pub/Sub's limit of "
                         "%zu",
                         msg->len, MAX_MESSAGE_BYTES);
                return EV_ERR_PERMANENT;
        }
        if (pp->c.cfg->ordering)
                okey =
                    ordering_key(msg->key, msg->key_len, msg->payload, msg->len,
                                 okey_buf, sizeof(okey_buf), &okey_len);
        cost = ev_pubsub_publish_cost(msg->len, msg->key ? msg->key_len : 0,
                                      okey_len, msg->headers, msg->header_cnt);
        if (pp->body.msgs &&
            (pp->body.msgs == EV_PUBSUB_MAX_BATCH_MSGS ||
             pp->body.len + cost + 2 > EV_PUBSUB_MAX_REQUEST_BYTES))
                send_batch(pp);
        if (!reserve_opaque(pp)) {
                snprintf(errstr, errstr_size, "out of memory");
                return EV_ERR_NOMEM;
        }
        err = ev_pubsub_publish_add(&pp->body, msg->payload, msg->len, msg->key,
                                    msg->key_len, okey, okey_len, msg->headers,
                                    msg->header_cnt, errstr, errstr_size);
        if (err)
                return err;
        pp->msg_opaques[pp->body.msgs - 1] = msg->opaque;
        if (pp->body.msgs == 1)
                pp->batch_started = ev_signals_now();
        return EV_OK;
}

/* Sends the batch once it has waited LINGER_S for company. */
static void publisher_poll(struct ev_publisher *pub, int timeout_ms)
{
        struct pubsub_publisher *pp = (struct pubsub_publisher *)pub;
        double wait = timeout_ms / 1000.0;

        if (pp->body.msgs) {
                double due = pp->batch_started + LINGER_S - ev_signals_now();

                if (due <= 0) {
                        send_batch(pp);
                        return;
                }
                if (due < wait)
                        wait = due;
        }
        ev_gapi_sleep(wait);
        if (pp->body.msgs && ev_signals_now() >= pp->batch_started + LINGER_S)
                send_batch(pp);
}

/* Every request is made before this returns (each within its retry
 * budget), so nothing is left undelivered: what failed was reported. */
static size_t publisher_flush(struct ev_publisher *pub, int timeout_ms)
{
        (void)timeout_ms;
        send_batch((struct pubsub_publisher *)pub);
        return 0;
}

static void publisher_destroy(struct ev_publisher *pub)
{
        struct pubsub_publisher *pp = (struct pubsub_publisher *)pub;

        if (!pp)
                return;
        ev_pubsub_body_free(&pp->body);
        free(pp->msg_opaques);
        ev_pubsub_conn_free(&pp->conn);
        ev_pubsub_client_free(&pp->c);
        free(pp);
}

static const struct ev_publisher_ops pubsub_publisher_ops = {
    .publish = publisher_publish,
    .poll = publisher_poll,
    .flush = publisher_flush,
    .destroy = publisher_destroy,
};

struct ev_publisher *ev_pubsub_publisher_new(const struct ev_config *cfg,
                                             ev_delivery_cb dr_cb, void *opaque,
                                             enum ev_err *err, char *errstr,
                                             size_t errstr_size)
{
        struct pubsub_publisher *pp;

        pp = calloc(1, sizeof(*pp));
        if (!pp) {
                *err = EV_ERR_NOMEM;
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        pp->base.ops = &pubsub_publisher_ops;
        pp->dr_cb = dr_cb;
        pp->opaque = opaque;
        *err = ev_pubsub_client_init(&pp->c, cfg, errstr, errstr_size);
        /* The dead-letter publisher gives up when the consumer would. */
        if (cfg->role == EV_ROLE_CONSUMER &&
            cfg->dlq_timeout < pp->c.api.retry_budget)
                pp->c.api.retry_budget = cfg->dlq_timeout;
        /* The gateway answers its requests within --publish-timeout:
         * retries start within the first half, and an attempt takes at
         * most the other. */
        if (cfg->role == EV_ROLE_GATEWAY) {
                pp->c.api.retry_budget =
                    fmin(pp->c.api.retry_budget, cfg->publish_timeout / 2);
                pp->c.api.timeout_s =
                    fmin(pp->c.api.timeout_s, cfg->publish_timeout / 2);
        }
        if (!*err)
                *err = ev_pubsub_conn_init(&pp->conn, errstr, errstr_size);
        if (!*err)
                *err = ev_pubsub_client_ready(&pp->c, &pp->conn, false, errstr,
                                              errstr_size);
        if (*err) {
                publisher_destroy(&pp->base);
                return NULL;
        }
        /* The topic answered. The gateway stays ready through failed
         * publishes: readiness that only a publish could restore would
         * never come back once a load balancer listened to it. */
        if (cfg->role == EV_ROLE_GATEWAY)
                ev_health_set_connected(true);
        snprintf(pp->publish_url, sizeof(pp->publish_url), "%s:publish",
                 pp->c.topic_url);
        return &pp->base;
}
