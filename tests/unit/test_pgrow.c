/*
 * Unit tests for common/pgrow: the row an event becomes, the table a value
 * routes it to (hostile values included), the COPY text, the SQL text and
 * the SQLSTATE classes.
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

#include "pgrow.h"

#define BYTES(s) (s), sizeof(s) - 1

static json_t *parse(const char *text)
{
        json_t *root = json_loads(text, JSON_ALLOW_NUL, NULL);

        assert_non_null(root);
        return root;
}

static const struct ev_pgrow_origin kafka_origin = {"events", 2, 41, NULL};
static const struct ev_pgrow_origin pubsub_origin = {"sub", -1, -1, "1234"};

static void test_pgrow_table_ok(void **state)
{
        static const struct {
                const char *name;
                bool ok;
        } cases[] = {
            {"log_events", true},
            {"_x", true},
            {"a1", true},
            {"t2345678901234567890123456789012345678901", false}, /* 41 */
            {"t234567890123456789012345678901234567890", true},   /* 40 */
            {"", false},
            {"1abc", false},
            {"Log_events", false},
            {"log-events", false},
            {"log events", false},
            {"a\"b", false},
            {"public.events", false},
            {"caf\xc3\xa9", false},
        };
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                if (ev_pgrow_table_ok(cases[i].name) != cases[i].ok)
                        print_error("'%s'\n", cases[i].name);
                assert_int_equal(ev_pgrow_table_ok(cases[i].name), cases[i].ok);
        }
}

static void test_pgrow_from_event(void **state)
{
        static const struct {
                const char *json;
                const struct ev_pgrow_origin *origin;
                const char *id;
                bool has_time;
                int64_t time_ms;
                bool is_valid;
        } cases[] = {
            {"{\"event_id\":\"e1\",\"timestamp\":\"2026-11-29T10:00:00.5Z\"}",
             &kafka_origin, "e1", true, INT64_C(1795946400500), true},
            /* No id: the position, so a redelivery is the same row. */
            {"{\"timestamp\":\"2026-11-29T10:00:00Z\"}", &kafka_origin,
             "events/2/41", true, INT64_C(1795946400000), true},
            {"{\"event_id\":\"\"}", &kafka_origin, "events/2/41", false, 0,
             true},
            {"{\"event_id\":7}", &kafka_origin, "events/2/41", false, 0, true},
            {"{\"event_id\":\"a\\u0000b\"}", &kafka_origin, "events/2/41",
             false, 0, true},
            {"{}", &pubsub_origin, "sub/1234", false, 0, true},
            /* event_time stands in only when there is no timestamp. */
            {"{\"event_time\":\"2026-11-29T10:00:00+01:00\"}", &kafka_origin,
             "events/2/41", true, INT64_C(1795942800000), true},
            {"{\"timestamp\":\"yesterday\",\"event_time\":"
             "\"2026-11-29T10:00:00Z\"}",
             &kafka_origin, "events/2/41", false, 0, true},
            {"{\"is_valid\":false}", &kafka_origin, "events/2/41", false, 0,
             false},
            {"{\"is_valid\":\"false\"}", &kafka_origin, "events/2/41", false, 0,
             true},
            {"{\"is_valid\":0}", &kafka_origin, "events/2/41", false, 0, true},
        };
        struct ev_pgrow row;
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                json_t *root = parse(cases[i].json);

                memset(&row, 0x5a, sizeof(row));
                ev_pgrow_from_event(root, cases[i].origin, &row);
                assert_string_equal(row.event_id, cases[i].id);
                /* Only the positions of these cases have a '/'. */
                assert_int_equal(row.own_id, !strchr(cases[i].id, '/'));
                assert_int_equal(row.has_event_time, cases[i].has_time);
                if (cases[i].has_time)
                        assert_int_equal(row.event_time_ms, cases[i].time_ms);
                assert_int_equal(row.is_valid, cases[i].is_valid);
                json_decref(root);
        }
}

/* The longest id is kept; one byte more and the position stands in. */
static void test_pgrow_long_id(void **state)
{
        char json[EV_PGROW_ID_MAX + 32];
        struct ev_pgrow row;
        size_t len;
        json_t *root;

        (void)state;
        for (len = EV_PGROW_ID_MAX; len <= EV_PGROW_ID_MAX + 1; len++) {
                int n = snprintf(json, sizeof(json), "{\"event_id\":\"");

                memset(json + n, 'i', len);
                snprintf(json + n + len, sizeof(json) - n - len, "\"}");
                root = parse(json);
                ev_pgrow_from_event(root, &kafka_origin, &row);
                if (len == EV_PGROW_ID_MAX)
                        assert_int_equal(strlen(row.event_id), len);
                else
                        assert_string_equal(row.event_id, "events/2/41");
                json_decref(root);
        }
}

