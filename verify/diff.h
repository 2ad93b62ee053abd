/*
 * How event-verify compares: the SQL that turns the staged messages into
 * the expected rows (the last operation per event_id), gathers the rows of
 * the events table and its routed tables, and lists each kind of
 * difference; and the summary line. Pure: SQL text only, no libpq.
 */
#ifndef EV_DIFF_H
#define EV_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "expect.h"
#include "pgrow.h"

enum ev_diff_kind {
        EV_DIFF_MISSING,   /* last op an upsert; no row in any table */
        EV_DIFF_EXTRA,     /* a row whose event_id the source never had */
        EV_DIFF_STALE,     /* a row of the event with another payload or
                            * is_valid, or in another table */
        EV_DIFF_UNDELETED, /* last op a delete; a row still there */
        EV_DIFF__CNT,
};

/* What the comparison found. */
struct ev_diff_result {
        unsigned long expected_rows; /* event_ids whose last op upserts */
        unsigned long table_rows;    /* rows of all the tables */
        unsigned long cnt[EV_DIFF__CNT];
};

/* The temporary tables, made once per session, before the transaction
 * (which is read-only); emptied at its end. ev_stage, the sink's staging
 * table (ev_pgrow_sql_create_stage), comes first. */
extern const char *const ev_diff_sql_setup[];
extern const size_t ev_diff_sql_setup_cnt;

/* The expected rows from ev_stage; $1 is the tables' names as a text[]
 * (ev_diff_names), a row's tbl indexing it from 0. */
extern const char *const ev_diff_sql_expected;

/* The current schema, to name the tables in (so that none of the
 * temporary tables can stand in for one). */
extern const char *const ev_diff_sql_schema;

/* The count of expected rows and of table rows, one row of two. */
extern const char *const ev_diff_sql_counts;

/*
 * Appends to b the statement that copies every row of the n tables into
 * the comparison: quoted[i] is table i's name quoted and schema-qualified
 * (PQescapeIdentifier), parameter $(i + 1) its plain name. n is at least
 * 1.
 */
void ev_diff_sql_actual(struct ev_pgrow_buf *b, const char *const *quoted,
                        size_t n);

/*
 * The statement listing kind's differences, in event_id order, at most
 * 10: each row the event_id, a phrase saying what differs, and the count
 * of them all (the same on every row; no row when there is none). With
 * file true, a row whose event_id is its own position (the consumer's
 * name for an event without one) is not extra. Static text.
 */
const char *ev_diff_sql_list(enum ev_diff_kind kind, bool file);

/* "missing", "extra", "stale", "undeleted". Static text. */
const char *ev_diff_kind_name(enum ev_diff_kind kind);

/*
 * Appends the names of x's tables to b as a PostgreSQL array literal
 * ({"a","b"}), for ev_diff_sql_expected's $1. Table names are [a-z0-9_];
 * any '"' or '\' would be escaped all the same.
 */
void ev_diff_names(struct ev_pgrow_buf *b, const struct ev_expect *x);

/* The summary line, without a newline, into buf: "verify: source=N
 * valid=N toxic=N tombstones=N unkeyed=N skipped=N expected_rows=N
 * table_rows=N missing=N extra=N stale=N undeleted=N". */
void ev_diff_summary(const struct ev_expect_counts *c,
                     const struct ev_diff_result *r, char *buf, size_t size);

/* True when r holds no difference at all. */
bool ev_diff_clean(const struct ev_diff_result *r);

#endif
