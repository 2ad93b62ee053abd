/*
 * The postgres sink: each batch in one transaction, COPY into a temporary
 * staging table, then one merge statement per table (pgrow.h has the rules
 * and the SQL). Owns its connection, the staged COPY text, the list of
 * tables it knows and the buffer redacted events are serialised in;
 * borrows the config and, between write and flush, the batch.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "pgrow.h"
#include "sink.h"

/* The most tables one sink writes to (the events table and the routed
 * ones): past it, new routes go to the events table, so that a producer
 * with endless event types cannot make endless tables. */
#define TABLES_MAX 256
/* Room for a quoted table name. */
#define QUOTED_SIZE (2 * EV_PGROW_NAME_SIZE + 3)

struct table {
        char name[EV_PGROW_NAME_SIZE];
        char *upsert_sql; /* NULL until the table exists in the database */
        char *delete_sql;
        bool in_batch; /* the staged batch has upserts for it */
};

struct pg_sink {
        struct ev_sink sink;
        const struct ev_config *cfg;
        struct ev_pg *pg; /* NULL: to connect before the next flush */
        char tombstones[EV_PGROW_NAME_SIZE];
        char quoted_tombstones[QUOTED_SIZE];
        char *tombstone_sql;
        struct table tables[TABLES_MAX]; /* [0]: the events table */
        size_t table_cnt;
        bool warned_full;
        struct ev_pgrow_buf copy; /* the staged batch as COPY text */
        char *text; /* a redacted event as JSON, reused across events */
        size_t text_cap;
        bool has_tombstones;
        unsigned long skipped; /* events of the staged batch left out */
};

/* Where msg came from, parsed back out of src's origin headers, with the
 * strings in buf. */
static void origin_of(const struct ev_source *src, const struct ev_msg *msg,
                      struct ev_pgrow_origin *o, char *buf, size_t size)
{
        struct ev_header hdrs[EV_ORIGIN_HEADERS_MAX];
        size_t n = src->ops->origin(src, msg, hdrs, buf, size), i;

        o->topic = "";
        o->partition = -1;
        o->offset = -1;
        o->message_id = NULL;
        /* ev_origin_add ends each value with a NUL. */
        for (i = 0; i < n; i++) {
                const char *name = hdrs[i].name, *v = hdrs[i].value;

                if (!strcmp(name, "source.topic") ||
                    !strcmp(name, "source.subscription"))
                        o->topic = v;
                else if (!strcmp(name, "source.partition"))
                        o->partition = (int32_t)strtol(v, NULL, 10);
                else if (!strcmp(name, "source.offset"))
                        o->offset = strtoll(v, NULL, 10);
                else if (!strcmp(name, "source.message_id"))
                        o->message_id = v;
        }
}

/* The index of table name, known from now on; 0 (the events table) when
 * the list is full. */
static int table_index(struct pg_sink *s, const char *name)
{
        size_t i;

        for (i = 0; i < s->table_cnt; i++)
                if (!strcmp(s->tables[i].name, name))
                        return (int)i;
        if (s->table_cnt == TABLES_MAX) {
                if (!s->warned_full)
                        ev_log(EV_LOG_WARN,
                               "postgres sink: %d tables already; events for "
                               "new ones (such as %s) go to %s",
                               TABLES_MAX, name, s->cfg->pg_table);
                s->warned_full = true;
                return 0;
        }
        snprintf(s->tables[i].name, sizeof(s->tables[i].name), "%s", name);
        s->table_cnt++;
        return (int)i;
}

/* The JSON text the row of valid item stores: the payload as received, or,
 * when redacted, the event serialised into s->text (NULL with *len 0 when
 * out of memory). */
static const char *event_text(struct pg_sink *s,
                              const struct ev_sink_item *item, size_t *len)
{
        char *text;
        size_t n;

        *len = item->msg->len;
        if (!item->redacted)
                return item->msg->payload;
        *len = 0;
        n = json_dumpb(item->root, s->text, s->text_cap, JSON_COMPACT);
        if (n > s->text_cap) {
                text = realloc(s->text, n);
                if (!text)
                        return NULL;
                s->text = text;
                s->text_cap = n;
                n = json_dumpb(item->root, s->text, s->text_cap, JSON_COMPACT);
        }
        *len = n;
        return n ? s->text : NULL;
}

