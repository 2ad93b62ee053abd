/*
 * Where verdicts go: valid events to an NDJSON stream, toxic messages to
 * one escaped stderr log line each. Writes are buffered; the pipeline
 * decides when to flush.
 */
#ifndef EV_SINK_H
#define EV_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "event.h"

/* Bytes of a toxic payload shown in its report line. */
#define EV_SINK_EXCERPT_BYTES 512

/*
 * Appends one line to out: the payload bytes as received, except that each
 * raw CR or LF becomes a space. payload must be valid JSON, where a raw line
 * break can only be whitespace between tokens (a string cannot hold one), so
 * the line is the same event, byte for byte everywhere else. Returns
 * EV_ERR_IO with errstr set when out fails.
 */
enum ev_err ev_sink_write_valid(FILE *out, const char *payload, size_t len,
                                char *errstr, size_t errstr_size);

/* Logs "ERROR: Malformed JSON received: ..." or "ERROR: Invalid event
 * received: ..." with the escaped excerpt, the reason, its detail and
 * where (the transport's description of the message's position). */
void ev_sink_report_toxic(const char *payload, size_t len,
                          const struct ev_verdict *verdict, const char *where);

#endif
