/*
 * Unit tests for producer/generator: the seed run's valid events and their
 * keys, the verdict on every malformed kind, and the end of a run. Every
 * payload is validated as a heap copy of exactly its length, so that ASan
 * reports any read past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event.h"
#include "generator.h"

/* More messages than any run below makes. */
#define RUN_MAX 256

static const struct ev_event_rules rules = {EV_DEFAULT_MAX_PAYLOAD_BYTES, true};

/* One message as the generator made it, copied out of its storage. */
struct made {
        char *payload; /* exactly len bytes on the heap */
        size_t len;
        char *key; /* NUL-terminated copy; NULL: no key */
        size_t key_len;
};

/* Runs a generator of count + malformed messages to its end into made[],
 * checking that the end sticks. Returns the number of messages. */
static size_t run(unsigned long count, unsigned long malformed,
                  struct made *made)
{
        struct ev_generator gen;
        const char *payload, *key;
        size_t len, key_len, n = 0, extra;

        ev_generator_init(&gen, count, malformed);
        while (ev_generator_next(&gen, &payload, &len, &key, &key_len)) {
                assert_true(n < RUN_MAX);
                made[n].payload = malloc(len ? len : 1);
                assert_non_null(made[n].payload);
                memcpy(made[n].payload, payload, len);
                made[n].len = len;
                made[n].key = NULL;
                made[n].key_len = key_len;
                if (key) {
                        made[n].key = malloc(key_len + 1);
                        assert_non_null(made[n].key);
                        memcpy(made[n].key, key, key_len);
                        made[n].key[key_len] = '\0';
                }
                n++;
        }
        /* The end is final. */
        for (extra = 0; extra < 3; extra++)
                assert_false(
                    ev_generator_next(&gen, &payload, &len, &key, &key_len));
        return n;
}

static void made_free(struct made *made, size_t n)
{
        size_t i;

        for (i = 0; i < n; i++) {
                free(made[i].payload);
                free(made[i].key);
        }
}

/* Checks that m is a valid event keyed by its service_name; on success
 * stores its service (m's key) and level (a static string) through the
 * pointers. Prints why and returns false otherwise. */
static bool check_valid(const struct made *m, size_t i, const char **service,
                        const char **level)
{
        static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR",
                                            "FATAL"};
        struct ev_verdict verdict;
        json_t *root;
        json_t *field; /* borrowed */
        bool ok = true;
        size_t l;

        if (!ev_event_validate(m->payload, m->len, &rules, &root, &verdict)) {
                print_error("message %zu: %s (%s): %.*s\n", i,
                            ev_reason_name(verdict.reason), verdict.detail,
                            (int)m->len, m->payload);
                return false;
        }
        if (memchr(m->payload, '\0', m->len) || m->len >= 512) {
                print_error("message %zu: NUL byte or cut short\n", i);
                ok = false;
        }
        field = json_object_get(root, "service_name");
        if (!m->key || m->key_len != json_string_length(field) ||
            memcmp(m->key, json_string_value(field), m->key_len)) {
                print_error("message %zu: key '%s', service_name '%s'\n", i,
                            m->key ? m->key : "(none)",
                            json_string_value(field));
                ok = false;
        }
        *service = m->key;
        /* One of the static names, so that it outlives root. */
        field = json_object_get(root, "level");
        *level = "?";
        for (l = 0; l < sizeof(names) / sizeof(names[0]); l++) {
                if (!strcmp(json_string_value(field), names[l]))
                        *level = names[l];
        }
        json_decref(root);
        return ok;
}

/* Adds s to set[] unless it is there; returns the set's size. */
static size_t add_distinct(const char **set, size_t n, const char *s)
{
        size_t i;

        for (i = 0; i < n; i++) {
                if (!strcmp(set[i], s))
                        return n;
        }
        set[n] = s;
        return n + 1;
}

/* The default run: 10 valid events, then the 3 malformed seed payloads. */
static void test_generator_seed_run(void **state)
{
        struct made made[RUN_MAX];
        const char *services[RUN_MAX], *levels[RUN_MAX];
        size_t n, i, services_cnt = 0, levels_cnt = 0, failed = 0;

        (void)state;
        n = run(10, 3, made);
        assert_int_equal(n, 13);
        for (i = 0; i < 10; i++) {
                const char *service, *level;

                if (!check_valid(&made[i], i, &service, &level)) {
                        failed++;
                        continue;
                }
                services_cnt = add_distinct(services, services_cnt, service);
                levels_cnt = add_distinct(levels, levels_cnt, level);
        }
        for (i = 10; i < 13; i++) {
                struct ev_verdict verdict;

                if (ev_event_validate(made[i].payload, made[i].len, &rules,
                                      NULL, &verdict) ||
                    verdict.reason != EV_REASON_NOT_JSON || made[i].key ||
                    made[i].key_len) {
                        print_error("message %zu: %s, key %s\n", i,
                                    ev_reason_name(verdict.reason),
                                    made[i].key ? made[i].key : "(none)");
                        failed++;
                }
        }
        print_message("%zu messages, %zu services, %zu levels, %zu failed\n", n,
                      services_cnt, levels_cnt, failed);
        assert_int_equal(failed, 0);
        assert_true(services_cnt >= 4);
        assert_true(levels_cnt >= 3);
        made_free(made, n);
}