static enum ev_sink_result pg_write(struct ev_sink *sink,
                                    const struct ev_sink_batch *batch,
                                    enum ev_err *err, char *errstr,
                                    size_t errstr_size)
{
        struct pg_sink *s = (struct pg_sink *)sink;
        struct ev_pgrow_origin origin;
        char name[EV_PGROW_NAME_SIZE], where[256];
        struct ev_pgrow row;
        const char *text;
        size_t i, len;
        int tbl;

        s->copy.len = 0;
        s->has_tombstones = false;
        s->skipped = 0;
        for (i = 0; i < s->table_cnt; i++)
                s->tables[i].in_batch = false;
        for (i = 0; i < batch->cnt; i++) {
                const struct ev_sink_item *item = &batch->items[i];
                const struct ev_msg *msg = item->msg;

                if (item->kind == EV_SINK_TOXIC)
                        continue;
                if (item->kind == EV_SINK_TOMBSTONE) {
                        /* A key that no event_id can equal deletes
                         * nothing. */
                        if (!ev_pgrow_key_usable(msg->key, msg->key_len))
                                continue;
                        origin_of(batch->src, msg, &origin, where,
                                  sizeof(where));
                        ev_pgrow_copy_line(&s->copy, i, 0, NULL, msg->key,
                                           msg->key_len, NULL, 0,
                                           batch->received_ms, &origin);
                        s->has_tombstones = true;
                        continue;
                }
                if (ev_pgrow_has_nul(msg->payload, msg->len, item->root)) {
                        batch->src->ops->describe(batch->src, msg, where,
                                                  sizeof(where));
                        ev_log(EV_LOG_WARN,
                               "postgres sink: skipping the event at %s: it "
                               "holds a NUL character (\\u0000), which jsonb "
                               "cannot store",
                               where);
                        s->skipped++;
                        continue;
                }
                text = event_text(s, item, &len);
                if (!text) {
                        s->copy.failed = true;
                        break;
                }
                origin_of(batch->src, msg, &origin, where, sizeof(where));
                ev_pgrow_from_event(item->root, &origin, &row);
                ev_pgrow_route(s->cfg->pg_table, s->cfg->pg_route_by,
                               item->root, name);
                tbl = table_index(s, name);
                s->tables[tbl].in_batch = true;
                ev_pgrow_copy_line(&s->copy, i, tbl, &row, row.event_id,
                                   strlen(row.event_id), text, len,
                                   batch->received_ms, &origin);
        }
        if (!s->copy.failed)
                return EV_SINK_OK;
        ev_pgrow_buf_free(&s->copy);
        snprintf(errstr, errstr_size, "out of memory for a batch's rows");
        *err = EV_ERR_NOMEM;
        return EV_SINK_ERROR;
}

/* b's text, handed over (NULL when b ran out of memory). */
static char *take(struct ev_pgrow_buf *b)
{
        char *sql = b->failed ? NULL : b->data;

        if (!sql)
                ev_pgrow_buf_free(b);
        memset(b, 0, sizeof(*b));
        return sql;
}

/* Runs the statement in b, then frees b. */
static enum ev_err run(struct pg_sink *s, struct ev_pgrow_buf *b, char *errstr,
                       size_t errstr_size)
{
        char *sql = take(b);
        enum ev_err err;

        if (!sql) {
                snprintf(errstr, errstr_size, "out of memory");
                return EV_ERR_NOMEM;
        }
        err = ev_pg_exec(s->pg, sql, 0, NULL, NULL, NULL, errstr, errstr_size);
        free(sql);
        return err;
}

/* Makes table i exist (with create: CREATE TABLE IF NOT EXISTS) and
 * builds its statements. */
static enum ev_err open_table(struct pg_sink *s, size_t i, bool create,
                              char *errstr, size_t errstr_size)
{
        struct table *t = &s->tables[i];
        struct ev_pgrow_buf b = {0};
        char q[QUOTED_SIZE];
        enum ev_err err;

        err = ev_pg_quote(s->pg, t->name, q, sizeof(q), errstr, errstr_size);
        if (err)
                return err;
        if (create) {
                ev_pgrow_sql_create(&b, q);
                err = run(s, &b, errstr, errstr_size);
        }
        /* Two consumers creating one table at once: the loser's CREATE
         * fails on the catalog's unique index; its next try finds the
         * table. */
        if (err == EV_ERR_PERMANENT &&
            (!strcmp(ev_pg_sqlstate(s->pg), "23505") ||
             !strcmp(ev_pg_sqlstate(s->pg), "42P07")))
                err = EV_ERR_TRANSIENT;
        if (err)
                return err;
        /* Again after a reconnection: the same text. */
        free(t->upsert_sql);
        free(t->delete_sql);
        ev_pgrow_sql_upsert(&b, q, s->quoted_tombstones);
        t->upsert_sql = take(&b);
        ev_pgrow_sql_delete(&b, q, s->quoted_tombstones);
        t->delete_sql = take(&b);
        if (t->upsert_sql && t->delete_sql)
                return EV_OK;
        free(t->upsert_sql);
        free(t->delete_sql);
        t->upsert_sql = t->delete_sql = NULL;
        snprintf(errstr, errstr_size, "out of memory");
        return EV_ERR_NOMEM;
}

