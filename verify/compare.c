/*
 * The comparison, run: owns the connection and the SQL text it builds;
 * the SQL itself is diff.c's. Writes only to the session's temporary
 * tables, inside a READ ONLY transaction, so that a mistake here can never
 * touch the tables it checks.
 */
#include "compare.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pg.h"

/* Room for a quoted name (every character doubled at worst), and for two
 * of them with a dot between. */
#define QUOTED_NAME_SIZE (2 * EV_PGROW_NAME_SIZE + 3)
#define QUOTED_SIZE      (2 * QUOTED_NAME_SIZE)
/* How many differences of each kind are named. */
#define LIST_MAX 10

struct ev_compare {
        const struct ev_config *cfg;
        struct ev_pg *pg;
};

static enum ev_err exec(struct ev_compare *cmp, const char *sql, int nparams,
                        const char *const *params, PGresult **res, char *errstr,
                        size_t errstr_size)
{
        return ev_pg_exec(cmp->pg, sql, nparams, params, NULL, res, errstr,
                          errstr_size);
}

struct ev_compare *ev_compare_new(const struct ev_config *cfg, enum ev_err *err,
                                  char *errstr, size_t errstr_size)
{
        struct ev_compare *cmp = calloc(1, sizeof(*cmp));
        struct ev_pgrow_buf b = {0};
        size_t i;

        if (!cmp) {
                snprintf(errstr, errstr_size, "out of memory");
                *err = EV_ERR_NOMEM;
                return NULL;
        }
        cmp->cfg = cfg;
        cmp->pg = ev_pg_connect(cfg->pg_dsn, "event-verify", err, errstr,
                                errstr_size);
        if (!cmp->pg)
                goto fail;
        ev_pgrow_sql_create_stage(&b);
        if (b.failed) {
                snprintf(errstr, errstr_size, "out of memory");
                *err = EV_ERR_NOMEM;
                goto fail;
        }
        *err = exec(cmp, b.data, 0, NULL, NULL, errstr, errstr_size);
        for (i = 0; i < ev_diff_sql_setup_cnt && !*err; i++)
                *err = exec(cmp, ev_diff_sql_setup[i], 0, NULL, NULL, errstr,
                            errstr_size);
        /* Read committed: the rows are read by one statement, one snapshot
         * for all the tables. */
        if (!*err)
                *err = exec(cmp, "BEGIN READ ONLY", 0, NULL, NULL, errstr,
                            errstr_size);
        if (*err)
                goto fail;
        ev_pgrow_buf_free(&b);
        return cmp;
fail:
        ev_pgrow_buf_free(&b);
        ev_compare_destroy(cmp);
        return NULL;
}

enum ev_err ev_compare_stage(struct ev_compare *cmp, struct ev_pgrow_buf *copy,
                             char *errstr, size_t errstr_size)
{
        enum ev_err err;

        if (!copy->len)
                return EV_OK;
        err = ev_pg_copy_in(
            cmp->pg, "COPY ev_stage (" EV_PGROW_STAGE_COLUMNS ") FROM STDIN",
            copy->data, copy->len, errstr, errstr_size);
        copy->len = 0;
        return err;
}

/* The events table and its routed tables that exist, quoted and
 * schema-qualified into quoted (n of them; *plain their names), at most
 * max. The events table may be missing: no rows, then. */
static enum ev_err find_tables(struct ev_compare *cmp,
                               char (*quoted)[QUOTED_SIZE],
                               char (*plain)[EV_PGROW_NAME_SIZE], size_t max,
                               size_t *n, char *errstr, size_t errstr_size)
{
        const char *table = cmp->cfg->pg_table;
        const char *params[] = {table};
        char schema[QUOTED_NAME_SIZE], q[QUOTED_NAME_SIZE];
        PGresult *res = NULL;
        enum ev_err err;
        int i, rows;

        *n = 0;
        err = exec(cmp, ev_diff_sql_schema, 0, NULL, &res, errstr, errstr_size);
        if (err)
                return err;
        if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
                snprintf(errstr, errstr_size,
                         "no current schema: check the search_path");
                err = EV_ERR_PERMANENT;
                goto out;
        }
        err = ev_pg_quote(cmp->pg, PQgetvalue(res, 0, 0), schema,
                          sizeof(schema), errstr, errstr_size);
        PQclear(res);
        res = NULL;
        if (err)
                return err;
        err = exec(cmp, ev_pgrow_sql_find_tables, 1, params, &res, errstr,
                   errstr_size);
        if (err)
                return err;
        rows = PQntuples(res);
        for (i = 0; i < rows && !err; i++) {
                const char *name = PQgetvalue(res, i, 0);

                if (strcmp(name, table) && !ev_pgrow_is_routed(table, name))
                        continue;
                if (*n == max || strlen(name) >= EV_PGROW_NAME_SIZE) {
                        snprintf(errstr, errstr_size,
                                 "more than %zu tables named %s_...", max,
                                 table);
                        err = EV_ERR_PERMANENT;
                        break;
                }
                err = ev_pg_quote(cmp->pg, name, q, sizeof(q), errstr,
                                  errstr_size);
                if (err)
                        break;
                snprintf(quoted[*n], QUOTED_SIZE, "%s.%s", schema, q);
                snprintf(plain[*n], EV_PGROW_NAME_SIZE, "%s", name);
                (*n)++;
        }
