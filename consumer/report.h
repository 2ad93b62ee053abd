/*
 * The report of a toxic message: one escaped stderr log line each, whatever
 * sinks the consumer writes to.
 */
#ifndef EV_REPORT_H
#define EV_REPORT_H

#include <stddef.h>

#include "event.h"
#include "redact.h"

/* Bytes of a toxic payload shown in its report line. */
#define EV_REPORT_EXCERPT_BYTES 512

/* Logs "ERROR: Malformed JSON received: ..." or "ERROR: Invalid event
 * received: ..." with the escaped excerpt, the reason, its detail and
 * where (the transport's description of the message's position). With
 * redactor (borrowed; NULL: none), the excerpt and the detail are redacted
 * first, the whole payload before its excerpt is cut, so that no match is
 * shown in part; the size shown stays the payload's. */
void ev_report_toxic(const char *payload, size_t len,
                     const struct ev_verdict *verdict, const char *where,
                     struct ev_redactor *redactor);

#endif
