/*
 * event-producer: publishes the seed scenario (valid events, then malformed
 * payloads) or the lines of a file, and reports every delivery.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "generator.h"
#include "input.h"
#include "log.h"
#include "metrics.h"
#include "ops.h"
#include "signals.h"
#include "transport.h"

/* Longest single wait while pacing, so a stop request is seen quickly. */
#define PACE_SLICE_MS 100

struct tally {
        unsigned long queued;
        unsigned long delivered;
        unsigned long failed;
};

/* What to publish: the generator, or the lines of --input. */
struct feed {
        struct ev_generator gen;
        struct ev_input *in; /* NULL: use gen */
};

/* "Published message WHERE", a line on stdout: once per message, so one
 * locked write and no format to parse. */
static void print_published(const char *where)
{
        static const char head[] = "Published message ";
        char line[sizeof(head) + 128];
        size_t len = strlen(where);

        if (len > sizeof(line) - sizeof(head)) {
                printf("%s%s\n", head, where);
                return;
        }
        memcpy(line, head, sizeof(head) - 1);
        memcpy(line + sizeof(head) - 1, where, len);
        line[sizeof(head) - 1 + len] = '\n';
        fwrite(line, 1, sizeof(head) + len, stdout);
}

static void on_delivery(void *opaque, const struct ev_delivery *dr)
{
        struct tally *t = opaque;

        if (dr->ok) {
                t->delivered++;
                ev_metrics_add(EV_C_PRODUCED, 1);
                print_published(dr->where);
        } else {
                t->failed++;
                ev_metrics_add(EV_C_DELIVERY_FAILED, 1);
                ev_log(EV_LOG_ERROR, "delivery failed: %s", dr->error);
        }
}

static enum ev_err feed_next(struct feed *f, const char **payload, size_t *len,
                             const char **key, size_t *key_len, bool *done,
                             char *errstr, size_t errstr_size)
{
        if (!f->in) {
                *done = !ev_generator_next(&f->gen, payload, len, key, key_len);
                return EV_OK;
        }
        *key = NULL;
        *key_len = 0;
        return ev_input_next(f->in, payload, len, done, errstr, errstr_size);
}

/* Waits until message n is due at rate messages per second since start,
 * serving delivery reports meanwhile. */
static void pace(struct ev_publisher *pub, double start, unsigned long n,
                 double rate)
{
        double due = start + (double)n / rate;
        double left;

        while (!ev_signals_stop_requested() &&
               (left = due - ev_signals_now()) > 0) {
                int ms = (int)(left * 1000) + 1;

                ev_health_beat();

                pub->ops->poll(pub, ms < PACE_SLICE_MS ? ms : PACE_SLICE_MS);
        }
}

/* The counts so far, every --stats-interval. */
static void log_stats(const struct ev_config *cfg, const struct tally *t)
{
        char pairs[160];

        if (!ev_ops_stats_due(cfg->stats_interval))
                return;
        snprintf(pairs, sizeof(pairs), "queued=%lu delivered=%lu failed=%lu",
                 t->queued, t->delivered, t->failed);
        ev_log_pairs(EV_LOG_INFO, "Stats", pairs);
}

