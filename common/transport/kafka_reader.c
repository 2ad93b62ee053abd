/*
 * Reading a topic to its end without a consumer group, over librdkafka's
 * per-partition consumer: no group to join, no offsets to commit, so a
 * check can never move a consumer's position. Owns its rd_kafka_t for the
 * length of one read; knows nothing of what the messages mean.
 */
#include "kafka_reader.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "kafka_conf.h"
#include "log.h"
#include "signals.h"

/* How long the metadata and each partition's watermarks may take. */
#define REQUEST_MS 10000
/* How long the read may go without a message or a partition's end
 * before the brokers count as gone. */
#define STALL_S 30.0
#define POLL_MS 200

/* What reading without a group depends on: no group (so nothing can be
 * committed) and an event at each partition's end. */
static const char *const protected_keys[] = {"group.id", "enable.auto.commit",
                                             "enable.partition.eof", NULL};

struct partition {
        int32_t id;
        int64_t low;  /* the start when reading began */
        int64_t high; /* the end when reading began */
        bool started;
        bool done;
};

/* Our defaults for reading without a group; the user's -X go on top. */
static rd_kafka_conf_t *new_conf(const struct ev_config *cfg, char *errstr,
                                 size_t errstr_size)
{
        const char *const defaults[] = {
            "bootstrap.servers", cfg->brokers, "client.id", "event-verify",
            "enable.partition.eof", "true", "enable.auto.commit", "false",
            /* A partition's start deleted by retention while it is read:
             * go on from its new start. */
            "auto.offset.reset", "earliest", NULL};

        return ev_kafka_conf_new(cfg, defaults, protected_keys, errstr,
                                 errstr_size);
}

/* The topic's partitions and their ends, into *parts (n of them, owned
 * by the caller). */
static enum ev_err describe(rd_kafka_t *rk, rd_kafka_topic_t *rkt,
                            const char *topic, struct partition **parts, int *n,
                            char *errstr, size_t errstr_size)
{
        const struct rd_kafka_metadata *md;
        const rd_kafka_metadata_topic_t *t;
        rd_kafka_resp_err_t rerr;
        enum ev_err err = EV_OK;
        int i;

        *parts = NULL;
        *n = 0;
        rerr = rd_kafka_metadata(rk, 0, rkt, &md, REQUEST_MS);
        if (rerr) {
                snprintf(errstr, errstr_size, "metadata of topic %s: %s", topic,
                         rd_kafka_err2str(rerr));
                return EV_ERR_TRANSIENT;
        }
        t = md->topic_cnt == 1 ? &md->topics[0] : NULL;
        if (!t || t->err || !t->partition_cnt) {
                snprintf(errstr, errstr_size, "topic %s: %s", topic,
                         !t || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                             ? "no such topic"
                             : rd_kafka_err2str(t->err));
                err = EV_ERR_PERMANENT;
                goto out;
        }
        *parts = calloc((size_t)t->partition_cnt, sizeof(**parts));
        if (!*parts) {
                snprintf(errstr, errstr_size, "out of memory");
                err = EV_ERR_NOMEM;
                goto out;
        }
        *n = t->partition_cnt;
        for (i = 0; i < *n && !err; i++) {
                struct partition *p = &(*parts)[i];

                p->id = t->partitions[i].id;
                rerr = rd_kafka_query_watermark_offsets(
                    rk, topic, p->id, &p->low, &p->high, REQUEST_MS);
                if (rerr) {
                        snprintf(errstr, errstr_size,
                                 "the end of %s [%" PRId32 "]: %s", topic,
                                 p->id, rd_kafka_err2str(rerr));
                        err = EV_ERR_TRANSIENT;
                }
                /* Empty: nothing to wait for. */
                p->done = p->low >= p->high;
        }
out:
        rd_kafka_metadata_destroy(md);
        return err;
}

static struct partition *find(struct partition *parts, int n, int32_t id)
{
        int i;

        for (i = 0; i < n; i++)
                if (parts[i].id == id)
                        return &parts[i];
        return NULL;
}

/* Handles one message or event of the queue; *left counts the partitions
 * not read to their end yet. */
