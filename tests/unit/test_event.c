/*
 * Unit tests for common/event: the verdict on hostile and well-formed
 * payloads. Every payload is copied into a heap buffer of exactly its length,
 * with no NUL after it, so that ASan reports any read past len.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event.h"

/* A string literal as pointer and length; the length counts embedded NULs
 * and excludes the terminator. */
#define BYTES(s) (s), sizeof(s) - 1

#define EVENT(ts, svc, lvl, msg)                                               \
        "{\"timestamp\":\"" ts "\",\"service_name\":\"" svc                    \
        "\",\"level\":\"" lvl "\",\"message\":\"" msg "\"}"
#define GOOD_TS    "2026-11-22T10:15:30Z"
#define TS(ts)     EVENT(ts, "api", "INFO", "hi")
#define LEVEL(lvl) EVENT(GOOD_TS, "api", lvl, "hi")
#define MSG(msg)   EVENT(GOOD_TS, "api", "INFO", msg)
#define VALID      EV_REASON_NONE
#define BAD_TS     EV_REASON_BAD_TIMESTAMP
#define NOT_JSON   EV_REASON_NOT_JSON

struct event_case {
        const char *name;
        const char *payload;
        size_t len;
        enum ev_reason reason;
        const char *detail; /* substring of verdict.detail; NULL: any */
};