/* Learns the routed tables that exist already (made by an earlier run or
 * another consumer, or anything named and shaped like one), which
 * tombstones must reach too. */
static enum ev_err find_tables(struct pg_sink *s, char *errstr,
                               size_t errstr_size)
{
        const char *params[] = {s->cfg->pg_table};
        PGresult *res;
        enum ev_err err;
        int i, n;

        err = ev_pg_exec(s->pg, ev_pgrow_sql_find_tables, 1, params, NULL, &res,
                         errstr, errstr_size);
        if (err)
                return err;
        n = PQntuples(res);
        for (i = 0; i < n && !err; i++) {
                const char *name = PQgetvalue(res, i, 0);
                int tbl;

                if (!ev_pgrow_is_routed(s->cfg->pg_table, name) ||
                    strlen(name) >= EV_PGROW_NAME_SIZE)
                        continue;
                tbl = table_index(s, name);
                if (tbl && !s->tables[tbl].upsert_sql)
                        err = open_table(s, (size_t)tbl, false, errstr,
                                         errstr_size);
        }
        PQclear(res);
        return err;
}

static void drop_connection(struct pg_sink *s)
{
        ev_pg_close(s->pg);
        s->pg = NULL;
}

/* A database in another encoding than UTF8 could not hold every event
 * (jsonb refuses a \u escape it cannot convert): refused at once rather
 * than stopping on the first such event. */
static enum ev_err check_encoding(struct pg_sink *s, char *errstr,
                                  size_t errstr_size)
{
        const char *enc =
            PQparameterStatus(ev_pg_conn(s->pg), "server_encoding");

        if (enc && !strcmp(enc, "UTF8"))
                return EV_OK;
        snprintf(errstr, errstr_size,
                 "the database's encoding is %s; the postgres sink needs "
                 "UTF8 (CREATE DATABASE ... ENCODING 'UTF8')",
                 enc ? enc : "unknown");
        return EV_ERR_PERMANENT;
}

/* Connects, makes the staging, tombstone and events tables, and learns the
 * routed tables. */
static enum ev_err connect_db(struct pg_sink *s, char *errstr,
                              size_t errstr_size)
{
        struct ev_pgrow_buf b = {0};
        enum ev_err err;

        s->pg = ev_pg_connect(s->cfg->pg_dsn, "event-consumer", &err, errstr,
                              errstr_size);
        if (!s->pg)
                return err;
        err = check_encoding(s, errstr, errstr_size);
        if (!err) {
                ev_pgrow_sql_create_stage(&b);
                err = run(s, &b, errstr, errstr_size);
        }
        if (!err)
                err = ev_pg_quote(s->pg, s->tombstones, s->quoted_tombstones,
                                  sizeof(s->quoted_tombstones), errstr,
                                  errstr_size);
        if (!err) {
                ev_pgrow_sql_create_tombstones(&b, s->quoted_tombstones);
                err = run(s, &b, errstr, errstr_size);
        }
        if (!err && !s->tombstone_sql) {
                ev_pgrow_sql_tombstones(&b, s->quoted_tombstones);
                s->tombstone_sql = take(&b);
                if (!s->tombstone_sql) {
                        snprintf(errstr, errstr_size, "out of memory");
                        err = EV_ERR_NOMEM;
                }
        }
        if (!err)
                err = open_table(s, 0, true, errstr, errstr_size);
        if (!err)
                err = find_tables(s, errstr, errstr_size);
        if (err)
                drop_connection(s);
        return err;
}

/* The staged batch, in one transaction: COPY into the staging table, the
 * tombstones recorded and their rows deleted from every table, then each
 * table's upserts. */
