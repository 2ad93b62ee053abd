/*
 * Kafka transport over librdkafka. Owns the rd_kafka_t handles and every
 * rd_kafka_message_t handed out as an ev_msg until it is acked or released.
 * Knows nothing of validation or output.
 */
#include "kafka.h"
#include "kafka_conf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include <jansson.h>

#include "log.h"
#include "metrics.h"
#include "timefmt.h"

struct kafka_source {
        struct ev_source base; /* first: the ops receive &base */
        rd_kafka_t *rk;
        char *group; /* for the consumer.group origin header */
        /* Partitions assigned now. Written by rebalance_cb, which
         * rd_kafka_consumer_poll serves on the caller's thread, so no lock. */
        int assigned;
};

struct kafka_publisher {
        struct ev_publisher base; /* first: the ops receive &base */
        rd_kafka_t *rk;
        const char *topic; /* borrowed from the config */
        ev_delivery_cb dr_cb;
        void *opaque;
};

/* Set by the delivery guarantee, not by the user: offsets must be stored
 * only after the output is flushed, and a dead letter (or a gateway's
 * event, answered 202) counts as written only once every in-sync replica
 * has it, each failure in time to be retried within --dlq-timeout (or
 * answered within --publish-timeout). */
static const char *const consumer_protected[] = {"enable.auto.offset.store",
                                                 NULL};
static const char *const confirmed_protected[] = {"acks",
                                                  "request.required.acks",
                                                  "enable.idempotence",
                                                  "message.timeout.ms",
                                                  "delivery.timeout.ms",
                                                  NULL};

const char *ev_kafka_version(void)
{
        return rd_kafka_version_str();
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
        enum ev_log_level lvl;

        (void)rk;
        /* librdkafka uses syslog levels: 0..3 error, 4 warning, 7 debug. */
        if (level <= 3)
                lvl = EV_LOG_ERROR;
        else if (level == 4)
                lvl = EV_LOG_WARN;
        else if (level <= 6)
                lvl = EV_LOG_INFO;
        else
                lvl = EV_LOG_DEBUG;
        ev_log(lvl, "kafka: %s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
        char fatal[512];

        (void)opaque;
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
                ev_log(EV_LOG_ERROR, "kafka: fatal error: %s", fatal);
                return;
        }
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
                ev_health_set_connected(false);
        /* Everything else (brokers down, timeouts) librdkafka retries on
         * its own: worth a warning, not a stop. */
        ev_log(EV_LOG_WARN, "kafka: %s: %s", rd_kafka_err2name(err), reason);
}

/* The consumer lag of every assigned partition in a statistics document
 * (topics.T.partitions.P.consumer_lag), for /metrics. */
static void stats_lag(json_t *topics)
{
        const char *topic, *partition;
        json_t *t, *p; /* borrowed */

        ev_metrics_lag_begin();
        json_object_foreach(topics, topic, t)
        {
                json_object_foreach(json_object_get(t, "partitions"), partition,
                                    p)
                {
                        const char *state = json_string_value(
                            json_object_get(p, "fetch_state"));
                        json_t *lag = json_object_get(p, "consumer_lag");

                        /* -1 is the UA (unassigned) pseudo-partition;
                         * "none" a partition this consumer does not
                         * fetch. */
                        if (!strcmp(partition, "-1") || !state ||
                            !strcmp(state, "none") || !json_is_integer(lag))
                                continue;
                        ev_metrics_lag_set(topic, (int32_t)atoi(partition),
                                           json_integer_value(lag));
                }
        }
        ev_metrics_lag_end();
}

/* librdkafka's statistics (statistics.interval.ms, with --metrics-addr):
 * whether a broker connection is up, for /readyz, and the consumer's lag.
 * Returns 0: librdkafka frees json. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
        json_t *root = json_loadb(json, json_len, 0, NULL);
        const char *name;
        json_t *b; /* borrowed */
        bool up = false;

        (void)opaque;
        json_object_foreach(json_object_get(root, "brokers"), name, b)
        {
                const char *state =
                    json_string_value(json_object_get(b, "state"));

                if (state && !strcmp(state, "UP"))
                        up = true;
        }
        ev_health_set_connected(up);
        if (rd_kafka_type(rk) == RD_KAFKA_CONSUMER)
                stats_lag(json_object_get(root, "topics"));
        json_decref(root);
        return 0;
}

