/*
 * A fixed set of threads that run one index range at a time, split in
 * chunks, with the calling thread taking chunks too: the consumer
 * validates a batch on every core this way, and then carries on alone, in
 * order.
 */
#ifndef EV_PARALLEL_H
#define EV_PARALLEL_H

#include <stddef.h>

#include "err.h"

struct ev_parallel;

/* fn's work on items [begin, end) of the range; ctx is ev_parallel_for's.
 * It runs on any of the threads, so it must touch only its own items and
 * what is safe to share; thread tells which (0: the caller's, then 1 to
 * threads - 1), for what each thread keeps of its own. */
typedef void ev_parallel_fn(void *ctx, size_t begin, size_t end,
                            unsigned thread);

/* Makes in *out (owned by the caller; ev_parallel_free) a pool with
 * threads - 1 helper threads besides the caller's (threads >= 1; 1 starts
 * none). The helpers block SIGINT and SIGTERM, which stay the main
 * thread's. EV_ERR_NOMEM or EV_ERR_PERMANENT (no thread) with errstr set. */
enum ev_err ev_parallel_new(struct ev_parallel **out, unsigned threads,
                            char *errstr, size_t errstr_size);

/* Runs fn over [0, n) in chunks of up to chunk items (chunk >= 1) on the
 * pool and the calling thread, and returns when every chunk is done, with
 * all of fn's writes visible to the caller; fn is never given an empty
 * chunk. One caller at a time. */
void ev_parallel_for(struct ev_parallel *p, size_t n, size_t chunk,
                     ev_parallel_fn *fn, void *ctx);

/* The number of threads p runs ranges on, the caller's included. */
unsigned ev_parallel_threads(const struct ev_parallel *p);

/* Stops and joins the helper threads and frees p; NULL is a no-op. */
void ev_parallel_free(struct ev_parallel *p);

#endif
