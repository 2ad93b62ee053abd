/*
 * Row rules and SQL text for the PostgreSQL tables. Owns nothing but the
 * buffers its callers hand it; reads jansson values as borrowed.
 */
#include "pgrow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "event.h"
#include "timefmt.h"

/* The hash that ends a changed route part: "_" and 8 hex digits. */
#define HASH_SUFFIX_LEN 9

bool ev_pgrow_table_ok(const char *name)
{
        size_t i, len = strlen(name);

        if (!len || len > EV_PGROW_TABLE_MAX ||
            (name[0] >= '0' && name[0] <= '9'))
                return false;
        for (i = 0; i < len; i++)
                if (!((name[i] >= 'a' && name[i] <= 'z') ||
                      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
                        return false;
        return true;
}

static void position_id(const struct ev_pgrow_origin *origin, char *buf,
                        size_t size)
{
        if (origin->message_id)
                snprintf(buf, size, "%s/%s", origin->topic, origin->message_id);
        else
                snprintf(buf, size, "%s/%ld/%lld", origin->topic,
                         (long)origin->partition, (long long)origin->offset);
}

void ev_pgrow_from_event(json_t *root, const struct ev_pgrow_origin *origin,
                         struct ev_pgrow *row)
{
        json_t *id = json_object_get(root, "event_id");       /* borrowed */
        json_t *is_valid = json_object_get(root, "is_valid"); /* borrowed */
        size_t len = json_is_string(id) ? json_string_length(id) : 0;

        row->own_id = len && len <= EV_PGROW_ID_MAX &&
                      !memchr(json_string_value(id), '\0', len);
        if (row->own_id)
                memcpy(row->event_id, json_string_value(id), len + 1);
        else
                position_id(origin, row->event_id, sizeof(row->event_id));
        row->has_event_time = ev_event_time_ms(root, &row->event_time_ms);
        row->is_valid =
            json_is_boolean(is_valid) ? json_is_true(is_valid) : true;
}

static uint32_t fnv1a(const char *s, size_t len)
{
        uint32_t h = 2166136261u;
        size_t i;

        for (i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= 16777619u;
        }
        return h;
}

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

void ev_pgrow_route(const char *table, const char *route_by, json_t *root,
                    char *buf)
{
        json_t *v = route_by ? json_object_get(root, route_by) : NULL;
        const char *s;
        size_t len, i, n, room;
        bool changed = false;

        snprintf(buf, EV_PGROW_NAME_SIZE, "%s", table);
        if (!json_is_string(v) || !json_string_length(v))
                return;
        s = json_string_value(v);
        len = json_string_length(v);
        n = strlen(table);
        buf[n++] = '_';
        room = EV_PGROW_NAME_SIZE - 1 - n;
        for (i = 0; i < len; i++) {
                char c = s[i];

                if (c >= 'A' && c <= 'Z')
                        c = (char)(c - 'A' + 'a');
                if (!is_lower_alnum(c) && c != '_') {
                        changed = true;
                        c = '_';
                }
                /* One '_' for a run, none at the start. */
                if (c == '_' && buf[n - 1] == '_') {
                        changed = true;
                        continue;
                }
                if (room == 0) {
                        changed = true;
                        break;
                }
                buf[n++] = c;
                room--;
        }
        if (buf[n - 1] == '_' && n > strlen(table) + 1)
                changed = true;
        /* "<table>_pkey", "<table>_<part>_pkey": the names PostgreSQL gives
         * the tables' primary-key indexes, which a table cannot share. */
        buf[n] = '\0';
        if (!strcmp(buf + strlen(table) + 1, "pkey") ||
            (n > 5 && !strcmp(buf + n - 5, "_pkey")))
                changed = true;
        if (changed) {
                /* Cut to leave room for the hash, which also becomes the
                 * whole part when nothing of the value was kept. */
                size_t keep = strlen(table) + 1;

                if (n > EV_PGROW_NAME_SIZE - 1 - HASH_SUFFIX_LEN)
                        n = EV_PGROW_NAME_SIZE - 1 - HASH_SUFFIX_LEN;
                while (n > keep && buf[n - 1] == '_')
                        n--;
                snprintf(buf + n, EV_PGROW_NAME_SIZE - n, "%s%08x",
                         n > keep ? "_" : "", fnv1a(s, len));
                return;
        }
        buf[n] = '\0';
}

void ev_pgrow_tombstone_table(const char *table, char *buf)
{
        snprintf(buf, EV_PGROW_NAME_SIZE, "%s__tombstones", table);
}

bool ev_pgrow_is_routed(const char *table, const char *name)
{
        size_t n = strlen(table);

        return !strncmp(name, table, n) && name[n] == '_' &&
               is_lower_alnum(name[n + 1]);
}

bool ev_pgrow_key_usable(const char *key, size_t len)
{
        size_t i = 0, step;
        unsigned long cp;

        if (!key || !len || len > EV_PGROW_ID_MAX)
                return false;
        while (i < len) {
                step = ev_utf8_seq_len((const unsigned char *)key + i, len - i,
                                       &cp);
                if (!step || key[i] == '\0')
                        return false;
                i += step;
        }
        return true;
}

/* The tree walk of ev_pgrow_has_nul. */
static bool holds_nul(json_t *v)
{
        const char *key;
        json_t *child; /* borrowed */
        size_t i;

        if (json_is_string(v))
                return strlen(json_string_value(v)) != json_string_length(v);
        if (json_is_array(v)) {
                json_array_foreach(v, i, child)
                {
                        if (holds_nul(child))
                                return true;
                }
                return false;
        }
        if (!json_is_object(v))
                return false;
        /* jansson cuts an object key at its first NUL on the way in, so
         * only the values need looking at. */
        json_object_foreach(v, key, child)
        {
                if (holds_nul(child))
                        return true;
        }
        return false;
}

bool ev_pgrow_has_nul(const char *payload, size_t len, json_t *root)
{
        const char *end = payload + len, *p;

        /* Valid JSON spells a NUL "\u0000" and never holds a raw one: most
         * events are cleared by the text alone. */
        for (p = memchr(payload, '\\', len); p;
             p = memchr(p + 1, '\\', (size_t)(end - p - 1))) {
                if (end - p >= 6 && !memcmp(p, "\\u0000", 6))
                        return holds_nul(root);
        }
        return false;
}

void ev_pgrow_buf_free(struct ev_pgrow_buf *b)
{
        free(b->data);
        memset(b, 0, sizeof(*b));
}

static bool reserve(struct ev_pgrow_buf *b, size_t more)
{
        size_t cap = b->cap ? b->cap : 4096;
        char *data;

        if (b->failed)
                return false;
        if (b->len + more + 1 <= b->cap)
                return true;
        while (cap < b->len + more + 1)
                cap *= 2;
        data = realloc(b->data, cap);
        if (!data) {
                b->failed = true;
                return false;
        }
        b->data = data;
        b->cap = cap;
        return true;
}

void ev_pgrow_buf_append(struct ev_pgrow_buf *b, const char *s, size_t len)
{
        if (!reserve(b, len))
                return;
        memcpy(b->data + b->len, s, len);
        b->len += len;
        b->data[b->len] = '\0';
}

void ev_pgrow_buf_printf(struct ev_pgrow_buf *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0 || !reserve(b, (size_t)n))
                return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
}

/* One COPY text field: backslash, tab and line breaks escaped. */
static void copy_field(struct ev_pgrow_buf *b, const char *s, size_t len)
{
        size_t start = 0, i;

        for (i = 0; i < len; i++) {
                const char *esc;

                switch (s[i]) {
                case '\\':
                        esc = "\\\\";
                        break;
                case '\t':
                        esc = "\\t";
                        break;
                case '\n':
                        esc = "\\n";
                        break;
                case '\r':
                        esc = "\\r";
                        break;
                default:
                        continue;
                }
                ev_pgrow_buf_append(b, s + start, i - start);
                ev_pgrow_buf_append(b, esc, 2);
                start = i + 1;
        }
        ev_pgrow_buf_append(b, s + start, len - start);
}

/* 0001-01-01T00:00:00Z: PostgreSQL has no year 0. */
#define FIRST_TIME_MS INT64_C(-62135596800000)

/* A time, or \N when there is none or PostgreSQL would refuse it. */
static void copy_time(struct ev_pgrow_buf *b, bool has, int64_t unix_ms)
{
        char text[EV_TIMEFMT_SIZE];

        if (has && unix_ms >= FIRST_TIME_MS &&
            ev_timefmt_rfc3339_ms(unix_ms, text, sizeof(text)))
                ev_pgrow_buf_append(b, text, EV_TIMEFMT_SIZE - 1);
        else
                ev_pgrow_buf_append(b, "\\N", 2);
}

/* v in decimal: the hot path has no use for printf. */
static void copy_int(struct ev_pgrow_buf *b, int64_t v)
{
        char text[24], *p = text + sizeof(text);
        uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

        do {
                *--p = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        if (v < 0)
                *--p = '-';
        ev_pgrow_buf_append(b, p, (size_t)(text + sizeof(text) - p));
}

void ev_pgrow_copy_line(struct ev_pgrow_buf *b, unsigned long seq, int tbl,
                        const struct ev_pgrow *row, const char *event_id,
                        size_t event_id_len, const char *payload, size_t len,
                        int64_t received_ms,
                        const struct ev_pgrow_origin *origin)
{
        copy_int(b, (int64_t)seq);
        ev_pgrow_buf_append(b, "\t", 1);
        copy_int(b, tbl);
        ev_pgrow_buf_append(b, row ? "\tu\t" : "\td\t", 3);
        copy_field(b, event_id, event_id_len);
        ev_pgrow_buf_append(b, "\t", 1);
        if (row)
                copy_field(b, payload, len);
        else
                ev_pgrow_buf_append(b, "\\N", 2);
        ev_pgrow_buf_append(b, "\t", 1);
        copy_time(b, row && row->has_event_time, row ? row->event_time_ms : 0);
        ev_pgrow_buf_append(b, "\t", 1);
        copy_time(b, true, received_ms);
        ev_pgrow_buf_append(
            b, row ? (row->is_valid ? "\tt\t" : "\tf\t") : "\t\\N\t",
            row ? 3 : 4);
        copy_field(b, origin->topic, strlen(origin->topic));
        if (origin->partition < 0) {
                ev_pgrow_buf_append(b, "\t\\N\t\\N\n", 7);
                return;
        }
        ev_pgrow_buf_append(b, "\t", 1);
        copy_int(b, origin->partition);
        ev_pgrow_buf_append(b, "\t", 1);
        copy_int(b, origin->offset);
        ev_pgrow_buf_append(b, "\n", 1);
}

/* The columns an event table and the staging table share. */
#define ROW_COLUMNS                                                            \
        "event_id, payload, event_time, received_time, is_valid, "             \
        "source_topic, source_partition, source_offset"
#define TOMBSTONE_COLUMNS                                                      \
        "event_id, received_time, source_topic, source_partition, "            \
        "source_offset"

/* SQL: true when the row or tombstone a is newer than b. */
static void newer(struct ev_pgrow_buf *b, const char *a, const char *c)
{
        ev_pgrow_buf_printf(b,
                            "(CASE WHEN %s.source_partition IS NOT NULL"
                            " AND %s.source_topic = %s.source_topic"
                            " AND %s.source_partition = %s.source_partition"
                            " THEN %s.source_offset > %s.source_offset"
                            " ELSE %s.received_time > %s.received_time END)",
                            a, a, c, a, c, a, c, a, c);
}

void ev_pgrow_sql_create(struct ev_pgrow_buf *b, const char *table)
{
        ev_pgrow_buf_printf(b,
                            "CREATE TABLE IF NOT EXISTS %s ("
                            "event_id text PRIMARY KEY, "
                            "payload jsonb NOT NULL, "
                            "event_time timestamptz, "
                            "received_time timestamptz NOT NULL, "
                            "is_valid boolean NOT NULL, "
                            "source_topic text NOT NULL, "
                            "source_partition integer, "
                            "source_offset bigint)",
                            table);
}

void ev_pgrow_sql_create_tombstones(struct ev_pgrow_buf *b,
                                    const char *tombstones)
{
        ev_pgrow_buf_printf(b,
                            "CREATE TABLE IF NOT EXISTS %s ("
                            "event_id text PRIMARY KEY, "
                            "received_time timestamptz NOT NULL, "
                            "source_topic text NOT NULL, "
                            "source_partition integer, "
                            "source_offset bigint)",
                            tombstones);
}

void ev_pgrow_sql_create_stage(struct ev_pgrow_buf *b)
{
        ev_pgrow_buf_printf(b, "CREATE TEMPORARY TABLE IF NOT EXISTS ev_stage ("
                               "seq bigint NOT NULL, "
                               "tbl integer NOT NULL, "
                               "op text NOT NULL, "
                               "event_id text NOT NULL, "
                               "payload jsonb, "
                               "event_time timestamptz, "
                               "received_time timestamptz NOT NULL, "
                               "is_valid boolean, "
                               "source_topic text NOT NULL, "
                               "source_partition integer, "
                               "source_offset bigint) "
                               "ON COMMIT DELETE ROWS");
}

void ev_pgrow_sql_tombstones(struct ev_pgrow_buf *b, const char *tombstones)
{
        ev_pgrow_buf_printf(b,
                            "INSERT INTO %s AS t (" TOMBSTONE_COLUMNS ") "
                            "SELECT DISTINCT ON (event_id) " TOMBSTONE_COLUMNS
                            " FROM ev_stage WHERE op = 'd' "
                            "ORDER BY event_id, seq DESC "
                            "ON CONFLICT (event_id) DO UPDATE SET "
                            "received_time = excluded.received_time, "
                            "source_topic = excluded.source_topic, "
                            "source_partition = excluded.source_partition, "
                            "source_offset = excluded.source_offset WHERE ",
                            tombstones);
        newer(b, "excluded", "t");
}

void ev_pgrow_sql_delete(struct ev_pgrow_buf *b, const char *table,
                         const char *tombstones)
{
        ev_pgrow_buf_printf(b,
                            "DELETE FROM %s AS t USING %s AS x "
                            "WHERE x.event_id = t.event_id AND x.event_id IN "
                            "(SELECT event_id FROM ev_stage WHERE op = 'd') "
                            "AND ",
                            table, tombstones);
        newer(b, "x", "t");
}

void ev_pgrow_sql_upsert(struct ev_pgrow_buf *b, const char *table,
                         const char *tombstones)
{
        ev_pgrow_buf_printf(b,
                            "INSERT INTO %s AS t (" ROW_COLUMNS ") "
                            "SELECT DISTINCT ON (s.event_id) s.event_id, "
                            "s.payload, s.event_time, s.received_time, "
                            "s.is_valid, s.source_topic, s.source_partition, "
                            "s.source_offset FROM ev_stage s "
                            "WHERE s.op = 'u' AND s.tbl = $1 AND NOT EXISTS "
                            "(SELECT 1 FROM %s x "
                            "WHERE x.event_id = s.event_id AND NOT ",
                            table, tombstones);
        newer(b, "s", "x");
        ev_pgrow_buf_printf(b, ") ORDER BY s.event_id, s.seq DESC "
                               "ON CONFLICT (event_id) DO UPDATE SET "
                               "payload = excluded.payload, "
                               "event_time = excluded.event_time, "
                               "received_time = excluded.received_time, "
                               "is_valid = excluded.is_valid, "
                               "source_topic = excluded.source_topic, "
                               "source_partition = excluded.source_partition, "
                               "source_offset = excluded.source_offset WHERE ");
        newer(b, "excluded", "t");
}

const char *const ev_pgrow_sql_find_tables =
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n "
    "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
    "AND c.relkind IN ('r', 'p') AND (c.relname = $1 "
    "OR left(c.relname, length($1) + 1) = $1 || '_') AND (SELECT count(*) "
    "FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT "
    "a.attisdropped AND a.attname IN ('event_id', 'payload', 'event_time', "
    "'received_time', 'is_valid', 'source_topic', 'source_partition', "
    "'source_offset')) = 8 ORDER BY c.relname";

bool ev_pgrow_transient(const char *sqlstate)
{
        if (!sqlstate || !*sqlstate)
                return true;
        return !strncmp(sqlstate, "08", 2) || !strncmp(sqlstate, "40", 2) ||
               !strncmp(sqlstate, "53", 2) || !strcmp(sqlstate, "57P01") ||
               !strcmp(sqlstate, "57P02") || !strcmp(sqlstate, "57P03");
}