/* Validated with the default rules: 1 MiB limit, schema on. */
static const struct event_case event_cases[] = {
    /* One case per reason. */
    {"valid event", BYTES(TS(GOOD_TS)), VALID, NULL},
    {"empty payload", BYTES(""), EV_REASON_EMPTY, "empty"},
    {"whitespace only", BYTES(" \n"), NOT_JSON, "at byte"},
    {"garbage", BYTES("hello"), NOT_JSON, NULL},
    {"truncated object", BYTES("{\"timestamp\":"), NOT_JSON, NULL},
    {"single quotes", BYTES("{'level':'INFO'}"), NOT_JSON, NULL},
    {"trailing comma", BYTES("{\"a\":1,}"), NOT_JSON, NULL},
    {"top level array", BYTES("[1,2]"), EV_REASON_NOT_OBJECT, "array"},
    {"top level number", BYTES("42"), EV_REASON_NOT_OBJECT, "scalar"},
    {"top level string", BYTES("\"x\""), EV_REASON_NOT_OBJECT, "scalar"},
    {"top level null", BYTES("null"), EV_REASON_NOT_OBJECT, "scalar"},
    {"top level true", BYTES("true"), EV_REASON_NOT_OBJECT, "scalar"},
    {"empty object", BYTES("{}"), EV_REASON_MISSING_FIELD, "timestamp"},
    {"missing timestamp",
     BYTES("{\"service_name\":\"api\",\"level\":\"INFO\",\"message\":\"hi\"}"),
     EV_REASON_MISSING_FIELD, "timestamp"},
    {"missing service_name",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"level\":\"INFO\","
           "\"message\":\"hi\"}"),
     EV_REASON_MISSING_FIELD, "service_name"},
    {"missing level",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"message\":\"hi\"}"),
     EV_REASON_MISSING_FIELD, "level"},
    {"missing message",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\"}"),
     EV_REASON_MISSING_FIELD, "message"},
    {"missing beats wrong type",
     BYTES("{\"timestamp\":1,\"service_name\":\"api\",\"level\":\"INFO\"}"),
     EV_REASON_MISSING_FIELD, "message"},
    {"timestamp is a number",
     BYTES("{\"timestamp\":1763806530,\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":\"hi\"}"),
     EV_REASON_WRONG_TYPE, "timestamp"},
    {"service_name is null",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":null,"
           "\"level\":\"INFO\",\"message\":\"hi\"}"),
     EV_REASON_WRONG_TYPE, "service_name"},
    {"level is an array",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":[\"INFO\"],\"message\":\"hi\"}"),
     EV_REASON_WRONG_TYPE, "level"},
    {"message is an object",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":{\"text\":\"hi\"}}"),
     EV_REASON_WRONG_TYPE, "message"},
    {"message is a number",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":42}"),
     EV_REASON_WRONG_TYPE, "message"},
    {"message is a boolean",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":false}"),
     EV_REASON_WRONG_TYPE, "message"},
    {"timestamp is prose", BYTES(TS("yesterday")), BAD_TS, "timestamp"},
    {"timestamp is empty", BYTES(TS("")), BAD_TS, "timestamp"},
    {"empty service_name", BYTES(EVENT(GOOD_TS, "", "INFO", "hi")),
     EV_REASON_MISSING_FIELD, "service_name"},
    {"empty message", BYTES(MSG("")), VALID, NULL},
    {"extra fields",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"extra\":[1,{}],"
           "\"service_name\":\"api\",\"level\":\"INFO\","
           "\"message\":\"hi\",\"trace_id\":null}"),
     VALID, NULL},

    /* Levels: exact, upper-case names only. */
    {"level DEBUG", BYTES(LEVEL("DEBUG")), VALID, NULL},
    {"level INFO", BYTES(LEVEL("INFO")), VALID, NULL},
    {"level WARN", BYTES(LEVEL("WARN")), VALID, NULL},
    {"level ERROR", BYTES(LEVEL("ERROR")), VALID, NULL},
    {"level FATAL", BYTES(LEVEL("FATAL")), VALID, NULL},
    {"level lower case", BYTES(LEVEL("info")), EV_REASON_BAD_LEVEL, "level"},
    {"level mixed case", BYTES(LEVEL("Info")), EV_REASON_BAD_LEVEL, "level"},
    {"level WARNING", BYTES(LEVEL("WARNING")), EV_REASON_BAD_LEVEL, "level"},
    {"level TRACE", BYTES(LEVEL("TRACE")), EV_REASON_BAD_LEVEL, "level"},
    {"level with a space", BYTES(LEVEL("INFO ")), EV_REASON_BAD_LEVEL, NULL},
    {"level prefix", BYTES(LEVEL("INF")), EV_REASON_BAD_LEVEL, NULL},
    {"level empty", BYTES(LEVEL("")), EV_REASON_BAD_LEVEL, NULL},
    {"level with escaped NUL", BYTES(LEVEL("INFO\\u0000")), EV_REASON_BAD_LEVEL,
     NULL},

    /* RFC 3339 date-time. */
    {"ts fraction 1 digit", BYTES(TS("2026-11-22T10:15:30.1Z")), VALID, NULL},
    {"ts fraction 3 digits", BYTES(TS("2026-11-22T10:15:30.123Z")), VALID,
     NULL},
    {"ts fraction 6 digits", BYTES(TS("2026-11-22T10:15:30.123456Z")), VALID,
     NULL},
    {"ts fraction 9 digits", BYTES(TS("2026-11-22T10:15:30.123456789Z")), VALID,
     NULL},
    {"ts fraction 24 digits",
     BYTES(TS("2026-11-22T10:15:30.123456789012345678901234Z")), VALID, NULL},
    {"ts fraction without digits", BYTES(TS("2026-11-22T10:15:30.Z")), BAD_TS,
     "timestamp"},
    {"ts fraction comma", BYTES(TS("2026-11-22T10:15:30,5Z")), BAD_TS, NULL},
    {"ts lower-case z", BYTES(TS("2026-11-22T10:15:30z")), VALID, NULL},
    {"ts lower-case t", BYTES(TS("2026-11-22t10:15:30Z")), VALID, NULL},
    {"ts offset +05:30", BYTES(TS("2026-11-22T10:15:30+05:30")), VALID, NULL},
    {"ts offset -08:00", BYTES(TS("2026-11-22T10:15:30-08:00")), VALID, NULL},
    {"ts offset -00:00", BYTES(TS("2026-11-22T10:15:30-00:00")), VALID, NULL},
    {"ts offset +23:59", BYTES(TS("2026-11-22T10:15:30+23:59")), VALID, NULL},
    {"ts fraction and offset", BYTES(TS("2026-11-22T10:15:30.5+05:30")), VALID,
     NULL},
    {"ts offset +24:00", BYTES(TS("2026-11-22T10:15:30+24:00")), BAD_TS, NULL},
    {"ts offset +05:60", BYTES(TS("2026-11-22T10:15:30+05:60")), BAD_TS, NULL},
    {"ts offset without colon", BYTES(TS("2026-11-22T10:15:30+0530")), BAD_TS,
     NULL},
    {"ts offset hours only", BYTES(TS("2026-11-22T10:15:30+05")), BAD_TS, NULL},
    {"ts offset and Z", BYTES(TS("2026-11-22T10:15:30+05:30Z")), BAD_TS, NULL},
    {"ts no offset", BYTES(TS("2026-11-22T10:15:30")), BAD_TS, NULL},
    {"ts ZZ", BYTES(TS("2026-11-22T10:15:30ZZ")), BAD_TS, NULL},
    {"ts Feb 29 leap year", BYTES(TS("2024-02-29T00:00:00Z")), VALID, NULL},
    {"ts Feb 29 non-leap year", BYTES(TS("2023-02-29T00:00:00Z")), BAD_TS,
     NULL},
    {"ts Feb 29 1900", BYTES(TS("1900-02-29T00:00:00Z")), BAD_TS, NULL},
    {"ts Feb 29 2000", BYTES(TS("2000-02-29T00:00:00Z")), VALID, NULL},
    {"ts Feb 30 leap year", BYTES(TS("2024-02-30T00:00:00Z")), BAD_TS, NULL},
    {"ts Apr 30", BYTES(TS("2026-04-30T00:00:00Z")), VALID, NULL},
    {"ts Apr 31", BYTES(TS("2026-04-31T00:00:00Z")), BAD_TS, NULL},
    {"ts Dec 31", BYTES(TS("2026-12-31T23:59:59Z")), VALID, NULL},
    {"ts Jan 32", BYTES(TS("2026-01-32T00:00:00Z")), BAD_TS, NULL},
    {"ts day 00", BYTES(TS("2026-01-00T00:00:00Z")), BAD_TS, NULL},
    {"ts month 00", BYTES(TS("2026-00-10T00:00:00Z")), BAD_TS, NULL},
    {"ts month 13", BYTES(TS("2026-13-10T00:00:00Z")), BAD_TS, NULL},
    {"ts year 0000", BYTES(TS("0000-01-01T00:00:00Z")), VALID, NULL},
    {"ts hour 24", BYTES(TS("2026-11-22T24:00:00Z")), BAD_TS, NULL},
    {"ts minute 60", BYTES(TS("2026-11-22T10:60:00Z")), BAD_TS, NULL},
    {"ts leap second 23:59:60", BYTES(TS("2026-12-31T23:59:60Z")), VALID, NULL},
    {"ts second 60 mid-minute", BYTES(TS("2026-11-22T12:30:60Z")), BAD_TS,
     NULL},
    {"ts second 61", BYTES(TS("2026-12-31T23:59:61Z")), BAD_TS, NULL},
    {"ts missing seconds", BYTES(TS("2026-11-22T10:15Z")), BAD_TS, NULL},
    {"ts trailing space", BYTES(TS("2026-11-22T10:15:30Z ")), BAD_TS, NULL},
    {"ts leading space", BYTES(TS(" 2026-11-22T10:15:30Z")), BAD_TS, NULL},
    {"ts date only", BYTES(TS("2026-11-22")), BAD_TS, NULL},
    {"ts space instead of T", BYTES(TS("2026-11-22 10:15:30Z")), BAD_TS, NULL},
    {"ts two-digit year", BYTES(TS("26-11-22T10:15:30Z")), BAD_TS, NULL},
    {"ts one-digit month", BYTES(TS("2026-1-22T10:15:30Z")), BAD_TS, NULL},
    {"ts signed year", BYTES(TS("+2026-11-22T10:15:30Z")), BAD_TS, NULL},
    {"ts fullwidth digit",
     BYTES(TS("\xef\xbc\x92"
              "026-11-22T10:15:30Z")),
     BAD_TS, NULL},
    {"ts arabic-indic digit", BYTES(TS("2026-11-22T1\xd9\xa0:15:30Z")), BAD_TS,
     NULL},
    {"ts escaped NUL after Z", BYTES(TS("2026-11-22T10:15:30Z\\u0000")), BAD_TS,
     NULL},
    {"ts escaped NUL inside", BYTES(TS("2026-11-22T10:15:30\\u0000Z")), BAD_TS,
     NULL},

    /* UTF-8 in strings. */
    {"utf-8 2-byte", BYTES(MSG("caf\xc3\xa9")), VALID, NULL},
    {"utf-8 3-byte", BYTES(MSG("\xe6\x97\xa5\xe6\x9c\xac")), VALID, NULL},
    {"utf-8 4-byte emoji", BYTES(MSG("\xf0\x9f\x98\x80")), VALID, NULL},
    {"utf-8 U+10FFFF", BYTES(MSG("\xf4\x8f\xbf\xbf")), VALID, NULL},
    {"utf-8 in service_name", BYTES(EVENT(GOOD_TS, "\xc3\xa9", "INFO", "hi")),
     VALID, NULL},
    {"invalid byte 0xff",
     BYTES(MSG("a\xff"
               "b")),
     NOT_JSON, NULL},
    {"lone continuation byte",
     BYTES(MSG("a\x80"
               "b")),
     NOT_JSON, NULL},
    {"overlong slash", BYTES(MSG("\xc0\xaf")), NOT_JSON, NULL},
    {"overlong 3-byte", BYTES(MSG("\xe0\x80\xaf")), NOT_JSON, NULL},
    {"encoded surrogate", BYTES(MSG("\xed\xa0\x80")), NOT_JSON, NULL},
    {"beyond U+10FFFF", BYTES(MSG("\xf4\x90\x80\x80")), NOT_JSON, NULL},
    {"truncated 3-byte sequence", BYTES(MSG("\xe2\x82")), NOT_JSON, NULL},
    {"invalid byte in a key",
     BYTES("{\"\xff\":1,\"timestamp\":\"" GOOD_TS "\",\"service_name\":"
           "\"api\",\"level\":\"INFO\",\"message\":\"hi\"}"),
     NOT_JSON, NULL},
    {"invalid byte outside strings", BYTES("{\xff}"), NOT_JSON, NULL},
    {"lone high surrogate escape", BYTES(MSG("\\ud800")), NOT_JSON, NULL},
    {"lone low surrogate escape", BYTES(MSG("\\udc00")), NOT_JSON, NULL},
    {"high surrogate then text", BYTES(MSG("\\ud83dx")), NOT_JSON, NULL},
    {"surrogate pair escape", BYTES(MSG("\\ud83d\\ude00")), VALID, NULL},
    {"BOM before the object", BYTES("\xef\xbb\xbf" TS(GOOD_TS)), NOT_JSON,
     NULL},

    /* NUL bytes, escapes and trailing bytes. */
    {"raw NUL in message",
     BYTES(MSG("a\0"
               "b")),
     NOT_JSON, NULL},
    {"raw NUL between tokens",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\0\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":\"hi\"}"),
     NOT_JSON, NULL},
    {"raw NUL first", BYTES("\0" TS(GOOD_TS)), NOT_JSON, NULL},
    {"raw NUL after the object", BYTES(TS(GOOD_TS) "\0"), NOT_JSON, NULL},
    {"escaped NUL in message", BYTES(MSG("a\\u0000b")), VALID, NULL},
    {"raw control character", BYTES(MSG("a\x1b[2J")), NOT_JSON, NULL},
    {"escaped control characters", BYTES(MSG("\\u001b[2J\\n\\t")), VALID, NULL},
    {"trailing garbage", BYTES(TS(GOOD_TS) "x"), NOT_JSON, NULL},
    {"two objects", BYTES(TS(GOOD_TS) TS(GOOD_TS)), NOT_JSON, NULL},
    {"trailing whitespace", BYTES(TS(GOOD_TS) " \r\n\t"), VALID, NULL},
    {"leading whitespace", BYTES("\n " TS(GOOD_TS)), VALID, NULL},

    /* Duplicate keys are ambiguous: which level would count? */
    {"duplicate level",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\",\"level\":\"ERROR\",\"message\":\"hi\"}"),
     NOT_JSON, "duplicate"},
    {"duplicate extra key",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":\"hi\",\"x\":1,\"x\":1}"),
     NOT_JSON, "duplicate"},
    {"duplicate key, nested",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":\"hi\",\"x\":{\"a\":1,\"a\":2}}"),
     NOT_JSON, "duplicate"},

    /* Numbers beyond what jansson holds are still JSON. */
    {"integer beyond 64 bits",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":\"hi\",\"n\":"
           "123456789012345678901234}"),
     VALID, NULL},
    {"negative integer beyond 64 bits",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":\"hi\",\"n\":"
           "-18446744073709551617}"),
     VALID, NULL},
    {"duplicate key beside a big integer",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":\"hi\",\"n\":"
           "18446744073709551616,\"n\":1}"),
     NOT_JSON, "duplicate"},
    {"real overflow",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":\"hi\",\"n\":1e400}"),
     NOT_JSON, "overflow"},
};

