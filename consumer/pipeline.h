/*
 * One batch through the consumer: validate each message, write its verdict,
 * flush, and only then acknowledge the batch. Keeps the counts that the
 * exit summary reports.
 */
#ifndef EV_PIPELINE_H
#define EV_PIPELINE_H

#include <stdint.h>
#include <stdio.h>

#include "dlq.h"
#include "err.h"
#include "event.h"
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
        FILE *out;                   /* valid events, borrowed */
        struct ev_dlq *dlq;          /* toxic messages, borrowed; NULL: none */
        struct ev_event_rules rules; /* copied */
        double late_ms;              /* the late threshold (any size) */
        struct ev_pipeline_stats stats;
};

/* Sets up pl to write valid events to out and dead letters to dlq (both
 * borrowed; dlq may be NULL), counting as late the valid events whose
 * timestamp is more than late_s older than their arrival. */
void ev_pipeline_init(struct ev_pipeline *pl, FILE *out, struct ev_dlq *dlq,
                      const struct ev_event_rules *rules, double late_s);

/*
 * Processes msgs[0..cnt), which src handed out, and hands them back to src:
 * acknowledged when every output line was written, out flushed and every
 * dead letter confirmed; released unacknowledged (to be delivered again)
 * with errstr set otherwise: EV_ERR_IO when out failed, EV_ERR_TRANSIENT
 * when the dead-letter topic could not be written (ev_dlq_confirm).
 */
enum ev_err ev_pipeline_run(struct ev_pipeline *pl, struct ev_source *src,
                            struct ev_msg *msgs, size_t cnt, char *errstr,
                            size_t errstr_size);

/* Writes "consumed=N valid=N toxic=N tombstones=N", a count per toxic
 * reason, "unacknowledged=N", "dead_lettered=N" and "late=N" into buf. */
void ev_pipeline_summary(const struct ev_pipeline_stats *stats, char *buf,
                         size_t size);

#endif