out:
        PQclear(res);
        return err;
}

/* Copies the rows of every table into ev_verify_actual, in one statement:
 * one snapshot of them all. */
static enum ev_err load_actual(struct ev_compare *cmp, char *errstr,
                               size_t errstr_size)
{
        /* Far more than a consumer makes (256 at most). */
        enum { TABLES_MAX = 4096 };
        char(*quoted)[QUOTED_SIZE] = malloc(TABLES_MAX * sizeof(*quoted));
        char(*plain)[EV_PGROW_NAME_SIZE] = malloc(TABLES_MAX * sizeof(*plain));
        const char **qp = malloc(TABLES_MAX * sizeof(*qp));
        const char **pp = malloc(TABLES_MAX * sizeof(*pp));
        struct ev_pgrow_buf b = {0};
        enum ev_err err;
        size_t n = 0, i;

        if (!quoted || !plain || !qp || !pp) {
                snprintf(errstr, errstr_size, "out of memory");
                err = EV_ERR_NOMEM;
                goto out;
        }
        err = find_tables(cmp, quoted, plain, TABLES_MAX, &n, errstr,
                          errstr_size);
        if (err || !n)
                goto out;
        for (i = 0; i < n; i++) {
                qp[i] = quoted[i];
                pp[i] = plain[i];
        }
        ev_diff_sql_actual(&b, qp, n);
        if (b.failed) {
                snprintf(errstr, errstr_size, "out of memory");
                err = EV_ERR_NOMEM;
                goto out;
        }
        ev_log(EV_LOG_DEBUG, "comparing with %zu table(s)", n);
        err = exec(cmp, b.data, (int)n, pp, NULL, errstr, errstr_size);
out:
        ev_pgrow_buf_free(&b);
        free(quoted);
        free(plain);
        free(qp);
        free(pp);
        return err;
}

/* Counts kind's differences into *cnt and names the first of them. */
static enum ev_err list(struct ev_compare *cmp, enum ev_diff_kind kind,
                        bool file, unsigned long *cnt, char *errstr,
                        size_t errstr_size)
{
        const char *name = ev_diff_kind_name(kind);
        PGresult *res;
        enum ev_err err;
        int i, rows;

        err = exec(cmp, ev_diff_sql_list(kind, file), 0, NULL, &res, errstr,
                   errstr_size);
        if (err)
                return err;
        rows = PQntuples(res);
        *cnt = rows ? strtoul(PQgetvalue(res, 0, 2), NULL, 10) : 0;
        for (i = 0; i < rows; i++)
                ev_log(EV_LOG_WARN, "%s: event_id %s: %s", name,
                       PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        if (*cnt > LIST_MAX)
                ev_log(EV_LOG_WARN, "%s: %lu more not shown", name,
                       *cnt - LIST_MAX);
        PQclear(res);
        return EV_OK;
}

enum ev_err ev_compare_run(struct ev_compare *cmp, const struct ev_expect *x,
                           struct ev_diff_result *res, char *errstr,
                           size_t errstr_size)
{
        struct ev_pgrow_buf b = {0};
        const char *params[1];
        PGresult *counts = NULL;
        enum ev_err err;
        size_t i;

        memset(res, 0, sizeof(*res));
        ev_diff_names(&b, x);
        if (b.failed) {
                snprintf(errstr, errstr_size, "out of memory");
                err = EV_ERR_NOMEM;
                goto out;
        }
        params[0] = b.data;
        err = exec(cmp, ev_diff_sql_expected, 1, params, NULL, errstr,
                   errstr_size);
        if (!err)
                err = load_actual(cmp, errstr, errstr_size);
        if (!err)
                err = exec(cmp, ev_diff_sql_counts, 0, NULL, &counts, errstr,
                           errstr_size);
        if (err)
                goto out;
        res->expected_rows = strtoul(PQgetvalue(counts, 0, 0), NULL, 10);
        res->table_rows = strtoul(PQgetvalue(counts, 0, 1), NULL, 10);
        for (i = 0; i < EV_DIFF__CNT && !err; i++)
                err = list(cmp, (enum ev_diff_kind)i, x->file, &res->cnt[i],
                           errstr, errstr_size);
out:
        PQclear(counts);
        ev_pgrow_buf_free(&b);
        return err;
}

void ev_compare_destroy(struct ev_compare *cmp)
{
        char ignored[64];

        if (!cmp)
                return;
        /* Nothing to keep: the transaction wrote temporary rows only. */
        if (cmp->pg)
                ev_pg_exec(cmp->pg, "ROLLBACK", 0, NULL, NULL, NULL, ignored,
                           sizeof(ignored));
        ev_pg_close(cmp->pg);
        free(cmp);
}
