/*
 * The firestore sink: a batch's valid events as documents
 * tenants/{tenant}/processed_logs/{id}, in :commit requests of up to 500
 * writes (firestore_api.h encodes them, firestore_client.h sends them).
 * Owns the client, the batch's encoded writes and the request body;
 * borrows the config and, between write and flush, the batch.
 */
#include <stdlib.h>
#include <string.h>

#include "firestore_api.h"
#include "firestore_client.h"
#include "log.h"
#include "metrics.h"
#include "sink.h"
#include "timefmt.h"

/* How long one commit is retried inside the sink before it answers RETRY
 * and the pipeline takes over, pausing between whole tries up to
 * --sink-timeout: short, so that an outage shows in the pipeline's log
 * and in /readyz. */
#define RETRY_BUDGET_S 10.0

struct fs_sink {
        struct ev_sink sink;
        const struct ev_config *cfg;
        struct ev_firestore_client *fc;
        struct ev_pubsub_body writes; /* the batch's, one after another */
        struct ev_firestore_span *spans;
        size_t span_cnt;
        size_t span_cap;
        struct ev_pubsub_body commit; /* one request's body */
        unsigned long skipped;        /* events of the batch left out */
};

/* Where msg came from, from src's origin headers, with the strings in
 * buf. */
static void origin_of(const struct ev_source *src, const struct ev_msg *msg,
                      struct ev_firestore_origin *o, char *buf, size_t size)
{
        struct ev_header hdrs[EV_ORIGIN_HEADERS_MAX];
        size_t n = src->ops->origin(src, msg, hdrs, buf, size), i;

        memset(o, 0, sizeof(*o));
        o->transport = "kafka";
        /* ev_origin_add ends each value with a NUL. */
        for (i = 0; i < n; i++) {
                const char *v = hdrs[i].value;

                if (!strcmp(hdrs[i].name, "source.topic")) {
                        o->topic = v;
                } else if (!strcmp(hdrs[i].name, "source.partition")) {
                        o->partition = strtoll(v, NULL, 10);
                } else if (!strcmp(hdrs[i].name, "source.offset")) {
                        o->offset = strtoll(v, NULL, 10);
                } else if (!strcmp(hdrs[i].name, "source.subscription")) {
                        o->transport = "pubsub";
                        o->subscription = v;
                } else if (!strcmp(hdrs[i].name, "source.message_id")) {
                        o->message_id = v;
                }
        }
}

static bool reserve_spans(struct fs_sink *s, size_t cnt)
{
        struct ev_firestore_span *spans;

        if (cnt <= s->span_cap)
                return true;
        spans = realloc(s->spans, cnt * sizeof(*spans));
        if (!spans)
                return false;
        s->spans = spans;
        s->span_cap = cnt;
        return true;
}

static enum ev_sink_result fs_write(struct ev_sink *sink,
                                    const struct ev_sink_batch *batch,
                                    enum ev_err *err, char *errstr,
                                    size_t errstr_size)
{
        struct fs_sink *s = (struct fs_sink *)sink;
        const char *database = ev_firestore_client_database(s->fc);
        /* Every document of a try gets the same time: when it was sent. */
        int64_t now_ms = ev_timefmt_now_ms();
        struct ev_firestore_event ev;
        /* Room for every origin header: one left out would be missing
         * from source_location, or from the id it makes. */
        char where[1024], why[512];
        size_t i;

        ev_pubsub_body_reset(&s->writes);
        s->span_cnt = 0;
        s->skipped = 0;
        if (!reserve_spans(s, batch->cnt)) {
                snprintf(errstr, errstr_size, "out of memory for a batch");
                *err = EV_ERR_NOMEM;
                return EV_SINK_ERROR;
        }
        for (i = 0; i < batch->cnt; i++) {
                const struct ev_sink_item *item = &batch->items[i];

                /* A toxic message is reported (and dead-lettered)
                 * elsewhere; a tombstone names no document. */
                if (item->kind != EV_SINK_VALID)
                        continue;
                origin_of(batch->src, item->msg, &ev.origin, where,
                          sizeof(where));
                ev.root = item->root;
                ev.original = item->original_message;
                *err = ev_firestore_add_write(
                    &s->writes, database, s->cfg->firestore_default_tenant, &ev,
                    now_ms, &s->spans[s->span_cnt], why, sizeof(why));
                if (!*err) {
                        s->span_cnt++;
                        continue;
                }
                if (*err == EV_ERR_NOMEM) {
                        snprintf(errstr, errstr_size,
                                 "out of memory for a batch's documents");
                        return EV_SINK_ERROR;
                }
                batch->src->ops->describe(batch->src, item->msg, where,
                                          sizeof(where));
                ev_log(EV_LOG_ERROR,
                       "firestore sink: skipping the event at %s: %s", where,
                       why);
                s->skipped++;
        }
        *err = EV_OK;
        s->span_cnt = ev_firestore_dedupe(&s->writes, s->spans, s->span_cnt);
        return EV_SINK_OK;
}

