/*
 * The Kafka transport: librdkafka behind the ev_source and ev_publisher
 * interfaces (and, for event-verify, kafka_reader.h). Its files are the
 * only ones that include rdkafka.h.
 */
#ifndef EV_KAFKA_H
#define EV_KAFKA_H

#include "config.h"
#include "transport.h"

/*
 * A consumer in cfg->group subscribed to cfg->topic, a static member when
 * cfg->instance_id is set. Offsets are stored only by ack and committed in
 * the background (every second while there are new ones), on partition
 * revocation and on close; a new group starts from the earliest offset. It
 * is ready while it holds partitions. -X properties apply on top of our
 * defaults, except the ones the delivery guarantee depends on.
 *
 * Returns NULL with *err (EV_ERR_CONFIG for a rejected property) and errstr
 * set on failure. cfg is borrowed for the call only.
 */
struct ev_source *ev_kafka_source_new(const struct ev_config *cfg,
                                      enum ev_err *err, char *errstr,
                                      size_t errstr_size);

/*
 * An idempotent producer (acks=all) for cfg->topic. dr_cb is called once per
 * message from publish, poll and flush, with opaque. Made for the consumer
 * role, it is the dead-letter publisher: messages up to the broker's limit,
 * each reported failed after a quarter of cfg->dlq_timeout (between 1 and
 * 10 s) without a confirmation. Made for the gateway role: messages up to
 * the broker's limit, sent after 1 ms (linger.ms, which -X may change),
 * each reported failed after cfg->publish_timeout without a confirmation;
 * it reports the broker's state for /readyz. For both, -X may not change
 * acks, enable.idempotence or the message timeout. cfg is borrowed and
 * must outlive the publisher.
 */
struct ev_publisher *ev_kafka_publisher_new(const struct ev_config *cfg,
                                            ev_delivery_cb dr_cb, void *opaque,
                                            enum ev_err *err, char *errstr,
                                            size_t errstr_size);

/* librdkafka's version, for --version. Static string. */
const char *ev_kafka_version(void);

#endif
