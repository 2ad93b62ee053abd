/*
 * The comparison's SQL and the summary line. Owns nothing but the text it
 * appends to its callers' buffers. Every identifier it is given is quoted
 * already; every value is a parameter.
 */
#include "diff.h"

#include <stdio.h>
#include <string.h>

/* The expected rows: one per event_id of the source, its last operation
 * ('u' or 'd') with the table, payload and is_valid it leaves. */
static const char sql_expected_table[] =
    "CREATE TEMPORARY TABLE IF NOT EXISTS ev_verify_expected ("
    "event_id text PRIMARY KEY, op text NOT NULL, tbl text NOT NULL, "
    "payload jsonb, is_valid boolean) ON COMMIT DELETE ROWS";
/* The rows found in the tables: which table, and whether the row is named
 * by its own position (<source_topic>/<source_partition>/<source_offset>). */
static const char sql_actual_table[] =
    "CREATE TEMPORARY TABLE IF NOT EXISTS ev_verify_actual ("
    "tbl text NOT NULL, event_id text NOT NULL, payload jsonb, "
    "is_valid boolean, positional boolean NOT NULL) ON COMMIT DELETE ROWS";
static const char sql_actual_index[] =
    "CREATE INDEX IF NOT EXISTS ev_verify_actual_event_id "
    "ON ev_verify_actual (event_id)";

const char *const ev_diff_sql_setup[] = {sql_expected_table, sql_actual_table,
                                         sql_actual_index};
const size_t ev_diff_sql_setup_cnt =
    sizeof(ev_diff_sql_setup) / sizeof(ev_diff_sql_setup[0]);

/* seq is read order, so the last operation per event_id is the one with
 * the highest. */
const char *const ev_diff_sql_expected =
    "INSERT INTO ev_verify_expected (event_id, op, tbl, payload, is_valid) "
    "SELECT DISTINCT ON (s.event_id) s.event_id, s.op, t.name, s.payload, "
    "s.is_valid FROM ev_stage s JOIN unnest($1::text[]) WITH ORDINALITY "
    "AS t(name, i) ON t.i = s.tbl + 1 ORDER BY s.event_id, s.seq DESC";

const char *const ev_diff_sql_schema = "SELECT current_schema()";

const char *const ev_diff_sql_counts =
    "SELECT (SELECT count(*) FROM ev_verify_expected WHERE op = 'u'), "
    "(SELECT count(*) FROM ev_verify_actual)";

void ev_diff_sql_actual(struct ev_pgrow_buf *b, const char *const *quoted,
                        size_t n)
{
        size_t i;

        ev_pgrow_buf_printf(b, "INSERT INTO ev_verify_actual (tbl, event_id, "
                               "payload, is_valid, positional) ");
        for (i = 0; i < n; i++)
                /* A NULL partition (Pub/Sub) makes the test NULL: not
                 * positional. */
                ev_pgrow_buf_printf(
                    b,
                    "%sSELECT $%zu::text, event_id, payload, is_valid, "
                    "coalesce(event_id = source_topic || '/' || "
                    "source_partition || '/' || source_offset, false) "
                    "FROM %s",
                    i ? " UNION ALL " : "", i + 1, quoted[i]);
}

/* Each list: the differences as (event_id, detail), then the first ten of
 * them with the count of all. */
#define LIST_HEAD "SELECT event_id, detail, count(*) OVER () FROM ("
#define LIST_TAIL ") d ORDER BY event_id LIMIT 10"

static const char *const sql_missing =
    LIST_HEAD "SELECT e.event_id, 'expected in table ' || e.tbl AS detail "
              "FROM ev_verify_expected e WHERE e.op = 'u' AND NOT EXISTS "
              "(SELECT 1 FROM ev_verify_actual a "
              "WHERE a.event_id = e.event_id)" LIST_TAIL;

/* With file: a row named by its own position is one of the events a
 * file cannot name (ev_expect's unkeyed), not an extra one. */
#define SQL_EXTRA(file_rule)                                                   \
        LIST_HEAD "SELECT a.event_id, 'in table ' || a.tbl || "                \
                  "', not in the source' AS detail "                           \
                  "FROM ev_verify_actual a WHERE NOT EXISTS "                  \
                  "(SELECT 1 FROM ev_verify_expected e "                       \
                  "WHERE e.event_id = a.event_id)" file_rule LIST_TAIL