static enum ev_err produce(const struct ev_config *cfg, struct feed *f,
                           struct ev_publisher *pub, struct tally *t,
                           char *errstr, size_t errstr_size)
{
        double start = ev_signals_now();
        const char *payload, *key;
        size_t len, key_len;
        enum ev_err err;
        bool done;

        while (!ev_signals_stop_requested()) {
                ev_health_beat();
                log_stats(cfg, t);
                /* A quiet pipe: serve delivery reports (and send a
                 * Pub/Sub batch whose linger is over) while waiting. */
                if (f->in && !ev_input_ready(f->in, 0)) {
                        pub->ops->poll(pub, 0);
                        ev_input_ready(f->in, PACE_SLICE_MS);
                        continue;
                }
                err = feed_next(f, &payload, &len, &key, &key_len, &done,
                                errstr, errstr_size);
                if (err || done)
                        return err;
                if (cfg->rate > 0)
                        pace(pub, start, t->queued + t->failed, cfg->rate);
                if (ev_signals_stop_requested())
                        break;
                err = pub->ops->publish(pub,
                                        &(struct ev_out_msg){
                                            .payload = payload,
                                            .len = len,
                                            .key = key,
                                            .key_len = key_len,
                                        },
                                        errstr, errstr_size);
                if (err == EV_ERR_FATAL)
                        return err;
                if (err) {
                        /* This message only (too large, say): go on. */
                        t->failed++;
                        ev_metrics_add(EV_C_PUBLISH_ERRORS, 1);
                        ev_log(EV_LOG_ERROR, "%s %lu not published: %s",
                               f->in ? "line" : "message",
                               t->queued + t->failed, errstr);
                        continue;
                }
                t->queued++;
        }
        ev_log(EV_LOG_WARN, "interrupted: stopped after queueing %lu messages",
               t->queued);
        return EV_OK;
}

int main(int argc, char **argv)
{
        struct ev_publisher *pub = NULL;
        struct ev_httpd *httpd = NULL;
        struct tally t = {0, 0, 0};
        struct feed f = {.in = NULL};
        struct ev_config cfg;
        char errstr[512];
        char summary[160];
        char versions[128];
        char version[192];
        enum ev_err err;
        size_t undelivered = 0;

        ev_transport_versions(versions, sizeof(versions));
        snprintf(version, sizeof(version), "event-producer %s (%s)", EV_VERSION,
                 versions);
        if (!ev_config_load(&cfg, EV_ROLE_PRODUCER, "event-producer", version,
                            argc, argv, &err))
                goto out;
        ev_signals_install();
        err = ev_ops_start(&cfg, versions, &httpd, errstr, sizeof(errstr));
        if (err) {
                ev_log(EV_LOG_ERROR, "%s", errstr);
                goto out;
        }
        if (cfg.input) {
                f.in = ev_input_new(cfg.input, errstr, sizeof(errstr));
                if (!f.in) {
                        ev_log(EV_LOG_ERROR, "%s", errstr);
                        err = EV_ERR_IO;
                        goto out;
                }
        } else {
                ev_generator_init(&f.gen, cfg.count, cfg.malformed);
        }
        pub = ev_publisher_new(&cfg, on_delivery, &t, &err, errstr,
                               sizeof(errstr));
        if (!pub) {
                ev_log(EV_LOG_ERROR, "%s", errstr);
                goto out;
        }
        /* A producer holds no partitions: ready (/readyz) whenever its
         * publisher is connected. */
        ev_health_set_serving(true);
        err = produce(&cfg, &f, pub, &t, errstr, sizeof(errstr));
        if (err)
                ev_log(EV_LOG_ERROR, "%s", errstr);
        /* Capped at a day so the milliseconds fit an int. */
        undelivered = pub->ops->flush(
            pub, (int)(fmin(cfg.flush_timeout, 86400) * 1000 + 0.5));
        if (undelivered)
                ev_log(EV_LOG_ERROR,
                       "%zu messages not delivered within %g s, dropped",
                       undelivered, cfg.flush_timeout);
        fflush(stdout);
        snprintf(summary, sizeof(summary),
                 "queued=%lu delivered=%lu failed=%lu undelivered=%zu",
                 t.queued, t.delivered, t.failed, undelivered);
        ev_log_pairs(EV_LOG_INFO, "Summary", summary);
        if (!err && (t.failed || undelivered))
                err = EV_ERR_TRANSIENT;
out:
        ev_httpd_stop(httpd);
        if (pub)
                pub->ops->destroy(pub);
        ev_input_destroy(f.in);
        ev_config_free(&cfg);
        return ev_err_exit_code(err);
}
