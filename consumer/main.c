/*
 * event-consumer: reads log events from a topic, writes valid ones to
 * stdout as NDJSON and reports toxic ones on stderr, acknowledging each
 * message only once its output is safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "dlq.h"
#include "json_arena.h"
#include "log.h"
#include "metrics.h"
#include "ops.h"
#include "parallel.h"
#include "pipeline.h"
#include "redact.h"
#include "signals.h"
#include "sink.h"
#include "transport.h"

/* Messages validated per flush and offset store. */
#define BATCH_MAX 512
/* How long one poll waits: bounds how late a stop request or the idle
 * deadline is noticed. */
#define POLL_MS 200
/* stdout, postgres, firestore and the dead-letter topic. */
#define SINKS_MAX 4
/* --validate-threads 0 means one per CPU, up to this: past it a batch's
 * share per thread is too small to pay for handing it out. */
#define AUTO_THREADS_MAX 8
/* Each validating thread's jansson arena: a full batch of 210-byte events
 * takes about 0.5 MB; what does not fit comes from malloc. */
#define ARENA_BYTES (2u << 20)

/* The sinks cfg asks for, in the order a batch goes through them, into
 * sinks; returns how many, or 0 with *err and errstr set. The dead-letter
 * topic comes last: a batch whose events could not be stored is not
 * dead-lettered yet. */
static size_t open_sinks(const struct ev_config *cfg, struct ev_sink **sinks,
                         enum ev_err *err, char *errstr, size_t errstr_size)
{
        struct ev_sink *sink;
        struct ev_dlq *dlq;
        char why[400];
        size_t n = 0;

        if (cfg->sinks & EV_CONFIG_SINK_STDOUT) {
                sink = ev_sink_stdout_new(stdout);
                if (!sink)
                        goto nomem;
                sinks[n++] = sink;
        }
        if (cfg->sinks & EV_CONFIG_SINK_POSTGRES) {
                sink = ev_sink_postgres_new(cfg, err, why, sizeof(why));
                if (!sink) {
                        snprintf(errstr, errstr_size, "postgres sink: %s", why);
                        goto fail;
                }
                sinks[n++] = sink;
                ev_log(EV_LOG_INFO,
                       "writing valid events to PostgreSQL table %s%s%s",
                       cfg->pg_table, cfg->pg_route_by ? ", routed by " : "",
                       cfg->pg_route_by ? cfg->pg_route_by : "");
        }
        if (cfg->sinks & EV_CONFIG_SINK_FIRESTORE) {
                sink = ev_sink_firestore_new(cfg, err, why, sizeof(why));
                if (!sink) {
                        snprintf(errstr, errstr_size, "firestore sink: %s",
                                 why);
                        goto fail;
                }
                sinks[n++] = sink;
        }
        if (cfg->dlq_topic) {
                dlq = ev_dlq_new(cfg, err, why, sizeof(why));
                if (!dlq) {
                        snprintf(errstr, errstr_size,
                                 "dead-letter topic %s: %s", cfg->dlq_topic,
                                 why);
                        goto fail;
                }
                sink = ev_sink_dlq_new(dlq);
                if (!sink)
                        goto nomem;
                sinks[n++] = sink;
        }
        return n;
nomem:
        snprintf(errstr, errstr_size, "out of memory");
        *err = EV_ERR_NOMEM;
fail:
        while (n) {
                n--;
                sinks[n]->ops->close(sinks[n]);
        }
        return 0;
}

static bool source_ready(const struct ev_source *src)
{
        return !src->ops->ready || src->ops->ready(src);
}

static enum ev_err consume(const struct ev_config *cfg, struct ev_source *src,
                           struct ev_pipeline *pl, char *errstr,
                           size_t errstr_size)
{
        static struct ev_msg msgs[BATCH_MAX];
        /* The start of the current idle spell: the last message, or the
         * moment the source last became ready. */
        double last_msg = ev_signals_now();
        enum ev_err err;
        size_t max, cnt;

        while (!ev_signals_stop_requested()) {
                char stats[512];

                ev_health_beat();
                ev_health_set_serving(source_ready(src));
                if (ev_ops_stats_due(cfg->stats_interval)) {
                        ev_pipeline_summary(&pl->stats, stats, sizeof(stats));
                        ev_log_pairs(EV_LOG_INFO, "Stats", stats);
                }
                max = BATCH_MAX;
                if (cfg->max_messages) {
                        unsigned long left =
                            cfg->max_messages - pl->stats.consumed;

                        if (!left)
                                break;
                        if (left < max)
                                max = left;
                }
                err = src->ops->poll(src, msgs, max, POLL_MS, &cnt, errstr,
                                     errstr_size);
                if (err)
                        return err;
                if (!cnt) {
                        /* A consumer still joining its group (waiting,
                         * say, for a killed member's session to time out)
                         * has had nothing yet to be idle about: exiting
                         * then would report done with a backlog waiting.
                         * The clock starts when it becomes ready. */
                        if (!source_ready(src)) {
                                last_msg = ev_signals_now();
                                continue;
                        }
                        if (cfg->idle_exit > 0 &&
                            ev_signals_now() - last_msg >= cfg->idle_exit) {
                                ev_log(EV_LOG_INFO,
                                       "no new message for %g s, exiting",
                                       cfg->idle_exit);
                                break;
                        }
                        continue;
                }
                last_msg = ev_signals_now();
                err = ev_pipeline_run(pl, src, msgs, cnt, errstr, errstr_size);
                if (err)
                        return err;
        }
        return EV_OK;
}

/* The threads that validate batches, as --validate-threads asks, each
 * with its jansson arena: the pool in *pool, NULL when one thread does. */
