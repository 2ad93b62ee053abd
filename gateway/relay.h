/*
 * The one thread that drives event-gateway's publisher, which is not
 * thread-safe (Pub/Sub): request threads submit jobs, the relay publishes
 * them in order and sends what it has as soon as its queue runs empty, so
 * that requests arriving together share a broker round trip (group commit)
 * and a lone one never waits for a linger. Each job's delivery report goes
 * to one callback, on the relay's thread.
 */
#ifndef EV_GATEWAY_RELAY_H
#define EV_GATEWAY_RELAY_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "transport.h"

/* One message to publish, embedded in its caller's request so that the
 * relay allocates nothing per message. */
struct ev_relay_job {
        /* What to publish, borrowed until the job's delivery callback;
         * msg.opaque is handed back in it as msg_opaque. */
        struct ev_out_msg msg;
        /* The relay's own links, while the job is queued or in flight. */
        struct ev_relay_job *prev, *next;
};

struct ev_relay;

/*
 * Makes the publisher of cfg (ev_publisher_new; cfg is borrowed and must
 * outlive the relay) and starts the relay thread, the only one that uses
 * it from then on. dr_cb is called once per submitted job, on the relay's
 * thread, with opaque and the job's msg.opaque: the broker's report, or a
 * failure the relay reports itself (the publisher refused the message;
 * not confirmed at stop). The relay counts produced messages, publish
 * errors and failed deliveries (metrics.h) and beats /healthz. Returns
 * NULL with *err and errstr set on failure.
 */
struct ev_relay *ev_relay_start(const struct ev_config *cfg,
                                ev_delivery_cb dr_cb, void *opaque,
                                enum ev_err *err, char *errstr,
                                size_t errstr_size);

/*
 * Queues job, borrowed until its delivery callback, which may come before
 * this returns. Safe from any thread. EV_ERR_TRANSIENT while stopping,
 * EV_ERR_FATAL once the publisher has failed: then the job is not queued
 * and gets no callback.
 */
enum ev_err ev_relay_submit(struct ev_relay *r, struct ev_relay_job *job);

/* EV_OK while the publisher works; EV_ERR_FATAL, with its reason in
 * errstr, once it has failed for good (a Kafka fatal error): from then on
 * every job is refused. Safe from any thread. */
enum ev_err ev_relay_status(struct ev_relay *r, char *errstr,
                            size_t errstr_size);

/*
 * Stops taking jobs (ev_relay_submit refuses them from now on), publishes
 * those queued, waits up to drain_s for every job in flight, then flushes
 * the publisher for up to flush_s; a job still unconfirmed then is reported
 * failed. Joins the thread and destroys the publisher. Returns how many
 * jobs were reported failed that way.
 */
size_t ev_relay_stop(struct ev_relay *r, double drain_s, double flush_s);

/* Stops r if it runs (as ev_relay_stop(r, 0, 0)) and frees it (NULL is a
 * no-op). */
void ev_relay_destroy(struct ev_relay *r);

#endif
