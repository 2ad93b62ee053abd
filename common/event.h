/*
 * The event contract: what makes a payload a valid log event, and the
 * verdict with its reason when it is not. Pure: no I/O, no global state.
 */
#ifndef EV_EVENT_H
#define EV_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum ev_reason {
        EV_REASON_NONE = 0, /* valid */
        EV_REASON_EMPTY,
        EV_REASON_TOO_LARGE,
        EV_REASON_NOT_JSON,
        EV_REASON_NOT_OBJECT,
        EV_REASON_MISSING_FIELD,
        EV_REASON_WRONG_TYPE,
        EV_REASON_BAD_TIMESTAMP,
        EV_REASON_BAD_LEVEL,
        EV_REASON__CNT,
};

#define EV_DEFAULT_MAX_PAYLOAD_BYTES (1024 * 1024)

struct ev_event_rules {
        size_t max_payload_bytes; /* larger payloads are too_large */
        bool schema;              /* false: any JSON object is valid */
};

/* The verdict on one payload. detail is for humans: the field name for
 * missing_field/wrong_type/bad_*, the parser's message for not_json. */
struct ev_verdict {
        enum ev_reason reason;
        char detail[160];
        /* For not_json, where jansson stopped: line and column (in
         * characters, from 1; -1 when unknown) and the byte offset.
         * Zero for every other reason. */
        int line;
        int column;
        int position;
};

/*
 * Validates the len bytes at buf (not NUL-terminated, any bytes allowed).
 *
 * Valid: a JSON object (duplicate keys rejected) holding "timestamp" (an RFC
 * 3339 date-time string), "service_name" (non-empty string), "level" (one of
 * DEBUG INFO WARN ERROR FATAL) and "message" (string); other members are
 * allowed. With rules->schema false, any JSON object is valid.
 *
 * Returns true when valid. *root, when root is not NULL, then receives the
 * parsed object as a new reference the caller must json_decref(); on a
 * toxic verdict it is set to NULL. verdict is always filled.
 */
bool ev_event_validate(const char *buf, size_t len,
                       const struct ev_event_rules *rules, json_t **root,
                       struct ev_verdict *verdict);

/* True when len bytes at s are an RFC 3339 date-time
 * ("2026-11-22T10:15:30.123Z", "2026-11-22T10:15:30+05:30"). */
bool ev_event_timestamp_valid(const char *s, size_t len);

/* The time a valid RFC 3339 date-time names, in milliseconds since the
 * epoch (digits past the milliseconds are cut; a leap second counts as the
 * next second's start). False when s is not one (ev_event_timestamp_valid). */
bool ev_event_timestamp_ms(const char *s, size_t len, int64_t *unix_ms);

/* The time of the valid event root, in milliseconds since the epoch: its
 * "timestamp", or its "event_time" when it has no "timestamp" (RFC 3339
 * strings). False when that member is missing or not one. */
bool ev_event_time_ms(json_t *root, int64_t *unix_ms);

/* "empty", "not_json", ...; "valid" for EV_REASON_NONE. Static string. */
const char *ev_reason_name(enum ev_reason reason);

/* True for the reasons where the payload could not be parsed at all
 * (empty, not_json), as opposed to a parsed payload that broke the schema. */
bool ev_reason_is_malformed(enum ev_reason reason);

#endif