/* Counts the commits, for /metrics: "nothing to commit" is neither. */
static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
        (void)rk;
        (void)offsets;
        (void)opaque;
        if (!err)
                ev_metrics_add(EV_C_COMMITS, 1);
        else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET)
                ev_metrics_add(EV_C_COMMIT_ERRORS, 1);
}

static bool is_protected(const char *key, const char *const *protected_keys)
{
        for (; protected_keys && *protected_keys; protected_keys++) {
                if (!strcmp(key, *protected_keys))
                        return true;
        }
        return false;
}

/* True for the properties whose values are secrets (sasl.password,
 * ssl.key.password, ssl.key.pem, sasl.oauthbearer.client.secret,
 * sasl.jaas.config...): an error names them without their value. */
static bool is_secret(const char *key)
{
        static const char *const words[] = {"password", "secret", "key.pem",
                                            "jaas",     "token",  NULL};
        size_t i;

        for (i = 0; words[i]; i++) {
                if (strstr(key, words[i]))
                        return true;
        }
        return false;
}

rd_kafka_conf_t *ev_kafka_conf_new(const struct ev_config *cfg,
                                   const char *const *defaults,
                                   const char *const *protected_keys,
                                   char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char rkerr[512];
        size_t i;

        rd_kafka_conf_set_log_cb(conf, log_cb);
        rd_kafka_conf_set_error_cb(conf, error_cb);
        rd_kafka_conf_set_stats_cb(conf, stats_cb);
        /* No client metrics pushed to the broker (KIP-714, librdkafka 2.5
         * on): nobody asked for them, and rd_kafka_destroy waits for the
         * last push, which made one exit in three a second late against
         * Kafka 4.1. A -X can turn them back on. */
        if (rd_kafka_conf_set(conf, "enable.metrics.push", "false", rkerr,
                              sizeof(rkerr)) != RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "%s", rkerr);
                goto err;
        }
        for (i = 0; defaults[i]; i += 2) {
                if (rd_kafka_conf_set(conf, defaults[i], defaults[i + 1], rkerr,
                                      sizeof(rkerr)) != RD_KAFKA_CONF_OK) {
                        snprintf(errstr, errstr_size, "%s", rkerr);
                        goto err;
                }
        }
        for (i = 0; i < cfg->props_cnt; i++) {
                const struct ev_config_prop *p = &cfg->props[i];

                if (is_protected(p->key, protected_keys)) {
                        snprintf(errstr, errstr_size,
                                 "-X %s: set by event-ingest itself, "
                                 "to keep the delivery guarantee",
                                 p->key);
                        goto err;
                }
                if (rd_kafka_conf_set(conf, p->key, p->value, rkerr,
                                      sizeof(rkerr)) != RD_KAFKA_CONF_OK) {
                        snprintf(errstr, errstr_size, "-X %s=%s: %s", p->key,
                                 is_secret(p->key) ? "[redacted]" : p->value,
                                 rkerr);
                        goto err;
                }
        }
        return conf;
err:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

