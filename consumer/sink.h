/*
 * Where a batch's verdicts go: the interface every output implements
 * (stdout, PostgreSQL, the dead-letter topic), after Fluent Bit's output
 * plugins. The pipeline hands each sink the whole batch, then asks it to
 * make the batch durable; it acknowledges the batch only when every sink
 * has answered OK, and tries a sink that answers RETRY again, with the
 * same batch, after a pause.
 */
#ifndef EV_SINK_H
#define EV_SINK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "dlq.h"
#include "err.h"
#include "event.h"
#include "transport.h"

enum ev_sink_result {
        EV_SINK_OK,
        EV_SINK_RETRY, /* a passing failure: the same batch may succeed */
        EV_SINK_ERROR, /* retrying will not help: stop, acknowledging nothing */
};

enum ev_sink_kind {
        EV_SINK_VALID,
        EV_SINK_TOXIC,
        EV_SINK_TOMBSTONE, /* no value at all: delete the key's row */
};

/* One message of a batch with its verdict. Everything is borrowed for the
 * batch: msg from the source, root from the pipeline. */
struct ev_sink_item {
        const struct ev_msg *msg;
        enum ev_sink_kind kind;
        json_t *root; /* valid: the parsed event (redacted with --redact),
                       * when any sink asked or --redact is on */
        /* valid: --redact replaced something, so root differs from the
         * payload; a sink writes root, never the payload's bytes. */
        bool redacted;
        /* valid and redacted: the event's "message" string as received,
         * before redaction (NULL when the event has none) */
        json_t *original_message;
        struct ev_verdict verdict; /* toxic */
};

struct ev_sink_batch {
        const struct ev_source *src; /* for describe and origin */
        const struct ev_sink_item *items;
        size_t cnt;
        int64_t received_ms; /* when the consumer read the batch */
};

struct ev_sink;

struct ev_sink_ops {
        const char *name; /* "stdout", "postgres", "dlq", in messages */
        /* True when write needs each valid item's root. */
        bool wants_events;
        /* Takes what the sink writes of batch, which stays borrowed until
         * flush returns. */
        enum ev_sink_result (*write)(struct ev_sink *sink,
                                     const struct ev_sink_batch *batch,
                                     enum ev_err *err, char *errstr,
                                     size_t errstr_size);
        /* Makes what write took durable. After RETRY or ERROR, from either
         * op, the sink has forgotten the batch: the pipeline writes it
         * again, or releases it. *err and errstr are set on ERROR and
         * RETRY (*err is the class the consumer exits with). */
        enum ev_sink_result (*flush)(struct ev_sink *sink, enum ev_err *err,
                                     char *errstr, size_t errstr_size);
        /* Frees sink (NULL is a no-op). */
        void (*close)(struct ev_sink *sink);
};

struct ev_sink {
        const struct ev_sink_ops *ops;
};

/* Valid events to out (borrowed) as NDJSON, flushed by flush: the payload's
 * bytes, or the re-serialised event when --redact changed it. NULL when out
 * of memory. */
struct ev_sink *ev_sink_stdout_new(FILE *out);

/* Toxic messages to dlq, which the sink takes over (it is freed on
 * close, or here when the sink cannot be made). */
struct ev_sink *ev_sink_dlq_new(struct ev_dlq *dlq);

/*
 * Valid events, and tombstones' deletes, to PostgreSQL (sink_postgres.c):
 * connects by cfg->pg_dsn and makes the tables. cfg is borrowed and must
 * outlive the sink. NULL with *err and errstr set on failure.
 */
struct ev_sink *ev_sink_postgres_new(const struct ev_config *cfg,
                                     enum ev_err *err, char *errstr,
                                     size_t errstr_size);

/*
 * Valid events to Firestore documents, tenants/{tenant_id}/processed_logs/
 * {log_id} (sink_firestore.c), by cfg's project, database, endpoint or
 * emulator host, and credentials. cfg is borrowed and must outlive the
 * sink. Makes no request. NULL with *err and errstr set on failure.
 */
struct ev_sink *ev_sink_firestore_new(const struct ev_config *cfg,
                                      enum ev_err *err, char *errstr,
                                      size_t errstr_size);

/*
 * Appends one line to out: the payload bytes as received, except that each
 * raw CR or LF becomes a space. payload must be valid JSON, where a raw line
 * break can only be whitespace between tokens (a string cannot hold one), so
 * the line is the same event, byte for byte everywhere else. Returns
 * EV_ERR_IO with errstr set when out fails.
 */
enum ev_err ev_sink_write_line(FILE *out, const char *payload, size_t len,
                               char *errstr, size_t errstr_size);

#endif
