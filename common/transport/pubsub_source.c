/*
 * The Pub/Sub source: pulls kept in flight on a curl multi handle, the
 * messages pulled and not yet settled, acknowledge and release, and the
 * lease thread that keeps their deadlines extended.
 */
#include "pubsub.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "log.h"
#include "metrics.h"
#include "pubsub_api.h"
#include "pubsub_client.h"
#include "signals.h"

/* Pulls return at once (see ev_pubsub_pull_body); a slot whose pull came
 * back empty waits before the next one, from IDLE_MIN_S doubling to
 * IDLE_MAX_S, so an idle consumer costs a few requests a second. */
#define IDLE_MIN_S 0.05
#define IDLE_MAX_S 1.0
/* How often the lease thread looks for deadlines to extend. */
#define LEASE_TICK_S 1.0

/* One pull answer: its messages share one allocation, freed when the last
 * of them is settled. Touched by the main thread only. */
struct answer {
        struct ev_pubsub_received *msgs;
        size_t cnt;
        size_t live;
};

/* A pulled message, from its pull until ack or release. Linked into the
 * source's lease list, under its mutex. */
struct held {
        const struct ev_pubsub_received *r; /* in answer */
        struct answer *answer;
        double expires; /* when the service redelivers it */
        double span;    /* the deadline last granted, s */
        struct held *prev, *next;
};

struct pull {
        struct ev_pubsub_conn conn;
        struct curl_slist *headers;
        struct ev_http_req req;
        bool busy;
        unsigned failures;
        double idle;       /* the wait after the last empty pull */
        double not_before; /* backoff after a failed or empty pull */
};

struct pubsub_source {
        struct ev_source base; /* first: the ops receive &base */
        struct ev_pubsub_client c;
        struct ev_pubsub_conn conn; /* acknowledge and release, main thread */
        CURLM *multi;
        struct pull *pulls;
        size_t pulls_cnt;
        char pull_url[EV_PUBSUB_URL_SIZE + 16];
        char pull_body[64];
        char auth[EV_GAPI_AUTH_SIZE];
        double deadline_s; /* the subscription's ack deadline */

        /* Pulled, not yet handed out: a FIFO of pointers. */
        struct held **queue;
        size_t q_head, q_len, q_cap;

        /* mu guards the lease list and stopping. send_mu is held by the
         * lease thread from choosing the messages to extend until the
         * service has the extension, and by ack and release while they
         * send theirs: a release (deadline 0) must never be overtaken by
         * an extension of the same message. */
        pthread_mutex_t mu;
        pthread_mutex_t send_mu;
        pthread_cond_t cv;
        struct held lease; /* list head: every held message */
        bool stopping;
        bool thread_started;
        pthread_t thread;
        struct ev_pubsub_conn lease_conn; /* the lease thread's own */
};

static void held_free(struct held *h)
{
        struct answer *a = h->answer;

        if (!--a->live) {
                ev_pubsub_received_free(a->msgs, a->cnt);
                free(a);
        }
        free(h);
}

static void lease_add(struct pubsub_source *ps, struct held *h)
{
        h->next = ps->lease.next;
        h->prev = &ps->lease;
        ps->lease.next->prev = h;
        ps->lease.next = h;
}

static void lease_remove(struct held *h)
{
        h->prev->next = h->next;
        h->next->prev = h->prev;
}

/*
 * Sends modifyAckDeadline (deadline_s >= 0) or acknowledge (deadline_s < 0)
 * for ack_ids, in requests of at most EV_PUBSUB_MAX_ACK_IDS. Returns the
 * first failure; the later requests are still sent.
 */
