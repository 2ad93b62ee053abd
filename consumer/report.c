/*
 * The stderr report of toxic messages. Owns no memory beyond the stack;
 * borrows the redactor, whose buffer holds a redacted text for a moment.
 */
#include "report.h"

#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "log.h"

/* The "key=value" pairs of a transport's description of a message
 * position, at most. */
#define WHERE_FIELDS_MAX 4

/* The same report as a structured record: the escaped excerpt, the
 * payload's size, the verdict, and where's "key=value" pairs as fields of
 * their own (numbers as numbers). */
static void report_fields(const char *excerpt, size_t len,
                          const struct ev_verdict *verdict, const char *detail,
                          const char *where)
{
        struct ev_log_field fields[4 + WHERE_FIELDS_MAX];
        char copy[256], bytes[24];
        size_t n = 0, i, first_where;

        snprintf(bytes, sizeof(bytes), "%zu", len);
        fields[n++] = (struct ev_log_field){
            "reason", ev_reason_name(verdict->reason), false};
        fields[n++] = (struct ev_log_field){"detail", detail, false};
        fields[n++] = (struct ev_log_field){"payload", excerpt, false};
        fields[n++] = (struct ev_log_field){"payload_bytes", bytes, true};
        snprintf(copy, sizeof(copy), "%s", where);
        first_where = n;
        n += ev_log_split_pairs(copy, fields + n, WHERE_FIELDS_MAX);
        /* Partitions and offsets are numbers; a Pub/Sub message id, all
         * digits too, is an opaque string. */
        for (i = first_where; i < n; i++)
                fields[i].number =
                    fields[i].number && (!strcmp(fields[i].key, "partition") ||
                                         !strcmp(fields[i].key, "offset"));
        ev_log_fields(EV_LOG_ERROR,
                      ev_reason_is_malformed(verdict->reason)
                          ? "Malformed JSON received"
                          : "Invalid event received",
                      fields, n);
}

/* Escapes up to max bytes of text[0..len) into out, redacted by r first
 * when r is not NULL. Returns true when all of the (redacted) text was
 * shown. */
static bool show(struct ev_redactor *r, const char *text, size_t len,
                 size_t max, char *out, size_t size)
{
        bool changed;

        /* Out of memory: better nothing than the text unredacted. */
        if (r && ev_redact_string(r, text, len, &changed, &text, &len)) {
                snprintf(out, size, "(not shown: no memory to redact it)");
                return true;
        }
        return ev_escape(text, len, max, EV_ESCAPE_BACKSLASH, out, size) == len;
}

void ev_report_toxic(const char *payload, size_t len,
                     const struct ev_verdict *verdict, const char *where,
                     struct ev_redactor *redactor)
{
        char excerpt[EV_REPORT_EXCERPT_BYTES * EV_ESCAPE_MAX_RATIO + 1];
        char detail[sizeof(verdict->detail) * EV_ESCAPE_MAX_RATIO + 1];
        char total[48] = "";

        /* The redactor's buffer is reused: the excerpt is escaped before
         * the detail is redacted. */
        if (!show(redactor, payload, len, EV_REPORT_EXCERPT_BYTES, excerpt,
                  sizeof(excerpt)))
                snprintf(total, sizeof(total), "... [%zu bytes total]", len);
        show(redactor, verdict->detail, strlen(verdict->detail),
             sizeof(verdict->detail), detail, sizeof(detail));
        if (ev_log_get_format() == EV_LOG_JSON) {
                report_fields(excerpt, len, verdict, detail, where);
                return;
        }
        ev_log(EV_LOG_ERROR, "%s received: %s%s (reason=%s detail=\"%s\" %s)",
               ev_reason_is_malformed(verdict->reason) ? "Malformed JSON"
                                                       : "Invalid event",
               excerpt, total, ev_reason_name(verdict->reason), detail, where);
}