struct rules_case {
        const char *name;
        const char *payload;
        size_t len;
        size_t max_payload_bytes;
        bool schema;
        enum ev_reason reason;
        const char *detail;
};

#define MIB EV_DEFAULT_MAX_PAYLOAD_BYTES

static const struct rules_case rules_cases[] = {
    {"no schema: empty object", BYTES("{}"), MIB, false, VALID, NULL},
    {"no schema: any object", BYTES("{\"a\":1}"), MIB, false, VALID, NULL},
    {"no schema: bad level", BYTES(LEVEL("info")), MIB, false, VALID, NULL},
    {"no schema: array", BYTES("[1]"), MIB, false, EV_REASON_NOT_OBJECT,
     "array"},
    {"no schema: number", BYTES("1"), MIB, false, EV_REASON_NOT_OBJECT, NULL},
    {"no schema: garbage", BYTES("{a"), MIB, false, NOT_JSON, NULL},
    {"no schema: duplicate keys", BYTES("{\"a\":1,\"a\":2}"), MIB, false,
     NOT_JSON, "duplicate"},
    {"no schema: empty", BYTES(""), MIB, false, EV_REASON_EMPTY, NULL},
    {"no schema: too large", BYTES("{\"a\":1}"), 6, false, EV_REASON_TOO_LARGE,
     "7 bytes, limit 6"},
    {"limit 7: at the limit", BYTES("{\"a\":1}"), 7, false, VALID, NULL},
    {"limit 1: too large", BYTES("{}"), 1, true, EV_REASON_TOO_LARGE, NULL},
    /* The size check comes before parsing. */
    {"too large garbage", BYTES("\xff\xff\xff\xff"), 3, true,
     EV_REASON_TOO_LARGE, "limit 3"},
    {"empty beats too large", BYTES(""), 1, true, EV_REASON_EMPTY, NULL},
};