static enum ev_err handle(const rd_kafka_message_t *rkm, const char *topic,
                          struct partition *parts, int n, int *left,
                          ev_topic_msg_cb cb, void *opaque, char *errstr,
                          size_t errstr_size)
{
        struct partition *p = find(parts, n, rkm->partition);
        struct ev_topic_msg msg;
        enum ev_err err = EV_OK;

        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                /* The end of what is there now; control records of
                 * transactions can keep the last message below the
                 * watermark. */
                if (p && !p->done && rkm->offset >= p->high) {
                        p->done = true;
                        (*left)--;
                }
                return EV_OK;
        }
        if (rkm->err) {
                snprintf(errstr, errstr_size, "topic %s [%" PRId32 "]: %s",
                         topic, rkm->partition, rd_kafka_message_errstr(rkm));
                switch (rkm->err) {
                case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
                case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
                case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
                case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
                        return EV_ERR_PERMANENT;
                default:
                        /* Retried by librdkafka; the stall timeout ends
                         * it if it never passes. */
                        ev_log(EV_LOG_WARN, "%s", errstr);
                        return EV_OK;
                }
        }
        /* Produced since reading began, or read already. */
        if (!p || p->done || rkm->offset >= p->high)
                return EV_OK;
        msg.payload = rkm->payload;
        msg.len = rkm->len;
        msg.key = rkm->key;
        msg.key_len = rkm->key_len;
        msg.topic = topic;
        msg.partition = rkm->partition;
        msg.offset = rkm->offset;
        err = cb(opaque, &msg, errstr, errstr_size);
        if (rkm->offset >= p->high - 1) {
                p->done = true;
                (*left)--;
        }
        return err;
}

enum ev_err ev_topic_read(const struct ev_config *cfg, ev_topic_msg_cb cb,
                          void *opaque, char *errstr, size_t errstr_size)
{
        struct partition *parts = NULL;
        rd_kafka_queue_t *rkqu = NULL;
        rd_kafka_topic_t *rkt = NULL;
        rd_kafka_message_t *rkm;
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk = NULL;
        enum ev_err err;
        int64_t total = 0;
        double last;
        int n = 0, left = 0, i;

        conf = new_conf(cfg, errstr, errstr_size);
        if (!conf)
                return EV_ERR_CONFIG;
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
        if (!rk) {
                rd_kafka_conf_destroy(conf);
                return EV_ERR_CONFIG;
        }
        rkt = rd_kafka_topic_new(rk, cfg->topic, NULL);
        rkqu = rd_kafka_queue_new(rk);
        if (!rkt || !rkqu) {
                snprintf(errstr, errstr_size, "topic %s: %s", cfg->topic,
                         rd_kafka_err2str(rd_kafka_last_error()));
                err = EV_ERR_PERMANENT;
                goto out;
        }
        err = describe(rk, rkt, cfg->topic, &parts, &n, errstr, errstr_size);
        /* From each partition's beginning, whatever was committed: one
         * queue serves them all, in the order their messages arrive. */
        for (i = 0; i < n && !err; i++) {
                if (parts[i].done)
                        continue;
                if (rd_kafka_consume_start_queue(rkt, parts[i].id,
                                                 RD_KAFKA_OFFSET_BEGINNING,
                                                 rkqu) == -1) {
                        snprintf(errstr, errstr_size,
                                 "reading %s [%" PRId32 "]: %s", cfg->topic,
                                 parts[i].id,
                                 rd_kafka_err2str(rd_kafka_last_error()));
                        err = EV_ERR_PERMANENT;
                        break;
                }
                parts[i].started = true;
                total += parts[i].high - parts[i].low;
                left++;
        }
        if (err)
                goto out;
        ev_log(EV_LOG_INFO,
               "reading topic %s from %s: %d partition(s), up to %" PRId64
               " message(s)",
               cfg->topic, cfg->brokers, n, total);
        last = ev_signals_now();
        while (left > 0 && !err) {
                rkm = rd_kafka_consume_queue(rkqu, POLL_MS);
                if (!rkm) {
                        if (ev_signals_now() - last < STALL_S)
                                continue;
                        snprintf(errstr, errstr_size,
                                 "topic %s: %d partition(s) not read to "
                                 "their end: nothing came for %g s",
                                 cfg->topic, left, STALL_S);
                        err = EV_ERR_TRANSIENT;
                        break;
                }
                last = ev_signals_now();
                err = handle(rkm, cfg->topic, parts, n, &left, cb, opaque,
                             errstr, errstr_size);
                rd_kafka_message_destroy(rkm);
        }
out:
        for (i = 0; i < n; i++)
                if (parts[i].started)
                        rd_kafka_consume_stop(rkt, parts[i].id);
        free(parts);
        if (rkqu)
                rd_kafka_queue_destroy(rkqu);
        if (rkt)
                rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        return err;
}