/* Commits before giving partitions up, so the next owner starts where our
 * flushed output ends rather than at the last periodic auto-commit. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        bool cooperative =
            !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
        struct kafka_source *ks = opaque;
        rd_kafka_error_t *error = NULL;
        rd_kafka_resp_err_t ret = RD_KAFKA_RESP_ERR_NO_ERROR;

        /* The count follows parts rather than asking rd_kafka_assignment():
         * during rd_kafka_consumer_close that call never returns. A
         * cooperative rebalance hands over deltas, an eager one the
         * whole assignment. */
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                ev_log(EV_LOG_INFO, "kafka: assigned %d partition(s)",
                       parts->cnt);
                if (cooperative)
                        error = rd_kafka_incremental_assign(rk, parts);
                else
                        ret = rd_kafka_assign(rk, parts);
                if (!error && !ret)
                        ks->assigned =
                            (cooperative ? ks->assigned : 0) + parts->cnt;
        } else {
                ev_log(EV_LOG_INFO, "kafka: revoking %d partition(s)",
                       parts->cnt);
                if (!rd_kafka_assignment_lost(rk)) {
                        ret = rd_kafka_commit(rk, NULL, 0);
                        if (ret && ret != RD_KAFKA_RESP_ERR__NO_OFFSET)
                                ev_log(EV_LOG_WARN,
                                       "kafka: commit on revoke: %s",
                                       rd_kafka_err2str(ret));
                        ret = RD_KAFKA_RESP_ERR_NO_ERROR;
                }
                if (cooperative)
                        error = rd_kafka_incremental_unassign(rk, parts);
                else
                        ret = rd_kafka_assign(rk, NULL);
                ks->assigned = cooperative && ks->assigned > parts->cnt
                                   ? ks->assigned - parts->cnt
                                   : 0;
        }
        if (error) {
                ev_log(EV_LOG_ERROR, "kafka: rebalance: %s",
                       rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
        } else if (ret) {
                ev_log(EV_LOG_ERROR, "kafka: rebalance: %s",
                       rd_kafka_err2str(ret));
        }
}

/* librdkafka's reason for a fatal error, into errstr. Being fenced gets the
 * cause spelled out: it is an operator's mistake, not a broker failure. */
static void fatal_errstr(rd_kafka_t *rk, char *errstr, size_t errstr_size)
{
        char reason[512];

        if (rd_kafka_fatal_error(rk, reason, sizeof(reason)) ==
            RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID)
                snprintf(errstr, errstr_size,
                         "%s: another consumer joined the group with the "
                         "same group.instance.id (--instance-id); two live "
                         "consumers must never share one",
                         reason);
        else
                snprintf(errstr, errstr_size, "%s", reason);
}

static enum ev_err source_poll(struct ev_source *src, struct ev_msg *msgs,
                               size_t max, int timeout_ms, size_t *cnt,
                               char *errstr, size_t errstr_size)
{
        struct kafka_source *ks = (struct kafka_source *)src;
        rd_kafka_message_t *rkm;

        *cnt = 0;
        while (*cnt < max) {
                rkm = rd_kafka_consumer_poll(ks->rk, *cnt ? 0 : timeout_ms);
                if (!rkm)
                        break;
                if (rkm->err) {
                        bool fatal = rkm->err == RD_KAFKA_RESP_ERR__FATAL;

                        snprintf(errstr, errstr_size, "%s",
                                 rd_kafka_message_errstr(rkm));
                        rd_kafka_message_destroy(rkm);
                        if (fatal) {
                                fatal_errstr(ks->rk, errstr, errstr_size);
                                return EV_ERR_FATAL;
                        }
                        /* Consumer errors (topic not there yet, broker
                         * gone) are retried by librdkafka. Return what we
                         * have so the caller's timing holds. */
                        ev_log(EV_LOG_WARN, "kafka: consumer: %s", errstr);
                        break;
                }
                msgs[*cnt].payload = rkm->payload;
                msgs[*cnt].len = rkm->len;
                msgs[*cnt].key = rkm->key;
                msgs[*cnt].key_len = rkm->key_len;
                msgs[*cnt].handle = rkm;
                (*cnt)++;
        }
        return EV_OK;
}

static void source_describe(const struct ev_source *src,
                            const struct ev_msg *msg, char *buf, size_t size)
{
        const rd_kafka_message_t *rkm = msg->handle;

        (void)src;
        snprintf(buf, size, "topic=%s partition=%" PRId32 " offset=%" PRId64,
                 rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset);
}