static enum ev_err send_ack_ids(struct pubsub_source *ps,
                                struct ev_pubsub_conn *cn,
                                const char *const *ack_ids, size_t cnt,
                                int deadline_s, char *errstr,
                                size_t errstr_size)
{
        struct ev_pubsub_body b = {0};
        const char *what = deadline_s < 0 ? "acknowledge" : "modifyAckDeadline";
        char url[EV_PUBSUB_URL_SIZE + 32];
        enum ev_err err, first = EV_OK;
        size_t off, n;

        snprintf(url, sizeof(url), "%s:%s", ps->c.sub_url, what);
        for (off = 0; off < cnt; off += n) {
                n = cnt - off;
                if (n > EV_PUBSUB_MAX_ACK_IDS)
                        n = EV_PUBSUB_MAX_ACK_IDS;
                err = ev_pubsub_ack_body(&b, ack_ids + off, n, deadline_s);
                if (!err)
                        err =
                            ev_pubsub_call(&ps->c, cn, what, "POST", url,
                                           b.data, b.len, errstr, errstr_size);
                else
                        snprintf(errstr, errstr_size, "out of memory");
                if (err && !first)
                        first = err;
        }
        ev_pubsub_body_free(&b);
        return first;
}

/* The ack ids of the held messages with less than half of their deadline
 * left, copied (ack and release may free the messages while we send), and
 * their deadlines moved on by extend. Called with mu held. */
static size_t due_for_extension(struct pubsub_source *ps, double extend,
                                char ***ids, size_t *cap)
{
        double now = ev_signals_now();
        size_t cnt = 0;
        struct held *h;

        for (h = ps->lease.next; h != &ps->lease; h = h->next) {
                if (h->expires - now > h->span / 2)
                        continue;
                if (cnt == *cap) {
                        size_t ncap = *cap ? 2 * *cap : 64;
                        char **nids = realloc(*ids, ncap * sizeof(**ids));

                        if (!nids)
                                break;
                        *ids = nids;
                        *cap = ncap;
                }
                (*ids)[cnt] = strdup(h->r->ack_id);
                if (!(*ids)[cnt])
                        break;
                cnt++;
                h->expires = now + extend;
                h->span = extend;
        }
        return cnt;
}

/* The lease thread: every LEASE_TICK_S, extends by cfg->ack_deadline the
 * deadline of each held message that has less than half of it left, so
 * that a slow batch (a blocked stdout) is not redelivered behind our back.
 */
static void *lease_main(void *arg)
{
        struct pubsub_source *ps = arg;
        double extend = (double)ps->c.cfg->ack_deadline;
        char **ids = NULL;
        size_t cap = 0, cnt;
        char errstr[512];
        struct timespec ts;
        bool stopping;

        do {
                pthread_mutex_lock(&ps->send_mu);
                pthread_mutex_lock(&ps->mu);
                cnt = due_for_extension(ps, extend, &ids, &cap);
                pthread_mutex_unlock(&ps->mu);
                if (cnt) {
                        ev_log(EV_LOG_DEBUG,
                               "pubsub: extending the deadline of %zu "
                               "message(s) to %g s",
                               cnt, extend);
                        if (send_ack_ids(ps, &ps->lease_conn,
                                         (const char *const *)ids, cnt,
                                         (int)extend, errstr, sizeof(errstr)))
                                ev_log(EV_LOG_WARN, "pubsub: %s", errstr);
                        while (cnt)
                                free(ids[--cnt]);
                }
                pthread_mutex_unlock(&ps->send_mu);

                pthread_mutex_lock(&ps->mu);
                if (!ps->stopping) {
                        clock_gettime(CLOCK_REALTIME, &ts);
                        ts.tv_sec += (time_t)LEASE_TICK_S;
                        pthread_cond_timedwait(&ps->cv, &ps->mu, &ts);
                }
                stopping = ps->stopping;
                pthread_mutex_unlock(&ps->mu);
        } while (!stopping);
        free(ids);
        return NULL;
}

