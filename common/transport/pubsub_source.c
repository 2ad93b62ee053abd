/*
 * The Pub/Sub source: an I/O thread that keeps pulls and acknowledgements
 * in flight together on a curl multi handle, the messages pulled and not
 * yet settled, release, and the lease thread that keeps their deadlines
 * extended.
 *
 * Three threads: the main thread polls (takes pulled messages from the
 * queue), acknowledges (hands the ack ids to the I/O thread and goes on)
 * and releases (synchronously, rare). The I/O thread pulls while fewer
 * than pulls x pull-max messages wait in the queue, reads every answer as
 * it arrives (so that no message's deadline runs out unseen in a socket),
 * and sends the acknowledgements the main thread handed it, one request
 * at a time, each holding everything that piled up meanwhile. The lease
 * thread extends the deadlines of the held messages.
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
/* The longest a thread sleeps before it looks at its stop flag again. */
#define WAIT_SLICE_S 0.1
/* How long a stopping source waits for the pulls in flight (which return
 * at once from a healthy service), so that what they bring is handed back
 * rather than left to sit out its deadline; then they are cut off. */
#define STOP_PULLS_S 5.0

/* One pull answer: its messages share one allocation, freed when the last
 * of them is settled. Made by the I/O thread, then touched by the main
 * thread only. */
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

/* The I/O thread's acknowledge request: the ids it took (taken), of which
 * those before next are in the request in flight or done. */
struct acker {
        struct ev_pubsub_conn conn;
        struct curl_slist *headers;
        struct ev_http_req req;
        struct ev_pubsub_body body; /* the request in flight, or to retry */
        size_t body_cnt;            /* its ids; 0: no request */
        /* Ack ids, each with its NUL, one after the other (msgs counts
         * them): copied out of the messages, which are freed at once. */
        struct ev_pubsub_body taken;
        size_t next; /* byte offset in taken of the first id not in body */
        const char **ptrs; /* scratch for ev_pubsub_ack_body */
        bool busy;
        unsigned failures;
        double give_up;    /* when a failing request is dropped */
        double not_before; /* backoff after a failed request */
        char url[EV_PUBSUB_URL_SIZE + 32];
};

struct pubsub_source {
        struct ev_source base; /* first: the ops receive &base */
        struct ev_pubsub_client c;
        struct ev_pubsub_conn conn; /* release, main thread */
        CURLM *multi;               /* the I/O thread's */
        struct pull *pulls;
        size_t pulls_cnt;
        char pull_url[EV_PUBSUB_URL_SIZE + 16];
        char pull_body[64];
        char auth[EV_GAPI_AUTH_SIZE]; /* the I/O thread's */
        double deadline_s;            /* the subscription's ack deadline */
        size_t prefetch;              /* pulls start while fewer are queued */
        struct acker ack;             /* the I/O thread's */

        /* Pulled, not yet handed out: a FIFO of pointers. Under mu. */
        struct held **queue;
        size_t q_head, q_len, q_cap;

        /* mu guards the lease list, the queue, pending, the I/O thread's
         * error and both stop flags. send_mu is held by the lease thread
         * from choosing the messages to extend until the service has the
         * extension, and by release while it sends its own: a release
         * (deadline 0) must never be overtaken by an extension of the
         * same message. An acknowledgement may be: extending a message
         * acknowledged meanwhile does nothing. */
        pthread_mutex_t mu;
        pthread_mutex_t send_mu;
        pthread_cond_t cv;             /* wakes the lease thread */
        pthread_cond_t ready;          /* messages queued, or io_err set */
        struct held lease;             /* list head: every held message */
        struct ev_pubsub_body pending; /* acknowledged, not yet taken to
                                        * send: as acker.taken */
        bool stopping;
        bool thread_started;
        pthread_t thread;
        struct ev_pubsub_conn lease_conn; /* the lease thread's own */