static const struct {
        const char *json;
        const char *table;
} route_cases[] = {
    {"{\"t\":\"login\"}", "log_events_login"},
    {"{\"t\":\"Login\"}", "log_events_login"},
    {"{\"t\":\"user_activity\"}", "log_events_user_activity"},
    {"{\"t\":\"pg_class\"}", "log_events_pg_class"},
    {"{\"t\":\"42\"}", "log_events_42"},
    {"{\"t\":\"Order Placed!\"}", "log_events_order_placed_7fbaa2db"},
    {"{\"t\":\"x\\\"; DROP TABLE log_events; --\"}",
     "log_events_x_drop_table_log_events_11932f68"},
    {"{\"t\":\"!!!\"}", "log_events_2d53a722"},
    /* Never "log_events__...": the tombstone table's shape. */
    {"{\"t\":\"_tombstones\"}", "log_events_tombstones_48c91f6a"},
    {"{\"t\":\"__x__\"}", "log_events_x_d48d7aff"},
    {"{\"t\":\"caf\\u00e9 \\u2615\"}", "log_events_caf_52bdf2b4"},
    /* Never a primary-key index's name: "<table>_pkey",
     * "<table>_x_pkey". */
    {"{\"t\":\"pkey\"}", "log_events_pkey_330ef976"},
    {"{\"t\":\"PKEY\"}", "log_events_pkey_1ea411b6"},
    {"{\"t\":\"x_pkey\"}", "log_events_x_pkey_4562d657"},
    {"{\"t\":\"pkeys\"}", "log_events_pkeys"},
    /* Unusable values: the events table. */
    {"{\"t\":\"\"}", "log_events"},
    {"{\"t\":42}", "log_events"},
    {"{\"t\":null}", "log_events"},
    {"{\"t\":[\"login\"]}", "log_events"},
    {"{\"other\":\"login\"}", "log_events"},
};

static void test_pgrow_route(void **state)
{
        char name[EV_PGROW_NAME_SIZE];
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(route_cases) / sizeof(route_cases[0]); i++) {
                json_t *root = parse(route_cases[i].json);

                ev_pgrow_route("log_events", "t", root, name);
                if (strcmp(name, route_cases[i].table))
                        print_error("%s: %s\n", route_cases[i].json, name);
                assert_string_equal(name, route_cases[i].table);
                assert_true(ev_pgrow_table_ok(name) || strlen(name) > 40);
                json_decref(root);
        }
        /* No route: every event to the table. */
        {
                json_t *root = parse("{\"t\":\"login\"}");

                ev_pgrow_route("log_events", NULL, root, name);
                assert_string_equal(name, "log_events");
                json_decref(root);
        }
}

/* A value too long for an identifier is cut, with its hash, to exactly
 * 63 bytes; two such values that share their start stay apart. */
static void test_pgrow_route_long(void **state)
{
        char json[400], name[EV_PGROW_NAME_SIZE], other[EV_PGROW_NAME_SIZE];
        const char *table = "t234567890123456789012345678901234567890";
        json_t *root;

        (void)state;
        snprintf(json, sizeof(json), "{\"t\":\"%0300d\"}", 1);
        root = parse(json);
        ev_pgrow_route("log_events", "t", root, name);
        json_decref(root);
        assert_int_equal(strlen(name), EV_PGROW_NAME_SIZE - 1);
        assert_memory_equal(name, "log_events_000", 14);

        snprintf(json, sizeof(json), "{\"t\":\"%0300d\"}", 2);
        root = parse(json);
        ev_pgrow_route("log_events", "t", root, other);
        json_decref(root);
        assert_int_equal(strlen(other), EV_PGROW_NAME_SIZE - 1);
        assert_string_not_equal(name, other);

        /* The longest table name still leaves room for a part. */
        root = parse("{\"t\":\"Some Event Type That Is Long\"}");
        ev_pgrow_route(table, "t", root, name);
        json_decref(root);
        assert_true(strlen(name) <= EV_PGROW_NAME_SIZE - 1);
        assert_true(ev_pgrow_is_routed(table, name));
}

