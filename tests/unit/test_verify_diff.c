/*
 * Unit tests for verify/diff: the SQL text the comparison is built from
 * (parameters and quoted names where they belong, the file rule only in
 * file mode) and the summary line.
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

#include "diff.h"

static const struct ev_event_rules rules = {
    .max_payload_bytes = EV_DEFAULT_MAX_PAYLOAD_BYTES, .schema = true};

static size_t count(const char *s, const char *what)
{
        size_t n = 0;

        for (s = strstr(s, what); s; s = strstr(s + 1, what))
                n++;
        return n;
}

/* The tables' names as the array literal $1 of ev_diff_sql_expected, in
 * the order of their indexes. */
static void test_diff_names(void **state)
{
        struct ev_pgrow_buf b = {0};
        struct ev_expect x;
        const struct ev_pgrow_origin origin = {"t", 0, 0, NULL};
        const char *login = "{\"timestamp\":\"2026-11-22T10:15:30Z\","
                            "\"service_name\":\"a\",\"level\":\"INFO\","
                            "\"message\":\"m\",\"event_type\":\"login\"}";

        (void)state;
        assert_int_equal(
            ev_expect_init(&x, "ev", "event_type", &rules, false, 0), EV_OK);
        ev_diff_names(&b, &x);
        assert_string_equal(b.data, "{\"ev\"}");
        assert_int_equal(
            ev_expect_add(&x, login, strlen(login), NULL, 0, &origin), EV_OK);
        b.len = 0;
        ev_diff_names(&b, &x);
        assert_string_equal(b.data, "{\"ev\",\"ev_login\"}");
        /* Not a name a table can have, but it stays one element. */
        snprintf(x.tables[1], sizeof(x.tables[1]), "a\"b\\c");
        b.len = 0;
        ev_diff_names(&b, &x);
        assert_string_equal(b.data, "{\"ev\",\"a\\\"b\\\\c\"}");
        ev_pgrow_buf_free(&b);
        ev_expect_free(&x);
}

/* One SELECT per table, its plain name a parameter, its quoted name
 * after FROM. */
static void test_diff_sql_actual(void **state)
{
        const char *const one[] = {"\"public\".\"ev\""};
        const char *const three[] = {"\"s\".\"ev\"", "\"s\".\"ev_a\"",
                                     "\"s\".\"ev_b\""};
        struct ev_pgrow_buf b = {0};

        (void)state;
        ev_diff_sql_actual(&b, one, 1);
        assert_false(b.failed);
        assert_non_null(strstr(b.data, "INSERT INTO ev_verify_actual "));
        assert_non_null(strstr(b.data, "SELECT $1::text, event_id"));
        assert_non_null(strstr(b.data, "FROM \"public\".\"ev\""));
        assert_int_equal(count(b.data, "UNION ALL"), 0);
        assert_int_equal(count(b.data, "$2"), 0);
        ev_pgrow_buf_free(&b);

        ev_diff_sql_actual(&b, three, 3);
        assert_int_equal(count(b.data, " UNION ALL SELECT "), 2);
        assert_non_null(strstr(b.data, "$2::text"));
        assert_non_null(strstr(b.data, "$3::text"));
        assert_non_null(strstr(b.data, "FROM \"s\".\"ev_b\""));
        assert_true(strstr(b.data, "$2::text") < strstr(b.data, "\"ev_a\""));
        assert_true(strstr(b.data, "\"ev_a\"") < strstr(b.data, "$3::text"));
        ev_pgrow_buf_free(&b);
}

/* Each list is the first ten of its kind with the count of all; only the
 * file's extra list spares the positional rows. */
static void test_diff_sql_list(void **state)
{
        size_t k;

        (void)state;
        for (k = 0; k < EV_DIFF__CNT; k++) {
                const char *topic =
                    ev_diff_sql_list((enum ev_diff_kind)k, false);
                const char *file = ev_diff_sql_list((enum ev_diff_kind)k, true);
                const char *head = "SELECT event_id, detail, count(*) "
                                   "OVER () FROM (";
                const char *tail = " ORDER BY event_id LIMIT 10";
                size_t len = strlen(topic);

                assert_int_equal(strncmp(topic, head, strlen(head)), 0);
                assert_true(len > strlen(tail));
                assert_string_equal(topic + len - strlen(tail), tail);
                assert_null(strstr(topic, "positional"));
                if (k == EV_DIFF_EXTRA)
                        assert_non_null(strstr(file, "NOT a.positional"));
                else
                        assert_ptr_equal(file, topic);
        }
        assert_non_null(strstr(ev_diff_sql_list(EV_DIFF_MISSING, false),
                               "e.op = 'u' AND NOT EXISTS"));
        assert_non_null(
            strstr(ev_diff_sql_list(EV_DIFF_UNDELETED, false), "e.op = 'd'"));
        assert_non_null(strstr(ev_diff_sql_list(EV_DIFF_STALE, false),
                               "a.payload <> e.payload"));
}

static void test_diff_kind_names(void **state)
{
        (void)state;
        assert_string_equal(ev_diff_kind_name(EV_DIFF_MISSING), "missing");
        assert_string_equal(ev_diff_kind_name(EV_DIFF_EXTRA), "extra");
        assert_string_equal(ev_diff_kind_name(EV_DIFF_STALE), "stale");
        assert_string_equal(ev_diff_kind_name(EV_DIFF_UNDELETED), "undeleted");
        assert_string_equal(ev_diff_kind_name(EV_DIFF__CNT), "?");
}

static void test_diff_summary(void **state)
{
        const struct ev_expect_counts c = {.source = 1205,
                                           .valid = 1155,
                                           .toxic = 20,
                                           .tombstones = 30,
                                           .unkeyed = 2,
                                           .skipped = 1};
        struct ev_diff_result r = {.expected_rows = 975, .table_rows = 976};
        char buf[512];

        (void)state;
        ev_diff_summary(&c, &r, buf, sizeof(buf));
        assert_string_equal(buf, "verify: source=1205 valid=1155 toxic=20 "
                                 "tombstones=30 unkeyed=2 skipped=1 "
                                 "expected_rows=975 table_rows=976 missing=0 "
                                 "extra=0 stale=0 undeleted=0");
        assert_true(ev_diff_clean(&r));
        r.cnt[EV_DIFF_MISSING] = 1;
        r.cnt[EV_DIFF_EXTRA] = 2;
        r.cnt[EV_DIFF_STALE] = 3;
        r.cnt[EV_DIFF_UNDELETED] = 4;
        ev_diff_summary(&c, &r, buf, sizeof(buf));
        assert_non_null(strstr(buf, " missing=1 extra=2 stale=3 undeleted=4"));
        assert_false(ev_diff_clean(&r));
        r.cnt[EV_DIFF_MISSING] = r.cnt[EV_DIFF_EXTRA] = 0;
        r.cnt[EV_DIFF_STALE] = 0;
        assert_false(ev_diff_clean(&r));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_diff_names),
            cmocka_unit_test(test_diff_sql_actual),
            cmocka_unit_test(test_diff_sql_list),
            cmocka_unit_test(test_diff_kind_names),
            cmocka_unit_test(test_diff_summary),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
