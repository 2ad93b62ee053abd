/*
 * The dead-letter publisher and its retry loop. Owns the publisher and one
 * entry per dead letter of the batch in hand (its headers); borrows the
 * toxic messages themselves from the pipeline.
 */
#include "dlq.h"

#include <stdbool.h>
#include <stdint.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "log.h"
#include "metrics.h"
#include "signals.h"
#include "timefmt.h"

/* The pause before the first rewrite, doubled each time up to the cap. */
#define RETRY_FIRST_S 0.5
#define RETRY_MAX_S   8.0
/* How long one wait for confirmations lasts, bounding how late the
 * deadline or a stop request is noticed. */
#define WAIT_SLICE_MS 200
/* How long dead letters in flight may still be confirmed after a stop
 * request. */
#define STOP_GRACE_S 5.0

enum entry_state { ENTRY_IN_FLIGHT, ENTRY_CONFIRMED, ENTRY_FAILED };

/* Allocated one by one and reused from batch to batch, so that the header
 * pointers into buf stay put while the array of entries grows. */
struct entry {
        const struct ev_msg *msg; /* borrowed from the pipeline */
        struct ev_header hdrs[EV_DLQ_HEADERS_MAX];
        size_t hdr_cnt;
        char buf[EV_DLQ_HEADER_BYTES];
        enum entry_state state;
};

struct ev_dlq {
        struct ev_config cfg; /* the consumer's, aimed at the DLQ topic */
        struct ev_publisher *pub;
        struct entry **entries;
        /* A dead letter's id, its delivery report's opaque, is
         * batch_first + its index: reports from earlier batches (given
         * up, discarded) are told apart. */
        uintptr_t batch_first;
        size_t cnt;      /* entries of the batch in hand */
        size_t cap;      /* entries allocated */
        double deadline; /* the batch's: its first dead letter + timeout */
        bool failing;    /* a dead letter of the batch has failed */
        char last_error[256];
        unsigned long written;
};

size_t ev_dlq_headers(const struct ev_verdict *v, const struct ev_source *src,
                      const struct ev_msg *msg, int64_t now_ms,
                      struct ev_header *hdrs, char *buf)
{
        const size_t size = EV_DLQ_HEADER_BYTES;
        char detail[sizeof(v->detail) * EV_ESCAPE_MAX_RATIO];
        char when[EV_TIMEFMT_SIZE];
        size_t n = 0, off = 0;

        n = ev_origin_add(hdrs, n, "error.reason", buf, size, &off, "%s",
                          ev_reason_name(v->reason));
        /* The detail can quote the payload (jansson's "near '...'"): one
         * printable line, as in the stderr report, and valid UTF-8, which
         * Pub/Sub attributes must be. */
        ev_escape(v->detail, strnlen(v->detail, sizeof(v->detail)),
                  sizeof(v->detail), EV_ESCAPE_BACKSLASH, detail,
                  sizeof(detail));
        n = ev_origin_add(hdrs, n, "error.detail", buf, size, &off, "%s",
                          detail);
        if (v->reason == EV_REASON_NOT_JSON)
                n = ev_origin_add(hdrs, n, "error.position", buf, size, &off,
                                  "line=%d column=%d position=%d", v->line,
                                  v->column, v->position);
        if (ev_timefmt_rfc3339_ms(now_ms, when, sizeof(when)))
                n = ev_origin_add(hdrs, n, "error.time", buf, size, &off, "%s",
                                  when);
        if (off < size)
                n +=
                    src->ops->origin(src, msg, hdrs + n, buf + off, size - off);
        /* Kafka keys are bytes, and so is this header; a Pub/Sub key is an
         * attribute, text already. */
        if (msg->key) {
                hdrs[n].name = "source.key";
                hdrs[n].value = msg->key;
                hdrs[n].len = msg->key_len;
                n++;
        }
        return n;
}

static void on_delivery(void *opaque, const struct ev_delivery *dr)
{
        struct ev_dlq *d = opaque;
        uintptr_t i = (uintptr_t)dr->msg_opaque - d->batch_first;

        /* A report for a batch already confirmed, discarded or given up
         * (the subtraction wraps for those before this batch). */
        if (i >= d->cnt)
                return;
        d->entries[i]->state = dr->ok ? ENTRY_CONFIRMED : ENTRY_FAILED;
        if (dr->ok) {
                d->written++;
        } else {
                d->failing = true;
                ev_metrics_add(EV_C_DELIVERY_FAILED, 1);
                snprintf(d->last_error, sizeof(d->last_error), "%s", dr->error);
        }
}

