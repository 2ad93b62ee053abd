/*
 * The consumer's batch step. Borrows the source, the messages and the
 * output stream; owns only the counters and the parsed JSON of the one
 * message in hand.
 */
#include "pipeline.h"

#include <errno.h>
#include <string.h>

#include "metrics.h"
#include "signals.h"
#include "sink.h"
#include "timefmt.h"

void ev_pipeline_init(struct ev_pipeline *pl, FILE *out, struct ev_dlq *dlq,
                      const struct ev_event_rules *rules, double late_s)
{
        memset(pl, 0, sizeof(*pl));
        pl->out = out;
        pl->dlq = dlq;
        pl->rules = *rules;
        pl->late_ms = late_s * 1000;
}

/* How old the valid event root is at arrival_ms, by its timestamp: into
 * the age histogram, and counted in batch when late. An event without one
 * (--no-schema) has no age. */
static void measure_age(const struct ev_pipeline *pl, json_t *root,
                        int64_t arrival_ms, struct ev_pipeline_stats *batch)
{
        json_t *ts = json_object_get(root, "timestamp"); /* borrowed */
        int64_t ts_ms;

        if (!json_is_string(ts) ||
            !ev_event_timestamp_ms(json_string_value(ts),
                                   json_string_length(ts), &ts_ms))
                return;
        ev_metrics_observe(EV_H_EVENT_AGE, (double)(arrival_ms - ts_ms) / 1e3);
        if ((double)(arrival_ms - ts_ms) > pl->late_ms)
                batch->late++;
}

/* Validates and writes one message, which arrived at arrival_ms,
 * counting it in batch. */
static enum ev_err process_one(struct ev_pipeline *pl, struct ev_source *src,
                               const struct ev_msg *msg, int64_t arrival_ms,
                               struct ev_pipeline_stats *batch, char *errstr,
                               size_t errstr_size)
{
        struct ev_verdict verdict;
        char where[256];
        json_t *root;

        batch->consumed++;
        if (!msg->payload) {
                /* A compaction tombstone deletes its key; nothing to
                 * print. */
                batch->tombstones++;
                return EV_OK;
        }
        if (ev_event_validate(msg->payload, msg->len, &pl->rules, &root,
                              &verdict)) {
                batch->valid++;
                measure_age(pl, root, arrival_ms, batch);
                json_decref(root);
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
        to->late += from->late;
        for (r = 0; r < EV_REASON__CNT; r++)
                to->by_reason[r] += from->by_reason[r];
}

/* The acknowledged batch's counts, for /metrics. */
static void publish_metrics(const struct ev_pipeline_stats *batch, size_t cnt)
{
        int r;

        ev_metrics_add(EV_C_VALID, batch->valid);
        ev_metrics_add(EV_C_TOXIC, batch->toxic);
        ev_metrics_add(EV_C_TOMBSTONES, batch->tombstones);
        ev_metrics_add(EV_C_DEAD_LETTERED, batch->dead_lettered);
        ev_metrics_add(EV_C_LATE, batch->late);
        ev_metrics_add(EV_C_ACKNOWLEDGED, cnt);
        for (r = EV_REASON_NONE + 1; r < EV_REASON__CNT; r++)
                ev_metrics_toxic((enum ev_reason)r, batch->by_reason[r]);
}

enum ev_err ev_pipeline_run(struct ev_pipeline *pl, struct ev_source *src,
                            struct ev_msg *msgs, size_t cnt, char *errstr,
                            size_t errstr_size)
{
        int64_t arrival_ms = ev_timefmt_now_ms();
        double started = ev_signals_now();
        struct ev_pipeline_stats batch;
        enum ev_err err = EV_OK;
        size_t i;

        memset(&batch, 0, sizeof(batch));
        for (i = 0; i < cnt && !err; i++)
                err = process_one(pl, src, &msgs[i], arrival_ms, &batch, errstr,
                                  errstr_size);
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
        publish_metrics(&batch, cnt);
        ev_metrics_observe(EV_H_BATCH_SECONDS, ev_signals_now() - started);
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
                         " unacknowledged=%lu dead_lettered=%lu late=%lu",
                         stats->unacknowledged, stats->dead_lettered,
                         stats->late);
}
