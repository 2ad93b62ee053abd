/*
 * event-verify: compares a source (a topic read from its beginning, or an
 * NDJSON file) with the PostgreSQL tables event-consumer's postgres sink
 * wrote from it, prints one summary line, and exits 1 on any difference.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sysexits.h>

#include "compare.h"
#include "config.h"
#include "diff.h"
#include "expect.h"
#include "kafka.h"
#include "log.h"
#include "pg.h"
#include "timefmt.h"
#include "kafka_reader.h"

/* Staged rows go to the server in pieces of about this size, so that a
 * long topic never sits in memory whole. */
#define STAGE_BYTES (8 << 20)
/* The exit status when the tables differ from the source. */
#define EXIT_DIFFERENT 1

struct verify {
        struct ev_expect expect;
        struct ev_compare *cmp;
};

/* One message of the source into the expected state. */
static enum ev_err add(struct verify *v, const char *payload, size_t len,
                       const char *key, size_t key_len,
                       const struct ev_pgrow_origin *origin, char *errstr,
                       size_t errstr_size)
{
        if (ev_expect_add(&v->expect, payload, len, key, key_len, origin)) {
                snprintf(errstr, errstr_size, "out of memory");
                return EV_ERR_NOMEM;
        }
        if (v->expect.copy.len < STAGE_BYTES)
                return EV_OK;
        return ev_compare_stage(v->cmp, &v->expect.copy, errstr, errstr_size);
}

static enum ev_err on_message(void *opaque, const struct ev_topic_msg *msg,
                              char *errstr, size_t errstr_size)
{
        const struct ev_pgrow_origin origin = {msg->topic, msg->partition,
                                               msg->offset, NULL};

        return add(opaque, msg->payload, msg->len, msg->key, msg->key_len,
                   &origin, errstr, errstr_size);
}

/* Each line of fp (named path) an event, at partition 0 and the line's
 * index from 0, as if produced line by line to a one-partition topic
 * named path. *unreadable is set when the file failed, not the rest. */
static enum ev_err read_file(struct verify *v, FILE *fp, const char *path,
                             bool *unreadable, char *errstr, size_t errstr_size)
{
        struct ev_pgrow_origin origin = {path, 0, 0, NULL};
        enum ev_err err = EV_OK;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        ev_log(EV_LOG_INFO, "reading events from %s",
               strcmp(path, "-") ? path : "stdin");
        errno = 0;
        while (!err) {
                n = getline(&line, &cap, fp);
                if (n < 0)
                        break;
                /* The producer's lines: '\n' ends one, '\r' stays. */
                if (n && line[n - 1] == '\n')
                        n--;
                err = add(v, line, (size_t)n, NULL, 0, &origin, errstr,
                          errstr_size);
                origin.offset++;
        }
        if (!err && ferror(fp)) {
                snprintf(errstr, errstr_size, "reading %s: %s", path,
                         strerror(errno ? errno : EIO));
                *unreadable = true;
                err = EV_ERR_IO;
        }
        free(line);
        return err;
}

int main(int argc, char **argv)
{
        struct verify v = {0};
        struct ev_diff_result res;
        struct ev_config cfg;
        char errstr[512];
        char summary[512];
        char version[128];
        bool unreadable = false;
        FILE *fp = NULL;
        enum ev_err err;
        int code = 0, pq = PQlibVersion();

        snprintf(version, sizeof(version),
                 "event-verify %s (librdkafka %s, libpq %d.%d)", EV_VERSION,
                 ev_kafka_version(), pq / 10000, pq % 10000);
        if (!ev_config_load(&cfg, EV_ROLE_VERIFY, "event-verify", version, argc,
                            argv, &err))
                goto out;
        /* A file that cannot be read is said before anything else. */
        if (cfg.source) {
                fp = strcmp(cfg.source, "-") ? fopen(cfg.source, "r") : stdin;
                if (!fp) {
                        snprintf(errstr, sizeof(errstr), "cannot open %s: %s",
                                 cfg.source, strerror(errno));
                        unreadable = true;
                        err = EV_ERR_IO;
                        goto fail;
                }
        }
        err =
            ev_expect_init(&v.expect, cfg.pg_table, cfg.pg_route_by, &cfg.rules,
                           cfg.source != NULL, ev_timefmt_now_ms());
        if (err) {
                snprintf(errstr, sizeof(errstr), "out of memory");
                goto fail;
        }
        v.cmp = ev_compare_new(&cfg, &err, errstr, sizeof(errstr));
        if (!v.cmp)
                goto fail;
        if (cfg.source)
                err = read_file(&v, fp, cfg.source, &unreadable, errstr,
                                sizeof(errstr));
        else
                err =
                    ev_topic_read(&cfg, on_message, &v, errstr, sizeof(errstr));
        if (!err)
                err = ev_compare_stage(v.cmp, &v.expect.copy, errstr,
                                       sizeof(errstr));
        if (!err)
                err = ev_compare_run(v.cmp, &v.expect, &res, errstr,
                                     sizeof(errstr));
        if (err)
                goto fail;
        ev_diff_summary(&v.expect.counts, &res, summary, sizeof(summary));
        if (printf("%s\n", summary) < 0 || fflush(stdout)) {
                snprintf(errstr, sizeof(errstr), "writing the summary: %s",
                         strerror(errno));
                err = EV_ERR_IO;
                goto fail;
        }
        code = ev_diff_clean(&res) ? EX_OK : EXIT_DIFFERENT;
        goto out;
fail:
        ev_log(EV_LOG_ERROR, "%s", errstr);
out:
        ev_compare_destroy(v.cmp);
        ev_expect_free(&v.expect);
        if (fp && fp != stdin)
                fclose(fp);
        ev_config_free(&cfg);
        if (unreadable)
                return EX_NOINPUT;
        return err ? ev_err_exit_code(err) : code;
}