static size_t source_origin(const struct ev_source *src,
                            const struct ev_msg *msg, struct ev_header *hdrs,
                            char *buf, size_t size)
{
        const struct kafka_source *ks = (const struct kafka_source *)src;
        const rd_kafka_message_t *rkm = msg->handle;
        char when[EV_TIMEFMT_SIZE];
        size_t n = 0, off = 0;
        int64_t ts;

        n = ev_origin_add(hdrs, n, "source.topic", buf, size, &off, "%s",
                          rd_kafka_topic_name(rkm->rkt));
        n = ev_origin_add(hdrs, n, "source.partition", buf, size, &off,
                          "%" PRId32, rkm->partition);
        n = ev_origin_add(hdrs, n, "source.offset", buf, size, &off, "%" PRId64,
                          rkm->offset);
        ts = rd_kafka_message_timestamp(rkm, NULL);
        if (ts >= 0 && ev_timefmt_rfc3339_ms(ts, when, sizeof(when)))
                n = ev_origin_add(hdrs, n, "source.timestamp", buf, size, &off,
                                  "%s", when);
        return ev_origin_add(hdrs, n, "consumer.group", buf, size, &off, "%s",
                             ks->group);
}

static void source_release(struct ev_source *src, struct ev_msg *msgs,
                           size_t cnt)
{
        size_t i;

        (void)src;
        for (i = 0; i < cnt; i++)
                rd_kafka_message_destroy(msgs[i].handle);
}