static void test_pgrow_routed_names(void **state)
{
        char name[EV_PGROW_NAME_SIZE];

        (void)state;
        ev_pgrow_tombstone_table("log_events", name);
        assert_string_equal(name, "log_events__tombstones");
        assert_false(ev_pgrow_is_routed("log_events", name));
        assert_true(ev_pgrow_is_routed("log_events", "log_events_login"));
        assert_true(ev_pgrow_is_routed("log_events", "log_events_2d53a722"));
        assert_false(ev_pgrow_is_routed("log_events", "log_events"));
        assert_false(ev_pgrow_is_routed("log_events", "log_events_"));
        assert_false(ev_pgrow_is_routed("log_events", "log_eventsx_a"));
        assert_false(ev_pgrow_is_routed("log_events", "other_login"));
}

static void test_pgrow_key_usable(void **state)
{
        char big[EV_PGROW_ID_MAX + 1];

        (void)state;
        memset(big, 'k', sizeof(big));
        assert_true(ev_pgrow_key_usable(BYTES("e1")));
        assert_true(ev_pgrow_key_usable(BYTES("caf\xc3\xa9")));
        assert_true(ev_pgrow_key_usable(big, EV_PGROW_ID_MAX));
        assert_false(ev_pgrow_key_usable(big, EV_PGROW_ID_MAX + 1));
        assert_false(ev_pgrow_key_usable(NULL, 0));
        assert_false(ev_pgrow_key_usable("", 0));
        assert_false(ev_pgrow_key_usable(BYTES("a\0b")));
        assert_false(ev_pgrow_key_usable(BYTES("\xff")));
        assert_false(ev_pgrow_key_usable(BYTES("caf\xc3")));
        assert_false(ev_pgrow_key_usable(BYTES("\xed\xa0\x80")));
}

static void test_pgrow_has_nul(void **state)
{
        static const struct {
                const char *json;
                bool nul;
        } cases[] = {
            {"{\"m\":\"plain\"}", false},
            {"{\"m\":\"a\\u0000b\"}", true},
            {"{\"m\":[1,{\"n\":\"\\u0000\"}]}", true},
            /* An escaped backslash, then the text "u0000". */
            {"{\"m\":\"\\\\u0000\"}", false},
            {"{\"m\":\"\\u00001\"}", true},
            {"{\"m\":\"\\\\\"}", false},
        };
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                json_t *root = parse(cases[i].json);

                assert_int_equal(ev_pgrow_has_nul(cases[i].json,
                                                  strlen(cases[i].json), root),
                                 cases[i].nul);
                json_decref(root);
        }
}

static void test_pgrow_copy_line(void **state)
{
        static const char payload[] = "{\"m\":\"a\\\\b\",\n\t\"r\":1}\r";
        struct ev_pgrow_buf b = {0};
        struct ev_pgrow row = {"id\twith\\tab", true, INT64_C(1795946400500),
                               false, true};
        struct ev_pgrow_origin weird = {"to\npic", 0, 9, NULL};

        (void)state;
        ev_pgrow_copy_line(&b, 3, 1, &row, row.event_id, strlen(row.event_id),
                           BYTES(payload), INT64_C(1795946401000), &weird);
        assert_false(b.failed);
        assert_string_equal(b.data, "3\t1\tu\tid\\twith\\\\tab\t"
                                    "{\"m\":\"a\\\\\\\\b\",\\n\\t\"r\":1}\\r\t"
                                    "2026-11-29T10:00:00.500Z\t"
                                    "2026-11-29T10:00:01.000Z\tf\t"
                                    "to\\npic\t0\t9\n");
        b.len = 0;
        /* A tombstone: the key, no payload, no time of its own. */
        ev_pgrow_copy_line(&b, 4, 0, NULL, BYTES("e1"), NULL, 0,
                           INT64_C(1795946401000), &kafka_origin);
        assert_string_equal(b.data, "4\t0\td\te1\t\\N\t\\N\t"
                                    "2026-11-29T10:00:01.000Z\t\\N\t"
                                    "events\t2\t41\n");
        b.len = 0;
        /* Pub/Sub: no partition, no offset; an event without a time. */
        row.has_event_time = false;
        row.is_valid = true;
        ev_pgrow_copy_line(&b, 0, 0, &row, BYTES("x"), BYTES("{}"),
                           INT64_C(1795946401000), &pubsub_origin);
        assert_string_equal(b.data, "0\t0\tu\tx\t{}\t\\N\t"
                                    "2026-11-29T10:00:01.000Z\tt\t"
                                    "sub\t\\N\t\\N\n");
        b.len = 0;
        /* PostgreSQL has no year 0: such a time is none at all. */
        row.has_event_time = true;
        row.event_time_ms = INT64_C(-62135596800001);
        ev_pgrow_copy_line(&b, 1, 0, &row, BYTES("y0"), BYTES("{}"),
                           INT64_C(-62135596800000), &kafka_origin);
        assert_string_equal(b.data, "1\t0\tu\ty0\t{}\t\\N\t"
                                    "0001-01-01T00:00:00.000Z\tt\t"
                                    "events\t2\t41\n");
        ev_pgrow_buf_free(&b);
}