static enum ev_err open_pool(const struct ev_config *cfg,
                             struct ev_parallel **pool, char *errstr,
                             size_t errstr_size)
{
        unsigned long threads = cfg->validate_threads;
        long cpus;
        enum ev_err err;

        *pool = NULL;
        if (!threads) {
                cpus = sysconf(_SC_NPROCESSORS_ONLN);
                threads = cpus < 1                  ? 1
                          : cpus > AUTO_THREADS_MAX ? AUTO_THREADS_MAX
                                                    : (unsigned long)cpus;
        }
        err = ev_json_arena_init((unsigned)threads, ARENA_BYTES, errstr,
                                 errstr_size);
        if (err || threads == 1)
                return err;
        /* jansson picks its hash seed on first use; pick it now, before
         * the threads race to. */
        json_object_seed(0);
        err = ev_parallel_new(pool, (unsigned)threads, errstr, errstr_size);
        if (!err)
                ev_log(EV_LOG_DEBUG, "validating on %lu threads", threads);
        return err;
}

int main(int argc, char **argv)
{
        static char stdout_buf[1 << 16];
        struct ev_source *src = NULL;
        struct ev_httpd *httpd = NULL;
        struct ev_redactor *redactor = NULL;
        struct ev_parallel *pool = NULL;
        struct ev_sink *sinks[SINKS_MAX];
        size_t sink_cnt = 0, i;
        struct ev_pipeline pl;
        struct ev_config cfg;
        char errstr[512];
        char summary[512];
        char versions[128];
        char version[192];
        enum ev_err err, close_err;

        ev_transport_versions(versions, sizeof(versions));
        snprintf(version, sizeof(version), "event-consumer %s (%s)", EV_VERSION,
                 versions);
        if (!ev_config_load(&cfg, EV_ROLE_CONSUMER, "event-consumer", version,
                            argc, argv, &err))
                goto out;
        ev_signals_install();
        err = ev_ops_start(&cfg, versions, &httpd, errstr, sizeof(errstr));
        if (err) {
                ev_log(EV_LOG_ERROR, "%s", errstr);
                goto out;
        }
        /* Fully buffered even on a terminal: the pipeline flushes once per
         * batch, before acknowledging it. glibc ignores the size unless it
         * is also given the buffer. */
        setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));

        if (cfg.redact) {
                redactor =
                    ev_redactor_new(cfg.redact, &err, errstr, sizeof(errstr));
                if (!redactor) {
                        ev_log(EV_LOG_ERROR, "--redact: %s", errstr);
                        goto out;
                }
                ev_log(EV_LOG_INFO, "redacting %s%s%s in valid events",
                       cfg.redact & EV_CONFIG_REDACT_PHONE ? "phone numbers"
                                                           : "",
                       cfg.redact ==
                               (EV_CONFIG_REDACT_PHONE | EV_CONFIG_REDACT_EMAIL)
                           ? " and "
                           : "",
                       cfg.redact & EV_CONFIG_REDACT_EMAIL ? "e-mail addresses"
                                                           : "");
        }
        sink_cnt = open_sinks(&cfg, sinks, &err, errstr, sizeof(errstr));
        if (!sink_cnt) {
                ev_log(EV_LOG_ERROR, "%s", errstr);
                goto out;
        }
        src = ev_source_new(&cfg, &err, errstr, sizeof(errstr));
        if (!src) {
                ev_log(EV_LOG_ERROR, "%s", errstr);
                goto out;
        }
        if (cfg.transport == EV_TRANSPORT_PUBSUB)
                ev_log(EV_LOG_INFO,
                       "consuming subscription %s of project %s (Pub/Sub)",
                       cfg.subscription, cfg.project);
        else
                ev_log(EV_LOG_INFO, "consuming topic %s from %s as group %s",
                       cfg.topic, cfg.brokers, cfg.group);
        if (cfg.dlq_topic)
                ev_log(EV_LOG_INFO, "toxic messages go to dead-letter topic %s",
                       cfg.dlq_topic);
        err = open_pool(&cfg, &pool, errstr, sizeof(errstr));
        if (err) {
                ev_log(EV_LOG_ERROR, "%s", errstr);
                goto out;
        }
        ev_pipeline_init(&pl, sinks, sink_cnt, cfg.dlq_topic != NULL,
                         &cfg.rules, cfg.late_threshold, cfg.sink_timeout,
                         redactor, pool);
        err = consume(&cfg, src, &pl, errstr, sizeof(errstr));
        /* Dead letters or a sink's retries cut short by a stop request:
         * their batch was released and comes back; the stop itself went as
         * asked. */
        if (err == EV_ERR_TRANSIENT && ev_signals_stop_requested()) {
                ev_log(EV_LOG_WARN, "%s; stopping as asked", errstr);
                err = EV_OK;
        }
        if (err)
                ev_log(EV_LOG_ERROR, "%s%s", errstr,
                       err == EV_ERR_IO || pl.stats.unacknowledged
                           ? "; nothing more acknowledged, the rest will be "
                             "delivered again"
                           : "");
        /* Closing commits only what was acknowledged, also after a failed
         * write: the messages in hand were released unacknowledged. */
        close_err = src->ops->close(src, errstr, sizeof(errstr));
        if (close_err)
                ev_log(EV_LOG_WARN, "%s", errstr);
        ev_pipeline_summary(&pl.stats, summary, sizeof(summary));
        ev_log_pairs(EV_LOG_INFO, "Summary", summary);
        ev_pipeline_free(&pl);
out:
        ev_httpd_stop(httpd);
        for (i = 0; i < sink_cnt; i++)
                sinks[i]->ops->close(sinks[i]);
        ev_parallel_free(pool);
        ev_redactor_free(redactor);
        ev_config_free(&cfg);
        return ev_err_exit_code(err);
}