static enum ev_err queue_push(struct pubsub_source *ps, struct held *h)
{
        if (ps->q_head + ps->q_len == ps->q_cap) {
                if (ps->q_head) {
                        memmove(ps->queue, ps->queue + ps->q_head,
                                ps->q_len * sizeof(*ps->queue));
                        ps->q_head = 0;
                } else {
                        size_t ncap = ps->q_cap ? 2 * ps->q_cap : 1024;
                        struct held **nq =
                            realloc(ps->queue, ncap * sizeof(*nq));

                        if (!nq)
                                return EV_ERR_NOMEM;
                        ps->queue = nq;
                        ps->q_cap = ncap;
                }
        }
        ps->queue[ps->q_head + ps->q_len++] = h;
        return EV_OK;
}

/* Takes the messages of one pull answer into the queue and the lease list,
 * and sets the slot's wait for an empty answer. */
static enum ev_err take_pulled(struct pubsub_source *ps, struct pull *p,
                               char *errstr, size_t errstr_size)
{
        double now = ev_signals_now();
        size_t skipped = 0, i;
        struct answer *a;
        enum ev_err err;

        a = calloc(1, sizeof(*a));
        if (!a) {
                snprintf(errstr, errstr_size, "out of memory");
                return EV_ERR_NOMEM;
        }
        err =
            ev_pubsub_parse_pull(p->conn.resp.body, p->conn.resp.len, &a->msgs,
                                 &a->cnt, &skipped, errstr, errstr_size);
        if (err)
                goto out;
        if (skipped)
                ev_log(EV_LOG_WARN,
                       "pubsub: %zu pulled message(s) without an ackId left "
                       "out",
                       skipped);
        for (i = 0; i < a->cnt; i++) {
                struct held *h = calloc(1, sizeof(*h));

                if (!h || queue_push(ps, h)) {
                        /* The rest is not held: the service delivers it
                         * again after its deadline. */
                        free(h);
                        snprintf(errstr, errstr_size, "out of memory");
                        err = EV_ERR_NOMEM;
                        goto out;
                }
                h->r = &a->msgs[i];
                h->answer = a;
                a->live++;
                h->expires = now + ps->deadline_s;
                h->span = ps->deadline_s;
                pthread_mutex_lock(&ps->mu);
                lease_add(ps, h);
                pthread_mutex_unlock(&ps->mu);
        }
        if (a->cnt) {
                ev_log(EV_LOG_DEBUG, "pubsub: pulled %zu message(s)", a->cnt);
                p->idle = 0;
        } else {
                p->idle = p->idle ? 2 * p->idle : IDLE_MIN_S;
                if (p->idle > IDLE_MAX_S)
                        p->idle = IDLE_MAX_S;
                p->not_before = now + p->idle;
        }
out:
        if (!a->live) {
                ev_pubsub_received_free(a->msgs, a->cnt);
                free(a);
        }
        return err;
}

static enum ev_err start_pull(struct pubsub_source *ps, struct pull *p,
                              char *errstr, size_t errstr_size)
{
        enum ev_err err;

        err = ev_gapi_authorize(&ps->c.api, ps->auth, errstr, errstr_size);
        if (err)
                return err;
        p->req.authorization = ps->auth[0] ? ps->auth : NULL;
        ev_http_headers_free(p->headers);
        p->headers = NULL;
        err = ev_http_prepare(p->conn.easy, &p->req, &p->conn.resp, &p->headers,
                              errstr, errstr_size);
        if (err)
                return err;
        curl_easy_setopt(p->conn.easy, CURLOPT_PRIVATE, p);
        if (curl_multi_add_handle(ps->multi, p->conn.easy) != CURLM_OK) {
                snprintf(errstr, errstr_size, "pull: curl_multi_add_handle");
                return EV_ERR_FATAL;
        }
        p->busy = true;
        return EV_OK;
}