/* Counts the occurrences of needle in hay. */
static size_t count(const char *hay, const char *needle)
{
        size_t n = 0;

        for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
                n++;
        return n;
}

/* The SQL names only the identifiers it is given, quoted as given, and
 * takes every value as a parameter. */
static void test_pgrow_sql(void **state)
{
        const char *table = "\"log_events_x\"\"; drop\"";
        const char *tomb = "\"log_events__tombstones\"";
        struct ev_pgrow_buf b = {0};

        (void)state;
        ev_pgrow_sql_create(&b, table);
        assert_int_equal(count(b.data, table), 1);
        assert_non_null(strstr(b.data, "event_id text PRIMARY KEY"));
        ev_pgrow_buf_free(&b);

        ev_pgrow_sql_create_tombstones(&b, tomb);
        assert_int_equal(count(b.data, tomb), 1);
        ev_pgrow_buf_free(&b);

        ev_pgrow_sql_create_stage(&b);
        assert_non_null(strstr(b.data, "TEMPORARY TABLE"));
        assert_non_null(strstr(b.data, "ON COMMIT DELETE ROWS"));
        ev_pgrow_buf_free(&b);

        ev_pgrow_sql_upsert(&b, table, tomb);
        assert_int_equal(count(b.data, table), 1);
        assert_int_equal(count(b.data, tomb), 1);
        assert_int_equal(count(b.data, "$1"), 1);
        assert_int_equal(count(b.data, "$2"), 0);
        assert_non_null(strstr(b.data, "ON CONFLICT (event_id) DO UPDATE"));
        assert_non_null(strstr(b.data, "DISTINCT ON (s.event_id)"));
        assert_int_equal(count(b.data, "source_offset >"), 2);
        ev_pgrow_buf_free(&b);

        ev_pgrow_sql_delete(&b, table, tomb);
        assert_int_equal(count(b.data, table), 1);
        assert_int_equal(count(b.data, tomb), 1);
        assert_int_equal(count(b.data, "x.source_offset > t.source_offset"), 1);
        ev_pgrow_buf_free(&b);

        ev_pgrow_sql_tombstones(&b, tomb);
        assert_int_equal(count(b.data, tomb), 1);
        assert_non_null(strstr(b.data, "op = 'd'"));
        ev_pgrow_buf_free(&b);
}

static void test_pgrow_transient(void **state)
{
        static const struct {
                const char *state;
                bool transient;
        } cases[] = {
            {NULL, true},     {"", true},       {"08006", true},
            {"08001", true},  {"08000", true},  {"40001", true},
            {"40P01", true},  {"53300", true},  {"53100", true},
            {"57P01", true},  {"57P02", true},  {"57P03", true},
            {"57014", false}, {"42703", false}, {"42P01", false},
            {"42501", false}, {"23505", false}, {"22P02", false},
            {"22P05", false}, {"XX000", false}, {"P0001", false},
            {"25P02", false},
        };
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                assert_int_equal(ev_pgrow_transient(cases[i].state),
                                 cases[i].transient);
}

static void test_pgrow_buf(void **state)
{
        struct ev_pgrow_buf b = {0};
        size_t i;

        (void)state;
        for (i = 0; i < 10000; i++)
                ev_pgrow_buf_printf(&b, "%05zu", i);
        assert_false(b.failed);
        assert_int_equal(b.len, 50000);
        assert_int_equal(strlen(b.data), 50000);
        assert_memory_equal(b.data + 49995, "09999", 5);
        ev_pgrow_buf_free(&b);
        assert_null(b.data);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pgrow_table_ok),
            cmocka_unit_test(test_pgrow_from_event),
            cmocka_unit_test(test_pgrow_long_id),
            cmocka_unit_test(test_pgrow_route),
            cmocka_unit_test(test_pgrow_route_long),
            cmocka_unit_test(test_pgrow_routed_names),
            cmocka_unit_test(test_pgrow_key_usable),
            cmocka_unit_test(test_pgrow_has_nul),
            cmocka_unit_test(test_pgrow_copy_line),
            cmocka_unit_test(test_pgrow_sql),
            cmocka_unit_test(test_pgrow_transient),
            cmocka_unit_test(test_pgrow_buf),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