static void source_ack(struct ev_source *src, struct ev_msg *msgs, size_t cnt)
{
        struct kafka_source *ks = (struct kafka_source *)src;
        rd_kafka_topic_partition_list_t *offsets;
        rd_kafka_resp_err_t err;
        size_t i;

        /* One list per batch: the next offset to read, per partition. */
        offsets = rd_kafka_topic_partition_list_new(4);
        for (i = 0; i < cnt; i++) {
                const rd_kafka_message_t *rkm = msgs[i].handle;
                const char *topic = rd_kafka_topic_name(rkm->rkt);
                rd_kafka_topic_partition_t *tp;

                tp = rd_kafka_topic_partition_list_find(offsets, topic,
                                                        rkm->partition);
                if (!tp)
                        tp = rd_kafka_topic_partition_list_add(offsets, topic,
                                                               rkm->partition);
                if (rkm->offset + 1 > tp->offset)
                        tp->offset = rkm->offset + 1;
        }
        err = rd_kafka_offsets_store(ks->rk, offsets);
        /* A partition revoked while the batch was in hand cannot be stored;
         * its new owner reads those messages again (at least once). */
        if (err)
                ev_log(EV_LOG_DEBUG, "kafka: offset store: %s",
                       rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(offsets);
        source_release(src, msgs, cnt);
}

static bool source_ready(const struct ev_source *src)
{
        return ((const struct kafka_source *)src)->assigned > 0;
}

static enum ev_err source_close(struct ev_source *src, char *errstr,
                                size_t errstr_size)
{
        struct kafka_source *ks = (struct kafka_source *)src;
        rd_kafka_resp_err_t err;

        if (!ks)
                return EV_OK;
        /* Revokes the assignment (rebalance_cb commits), commits the stored
         * offsets and leaves the group. */
        err = rd_kafka_consumer_close(ks->rk);
        rd_kafka_destroy(ks->rk);
        free(ks->group);
        free(ks);
        if (err) {
                snprintf(errstr, errstr_size, "closing consumer: %s",
                         rd_kafka_err2str(err));
                return EV_ERR_TRANSIENT;
        }
        return EV_OK;
}

static const struct ev_source_ops kafka_source_ops = {
    .poll = source_poll,
    .describe = source_describe,
    .origin = source_origin,
    .ack = source_ack,
    .release = source_release,
    .close = source_close,
    .ready = source_ready,
};

struct ev_source *ev_kafka_source_new(const struct ev_config *cfg,
                                      enum ev_err *err, char *errstr,
                                      size_t errstr_size)
{
        const char *const defaults[] = {
            "bootstrap.servers", cfg->brokers, "group.id", cfg->group,
            "client.id", "event-consumer",
            /* librdkafka's default, latest, would silently skip what
             * was produced before the group first joined. */
            "auto.offset.reset", "earliest", "enable.auto.offset.store",
            "false",
            /* What a crash prints again is what was flushed since the
             * last commit: bound it to about a second (librdkafka's
             * default is 5 s). The commit is asynchronous and is sent
             * only when a partition's stored offset has moved. */
            "auto.commit.interval.ms", "1000",
            /* Lag and broker state for --metrics-addr, every second;
             * librdkafka's default, 0, is off. */
            "statistics.interval.ms", cfg->metrics_addr ? "1000" : "0",
            /* The prefetch queue, sized to keep the fetcher ahead of
             * validation at bounded memory. librdkafka keeps up to 100,000
             * messages a partition (64 MB) in hand by default, and once
             * past that pauses the fetcher for fetch.queue.backoff.ms, a
             * full second by default: a consumer that validates empties
             * the queue long before and sits idle, at a third of its
             * speed. 5,000 messages a partition are ten batches, 1 MB of
             * 210-byte events; 8 MB bounds the queue when messages are
             * large; a 10 ms pause refills it before it runs dry; and a
             * fetch of 256 KB a partition, not 1 MB, keeps the buffers in
             * flight small (a larger first batch still comes whole).
             * Measured on 1M events: as fast as 10,000 and 16 MB (faster,
             * the queue staying in cache), at 23 MB resident instead of
             * 35. */
            "queued.min.messages", "5000", "queued.max.messages.kbytes", "8192",
            "fetch.queue.backoff.ms", "10", "max.partition.fetch.bytes",
            "262144",
            /* A fetch the broker holds while there is nothing new: 100 ms
             * rather than 500, as librdkafka sends one fetch a broker at a
             * time, and a partition just assigned, or one whose queue has
             * room again, waits for the fetch in flight to come back. */
            "fetch.wait.max.ms", "100",
            /* A member learns of a rebalance from its next heartbeat, and
             * the group waits for every member: a consumer that joins (a
             * scale-out, a restart) waits up to this long, three seconds
             * by default, for its partitions. */
            "heartbeat.interval.ms", "1000",
            /* Static membership, last: unset, the list ends here. */
            cfg->instance_id ? "group.instance.id" : NULL, cfg->instance_id,
            NULL};
        rd_kafka_topic_partition_list_t *topics = NULL;
        struct kafka_source *ks;
        rd_kafka_conf_t *conf;
        rd_kafka_resp_err_t rerr;

        ks = calloc(1, sizeof(*ks));
        if (!ks) {
                *err = EV_ERR_NOMEM;
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        ks->base.ops = &kafka_source_ops;
        ks->group = strdup(cfg->group);
        if (!ks->group) {
                *err = EV_ERR_NOMEM;
                snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        *err = EV_ERR_CONFIG;
        conf = ev_kafka_conf_new(cfg, defaults, consumer_protected, errstr,
                                 errstr_size);
        if (!conf)
                goto err;
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
        rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
        rd_kafka_conf_set_opaque(conf, ks);
        ks->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
        if (!ks->rk) {
                rd_kafka_conf_destroy(conf);
                goto err;
        }
        /* Route every event to the consumer queue: one poll call serves
         * messages, errors and rebalances. */
        rd_kafka_poll_set_consumer(ks->rk);
        topics = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(topics, cfg->topic,
                                          RD_KAFKA_PARTITION_UA);
        rerr = rd_kafka_subscribe(ks->rk, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (rerr) {
                snprintf(errstr, errstr_size, "subscribe to %s: %s", cfg->topic,
                         rd_kafka_err2str(rerr));
                *err = EV_ERR_FATAL;
                goto err;
        }
        *err = EV_OK;
        return &ks->base;
err:
        if (ks->rk)
                rd_kafka_destroy(ks->rk);
        free(ks->group);
        free(ks);
        return NULL;
}

/* Writes s and then the decimal digits of v (>= -1, as partitions and
 * offsets are) at p; returns the end. */
static char *put_number(char *p, const char *s, int64_t v)
{
        char digits[24];
        size_t n = 0;

        while (*s)
                *p++ = *s++;
        if (v < 0) {
                *p++ = '-';
                v = -v;
        }
        do
                digits[n++] = (char)('0' + v % 10);
        while ((v /= 10) > 0);
        while (n)
                *p++ = digits[--n];
        return p;
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                      void *opaque)
{
        struct kafka_publisher *kp = opaque;
        struct ev_delivery dr = {.msg_opaque = rkm->_private, .ok = !rkm->err};
        char where[64], *end;

        (void)rk;
        if (!kp->dr_cb)
                return;
        if (dr.ok) {
                /* Once per message: by hand, as snprintf would cost the
                 * producer a tenth of its time. */
                end = put_number(where, "partition=", rkm->partition);
                end = put_number(end, " offset=", rkm->offset);
                *end = '\0';
                dr.where = where;
        } else {
                dr.error = rd_kafka_err2str(rkm->err);
        }
        kp->dr_cb(kp->opaque, &dr);
}

/* The message's headers, for rd_kafka_producev (which takes ownership);
 * NULL when it has none or out of memory (*err set). */
static rd_kafka_headers_t *new_headers(const struct ev_out_msg *msg,
                                       rd_kafka_resp_err_t *err)
{
        rd_kafka_headers_t *hdrs;
        size_t i;

        *err = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (!msg->header_cnt)
                return NULL;
        hdrs = rd_kafka_headers_new(msg->header_cnt);
        for (i = 0; i < msg->header_cnt && !*err; i++)
                *err = rd_kafka_header_add(hdrs, msg->headers[i].name, -1,
                                           msg->headers[i].value,
                                           (ssize_t)msg->headers[i].len);
        if (*err) {
                rd_kafka_headers_destroy(hdrs);
                return NULL;
        }
        return hdrs;
}

static enum ev_err publisher_publish(struct ev_publisher *pub,
                                     const struct ev_out_msg *msg, char *errstr,
                                     size_t errstr_size)
{
        struct kafka_publisher *kp = (struct kafka_publisher *)pub;
        rd_kafka_headers_t *hdrs;
        rd_kafka_resp_err_t err;

        for (;;) {
                hdrs = new_headers(msg, &err);
                if (err)
                        break;
                err = rd_kafka_producev(
                    kp->rk, RD_KAFKA_V_TOPIC(kp->topic),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(msg->key, msg->key_len),
                    RD_KAFKA_V_VALUE((void *)msg->payload, msg->len),
                    RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(msg->opaque),
                    RD_KAFKA_V_END);
                /* On failure the headers are still ours. */
                if (err && hdrs)
                        rd_kafka_headers_destroy(hdrs);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                /* Back-pressure: deliveries free room in the queue. */
                rd_kafka_poll(kp->rk, 100);
        }
        if (!err) {
                rd_kafka_poll(kp->rk, 0);
                return EV_OK;
        }
        snprintf(errstr, errstr_size, "%s", rd_kafka_err2str(err));
        if (err == RD_KAFKA_RESP_ERR__FATAL)
                return EV_ERR_FATAL;
        return EV_ERR_PERMANENT;
}

static void publisher_poll(struct ev_publisher *pub, int timeout_ms)
{
        rd_kafka_poll(((struct kafka_publisher *)pub)->rk, timeout_ms);
}

static size_t publisher_flush(struct ev_publisher *pub, int timeout_ms)
{
        struct kafka_publisher *kp = (struct kafka_publisher *)pub;

        rd_kafka_flush(kp->rk, timeout_ms);
        return (size_t)rd_kafka_outq_len(kp->rk);
}

static void publisher_destroy(struct ev_publisher *pub)
{
        struct kafka_publisher *kp = (struct kafka_publisher *)pub;

        if (!kp)
                return;
        /* The caller has flushed and reported what is left: drop it here,
         * unreported, rather than have librdkafka warn about it again. */
        kp->dr_cb = NULL;
        rd_kafka_purge(kp->rk,
                       RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(kp->rk, 0);
        rd_kafka_destroy(kp->rk);
        free(kp);
}

static const struct ev_publisher_ops kafka_publisher_ops = {
    .publish = publisher_publish,
    .poll = publisher_poll,
    .flush = publisher_flush,
    .destroy = publisher_destroy,
};

struct ev_publisher *ev_kafka_publisher_new(const struct ev_config *cfg,
                                            ev_delivery_cb dr_cb, void *opaque,
                                            enum ev_err *err, char *errstr,
                                            size_t errstr_size)
{
        bool dead_letter = cfg->role == EV_ROLE_CONSUMER;
        bool gateway = cfg->role == EV_ROLE_GATEWAY;
        char timeout_ms[32];
        const char *const defaults[] = {
            "bootstrap.servers", cfg->brokers, "client.id",
            dead_letter ? "event-consumer-dlq"
            : gateway   ? "event-gateway"
                        : "event-producer",
            /* Retries can then neither duplicate nor reorder. */
            "enable.idempotence", "true", "acks", "all",
            /* How long a batch waits for more messages: 1 ms, where
             * librdkafka's default (and so kcat's) is 5. At a low rate
             * each event goes out 4 ms sooner; at a high rate batches
             * fill anyway while the requests in flight come back, so
             * throughput is the same. A gateway request waits for its
             * batch: it goes at once (the gateway flushes when it has no
             * more to send). -X linger.ms trades for larger batches. */
            "linger.ms", gateway ? "0" : "1",
            /* LZ4: a log line compresses to about a third, which the
             * broker then stores and copies as such. On one machine (the
             * broker on the same two CPUs) that made event-producer 1.2x
             * faster, for the broker's work it saves; on a network, the
             * bytes. Every Kafka client reads it. */
            "compression.type", "lz4",
            /* Broker state for event-producer's --metrics-addr and the
             * gateway's /readyz; the consumer's source reports it
             * already. */
            "statistics.interval.ms",
            (cfg->metrics_addr && !dead_letter) || gateway ? "1000" : "0",
            /* The dead-letter and gateway settings, last: for
             * event-producer the list ends here.
             *
             * A dead letter is as large as the toxic payload, which the
             * source topic may have allowed beyond the default 1 MB, and
             * a gateway's event as --max-body-bytes allows: let the
             * broker's limit for the topic decide. */
            dead_letter || gateway ? "message.max.bytes" : NULL, "1000000000",
            /* Each failure surfaces within this, so that the consumer can
             * say so and try again until --dlq-timeout, and the gateway's
             * answer is the broker's. */
            "message.timeout.ms", timeout_ms, NULL};
        struct kafka_publisher *kp;
        rd_kafka_conf_t *conf;
        double t;

        if (gateway) {
                /* librdkafka wants more than linger.ms, and an int. */
                t = cfg->publish_timeout;
                t = t < 0.01 ? 0.01 : t > 86400 ? 86400 : t;
        } else {
                /* A quarter: a few rounds of retries fit in the
                 * timeout. */
                t = cfg->dlq_timeout / 4;
                t = t < 1 ? 1 : t > 10 ? 10 : t;
        }
        snprintf(timeout_ms, sizeof(timeout_ms), "%d", (int)(t * 1000));

        kp = calloc(1, sizeof(*kp));
        if (!kp) {
                *err = EV_ERR_NOMEM;
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        kp->base.ops = &kafka_publisher_ops;
        kp->topic = cfg->topic;
        kp->dr_cb = dr_cb;
        kp->opaque = opaque;
        *err = EV_ERR_CONFIG;
        conf = ev_kafka_conf_new(
            cfg, defaults, dead_letter || gateway ? confirmed_protected : NULL,
            errstr, errstr_size);
        if (!conf)
                goto err;
        rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
        rd_kafka_conf_set_opaque(conf, kp);
        kp->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
        if (!kp->rk) {
                rd_kafka_conf_destroy(conf);
                goto err;
        }
        *err = EV_OK;
        return &kp->base;
err:
        free(kp);
        return NULL;
}
