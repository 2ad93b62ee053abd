/*
 * ev_json_arena: values parsed inside an arena are whole and usable until
 * the reset, wherever they are freed; what does not fit, and what is made
 * outside an arena (a json_dumps string included), comes from malloc and
 * goes back to free().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_arena.h"

#define EVENT                                                                  \
        "{\"timestamp\":\"2026-11-22T10:15:30Z\",\"service_name\":\"api\","    \
        "\"level\":\"INFO\",\"message\":\"hello\",\"n\":[1,2,3]}"
/* Small, so that a few events fill a slot and the rest spill to malloc. */
#define SLOT_BYTES 4096
#define EVENTS     40

struct parsed {
        json_t *roots[EVENTS];
        unsigned slot;
};

static void parse_events(struct parsed *p)
{
        size_t i;

        ev_json_arena_enter(p->slot);
        for (i = 0; i < EVENTS; i++)
                p->roots[i] = json_loadb(EVENT, sizeof(EVENT) - 1, 0, NULL);
        ev_json_arena_leave();
}

static void *parse_thread(void *arg)
{
        parse_events(arg);
        return NULL;
}

static void check_and_free(struct parsed *p)
{
        size_t i;

        for (i = 0; i < EVENTS; i++) {
                assert_non_null(p->roots[i]);
                assert_string_equal(
                    json_string_value(json_object_get(p->roots[i], "message")),
                    "hello");
                assert_int_equal(
                    json_array_size(json_object_get(p->roots[i], "n")), 3);
                json_decref(p->roots[i]);
        }
}

static void test_json_arena(void **state)
{
        struct parsed main_slot = {.slot = 0}, other_slot = {.slot = 1};
        pthread_t thread;
        char errstr[128];
        json_t *outside;
        char *text;
        int round;

        (void)state;
        assert_int_equal(
            ev_json_arena_init(2, SLOT_BYTES, errstr, sizeof(errstr)), EV_OK);
        for (round = 0; round < 3; round++) {
                /* One slot here, one on another thread, both freed here:
                 * past the first few events of each, malloc's. */
                parse_events(&main_slot);
                assert_int_equal(
                    pthread_create(&thread, NULL, parse_thread, &other_slot),
                    0);
                assert_int_equal(pthread_join(thread, NULL), 0);
                check_and_free(&main_slot);
                check_and_free(&other_slot);
                ev_json_arena_reset();
        }
        /* Outside an arena: malloc's, and a json_dumps string is free()'s
         * to free. */
        outside = json_loadb(EVENT, sizeof(EVENT) - 1, 0, NULL);
        assert_non_null(outside);
        text = json_dumps(outside, JSON_COMPACT);
        assert_non_null(text);
        assert_non_null(strstr(text, "\"hello\""));
        free(text);
        json_decref(outside);
        /* A slot out of range allocates from malloc. */
        ev_json_arena_enter(7);
        outside = json_string("x");
        ev_json_arena_leave();
        assert_non_null(outside);
        json_decref(outside);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_json_arena),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