/* After a failed pull: wait before the next one from this slot. */
static void pull_failed(struct pull *p, const char *why)
{
        double delay = ev_pubsub_backoff(p->failures++, ev_gapi_jitter());

        p->not_before = ev_signals_now() + delay;
        ev_health_set_connected(false);
        ev_log(EV_LOG_WARN, "pubsub: pull: %s; retrying in %.1f s", why, delay);
}

/* Handles every pull that has finished. EV_ERR_FATAL when the service
 * refuses pulls for good (the subscription was deleted, say). */
static enum ev_err reap_pulls(struct pubsub_source *ps, char *errstr,
                              size_t errstr_size)
{
        char why[512];
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(ps->multi, &left))) {
                struct pull *p;
                enum ev_err err, cls;

                if (m->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
                                  (char **)&p);
                curl_multi_remove_handle(ps->multi, m->easy_handle);
                p->busy = false;
                err = ev_http_finish(p->conn.easy, m->data.result, &p->req,
                                     &p->conn.resp, why, sizeof(why));
                cls = ev_pubsub_classify(err, p->conn.resp.status);
                if (!cls) {
                        err = take_pulled(ps, p, why, sizeof(why));
                        if (err == EV_ERR_NOMEM) {
                                snprintf(errstr, errstr_size, "pull: %s", why);
                                return err;
                        }
                        if (err) {
                                pull_failed(p, why);
                        } else {
                                p->failures = 0;
                                ev_health_set_connected(true);
                        }
                        continue;
                }
                if (!err)
                        ev_pubsub_error_text(
                            p->conn.resp.status, p->conn.resp.body,
                            p->conn.resp.len, why, sizeof(why));
                if (cls == EV_ERR_PERMANENT) {
                        snprintf(errstr, errstr_size,
                                 "pull from subscription %s: %s",
                                 ps->c.cfg->subscription, why);
                        return EV_ERR_FATAL;
                }
                pull_failed(p, why);
        }
        return EV_OK;
}

/* Starts a pull on every idle slot whose backoff is over. */
static enum ev_err fill_pulls(struct pubsub_source *ps, char *errstr,
                              size_t errstr_size)
{
        double now = ev_signals_now();
        char why[512];
        enum ev_err err;
        size_t i;

        for (i = 0; i < ps->pulls_cnt; i++) {
                struct pull *p = &ps->pulls[i];

                if (p->busy || p->not_before > now)
                        continue;
                err = start_pull(ps, p, why, sizeof(why));
                if (err == EV_ERR_TRANSIENT) {
                        pull_failed(p, why);
                } else if (err) {
                        snprintf(errstr, errstr_size, "pull: %s", why);
                        return err;
                }
        }
        return EV_OK;
}

static size_t hand_out(struct pubsub_source *ps, struct ev_msg *msgs,
                       size_t max)
{
        size_t n = 0;

        while (n < max && ps->q_len) {
                struct held *h = ps->queue[ps->q_head++];

                ps->q_len--;
                msgs[n].payload = h->r->data;
                msgs[n].len = h->r->len;
                msgs[n].key = h->r->key;
                msgs[n].key_len = h->r->key_len;
                msgs[n].handle = h;
                n++;
        }
        if (!ps->q_len)
                ps->q_head = 0;
        return n;
}

/*
 * Hands out pulled messages only while no pull is in flight. The service
 * starts a message's deadline when it sends the answer: an answer left
 * unread in a socket while the pipeline is blocked (a slow stdout) would
 * expire unseen, out of the lease thread's reach. So once messages are
 * queued no pull starts, pulls in flight are awaited (each within its
 * request timeout), and new pulls start only when the queue is empty;
 * they return at once, so the wait is one round trip per up to
 * pulls x pull-max messages.
 */