static enum ev_err commit_batch(struct pg_sink *s, unsigned long *rows,
                                char *errstr, size_t errstr_size)
{
        enum ev_err err;
        unsigned long n;
        char idx[24];
        size_t i;

        *rows = 0;
        err = ev_pg_exec(s->pg, "BEGIN", 0, NULL, NULL, NULL, errstr,
                         errstr_size);
        if (!err && s->copy.len)
                err = ev_pg_copy_in(
                    s->pg,
                    "COPY ev_stage (" EV_PGROW_STAGE_COLUMNS ") FROM STDIN",
                    s->copy.data, s->copy.len, errstr, errstr_size);
        if (!err && s->has_tombstones)
                err = ev_pg_exec(s->pg, s->tombstone_sql, 0, NULL, NULL, NULL,
                                 errstr, errstr_size);
        for (i = 0; i < s->table_cnt && !err && s->has_tombstones; i++) {
                err = ev_pg_exec(s->pg, s->tables[i].delete_sql, 0, NULL, &n,
                                 NULL, errstr, errstr_size);
                if (!err)
                        *rows += n;
        }
        for (i = 0; i < s->table_cnt && !err; i++) {
                const char *params[] = {idx};

                if (!s->tables[i].in_batch)
                        continue;
                snprintf(idx, sizeof(idx), "%zu", i);
                err = ev_pg_exec(s->pg, s->tables[i].upsert_sql, 1, params, &n,
                                 NULL, errstr, errstr_size);
                if (!err)
                        *rows += n;
        }
        if (!err)
                err = ev_pg_exec(s->pg, "COMMIT", 0, NULL, NULL, NULL, errstr,
                                 errstr_size);
        return err;
}

static enum ev_sink_result pg_flush(struct ev_sink *sink, enum ev_err *err,
                                    char *errstr, size_t errstr_size)
{
        struct pg_sink *s = (struct pg_sink *)sink;
        unsigned long rows = 0;
        char rollback[64];
        size_t i;

        *err = s->pg ? EV_OK : connect_db(s, errstr, errstr_size);
        /* Tables seen for the first time, and, when rows are to be deleted,
         * those another consumer may have made since. */
        for (i = 0; i < s->table_cnt && !*err; i++)
                if (!s->tables[i].upsert_sql)
                        *err = open_table(s, i, true, errstr, errstr_size);
        if (!*err && s->has_tombstones)
                *err = find_tables(s, errstr, errstr_size);
        if (!*err)
                *err = commit_batch(s, &rows, errstr, errstr_size);
        if (!*err) {
                ev_metrics_add(EV_C_SINK_ROWS, rows);
                ev_metrics_add(EV_C_SINK_SKIPPED, s->skipped);
                return EV_SINK_OK;
        }
        if (*err == EV_ERR_TRANSIENT) {
                /* A fresh connection for the next try: the old one may be
                 * gone, or in an aborted transaction. */
                drop_connection(s);
                return EV_SINK_RETRY;
        }
        if (s->pg)
                ev_pg_exec(s->pg, "ROLLBACK", 0, NULL, NULL, NULL, rollback,
                           sizeof(rollback));
        return EV_SINK_ERROR;
}

static void pg_close(struct ev_sink *sink)
{
        struct pg_sink *s = (struct pg_sink *)sink;
        size_t i;

        if (!s)
                return;
        drop_connection(s);
        for (i = 0; i < s->table_cnt; i++) {
                free(s->tables[i].upsert_sql);
                free(s->tables[i].delete_sql);
        }
        free(s->tombstone_sql);
        ev_pgrow_buf_free(&s->copy);
        free(s->text);
        free(s);
}

static const struct ev_sink_ops pg_ops = {
    .name = "postgres",
    .wants_events = true,
    .write = pg_write,
    .flush = pg_flush,
    .close = pg_close,
};

struct ev_sink *ev_sink_postgres_new(const struct ev_config *cfg,
                                     enum ev_err *err, char *errstr,
                                     size_t errstr_size)
{
        struct pg_sink *s = calloc(1, sizeof(*s));

        if (!s) {
                snprintf(errstr, errstr_size, "out of memory");
                *err = EV_ERR_NOMEM;
                return NULL;
        }
        s->sink.ops = &pg_ops;
        s->cfg = cfg;
        ev_pgrow_tombstone_table(cfg->pg_table, s->tombstones);
        table_index(s, cfg->pg_table);
        *err = connect_db(s, errstr, errstr_size);
        if (*err) {
                pg_close(&s->sink);
                return NULL;
        }
        return &s->sink;
}
