/*
 * Unit tests for verify/expect: what each message of a source stages (the
 * COPY lines, parsed back) and how it is counted, on a topic and in a
 * file, with and without routing.
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

#include "expect.h"

#define TOPIC "t"
/* 2026-11-22T10:15:30.000Z */
#define RECEIVED_MS 1795342530000LL
#define RECEIVED    "2026-11-22T10:15:30.000Z"

#define EVENT(extra)                                                           \
        "{\"timestamp\":\"2026-11-22T10:15:30Z\",\"service_name\":\"api\","    \
        "\"level\":\"INFO\",\"message\":\"m\"" extra "}"

/* A staged line, split at its tabs (EV_PGROW_STAGE_COLUMNS). */
enum col {
        COL_SEQ,
        COL_TBL,
        COL_OP,
        COL_ID,
        COL_PAYLOAD,
        COL_EVENT_TIME,
        COL_RECEIVED,
        COL_IS_VALID,
        COL_TOPIC,
        COL_PARTITION,
        COL_OFFSET,
        COL__CNT,
};

struct line {
        char text[4096];
        const char *col[COL__CNT];
};

static const struct ev_event_rules schema_rules = {
    .max_payload_bytes = EV_DEFAULT_MAX_PAYLOAD_BYTES, .schema = true};

/* Line n (from 0) of x's staged text, split; fails the test when there
 * is none or it has the wrong number of columns. */
static void line_at(const struct ev_expect *x, size_t n, struct line *l)
{
        const char *p = x->copy.data, *end;
        size_t i, len;
        char *c;

        assert_non_null(p);
        for (i = 0; i < n; i++) {
                p = strchr(p, '\n');
                assert_non_null(p);
                p++;
        }
        end = strchr(p, '\n');
        assert_non_null(end);
        len = (size_t)(end - p);
        assert_true(len < sizeof(l->text));
        memcpy(l->text, p, len);
        l->text[len] = '\0';
        c = l->text;
        for (i = 0; i < COL__CNT; i++) {
                l->col[i] = c;
                c = strchr(c, '\t');
                if (i + 1 < COL__CNT) {
                        assert_non_null(c);
                        *c++ = '\0';
                }
        }
        assert_null(c);
}

static size_t lines(const struct ev_expect *x)
{
        size_t n = 0, i;

        for (i = 0; i < x->copy.len; i++)
                n += x->copy.data[i] == '\n';
        return n;
}

static void add(struct ev_expect *x, const char *payload, const char *key,
                int32_t partition, int64_t offset)
{
        const struct ev_pgrow_origin origin = {x->file ? "f.ndjson" : TOPIC,
                                               partition, offset, NULL};

        assert_int_equal(ev_expect_add(x, payload,
                                       payload ? strlen(payload) : 0, key,
                                       key ? strlen(key) : 0, &origin),
                         EV_OK);
}

/* A topic: upserts, a duplicate, an update, tombstones usable or not,
 * toxic messages, an event holding a NUL and one without an event_id. */