static enum ev_err source_poll(struct ev_source *src, struct ev_msg *msgs,
                               size_t max, int timeout_ms, size_t *cnt,
                               char *errstr, size_t errstr_size)
{
        struct pubsub_source *ps = (struct pubsub_source *)src;
        double until = ev_signals_now() + timeout_ms / 1000.0;
        enum ev_err err;
        int running = 0;
        double left;

        *cnt = 0;
        for (;;) {
                if (!running) {
                        *cnt = hand_out(ps, msgs, max);
                        if (*cnt)
                                return EV_OK;
                        if (until <= ev_signals_now() ||
                            ev_signals_stop_requested())
                                return EV_OK;
                        err = fill_pulls(ps, errstr, errstr_size);
                        if (err)
                                return err;
                }
                curl_multi_perform(ps->multi, &running);
                err = reap_pulls(ps, errstr, errstr_size);
                if (err)
                        return err;
                if (!running && ps->q_len)
                        continue;
                if (ev_signals_stop_requested())
                        return EV_OK;
                /* Waits for an answer, or for a slot's backoff to end, in
                 * slices short enough to notice a stop request. */
                left = running ? 0.1 : until - ev_signals_now();
                if (left > 0.1)
                        left = 0.1;
                if (left > 0)
                        curl_multi_poll(ps->multi, NULL, 0,
                                        (int)(left * 1000) + 1, NULL);
        }
}

static void source_describe(const struct ev_source *src,
                            const struct ev_msg *msg, char *buf, size_t size)
{
        const struct pubsub_source *ps = (const struct pubsub_source *)src;
        const struct held *h = msg->handle;

        snprintf(buf, size, "subscription=%s message_id=%s",
                 ps->c.cfg->subscription, h->r->message_id);
}

static size_t source_origin(const struct ev_source *src,
                            const struct ev_msg *msg, struct ev_header *hdrs,
                            char *buf, size_t size)
{
        const struct pubsub_source *ps = (const struct pubsub_source *)src;
        const struct held *h = msg->handle;
        size_t n = 0, off = 0;

        n = ev_origin_add(hdrs, n, "source.subscription", buf, size, &off, "%s",
                          ps->c.cfg->subscription);
        n = ev_origin_add(hdrs, n, "source.message_id", buf, size, &off, "%s",
                          h->r->message_id);
        if (h->r->publish_time)
                n = ev_origin_add(hdrs, n, "source.timestamp", buf, size, &off,
                                  "%s", h->r->publish_time);
        return n;
}

/* Acknowledges (deadline_s < 0) or hands back (0) msgs, then frees
 * them. */
static void settle(struct pubsub_source *ps, struct ev_msg *msgs, size_t cnt,
                   int deadline_s)
{
        const char **ids;
        char errstr[512];
        size_t i;

        if (!cnt)
                return;
        pthread_mutex_lock(&ps->send_mu);
        ids = malloc(cnt * sizeof(*ids));
        if (ids) {
                for (i = 0; i < cnt; i++)
                        ids[i] = ((struct held *)msgs[i].handle)->r->ack_id;
                if (send_ack_ids(ps, &ps->conn, ids, cnt, deadline_s, errstr,
                                 sizeof(errstr)))
                        ev_log(EV_LOG_WARN,
                               "pubsub: %s; the service will deliver these "
                               "%zu message(s) again",
                               errstr, cnt);
                free(ids);
        } else {
                ev_log(EV_LOG_WARN,
                       "pubsub: out of memory; %zu message(s) "
                       "will be delivered again",
                       cnt);
        }
        pthread_mutex_lock(&ps->mu);
        for (i = 0; i < cnt; i++)
                lease_remove(msgs[i].handle);
        pthread_mutex_unlock(&ps->mu);
        pthread_mutex_unlock(&ps->send_mu);
        for (i = 0; i < cnt; i++) {
                held_free(msgs[i].handle);
        }
}

static void source_ack(struct ev_source *src, struct ev_msg *msgs, size_t cnt)
{
        settle((struct pubsub_source *)src, msgs, cnt, -1);
}

