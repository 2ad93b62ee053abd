/*
 * The PostgreSQL tables' rules, pure: which row a valid event becomes,
 * which table it goes to, how a row is written as COPY text, the SQL that
 * merges a batch, and which SQLSTATEs are worth retrying. Shared by
 * event-consumer's postgres sink and event-verify, so both read a message
 * the same way. No libpq, no I/O.
 */
#ifndef EV_PGROW_H
#define EV_PGROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The longest --pg-table: its routed tables get at least 22 bytes of their
 * own within PostgreSQL's 63-byte identifiers. */
#define EV_PGROW_TABLE_MAX 40
/* Room for a table name and its NUL (NAMEDATALEN). */
#define EV_PGROW_NAME_SIZE 64
/* The longest event_id member used as the key; a longer one would not fit
 * a B-tree entry, and the message's position is used instead. */
#define EV_PGROW_ID_MAX 1024
/* Room for an event id and its NUL. */
#define EV_PGROW_ID_SIZE (EV_PGROW_ID_MAX + 1)

/* Where a message came from, as a row records it. Strings are borrowed. */
struct ev_pgrow_origin {
        const char *topic;      /* the Kafka topic, or the subscription */
        int32_t partition;      /* -1 on Pub/Sub */
        int64_t offset;         /* -1 on Pub/Sub */
        const char *message_id; /* Pub/Sub's; NULL on Kafka */
};

/* What a valid event contributes to its row, besides the payload. */
struct ev_pgrow {
        char event_id[EV_PGROW_ID_SIZE];
        bool has_event_time;
        int64_t event_time_ms;
        bool is_valid;
        bool own_id; /* event_id is the event's own, not its position */
};

/* A growing byte buffer for COPY data and SQL text. A failed allocation
 * sets failed and drops later appends; the owner frees data. */
struct ev_pgrow_buf {
        char *data;
        size_t len;
        size_t cap;
        bool failed;
};

/* True when name can be --pg-table: 1 to EV_PGROW_TABLE_MAX bytes of
 * [a-z0-9_], not starting with a digit. */
bool ev_pgrow_table_ok(const char *name);

/*
 * Fills row from the valid event root read at origin:
 * - event_id: root's "event_id" when it is a string of 1 to
 *   EV_PGROW_ID_MAX bytes without NUL; otherwise "<topic>/<partition>/
 *   <offset>", or "<subscription>/<message id>" on Pub/Sub;
 * - event_time: ev_event_time_ms (none when it has none);
 * - is_valid: root's "is_valid" when it is a boolean, else true.
 */
void ev_pgrow_from_event(json_t *root, const struct ev_pgrow_origin *origin,
                         struct ev_pgrow *row);

/*
 * The table (unquoted, into buf of EV_PGROW_NAME_SIZE) that root goes to:
 * table itself when route_by is NULL or root's route_by member is not a
 * non-empty string; otherwise "<table>_<part>", part being the value
 * lowercased, each character other than [a-z0-9_] made '_', each run of
 * '_' made one, without a leading or trailing '_', and cut to fit. When
 * anything but case was changed or cut, or when the name would end in
 * "_pkey" (PostgreSQL's name for a table's primary-key index), part ends in
 * '_' and 8 hex digits of the value's hash, so that different values never
 * share a table. A part never starts with '_': "<table>__..." names (the
 * tombstone table) are never routed to.
 */
void ev_pgrow_route(const char *table, const char *route_by, json_t *root,
                    char *buf);

/* "<table>__tombstones", into buf of EV_PGROW_NAME_SIZE. */
void ev_pgrow_tombstone_table(const char *table, char *buf);

/* True when name is one of table's routed tables: "<table>_" followed by
 * [a-z0-9]. */
bool ev_pgrow_is_routed(const char *table, const char *name);

/* True when a tombstone's key can name a row: 1 to EV_PGROW_ID_MAX bytes
 * of valid UTF-8 without NUL. Another key cannot match any event_id. */
bool ev_pgrow_key_usable(const char *key, size_t len);

/* True when the valid event root, parsed from payload[0..len), holds a
 * string with a NUL character (JSON "\u0000"): jsonb cannot store one
 * (SQLSTATE 22P05). */
bool ev_pgrow_has_nul(const char *payload, size_t len, json_t *root);

void ev_pgrow_buf_free(struct ev_pgrow_buf *b);
void ev_pgrow_buf_append(struct ev_pgrow_buf *b, const char *s, size_t len);
void ev_pgrow_buf_printf(struct ev_pgrow_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Appends one line of COPY text (the columns of EV_PGROW_STAGE_COLUMNS)
 * to b: the batch's seq, the target table's index tbl, then for an upsert
 * (row not NULL) the row, payload[0..len) and the origin; for a tombstone
 * (row NULL) the key in event_id and no payload. received_ms is when the
 * consumer read the message.
 */
void ev_pgrow_copy_line(struct ev_pgrow_buf *b, unsigned long seq, int tbl,
                        const struct ev_pgrow *row, const char *event_id,
                        size_t event_id_len, const char *payload, size_t len,
                        int64_t received_ms,
                        const struct ev_pgrow_origin *origin);

/* The staging table's columns, in COPY order. */
#define EV_PGROW_STAGE_COLUMNS                                                 \
        "seq, tbl, op, event_id, payload, event_time, received_time, "         \
        "is_valid, source_topic, source_partition, source_offset"

/*
 * SQL text, into b. Every identifier argument must already be quoted
 * (PQescapeIdentifier); every value is a parameter ($1).
 * - create: the event table (event_id primary key) if it does not exist;
 * - create_tombstones: the tombstone table if it does not exist;
 * - create_stage: the session's temporary staging table, emptied at each
 *   commit;
 * - tombstones: records the batch's newest tombstone per event_id in the
 *   tombstone table, unless it already holds a newer one;
 * - delete: removes from table the rows an older tombstone of the batch
 *   covers;
 * - upsert: writes the batch's newest upsert per event_id for table
 *   index $1 into table, unless the row or a tombstone is newer.
 * "Newer" is a higher offset on the same topic and partition; otherwise a
 * later received_time.
 */
void ev_pgrow_sql_create(struct ev_pgrow_buf *b, const char *table);
void ev_pgrow_sql_create_tombstones(struct ev_pgrow_buf *b,
                                    const char *tombstones);
void ev_pgrow_sql_create_stage(struct ev_pgrow_buf *b);
void ev_pgrow_sql_tombstones(struct ev_pgrow_buf *b, const char *tombstones);
void ev_pgrow_sql_delete(struct ev_pgrow_buf *b, const char *table,
                         const char *tombstones);
void ev_pgrow_sql_upsert(struct ev_pgrow_buf *b, const char *table,
                         const char *tombstones);

/* SQL: the names of the events table $1 and of the tables named
 * "$1_..." in the current schema that have its columns (a routed table, or
 * anything shaped like one), ordered; callers keep the routed ones
 * (ev_pgrow_is_routed). */
extern const char *const ev_pgrow_sql_find_tables;

/* True for the SQLSTATEs worth retrying: connection exceptions (08),
 * transaction rollbacks such as serialization failures and deadlocks (40),
 * insufficient resources (53), a server shutting down or starting up
 * (57P01 to 57P03), and NULL or "" (no SQLSTATE: the connection was lost
 * before the server could say). */
bool ev_pgrow_transient(const char *sqlstate);

#endif
