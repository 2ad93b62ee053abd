/*
 * libpq behind ev_err classes. Owns the PGconn; results are cleared here
 * unless handed to the caller.
 */
#include "pg.h"

#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "log.h"
#include "pgrow.h"

struct ev_pg {
        PGconn *conn;
        char sqlstate[6];
};

/* The first line of libpq's message, which may span several, escaped
 * (the server's messages may quote the data) and cut to fit buf. */
static void first_line(const char *msg, char *buf, size_t size)
{
        const char *m = msg ? msg : "";
        size_t len = strcspn(m, "\n");

        ev_escape(m, len, len, EV_ESCAPE_BACKSLASH, buf, size);
}

/* The server's notices ("relation ... already exists, skipping") are for
 * debugging, one escaped line each, not raw on stderr. */
static void notice(void *arg, const char *message)
{
        char line[400];

        (void)arg;
        first_line(message, line, sizeof(line));
        ev_log(EV_LOG_DEBUG, "postgres: %s", line);
}

struct ev_pg *ev_pg_connect(const char *dsn, const char *app, enum ev_err *err,
                            char *errstr, size_t errstr_size)
{
        /* Before dbname, which the connection string expands into: its
         * own values win. client_encoding after it: rows are UTF-8. */
        const char *const keys[] = {"connect_timeout",
                                    "fallback_application_name", "dbname",
                                    "client_encoding", NULL};
        const char *const values[] = {"10", app, dsn ? dsn : "", "UTF8", NULL};
        struct ev_pg *pg = calloc(1, sizeof(*pg));
        char line[400];

        if (!pg) {
                snprintf(errstr, errstr_size, "out of memory");
                *err = EV_ERR_NOMEM;
                return NULL;
        }
        pg->conn = PQconnectdbParams(keys, values, 1);
        if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK) {
                PQsetNoticeProcessor(pg->conn, notice, NULL);
                return pg;
        }
        first_line(pg->conn ? PQerrorMessage(pg->conn) : "out of memory", line,
                   sizeof(line));
        snprintf(errstr, errstr_size, "connecting to PostgreSQL: %s", line);
        *err = EV_ERR_TRANSIENT;
        ev_pg_close(pg);
        return NULL;
}

void ev_pg_close(struct ev_pg *pg)
{
        if (!pg)
                return;
        PQfinish(pg->conn);
        free(pg);
}

/* Classifies the failed result r (NULL: no result at all) into errstr;
 * clears r. */
static enum ev_err failed(struct ev_pg *pg, PGresult *r, char *errstr,
                          size_t errstr_size)
{
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        const char *msg =
            r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        char line[400];

        /* A lost connection has no SQLSTATE, or a made-up one: its state
         * says more. */
        if (PQstatus(pg->conn) != CONNECTION_OK)
                state = NULL;
        snprintf(pg->sqlstate, sizeof(pg->sqlstate), "%s", state ? state : "");
        first_line(msg ? msg : PQerrorMessage(pg->conn), line, sizeof(line));
        if (state)
                snprintf(errstr, errstr_size, "SQLSTATE %s: %s", state, line);
        else
                snprintf(errstr, errstr_size, "connection lost: %s",
                         line[0] ? line : "no answer");
        /* The copy: state points into r. */
        PQclear(r);
        return ev_pgrow_transient(pg->sqlstate) ? EV_ERR_TRANSIENT
                                                : EV_ERR_PERMANENT;
}

enum ev_err ev_pg_exec(struct ev_pg *pg, const char *sql, int nparams,
                       const char *const *params, unsigned long *rows,
                       PGresult **res, char *errstr, size_t errstr_size)
{
        PGresult *r =
            PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
                return failed(pg, r, errstr, errstr_size);
        if (rows)
                *rows = st == PGRES_TUPLES_OK
                            ? (unsigned long)PQntuples(r)
                            : strtoul(PQcmdTuples(r), NULL, 10);
        if (res)
                *res = r;
        else
                PQclear(r);
        return EV_OK;
}

enum ev_err ev_pg_copy_in(struct ev_pg *pg, const char *sql, const char *data,
                          size_t len, char *errstr, size_t errstr_size)
{
        PGresult *r = PQexec(pg->conn, sql);
        size_t off;

        if (!r || PQresultStatus(r) != PGRES_COPY_IN)
                return failed(pg, r, errstr, errstr_size);
        PQclear(r);
        /* In pieces: PQputCopyData takes an int length. */
        for (off = 0; off < len; off += 1 << 20) {
                size_t n = len - off < 1 << 20 ? len - off : 1 << 20;

                if (PQputCopyData(pg->conn, data + off, (int)n) != 1)
                        break;
        }
        PQputCopyEnd(pg->conn, off < len ? "the COPY data was cut" : NULL);
        r = PQgetResult(pg->conn);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
                enum ev_err err = failed(pg, r, errstr, errstr_size);

                /* Drain, so that the connection takes commands again. */
                while ((r = PQgetResult(pg->conn)))
                        PQclear(r);
                return err;
        }
        PQclear(r);
        while ((r = PQgetResult(pg->conn)))
                PQclear(r);
        return EV_OK;
}

enum ev_err ev_pg_quote(struct ev_pg *pg, const char *ident, char *buf,
                        size_t size, char *errstr, size_t errstr_size)
{
        char *q = PQescapeIdentifier(pg->conn, ident, strlen(ident));
        enum ev_err err = EV_OK;

        if (!q) {
                snprintf(errstr, errstr_size, "quoting %s: %s", ident,
                         PQerrorMessage(pg->conn));
                return EV_ERR_NOMEM;
        }
        if (strlen(q) >= size) {
                snprintf(errstr, errstr_size, "quoting %s: too long", ident);
                err = EV_ERR_PERMANENT;
        } else {
                memcpy(buf, q, strlen(q) + 1);
        }
        PQfreemem(q);
        return err;
}

PGconn *ev_pg_conn(struct ev_pg *pg)
{
        return pg->conn;
}

const char *ev_pg_sqlstate(const struct ev_pg *pg)
{
        return pg->sqlstate;
}
