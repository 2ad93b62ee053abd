/*
 * Leveled logging to stderr, one record per line. Every record is passed
 * through ev_escape(), so whatever a caller formats into it (broker error
 * strings, file names, payload excerpts) stays on one printable line.
 */
#ifndef EV_LOG_H
#define EV_LOG_H

#include <stdbool.h>

enum ev_log_level {
        EV_LOG_DEBUG,
        EV_LOG_INFO,
        EV_LOG_WARN,
        EV_LOG_ERROR,
};

/* Records below level are dropped. Default: EV_LOG_INFO. */
void ev_log_set_level(enum ev_log_level level);

/* Parses "debug", "info", "warn"/"warning", "error" (any case).
 * Returns false and leaves *level alone on anything else. */
bool ev_log_level_parse(const char *name, enum ev_log_level *level);

/* Writes "LEVEL: message\n" to stderr in a single write. Records longer
 * than 8 KiB are cut. */
void ev_log(enum ev_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