/* True when topic is a librdkafka subscription pattern ("^log-.*") that
 * name matches (POSIX extended syntax, close to librdkafka's). */
static bool pattern_matches(const char *topic, const char *name)
{
        regex_t re;
        bool match;

        if (topic[0] != '^' || regcomp(&re, topic, REG_EXTENDED | REG_NOSUB))
                return false;
        match = !regexec(&re, name, 0, NULL, 0);
        regfree(&re);
        return match;
}

struct ev_dlq *ev_dlq_new(const struct ev_config *cfg, enum ev_err *err,
                          char *errstr, size_t errstr_size)
{
        const char *source = cfg->transport == EV_TRANSPORT_PUBSUB
                                 ? cfg->pubsub_topic
                                 : cfg->topic;
        struct ev_dlq *d;

        /* Each dead letter would come back as a toxic message, to be
         * dead-lettered again, forever. (On Pub/Sub the subscription's
         * own topic is checked by the source, which reads it.) */
        if (!strcmp(cfg->dlq_topic, source) ||
            (cfg->transport == EV_TRANSPORT_KAFKA &&
             pattern_matches(source, cfg->dlq_topic))) {
                *err = EV_ERR_USAGE;
                snprintf(errstr, errstr_size,
                         "DLQ_TOPIC/--dlq-topic is the topic consumed (or "
                         "matches its pattern); toxic messages would loop "
                         "through it");
                return NULL;
        }
        d = calloc(1, sizeof(*d));
        if (!d) {
                *err = EV_ERR_NOMEM;
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        d->cfg = *cfg;
        d->cfg.topic = cfg->dlq_topic;
        d->cfg.pubsub_topic = cfg->dlq_topic;
        d->cfg.subscription = cfg->dlq_topic;
        /* Only the field checks differ between the two roles' publishers;
         * the source's ordering has no meaning for dead letters. */
        d->cfg.ordering = false;
        d->pub =
            ev_publisher_new(&d->cfg, on_delivery, d, err, errstr, errstr_size);
        if (!d->pub) {
                free(d);
                return NULL;
        }
        return d;
}

/* Publishes entry i; a failure to queue it marks it failed, for the retry
 * loop, unless the publisher cannot go on at all. */
static enum ev_err publish(struct ev_dlq *d, size_t i, char *errstr,
                           size_t errstr_size)
{
        struct entry *e = d->entries[i];
        struct ev_out_msg out = {
            .payload = e->msg->payload,
            .len = e->msg->len,
            .key = e->msg->key,
            .key_len = e->msg->key_len,
            .headers = e->hdrs,
            .header_cnt = e->hdr_cnt,
            .opaque = (void *)(d->batch_first + i),
        };
        enum ev_err err;

        e->state = ENTRY_IN_FLIGHT;
        err = d->pub->ops->publish(d->pub, &out, errstr, errstr_size);
        if (err == EV_ERR_FATAL)
                return err;
        if (err) {
                d->failing = true;
                ev_metrics_add(EV_C_PUBLISH_ERRORS, 1);
                e->state = ENTRY_FAILED;
                snprintf(d->last_error, sizeof(d->last_error), "%s", errstr);
        }
        return EV_OK;
}

enum ev_err ev_dlq_add(struct ev_dlq *d, const struct ev_source *src,
                       const struct ev_msg *msg, const struct ev_verdict *v,
                       char *errstr, size_t errstr_size)
{
        struct entry *e;

        if (d->cnt == d->cap) {
                size_t cap = d->cap ? d->cap * 2 : 16;
                struct entry **grown =
                    realloc(d->entries, cap * sizeof(*grown));

                if (!grown)
                        goto nomem;
                memset(grown + d->cap, 0, (cap - d->cap) * sizeof(*grown));
                d->entries = grown;
                d->cap = cap;
        }
        if (!d->entries[d->cnt]) {
                d->entries[d->cnt] = malloc(sizeof(*e));
                if (!d->entries[d->cnt])
                        goto nomem;
        }
        if (!d->cnt) {
                d->deadline = ev_signals_now() + d->cfg.dlq_timeout;
                d->failing = false;
        }
        e = d->entries[d->cnt++];
        e->msg = msg;
        e->hdr_cnt =
            ev_dlq_headers(v, src, msg, ev_timefmt_now_ms(), e->hdrs, e->buf);
        /* Once one has failed, the rest wait for the retry loop: on
         * Pub/Sub a publish can block on a request retried for the whole
         * timeout, and each of them would again. */
        if (d->failing) {
                e->state = ENTRY_FAILED;
                return EV_OK;
        }
        return publish(d, d->cnt - 1, errstr, errstr_size);
nomem:
        snprintf(errstr, errstr_size, "out of memory for a dead letter");
        return EV_ERR_NOMEM;
}

/* Counts the entries in each state. */
static void tally(const struct ev_dlq *d, size_t *in_flight, size_t *failed)
{
        size_t i;

        *in_flight = *failed = 0;
        for (i = 0; i < d->cnt; i++) {
                if (d->entries[i]->state == ENTRY_IN_FLIGHT)
                        (*in_flight)++;
                else if (d->entries[i]->state == ENTRY_FAILED)
                        (*failed)++;
        }
}

/* Serves delivery reports until none is in flight or *until has passed,
 * leaving the counts (tally) at the end. A stop request brings *until to
 * within STOP_GRACE_S: what is in flight gets that long to be confirmed. */
static void wait_reports(struct ev_dlq *d, double *until, size_t *in_flight,
                         size_t *failed)
{
        double left;

        do {
                int ms;

                if (ev_signals_stop_requested() &&
                    *until > ev_signals_now() + STOP_GRACE_S)
                        *until = ev_signals_now() + STOP_GRACE_S;
                /* At least one slice, even past the deadline: a healthy
                 * broker's answer is not a timeout. */
                left = *until - ev_signals_now();
                ms = left * 1000 < 1 || left * 1000 > WAIT_SLICE_MS
                         ? WAIT_SLICE_MS
                         : (int)(left * 1000);
                d->pub->ops->flush(d->pub, ms);
                tally(d, in_flight, failed);
                /* Waiting on the broker is not being stuck. */
                ev_health_beat();
        } while (*in_flight && ev_signals_now() < *until);
}

/* Waits s seconds before a rewrite, in slices, so that a stop request is
 * seen and the loop counts as alive meanwhile. */
static void pause_for(struct ev_dlq *d, double s)
{
        double until = ev_signals_now() + s, left;

        while (!ev_signals_stop_requested() &&
               (left = until - ev_signals_now()) > 0) {
                d->pub->ops->poll(d->pub, left * 1000 < WAIT_SLICE_MS
                                              ? (int)(left * 1000) + 1
                                              : WAIT_SLICE_MS);
                ev_health_beat();
        }
}

enum ev_err ev_dlq_confirm(struct ev_dlq *d, char *errstr, size_t errstr_size)
{
        double deadline = d->deadline, pause = RETRY_FIRST_S, left;
        size_t in_flight, failed, i;
        enum ev_err err = EV_OK;

        for (;;) {
                wait_reports(d, &deadline, &in_flight, &failed);
                if (!in_flight && !failed)
                        goto out;
                /* After a stop request nothing is written again. */
                left = deadline - ev_signals_now();
                if (left <= 0 || ev_signals_stop_requested())
                        break;
                if (in_flight)
                        continue;
                if (pause > left)
                        pause = left;
                ev_log(EV_LOG_WARN,
                       "dead-letter topic %s: %zu of %zu dead letter(s) not "
                       "written (%s); retrying in %.1f s, nothing "
                       "acknowledged meanwhile (giving up in %.0f s)",
                       d->cfg.dlq_topic, failed, d->cnt, d->last_error, pause,
                       left);
                pause_for(d, pause);
                for (i = 0; i < d->cnt && !err; i++) {
                        if (d->entries[i]->state == ENTRY_FAILED)
                                err = publish(d, i, errstr, errstr_size);
                }
                if (err)
                        goto out;
                pause = pause * 2 > RETRY_MAX_S ? RETRY_MAX_S : pause * 2;
        }
        snprintf(errstr, errstr_size,
                 "dead-letter topic %s: %zu of %zu dead letter(s) not "
                 "confirmed %s (%s); their batch is not acknowledged",
                 d->cfg.dlq_topic, in_flight + failed, d->cnt,
                 ev_signals_stop_requested() ? "when the stop request came"
                                             : "within --dlq-timeout",
                 d->last_error[0] ? d->last_error
                                  : "no answer from the broker");
        err = EV_ERR_TRANSIENT;
out:
        ev_dlq_discard(d);
        d->last_error[0] = '\0';
        return err;
}

void ev_dlq_discard(struct ev_dlq *d)
{
        d->batch_first += d->cnt;
        d->cnt = 0;
}

unsigned long ev_dlq_written(const struct ev_dlq *d)
{
        return d->written;
}

void ev_dlq_free(struct ev_dlq *d)
{
        size_t i;

        if (!d)
                return;
        d->cnt = 0;
        d->pub->ops->destroy(d->pub);
        for (i = 0; i < d->cap; i++)
                free(d->entries[i]);
        free(d->entries);
        free(d);
}
