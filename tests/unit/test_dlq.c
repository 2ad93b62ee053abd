/*
 * Unit tests for consumer/dlq's headers and common/timefmt: what a dead
 * letter says about its rejection and origin, whatever the verdict, the
 * key and the room the source's origin values take.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlq.h"
#include "escape.h"
#include "event.h"
#include "timefmt.h"

#define BYTES(s) (s), sizeof(s) - 1
/* 2026-11-29T15:40:00.123Z */
#define NOW_MS INT64_C(1795966800123)

/* A source whose origin op writes one header per value it is given, as a
 * transport does, through ev_origin_add. */
struct origin_source {
        struct ev_source src; /* first: the op casts back from it */
        const char *values[EV_ORIGIN_HEADERS_MAX];
        size_t cnt;
};

static size_t fake_origin(const struct ev_source *src, const struct ev_msg *msg,
                          struct ev_header *hdrs, char *buf, size_t size)
{
        static const char *const names[EV_ORIGIN_HEADERS_MAX] = {
            "source.topic",     "source.partition", "source.offset",
            "source.timestamp", "consumer.group",   "source.extra"};
        const struct origin_source *os = (const struct origin_source *)src;
        size_t i, n = 0, off = 0;

        (void)msg;
        for (i = 0; i < os->cnt; i++)
                n = ev_origin_add(hdrs, n, names[i], buf, size, &off, "%s",
                                  os->values[i]);
        return n;
}

static const struct ev_source_ops origin_ops = {.origin = fake_origin};

/* The header called name, or NULL; fails on a second one. */
static const struct ev_header *find(const struct ev_header *hdrs, size_t n,
                                    const char *name)
{
        const struct ev_header *found = NULL;
        size_t i;

        for (i = 0; i < n; i++) {
                if (strcmp(hdrs[i].name, name))
                        continue;
                assert_null(found);
                found = &hdrs[i];
        }
        return found;
}

static void expect_header(const struct ev_header *hdrs, size_t n,
                          const char *name, const char *want)
{
        const struct ev_header *h = find(hdrs, n, name);

        if (!h)
                fail_msg("no header %s", name);
        if (h->len != strlen(want) || memcmp(h->value, want, h->len))
                fail_msg("%s: got '%.*s', want '%s'", name, (int)h->len,
                         h->value, want);
}

/* Every value lies inside buf or is the message's key, and every name is
 * there once. */
static void expect_sound(const struct ev_header *hdrs, size_t n,
                         const char *buf, const struct ev_msg *msg)
{
        size_t i;

        assert_true(n <= EV_DLQ_HEADERS_MAX);
        for (i = 0; i < n; i++) {
                const struct ev_header *h = &hdrs[i];
                bool in_buf = h->value >= buf &&
                              h->value + h->len <= buf + EV_DLQ_HEADER_BYTES;

                assert_non_null(find(hdrs, n, h->name));
                assert_true(in_buf ||
                            (h->value == msg->key && h->len == msg->key_len));
        }
}

static void verdict_of(const char *payload, size_t len, struct ev_verdict *v)
{
        const struct ev_event_rules rules = {EV_DEFAULT_MAX_PAYLOAD_BYTES,
                                             true};

        assert_false(ev_event_validate(payload, len, &rules, NULL, v));
}

static void test_dlq_headers_not_json(void **state)
{
        struct origin_source os = {
            {&origin_ops},
            {"events", "3", "42", "2026-11-29T15:39:59.000Z", "group-a"},
            5};
        const char payload[] = "{\"a\":1,\n  \"b\": tru}";
        struct ev_msg msg = {payload, sizeof(payload) - 1, NULL, 0, NULL};
        struct ev_header hdrs[EV_DLQ_HEADERS_MAX];
        char buf[EV_DLQ_HEADER_BYTES];
        struct ev_verdict v;
        char position[64];
        size_t n;

        (void)state;
        verdict_of(msg.payload, msg.len, &v);
        assert_int_equal(v.reason, EV_REASON_NOT_JSON);
        /* jansson stopped on the second line. */
        assert_int_equal(v.line, 2);
        assert_true(v.column > 0);
        assert_true(v.position > 8);
        n = ev_dlq_headers(&v, &os.src, &msg, NOW_MS, hdrs, buf);
        expect_sound(hdrs, n, buf, &msg);
        assert_int_equal(n, 4 + 5);
        expect_header(hdrs, n, "error.reason", "not_json");
        expect_header(hdrs, n, "error.detail", v.detail);
        snprintf(position, sizeof(position), "line=%d column=%d position=%d",
                 v.line, v.column, v.position);
        expect_header(hdrs, n, "error.position", position);
        expect_header(hdrs, n, "error.time", "2026-11-29T15:40:00.123Z");
        expect_header(hdrs, n, "source.topic", "events");
        expect_header(hdrs, n, "source.partition", "3");
        expect_header(hdrs, n, "source.offset", "42");
        expect_header(hdrs, n, "source.timestamp", "2026-11-29T15:39:59.000Z");
        expect_header(hdrs, n, "consumer.group", "group-a");
        assert_null(find(hdrs, n, "source.key"));
}

/* A schema failure has no position; a key, even a binary one, is passed on
 * as it is. */