static const char *const sql_extra = SQL_EXTRA("");
static const char *const sql_extra_file = SQL_EXTRA(" AND NOT a.positional");

/* One line per event_id, about the first of its wrong rows by table. */
static const char *const sql_stale = LIST_HEAD
    "SELECT DISTINCT ON (e.event_id) e.event_id, CASE "
    "WHEN a.tbl <> e.tbl THEN 'in table ' || a.tbl || ', expected in ' "
    "|| e.tbl "
    "WHEN a.is_valid IS DISTINCT FROM e.is_valid THEN 'in table ' || a.tbl "
    "|| ', is_valid ' || a.is_valid || ', expected ' || e.is_valid "
    "ELSE 'in table ' || a.tbl || ', payload differs from the last "
    "version' END AS detail "
    "FROM ev_verify_expected e JOIN ev_verify_actual a "
    "ON a.event_id = e.event_id WHERE e.op = 'u' AND (a.tbl <> e.tbl OR "
    "a.is_valid IS DISTINCT FROM e.is_valid OR a.payload <> e.payload) "
    "ORDER BY e.event_id, a.tbl" LIST_TAIL;

static const char *const sql_undeleted =
    LIST_HEAD "SELECT e.event_id, 'deleted by a tombstone, still in table ' "
              "|| string_agg(a.tbl, ', ' ORDER BY a.tbl) AS detail "
              "FROM ev_verify_expected e JOIN ev_verify_actual a "
              "ON a.event_id = e.event_id WHERE e.op = 'd' "
              "GROUP BY e.event_id" LIST_TAIL;

const char *ev_diff_sql_list(enum ev_diff_kind kind, bool file)
{
        switch (kind) {
        case EV_DIFF_MISSING:
                return sql_missing;
        case EV_DIFF_EXTRA:
                return file ? sql_extra_file : sql_extra;
        case EV_DIFF_STALE:
                return sql_stale;
        case EV_DIFF_UNDELETED:
        case EV_DIFF__CNT:
                break;
        }
        return sql_undeleted;
}

const char *ev_diff_kind_name(enum ev_diff_kind kind)
{
        static const char *const names[] = {
            [EV_DIFF_MISSING] = "missing",
            [EV_DIFF_EXTRA] = "extra",
            [EV_DIFF_STALE] = "stale",
            [EV_DIFF_UNDELETED] = "undeleted",
        };

        return kind < EV_DIFF__CNT ? names[kind] : "?";
}

void ev_diff_names(struct ev_pgrow_buf *b, const struct ev_expect *x)
{
        size_t i, j;

        ev_pgrow_buf_append(b, "{", 1);
        for (i = 0; i < x->table_cnt; i++) {
                const char *name = x->tables[i];

                ev_pgrow_buf_append(b, i ? ",\"" : "\"", i ? 2 : 1);
                for (j = 0; name[j]; j++) {
                        if (name[j] == '"' || name[j] == '\\')
                                ev_pgrow_buf_append(b, "\\", 1);
                        ev_pgrow_buf_append(b, &name[j], 1);
                }
                ev_pgrow_buf_append(b, "\"", 1);
        }
        ev_pgrow_buf_append(b, "}", 1);
}

void ev_diff_summary(const struct ev_expect_counts *c,
                     const struct ev_diff_result *r, char *buf, size_t size)
{
        snprintf(buf, size,
                 "verify: source=%lu valid=%lu toxic=%lu tombstones=%lu "
                 "unkeyed=%lu skipped=%lu expected_rows=%lu table_rows=%lu "
                 "missing=%lu extra=%lu stale=%lu undeleted=%lu",
                 c->source, c->valid, c->toxic, c->tombstones, c->unkeyed,
                 c->skipped, r->expected_rows, r->table_rows,
                 r->cnt[EV_DIFF_MISSING], r->cnt[EV_DIFF_EXTRA],
                 r->cnt[EV_DIFF_STALE], r->cnt[EV_DIFF_UNDELETED]);
}

bool ev_diff_clean(const struct ev_diff_result *r)
{
        size_t i;

        for (i = 0; i < EV_DIFF__CNT; i++)
                if (r->cnt[i])
                        return false;
        return true;
}
