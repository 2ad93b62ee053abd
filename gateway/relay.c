/*
 * The relay thread. Owns the publisher and the queue of submitted jobs;
 * the jobs themselves are its callers'. Request threads touch only the
 * queue, under the lock; everything else is the relay thread's alone.
 */
#include "relay.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "signals.h"

/* How long the relay sleeps with nothing to do: the publisher's own
 * callbacks (Kafka's broker state for /readyz) are served this often. */
#define IDLE_MS 100
/* How long one wait for delivery reports lasts while messages are in
 * flight: a new job waits at most this long to be published. */
#define IN_FLIGHT_MS 1

/* A list of jobs, linked through their prev and next. */
struct list {
        struct ev_relay_job *head, *tail;
        size_t cnt;
};

struct ev_relay {
        struct ev_publisher *pub;
        ev_delivery_cb dr_cb;
        void *opaque;
        pthread_t thread;

        pthread_mutex_t lock; /* guards the fields down to fatal_errstr */
        pthread_cond_t wake;  /* a job was queued, or stop was asked */
        struct list queue;
        bool stopping;
        double drain_s, flush_s;
        enum ev_err fatal;
        char fatal_errstr[512];

        struct list in_flight; /* the relay thread's only */
        size_t stop_failed;
};

static void list_push(struct list *l, struct ev_relay_job *job)
{
        job->next = NULL;
        job->prev = l->tail;
        if (l->tail)
                l->tail->next = job;
        else
                l->head = job;
        l->tail = job;
        l->cnt++;
}

static void list_remove(struct list *l, struct ev_relay_job *job)
{
        if (job->prev)
                job->prev->next = job->next;
        else
                l->head = job->next;
        if (job->next)
                job->next->prev = job->prev;
        else
                l->tail = job->prev;
        l->cnt--;
}

/* Hands the outcome of job (taken off every list) to the caller. */
static void report(struct ev_relay *r, struct ev_relay_job *job, bool ok,
                   const char *where, const char *error)
{
        struct ev_delivery dr = {.msg_opaque = job->msg.opaque,
                                 .ok = ok,
                                 .where = where,
                                 .error = error};

        ev_metrics_add(ok ? EV_C_PRODUCED : EV_C_DELIVERY_FAILED, 1);
        r->dr_cb(r->opaque, &dr);
}

/* The publisher's delivery reports: msg_opaque is the job. */
static void on_delivery(void *opaque, const struct ev_delivery *dr)
{
        struct ev_relay *r = opaque;
        struct ev_relay_job *job = dr->msg_opaque;

        list_remove(&r->in_flight, job);
        report(r, job, dr->ok, dr->where, dr->error);
}

/* Publishes the jobs of batch, in order; true when any was queued. */
static bool publish(struct ev_relay *r, struct ev_relay_job *batch)
{
        struct ev_relay_job *job, *next;
        struct ev_out_msg msg;
        bool queued = false;
        char errstr[512];
        enum ev_err err;

        for (job = batch; job; job = next) {
                next = job->next;
                msg = job->msg;
                msg.opaque = job;
                /* In flight before publish: its report may come from
                 * inside the call. */
                list_push(&r->in_flight, job);
                err =
                    r->pub->ops->publish(r->pub, &msg, errstr, sizeof(errstr));
                if (!err) {
                        queued = true;
                        continue;
                }
                list_remove(&r->in_flight, job);
                ev_metrics_add(EV_C_PUBLISH_ERRORS, 1);
                if (err == EV_ERR_FATAL) {
                        pthread_mutex_lock(&r->lock);
                        if (!r->fatal) {
                                r->fatal = err;
                                snprintf(r->fatal_errstr,
                                         sizeof(r->fatal_errstr), "%s", errstr);
                        }
                        pthread_mutex_unlock(&r->lock);
                }
                r->dr_cb(r->opaque,
                         &(struct ev_delivery){.msg_opaque = job->msg.opaque,
                                               .ok = false,
                                               .error = errstr});
        }
        return queued;
}

/* Waits on wake up to ms; r->lock held. */
static void wait_ms(struct ev_relay *r, long ms)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&r->wake, &r->lock, &ts);
}

/* Milliseconds for the publisher's int timeouts, capped at a day. */
static int to_ms(double s)
{
        return (int)(fmin(fmax(s, 0), 86400) * 1000 + 0.5);
}

/* Flushes what is left and reports every job still unconfirmed. */
static void finish(struct ev_relay *r, struct ev_relay_job *queued)
{
        struct ev_relay_job *job, *next;

        r->pub->ops->flush(r->pub, to_ms(r->flush_s));
        for (job = queued; job; job = next) {
                next = job->next;
                r->stop_failed++;
                report(r, job, false, NULL, "not published: shutting down");
        }
        while ((job = r->in_flight.head)) {
                list_remove(&r->in_flight, job);
                r->stop_failed++;
                report(r, job, false, NULL,
                       "not confirmed before shutting down");
        }
}