/* The batch's writes in as few commits as the service takes. A commit
 * that went through before a later one failed is written again on the
 * next try: the same documents, overwritten. */
static enum ev_sink_result fs_flush(struct ev_sink *sink, enum ev_err *err,
                                    char *errstr, size_t errstr_size)
{
        struct fs_sink *s = (struct fs_sink *)sink;
        size_t done = 0, n;

        *err = EV_OK;
        while (done < s->span_cnt) {
                n = ev_firestore_commit_body(&s->commit, &s->writes,
                                             s->spans + done,
                                             s->span_cnt - done);
                if (!n) {
                        snprintf(errstr, errstr_size,
                                 "out of memory for a commit");
                        *err = EV_ERR_NOMEM;
                        return EV_SINK_ERROR;
                }
                *err = ev_firestore_client_commit(s->fc, s->commit.data,
                                                  s->commit.len, n, errstr,
                                                  errstr_size);
                if (*err == EV_ERR_TRANSIENT)
                        return EV_SINK_RETRY;
                if (*err)
                        return EV_SINK_ERROR;
                done += n;
        }
        ev_metrics_add(EV_C_SINK_ROWS, s->span_cnt);
        ev_metrics_add(EV_C_SINK_SKIPPED, s->skipped);
        return EV_SINK_OK;
}

static void fs_close(struct ev_sink *sink)
{
        struct fs_sink *s = (struct fs_sink *)sink;

        if (!s)
                return;
        ev_firestore_client_destroy(s->fc);
        ev_pubsub_body_free(&s->writes);
        ev_pubsub_body_free(&s->commit);
        free(s->spans);
        free(s);
}

static const struct ev_sink_ops fs_ops = {
    .name = "firestore",
    .wants_events = true,
    .write = fs_write,
    .flush = fs_flush,
    .close = fs_close,
};

struct ev_sink *ev_sink_firestore_new(const struct ev_config *cfg,
                                      enum ev_err *err, char *errstr,
                                      size_t errstr_size)
{
        const char *tenant = cfg->firestore_default_tenant;
        double budget = cfg->sink_timeout < RETRY_BUDGET_S ? cfg->sink_timeout
                                                           : RETRY_BUDGET_S;
        struct fs_sink *s;

        if (!ev_firestore_valid_tenant(tenant, strlen(tenant))) {
                snprintf(errstr, errstr_size,
                         "invalid tenant id '%s' for FIRESTORE_DEFAULT_TENANT/"
                         "--firestore-default-tenant: 1 to 64 of A-Z a-z 0-9 "
                         "_ -, not __*__",
                         tenant);
                *err = EV_ERR_USAGE;
                return NULL;
        }
        s = calloc(1, sizeof(*s));
        if (!s) {
                snprintf(errstr, errstr_size, "out of memory");
                *err = EV_ERR_NOMEM;
                return NULL;
        }
        s->sink.ops = &fs_ops;
        s->cfg = cfg;
        s->fc = ev_firestore_client_new(cfg, budget, err, errstr, errstr_size);
        if (!s->fc) {
                fs_close(&s->sink);
                return NULL;
        }
        return &s->sink;
}