        bool io_stopping;
        bool io_started;
        pthread_t io_thread;
        enum ev_err io_err; /* pulls ended for good: poll returns it */
        char io_errstr[768];
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
 * and sets the slot's wait for an empty answer. The answer is read before
 * mu is taken, so that the main thread is not held up meanwhile. */
static enum ev_err take_pulled(struct pubsub_source *ps, struct pull *p,
                               char *errstr, size_t errstr_size)
{
        double now = ev_signals_now();
        size_t skipped = 0, i, cnt;
        struct answer *a;
        enum ev_err err;
        bool unused;

        a = calloc(1, sizeof(*a));
        if (!a) {
                snprintf(errstr, errstr_size, "out of memory");
                return EV_ERR_NOMEM;
        }
        err =
            ev_pubsub_parse_pull(p->conn.resp.body, p->conn.resp.len, &a->msgs,
                                 &a->cnt, &skipped, errstr, errstr_size);
        if (err) {
                free(a);
                return err;
        }
        if (skipped)
                ev_log(EV_LOG_WARN,
                       "pubsub: %zu pulled message(s) without an ackId left "
                       "out",
                       skipped);
        pthread_mutex_lock(&ps->mu);
        for (i = 0; i < a->cnt; i++) {
                struct held *h = calloc(1, sizeof(*h));

                if (!h || queue_push(ps, h)) {
                        /* The rest is not held: the service delivers it
                         * again after its deadline. */
                        free(h);
                        snprintf(errstr, errstr_size, "out of memory");
                        err = EV_ERR_NOMEM;
                        break;
                }
                h->r = &a->msgs[i];
                h->answer = a;
                a->live++;
                h->expires = now + ps->deadline_s;
                h->span = ps->deadline_s;
                lease_add(ps, h);
        }
        /* Once mu is let go, the main thread may settle them all and free
         * a: what is left to do with it is decided here. */
        cnt = a->cnt;
        unused = !a->live;
        if (!unused)
                pthread_cond_signal(&ps->ready);
        pthread_mutex_unlock(&ps->mu);
        if (cnt) {
                ev_log(EV_LOG_DEBUG, "pubsub: pulled %zu message(s)", cnt);
                p->idle = 0;
        } else {
                p->idle = p->idle ? 2 * p->idle : IDLE_MIN_S;
                if (p->idle > IDLE_MAX_S)
                        p->idle = IDLE_MAX_S;
                p->not_before = now + p->idle;
        }
        if (unused) {
                ev_pubsub_received_free(a->msgs, a->cnt);
                free(a);
        }
        return err;
}

/* Hands the transfer of easy to the I/O thread's multi handle. */
static enum ev_err start_transfer(struct pubsub_source *ps,
                                  struct ev_pubsub_conn *conn,
                                  struct ev_http_req *req,
                                  struct curl_slist **headers, void *owner,
                                  char *errstr, size_t errstr_size)
{
        enum ev_err err;

        err = ev_gapi_authorize(&ps->c.api, ps->auth, errstr, errstr_size);
        if (err)
                return err;
        req->authorization = ps->auth[0] ? ps->auth : NULL;
        ev_http_headers_free(*headers);
        *headers = NULL;
        err = ev_http_prepare(conn->easy, req, &conn->resp, headers, errstr,
                              errstr_size);
        if (err)
                return err;
        curl_easy_setopt(conn->easy, CURLOPT_PRIVATE, owner);
        if (curl_multi_add_handle(ps->multi, conn->easy) != CURLM_OK) {
                snprintf(errstr, errstr_size, "curl_multi_add_handle failed");
                return EV_ERR_FATAL;
        }
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

/* Pulls end for good: poll returns err with errstr once the queue is
 * empty. */
static void io_fail(struct pubsub_source *ps, enum ev_err err,
                    const char *errstr)
{
        pthread_mutex_lock(&ps->mu);
        if (!ps->io_err) {
                ps->io_err = err;
                snprintf(ps->io_errstr, sizeof(ps->io_errstr), "%s", errstr);
        }
        pthread_cond_signal(&ps->ready);
        pthread_mutex_unlock(&ps->mu);
}

/* A pull has finished with cc. Pulls stop for good (io_fail) when the
 * service refuses them for good (the subscription was deleted, say) or
 * memory runs out. */
static void pull_done(struct pubsub_source *ps, struct pull *p, CURLcode cc)
{
        char why[512], errstr[700];
        enum ev_err err, cls;

        p->busy = false;
        err = ev_http_finish(p->conn.easy, cc, &p->req, &p->conn.resp, why,
                             sizeof(why));
        cls = ev_pubsub_classify(err, p->conn.resp.status);
        if (!cls) {
                err = take_pulled(ps, p, why, sizeof(why));
                if (err == EV_ERR_NOMEM) {
                        snprintf(errstr, sizeof(errstr), "pull: %s", why);
                        io_fail(ps, err, errstr);
                } else if (err) {
                        pull_failed(p, why);
                } else {
                        p->failures = 0;
                        ev_health_set_connected(true);
                }
                return;
        }
        if (!err)
                ev_pubsub_error_text(p->conn.resp.status, p->conn.resp.body,
                                     p->conn.resp.len, why, sizeof(why));
        if (cls == EV_ERR_PERMANENT) {
                snprintf(errstr, sizeof(errstr),
                         "pull from subscription %s: %s",
                         ps->c.cfg->subscription, why);
                io_fail(ps, EV_ERR_FATAL, errstr);
                return;
        }
        pull_failed(p, why);
}

/* Starts a pull on every idle slot whose backoff is over. */
static void fill_pulls(struct pubsub_source *ps, double now)
{
        char why[512], errstr[700];
        enum ev_err err;
        size_t i;

        for (i = 0; i < ps->pulls_cnt; i++) {
                struct pull *p = &ps->pulls[i];

                if (p->busy || p->not_before > now)
                        continue;
                err = start_transfer(ps, &p->conn, &p->req, &p->headers, p, why,
                                     sizeof(why));
                if (!err) {
                        p->busy = true;
                } else if (err == EV_ERR_TRANSIENT) {
                        pull_failed(p, why);
                } else {
                        snprintf(errstr, sizeof(errstr), "pull: %s", why);
                        io_fail(ps, err, errstr);
                        return;
                }
        }
}

/* Builds the next acknowledge request from what the I/O thread took, or
 * takes what piled up in pending first. False when there is nothing to
 * send. */
static bool ack_next_body(struct pubsub_source *ps)
{
        struct acker *k = &ps->ack;
        size_t n = 0;

        if (k->next == k->taken.len) {
                struct ev_pubsub_body t;

                ev_pubsub_body_reset(&k->taken);
                k->next = 0;
                pthread_mutex_lock(&ps->mu);
                t = ps->pending;
                ps->pending = k->taken;
                pthread_mutex_unlock(&ps->mu);
                k->taken = t;
                if (!k->taken.msgs)
                        return false;
        }
        while (n < EV_PUBSUB_MAX_ACK_IDS && k->next < k->taken.len) {
                k->ptrs[n++] = k->taken.data + k->next;
                k->next += strlen(k->taken.data + k->next) + 1;
        }
        if (ev_pubsub_ack_body(&k->body, k->ptrs, n, -1)) {
                ev_log(EV_LOG_WARN,
                       "pubsub: out of memory; %zu acknowledged message(s) "
                       "will be delivered again",
                       n);
                return false;
        }
        k->body_cnt = n;
        k->failures = 0;
        k->give_up = ev_signals_now() + ps->c.api.retry_budget;
        k->req.body = k->body.data;
        k->req.body_len = k->body.len;
        return true;
}

/* The acknowledge request failed (cls): retried after a backoff while
 * the failure is transient and the retry budget lasts, else given up, its
 * messages then delivered again after their deadline. */
static void ack_failed(struct acker *k, enum ev_err cls, const char *why)
{
        double delay = ev_pubsub_backoff(k->failures++, ev_gapi_jitter());

        if (cls != EV_ERR_TRANSIENT || ev_signals_now() + delay > k->give_up) {
                ev_log(EV_LOG_WARN,
                       "pubsub: acknowledge: %s; the service will deliver "
                       "these %zu message(s) again",
                       why, k->body_cnt);
                k->body_cnt = 0;
                return;
        }
        ev_log(EV_LOG_DEBUG, "pubsub: acknowledge: %s; retrying in %.1f s", why,
               delay);
        k->not_before = ev_signals_now() + delay;
}

/* Starts the next acknowledge request when none is in flight, its
 * backoff is over and there is something to send. */
static void ack_start(struct pubsub_source *ps, double now)
{
        struct acker *k = &ps->ack;
        enum ev_err err;
        char why[512];

        if (k->busy || k->not_before > now)
                return;
        if (!k->body_cnt && !ack_next_body(ps))
                return;
        err = start_transfer(ps, &k->conn, &k->req, &k->headers, k, why,
                             sizeof(why));
        if (err)
                ack_failed(k, err, why);
        else
                k->busy = true;
}

/* An acknowledge request has finished with cc. */
static void ack_done(struct pubsub_source *ps, CURLcode cc)
{
        struct acker *k = &ps->ack;
        enum ev_err err, cls;
        char why[512];

        k->busy = false;
        err = ev_http_finish(k->conn.easy, cc, &k->req, &k->conn.resp, why,
                             sizeof(why));
        cls = ev_pubsub_classify(err, k->conn.resp.status);
        if (!cls) {
                k->body_cnt = 0;
                return;
        }
        if (!err)
                ev_pubsub_error_text(k->conn.resp.status, k->conn.resp.body,
                                     k->conn.resp.len, why, sizeof(why));
        ack_failed(k, cls, why);
}

/* Handles every transfer that has finished. */
static void reap(struct pubsub_source *ps)
{
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(ps->multi, &left))) {
                CURL *easy = m->easy_handle;
                CURLcode cc = m->data.result;
                void *owner;

                if (m->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&owner);
                curl_multi_remove_handle(ps->multi, easy);
                if (owner == &ps->ack)
                        ack_done(ps, cc);
                else
                        pull_done(ps, owner, cc);
        }
}