static void source_release(struct ev_source *src, struct ev_msg *msgs,
                           size_t cnt)
{
        settle((struct pubsub_source *)src, msgs, cnt, 0);
}

/* Hands back what was pulled and never handed out, so that another
 * consumer gets it at once rather than after the deadline. */
static void release_queue(struct pubsub_source *ps)
{
        struct ev_msg *msgs;
        size_t n;

        if (!ps->q_len)
                return;
        msgs = malloc(ps->q_len * sizeof(*msgs));
        if (!msgs)
                return;
        n = hand_out(ps, msgs, ps->q_len);
        ev_log(EV_LOG_DEBUG, "pubsub: handing back %zu unprocessed message(s)",
               n);
        source_release(&ps->base, msgs, n);
        free(msgs);
}

static void source_free(struct pubsub_source *ps)
{
        struct held *h, *next;
        size_t i;

        if (ps->thread_started) {
                pthread_mutex_lock(&ps->mu);
                ps->stopping = true;
                pthread_cond_signal(&ps->cv);
                pthread_mutex_unlock(&ps->mu);
                pthread_join(ps->thread, NULL);
        }
        for (i = 0; i < ps->pulls_cnt; i++) {
                struct pull *p = &ps->pulls[i];

                if (p->busy)
                        curl_multi_remove_handle(ps->multi, p->conn.easy);
                ev_http_headers_free(p->headers);
                ev_pubsub_conn_free(&p->conn);
        }
        free(ps->pulls);
        if (ps->multi)
                curl_multi_cleanup(ps->multi);
        for (h = ps->lease.next; h && h != &ps->lease; h = next) {
                next = h->next;
                held_free(h);
        }
        free(ps->queue);
        ev_pubsub_conn_free(&ps->conn);
        ev_pubsub_conn_free(&ps->lease_conn);
        pthread_cond_destroy(&ps->cv);
        pthread_mutex_destroy(&ps->send_mu);
        pthread_mutex_destroy(&ps->mu);
        ev_pubsub_client_free(&ps->c);
        free(ps);
}

static enum ev_err source_close(struct ev_source *src, char *errstr,
                                size_t errstr_size)
{
        struct pubsub_source *ps = (struct pubsub_source *)src;
        int running;

        (void)errstr;
        (void)errstr_size;
        if (!ps)
                return EV_OK;
        /* Answers that have already arrived are taken and handed back too;
         * pulls still waiting are cut off. */
        curl_multi_perform(ps->multi, &running);
        if (reap_pulls(ps, errstr, errstr_size))
                ev_log(EV_LOG_DEBUG, "pubsub: %s", errstr);
        release_queue(ps);
        source_free(ps);
        return EV_OK;
}

static const struct ev_source_ops pubsub_source_ops = {
    .poll = source_poll,
    .describe = source_describe,
    .origin = source_origin,
    .ack = source_ack,
    .release = source_release,
    .close = source_close,
    /* No .ready: a subscription has no membership to join, and the
     * constructor has already checked that it answers. */
};

/* The subscription's ack deadline, from its description; ours when the
 * answer has none. */
static double read_deadline(json_t *sub, double fallback)
{
        json_t *d = json_object_get(sub, "ackDeadlineSeconds"); /* borrowed */
        double s = json_is_integer(d) ? (double)json_integer_value(d) : 0;

        return s >= EV_PUBSUB_MIN_ACK_DEADLINE ? s : fallback;
}

/* EV_ERR_USAGE when the subscription (its description sub) is on the
 * dead-letter topic: each dead letter would come back toxic, to be
 * dead-lettered again, forever. */
