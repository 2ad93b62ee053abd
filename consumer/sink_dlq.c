/*
 * The dead-letter topic as a sink: write queues each toxic message's dead
 * letter, flush waits for the broker to confirm them all. Owns the
 * ev_dlq it wraps. Its own retry loop (dlq.c) rewrites single refused
 * dead letters, so it never answers RETRY: by the time it answers, it has
 * retried for --dlq-timeout.
 */
#include <stdlib.h>

#include "sink.h"

struct dlq_sink {
        struct ev_sink sink;
        struct ev_dlq *dlq;
};

static enum ev_sink_result dlq_write(struct ev_sink *sink,
                                     const struct ev_sink_batch *batch,
                                     enum ev_err *err, char *errstr,
                                     size_t errstr_size)
{
        struct dlq_sink *s = (struct dlq_sink *)sink;
        size_t i;

        for (i = 0; i < batch->cnt; i++) {
                const struct ev_sink_item *item = &batch->items[i];

                if (item->kind != EV_SINK_TOXIC)
                        continue;
                *err = ev_dlq_add(s->dlq, batch->src, item->msg, &item->verdict,
                                  errstr, errstr_size);
                if (*err) {
                        ev_dlq_discard(s->dlq);
                        return EV_SINK_ERROR;
                }
        }
        return EV_SINK_OK;
}

static enum ev_sink_result dlq_flush(struct ev_sink *sink, enum ev_err *err,
                                     char *errstr, size_t errstr_size)
{
        struct dlq_sink *s = (struct dlq_sink *)sink;

        *err = ev_dlq_confirm(s->dlq, errstr, errstr_size);
        return *err ? EV_SINK_ERROR : EV_SINK_OK;
}

static void dlq_close(struct ev_sink *sink)
{
        struct dlq_sink *s = (struct dlq_sink *)sink;

        if (!s)
                return;
        ev_dlq_free(s->dlq);
        free(s);
}

static const struct ev_sink_ops dlq_ops = {
    .name = "dlq",
    .write = dlq_write,
    .flush = dlq_flush,
    .close = dlq_close,
};

struct ev_sink *ev_sink_dlq_new(struct ev_dlq *dlq)
{
        struct dlq_sink *s = calloc(1, sizeof(*s));

        if (!s) {
                ev_dlq_free(dlq);
                return NULL;
        }
        s->sink.ops = &dlq_ops;
        s->dlq = dlq;
        return &s->sink;
}
