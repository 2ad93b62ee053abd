/*
 * A PostgreSQL connection for the postgres sink and event-verify: libpq's,
 * with every failure turned into an error class (ev_pgrow_transient) and
 * one line for the human. Only pg.c, the sink and event-verify include
 * libpq-fe.h.
 */
#ifndef EV_PG_H
#define EV_PG_H

#include <stddef.h>

#include <libpq-fe.h>

#include "err.h"

struct ev_pg;

/*
 * Connects by dsn (a libpq connection string or URI; NULL or "": the PG*
 * variables alone), as application_name app unless dsn names one, in
 * UTF8, giving up after 10 s unless dsn sets connect_timeout. NULL with
 * errstr set on failure, *err EV_ERR_TRANSIENT: a server down or starting
 * up, and a bad password alike, are told apart only by the message.
 */
struct ev_pg *ev_pg_connect(const char *dsn, const char *app, enum ev_err *err,
                            char *errstr, size_t errstr_size);

/* Closes pg (NULL is a no-op). */
void ev_pg_close(struct ev_pg *pg);

/*
 * Runs sql with params[0..nparams) as text parameters ($1...). EV_OK with
 * *rows (when not NULL) the rows it affected or returned;
 * EV_ERR_TRANSIENT or EV_ERR_PERMANENT (by its SQLSTATE) with errstr
 * "SQLSTATE XXXXX: message" otherwise. With res not NULL, *res receives
 * the result on EV_OK, which the caller PQclear()s.
 */
enum ev_err ev_pg_exec(struct ev_pg *pg, const char *sql, int nparams,
                       const char *const *params, unsigned long *rows,
                       PGresult **res, char *errstr, size_t errstr_size);

/* COPY ... FROM STDIN (sql) with the len bytes at data, in one go.
 * Errors as ev_pg_exec. */
enum ev_err ev_pg_copy_in(struct ev_pg *pg, const char *sql, const char *data,
                          size_t len, char *errstr, size_t errstr_size);

/* ident quoted as an SQL identifier (PQescapeIdentifier) into buf.
 * EV_ERR_NOMEM (or EV_ERR_PERMANENT when it does not fit) with errstr
 * on failure. */
enum ev_err ev_pg_quote(struct ev_pg *pg, const char *ident, char *buf,
                        size_t size, char *errstr, size_t errstr_size);

/* pg's libpq connection, borrowed: for what this module does not wrap
 * (PQparameterStatus). */
PGconn *ev_pg_conn(struct ev_pg *pg);

/* The SQLSTATE of the last failure ("" when the connection failed before
 * the server could give one). */
const char *ev_pg_sqlstate(const struct ev_pg *pg);

#endif
