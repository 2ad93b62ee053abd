/*
 * One batch through the consumer: validate each message, report the toxic
 * ones, hand the batch to every sink, and only then acknowledge it. Keeps
 * the counts that the exit summary reports.
 */
#ifndef EV_PIPELINE_H
#define EV_PIPELINE_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "event.h"
#include "parallel.h"
#include "redact.h"
#include "sink.h"
#include "transport.h"

/* Counts of acknowledged messages, except unacknowledged: the messages of
 * batches released after an output failure, to be delivered again. */
struct ev_pipeline_stats {
        unsigned long consumed; /* = valid + toxic + tombstones */
        unsigned long valid;
        unsigned long toxic;
        unsigned long tombstones;
        unsigned long by_reason[EV_REASON__CNT];
        unsigned long unacknowledged;
        unsigned long dead_lettered; /* toxic ones confirmed on the DLQ */
        unsigned long late; /* valid ones older than the late threshold */
};

struct ev_pipeline {
        struct ev_sink **sinks; /* borrowed, written in this order */
        size_t sink_cnt;
        bool dead_letters;           /* one sink is the dead-letter topic */
        bool keep_events;            /* a sink or the redactor needs roots */
        struct ev_event_rules rules; /* copied */
        double late_ms;              /* the late threshold (any size) */
        double sink_timeout;         /* seconds a sink's RETRY is retried */
        struct ev_sink_item *items;  /* the batch in hand; owned */
        int64_t *times; /* items' event times (INT64_MIN: none); owned */
        size_t items_cap;
        struct ev_pipeline_stats stats;
        struct ev_redactor *redactor; /* borrowed; NULL: no --redact */
        struct ev_parallel *pool;     /* borrowed; NULL: one thread */
};

/* Sets up pl to write each batch to sinks[0..cnt) (borrowed, and kept for
 * pl's life), counting toxic messages as dead-lettered when one of them is
 * the dead-letter topic, and as late the valid events whose time
 * (ev_event_time_ms) is more than late_s older than their arrival. A sink
 * that answers RETRY is retried for sink_timeout seconds. With redactor
 * (borrowed, kept for pl's life, used from pl's thread only; NULL: off),
 * each valid event is redacted after validation, before any sink sees it
 * (ev_redact_event; item->redacted and item->original_message tell the
 * sinks), and so is the report of each toxic message. With pool (borrowed,
 * kept for pl's life; NULL: none) the messages of a batch are parsed and
 * validated on its threads; all else, redaction, reports, counts and the
 * sinks, stays on pl's thread, in the batch's order. */
void ev_pipeline_init(struct ev_pipeline *pl, struct ev_sink **sinks,
                      size_t cnt, bool dead_letters,
                      const struct ev_event_rules *rules, double late_s,
                      double sink_timeout, struct ev_redactor *redactor,
                      struct ev_parallel *pool);

/* Frees what pl owns (not the sinks). */
void ev_pipeline_free(struct ev_pipeline *pl);

/*
 * Processes msgs[0..cnt), which src handed out, and hands them back to src:
 * acknowledged when every sink has made the batch durable (write, then
 * flush, answered OK); released unacknowledged (to be delivered again) with
 * errstr set otherwise, with the error class of the sink that failed
 * (EV_ERR_IO: stdout; EV_ERR_TRANSIENT: the dead-letter topic, or a sink
 * still answering RETRY after sink_timeout or a stop request;
 * EV_ERR_PERMANENT: a sink that cannot go on), or EV_ERR_NOMEM.
 */
enum ev_err ev_pipeline_run(struct ev_pipeline *pl, struct ev_source *src,
                            struct ev_msg *msgs, size_t cnt, char *errstr,
                            size_t errstr_size);

/* Writes "consumed=N valid=N toxic=N tombstones=N", a count per toxic
 * reason, "unacknowledged=N", "dead_lettered=N" and "late=N" into buf. */
void ev_pipeline_summary(const struct ev_pipeline_stats *stats, char *buf,
                         size_t size);

#endif