/* The seconds until the earliest backoff of an idle slot ends, at most
 * WAIT_SLICE_S; 0 when none waits. */
static double next_wake(const struct pubsub_source *ps, double now,
                        bool pulling, bool acks)
{
        double wait = WAIT_SLICE_S;
        size_t i;

        if (pulling)
                for (i = 0; i < ps->pulls_cnt; i++)
                        if (!ps->pulls[i].busy &&
                            ps->pulls[i].not_before - now < wait)
                                wait = ps->pulls[i].not_before - now;
        if (acks && !ps->ack.busy && ps->ack.not_before - now < wait)
                wait = ps->ack.not_before - now;
        return wait > 0 ? wait : 0;
}

/*
 * The I/O thread. Keeps the pulls in flight while fewer than prefetch
 * messages wait in the queue (the main thread wakes it when it takes
 * some), and the acknowledgements the main thread handed over going out.
 * Every answer is read as it arrives: a message's deadline starts when the
 * service sends it, and from then on the lease thread extends it. Once
 * asked to stop, starts no pull, and ends when every acknowledgement is
 * sent (or given up after the retry budget) and the pulls in flight are
 * back (they return at once; cut off after STOP_PULLS_S).
 */
static void *io_main(void *arg)
{
        struct pubsub_source *ps = arg;
        struct acker *k = &ps->ack;
        bool stopping, pulling, acks, pulls_busy;
        double now, cut_off = 0;
        int running;
        size_t i;

        for (;;) {
                now = ev_signals_now();
                pthread_mutex_lock(&ps->mu);
                stopping = ps->io_stopping;
                if (stopping && !cut_off)
                        cut_off = now + STOP_PULLS_S;
                pulling = !stopping && !ps->io_err && ps->q_len < ps->prefetch;
                acks =
                    k->body_cnt || k->next < k->taken.len || ps->pending.msgs;
                pthread_mutex_unlock(&ps->mu);
                if (pulling)
                        fill_pulls(ps, now);
                if (acks)
                        ack_start(ps, now);
                curl_multi_perform(ps->multi, &running);
                reap(ps);
                pulls_busy = false;
                for (i = 0; i < ps->pulls_cnt; i++)
                        pulls_busy = pulls_busy || ps->pulls[i].busy;
                /* source_free cuts off what is still in flight. */
                if (stopping && !k->busy && !acks &&
                    (!pulls_busy || now > cut_off))
                        break;
                curl_multi_poll(
                    ps->multi, NULL, 0,
                    (int)(next_wake(ps, now, pulling, acks) * 1000) + 1, NULL);
        }
        return NULL;
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

/* Takes what the I/O thread has queued, waiting for it in slices short
 * enough to notice a stop request; wakes the I/O thread when the queue
 * has room for pulls again. */
static enum ev_err source_poll(struct ev_source *src, struct ev_msg *msgs,
                               size_t max, int timeout_ms, size_t *cnt,
                               char *errstr, size_t errstr_size)
{
        struct pubsub_source *ps = (struct pubsub_source *)src;
        double until = ev_signals_now() + timeout_ms / 1000.0;
        enum ev_err err = EV_OK;
        bool wake = false;
        struct timespec ts;
        double left;

        *cnt = 0;
        pthread_mutex_lock(&ps->mu);
        while (!ps->q_len && !ps->io_err) {
                left = until - ev_signals_now();
                if (left <= 0 || ev_signals_stop_requested())
                        break;
                if (left > WAIT_SLICE_S)
                        left = WAIT_SLICE_S;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += (long)(left * 1e9);
                ts.tv_sec += ts.tv_nsec / 1000000000L;
                ts.tv_nsec %= 1000000000L;
                pthread_cond_timedwait(&ps->ready, &ps->mu, &ts);
        }
        if (ps->q_len) {
                wake = ps->q_len >= ps->prefetch;
                *cnt = hand_out(ps, msgs, max);
                wake = wake && ps->q_len < ps->prefetch;
        } else if (ps->io_err) {
                err = ps->io_err;
                snprintf(errstr, errstr_size, "%s", ps->io_errstr);
        }
        pthread_mutex_unlock(&ps->mu);
        if (wake)
                curl_multi_wakeup(ps->multi);
        return err;
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

/* Hands the ack ids of msgs to the I/O thread, which sends them with
 * whatever else piles up meanwhile, and frees msgs: the pipeline goes on
 * with its next batch while the service takes the acknowledgement. */
static void source_ack(struct ev_source *src, struct ev_msg *msgs, size_t cnt)
{
        struct pubsub_source *ps = (struct pubsub_source *)src;
        size_t i, lost = 0;

        if (!cnt)
                return;
        pthread_mutex_lock(&ps->mu);
        for (i = 0; i < cnt; i++) {
                struct held *h = msgs[i].handle;

                lease_remove(h);
                if (ev_pubsub_body_append(&ps->pending, h->r->ack_id,
                                          strlen(h->r->ack_id) + 1))
                        lost++;
                else
                        ps->pending.msgs++;
        }
        pthread_mutex_unlock(&ps->mu);
        if (lost)
                ev_log(EV_LOG_WARN,
                       "pubsub: out of memory; %zu acknowledged message(s) "
                       "will be delivered again",
                       lost);
        for (i = 0; i < cnt; i++)
                held_free(msgs[i].handle);
        curl_multi_wakeup(ps->multi);
}

/* Hands msgs back (a zero deadline), at once and in this thread, then
 * frees them. */
static void source_release(struct ev_source *src, struct ev_msg *msgs,
                           size_t cnt)
{
        struct pubsub_source *ps = (struct pubsub_source *)src;
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
                if (send_ack_ids(ps, &ps->conn, ids, cnt, 0, errstr,
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
        for (i = 0; i < cnt; i++)
                held_free(msgs[i].handle);
}

/* Hands back what was pulled and never handed out, so that another
 * consumer gets it at once rather than after the deadline. Called once
 * the I/O thread has ended. */
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

/* Asks the I/O thread to finish (see io_main) and waits for it. */
static void stop_io_thread(struct pubsub_source *ps)
{
        if (!ps->io_started)
                return;
        pthread_mutex_lock(&ps->mu);
        ps->io_stopping = true;
        pthread_mutex_unlock(&ps->mu);
        curl_multi_wakeup(ps->multi);
        pthread_join(ps->io_thread, NULL);
        ps->io_started = false;
}

static void source_free(struct pubsub_source *ps)
{
        struct held *h, *next;
        size_t i;

        stop_io_thread(ps);
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
        if (ps->ack.busy)
                curl_multi_remove_handle(ps->multi, ps->ack.conn.easy);
        ev_http_headers_free(ps->ack.headers);
        ev_pubsub_conn_free(&ps->ack.conn);
        ev_pubsub_body_free(&ps->ack.body);
        ev_pubsub_body_free(&ps->ack.taken);
        free(ps->ack.ptrs);
        ev_pubsub_body_free(&ps->pending);
        if (ps->multi)
                curl_multi_cleanup(ps->multi);
        for (h = ps->lease.next; h && h != &ps->lease; h = next) {
                next = h->next;
                held_free(h);
        }
        free(ps->queue);
        ev_pubsub_conn_free(&ps->conn);
        ev_pubsub_conn_free(&ps->lease_conn);
        pthread_cond_destroy(&ps->ready);
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

        (void)errstr;
        (void)errstr_size;
        if (!ps)
                return EV_OK;
        /* The acknowledgements handed over are sent, the pulls in flight
         * come back; what they brought is handed back with the rest of
         * the queue. */
        stop_io_thread(ps);
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

/* Starts a thread (the lease thread, the I/O thread: what) with SIGINT
 * and SIGTERM blocked, so that they reach the main thread and cut its
 * waits short. */
static enum ev_err start_thread(struct pubsub_source *ps, pthread_t *thread,
                                void *(*fn)(void *), const char *what,
                                bool *started, char *errstr, size_t errstr_size)
{
        sigset_t old;
        int rc;

        ev_signals_block_stop(&old);
        rc = pthread_create(thread, NULL, fn, ps);
        ev_signals_restore(&old);
        if (rc) {
                snprintf(errstr, errstr_size, "starting the %s thread: %s",
                         what, strerror(rc));
                return EV_ERR_FATAL;
        }
        *started = true;
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
        pthread_cond_init(&ps->ready, NULL);
        *err = ev_pubsub_client_init(&ps->c, cfg, errstr, errstr_size);
        if (*err)
                goto err;
        *err = ev_pubsub_conn_init(&ps->conn, errstr, errstr_size);
        if (!*err)
                *err =
                    ev_pubsub_conn_init(&ps->lease_conn, errstr, errstr_size);
        if (!*err)
                *err = ev_pubsub_conn_init(&ps->ack.conn, errstr, errstr_size);
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
        /* Room for the answers of one round of pulls while the pipeline
         * works through the last. */
        ps->prefetch = ps->pulls_cnt * cfg->pull_max;
        snprintf(ps->ack.url, sizeof(ps->ack.url), "%s:acknowledge",
                 ps->c.sub_url);
        ps->ack.req.method = "POST";
        ps->ack.req.url = ps->ack.url;
        ps->ack.req.timeout_s = cfg->request_timeout;
        ps->ack.ptrs = malloc(EV_PUBSUB_MAX_ACK_IDS * sizeof(*ps->ack.ptrs));
        if (!ps->ack.ptrs) {
                *err = EV_ERR_NOMEM;
                snprintf(errstr, errstr_size, "out of memory");
                goto err;
        }
        *err = start_thread(ps, &ps->thread, lease_main, "lease",
                            &ps->thread_started, errstr, errstr_size);
        if (!*err)
                *err = start_thread(ps, &ps->io_thread, io_main, "I/O",
                                    &ps->io_started, errstr, errstr_size);
        if (*err)
                goto err;
        return &ps->base;
err:
        source_free(ps);
        return NULL;
}
