/*
 * The stdout sink: each valid event as one NDJSON line, its payload's bytes
 * or, once redacted, the event re-serialised. Owns its small struct; the
 * FILE and its buffering belong to the caller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"

struct stdout_sink {
        struct ev_sink sink;
        FILE *out;
};

static enum ev_err write_failed(char *errstr, size_t errstr_size)
{
        snprintf(errstr, errstr_size, "writing to stdout: %s", strerror(errno));
        return EV_ERR_IO;
}

enum ev_err ev_sink_write_line(FILE *out, const char *payload, size_t len,
                               char *errstr, size_t errstr_size)
{
        size_t start = 0, i;

        /* Usually there is no line break: one fwrite, checked by memchr. */
        if (memchr(payload, '\n', len) || memchr(payload, '\r', len)) {
                for (i = 0; i < len; i++) {
                        if (payload[i] != '\n' && payload[i] != '\r')
                                continue;
                        if (fwrite(payload + start, 1, i - start, out) !=
                                i - start ||
                            putc(' ', out) == EOF)
                                return write_failed(errstr, errstr_size);
                        start = i + 1;
                }
        }
        if (fwrite(payload + start, 1, len - start, out) != len - start ||
            putc('\n', out) == EOF)
                return write_failed(errstr, errstr_size);
        return EV_OK;
}

/* The redacted event root as one compact line: jansson escapes every
 * control character in a string, so the text holds no line break. Written
 * straight into out, without a copy. */
static enum ev_err write_event(FILE *out, json_t *root, char *errstr,
                               size_t errstr_size)
{
        if (json_dumpf(root, out, JSON_COMPACT) || putc('\n', out) == EOF)
                return write_failed(errstr, errstr_size);
        return EV_OK;
}

/* A failed write is never retried: lines already in the stream would be
 * written twice, and a closed stdout does not come back. */
static enum ev_sink_result stdout_write(struct ev_sink *sink,
                                        const struct ev_sink_batch *batch,
                                        enum ev_err *err, char *errstr,
                                        size_t errstr_size)
{
        struct stdout_sink *s = (struct stdout_sink *)sink;
        size_t i;

        for (i = 0; i < batch->cnt; i++) {
                const struct ev_msg *msg = batch->items[i].msg;

                if (batch->items[i].kind != EV_SINK_VALID)
                        continue;
                if (batch->items[i].redacted)
                        *err = write_event(s->out, batch->items[i].root, errstr,
                                           errstr_size);
                else
                        *err =
                            ev_sink_write_line(s->out, msg->payload, msg->len,
                                               errstr, errstr_size);
                if (*err)
                        return EV_SINK_ERROR;
        }
        return EV_SINK_OK;
}

/* One flush per batch: a write(2) per event would cost more than the
 * validation itself on a pipe. */
static enum ev_sink_result stdout_flush(struct ev_sink *sink, enum ev_err *err,
                                        char *errstr, size_t errstr_size)
{
        struct stdout_sink *s = (struct stdout_sink *)sink;

        if (fflush(s->out) != EOF)
                return EV_SINK_OK;
        snprintf(errstr, errstr_size, "flushing stdout: %s", strerror(errno));
        *err = EV_ERR_IO;
        return EV_SINK_ERROR;
}

static void stdout_close(struct ev_sink *sink)
{
        free(sink);
}

static const struct ev_sink_ops stdout_ops = {
    .name = "stdout",
    .write = stdout_write,
    .flush = stdout_flush,
    .close = stdout_close,
};

struct ev_sink *ev_sink_stdout_new(FILE *out)
{
        struct stdout_sink *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        s->sink.ops = &stdout_ops;
        s->out = out;
        return &s->sink;
}