static enum ev_err check_not_dead_letter(const struct ev_config *cfg,
                                         json_t *sub, char *errstr,
                                         size_t errstr_size)
{
        json_t *topic = json_object_get(sub, "topic"); /* borrowed */
        char path[EV_PUBSUB_URL_SIZE];

        if (!cfg->dlq_topic)
                return EV_OK;
        snprintf(path, sizeof(path), "projects/%s/topics/%s", cfg->project,
                 cfg->dlq_topic);
        if (!json_is_string(topic) || strcmp(json_string_value(topic), path))
                return EV_OK;
        snprintf(errstr, errstr_size,
                 "subscription %s is on %s, the dead-letter topic "
                 "(DLQ_TOPIC/--dlq-topic); toxic messages would loop through "
                 "it",
                 cfg->subscription, path);
        return EV_ERR_USAGE;
}

/* Starts the lease thread with SIGINT and SIGTERM blocked, so that they
 * reach the main thread and cut its waits short. */
static enum ev_err start_lease_thread(struct pubsub_source *ps, char *errstr,
                                      size_t errstr_size)
{
        sigset_t old;
        int rc;

        ev_signals_block_stop(&old);
        rc = pthread_create(&ps->thread, NULL, lease_main, ps);
        ev_signals_restore(&old);
        if (rc) {
                snprintf(errstr, errstr_size, "starting the lease thread: %s",
                         strerror(rc));
                return EV_ERR_FATAL;
        }
        ps->thread_started = true;
        return EV_OK;
}

struct ev_source *ev_pubsub_source_new(const struct ev_config *cfg,
                                       enum ev_err *err, char *errstr,
                                       size_t errstr_size)
{
        struct pubsub_source *ps;
        json_t *sub;
        size_t i;

        ps = calloc(1, sizeof(*ps));
        if (!ps) {
                *err = EV_ERR_NOMEM;
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        ps->base.ops = &pubsub_source_ops;
        ps->lease.next = ps->lease.prev = &ps->lease;
        pthread_mutex_init(&ps->mu, NULL);
        pthread_mutex_init(&ps->send_mu, NULL);
        pthread_cond_init(&ps->cv, NULL);
        *err = ev_pubsub_client_init(&ps->c, cfg, errstr, errstr_size);
        if (*err)
                goto err;
        *err = ev_pubsub_conn_init(&ps->conn, errstr, errstr_size);
        if (!*err)
                *err =
                    ev_pubsub_conn_init(&ps->lease_conn, errstr, errstr_size);
        if (*err)
                goto err;
        *err = ev_pubsub_client_ready(&ps->c, &ps->conn, true, errstr,
                                      errstr_size);
        if (*err)
                goto err;
        /* The check's answer: the subscription's description. */
        sub = json_loadb(ps->conn.resp.body, ps->conn.resp.len, 0, NULL);
        ps->deadline_s = read_deadline(sub, (double)cfg->ack_deadline);
        *err = check_not_dead_letter(cfg, sub, errstr, errstr_size);
        json_decref(sub);
        if (*err)
                goto err;

        snprintf(ps->pull_url, sizeof(ps->pull_url), "%s:pull", ps->c.sub_url);
        ev_pubsub_pull_body(ps->pull_body, sizeof(ps->pull_body),
                            cfg->pull_max);
        ps->multi = curl_multi_init();
        ps->pulls = calloc(cfg->pulls, sizeof(*ps->pulls));
        if (!ps->multi || !ps->pulls) {
                *err = EV_ERR_NOMEM;
                snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        ps->pulls_cnt = cfg->pulls;
        for (i = 0; i < ps->pulls_cnt; i++) {
                struct pull *p = &ps->pulls[i];

                *err = ev_pubsub_conn_init(&p->conn, errstr, errstr_size);
                if (*err)
                        goto err;
                p->req.method = "POST";
                p->req.url = ps->pull_url;
                p->req.body = ps->pull_body;
                p->req.body_len = strlen(ps->pull_body);
                p->req.timeout_s = cfg->request_timeout;
        }
        *err = start_lease_thread(ps, errstr, errstr_size);
        if (*err)
                goto err;
        return &ps->base;
err:
        source_free(ps);
        return NULL;
}