static void *run(void *arg)
{
        struct ev_relay *r = arg;
        struct ev_relay_job *batch;
        double drain_until = 0;

        pthread_mutex_lock(&r->lock);
        for (;;) {
                if (r->stopping && !drain_until)
                        drain_until = ev_signals_now() + r->drain_s;
                if (r->stopping && ((!r->queue.head && !r->in_flight.head) ||
                                    ev_signals_now() >= drain_until))
                        break;
                if (!r->queue.head && !r->in_flight.head && !r->stopping)
                        wait_ms(r, IDLE_MS);
                batch = r->queue.head;
                r->queue = (struct list){NULL, NULL, 0};
                pthread_mutex_unlock(&r->lock);
                /* Group commit: everything queued so far goes out now,
                 * and whatever arrives meanwhile goes in the next
                 * round. */
                if (batch && publish(r, batch))
                        r->pub->ops->flush(r->pub, 0);
                r->pub->ops->poll(r->pub, r->in_flight.head ? IN_FLIGHT_MS : 0);
                ev_health_beat();
                pthread_mutex_lock(&r->lock);
        }
        batch = r->queue.head;
        r->queue = (struct list){NULL, NULL, 0};
        pthread_mutex_unlock(&r->lock);
        finish(r, batch);
        return NULL;
}

struct ev_relay *ev_relay_start(const struct ev_config *cfg,
                                ev_delivery_cb dr_cb, void *opaque,
                                enum ev_err *err, char *errstr,
                                size_t errstr_size)
{
        struct ev_relay *r = calloc(1, sizeof(*r));
        pthread_condattr_t attr;
        sigset_t old;
        int rc;

        if (!r) {
                *err = EV_ERR_NOMEM;
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        r->dr_cb = dr_cb;
        r->opaque = opaque;
        /* Made here, used only on the relay's thread from its start on. */
        r->pub =
            ev_publisher_new(cfg, on_delivery, r, err, errstr, errstr_size);
        if (!r->pub) {
                free(r);
                return NULL;
        }
        pthread_mutex_init(&r->lock, NULL);
        /* The waits are timed on the clock that does not jump. */
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&r->wake, &attr);
        pthread_condattr_destroy(&attr);
        /* Stop signals are for the main thread, whose waits they cut
         * short. */
        ev_signals_block_stop(&old);
        rc = pthread_create(&r->thread, NULL, run, r);
        ev_signals_restore(&old);
        if (rc) {
                *err = EV_ERR_FATAL;
                snprintf(errstr, errstr_size, "cannot start a thread: %s",
                         strerror(rc));
                pthread_cond_destroy(&r->wake);
                pthread_mutex_destroy(&r->lock);
                r->pub->ops->destroy(r->pub);
                free(r);
                return NULL;
        }
        *err = EV_OK;
        return r;
}

enum ev_err ev_relay_submit(struct ev_relay *r, struct ev_relay_job *job)
{
        enum ev_err err;

        pthread_mutex_lock(&r->lock);
        err = r->fatal ? r->fatal : r->stopping ? EV_ERR_TRANSIENT : EV_OK;
        if (!err) {
                list_push(&r->queue, job);
                /* Only the first job of a round needs to wake the relay:
                 * it takes the whole queue. */
                if (r->queue.cnt == 1)
                        pthread_cond_signal(&r->wake);
        }
        pthread_mutex_unlock(&r->lock);
        return err;
}

enum ev_err ev_relay_status(struct ev_relay *r, char *errstr,
                            size_t errstr_size)
{
        enum ev_err err;

        pthread_mutex_lock(&r->lock);
        err = r->fatal;
        if (err)
                snprintf(errstr, errstr_size, "%s", r->fatal_errstr);
        pthread_mutex_unlock(&r->lock);
        return err;
}

size_t ev_relay_stop(struct ev_relay *r, double drain_s, double flush_s)
{
        pthread_mutex_lock(&r->lock);
        if (r->stopping) {
                pthread_mutex_unlock(&r->lock);
                return r->stop_failed;
        }
        r->stopping = true;
        r->drain_s = drain_s;
        r->flush_s = flush_s;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
        r->pub->ops->destroy(r->pub);
        r->pub = NULL;
        return r->stop_failed;
}

void ev_relay_destroy(struct ev_relay *r)
{
        if (!r)
                return;
        ev_relay_stop(r, 0, 0);
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        free(r);
}