/* The verdict on each malformed kind, in the generator's order. */
static const struct {
        enum ev_reason reason;
        const char *detail; /* substring of verdict.detail; NULL: any */
        bool hostile;       /* holds ESC and a raw newline */
} kinds[] = {
    {EV_REASON_NOT_JSON, NULL, false},
    {EV_REASON_NOT_JSON, NULL, false},
    {EV_REASON_NOT_JSON, NULL, false},
    {EV_REASON_MISSING_FIELD, "timestamp", false},
    {EV_REASON_BAD_TIMESTAMP, "timestamp", false},
    {EV_REASON_BAD_LEVEL, "level", false},
    {EV_REASON_NOT_OBJECT, "array", false},
    {EV_REASON_WRONG_TYPE, "service_name", false},
    {EV_REASON_NOT_JSON, NULL, true},
};

#define KINDS_CNT (sizeof(kinds) / sizeof(kinds[0]))

/* count=0, malformed=2 * kinds: every kind, twice, in order. */
static void test_generator_malformed_kinds(void **state)
{
        struct made made[RUN_MAX];
        size_t n, i, failed = 0, hostile = 0;

        (void)state;
        /* A new kind needs a row above. */
        assert_int_equal(ev_generator_malformed_kinds(), KINDS_CNT);
        n = run(0, 2 * KINDS_CNT, made);
        assert_int_equal(n, 2 * KINDS_CNT);
        for (i = 0; i < n; i++) {
                const struct made *m = &made[i];
                size_t k = i % KINDS_CNT;
                struct ev_verdict verdict;
                bool has_esc = memchr(m->payload, 0x1b, m->len) != NULL;
                bool has_nl = memchr(m->payload, '\n', m->len) != NULL;

                if (ev_event_validate(m->payload, m->len, &rules, NULL,
                                      &verdict) ||
                    verdict.reason != kinds[k].reason ||
                    (kinds[k].detail &&
                     !strstr(verdict.detail, kinds[k].detail))) {
                        print_error("kind %zu: %s (%s), expected %s\n", k,
                                    ev_reason_name(verdict.reason),
                                    verdict.detail,
                                    ev_reason_name(kinds[k].reason));
                        failed++;
                }
                if (m->key || m->key_len) {
                        print_error("kind %zu: keyed\n", k);
                        failed++;
                }
                if ((has_esc && has_nl) != kinds[k].hostile) {
                        print_error("kind %zu: ESC %d, newline %d\n", k,
                                    has_esc, has_nl);
                        failed++;
                }
                hostile += has_esc && has_nl;
                /* The kinds repeat in order, and differ from each other. */
                if (i >= KINDS_CNT &&
                    (m->len != made[k].len ||
                     memcmp(m->payload, made[k].payload, m->len))) {
                        print_error("message %zu: not a repeat of kind %zu\n",
                                    i, k);
                        failed++;
                }
                if (i > 0 && i < KINDS_CNT && m->len == made[i - 1].len &&
                    !memcmp(m->payload, made[i - 1].payload, m->len)) {
                        print_error("kind %zu: same as kind %zu\n", k, k - 1);
                        failed++;
                }
        }
        print_message("%zu kinds, %zu failed\n", KINDS_CNT, failed);
        assert_int_equal(failed, 0);
        assert_int_equal(hostile, 2);
        made_free(made, n);
}

/* Any mix: count valid events first, then malformed payloads, then the
 * end. */
static void test_generator_counts(void **state)
{
        static const struct {
                unsigned long count;
                unsigned long malformed;
        } cases[] = {
            {0, 0}, {1, 0}, {0, 1}, {10, 3}, {12, 0}, {13, 1}, {100, 20},
        };
        struct made made[RUN_MAX];
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                unsigned long count = cases[i].count;
                size_t n = run(count, cases[i].malformed, made), m;
                bool ok = n == count + cases[i].malformed;

                for (m = 0; ok && m < n; m++) {
                        const char *service, *level;
                        struct ev_verdict verdict;

                        if (m < count)
                                ok = check_valid(&made[m], m, &service, &level);
                        else
                                ok = !made[m].key &&
                                     !ev_event_validate(made[m].payload,
                                                        made[m].len, &rules,
                                                        NULL, &verdict);
                }
                if (!ok) {
                        print_error("case %lu+%lu: %zu messages, or one "
                                    "out of place\n",
                                    count, cases[i].malformed, n);
                        failed++;
                }
                made_free(made, n);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_generator_seed_run),
            cmocka_unit_test(test_generator_malformed_kinds),
            cmocka_unit_test(test_generator_counts),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
