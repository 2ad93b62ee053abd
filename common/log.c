/*
 * The process-wide logger: a level threshold and a formatter that escapes
 * every record before it reaches stderr. Owns no heap memory.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "escape.h"

#define LOG_RECORD_MAX 8192

static enum ev_log_level threshold = EV_LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void ev_log_set_level(enum ev_log_level level)
{
        threshold = level;
}

bool ev_log_level_parse(const char *name, enum ev_log_level *level)
{
        size_t i;

        for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
                if (!strcasecmp(name, level_names[i])) {
                        *level = (enum ev_log_level)i;
                        return true;
                }
        }
        if (!strcasecmp(name, "warning")) {
                *level = EV_LOG_WARN;
                return true;
        }
        return false;
}

void ev_log(enum ev_log_level level, const char *fmt, ...)
{
        char raw[LOG_RECORD_MAX];
        char line[LOG_RECORD_MAX];
        va_list ap;
        int n, prefix;
        size_t len;

        if (level < threshold)
                return;
        va_start(ap, fmt);
        n = vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        len = (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1;
        prefix = snprintf(line, sizeof(line), "%s: ", level_names[level]);
        /* Leave room for the newline; the escape stops short if needed. */
        ev_escape(raw, len, len, 0, line + prefix,
                  sizeof(line) - (size_t)prefix - 1);
        len = strlen(line);
        line[len++] = '\n';
        /* One write per record so concurrent writers never interleave
         * within a line. A failed log write has nowhere to be reported. */
        if (write(STDERR_FILENO, line, len) < 0)
                return;
}
