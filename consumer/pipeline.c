/*
 * The consumer's batch step. Borrows the source, the messages, the sinks
 * and the redactor; owns the counters and the batch's items, with the
 * parsed events the sinks asked for (or that were redacted) and the
 * original messages of the redacted ones.
 */
#include "pipeline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_arena.h"
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
/* Messages a validation thread takes at a time: small enough to share a
 * 512-message batch out evenly, large enough that taking one is rare. */
#define VALIDATE_CHUNK 32

void ev_pipeline_init(struct ev_pipeline *pl, struct ev_sink **sinks,
                      size_t cnt, bool dead_letters,
                      const struct ev_event_rules *rules, double late_s,
                      double sink_timeout, struct ev_redactor *redactor,
                      struct ev_parallel *pool)
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
        pl->pool = pool;
}

void ev_pipeline_free(struct ev_pipeline *pl)
{
        free(pl->items);
        free(pl->times);
        pl->items = NULL;
        pl->times = NULL;
        pl->items_cap = 0;
}

/* What validate_range shares: the pipeline and the batch's messages. */
struct validate_job {
        const struct ev_pipeline *pl;
        const struct ev_msg *msgs;
};

/* Parses and validates msgs[begin, end) into their items, on any of the
 * pool's threads, in that thread's jansson arena: it touches nothing but
 * those items and times, and keeps a valid event's root only when a sink
 * or the redactor needs it. */
static void validate_range(void *ctx, size_t begin, size_t end, unsigned thread)
{
        const struct validate_job *job = ctx;
        const struct ev_pipeline *pl = job->pl;
        struct ev_sink_item *item;
        const struct ev_msg *msg;
        json_t *root;
        size_t i;

        ev_json_arena_enter(thread);
        for (i = begin; i < end; i++) {
                item = &pl->items[i];
                msg = &job->msgs[i];
                memset(item, 0, sizeof(*item));
                item->msg = msg;
                pl->times[i] = INT64_MIN;
                if (!msg->payload) {
                        /* A compaction tombstone deletes its key. */
                        item->kind = EV_SINK_TOMBSTONE;
                        continue;
                }
                if (!ev_event_validate(msg->payload, msg->len, &pl->rules,
                                       &root, &item->verdict)) {
                        item->kind = EV_SINK_TOXIC;
                        continue;
                }
                item->kind = EV_SINK_VALID;
                if (!ev_event_time_ms(root, &pl->times[i]))
                        pl->times[i] = INT64_MIN;
                if (pl->keep_events)
                        item->root = root;
                else
                        json_decref(root);
        }
        ev_json_arena_leave();
}

/* Counts the validated item (its event time ts_ms, INT64_MIN for none) in
 * batch, with its age at arrival_ms, redacting it when valid and
 * reporting it when toxic. Fails only when out of memory. */
static enum ev_err account(struct ev_pipeline *pl, const struct ev_source *src,
                           struct ev_sink_item *item, int64_t ts_ms,
                           int64_t arrival_ms, struct ev_pipeline_stats *batch,
                           char *errstr, size_t errstr_size)
{
        char where[256];

        batch->consumed++;
        switch (item->kind) {
        case EV_SINK_TOMBSTONE:
                batch->tombstones++;
                return EV_OK;
        case EV_SINK_VALID:
                batch->valid++;
                /* An event without a time (--no-schema) has no age. */
                if (ts_ms != INT64_MIN) {
                        ev_metrics_observe(EV_H_EVENT_AGE,
                                           (double)(arrival_ms - ts_ms) / 1e3);
                        if ((double)(arrival_ms - ts_ms) > pl->late_ms)
                                batch->late++;
                }
                if (!pl->redactor)
                        return EV_OK;
                return ev_redact_event(pl->redactor, item->root,
                                       &item->redacted, &item->original_message,
                                       errstr, errstr_size);
        case EV_SINK_TOXIC:
                break;
        }
        batch->toxic++;
        batch->by_reason[item->verdict.reason]++;
        if (pl->dead_letters)
                batch->dead_lettered++;
        src->ops->describe(src, item->msg, where, sizeof(where));
        ev_report_toxic(item->msg->payload, item->msg->len, &item->verdict,
                        where, pl->redactor);
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

/* Room for cnt items and their times. */
static bool reserve_items(struct ev_pipeline *pl, size_t cnt)
{
        struct ev_sink_item *items;
        int64_t *times;

        if (cnt <= pl->items_cap)
                return true;
        items = realloc(pl->items, cnt * sizeof(*items));
        if (!items)
                return false;
        pl->items = items;
        times = realloc(pl->times, cnt * sizeof(*times));
        if (!times)
                return false;
        pl->times = times;
        pl->items_cap = cnt;
        return true;
}

enum ev_err ev_pipeline_run(struct ev_pipeline *pl, struct ev_source *src,
                            struct ev_msg *msgs, size_t cnt, char *errstr,
                            size_t errstr_size)
{
        struct ev_sink_batch sb = {src, NULL, cnt, ev_timefmt_now_ms()};
        struct validate_job job = {pl, msgs};
        double started = ev_signals_now();
        struct ev_pipeline_stats batch;
        enum ev_err err = EV_OK;
        size_t i;

        if (!reserve_items(pl, cnt)) {
                snprintf(errstr, errstr_size, "out of memory for a batch");
                err = EV_ERR_NOMEM;
                goto out;
        }
        memset(&batch, 0, sizeof(batch));
        if (pl->pool)
                ev_parallel_for(pl->pool, cnt, VALIDATE_CHUNK, validate_range,
                                &job);
        else
                validate_range(&job, 0, cnt, 0);
        for (i = 0; i < cnt && !err; i++)
                err = account(pl, src, &pl->items[i], pl->times[i],
                              sb.received_ms, &batch, errstr, errstr_size);
        sb.items = pl->items;
        for (i = 0; i < pl->sink_cnt && !err; i++)
                err = deliver(pl, pl->sinks[i], &sb, errstr, errstr_size);
        for (i = 0; i < cnt; i++) {
                json_decref(pl->items[i].root);
                json_decref(pl->items[i].original_message);
        }
        /* Nothing parsed from this batch is left. */
        ev_json_arena_reset();
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
