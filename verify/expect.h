/*
 * The state a source should have left in the tables, built one message at
 * a time the way the consumer's postgres sink reads it: each usable
 * message becomes a line of COPY text for the staging table (pgrow.h),
 * numbered in read order, so that SQL can take the last operation per
 * event_id. Pure: no libpq, no I/O.
 */
#ifndef EV_EXPECT_H
#define EV_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "pgrow.h"

/* What the messages were, counted as they are added. */
struct ev_expect_counts {
        unsigned long source;     /* messages or lines read */
        unsigned long valid;      /* valid events (skipped ones included) */
        unsigned long toxic;      /* ignored: not a valid event */
        unsigned long tombstones; /* NULL values (a topic only) */
        unsigned long unkeyed;    /* file: valid events without their own
                                   * event_id, not compared */
        unsigned long skipped;    /* valid events holding a NUL character,
                                   * which the sink skips too */
};

struct ev_expect {
        /* Borrowed settings, for the life of the struct. */
        const char *table;
        const char *route_by; /* NULL: every event to table */
        const struct ev_event_rules *rules;
        /* true: the messages come from a file, whose positions cannot be
         * the consumer's; an event without its own event_id is unkeyed. */
        bool file;
        int64_t received_ms; /* the staged rows' received_time */

        struct ev_expect_counts counts;
        /* The rows staged since the caller last emptied it (len = 0), in
         * the columns EV_PGROW_STAGE_COLUMNS. Owned. */
        struct ev_pgrow_buf copy;
        unsigned long seq; /* the next row's seq */

        /* The tables rows go to, in order of first sight; a row's tbl is
         * its index. [0] is always table itself. Owned. */
        char (*tables)[EV_PGROW_NAME_SIZE];
        size_t table_cnt;
        size_t table_cap;
};

/*
 * Prepares x for the messages of one source. table, route_by and rules
 * are borrowed and must outlive x. EV_ERR_NOMEM on failure; x must be
 * released with ev_expect_free() either way.
 */
enum ev_err ev_expect_init(struct ev_expect *x, const char *table,
                           const char *route_by,
                           const struct ev_event_rules *rules, bool file,
                           int64_t received_ms);

/* Frees what x owns. Safe on a zeroed x and twice. */
void ev_expect_free(struct ev_expect *x);

/*
 * Adds the message read at origin (borrowed for the call):
 * - payload NULL: a tombstone for key[0..key_len), staged as a delete when
 *   the key can name a row (ev_pgrow_key_usable);
 * - otherwise payload[0..len) is validated with the rules: a toxic one is
 *   only counted; a valid one holding a NUL character is counted as
 *   skipped; in a file, one without its own event_id is counted as
 *   unkeyed; every other one is staged as an upsert into the table
 *   ev_pgrow_route names.
 * EV_ERR_NOMEM when the table list or the COPY text cannot grow; x is
 * then of no further use but to be freed.
 */
enum ev_err ev_expect_add(struct ev_expect *x, const char *payload, size_t len,
                          const char *key, size_t key_len,
                          const struct ev_pgrow_origin *origin);

#endif
