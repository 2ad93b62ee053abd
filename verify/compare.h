/*
 * event-verify's side of PostgreSQL: one session, one read-only
 * transaction. The expected state goes into the session's temporary
 * tables; the comparison (diff.h) reads the events table and its routed
 * tables and writes nothing else.
 */
#ifndef EV_COMPARE_H
#define EV_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "diff.h"
#include "err.h"
#include "expect.h"
#include "pgrow.h"

struct ev_compare;

/*
 * Connects to cfg->pg_dsn (cfg borrowed; it must outlive cmp), makes the
 * temporary tables and opens the transaction. NULL with *err and errstr
 * set on failure (EV_ERR_TRANSIENT: unreachable; EV_ERR_PERMANENT: the
 * server refused a statement).
 */
struct ev_compare *ev_compare_new(const struct ev_config *cfg, enum ev_err *err,
                                  char *errstr, size_t errstr_size);

/* Sends the rows staged in copy (ev_expect's COPY text) to the server and
 * empties it (len 0). Errors as ev_pg_exec. */
enum ev_err ev_compare_stage(struct ev_compare *cmp, struct ev_pgrow_buf *copy,
                             char *errstr, size_t errstr_size);

/*
 * Compares everything staged with the tables, x (borrowed) naming the
 * tables the staged rows' tbl indexes; with x->file, rows named by their
 * own position are not extra (diff.h). Logs the first 10 differences of
 * each kind, one WARN line each, and fills *res. Errors as ev_pg_exec.
 */
enum ev_err ev_compare_run(struct ev_compare *cmp, const struct ev_expect *x,
                           struct ev_diff_result *res, char *errstr,
                           size_t errstr_size);

/* Ends the transaction and the session. NULL is a no-op. */
void ev_compare_destroy(struct ev_compare *cmp);

#endif
