/*
 * Leveled logging to stderr, one record per line: "LEVEL: message" text, or
 * one JSON object per line ({"time":...,"level":...,"msg":..., fields}).
 * Every record is passed through ev_escape(), so whatever a caller formats
 * into it (broker error strings, file names, payload excerpts) stays on one
 * printable line, and is valid JSON in a JSON string.
 */
#ifndef EV_LOG_H
#define EV_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum ev_log_level {
        EV_LOG_DEBUG,
        EV_LOG_INFO,
        EV_LOG_WARN,
        EV_LOG_ERROR,
};

enum ev_log_format {
        EV_LOG_TEXT,
        EV_LOG_JSON,
};

/* A field of a structured record: its value is text (escaped like the
 * message), or with number true a JSON number written as it is. */
struct ev_log_field {
        const char *key;
        const char *value;
        bool number;
};

/* Records below level are dropped. Default: EV_LOG_INFO. */
void ev_log_set_level(enum ev_log_level level);

/* Parses "debug", "info", "warn"/"warning", "error" (any case).
 * Returns false and leaves *level alone on anything else. */
bool ev_log_level_parse(const char *name, enum ev_log_level *level);

/* Default: EV_LOG_TEXT. "text" or "json" for parse. */
void ev_log_set_format(enum ev_log_format format);
enum ev_log_format ev_log_get_format(void);
bool ev_log_format_parse(const char *name, enum ev_log_format *format);

/* Writes "LEVEL: message\n" (or its JSON object) to stderr in a single
 * write. Records longer than 8 KiB are cut. */
void ev_log(enum ev_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A record with fields: in JSON each is a member of the object; in text
 * they follow the message as "msg: key=value key=value". */
void ev_log_fields(enum ev_log_level level, const char *msg,
                   const struct ev_log_field *fields, size_t cnt);

/* "key=value key=value ..." (values without blanks, as the summary
 * writes them) logged as msg with those fields, numbers as numbers:
 * "LEVEL: msg: key=value ..." in text. */
void ev_log_pairs(enum ev_log_level level, const char *msg, const char *pairs);

/* Splits "key=value key=value ..." in place into at most max fields,
 * pointing into s, a value that JSON reads as a number (digits, at most
 * one inner '.') marked as one; a word without '=' is skipped. Returns how
 * many. */
size_t ev_log_split_pairs(char *s, struct ev_log_field *fields, size_t max);

#endif
