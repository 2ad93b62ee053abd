/*
 * The consumer's batch step. Borrows the source, the messages, the sinks
 * and the redactor; owns the counters and the batch's items, with the
 * parsed events the sinks asked for (or that were redacted) and the
 * original messages of the redacted ones.
 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "report.h"
#include "signals.h"
#include "timefmt.h"

/* The pauses between a sink's tries: doubling from the first to the
 * last. */
#define RETRY_FIRST_S 0.5
#define RETRY_MAX_S   8.0
/* How often a pause looks at the stop request. */
#define PAUSE_SLICE_S 0.1

void ev_pipeline_init(struct ev_pipeline *pl, struct ev_sink **sinks,
                      size_t cnt, bool dead_letters,
                      const struct ev_event_rules *rules, double late_s,
                      double sink_timeout, struct ev_redactor *redactor)
{
        size_t i;

        memset(pl, 0, sizeof(*pl));
        pl->sinks = sinks;
        pl->sink_cnt = cnt;
        pl->dead_letters = dead_letters;
        /* A redacted event differs from its payload: every sink writes the
         * parsed one. */
        pl->redactor = redactor;
        pl->keep_events = redactor != NULL;
        for (i = 0; i < cnt; i++)
                pl->keep_events |= sinks[i]->ops->wants_events;
        pl->rules = *rules;
        pl->late_ms = late_s * 1000;
        pl->sink_timeout = sink_timeout;
}

void ev_pipeline_free(struct ev_pipeline *pl)
{
        free(pl->items);
        pl->items = NULL;
        pl->items_cap = 0;
}

/* How old the valid event root is at arrival_ms, by its time: into the age
 * histogram, and counted in batch when late. An event without one
 * (--no-schema) has no age. */
static void measure_age(const struct ev_pipeline *pl, json_t *root,
                        int64_t arrival_ms, struct ev_pipeline_stats *batch)
{
        int64_t ts_ms;

        if (!ev_event_time_ms(root, &ts_ms))
                return;
        ev_metrics_observe(EV_H_EVENT_AGE, (double)(arrival_ms - ts_ms) / 1e3);
        if ((double)(arrival_ms - ts_ms) > pl->late_ms)
                batch->late++;
}

/* Validates msg into item, redacting it when valid and reporting it when
 * toxic, counting it in batch. Fails only when out of memory. */
static enum ev_err classify(struct ev_pipeline *pl, const struct ev_source *src,
                            const struct ev_msg *msg, int64_t arrival_ms,
                            struct ev_sink_item *item,
                            struct ev_pipeline_stats *batch, char *errstr,
                            size_t errstr_size)
{
        char where[256];
        json_t *root;

        memset(item, 0, sizeof(*item));
        item->msg = msg;
        batch->consumed++;
        if (!msg->payload) {
                /* A compaction tombstone deletes its key. */
                item->kind = EV_SINK_TOMBSTONE;
                batch->tombstones++;
                return EV_OK;
        }
        if (ev_event_validate(msg->payload, msg->len, &pl->rules, &root,
                              &item->verdict)) {
                item->kind = EV_SINK_VALID;
                batch->valid++;
                measure_age(pl, root, arrival_ms, batch);
                if (!pl->keep_events) {
                        json_decref(root);
                        return EV_OK;
                }
                item->root = root;
                if (!pl->redactor)
                        return EV_OK;
                return ev_redact_event(pl->redactor, root, &item->redacted,
                                       &item->original_message, errstr,
                                       errstr_size);
        }
        item->kind = EV_SINK_TOXIC;
        batch->toxic++;
        batch->by_reason[item->verdict.reason]++;
        if (pl->dead_letters)
                batch->dead_lettered++;
        src->ops->describe(src, msg, where, sizeof(where));
        ev_report_toxic(msg->payload, msg->len, &item->verdict, where,
                        pl->redactor);
        return EV_OK;
}

/* Sleeps s seconds, or until a stop request, counting as alive. */
static void pause_for(double s)
{
        double until = ev_signals_now() + s;

        while (!ev_signals_stop_requested() && ev_signals_now() < until) {
                struct timespec ts = {0, (long)(PAUSE_SLICE_S * 1e9)};

                nanosleep(&ts, NULL);
                ev_health_beat();
        }
}

/* Has sink make batch durable: write, then flush, again after a pause
 * for as long as it answers RETRY, up to the sink timeout. */
static enum ev_err deliver(struct ev_pipeline *pl, struct ev_sink *sink,
                           const struct ev_sink_batch *batch, char *errstr,
                           size_t errstr_size)
{
        double deadline = ev_signals_now() + pl->sink_timeout;
        double pause = RETRY_FIRST_S, left;
        enum ev_sink_result res;
        enum ev_err err = EV_OK;
        char why[512];

        for (;;) {
                res = sink->ops->write(sink, batch, &err, why, sizeof(why));
                if (res == EV_SINK_OK)
                        res = sink->ops->flush(sink, &err, why, sizeof(why));
                if (res == EV_SINK_OK)
                        return EV_OK;
                if (res == EV_SINK_ERROR) {
                        snprintf(errstr, errstr_size, "%s", why);
                        return err ? err : EV_ERR_PERMANENT;
                }
                ev_metrics_add(EV_C_SINK_RETRIES, 1);
                ev_health_set_serving(false);
                left = deadline - ev_signals_now();
                if (left <= 0 || ev_signals_stop_requested())
                        break;
                if (pause > left)
                        pause = left;
                ev_log(EV_LOG_WARN,
                       "sink %s: %s; retrying in %.1f s, nothing acknowledged "
                       "meanwhile (giving up in %.0f s)",
                       sink->ops->name, why, pause, left);
                pause_for(pause);
                pause = pause * 2 > RETRY_MAX_S ? RETRY_MAX_S : pause * 2;
        }
        snprintf(errstr, errstr_size,
                 "sink %s: %s; the batch was not written %s", sink->ops->name,
                 why,
                 ev_signals_stop_requested() ? "when the stop request came"
                                             : "within --sink-timeout");
        return EV_ERR_TRANSIENT;
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

/* Room for cnt items. */
static bool reserve_items(struct ev_pipeline *pl, size_t cnt)
{
        struct ev_sink_item *items;

        if (cnt <= pl->items_cap)
                return true;
        items = realloc(pl->items, cnt * sizeof(*items));
        if (!items)
                return false;
        pl->items = items;
        pl->items_cap = cnt;
        return true;
}

enum ev_err ev_pipeline_run(struct ev_pipeline *pl, struct ev_source *src,
                            struct ev_msg *msgs, size_t cnt, char *errstr,
                            size_t errstr_size)
{
        struct ev_sink_batch sb = {src, NULL, cnt, ev_timefmt_now_ms()};
        double started = ev_signals_now();
        struct ev_pipeline_stats batch;
        enum ev_err err = EV_OK;
        size_t i, classified;

        if (!reserve_items(pl, cnt)) {
                snprintf(errstr, errstr_size, "out of memory for a batch");
                err = EV_ERR_NOMEM;
                goto out;
        }
        memset(&batch, 0, sizeof(batch));
        for (i = 0; i < cnt && !err; i++)
                err = classify(pl, src, &msgs[i], sb.received_ms, &pl->items[i],
                               &batch, errstr, errstr_size);
        classified = i;
        sb.items = pl->items;
        for (i = 0; i < pl->sink_cnt && !err; i++)
                err = deliver(pl, pl->sinks[i], &sb, errstr, errstr_size);
        for (i = 0; i < classified; i++) {
                json_decref(pl->items[i].root);
                json_decref(pl->items[i].original_message);
        }
out:
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