static void test_expect_topic(void **state)
{
        struct ev_expect x;
        struct line l;

        (void)state;
        assert_int_equal(
            ev_expect_init(&x, "ev", NULL, &schema_rules, false, RECEIVED_MS),
            EV_OK);
        add(&x, EVENT(",\"event_id\":\"a\""), "a", 0, 0);
        add(&x, EVENT(",\"event_id\":\"a\""), "a", 0, 1);
        add(&x, EVENT(",\"event_id\":\"a\",\"is_valid\":false"), "a", 0, 2);
        add(&x, NULL, "a", 0, 3);
        add(&x, NULL, "", 0, 4);         /* no key: deletes nothing */
        add(&x, NULL, "\xff\xfe", 0, 5); /* not UTF-8 */
        add(&x, "{not json", "b", 1, 0);
        add(&x, "{\"message\":\"no time\"}", "b", 1, 1);
        add(&x, "", "b", 1, 2);
        add(&x, EVENT(",\"event_id\":\"n\",\"x\":\"a\\u0000b\""), "n", 1, 3);
        add(&x, EVENT(""), NULL, 2, 7);

        assert_int_equal(x.counts.source, 11);
        assert_int_equal(x.counts.valid, 5);
        assert_int_equal(x.counts.toxic, 3);
        assert_int_equal(x.counts.tombstones, 3);
        assert_int_equal(x.counts.unkeyed, 0);
        assert_int_equal(x.counts.skipped, 1);
        assert_int_equal(lines(&x), 5);
        assert_int_equal(x.table_cnt, 1);
        assert_string_equal(x.tables[0], "ev");

        line_at(&x, 0, &l);
        assert_string_equal(l.col[COL_SEQ], "0");
        assert_string_equal(l.col[COL_TBL], "0");
        assert_string_equal(l.col[COL_OP], "u");
        assert_string_equal(l.col[COL_ID], "a");
        assert_string_equal(l.col[COL_PAYLOAD], EVENT(",\"event_id\":\"a\""));
        assert_string_equal(l.col[COL_EVENT_TIME], "2026-11-22T10:15:30.000Z");
        assert_string_equal(l.col[COL_RECEIVED], RECEIVED);
        assert_string_equal(l.col[COL_IS_VALID], "t");
        assert_string_equal(l.col[COL_TOPIC], TOPIC);
        assert_string_equal(l.col[COL_PARTITION], "0");
        assert_string_equal(l.col[COL_OFFSET], "0");

        line_at(&x, 2, &l);
        assert_string_equal(l.col[COL_SEQ], "2");
        assert_string_equal(l.col[COL_IS_VALID], "f");
        assert_string_equal(l.col[COL_OFFSET], "2");

        line_at(&x, 3, &l);
        assert_string_equal(l.col[COL_SEQ], "3");
        assert_string_equal(l.col[COL_OP], "d");
        assert_string_equal(l.col[COL_ID], "a");
        assert_string_equal(l.col[COL_PAYLOAD], "\\N");
        assert_string_equal(l.col[COL_IS_VALID], "\\N");
        assert_string_equal(l.col[COL_OFFSET], "3");

        /* On a topic, the consumer names an event without an event_id by
         * its position, and so does the expected state. */
        line_at(&x, 4, &l);
        assert_string_equal(l.col[COL_SEQ], "4");
        assert_string_equal(l.col[COL_OP], "u");
        assert_string_equal(l.col[COL_ID], TOPIC "/2/7");
        assert_string_equal(l.col[COL_PARTITION], "2");
        assert_string_equal(l.col[COL_OFFSET], "7");

        ev_expect_free(&x);
        ev_expect_free(&x);
}

/* A file: no positions to match, so an event without its own event_id
 * (none, not a string, too long) is unkeyed and not staged. */
static void test_expect_file(void **state)
{
        char long_id[EV_PGROW_ID_MAX + 64];
        char payload[sizeof(long_id) + 256];
        struct ev_expect x;
        struct line l;

        (void)state;
        memset(long_id, 'i', EV_PGROW_ID_MAX + 1);
        long_id[EV_PGROW_ID_MAX + 1] = '\0';
        snprintf(payload, sizeof(payload), EVENT(",\"event_id\":\"%s\""),
                 long_id);
        assert_int_equal(
            ev_expect_init(&x, "ev", NULL, &schema_rules, true, RECEIVED_MS),
            EV_OK);
        add(&x, EVENT(",\"event_id\":\"a\""), NULL, 0, 0);
        add(&x, EVENT(""), NULL, 0, 1);
        add(&x, EVENT(",\"event_id\":42"), NULL, 0, 2);
        add(&x, payload, NULL, 0, 3);
        add(&x, "[1]", NULL, 0, 4);
        add(&x, EVENT(",\"event_id\":\"b\""), NULL, 0, 5);

        assert_int_equal(x.counts.source, 6);
        assert_int_equal(x.counts.valid, 5);
        assert_int_equal(x.counts.toxic, 1);
        assert_int_equal(x.counts.tombstones, 0);
        assert_int_equal(x.counts.unkeyed, 3);
        assert_int_equal(lines(&x), 2);
        line_at(&x, 0, &l);
        assert_string_equal(l.col[COL_ID], "a");
        assert_string_equal(l.col[COL_TOPIC], "f.ndjson");
        line_at(&x, 1, &l);
        assert_string_equal(l.col[COL_SEQ], "1");
        assert_string_equal(l.col[COL_ID], "b");
        assert_string_equal(l.col[COL_OFFSET], "5");
        ev_expect_free(&x);
}

