/*
 * The interface every broker transport implements, so the consumer pipeline
 * and the producer never see which broker carries their messages. A
 * transport is created by ev_source_new / ev_publisher_new (or its own
 * constructor: kafka.h, pubsub.h) and used only through these operations.
 */
#ifndef EV_TRANSPORT_H
#define EV_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"

/* One received message. All pointers are owned by the source and stay valid
 * until the message is passed to ack or release. */
struct ev_msg {
        const char *payload; /* NULL: a tombstone (no value at all) */
        size_t len;
        const char *key; /* NULL: no key */
        size_t key_len;
        void *handle; /* the transport's own message */
};

/* A Kafka header or a Pub/Sub attribute: len bytes at value, not
 * NUL-terminated. Pub/Sub takes only valid UTF-8 values of up to 1024
 * bytes. */
struct ev_header {
        const char *name;
        const char *value;
        size_t len;
};

/* The most headers a source's origin op writes. */
#define EV_ORIGIN_HEADERS_MAX 6

struct ev_source;

struct ev_source_ops {
        /* Waits up to timeout_ms for a first message, then takes what else
         * is ready without waiting, up to max. *cnt is 0 on timeout.
         * EV_ERR_PERMANENT: the client cannot go on (fatal broker error). */
        enum ev_err (*poll)(struct ev_source *src, struct ev_msg *msgs,
                            size_t max, int timeout_ms, size_t *cnt,
                            char *errstr, size_t errstr_size);
        /* Writes where msg came from ("topic=T partition=P offset=O",
         * "subscription=S message_id=ID"). */
        void (*describe)(const struct ev_source *src, const struct ev_msg *msg,
                         char *buf, size_t size);
        /* Fills up to EV_ORIGIN_HEADERS_MAX headers that say where msg came
         * from, with values written into buf: "source.topic",
         * "source.partition", "source.offset" and "consumer.group", or
         * "source.subscription" and "source.message_id"; "source.timestamp"
         * (RFC 3339) when the broker gave one. Returns how many; a value
         * that does not fit in buf is left out. */
        size_t (*origin)(const struct ev_source *src, const struct ev_msg *msg,
                         struct ev_header *hdrs, char *buf, size_t size);
        /* The output for msgs is safe: mark them processed so they are
         * committed, and free them. */
        void (*ack)(struct ev_source *src, struct ev_msg *msgs, size_t cnt);
        /* Free msgs without acknowledging: they will be delivered again. */
        void (*release)(struct ev_source *src, struct ev_msg *msgs, size_t cnt);
        /* Commits what was acknowledged, leaves the group and frees src
         * (NULL is a no-op). */
        enum ev_err (*close)(struct ev_source *src, char *errstr,
                             size_t errstr_size);
        /* Optional (NULL: always ready). True while src can deliver
         * messages: a Kafka consumer that holds partitions, not one still
         * joining its group. An empty poll means "nothing new" only while
         * the source is ready; the consumer's idle clock runs only then. */
        bool (*ready)(const struct ev_source *src);
};

struct ev_source {
        const struct ev_source_ops *ops;
};

/* The outcome of one published message, passed to the publisher's delivery
 * callback. Strings are valid only during the callback. */
struct ev_delivery {
        void *msg_opaque; /* the message's ev_out_msg.opaque */
        bool ok;
        const char *where; /* "partition=P offset=O" or "message_id=ID"
                            * when ok */
        const char *error; /* the broker's reason when not ok */
};

typedef void (*ev_delivery_cb)(void *opaque, const struct ev_delivery *dr);

/* One message to publish. publish copies what it needs: everything here is
 * borrowed for the call only. */
struct ev_out_msg {
        const char *payload;
        size_t len;
        const char *key; /* NULL: no key */
        size_t key_len;
        const struct ev_header *headers;
        size_t header_cnt;
        void *opaque; /* handed back in the message's ev_delivery */
};

struct ev_publisher;

struct ev_publisher_ops {
        /* Queues one message. Waits for room when the local queue is
         * full, serving delivery callbacks meanwhile. An error here means
         * msg was not queued and gets no delivery callback. */
        enum ev_err (*publish)(struct ev_publisher *pub,
                               const struct ev_out_msg *msg, char *errstr,
                               size_t errstr_size);
        /* Serves delivery callbacks, waiting up to timeout_ms. */
        void (*poll)(struct ev_publisher *pub, int timeout_ms);
        /* Waits up to timeout_ms for every queued message; returns how many
         * are still undelivered. */
        size_t (*flush)(struct ev_publisher *pub, int timeout_ms);
        /* Frees pub (NULL is a no-op); undelivered messages are dropped. */
        void (*destroy)(struct ev_publisher *pub);
};

struct ev_publisher {
        const struct ev_publisher_ops *ops;
};

/*
 * The source or publisher of cfg->transport; see ev_kafka_source_new and
 * ev_pubsub_source_new for what each does. Returns NULL with *err and
 * errstr set on failure. cfg is borrowed and must outlive the result.
 */
struct ev_source *ev_source_new(const struct ev_config *cfg, enum ev_err *err,
                                char *errstr, size_t errstr_size);
struct ev_publisher *ev_publisher_new(const struct ev_config *cfg,
                                      ev_delivery_cb dr_cb, void *opaque,
                                      enum ev_err *err, char *errstr,
                                      size_t errstr_size);

/* For the transports' origin ops: appends header name to hdrs[n], its
 * value printed into buf at *off (advanced past the value and a NUL).
 * Returns the new count: n when the value does not fit. */
size_t ev_origin_add(struct ev_header *hdrs, size_t n, const char *name,
                     char *buf, size_t size, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* "librdkafka 2.0.2, libcurl 7.88.1, jansson 2.14" for --version, into
 * buf. */
void ev_transport_versions(char *buf, size_t size);

#endif
