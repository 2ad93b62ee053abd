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
#include "timefmt.h"

#define LOG_RECORD_MAX 8192

static enum ev_log_level threshold = EV_LOG_INFO;
static enum ev_log_format format = EV_LOG_TEXT;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
static const char *const json_levels[] = {"debug", "info", "warn", "error"};

/* One record as it is built, then written with one write(2). The last
 * bytes are kept for the end ("}" and the newline), so a cut record is
 * still one line, and still JSON. */
struct record {
        char buf[LOG_RECORD_MAX];
        size_t len;
};

#define RECORD_END_ROOM 3

void ev_log_set_level(enum ev_log_level level)
{
        threshold = level;
}

void ev_log_set_format(enum ev_log_format f)
{
        format = f;
}

enum ev_log_format ev_log_get_format(void)
{
        return format;
}

bool ev_log_format_parse(const char *name, enum ev_log_format *f)
{
        if (!strcasecmp(name, "text"))
                *f = EV_LOG_TEXT;
        else if (!strcasecmp(name, "json"))
                *f = EV_LOG_JSON;
        else
                return false;
        return true;
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

static size_t room(const struct record *r)
{
        return sizeof(r->buf) - RECORD_END_ROOM - r->len;
}

static void put_raw(struct record *r, const char *s, size_t n)
{
        if (n > room(r))
                return;
        memcpy(r->buf + r->len, s, n);
        r->len += n;
}

/* s[0..n) escaped to one printable line (ev_escape), and in JSON also with
 * its quotes and backslashes escaped, cut to the room left. */
static void put_text(struct record *r, const char *s, size_t n)
{
        char tmp[LOG_RECORD_MAX];
        size_t i, out = room(r);

        /* In JSON every byte may double, and the closing quote must
         * fit: escape into half the room left before it. */
        if (format == EV_LOG_JSON)
                out = out > 0 ? (out - 1) / 2 : 0;
        ev_escape(s, n, n, 0, tmp,
                  out + 1 < sizeof(tmp) ? out + 1 : sizeof(tmp));
        for (i = 0; tmp[i]; i++) {
                if (format == EV_LOG_JSON && (tmp[i] == '"' || tmp[i] == '\\'))
                        put_raw(r, "\\", 1);
                put_raw(r, tmp + i, 1);
        }
}

static void put_str(struct record *r, const char *s)
{
        put_raw(r, s, strlen(s));
}

/* Starts a record: "LEVEL: " or {"time":..,"level":..,"msg":" */
static void begin(struct record *r, enum ev_log_level level)
{
        char when[EV_TIMEFMT_SIZE];

        r->len = 0;
        if (format == EV_LOG_TEXT) {
                put_str(r, level_names[level]);
                put_str(r, ": ");
                return;
        }
        if (!ev_timefmt_rfc3339_ms(ev_timefmt_now_ms(), when, sizeof(when)))
                when[0] = '\0';
        put_str(r, "{\"time\":\"");
        put_str(r, when);
        put_str(r, "\",\"level\":\"");
        put_str(r, json_levels[level]);
        put_str(r, "\",\"msg\":\"");
}

/* The message is written; now the fields. */
static void end_message(struct record *r)
{
        if (format == EV_LOG_JSON)
                put_str(r, "\"");
}

static void put_field_text(struct record *r, const struct ev_log_field *f,
                           bool first)
{
        if (format == EV_LOG_TEXT) {
                put_str(r, first ? ": " : " ");
                put_text(r, f->key, strlen(f->key));
                put_str(r, "=");
                put_text(r, f->value, strlen(f->value));
                return;
        }
        put_str(r, ",\"");
        put_text(r, f->key, strlen(f->key));
        put_str(r, "\":");
        if (f->number) {
                put_str(r, f->value);
                return;
        }
        put_str(r, "\"");
        put_text(r, f->value, strlen(f->value));
        put_str(r, "\"");
}

/* A field whole or not at all, so that a cut record stays well-formed. */
static void put_field(struct record *r, const struct ev_log_field *f,
                      bool first)
{
        struct record one;

        one.len = 0;
        put_field_text(&one, f, first);
        put_raw(r, one.buf, one.len);
}

/* Ends the record and writes it. One write per record, so concurrent
 * writers never interleave within a line; a failed log write has nowhere
 * to be reported. */
static void finish(struct record *r)
{
        if (format == EV_LOG_JSON)
                r->buf[r->len++] = '}';
        r->buf[r->len++] = '\n';
        if (write(STDERR_FILENO, r->buf, r->len) < 0)
                return;
}

void ev_log(enum ev_log_level level, const char *fmt, ...)
{
        char raw[LOG_RECORD_MAX];
        struct record r;
        va_list ap;
        int n;

        if (level < threshold)
                return;
        va_start(ap, fmt);
        n = vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        begin(&r, level);
        put_text(&r, raw,
                 (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1);
        end_message(&r);
        finish(&r);
}

void ev_log_fields(enum ev_log_level level, const char *msg,
                   const struct ev_log_field *fields, size_t cnt)
{
        struct record r;
        size_t i;

        if (level < threshold)
                return;
        begin(&r, level);
        put_text(&r, msg, strlen(msg));
        end_message(&r);
        for (i = 0; i < cnt; i++)
                put_field(&r, &fields[i], i == 0);
        finish(&r);
}

/* True for what JSON takes as a number as it is: digits, and at most one
 * '.' with digits on both sides ("12", "2.5"; not "1.", ".5", "1.2.3"). */
static bool is_number(const char *s)
{
        size_t whole = strspn(s, "0123456789"), frac;

        if (!whole)
                return false;
        if (!s[whole])
                return true;
        if (s[whole] != '.')
                return false;
        frac = strspn(s + whole + 1, "0123456789");
        return frac && !s[whole + 1 + frac];
}

/* Fields parsed from "k=v k=v", at most this many. */
#define PAIRS_MAX 64

void ev_log_pairs(enum ev_log_level level, const char *msg, const char *pairs)
{
        struct ev_log_field fields[PAIRS_MAX];
        char copy[LOG_RECORD_MAX];

        if (level < threshold)
                return;
        if (format == EV_LOG_TEXT) {
                ev_log(level, "%s: %s", msg, pairs);
                return;
        }
        snprintf(copy, sizeof(copy), "%s", pairs);
        ev_log_fields(level, msg, fields,
                      ev_log_split_pairs(copy, fields, PAIRS_MAX));
}

size_t ev_log_split_pairs(char *s, struct ev_log_field *fields, size_t max)
{
        char *tok, *save = NULL;
        size_t cnt = 0;

        for (tok = strtok_r(s, " ", &save); tok && cnt < max;
             tok = strtok_r(NULL, " ", &save)) {
                char *eq = strchr(tok, '=');

                if (!eq)
                        continue;
                *eq = '\0';
                fields[cnt].key = tok;
                fields[cnt].value = eq + 1;
                fields[cnt].number = is_number(eq + 1);
                cnt++;
        }
        return cnt;
}
