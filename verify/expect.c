/*
 * The expected state, staged as COPY text. Owns the text and the table
 * list; the rules of what a message becomes are pgrow.c's and event.c's,
 * called here exactly as the postgres sink calls them.
 */
#include "expect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

enum ev_err ev_expect_init(struct ev_expect *x, const char *table,
                           const char *route_by,
                           const struct ev_event_rules *rules, bool file,
                           int64_t received_ms)
{
        memset(x, 0, sizeof(*x));
        x->table = table;
        x->route_by = route_by;
        x->rules = rules;
        x->file = file;
        x->received_ms = received_ms;
        x->tables = malloc(4 * sizeof(*x->tables));
        if (!x->tables)
                return EV_ERR_NOMEM;
        x->table_cap = 4;
        snprintf(x->tables[0], sizeof(x->tables[0]), "%s", table);
        x->table_cnt = 1;
        return EV_OK;
}

void ev_expect_free(struct ev_expect *x)
{
        ev_pgrow_buf_free(&x->copy);
        free(x->tables);
        x->tables = NULL;
        x->table_cnt = x->table_cap = 0;
}

/* The index of table name in x's list, added when new; -1 out of
 * memory. Unlike the sink, no cap: a consumer that hit its own cap
 * (256) wrote the rest to the events table, and that shows as stale. */
static int table_index(struct ev_expect *x, const char *name)
{
        size_t i;

        for (i = 0; i < x->table_cnt; i++)
                if (!strcmp(x->tables[i], name))
                        return (int)i;
        if (x->table_cnt == x->table_cap) {
                size_t cap = x->table_cap * 2;
                char(*tables)[EV_PGROW_NAME_SIZE] =
                    realloc(x->tables, cap * sizeof(*tables));

                if (!tables)
                        return -1;
                x->tables = tables;
                x->table_cap = cap;
        }
        snprintf(x->tables[i], sizeof(x->tables[i]), "%s", name);
        x->table_cnt++;
        return (int)i;
}

enum ev_err ev_expect_add(struct ev_expect *x, const char *payload, size_t len,
                          const char *key, size_t key_len,
                          const struct ev_pgrow_origin *origin)
{
        char name[EV_PGROW_NAME_SIZE];
        struct ev_verdict verdict;
        struct ev_pgrow row;
        enum ev_err err = EV_OK;
        json_t *root = NULL;
        int tbl;

        x->counts.source++;
        if (!payload) {
                x->counts.tombstones++;
                /* A key no event_id can equal deletes nothing. */
                if (ev_pgrow_key_usable(key, key_len))
                        ev_pgrow_copy_line(&x->copy, x->seq++, 0, NULL, key,
                                           key_len, NULL, 0, x->received_ms,
                                           origin);
                goto out;
        }
        if (!ev_event_validate(payload, len, x->rules, &root, &verdict)) {
                x->counts.toxic++;
                goto out;
        }
        x->counts.valid++;
        if (ev_pgrow_has_nul(payload, len, root)) {
                x->counts.skipped++;
                goto out;
        }
        ev_pgrow_from_event(root, origin, &row);
        /* The consumer numbers such an event by its place in the topic,
         * which a line of a file does not tell. */
        if (x->file && !row.own_id) {
                x->counts.unkeyed++;
                goto out;
        }
        ev_pgrow_route(x->table, x->route_by, root, name);
        tbl = table_index(x, name);
        if (tbl < 0) {
                err = EV_ERR_NOMEM;
                goto out;
        }
        ev_pgrow_copy_line(&x->copy, x->seq++, tbl, &row, row.event_id,
                           strlen(row.event_id), payload, len, x->received_ms,
                           origin);
out:
        json_decref(root);
        if (!err && x->copy.failed)
                err = EV_ERR_NOMEM;
        return err;
}
