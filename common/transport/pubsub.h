/*
 * The Google Cloud Pub/Sub transport: its REST v1 API over libcurl, behind
 * the ev_source and ev_publisher interfaces. With cfg->emulator_host set it
 * speaks plain HTTP to the emulator without authentication, as Google's
 * client libraries do; otherwise HTTPS to cfg->pubsub_endpoint with
 * Application Default Credentials (gauth.h).
 */
#ifndef EV_PUBSUB_H
#define EV_PUBSUB_H

#include "config.h"
#include "transport.h"

/*
 * A subscriber on cfg->subscription of cfg->project. Checks that the
 * subscription exists (creating the topic and the subscription first with
 * cfg->create): a missing one is EV_ERR_FATAL with the API's message.
 * An I/O thread keeps cfg->pulls pulls of cfg->pull_max messages in flight
 * while fewer than cfg->pulls x cfg->pull_max pulled messages wait to be
 * polled, and sends the acknowledgements beside them: ack hands the ack
 * ids over and returns, and close waits until they are sent. release
 * hands messages back with a zero ack deadline, at once, and a lease
 * thread extends the deadline of messages held longer than half of it. A
 * bad credentials file is EV_ERR_CONFIG.
 *
 * Returns NULL with *err and errstr set on failure. cfg is borrowed and
 * must outlive the source.
 */
struct ev_source *ev_pubsub_source_new(const struct ev_config *cfg,
                                       enum ev_err *err, char *errstr,
                                       size_t errstr_size);

/*
 * A publisher to cfg->pubsub_topic of cfg->project, in batches within the
 * API's limits; with cfg->ordering, each message's ordering key is its key
 * (or its JSON service_name). Message headers become attributes, and a
 * message may be empty when it has some. dr_cb is called once per message,
 * from publish, poll and flush, with "message_id=ID" on success. Made for
 * the consumer role (its dead-letter topic), each request is retried for
 * at most cfg->dlq_timeout. Made for the gateway role, each request ends
 * within cfg->publish_timeout, retries included, and the gateway counts as
 * connected (/readyz) once the topic answered. cfg is borrowed and must
 * outlive the publisher.
 */
struct ev_publisher *ev_pubsub_publisher_new(const struct ev_config *cfg,
                                             ev_delivery_cb dr_cb, void *opaque,
                                             enum ev_err *err, char *errstr,
                                             size_t errstr_size);

/* libcurl's version, for --version. Static string. */
const char *ev_pubsub_version(void);

#endif
