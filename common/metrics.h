/*
 * The process's metrics and health, as the Prometheus endpoint (httpd.h)
 * serves them. Written by the pipeline's and the clients' threads, read by
 * the endpoint's: counters and histograms are atomic, the per-partition
 * lag is behind a lock. Process-wide state, like a server's statistics:
 * there is one pipeline per process.
 */
#ifndef EV_METRICS_H
#define EV_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "event.h"

enum ev_counter {
        EV_C_VALID,           /* consumed: valid events */
        EV_C_TOXIC,           /* consumed: toxic messages (also by reason) */
        EV_C_TOMBSTONES,      /* consumed: tombstones */
        EV_C_DEAD_LETTERED,   /* dead letters the broker confirmed */
        EV_C_ACKNOWLEDGED,    /* messages acknowledged (offsets stored) */
        EV_C_COMMITS,         /* offset commits the broker accepted */
        EV_C_COMMIT_ERRORS,   /* offset commits that failed */
        EV_C_PUBLISH_ERRORS,  /* messages a publisher could not queue */
        EV_C_PRODUCED,        /* messages the broker confirmed (producer,
                               * gateway) */
        EV_C_DELIVERY_FAILED, /* messages reported undelivered */
        EV_C_LATE,            /* valid events older than the late threshold */
        EV_C_SINK_RETRIES,    /* batches a sink answered RETRY for */
        EV_C_SINK_SKIPPED,    /* valid events a sink could not store */
        EV_C_SINK_ROWS,       /* rows a database sink committed */
        EV_C__CNT,
};

enum ev_histogram {
        EV_H_BATCH_SECONDS,   /* one batch: validate, write, confirm, ack */
        EV_H_EVENT_AGE,       /* arrival time minus the event's timestamp */
        EV_H_GATEWAY_SECONDS, /* a gateway request, to its answer */
        EV_H__CNT,
};

/* Sets what build_info and the endpoint report: the role's metrics only,
 * and the version strings (static, or outliving the process's use). */
void ev_metrics_init(enum ev_role role, const char *version,
                     const char *libraries);

void ev_metrics_add(enum ev_counter c, unsigned long n);
void ev_metrics_toxic(enum ev_reason reason, unsigned long n);
/* Records one observation, in seconds (negative ones count as 0). */
void ev_metrics_observe(enum ev_histogram h, double seconds);
/* Counts one answer of event-gateway's, by HTTP status (100 to 599). */
void ev_metrics_request(unsigned status);

/* The consumer lag of one partition (librdkafka's consumer_lag; -1 when
 * unknown). Partitions not named in a round of ev_metrics_lag_begin/end
 * are dropped: they were revoked. */
void ev_metrics_lag_begin(void);
void ev_metrics_lag_set(const char *topic, int32_t partition, int64_t lag);
void ev_metrics_lag_end(void);

/* Liveness: the pipeline's loop calls beat on every turn (and while it
 * waits on a broker); alive while the last beat is at most max_age_s
 * old. */
void ev_health_beat(void);
bool ev_health_alive(double max_age_s);
/* Readiness, set by the pipeline (it holds partitions, its subscription
 * answers) and by the transports (a broker connection is up). */
void ev_health_set_serving(bool serving);
void ev_health_set_connected(bool connected);
bool ev_health_ready(void);

/* The Prometheus text exposition (version 0.0.4) of every metric, into a
 * new NUL-terminated buffer the caller frees; *len is its length. NULL when
 * out of memory. */
char *ev_metrics_render(size_t *len);

#endif
