/*
 * The consumer's batch step. Borrows the source, the messages and the
 * output stream; owns only the counters and the parsed JSON of the one
 * message in hand.
 */
#include "pipeline.h"

#include <errno.h>
#include <string.h>

#include "sink.h"

void ev_pipeline_init(struct ev_pipeline *pl, FILE *out, struct ev_dlq *dlq,
                      const struct ev_event_rules *rules)
{
        memset(pl, 0, sizeof(*pl));
        pl->out = out;
        pl->dlq = dlq;
        pl->rules = *rules;
}

/* Validates and writes one message, counting it in batch. */
static enum ev_err process_one(struct ev_pipeline *pl, struct ev_source *src,
                               const struct ev_msg *msg,
                               struct ev_pipeline_stats *batch, char *errstr,
                               size_t errstr_size)
{
        struct ev_verdict verdict;
        char where[256];

        batch->consumed++;
        if (!msg->payload) {
                /* A compaction tombstone deletes its key; nothing to
                 * print. */
                batch->tombstones++;
                return EV_OK;
        }
        if (ev_event_validate(msg->payload, msg->len, &pl->rules, NULL,
                              &verdict)) {
                batch->valid++;
                return ev_sink_write_valid(pl->out, msg->payload, msg->len,
                                           errstr, errstr_size);
        }
        batch->toxic++;
        batch->by_reason[verdict.reason]++;
        src->ops->describe(src, msg, where, sizeof(where));
        ev_sink_report_toxic(msg->payload, msg->len, &verdict, where);
        if (!pl->dlq)
                return EV_OK;
        batch->dead_lettered++;
        return ev_dlq_add(pl->dlq, src, msg, &verdict, errstr, errstr_size);
}

static void add_stats(struct ev_pipeline_stats *to,
                      const struct ev_pipeline_stats *from)
{
        int r;

        to->consumed += from->consumed;
        to->valid += from->valid;
        to->toxic += from->toxic;
        to->tombstones += from->tombstones;
        to->dead_lettered += from->dead_lettered;
        for (r = 0; r < EV_REASON__CNT; r++)
                to->by_reason[r] += from->by_reason[r];
}

enum ev_err ev_pipeline_run(struct ev_pipeline *pl, struct ev_source *src,
                            struct ev_msg *msgs, size_t cnt, char *errstr,
                            size_t errstr_size)
{
        struct ev_pipeline_stats batch;
        enum ev_err err = EV_OK;
        size_t i;

        memset(&batch, 0, sizeof(batch));
        for (i = 0; i < cnt && !err; i++)
                err =
                    process_one(pl, src, &msgs[i], &batch, errstr, errstr_size);
        /* One flush per batch: a write(2) per event would cost more than
         * the validation itself on a pipe. */
        if (!err && fflush(pl->out) == EOF) {
                snprintf(errstr, errstr_size, "flushing stdout: %s",
                         strerror(errno));
                err = EV_ERR_IO;
        }
        if (pl->dlq && !err)
                err = ev_dlq_confirm(pl->dlq, errstr, errstr_size);
        else if (pl->dlq)
                ev_dlq_discard(pl->dlq);
        if (err) {
                src->ops->release(src, msgs, cnt);
                pl->stats.unacknowledged += cnt;
                return err;
        }
        src->ops->ack(src, msgs, cnt);
        add_stats(&pl->stats, &batch);
        return EV_OK;
}

void ev_pipeline_summary(const struct ev_pipeline_stats *stats, char *buf,
                         size_t size)
{
        size_t off;
        int r;

        off = (size_t)snprintf(buf, size,
                               "consumed=%lu valid=%lu toxic=%lu "
                               "tombstones=%lu",
                               stats->consumed, stats->valid, stats->toxic,
                               stats->tombstones);
        for (r = EV_REASON_NONE + 1; r < EV_REASON__CNT && off < size; r++)
                off += (size_t)snprintf(buf + off, size - off, " %s=%lu",
                                        ev_reason_name((enum ev_reason)r),
                                        stats->by_reason[r]);
        if (off < size)
                snprintf(buf + off, size - off,
                         " unacknowledged=%lu dead_lettered=%lu",
                         stats->unacknowledged, stats->dead_lettered);
}
