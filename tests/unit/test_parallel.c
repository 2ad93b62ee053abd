/*
 * ev_parallel: every index of a range is visited exactly once, whatever
 * the sizes of the range, the chunk and the pool, and the caller sees
 * every write when ev_parallel_for returns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"

#define RANGE_MAX 2000

struct visits {
        unsigned char seen[RANGE_MAX];
        size_t n;
        unsigned threads;
        atomic_uint bad_chunks; /* empty, past n, or on no such thread */
};

/* On any thread: cmocka's asserts are the main thread's, so a bad chunk is
 * counted, and checked there. */
static void visit(void *ctx, size_t begin, size_t end, unsigned thread)
{
        struct visits *v = ctx;
        size_t i;

        if (begin >= end || end > v->n || thread >= v->threads) {
                atomic_fetch_add(&v->bad_chunks, 1);
                return;
        }
        for (i = begin; i < end; i++)
                v->seen[i]++;
}

static void test_parallel_every_index_once(void **state)
{
        static const unsigned threads[] = {1, 2, 3, 8};
        static const size_t sizes[] = {0, 1, 31, 32, 33, 512, RANGE_MAX};
        static const size_t chunks[] = {1, 7, 32, 4096};
        struct visits *v = malloc(sizeof(*v));
        struct ev_parallel *pool;
        char errstr[128];
        size_t t, s, c, i, round;

        (void)state;
        assert_non_null(v);
        atomic_init(&v->bad_chunks, 0);
        for (t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
                assert_int_equal(
                    ev_parallel_new(&pool, threads[t], errstr, sizeof(errstr)),
                    EV_OK);
                assert_int_equal(ev_parallel_threads(pool), threads[t]);
                v->threads = threads[t];
                /* Many ranges in a row on one pool: no thread may miss a
                 * range or take one twice. */
                for (round = 0; round < 50; round++) {
                        for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
                                for (c = 0;
                                     c < sizeof(chunks) / sizeof(chunks[0]);
                                     c++) {
                                        memset(v->seen, 0, sizeof(v->seen));
                                        v->n = sizes[s];
                                        ev_parallel_for(pool, sizes[s],
                                                        chunks[c], visit, v);
                                        for (i = 0; i < RANGE_MAX; i++)
                                                assert_int_equal(v->seen[i],
                                                                 i < sizes[s]);
                                }
                        }
                }
                ev_parallel_free(pool);
        }
        assert_int_equal(atomic_load(&v->bad_chunks), 0);
        ev_parallel_free(NULL);
        free(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parallel_every_index_once),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