/* Validates the len bytes at payload as a heap copy of exactly len bytes
 * and checks the verdict, with and without root. Returns false, after
 * printing why, when the verdict is not the expected one. */
static bool check_verdict(const char *name, const char *payload, size_t len,
                          const struct ev_event_rules *rules,
                          enum ev_reason reason, const char *detail)
{
        struct ev_verdict verdict;
        json_t *sentinel = json_object();
        json_t *root = sentinel;
        char *buf = malloc(len);
        bool ok = true;
        bool valid;

        assert_non_null(sentinel);
        assert_true(buf || !len);
        if (len)
                memcpy(buf, payload, len);
        /* Garbage in every byte, to see that the verdict is always filled. */
        memset(&verdict, 0x7e, sizeof(verdict));
        valid = ev_event_validate(buf, len, rules, &root, &verdict);
        if (verdict.reason != reason) {
                print_error("case '%s': reason %s, expected %s\n", name,
                            ev_reason_name(verdict.reason),
                            ev_reason_name(reason));
                ok = false;
        }
        if (valid != (reason == EV_REASON_NONE)) {
                print_error("case '%s': returned %d\n", name, valid);
                ok = false;
        }
        if (!memchr(verdict.detail, '\0', sizeof(verdict.detail))) {
                print_error("case '%s': detail not terminated\n", name);
                ok = false;
        } else if (detail && !strstr(verdict.detail, detail)) {
                print_error("case '%s': detail '%s' lacks '%s'\n", name,
                            verdict.detail, detail);
                ok = false;
        }
        if (valid && !json_is_object(root)) {
                print_error("case '%s': valid but *root is not an object\n",
                            name);
                ok = false;
        }
        if (!valid && root) {
                print_error("case '%s': toxic but *root is not NULL\n", name);
                ok = false;
        }
        if (root != sentinel)
                json_decref(root);
        json_decref(sentinel);

