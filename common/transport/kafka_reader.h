/*
 * A topic read once from its beginning to its end as it was at the start,
 * for event-verify: every partition assigned by hand, no consumer group,
 * nothing committed. Part of the Kafka transport (kafka_reader.c), whose
 * files alone include rdkafka.h.
 */
#ifndef EV_KAFKA_READER_H
#define EV_KAFKA_READER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

/* One message, borrowed for the callback only. */
struct ev_topic_msg {
        const char *payload; /* NULL: a tombstone (NULL value) */
        size_t len;
        const char *key; /* NULL: none */
        size_t key_len;
        const char *topic;
        int32_t partition;
        int64_t offset;
};

/* Called for each message in read order (each partition's in its order);
 * anything but EV_OK stops the reading with that error and errstr. */
typedef enum ev_err (*ev_topic_msg_cb)(void *opaque,
                                       const struct ev_topic_msg *msg,
                                       char *errstr, size_t errstr_size);

/*
 * Reads cfg->topic at cfg->brokers (with cfg's -X properties on top of
 * our defaults, except group.id, enable.auto.commit and
 * enable.partition.eof, which reading without a group depends on): each
 * partition from its first message to its high watermark when reading
 * began, handing each message to cb with opaque. Messages produced since
 * are not read.
 *
 * Returns EV_OK once every partition is read; EV_ERR_CONFIG for a
 * rejected property, EV_ERR_PERMANENT for a missing topic, EV_ERR_TRANSIENT
 * when the brokers do not answer (or stop answering for 30 s), or cb's
 * error; errstr set. cfg is borrowed for the call.
 */
enum ev_err ev_topic_read(const struct ev_config *cfg, ev_topic_msg_cb cb,
                          void *opaque, char *errstr, size_t errstr_size);

#endif
