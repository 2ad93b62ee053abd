/*
 * Validation of one payload against the event contract. Allocates only the
 * parsed JSON tree, which it hands to the caller on a valid verdict and
 * frees on a toxic one.
 */
#include "event.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const reason_names[EV_REASON__CNT] = {
    [EV_REASON_NONE] = "valid",
    [EV_REASON_EMPTY] = "empty",
    [EV_REASON_TOO_LARGE] = "too_large",
    [EV_REASON_NOT_JSON] = "not_json",
    [EV_REASON_NOT_OBJECT] = "not_object",
    [EV_REASON_MISSING_FIELD] = "missing_field",
    [EV_REASON_WRONG_TYPE] = "wrong_type",
    [EV_REASON_BAD_TIMESTAMP] = "bad_timestamp",
    [EV_REASON_BAD_LEVEL] = "bad_level",
};

static const char *const levels[] = {"DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

const char *ev_reason_name(enum ev_reason reason)
{
        if (reason < 0 || reason >= EV_REASON__CNT)
                return "unknown";
        return reason_names[reason];
}

bool ev_reason_is_malformed(enum ev_reason reason)
{
        return reason == EV_REASON_EMPTY || reason == EV_REASON_NOT_JSON;
}

static bool verdict(struct ev_verdict *v, enum ev_reason reason,
                    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool verdict(struct ev_verdict *v, enum ev_reason reason,
                    const char *fmt, ...)
{
        va_list ap;

        v->reason = reason;
        v->line = v->column = v->position = 0;
        va_start(ap, fmt);
        vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
        va_end(ap);
        return reason == EV_REASON_NONE;
}

/* Reads exactly n ASCII digits at s into *val. */
static bool digits(const char *s, size_t n, int *val)
{
        size_t i;

        *val = 0;
        for (i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                *val = *val * 10 + (s[i] - '0');
        }
        return true;
}

static int days_in_month(int year, int month)
{
        static const int days[] = {31, 28, 31, 30, 31, 30,
                                   31, 31, 30, 31, 30, 31};
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

        if (month == 2 && leap)
                return 29;
        return days[month - 1];
}

/* RFC 3339 section 5.6 date-time, with the lower-case "t" and "z" its
 * section 5.6 note allows. A leap second (:60) is accepted only at the end
 * of a minute, as the RFC's Appendix D table implies. */
bool ev_event_timestamp_valid(const char *s, size_t len)
{
        int year, month, day, hour, min, sec, oh, om;
        size_t i = 19;

        if (len < 20)
                return false;
        if (!digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &month) ||
            s[7] != '-' || !digits(s + 8, 2, &day) ||
            (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &hour) ||
            s[13] != ':' || !digits(s + 14, 2, &min) || s[16] != ':' ||
            !digits(s + 17, 2, &sec))
                return false;
        if (month < 1 || month > 12 || day < 1 ||
            day > days_in_month(year, month) || hour > 23 || min > 59 ||
            sec > 60 || (sec == 60 && min != 59))
                return false;
        if (s[i] == '.') {
                size_t start = ++i;

                while (i < len && s[i] >= '0' && s[i] <= '9')
                        i++;
                if (i == start)
                        return false;
        }
        if (i < len && (s[i] == 'Z' || s[i] == 'z'))
                return i + 1 == len;
        if (i + 6 != len || (s[i] != '+' && s[i] != '-') ||
            !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
            !digits(s + i + 4, 2, &om))
                return false;
        return oh <= 23 && om <= 59;
}

/* Days from 1970-01-01 to year-month-day of the proleptic Gregorian
 * calendar (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
        int64_t era, yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

bool ev_event_timestamp_ms(const char *s, size_t len, int64_t *unix_ms)
{
        int year, month, day, hour, min, sec, oh = 0, om = 0, ms = 0, scale;
        size_t i = 19;
        int64_t t;

        if (!ev_event_timestamp_valid(s, len))
                return false;
        digits(s, 4, &year);
        digits(s + 5, 2, &month);
        digits(s + 8, 2, &day);
        digits(s + 11, 2, &hour);
        digits(s + 14, 2, &min);
        digits(s + 17, 2, &sec);
        if (s[i] == '.') {
                /* Milliseconds: the first three digits; more are cut. */
                for (i++, scale = 100; i < len && s[i] >= '0' && s[i] <= '9';
                     i++, scale /= 10)
                        ms += (s[i] - '0') * scale;
        }
        if (s[i] == '+' || s[i] == '-') {
                digits(s + i + 1, 2, &oh);
                digits(s + i + 4, 2, &om);
                if (s[i] == '-') {
                        oh = -oh;
                        om = -om;
                }
        }
        t = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 +
            sec - oh * 3600 - om * 60;
        *unix_ms = t * 1000 + ms;
        return true;
}

