/*
 * Inside the Kafka transport only (kafka.c, kafka_reader.c): the one way
 * its clients are configured, so that they log, report errors and take -X
 * properties alike.
 */
#ifndef EV_KAFKA_CONF_H
#define EV_KAFKA_CONF_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "config.h"

/*
 * A new librdkafka configuration: librdkafka's logs and errors in ours, its
 * statistics into /metrics, no client metrics pushed to the broker, the
 * NULL-terminated key/value pairs defaults,
 * then cfg's -X properties, except those named in protected_keys (NULL:
 * none), refused. NULL with errstr set on failure (the value of a property
 * that looks secret is never repeated). The caller owns the result.
 */
rd_kafka_conf_t *ev_kafka_conf_new(const struct ev_config *cfg,
                                   const char *const *defaults,
                                   const char *const *protected_keys,
                                   char *errstr, size_t errstr_size);

#endif