/* Routing: each new table gets the next index, past the list's first
 * allocation; events without the field go to the events table. */
static void test_expect_route(void **state)
{
        static const char *const types[] = {"login", "Pay Ment", "login", "a",
                                            "b",     "c",        "d"};
        static const char *const tables[] = {
            "ev", "ev_login", "ev_pay_ment_", "ev_a", "ev_b", "ev_c", "ev_d"};
        static const char *const tbl[] = {"1", "2", "1", "3", "4", "5", "6"};
        char payload[256], id[16];
        struct ev_expect x;
        struct line l;
        size_t i;

        (void)state;
        assert_int_equal(ev_expect_init(&x, "ev", "event_type", &schema_rules,
                                        false, RECEIVED_MS),
                         EV_OK);
        for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                snprintf(id, sizeof(id), "id%zu", i);
                snprintf(payload, sizeof(payload),
                         EVENT(",\"event_id\":\"%s\",\"event_type\":\"%s\""),
                         id, types[i]);
                add(&x, payload, id, 0, (int64_t)i);
        }
        add(&x, EVENT(",\"event_id\":\"plain\""), "plain", 0, 100);
        add(&x, EVENT(",\"event_id\":\"num\",\"event_type\":7"), "num", 0, 101);

        assert_int_equal(x.table_cnt, 7);
        for (i = 0; i < 7; i++) {
                /* A changed value ends in its hash. */
                if (i == 2)
                        assert_memory_equal(x.tables[i], tables[i],
                                            strlen(tables[i]));
                else
                        assert_string_equal(x.tables[i], tables[i]);
        }
        for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                line_at(&x, i, &l);
                assert_string_equal(l.col[COL_TBL], tbl[i]);
        }
        line_at(&x, i, &l);
        assert_string_equal(l.col[COL_ID], "plain");
        assert_string_equal(l.col[COL_TBL], "0");
        line_at(&x, i + 1, &l);
        assert_string_equal(l.col[COL_TBL], "0");
        ev_expect_free(&x);
}

/* The rules are the consumer's: --no-schema takes any object, and a
 * payload over the limit is toxic. */
static void test_expect_rules(void **state)
{
        const struct ev_event_rules any = {.max_payload_bytes = 40,
                                           .schema = false};
        struct ev_expect x;

        (void)state;
        assert_int_equal(
            ev_expect_init(&x, "ev", NULL, &any, false, RECEIVED_MS), EV_OK);
        add(&x, "{\"event_id\":\"a\"}", "a", 0, 0);
        add(&x, "{\"event_id\":\"b\",\"pad\":\"0123456789012345678\"}", "b", 0,
            1);
        add(&x, "[]", NULL, 0, 2);
        assert_int_equal(x.counts.valid, 1);
        assert_int_equal(x.counts.toxic, 2);
        assert_int_equal(lines(&x), 1);
        ev_expect_free(&x);
}

/* The caller empties the text between pieces; seq goes on. */
static void test_expect_pieces(void **state)
{
        struct ev_expect x;
        struct line l;

        (void)state;
        assert_int_equal(
            ev_expect_init(&x, "ev", NULL, &schema_rules, false, RECEIVED_MS),
            EV_OK);
        add(&x, EVENT(",\"event_id\":\"a\""), "a", 0, 0);
        x.copy.len = 0;
        add(&x, EVENT(",\"event_id\":\"b\""), "b", 0, 1);
        assert_int_equal(lines(&x), 1);
        line_at(&x, 0, &l);
        assert_string_equal(l.col[COL_SEQ], "1");
        assert_string_equal(l.col[COL_ID], "b");
        ev_expect_free(&x);
}

/* Freeing a zeroed struct, as main does when it stops early. */
static void test_expect_free_zeroed(void **state)
{
        struct ev_expect x;

        (void)state;
        memset(&x, 0, sizeof(x));
        ev_expect_free(&x);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_expect_topic),
            cmocka_unit_test(test_expect_file),
            cmocka_unit_test(test_expect_route),
            cmocka_unit_test(test_expect_rules),
            cmocka_unit_test(test_expect_pieces),
            cmocka_unit_test(test_expect_free_zeroed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