        /* root is optional; the verdict must not depend on it. */
        valid = ev_event_validate(buf, len, rules, NULL, &verdict);
        if (verdict.reason != reason || valid != (reason == EV_REASON_NONE)) {
                print_error("case '%s': without root: reason %s\n", name,
                            ev_reason_name(verdict.reason));
                ok = false;
        }
        free(buf);
        return ok;
}

static void test_event_table(void **state)
{
        const struct ev_event_rules rules = {EV_DEFAULT_MAX_PAYLOAD_BYTES,
                                             true};
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(event_cases) / sizeof(event_cases[0]); i++) {
                const struct event_case *c = &event_cases[i];

                if (!check_verdict(c->name, c->payload, c->len, &rules,
                                   c->reason, c->detail))
                        failed++;
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

static void test_event_rules_table(void **state)
{
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(rules_cases) / sizeof(rules_cases[0]); i++) {
                const struct rules_case *c = &rules_cases[i];
                const struct ev_event_rules rules = {c->max_payload_bytes,
                                                     c->schema};

                if (!check_verdict(c->name, c->payload, c->len, &rules,
                                   c->reason, c->detail))
                        failed++;
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* A valid event of exactly size bytes, its message padded with 'x'.
 * The caller frees it. */
static char *padded_event(size_t size)
{
        static const char head[] =
            "{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
            "\"level\":\"INFO\",\"message\":\"";
        static const char tail[] = "\"}";
        size_t fixed = sizeof(head) - 1 + sizeof(tail) - 1;
        char *buf = malloc(size);

        assert_non_null(buf);
        assert_true(size >= fixed);
        memcpy(buf, head, sizeof(head) - 1);
        memset(buf + sizeof(head) - 1, 'x', size - fixed);
        memcpy(buf + size - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
        return buf;
}

static void test_event_size_limit(void **state)
{
        static const struct {
                const char *name;
                size_t max_payload_bytes;
                size_t size;
                enum ev_reason reason;
        } cases[] = {
            {"256: one under", 256, 255, VALID},
            {"256: at the limit", 256, 256, VALID},
            {"256: one over", 256, 257, EV_REASON_TOO_LARGE},
            {"256: far over", 256, 4096, EV_REASON_TOO_LARGE},
            {"1 MiB: at the limit", MIB, MIB, VALID},
            {"1 MiB: one over", MIB, MIB + 1, EV_REASON_TOO_LARGE},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct ev_event_rules rules = {cases[i].max_payload_bytes,
                                                     true};
                char *buf = padded_event(cases[i].size);

                if (!check_verdict(cases[i].name, buf, cases[i].size, &rules,
                                   cases[i].reason,
                                   cases[i].reason ? "limit" : NULL))
                        failed++;
                free(buf);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* head, then open repeated depth times, then mid, then close repeated depth
 * times, then tail: a nested payload of exactly the returned *len bytes. */
static char *nested(const char *head, const char *open, const char *mid,
                    const char *close, const char *tail, size_t depth,
                    size_t *len)
{
        size_t open_len = strlen(open), close_len = strlen(close);
        size_t i, o = 0;
        char *buf;

        *len = strlen(head) + depth * (open_len + close_len) + strlen(mid) +
               strlen(tail);
        buf = malloc(*len);
        assert_non_null(buf);
        memcpy(buf + o, head, strlen(head));
        o += strlen(head);
        for (i = 0; i < depth; i++, o += open_len)
                memcpy(buf + o, open, open_len);
        memcpy(buf + o, mid, strlen(mid));
        o += strlen(mid);
        for (i = 0; i < depth; i++, o += close_len)
                memcpy(buf + o, close, close_len);
        memcpy(buf + o, tail, strlen(tail));
        return buf;
}

static void test_event_nesting(void **state)
{
        /* An event whose last member, "extra", is the nested value. */
        static const char event_head[] =
            "{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
            "\"level\":\"INFO\",\"message\":\"hi\",\"extra\":";
        static const struct {
                const char *name;
                const char *head, *open, *mid, *close, *tail;
                size_t depth;
                bool schema;
                enum ev_reason reason;
        } cases[] = {
            {"event, arrays 100 deep", event_head, "[", "1", "]", "}", 100,
             true, VALID},
            {"event, objects 100 deep", event_head, "{\"a\":", "1", "}", "}",
             100, true, VALID},
            {"event, arrays 3000 deep", event_head, "[", "", "]", "}", 3000,
             true, NOT_JSON},
            {"bare arrays 3000 deep", "", "[", "", "]", "", 3000, false,
             NOT_JSON},
            {"bare objects 3000 deep", "", "{\"a\":", "1", "}", "", 3000, false,
             NOT_JSON},
            {"unclosed arrays 3000 deep", "", "[", "", "", "", 3000, false,
             NOT_JSON},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct ev_event_rules rules = {MIB, cases[i].schema};
                size_t len;
                char *buf =
                    nested(cases[i].head, cases[i].open, cases[i].mid,
                           cases[i].close, cases[i].tail, cases[i].depth, &len);

                if (!check_verdict(cases[i].name, buf, len, &rules,
                                   cases[i].reason, NULL))
                        failed++;
                free(buf);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* A valid verdict hands over the whole object, extra members included. */
static void test_event_root_contents(void **state)
{
        static const char payload[] =
            "{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
            "\"level\":\"WARN\",\"message\":\"a\\u0000b\","
            "\"trace_id\":\"abc\",\"attrs\":{\"n\":1}}";
        const struct ev_event_rules rules = {MIB, true};
        struct ev_verdict verdict;
        json_t *root;
        char *buf = malloc(sizeof(payload) - 1);

        (void)state;
        assert_non_null(buf);
        memcpy(buf, payload, sizeof(payload) - 1);
        assert_true(ev_event_validate(buf, sizeof(payload) - 1, &rules, &root,
                                      &verdict));
        assert_int_equal(verdict.reason, EV_REASON_NONE);
        assert_true(json_is_object(root));
        assert_int_equal(json_object_size(root), 6);
        assert_string_equal(json_string_value(json_object_get(root, "level")),
                            "WARN");
        assert_int_equal(json_string_length(json_object_get(root, "message")),
                         3);
        assert_memory_equal(json_string_value(json_object_get(root, "message")),
                            "a\0b", 3);
        assert_string_equal(
            json_string_value(json_object_get(root, "trace_id")), "abc");
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(root, "attrs"), "n")),
                         1);
        /* The caller holds the only reference. */
        assert_int_equal(root->refcount, 1);
        json_decref(root);
        free(buf);
}

/* ev_event_timestamp_valid reads only the len bytes it is given. */
static void test_event_timestamp_len(void **state)
{
        static const struct {
                const char *name;
                const char *s;
                size_t len;
                bool valid;
        } cases[] = {
            {"exact", BYTES("2026-11-22T10:15:30Z"), true},
            {"followed by junk, len excludes it", "2026-11-22T10:15:30Zjunk",
             20, true},
            {"len cuts the Z", "2026-11-22T10:15:30Z", 19, false},
            {"len cuts the offset", "2026-11-22T10:15:30+05:30", 24, false},
            {"len cuts the fraction", "2026-11-22T10:15:30.5Z", 21, false},
            {"ends at the dot", BYTES("2026-11-22T10:15:30."), false},
            {"len 0", "", 0, false},
            {"offset, exact", BYTES("2026-11-22T10:15:30-08:00"), true},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *buf = malloc(cases[i].len);

                assert_true(buf || !cases[i].len);
                if (cases[i].len)
                        memcpy(buf, cases[i].s, cases[i].len);
                if (ev_event_timestamp_valid(buf, cases[i].len) !=
                    cases[i].valid) {
                        print_error("case '%s': expected %d\n", cases[i].name,
                                    cases[i].valid);
                        failed++;
                }
                free(buf);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

static void test_event_reason_names(void **state)
{
        static const struct {
                enum ev_reason reason;
                const char *name;
                bool malformed;
        } cases[] = {
            {EV_REASON_NONE, "valid", false},
            {EV_REASON_EMPTY, "empty", true},
            {EV_REASON_TOO_LARGE, "too_large", false},
            {EV_REASON_NOT_JSON, "not_json", true},
            {EV_REASON_NOT_OBJECT, "not_object", false},
            {EV_REASON_MISSING_FIELD, "missing_field", false},
            {EV_REASON_WRONG_TYPE, "wrong_type", false},
            {EV_REASON_BAD_TIMESTAMP, "bad_timestamp", false},
            {EV_REASON_BAD_LEVEL, "bad_level", false},
            {EV_REASON__CNT, "unknown", false},
            {(enum ev_reason)999, "unknown", false},
        };
        size_t i, failed = 0;

        (void)state;
        /* Every reason has a row above. */
        assert_int_equal(EV_REASON__CNT, 9);
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *name = ev_reason_name(cases[i].reason);

                if (strcmp(name, cases[i].name) ||
                    ev_reason_is_malformed(cases[i].reason) !=
                        cases[i].malformed) {
                        print_error("reason %d: name '%s', expected '%s'\n",
                                    (int)cases[i].reason, name, cases[i].name);
                        failed++;
                }
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

static void test_event_timestamp_ms(void **state)
{
        static const struct {
                const char *ts;
                bool ok;
                int64_t ms;
        } cases[] = {
            {"1970-01-01T00:00:00Z", true, 0},
            {"1970-01-01T00:00:00.5Z", true, 500},
            {"1970-01-01T00:00:00.123456789Z", true, 123},
            {"2026-11-29T15:40:00.123Z", true, INT64_C(1795966800123)},
            {"2026-11-29T16:40:00.123+01:00", true, INT64_C(1795966800123)},
            {"2026-11-29T10:10:00.123-05:30", true, INT64_C(1795966800123)},
            {"2000-02-29T00:00:00z", true, INT64_C(951782400000)},
            {"1969-12-31T23:59:59.999Z", true, -1},
            {"0001-01-01T00:00:00Z", true, INT64_C(-62135596800000)},
            {"2016-12-31T23:59:60Z", true, INT64_C(1483228800000)},
            {"2026-02-29T00:00:00Z", false, 0},
            {"2026-11-29 15:40:00Z", false, 0},
            {"", false, 0},
        };
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int64_t ms = 42;
                bool ok = ev_event_timestamp_ms(cases[i].ts,
                                                strlen(cases[i].ts), &ms);

                if (ok != cases[i].ok || (ok && ms != cases[i].ms))
                        fail_msg("'%s': ok=%d ms=%lld", cases[i].ts, ok,
                                 (long long)ms);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_event_timestamp_ms),
            cmocka_unit_test(test_event_table),
            cmocka_unit_test(test_event_rules_table),
            cmocka_unit_test(test_event_size_limit),
            cmocka_unit_test(test_event_nesting),
            cmocka_unit_test(test_event_root_contents),
            cmocka_unit_test(test_event_timestamp_len),
            cmocka_unit_test(test_event_reason_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