static bool time_member(json_t *root, const char *name, int64_t *unix_ms)
{
        json_t *v = json_object_get(root, name); /* borrowed */

        return json_is_string(v) &&
               ev_event_timestamp_ms(json_string_value(v),
                                     json_string_length(v), unix_ms);
}

bool ev_event_time_ms(json_t *root, int64_t *unix_ms)
{
        if (json_object_get(root, "timestamp"))
                return time_member(root, "timestamp", unix_ms);
        return time_member(root, "event_time", unix_ms);
}

/* Fetches root[name] as a string; on failure fills the verdict. */
static bool string_field(json_t *root, const char *name, const char **val,
                         size_t *len, struct ev_verdict *v)
{
        json_t *field = json_object_get(root, name); /* borrowed */

        if (!field)
                return verdict(v, EV_REASON_MISSING_FIELD, "%s", name);
        if (!json_is_string(field))
                return verdict(v, EV_REASON_WRONG_TYPE, "%s", name);
        *val = json_string_value(field);
        *len = json_string_length(field);
        return true;
}

static bool check_schema(json_t *root, struct ev_verdict *v)
{
        /* Initialised only to quiet GCC's -O3 may-be-uninitialized, which
         * cannot see through string_field's out-parameters. */
        const char *ts = NULL, *service = NULL, *level = NULL, *message = NULL;
        size_t ts_len = 0, service_len = 0, level_len = 0, message_len = 0, i;

        /* Presence first, in a fixed order, so the reported field does not
         * depend on which type error happens to be checked first. */
        if (!json_object_get(root, "timestamp"))
                return verdict(v, EV_REASON_MISSING_FIELD, "timestamp");
        if (!json_object_get(root, "service_name"))
                return verdict(v, EV_REASON_MISSING_FIELD, "service_name");
        if (!json_object_get(root, "level"))
                return verdict(v, EV_REASON_MISSING_FIELD, "level");
        if (!json_object_get(root, "message"))
                return verdict(v, EV_REASON_MISSING_FIELD, "message");
        if (!string_field(root, "timestamp", &ts, &ts_len, v) ||
            !string_field(root, "service_name", &service, &service_len, v) ||
            !string_field(root, "level", &level, &level_len, v) ||
            !string_field(root, "message", &message, &message_len, v))
                return false;
        if (!ev_event_timestamp_valid(ts, ts_len))
                return verdict(v, EV_REASON_BAD_TIMESTAMP, "timestamp");
        if (service_len == 0)
                return verdict(v, EV_REASON_MISSING_FIELD,
                               "service_name (empty)");
        for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
                if (level_len == strlen(levels[i]) &&
                    !memcmp(level, levels[i], level_len))
                        return verdict(v, EV_REASON_NONE, "%s", "");
        }
        return verdict(v, EV_REASON_BAD_LEVEL, "level");
}

bool ev_event_validate(const char *buf, size_t len,
                       const struct ev_event_rules *rules, json_t **root,
                       struct ev_verdict *v)
{
        /* DECODE_ANY so that "42" is reported as not_object, not as a
         * parse error; ALLOW_NUL because "\u0000" is valid JSON. */
        const size_t flags =
            JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL;
        json_error_t jerr;
        json_t *obj;
        bool ok;

        if (root)
                *root = NULL;
        if (len == 0)
                return verdict(v, EV_REASON_EMPTY, "empty payload");
        if (len > rules->max_payload_bytes)
                return verdict(v, EV_REASON_TOO_LARGE, "%zu bytes, limit %zu",
                               len, rules->max_payload_bytes);
        obj = json_loadb(buf, len, flags, &jerr);
        /* jansson keeps integers in a long long; a larger one is still
         * valid JSON, so parse it as a real rather than call it toxic. */
        if (!obj && json_error_code(&jerr) == json_error_numeric_overflow)
                obj = json_loadb(buf, len, flags | JSON_DECODE_INT_AS_REAL,
                                 &jerr);
        if (!obj) {
                verdict(v, EV_REASON_NOT_JSON, "%s at byte %d", jerr.text,
                        jerr.position);
                v->line = jerr.line;
                v->column = jerr.column;
                v->position = jerr.position;
                return false;
        }
        if (!json_is_object(obj))
                ok = verdict(v, EV_REASON_NOT_OBJECT, "top level is %s",
                             json_is_array(obj) ? "an array" : "a scalar");
        else if (rules->schema)
                ok = check_schema(obj, v);
        else
                ok = verdict(v, EV_REASON_NONE, "%s", "");
        if (ok && root)
                *root = obj;
        else
                json_decref(obj);
        return ok;
}
