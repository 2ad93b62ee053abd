/*
 * The pool behind ev_parallel_for. A range is published under the mutex
 * with a new generation number; every thread, the caller's included, then
 * takes chunks from the range's shared cursor until none is left, and the
 * last thread to finish wakes the caller. The helpers sleep on a condition
 * variable between ranges, so an idle pool costs nothing.
 */
#include "parallel.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signals.h"

/* What a helper thread starts with. */
struct helper {
        struct ev_parallel *p;
        unsigned thread;
};

struct ev_parallel {
        pthread_mutex_t lock;
        pthread_cond_t start; /* a new range, or stop */
        pthread_cond_t done;  /* the range's last chunk finished */
        pthread_t *helpers;
        struct helper *helper_args;
        unsigned helper_cnt; /* started */
        unsigned threads;    /* helper_cnt + the caller */
        /* The range in hand, under lock. */
        unsigned long generation;
        ev_parallel_fn *fn;
        void *ctx;
        size_t n, chunk, next;
        unsigned busy; /* threads still working on it */
        bool stopping;
};

/* Runs chunks of the current range on thread until none is left; lock
 * held on entry and on return. */
static void take_chunks(struct ev_parallel *p, unsigned thread)
{
        size_t begin, end;

        while (p->next < p->n) {
                begin = p->next;
                end = p->n - begin > p->chunk ? begin + p->chunk : p->n;
                p->next = end;
                pthread_mutex_unlock(&p->lock);
                p->fn(p->ctx, begin, end, thread);
                pthread_mutex_lock(&p->lock);
        }
        if (--p->busy == 0)
                pthread_cond_signal(&p->done);
}

static void *helper_main(void *arg)
{
        const struct helper *h = arg;
        struct ev_parallel *p = h->p;
        unsigned long seen = 0;

        pthread_mutex_lock(&p->lock);
        for (;;) {
                while (!p->stopping && p->generation == seen)
                        pthread_cond_wait(&p->start, &p->lock);
                if (p->stopping)
                        break;
                seen = p->generation;
                take_chunks(p, h->thread);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

enum ev_err ev_parallel_new(struct ev_parallel **out, unsigned threads,
                            char *errstr, size_t errstr_size)
{
        struct ev_parallel *p;
        enum ev_err err = EV_OK;
        sigset_t old;
        int rc;

        *out = NULL;
        p = calloc(1, sizeof(*p));
        if (p && threads > 1) {
                p->helpers = calloc(threads - 1, sizeof(*p->helpers));
                p->helper_args = calloc(threads - 1, sizeof(*p->helper_args));
        }
        if (!p || (threads > 1 && (!p->helpers || !p->helper_args))) {
                snprintf(errstr, errstr_size, "out of memory for %u threads",
                         threads);
                if (p) {
                        free(p->helpers);
                        free(p->helper_args);
                }
                free(p);
                return EV_ERR_NOMEM;
        }
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->start, NULL);
        pthread_cond_init(&p->done, NULL);
        ev_signals_block_stop(&old);
        for (; p->helper_cnt + 1 < threads; p->helper_cnt++) {
                p->helper_args[p->helper_cnt].p = p;
                p->helper_args[p->helper_cnt].thread = p->helper_cnt + 1;
                rc =
                    pthread_create(&p->helpers[p->helper_cnt], NULL,
                                   helper_main, &p->helper_args[p->helper_cnt]);
                if (rc) {
                        snprintf(errstr, errstr_size,
                                 "cannot start a validation thread: %s",
                                 strerror(rc));
                        err = EV_ERR_PERMANENT;
                        break;
                }
        }
        ev_signals_restore(&old);
        p->threads = p->helper_cnt + 1;
        if (err) {
                ev_parallel_free(p);
                return err;
        }
        *out = p;
        return EV_OK;
}

void ev_parallel_for(struct ev_parallel *p, size_t n, size_t chunk,
                     ev_parallel_fn *fn, void *ctx)
{
        if (!n)
                return;
        if (p->helper_cnt == 0 || n <= chunk) {
                fn(ctx, 0, n, 0);
                return;
        }
        pthread_mutex_lock(&p->lock);
        p->fn = fn;
        p->ctx = ctx;
        p->n = n;
        p->chunk = chunk;
        p->next = 0;
        p->busy = p->threads;
        p->generation++;
        pthread_cond_broadcast(&p->start);
        take_chunks(p, 0);
        while (p->busy)
                pthread_cond_wait(&p->done, &p->lock);
        pthread_mutex_unlock(&p->lock);
}

unsigned ev_parallel_threads(const struct ev_parallel *p)
{
        return p->threads;
}

void ev_parallel_free(struct ev_parallel *p)
{
        unsigned i;

        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        pthread_cond_broadcast(&p->start);
        pthread_mutex_unlock(&p->lock);
        for (i = 0; i < p->helper_cnt; i++)
                pthread_join(p->helpers[i], NULL);
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->start);
        pthread_mutex_destroy(&p->lock);
        free(p->helpers);
        free(p->helper_args);
        free(p);
}