static void test_dlq_headers_schema_and_key(void **state)
{
        struct origin_source os = {{&origin_ops}, {"sub-1", "id-9"}, 2};
        const char payload[] = "{\"timestamp\":\"2026-11-22T10:15:30Z\","
                               "\"service_name\":\"api\",\"level\":\"LOUD\","
                               "\"message\":\"hi\"}";
        static const char key[] = "k\0\xff\n";
        struct ev_msg msg = {payload, sizeof(payload) - 1, key, sizeof(key) - 1,
                             NULL};
        struct ev_header hdrs[EV_DLQ_HEADERS_MAX];
        char buf[EV_DLQ_HEADER_BYTES];
        const struct ev_header *h;
        struct ev_verdict v;
        size_t n;

        (void)state;
        verdict_of(msg.payload, msg.len, &v);
        assert_int_equal(v.reason, EV_REASON_BAD_LEVEL);
        assert_int_equal(v.line, 0);
        n = ev_dlq_headers(&v, &os.src, &msg, NOW_MS, hdrs, buf);
        expect_sound(hdrs, n, buf, &msg);
        assert_int_equal(n, 3 + 2 + 1);
        expect_header(hdrs, n, "error.reason", "bad_level");
        expect_header(hdrs, n, "error.detail", "level");
        assert_null(find(hdrs, n, "error.position"));
        h = find(hdrs, n, "source.key");
        assert_non_null(h);
        assert_int_equal(h->len, sizeof(key) - 1);
        assert_memory_equal(h->value, key, sizeof(key) - 1);
}

/* jansson's detail quotes the payload: the header is one printable line of
 * valid UTF-8 (a Pub/Sub attribute must be), whatever the bytes. */
static void test_dlq_headers_hostile_detail(void **state)
{
        static const char *const payloads[] = {
            "\x1b]0;pwned\x07", "\xff\xfe{}",       "abc\ndef",
            "\xc0\xaf",         "{\"a\":\"\x01\"}", "\xe2\x80\xa8x"};
        struct origin_source os = {{&origin_ops}, {"t"}, 1};
        struct ev_header hdrs[EV_DLQ_HEADERS_MAX];
        char buf[EV_DLQ_HEADER_BYTES];
        struct ev_verdict v;
        size_t i, n;

        (void)state;
        for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
                struct ev_msg msg = {payloads[i], strlen(payloads[i]), NULL, 0,
                                     NULL};
                const struct ev_header *h;

                verdict_of(msg.payload, msg.len, &v);
                n = ev_dlq_headers(&v, &os.src, &msg, NOW_MS, hdrs, buf);
                expect_sound(hdrs, n, buf, &msg);
                h = find(hdrs, n, "error.detail");
                assert_non_null(h);
                assert_true(h->len > 0);
                if (ev_escape_unsafe_at(h->value, h->len) != h->len)
                        fail_msg("payload %zu: detail '%.*s' not printable", i,
                                 (int)h->len, h->value);
        }
}

/* Origin values too big for the room left are left out, never cut or
 * written past buf. */
static void test_dlq_headers_full_buffer(void **state)
{
        static char huge[EV_DLQ_HEADER_BYTES];
        struct origin_source os = {{&origin_ops}, {"small", huge, "after"}, 3};
        struct ev_msg msg = {BYTES("x"), NULL, 0, NULL};
        struct ev_header hdrs[EV_DLQ_HEADERS_MAX];
        char *buf = malloc(EV_DLQ_HEADER_BYTES);
        struct ev_verdict v;
        size_t n;

        (void)state;
        assert_non_null(buf);
        memset(huge, 'h', sizeof(huge) - 1);
        verdict_of(msg.payload, msg.len, &v);
        n = ev_dlq_headers(&v, &os.src, &msg, NOW_MS, hdrs, buf);
        expect_sound(hdrs, n, buf, &msg);
        expect_header(hdrs, n, "source.topic", "small");
        assert_null(find(hdrs, n, "source.partition"));
        expect_header(hdrs, n, "source.offset", "after");
        free(buf);
}

static void test_timefmt(void **state)
{
        static const struct {
                int64_t ms;
                const char *want; /* NULL: refused */
        } cases[] = {
            {0, "1970-01-01T00:00:00.000Z"},
            {NOW_MS, "2026-11-29T15:40:00.123Z"},
            {-1, "1969-12-31T23:59:59.999Z"},
            {951782400000, "2000-02-29T00:00:00.000Z"},
            {INT64_C(253402300799999), "9999-12-31T23:59:59.999Z"},
            {INT64_C(253402300800000), NULL},
            {INT64_MIN, NULL},
            {INT64_MAX, NULL},
        };
        char buf[EV_TIMEFMT_SIZE];
        int64_t ms;
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                bool ok = ev_timefmt_rfc3339_ms(cases[i].ms, buf, sizeof(buf));

                if (ok != (cases[i].want != NULL))
                        fail_msg("case %zu: ok=%d", i, ok);
                if (ok) {
                        assert_string_equal(buf, cases[i].want);
                        assert_true(ev_event_timestamp_valid(buf, strlen(buf)));
                }
        }
        assert_false(ev_timefmt_rfc3339_ms(0, buf, sizeof(buf) - 1));
        assert_true(ev_timefmt_now_ms() > NOW_MS - INT64_C(86400000) * 365);
        /* Across years 0000 to 9999, in uneven steps: the text reads back
         * (by the validator's own parser) as the same time. */
        for (ms = INT64_C(-62167219200000); ms < INT64_C(253402300800000);
             ms += INT64_C(777777777777)) {
                int64_t back;

                assert_true(ev_timefmt_rfc3339_ms(ms, buf, sizeof(buf)));
                assert_true(ev_event_timestamp_ms(buf, strlen(buf), &back));
                assert_int_equal(back, ms);
        }
        assert_false(
            ev_timefmt_rfc3339_ms(INT64_C(-62167219200001), buf, sizeof(buf)));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_dlq_headers_not_json),
            cmocka_unit_test(test_dlq_headers_schema_and_key),
            cmocka_unit_test(test_dlq_headers_hostile_detail),
            cmocka_unit_test(test_dlq_headers_full_buffer),
            cmocka_unit_test(test_timefmt),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
