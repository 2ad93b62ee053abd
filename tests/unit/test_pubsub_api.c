/*
 * Unit tests for common/transport/pubsub_api: resource names, request
 * bodies read back with jansson, answers and error bodies as the service
 * and hostile middleboxes send them, retry classification and backoff.
 * Every answer is parsed from a heap copy of exactly its length, with no
 * NUL after it, so that ASan reports any read past len.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base64.h"
#include "pubsub_api.h"

/* A string literal as pointer and length, embedded NULs included. */
#define BYTES(s) (s), sizeof(s) - 1

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Backoff is a double; cmocka compares floats. */
#define assert_near(a, b) assert_true(fabs((a) - (b)) < 1e-9)

/* An exact-length heap copy of s[0..len); the caller frees it. */
static char *copy_of(const char *s, size_t len)
{
        char *buf = malloc(len ? len : 1);

        assert_non_null(buf);
        if (len)
                memcpy(buf, s, len);
        return buf;
}

/* The body as JSON; fails the test when it is not. */
static json_t *load_body(const struct ev_pubsub_body *b)
{
        json_error_t jerr;
        json_t *root;

        assert_non_null(b->data);
        assert_int_equal(strlen(b->data), b->len);
        root = json_loadb(b->data, b->len, JSON_ALLOW_NUL, &jerr);
        if (!root)
                print_error("not JSON: %s: %s\n", jerr.text, b->data);
        assert_non_null(root);
        return root;
}

/* xorshift32: the same pseudo-random bytes on every run. */
static uint32_t next_rand(uint32_t *s)
{
        *s ^= *s << 13;
        *s ^= *s >> 17;
        *s ^= *s << 5;
        return *s;
}

/*
 * Resource names.
 */

/* "a" followed by len - 1 characters of fill; the caller frees it. */
static char *name_of_len(size_t len, char fill)
{
        char *s = malloc(len + 1);

        assert_non_null(s);
        memset(s, fill, len);
        s[0] = 'a';
        s[len] = '\0';
        return s;
}

static void test_pubsub_valid_id(void **state)
{
        static const struct {
                const char *id;
                bool valid;
        } cases[] = {
            {"abc", true},
            {"my-topic", true},
            {"My_Topic.1", true},
            {"a-_.~+%", true},
            {"t%2Fx", true},
            {"Z99", true},
            {"gooo", true},
            {"googl", false},
            {"goog", false},
            {"goog-topic", false},
            {"ab", false},
            {"a", false},
            {"", false},
            {"1abc", false},
            {"-abc", false},
            {"_abc", false},
            {".abc", false},
            {"%abc", false},
            {"ab c", false},
            {"ab/c", false},
            {"ab:c", false},
            {"ab@c", false},
            {"ab*c", false},
            {"abc\n", false},
            {"caf\xc3\xa9", false},
            {"abc\xff", false},
        };
        static const struct {
                size_t len;
                bool valid;
        } lengths[] = {
            {2, false},  {3, true},    {254, true},
            {255, true}, {256, false}, {1000, false},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++) {
                if (ev_pubsub_valid_id(cases[i].id) != cases[i].valid) {
                        print_error("id '%s': expected %d\n", cases[i].id,
                                    cases[i].valid);
                        failed++;
                }
        }
        for (i = 0; i < ARRAY_LEN(lengths); i++) {
                char *id = name_of_len(lengths[i].len, 'x');

                if (ev_pubsub_valid_id(id) != lengths[i].valid) {
                        print_error("id of %zu characters: expected %d\n",
                                    lengths[i].len, lengths[i].valid);
                        failed++;
                }
                free(id);
        }
        assert_false(ev_pubsub_valid_id(NULL));
        print_message("%zu cases, %zu failed\n",
                      ARRAY_LEN(cases) + ARRAY_LEN(lengths), failed);
        assert_int_equal(failed, 0);
}

static void test_pubsub_valid_project(void **state)
{
        static const struct {
                const char *project;
                bool valid;
        } cases[] = {
            {"my-project", true},
            {"abcdef", true},
            {"abcde", false},
            {"abc123", true},
            {"a-1-b-2", true},
            {"abcdefghijklmnopqrstuvwxyz0123", true},
            {"abcdefghijklmnopqrstuvwxyz01234", false},
            {"1project", false},
            {"-project", false},
            {"my-project-", false},
            {"My-project", false},
            {"my_project", false},
            {"my.project", false},
            {"my project", false},
            {"", false},
            {"example.com:my-project", true},
            {"a.b:my-project", true},
            {"sub.example.com:my-project", true},
            {"example:my-project", false},
            {":my-project", false},
            {"example.com:", false},
            {"example.com:abc", false},
            {"example..com:my-project", false},
            {".example.com:my-project", false},
            {"example.com.:my-project", false},
            {"-example.com:my-project", false},
            {"example-.com:my-project", false},
            {"Example.com:my-project", false},
            {"example.com:my-project:x", false},
            {"example.com:My-project", false},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++) {
                if (ev_pubsub_valid_project(cases[i].project) !=
                    cases[i].valid) {
                        print_error("project '%s': expected %d\n",
                                    cases[i].project, cases[i].valid);
                        failed++;
                }
        }
        assert_false(ev_pubsub_valid_project(NULL));
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/*
 * Publish bodies.
 */

struct pub_msg {
        const char *data;
        size_t len;
        const char *key; /* NULL: none */
        size_t key_len;
        const char *okey; /* NULL: none */
        size_t okey_len;
};

/* Checks message i of a parsed publish body against m. */
static void check_pub_msg(json_t *root, size_t i, const struct pub_msg *m)
{
        json_t *msg = json_array_get(json_object_get(root, "messages"), i);
        json_t *data = json_object_get(msg, "data");
        json_t *attrs = json_object_get(msg, "attributes");
        json_t *okey = json_object_get(msg, "orderingKey");
        unsigned char *out;
        size_t out_len;

        assert_true(json_is_object(msg));
        assert_true(json_is_string(data));
        out = malloc(ev_base64_decoded_max(json_string_length(data)));
        assert_non_null(out);
        assert_true(ev_base64_decode(json_string_value(data),
                                     json_string_length(data), out, &out_len,
                                     EV_BASE64_STD));
        assert_int_equal(out_len, m->len);
        assert_memory_equal(out, m->data, m->len);
        free(out);
        if (m->key) {
                json_t *key = json_object_get(attrs, "key");

                assert_int_equal(json_object_size(attrs), 1);
                assert_true(json_is_string(key));
                assert_int_equal(json_string_length(key), m->key_len);
                if (m->key_len)
                        assert_memory_equal(json_string_value(key), m->key,
                                            m->key_len);
        } else {
                assert_null(attrs);
        }
        if (m->okey) {
                assert_true(json_is_string(okey));
                assert_int_equal(json_string_length(okey), m->okey_len);
                if (m->okey_len)
                        assert_memory_equal(json_string_value(okey), m->okey,
                                            m->okey_len);
        } else {
                assert_null(okey);
        }
        assert_int_equal(json_object_size(msg),
                         1 + (m->key != NULL) + (m->okey != NULL));
}

static void add_msg(struct ev_pubsub_body *b, const struct pub_msg *m)
{
        char errstr[128] = "";
        size_t before = b->len;
        enum ev_err err;

        err = ev_pubsub_publish_add(b, m->data, m->len, m->key, m->key_len,
                                    m->okey, m->okey_len, NULL, 0, errstr,
                                    sizeof(errstr));
        if (err)
                print_error("add: %s\n", errstr);
        assert_int_equal(err, EV_OK);
        assert_true(
            b->len - before <=
            ev_pubsub_publish_cost(m->len, m->key_len, m->okey_len, NULL, 0));
}

static void test_pubsub_publish_one(void **state)
{
        struct ev_pubsub_body b = {0};
        const struct pub_msg m = {BYTES("hello"), NULL, 0, NULL, 0};
        json_t *root;

        (void)state;
        add_msg(&b, &m);
        assert_int_equal(b.msgs, 1);
        assert_int_equal(ev_pubsub_publish_finish(&b), EV_OK);
        assert_string_equal(b.data, "{\"messages\":[{\"data\":\"aGVsbG8=\"}]}");
        root = load_body(&b);
        assert_int_equal(json_object_size(root), 1);
        assert_int_equal(json_array_size(json_object_get(root, "messages")), 1);
        check_pub_msg(root, 0, &m);
        json_decref(root);
        ev_pubsub_body_free(&b);
        assert_null(b.data);
        assert_int_equal(b.len, 0);
        assert_int_equal(b.cap, 0);
        assert_int_equal(b.msgs, 0);
}

static void test_pubsub_publish_several(void **state)
{
        static const struct pub_msg msgs[] = {
            {BYTES("{\"a\":1}"), NULL, 0, NULL, 0},
            {BYTES("\0"), NULL, 0, NULL, 0},
            {BYTES("\0\x01\xff\xfe\x80 binary\n\0"), BYTES("k1"), NULL, 0},
            {BYTES("ab"), NULL, 0, BYTES("order-1")},
            {BYTES("abc"), BYTES("key"), BYTES("order")},
            {BYTES("x"), BYTES(""), BYTES("")},
            {BYTES("quotes"), BYTES("a\"b\\c/d"), BYTES("\"\\")},
            {BYTES("controls"), BYTES("\n\r\t\b\f\x01\x1f\x7f"),
             BYTES("\x1b[2J")},
            {BYTES("nul in key"), BYTES("a\0b"), BYTES("\0")},
            {BYTES("utf-8"), BYTES("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
             BYTES("\xe6\x97\xa5\xe6\x9c\xac")},
            {BYTES("separators"), BYTES("\xe2\x80\xa8\xe2\x80\xa9"), NULL, 0},
        };
        struct ev_pubsub_body b = {0};
        json_t *root;
        size_t i, total_cost = 0;

        (void)state;
        for (i = 0; i < ARRAY_LEN(msgs); i++) {
                add_msg(&b, &msgs[i]);
                total_cost += ev_pubsub_publish_cost(
                    msgs[i].len, msgs[i].key_len, msgs[i].okey_len, NULL, 0);
        }
        assert_int_equal(b.msgs, ARRAY_LEN(msgs));
        assert_int_equal(ev_pubsub_publish_finish(&b), EV_OK);
        assert_true(b.len <= total_cost);
        root = load_body(&b);
        assert_int_equal(json_array_size(json_object_get(root, "messages")),
                         ARRAY_LEN(msgs));
        for (i = 0; i < ARRAY_LEN(msgs); i++)
                check_pub_msg(root, i, &msgs[i]);
        json_decref(root);

        /* Reset keeps the buffer and starts a new body. */
        {
                char *data = b.data;
                const struct pub_msg m = {BYTES("again"), NULL, 0, NULL, 0};

                ev_pubsub_body_reset(&b);
                assert_int_equal(b.len, 0);
                assert_int_equal(b.msgs, 0);
                assert_ptr_equal(b.data, data);
                add_msg(&b, &m);
                assert_int_equal(ev_pubsub_publish_finish(&b), EV_OK);
                root = load_body(&b);
                check_pub_msg(root, 0, &m);
                json_decref(root);
        }
        ev_pubsub_body_free(&b);
        ev_pubsub_body_free(&b);
        ev_pubsub_body_free(NULL);
        ev_pubsub_body_reset(NULL);
}

/* Up to 1000 messages of up to 10 KB each, grown from an empty body: the
 * buffer must keep up and stay valid JSON. */
static void test_pubsub_publish_big(void **state)
{
        struct ev_pubsub_body b = {0};
        uint32_t seed = 12345;
        unsigned char *data = malloc(10000);
        json_t *root;
        size_t i, j;

        (void)state;
        assert_non_null(data);
        for (i = 0; i < EV_PUBSUB_MAX_BATCH_MSGS; i++) {
                size_t len = 1 + next_rand(&seed) % 10000;
                char errstr[64];

                for (j = 0; j < len; j++)
                        data[j] = (unsigned char)(i + j);
                assert_int_equal(
                    ev_pubsub_publish_add(&b, (char *)data, len, NULL, 0, NULL,
                                          0, NULL, 0, errstr, sizeof(errstr)),
                    EV_OK);
        }
        assert_int_equal(ev_pubsub_publish_finish(&b), EV_OK);
        assert_true(b.cap > b.len);
        root = load_body(&b);
        assert_int_equal(json_array_size(json_object_get(root, "messages")),
                         EV_PUBSUB_MAX_BATCH_MSGS);
        json_decref(root);
        ev_pubsub_body_free(&b);
        free(data);
}

/* A refused message leaves the body exactly as it was. */
static void check_refused(struct ev_pubsub_body *b, const struct pub_msg *m,
                          const char *name)
{
        char *before = b->len ? copy_of(b->data, b->len + 1) : NULL;
        size_t len = b->len, msgs = b->msgs;
        char errstr[128] = "";
        enum ev_err err;

        err = ev_pubsub_publish_add(b, m->data, m->len, m->key, m->key_len,
                                    m->okey, m->okey_len, NULL, 0, errstr,
                                    sizeof(errstr));
        if (err != EV_ERR_PERMANENT)
                print_error("case '%s': err %d\n", name, (int)err);
        assert_int_equal(err, EV_ERR_PERMANENT);
        assert_true(errstr[0] != '\0');
        assert_int_equal(b->len, len);
        assert_int_equal(b->msgs, msgs);
        if (before) {
                assert_memory_equal(b->data, before, len + 1);
                free(before);
        }
}

static void test_pubsub_publish_refused(void **state)
{
        static const struct {
                const char *name;
                struct pub_msg m;
        } cases[] = {
            {"empty data", {"", 0, NULL, 0, NULL, 0}},
            {"NULL data", {NULL, 0, NULL, 0, NULL, 0}},
            {"key 0xff", {BYTES("d"), BYTES("a\xff"), NULL, 0}},
            {"key lone continuation", {BYTES("d"), BYTES("\x80"), NULL, 0}},
            {"key overlong '/'", {BYTES("d"), BYTES("\xc0\xaf"), NULL, 0}},
            {"key overlong 3-byte",
             {BYTES("d"), BYTES("\xe0\x80\xaf"), NULL, 0}},
            {"key surrogate", {BYTES("d"), BYTES("\xed\xa0\x80"), NULL, 0}},
            {"key beyond U+10FFFF",
             {BYTES("d"), BYTES("\xf4\x90\x80\x80"), NULL, 0}},
            {"key truncated 3-byte",
             {BYTES("d"), BYTES("ab\xe2\x82"), NULL, 0}},
            {"key truncated by key_len", {BYTES("d"), "\xc3\xa9", 1, NULL, 0}},
            {"ordering key 0xfe", {BYTES("d"), NULL, 0, BYTES("\xfe")}},
            {"ordering key surrogate",
             {BYTES("d"), BYTES("k"), BYTES("\xed\xbf\xbf")}},
        };
        struct ev_pubsub_body b = {0};
        const struct pub_msg good = {BYTES("ok"), BYTES("k"), NULL, 0};
        size_t i;

        (void)state;
        /* On an empty body, then on one with a message in it. */
        for (i = 0; i < ARRAY_LEN(cases); i++)
                check_refused(&b, &cases[i].m, cases[i].name);
        assert_int_equal(b.len, 0);
        add_msg(&b, &good);
        for (i = 0; i < ARRAY_LEN(cases); i++)
                check_refused(&b, &cases[i].m, cases[i].name);
        assert_int_equal(ev_pubsub_publish_finish(&b), EV_OK);
        {
                json_t *root = load_body(&b);

                check_pub_msg(root, 0, &good);
                json_decref(root);
        }
        print_message("%zu cases\n", ARRAY_LEN(cases));
        ev_pubsub_body_free(&b);
}

/* Attributes beside the key (dead-letter headers): escaped like the key,
 * within the service's limits, and enough for a message without data. */
static void test_pubsub_publish_attributes(void **state)
{
        static const struct ev_header attrs[] = {
            {"error.reason", BYTES("not_json")},
            {"error.detail", BYTES("a\"b\\c\x01\n")},
            {"source.key", BYTES("caf\xc3\xa9")},
            {"empty", "", 0},
        };
        char big[EV_PUBSUB_MAX_ATTR_VALUE + 1], long_name[300];
        const struct {
                const char *name;
                struct ev_header attr;
        } refused[] = {
            {"value 0xff", {"n", BYTES("\xff")}},
            {"value surrogate", {"n", BYTES("\xed\xa0\x80")}},
            {"name 0xfe", {"\xfe", BYTES("v")}},
            {"empty name", {"", BYTES("v")}},
            {"value over 1024 bytes", {"n", big, sizeof(big)}},
            {"name over 256 bytes", {long_name, BYTES("v")}},
        };
        struct ev_pubsub_body b = {0};
        json_t *root, *msg, *got; /* msg and got borrowed from root */
        char errstr[128];
        size_t i, before;

        (void)state;
        memset(big, 'v', sizeof(big));
        memset(long_name, 'n', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        assert_int_equal(ev_pubsub_publish_add(&b, "", 0, BYTES("k"), NULL, 0,
                                               attrs, ARRAY_LEN(attrs), errstr,
                                               sizeof(errstr)),
                         EV_OK);
        assert_true(b.len <=
                    ev_pubsub_publish_cost(0, 1, 0, attrs, ARRAY_LEN(attrs)));
        before = b.len;
        assert_int_equal(ev_pubsub_publish_add(&b, "", 0, NULL, 0, NULL, 0,
                                               attrs, 1, errstr,
                                               sizeof(errstr)),
                         EV_OK);
        assert_true(b.len - before <=
                    ev_pubsub_publish_cost(0, 0, 0, attrs, 1));
        for (i = 0; i < ARRAY_LEN(refused); i++) {
                before = b.len;
                if (ev_pubsub_publish_add(&b, BYTES("d"), NULL, 0, NULL, 0,
                                          &refused[i].attr, 1, errstr,
                                          sizeof(errstr)) != EV_ERR_PERMANENT)
                        fail_msg("case '%s' not refused", refused[i].name);
                assert_int_equal(b.len, before);
        }
        assert_int_equal(ev_pubsub_publish_finish(&b), EV_OK);
        root = load_body(&b);
        msg = json_array_get(json_object_get(root, "messages"), 0);
        assert_string_equal(json_string_value(json_object_get(msg, "data")),
                            "");
        got = json_object_get(msg, "attributes");
        assert_int_equal(json_object_size(got), 1 + ARRAY_LEN(attrs));
        assert_string_equal(json_string_value(json_object_get(got, "key")),
                            "k");
        for (i = 0; i < ARRAY_LEN(attrs); i++) {
                json_t *v = json_object_get(got, attrs[i].name);

                assert_true(json_is_string(v));
                assert_int_equal(json_string_length(v), attrs[i].len);
                assert_memory_equal(json_string_value(v), attrs[i].value,
                                    attrs[i].len);
        }
        msg = json_array_get(json_object_get(root, "messages"), 1);
        got = json_object_get(msg, "attributes");
        assert_int_equal(json_object_size(got), 1);
        assert_string_equal(
            json_string_value(json_object_get(got, "error.reason")),
            "not_json");
        json_decref(root);
        ev_pubsub_body_free(&b);
}

/* finish needs an open publish body; add after finish would corrupt it. */
static void test_pubsub_publish_finish(void **state)
{
        struct ev_pubsub_body b = {0};
        const struct pub_msg m = {BYTES("x"), NULL, 0, NULL, 0};
        const char *ids[] = {"a"};
        char errstr[128];

        (void)state;
        assert_int_equal(ev_pubsub_publish_finish(&b), EV_ERR_PERMANENT);
        assert_int_equal(b.len, 0);
        add_msg(&b, &m);
        assert_int_equal(ev_pubsub_publish_finish(&b), EV_OK);
        assert_int_equal(ev_pubsub_publish_finish(&b), EV_ERR_PERMANENT);
        assert_int_equal(ev_pubsub_publish_add(&b, BYTES("y"), NULL, 0, NULL, 0,
                                               NULL, 0, errstr, sizeof(errstr)),
                         EV_ERR_PERMANENT);
        assert_string_equal(b.data, "{\"messages\":[{\"data\":\"eA==\"}]}");
        /* Not a publish body at all. */
        assert_int_equal(ev_pubsub_ack_body(&b, ids, 1, -1), EV_OK);
        assert_int_equal(ev_pubsub_publish_finish(&b), EV_ERR_PERMANENT);
        assert_int_equal(ev_pubsub_publish_add(&b, BYTES("y"), NULL, 0, NULL, 0,
                                               NULL, 0, errstr, sizeof(errstr)),
                         EV_ERR_PERMANENT);
        ev_pubsub_body_free(&b);
}

/* The cost bounds what add appends, whatever the bytes; the worst case for
 * a key is a control character (\u00XX, 6 bytes). */
static void test_pubsub_publish_cost(void **state)
{
        static const char nasty[] = "\"\\\x01\x1f\n\x00\x7f/";
        struct ev_pubsub_body b = {0};
        uint32_t seed = 42;
        char data[300], key[64], okey[64];
        size_t round, i, total = 0;

        (void)state;
        for (round = 0; round < 3000; round++) {
                size_t len = 1 + next_rand(&seed) % sizeof(data);
                size_t key_len = next_rand(&seed) % sizeof(key);
                size_t okey_len = next_rand(&seed) % sizeof(okey);
                bool with_key = next_rand(&seed) % 4 != 0;
                bool with_okey = next_rand(&seed) % 4 != 0;
                size_t before = b.len, cost;
                char errstr[64];

                for (i = 0; i < len; i++)
                        data[i] = (char)next_rand(&seed);
                /* Mostly the worst bytes, sometimes plain ones. */
                for (i = 0; i < key_len; i++)
                        key[i] =
                            round % 3
                                ? nasty[next_rand(&seed) % (sizeof(nasty) - 1)]
                                : (char)('a' + i % 26);
                for (i = 0; i < okey_len; i++)
                        okey[i] = nasty[next_rand(&seed) % (sizeof(nasty) - 1)];
                cost = ev_pubsub_publish_cost(len, key_len, okey_len, NULL, 0);
                assert_int_equal(ev_pubsub_publish_add(
                                     &b, data, len, with_key ? key : NULL,
                                     key_len, with_okey ? okey : NULL, okey_len,
                                     NULL, 0, errstr, sizeof(errstr)),
                                 EV_OK);
                assert_true(b.len - before <= cost);
                total += cost;
                /* A request's worth, then a new one. */
                if (round % 100 == 99) {
                        assert_int_equal(ev_pubsub_publish_finish(&b), EV_OK);
                        assert_true(b.len <= total);
                        json_decref(load_body(&b));
                        ev_pubsub_body_reset(&b);
                        total = 0;
                }
        }
        /* A first message of only control characters: cost is then exact
         * up to what add leaves for later (separator and "]}"). */
        memset(key, '\x01', 40);
        ev_pubsub_body_reset(&b);
        {
                char errstr[64];

                assert_int_equal(ev_pubsub_publish_add(&b, "z", 1, key, 40, key,
                                                       40, NULL, 0, errstr,
                                                       sizeof(errstr)),
                                 EV_OK);
                assert_int_equal(ev_pubsub_publish_finish(&b), EV_OK);
                assert_int_equal(b.len,
                                 ev_pubsub_publish_cost(1, 40, 40, NULL, 0));
        }
        ev_pubsub_body_free(&b);

        /* Sizes beyond memory saturate instead of wrapping. */
        assert_int_equal(ev_pubsub_publish_cost(SIZE_MAX, 0, 0, NULL, 0),
                         SIZE_MAX);
        assert_int_equal(
            ev_pubsub_publish_cost(SIZE_MAX / 4 * 3, 0, 0, NULL, 0), SIZE_MAX);
        assert_int_equal(
            ev_pubsub_publish_cost(1, SIZE_MAX / 6 + 1, 0, NULL, 0), SIZE_MAX);
        assert_int_equal(ev_pubsub_publish_cost(1, 0, SIZE_MAX, NULL, 0),
                         SIZE_MAX);
        assert_true(ev_pubsub_publish_cost(0, 0, 0, NULL, 0) > 0);
        assert_true(ev_pubsub_publish_cost(3, 0, 0, NULL, 0) >=
                    ev_pubsub_publish_cost(1, 0, 0, NULL, 0));
}

/*
 * Publish answers.
 */

static void test_pubsub_parse_publish(void **state)
{
        static const struct {
                const char *name;
                const char *body;
                size_t len;
                size_t expected;
                enum ev_err err;
                const char *detail; /* ok: the last id; else in errstr */
        } cases[] = {
            {"one id", BYTES("{\"messageIds\":[\"17\"]}"), 1, EV_OK, "17"},
            {"three ids", BYTES("{\"messageIds\":[\"1\",\"2\",\"3\"]}"), 3,
             EV_OK, "3"},
            {"extra members", BYTES("{\"x\":{},\"messageIds\":[\"1\"]}"), 1,
             EV_OK, "1"},
            {"none expected, {}", BYTES("{}"), 0, EV_OK, NULL},
            {"none expected, []", BYTES("{\"messageIds\":[]}"), 0, EV_OK, NULL},
            {"fewer ids", BYTES("{\"messageIds\":[\"1\",\"2\"]}"), 3,
             EV_ERR_PERMANENT, "2 message ids for 3"},
            {"more ids", BYTES("{\"messageIds\":[\"1\",\"2\"]}"), 1,
             EV_ERR_PERMANENT, "2 message ids for 1"},
            {"{} for one", BYTES("{}"), 1, EV_ERR_PERMANENT, "messageIds"},
            {"not JSON", BYTES("<html>502</html>"), 1, EV_ERR_PERMANENT,
             "not JSON"},
            {"empty body", BYTES(""), 1, EV_ERR_PERMANENT, "not JSON"},
            {"truncated", BYTES("{\"messageIds\":[\"1\""), 1, EV_ERR_PERMANENT,
             "not JSON"},
            {"messageIds an object", BYTES("{\"messageIds\":{\"a\":\"1\"}}"), 1,
             EV_ERR_PERMANENT, "messageIds"},
            {"messageIds a string", BYTES("{\"messageIds\":\"1\"}"), 1,
             EV_ERR_PERMANENT, "messageIds"},
            {"id a number", BYTES("{\"messageIds\":[\"1\",2]}"), 2,
             EV_ERR_PERMANENT, "message id 1"},
            {"id null", BYTES("{\"messageIds\":[null]}"), 1, EV_ERR_PERMANENT,
             "not a string"},
            {"top level array", BYTES("[\"1\"]"), 1, EV_ERR_PERMANENT,
             "object"},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++) {
                char *body = copy_of(cases[i].body, cases[i].len);
                const char *ids[4] = {NULL};
                char errstr[256] = "";
                void *json = (void *)&failed;
                enum ev_err err;

                err = ev_pubsub_parse_publish(body, cases[i].len,
                                              cases[i].expected, ids, &json,
                                              errstr, sizeof(errstr));
                free(body);
                if (err != cases[i].err || (err && (json || !errstr[0])) ||
                    (!err && !json) ||
                    (err && cases[i].detail &&
                     !strstr(errstr, cases[i].detail)) ||
                    (!err && cases[i].detail &&
                     strcmp(ids[cases[i].expected - 1], cases[i].detail))) {
                        print_error("case '%s': err %d, '%s'\n", cases[i].name,
                                    (int)err, errstr);
                        failed++;
                }
                if (!err)
                        json_decref(json);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* The ids stay valid until the tree is released, the body's copy gone. */
static void test_pubsub_parse_publish_ids(void **state)
{
        static const char answer[] = "{\"messageIds\":[\"123\",\"456\"]}";
        char *body = copy_of(BYTES(answer));
        const char *ids[2];
        char errstr[64];
        void *json;

        (void)state;
        assert_int_equal(ev_pubsub_parse_publish(body, sizeof(answer) - 1, 2,
                                                 ids, &json, errstr,
                                                 sizeof(errstr)),
                         EV_OK);
        memset(body, 'x', 8);
        free(body);
        assert_string_equal(ids[0], "123");
        assert_string_equal(ids[1], "456");
        json_decref(json);
}

/*
 * Pull.
 */

static void test_pubsub_pull_body(void **state)
{
        static const struct {
                unsigned long max;
                const char *body;
        } cases[] = {
            {1, "{\"maxMessages\":1,\"returnImmediately\":true}"},
            {100, "{\"maxMessages\":100,\"returnImmediately\":true}"},
            {1000, "{\"maxMessages\":1000,\"returnImmediately\":true}"},
        };
        char buf[64], small[8];
        json_error_t jerr;
        json_t *root;
        size_t i, n;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++) {
                n = ev_pubsub_pull_body(buf, sizeof(buf), cases[i].max);
                assert_string_equal(buf, cases[i].body);
                assert_int_equal(n, strlen(cases[i].body));
                root = json_loads(buf, 0, &jerr);
                assert_non_null(root);
                assert_int_equal(
                    json_integer_value(json_object_get(root, "maxMessages")),
                    cases[i].max);
                assert_true(
                    json_is_true(json_object_get(root, "returnImmediately")));
                json_decref(root);
        }
        /* 64 bytes always suffice. */
        n = ev_pubsub_pull_body(buf, sizeof(buf), ULONG_MAX);
        assert_int_equal(n, strlen(buf));
        assert_true(n < sizeof(buf));
        assert_true(buf[n - 1] == '}');
        /* A short buffer still ends in a NUL. */
        n = ev_pubsub_pull_body(small, sizeof(small), 100);
        assert_int_equal(n, strlen(small));
        assert_int_equal(n, sizeof(small) - 1);
        assert_int_equal(ev_pubsub_pull_body(NULL, 0, 100), 0);
}

/* Parses body through an exact-length heap copy. */
static enum ev_err parse_pull(const char *body, size_t len,
                              struct ev_pubsub_received **msgs, size_t *cnt,
                              size_t *skipped, char *errstr, size_t errstr_size)
{
        char *copy = copy_of(body, len);
        enum ev_err err;

        err = ev_pubsub_parse_pull(copy, len, msgs, cnt, skipped, errstr,
                                   errstr_size);
        /* Nothing may point into the body. */
        memset(copy, '#', len);
        free(copy);
        return err;
}

struct want_msg {
        const char *ack_id;
        const char *message_id;
        const char *data;
        size_t len;
        const char *key; /* NULL: none */
        size_t key_len;
        long delivery_attempt;
};

struct pull_case {
        const char *name;
        const char *body;
        size_t len;
        size_t skipped;
        size_t cnt;
        struct want_msg want[3];
};

/* The answer's framing around its entries. */
#define RECEIVED(entries) "{\"receivedMessages\":[" entries "]}"

/* The cases an answer of one or more messages can hold. */
static const struct pull_case pull_cases[] = {
    {"{}", BYTES("{}"), 0, 0, {{0}}},
    {"empty array", BYTES(RECEIVED("")), 0, 0, {{0}}},
    {"one message",
     BYTES(RECEIVED("{\"ackId\":\"A1\",\"message\":{"
                    "\"data\":\"aGVsbG8=\",\"messageId\":\"11\","
                    "\"publishTime\":\"2026-11-22T10:15:30.123Z\"}}")),
     0,
     1,
     {{"A1", "11", BYTES("hello"), NULL, 0, 0}}},
    {"several, with attributes and delivery attempts",
     BYTES(RECEIVED("{\"ackId\":\"A1\",\"message\":{"
                    "\"data\":\"AAH/\",\"messageId\":\"1\","
                    "\"attributes\":{\"key\":\"k1\",\"other\":\"x\"}},"
                    "\"deliveryAttempt\":1},"
                    "{\"ackId\":\"A2\",\"message\":{"
                    "\"data\":\"Zm9v\",\"messageId\":\"2\","
                    "\"attributes\":{\"other\":\"x\"},\"orderingKey\":\"o\"},"
                    "\"deliveryAttempt\":5},"
                    "{\"ackId\":\"A3\",\"message\":{"
                    "\"data\":\"eA==\",\"messageId\":\"3\","
                    "\"attributes\":{\"key\":\"a\\u0000\\\"b\\u00e9\"}}}")),
     0,
     3,
     {{"A1", "1", BYTES("\0\x01\xff"), BYTES("k1"), 1},
      {"A2", "2", BYTES("foo"), NULL, 0, 5},
      {"A3", "3", BYTES("x"), BYTES("a\0\"b\xc3\xa9"), 0}}},
    {"missing data",
     BYTES(RECEIVED("{\"ackId\":\"A1\",\"message\":{\"messageId\":\"1\"}}")),
     0,
     1,
     {{"A1", "1", BYTES(""), NULL, 0, 0}}},
    {"no message at all",
     BYTES(RECEIVED("{\"ackId\":\"A1\"}")),
     0,
     1,
     {{"A1", "", BYTES(""), NULL, 0, 0}}},
    {"missing messageId",
     BYTES(RECEIVED("{\"ackId\":\"A1\",\"message\":{\"data\":\"eA==\"}}")),
     0,
     1,
     {{"A1", "", BYTES("x"), NULL, 0, 0}}},
    {"bad base64 kept raw",
     BYTES(RECEIVED("{\"ackId\":\"A1\",\"message\":{"
                    "\"data\":\"{not base64}\",\"messageId\":\"1\"}},"
                    "{\"ackId\":\"A2\",\"message\":{"
                    "\"data\":\"Zh==\",\"messageId\":\"2\"}},"
                    "{\"ackId\":\"A3\",\"message\":{"
                    "\"data\":\"a\\u0000b\\n\",\"messageId\":\"3\"}}")),
     0,
     3,
     {{"A1", "1", BYTES("{not base64}"), NULL, 0, 0},
      {"A2", "2", BYTES("Zh=="), NULL, 0, 0},
      {"A3", "3", BYTES("a\0b\n"), NULL, 0, 0}}},
    {"data not a string kept as text",
     BYTES(RECEIVED("{\"ackId\":\"A1\",\"message\":{\"data\":42}},"
                    "{\"ackId\":\"A2\",\"message\":{"
                    "\"data\":{\"a\": [1, true]}}},"
                    "{\"ackId\":\"A3\",\"message\":{\"data\":null}}")),
     0,
     3,
     {{"A1", "", BYTES("42"), NULL, 0, 0},
      {"A2", "", BYTES("{\"a\":[1,true]}"), NULL, 0, 0},
      {"A3", "", BYTES("null"), NULL, 0, 0}}},
    {"missing ackId skipped",
     BYTES(RECEIVED("{\"message\":{\"data\":\"eA==\",\"messageId\":\"1\"}},"
                    "{\"ackId\":\"A2\",\"message\":{"
                    "\"data\":\"eQ==\",\"messageId\":\"2\"}},"
                    "{\"ackId\":7,\"message\":{\"data\":\"eA==\"}},"
                    "{\"ackId\":\"\",\"message\":{\"data\":\"eA==\"}},"
                    "\"not an object\",null,"
                    "{\"ackId\":\"A3\",\"message\":{"
                    "\"data\":\"eg==\",\"messageId\":\"3\"}}")),
     5,
     2,
     {{"A2", "2", BYTES("y"), NULL, 0, 0},
      {"A3", "3", BYTES("z"), NULL, 0, 0}}},
    {"only entries without ackId",
     BYTES(RECEIVED("{\"message\":{}},{}")),
     2,
     0,
     {{0}}},
    {"odd field types",
     BYTES(RECEIVED("{\"ackId\":\"A1\",\"message\":{\"data\":\"eA==\","
                    "\"messageId\":5,\"attributes\":{\"key\":1}},"
                    "\"deliveryAttempt\":\"3\"},"
                    "{\"ackId\":\"A2\",\"message\":{\"data\":\"eA==\","
                    "\"attributes\":[\"key\"]},\"deliveryAttempt\":-4},"
                    "{\"ackId\":\"A3\",\"message\":{\"data\":\"eA==\","
                    "\"attributes\":\"key\"},\"deliveryAttempt\":1.5}")),
     0,
     3,
     {{"A1", "", BYTES("x"), NULL, 0, 3},
      {"A2", "", BYTES("x"), NULL, 0, 0},
      {"A3", "", BYTES("x"), NULL, 0, 0}}},
    {"unknown members ignored",
     BYTES("{\"next\":1,\"receivedMessages\":[{\"ackId\":\"A1\",\"message\":"
           "{\"data\":\"eA==\",\"new\":{}},\"x\":[]}]}"),
     0,
     1,
     {{"A1", "", BYTES("x"), NULL, 0, 0}}},
};

static bool check_received(const char *name, const struct ev_pubsub_received *m,
                           const struct want_msg *w)
{
        if (strcmp(m->ack_id, w->ack_id) ||
            strcmp(m->message_id, w->message_id) || m->len != w->len ||
            memcmp(m->data, w->data, w->len) || m->data[m->len] != '\0' ||
            m->delivery_attempt != w->delivery_attempt) {
                print_error("case '%s': message %s differs\n", name, w->ack_id);
                return false;
        }
        if ((m->key == NULL) != (w->key == NULL) ||
            (w->key &&
             (m->key_len != w->key_len || memcmp(m->key, w->key, w->key_len) ||
              m->key[m->key_len] != '\0'))) {
                print_error("case '%s': key of %s differs\n", name, w->ack_id);
                return false;
        }
        return true;
}

static void test_pubsub_parse_pull(void **state)
{
        size_t i, j, failed = 0;

        (void)state;
        for (i = 0; i < ARRAY_LEN(pull_cases); i++) {
                struct ev_pubsub_received *msgs = NULL;
                size_t cnt = 99, skipped = 99;
                char errstr[256] = "";
                enum ev_err err;

                err = parse_pull(pull_cases[i].body, pull_cases[i].len, &msgs,
                                 &cnt, &skipped, errstr, sizeof(errstr));
                if (err || cnt != pull_cases[i].cnt ||
                    skipped != pull_cases[i].skipped || (!cnt && msgs)) {
                        print_error("case '%s': err %d (%s), %zu messages, "
                                    "%zu skipped\n",
                                    pull_cases[i].name, (int)err, errstr, cnt,
                                    skipped);
                        failed++;
                        ev_pubsub_received_free(msgs, cnt);
                        continue;
                }
                for (j = 0; j < cnt; j++)
                        if (!check_received(pull_cases[i].name, &msgs[j],
                                            &pull_cases[i].want[j]))
                                failed++;
                ev_pubsub_received_free(msgs, cnt);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* The publish time, for a dead letter's source.timestamp: as the service
 * wrote it, or NULL when it is missing or not a string. */
static void test_pubsub_parse_pull_publish_time(void **state)
{
        static const char body[] =
            RECEIVED("{\"ackId\":\"A1\",\"message\":{\"data\":\"eA==\","
                     "\"publishTime\":\"2026-11-22T10:15:30.123456Z\"}},"
                     "{\"ackId\":\"A2\",\"message\":{\"data\":\"eA==\"}},"
                     "{\"ackId\":\"A3\",\"message\":{\"publishTime\":7}}");
        struct ev_pubsub_received *msgs = NULL;
        size_t cnt = 0, skipped = 0;
        char errstr[256];

        (void)state;
        assert_int_equal(parse_pull(body, sizeof(body) - 1, &msgs, &cnt,
                                    &skipped, errstr, sizeof(errstr)),
                         EV_OK);
        assert_int_equal(cnt, 3);
        assert_string_equal(msgs[0].publish_time,
                            "2026-11-22T10:15:30.123456Z");
        assert_null(msgs[1].publish_time);
        assert_null(msgs[2].publish_time);
        ev_pubsub_received_free(msgs, cnt);
}

static void test_pubsub_parse_pull_errors(void **state)
{
        static const struct {
                const char *name;
                const char *body;
                size_t len;
        } cases[] = {
            {"empty body", BYTES("")},
            {"whitespace", BYTES(" \n")},
            {"HTML", BYTES("<html><body>502 Bad Gateway</body></html>")},
            {"malformed", BYTES("{\"receivedMessages\":[{\"ackId\":}]}")},
            {"truncated",
             BYTES("{\"receivedMessages\":[{\"ackId\":\"A1\",\"message\":{"
                   "\"data\":\"eA")},
            {"truncated after an entry",
             BYTES("{\"receivedMessages\":[{\"ackId\":\"A1\"},")},
            {"trailing garbage", BYTES("{}x")},
            {"raw NUL", BYTES("{\"receivedMessages\":[]}\0")},
            {"receivedMessages an object",
             BYTES("{\"receivedMessages\":{\"ackId\":\"A1\"}}")},
            {"receivedMessages a string",
             BYTES("{\"receivedMessages\":\"x\"}")},
            {"receivedMessages null", BYTES("{\"receivedMessages\":null}")},
            {"top level array", BYTES("[{\"ackId\":\"A1\"}]")},
            {"top level string", BYTES("\"{}\"")},
            {"top level null", BYTES("null")},
            {"invalid UTF-8", BYTES("{\"x\":\"\xff\"}")},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++) {
                struct ev_pubsub_received *msgs = (void *)&failed;
                size_t cnt = 99, skipped = 99;
                char errstr[256] = "";
                enum ev_err err;

                err = parse_pull(cases[i].body, cases[i].len, &msgs, &cnt,
                                 &skipped, errstr, sizeof(errstr));
                if (err != EV_ERR_TRANSIENT || msgs || cnt || !errstr[0] ||
                    strchr(errstr, '\n')) {
                        print_error("case '%s': err %d, '%s'\n", cases[i].name,
                                    (int)err, errstr);
                        failed++;
                }
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* A full pull answer is several MB: 1000 messages of 7 KB, beyond the
 * 10 MB a publish may carry once encoded. */
static void test_pubsub_parse_pull_big(void **state)
{
        enum { MSGS = 1000, SIZE = 7500 };
        size_t enc_len = ev_base64_encoded_len(SIZE, EV_BASE64_STD);
        size_t cap = MSGS * (enc_len + 200) + 64, len = 0, i, j;
        char *body = malloc(cap), *enc = malloc(enc_len + 1);
        unsigned char *data = malloc(SIZE);
        struct ev_pubsub_received *msgs;
        size_t cnt, skipped;
        char errstr[256];

        (void)state;
        assert_non_null(body);
        assert_non_null(enc);
        assert_non_null(data);
        len +=
            (size_t)snprintf(body + len, cap - len, "{\"receivedMessages\":[");
        for (i = 0; i < MSGS; i++) {
                for (j = 0; j < SIZE; j++)
                        data[j] = (unsigned char)(i * 7 + j);
                ev_base64_encode(data, SIZE, enc, EV_BASE64_STD);
                len += (size_t)snprintf(
                    body + len, cap - len,
                    "%s{\"ackId\":\"ack-%zu\",\"message\":{\"data\":\"%s\","
                    "\"messageId\":\"%zu\",\"attributes\":{\"key\":\"k%zu\"}},"
                    "\"deliveryAttempt\":%zu}",
                    i ? "," : "", i, enc, i, i, i % 5 + 1);
                assert_true(len < cap);
        }
        len += (size_t)snprintf(body + len, cap - len, "]}");
        assert_true(len < cap);
        assert_true(len > 10 * 1000 * 1000);

        assert_int_equal(ev_pubsub_parse_pull(body, len, &msgs, &cnt, &skipped,
                                              errstr, sizeof(errstr)),
                         EV_OK);
        assert_int_equal(cnt, MSGS);
        assert_int_equal(skipped, 0);
        for (i = 0; i < MSGS; i += 97) {
                char want[32];

                for (j = 0; j < SIZE; j++)
                        data[j] = (unsigned char)(i * 7 + j);
                assert_int_equal(msgs[i].len, SIZE);
                assert_memory_equal(msgs[i].data, data, SIZE);
                snprintf(want, sizeof(want), "ack-%zu", i);
                assert_string_equal(msgs[i].ack_id, want);
                snprintf(want, sizeof(want), "k%zu", i);
                assert_string_equal(msgs[i].key, want);
                assert_int_equal(msgs[i].delivery_attempt, i % 5 + 1);
        }
        ev_pubsub_received_free(msgs, cnt);
        ev_pubsub_received_free(NULL, 0);
        free(data);
        free(enc);
        free(body);
}

/*
 * Acknowledge and modifyAckDeadline.
 */

static void test_pubsub_ack_body(void **state)
{
        static const char *const ids[] = {"A1", "b/c+d=", "q\"uote\\",
                                          "caf\xc3\xa9"};
        static const struct {
                const char *name;
                size_t cnt;
                int deadline;
                enum ev_err err;
        } cases[] = {
            {"acknowledge", 4, -1, EV_OK},
            {"acknowledge, -100", 1, -100, EV_OK},
            {"nack (deadline 0)", 4, 0, EV_OK},
            {"extend 600", 2, 600, EV_OK},
            {"extend 10", 4, 10, EV_OK},
            {"beyond 600", 1, 601, EV_ERR_PERMANENT},
            {"no ids", 0, -1, EV_ERR_PERMANENT},
        };
        struct ev_pubsub_body b = {0};
        size_t i, j, failed = 0;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++) {
                enum ev_err err = ev_pubsub_ack_body(&b, ids, cases[i].cnt,
                                                     cases[i].deadline);
                json_t *root, *arr, *dl;

                if (err != cases[i].err) {
                        print_error("case '%s': err %d\n", cases[i].name,
                                    (int)err);
                        failed++;
                        continue;
                }
                if (err)
                        continue;
                root = load_body(&b);
                arr = json_object_get(root, "ackIds");
                dl = json_object_get(root, "ackDeadlineSeconds");
                if (json_array_size(arr) != cases[i].cnt ||
                    (cases[i].deadline < 0
                         ? dl != NULL || json_object_size(root) != 1
                         : json_integer_value(dl) != cases[i].deadline ||
                               !json_is_integer(dl) ||
                               json_object_size(root) != 2)) {
                        print_error("case '%s': %s\n", cases[i].name, b.data);
                        failed++;
                }
                for (j = 0; j < cases[i].cnt; j++)
                        if (strcmp(json_string_value(json_array_get(arr, j)),
                                   ids[j])) {
                                print_error("case '%s': id %zu\n",
                                            cases[i].name, j);
                                failed++;
                        }
                json_decref(root);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
        ev_pubsub_body_free(&b);
}

/* The request limit: 2500 ids pass, 2501 do not. */
static void test_pubsub_ack_body_limit(void **state)
{
        static const char *ids[EV_PUBSUB_MAX_ACK_IDS + 1];
        char(*names)[48] = malloc((EV_PUBSUB_MAX_ACK_IDS + 1) * 48);
        struct ev_pubsub_body b = {0};
        const char *bad[] = {"ok", "a\xff"};
        const char *null_id[] = {"ok", NULL};
        json_t *root;
        size_t i;

        (void)state;
        assert_non_null(names);
        for (i = 0; i <= EV_PUBSUB_MAX_ACK_IDS; i++) {
                snprintf(names[i], 48, "projects/p/subscriptions/s:%zu", i);
                ids[i] = names[i];
        }
        assert_int_equal(ev_pubsub_ack_body(&b, ids, EV_PUBSUB_MAX_ACK_IDS, 0),
                         EV_OK);
        root = load_body(&b);
        assert_int_equal(json_array_size(json_object_get(root, "ackIds")),
                         EV_PUBSUB_MAX_ACK_IDS);
        json_decref(root);
        assert_int_equal(
            ev_pubsub_ack_body(&b, ids, EV_PUBSUB_MAX_ACK_IDS + 1, -1),
            EV_ERR_PERMANENT);
        assert_int_equal(ev_pubsub_ack_body(&b, bad, 2, -1), EV_ERR_PERMANENT);
        assert_int_equal(ev_pubsub_ack_body(&b, null_id, 2, -1),
                         EV_ERR_PERMANENT);
        /* A body reused for a smaller request holds only that request. */
        assert_int_equal(ev_pubsub_ack_body(&b, ids, 1, -1), EV_OK);
        assert_string_equal(b.data,
                            "{\"ackIds\":[\"projects/p/subscriptions/s:0\"]}");
        ev_pubsub_body_free(&b);
        free(names);
}

static void test_pubsub_subscription_body(void **state)
{
        struct ev_pubsub_body b = {0};
        json_t *root;

        (void)state;
        assert_int_equal(
            ev_pubsub_subscription_body(&b, "my-project", "events", 60, false),
            EV_OK);
        root = load_body(&b);
        assert_int_equal(json_object_size(root), 2);
        assert_string_equal(json_string_value(json_object_get(root, "topic")),
                            "projects/my-project/topics/events");
        assert_int_equal(
            json_integer_value(json_object_get(root, "ackDeadlineSeconds")),
            60);
        assert_null(json_object_get(root, "enableMessageOrdering"));
        json_decref(root);

        assert_int_equal(ev_pubsub_subscription_body(&b, "example.com:proj-1",
                                                     "t.1~x", 600, true),
                         EV_OK);
        root = load_body(&b);
        assert_int_equal(json_object_size(root), 3);
        assert_string_equal(json_string_value(json_object_get(root, "topic")),
                            "projects/example.com:proj-1/topics/t.1~x");
        assert_int_equal(
            json_integer_value(json_object_get(root, "ackDeadlineSeconds")),
            600);
        assert_true(
            json_is_true(json_object_get(root, "enableMessageOrdering")));
        json_decref(root);

        assert_int_equal(
            ev_pubsub_subscription_body(&b, "my-project", "events", 10, true),
            EV_OK);
        assert_int_equal(
            ev_pubsub_subscription_body(&b, "my-project", "events", 0, false),
            EV_OK);
        assert_int_equal(ev_pubsub_subscription_body(&b, "my-project",
                                                     "ev\"ents", 60, false),
                         EV_ERR_PERMANENT);
        assert_int_equal(
            ev_pubsub_subscription_body(&b, "My Project", "events", 60, false),
            EV_ERR_PERMANENT);
        assert_int_equal(
            ev_pubsub_subscription_body(&b, "my-project", "events", 9, false),
            EV_ERR_PERMANENT);
        assert_int_equal(
            ev_pubsub_subscription_body(&b, "my-project", "events", 601, false),
            EV_ERR_PERMANENT);
        ev_pubsub_body_free(&b);
}

/*
 * Errors.
 */

#define GOOGLE_404                                                             \
        "{\n  \"error\": {\n    \"code\": 404,\n    \"message\": "             \
        "\"Resource not found (resource=events-sub).\",\n    \"status\": "     \
        "\"NOT_FOUND\"\n  }\n}\n"

#define HTML_502                                                               \
        "<html><head>\r\n<title>502 Bad Gateway</title></head>\n"              \
        "<body>\tbad gateway</body></html>\n"

static const struct {
        const char *name;
        long status;
        const char *body;
        size_t len;
        const char *text;
} error_cases[] = {
    {"Google 404", 404, BYTES(GOOGLE_404),
     "HTTP 404 NOT_FOUND: Resource not found (resource=events-sub)."},
    {"Google 409", 409,
     BYTES("{\"error\":{\"code\":409,\"message\":\"Resource already exists "
           "in the project (resource=s).\",\"status\":\"ALREADY_EXISTS\"}}"),
     "HTTP 409 ALREADY_EXISTS: Resource already exists in the project "
     "(resource=s)."},
    {"no status", 400, BYTES("{\"error\":{\"code\":400,\"message\":\"bad\"}}"),
     "HTTP 400: bad"},
    {"no message", 403, BYTES("{\"error\":{\"status\":\"PERMISSION_DENIED\"}}"),
     "HTTP 403 PERMISSION_DENIED"},
    {"controls in the message", 400,
     BYTES("{\"error\":{\"message\":\"line 1\\nline 2\\r\\u001b[2J\\ttab "
           "\\u0000 back\\\\slash \\u2028\",\"status\":\"INVALID_ARGUMENT\"}}"),
     "HTTP 400 INVALID_ARGUMENT: line 1\\nline 2\\r\\x1b[2J\\ttab \\x00 "
     "back\\\\slash \\u2028"},
    {"controls in the status", 400,
     BYTES("{\"error\":{\"message\":\"m\",\"status\":\"A\\nB\"}}"),
     "HTTP 400 A\\nB: m"},
    {"HTML", 502, BYTES(HTML_502),
     "HTTP 502: <html><head>\\r\\n<title>502 Bad Gateway</title></head>\\n"
     "<body>\\tbad gateway</body></html>\\n"},
    {"empty body", 502, BYTES(""), "HTTP 502"},
    {"NULL body", 503, NULL, 0, "HTTP 503"},
    {"JSON, not an error", 500, BYTES("{\"foo\":1}"), "HTTP 500: {\"foo\":1}"},
    {"error not an object", 500, BYTES("{\"error\":\"boom\"}"),
     "HTTP 500: {\"error\":\"boom\"}"},
    {"error without message or status", 500,
     BYTES("{\"error\":{\"code\":500}}"),
     "HTTP 500: {\"error\":{\"code\":500}}"},
    {"binary body", 500, BYTES("\xff\x00\x1b"), "HTTP 500: \\xff\\x00\\x1b"},
    {"status 0", 0, BYTES(""), "HTTP 0"},
};

static void test_pubsub_error_text(void **state)
{
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < ARRAY_LEN(error_cases); i++) {
                char *body = error_cases[i].body ? copy_of(error_cases[i].body,
                                                           error_cases[i].len)
                                                 : NULL;
                char buf[512];

                memset(buf, 'X', sizeof(buf));
                ev_pubsub_error_text(error_cases[i].status, body,
                                     error_cases[i].len, buf, sizeof(buf));
                free(body);
                if (strcmp(buf, error_cases[i].text)) {
                        print_error("case '%s':\n got '%s'\nwant '%s'\n",
                                    error_cases[i].name, buf,
                                    error_cases[i].text);
                        failed++;
                }
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* A long non-Google body shows its first 200 bytes only. */
static void test_pubsub_error_text_long(void **state)
{
        char *body = malloc(5000);
        char buf[1024], want[256];

        (void)state;
        assert_non_null(body);
        memset(body, 'a', 5000);
        ev_pubsub_error_text(502, body, 5000, buf, sizeof(buf));
        snprintf(want, sizeof(want), "HTTP 502: %.200s", body);
        assert_string_equal(buf, want);
        /* Escapes count against the input, not the output. */
        memset(body, '\n', 5000);
        ev_pubsub_error_text(502, body, 5000, buf, sizeof(buf));
        assert_int_equal(strlen(buf), strlen("HTTP 502: ") + 2 * 200);
        assert_null(strchr(buf, '\n'));
        free(body);
}

/* True when n bytes of the escaped line text end between two characters or
 * escapes ("\\n", "\\x1b", "\\u2028", a UTF-8 sequence), not inside one. */
static bool is_boundary(const char *text, size_t n)
{
        const unsigned char *s = (const unsigned char *)text;
        size_t i = 0;

        while (i < n) {
                if (s[i] == '\\')
                        i += s[i + 1] == 'x' ? 4 : s[i + 1] == 'u' ? 6 : 2;
                else if (s[i] >= 0xf0)
                        i += 4;
                else if (s[i] >= 0xe0)
                        i += 3;
                else if (s[i] >= 0xc0)
                        i += 2;
                else
                        i++;
        }
        return i == n;
}

/* Every buffer size gives a NUL-terminated prefix of the whole line, and no
 * escape cut in half. */
static void test_pubsub_error_text_truncation(void **state)
{
        size_t i, size, failed = 0;

        (void)state;
        for (i = 0; i < ARRAY_LEN(error_cases); i++) {
                const char *full = error_cases[i].text;

                for (size = 0; size <= strlen(full) + 1; size++) {
                        char *buf = malloc(size ? size : 1);

                        assert_non_null(buf);
                        memset(buf, 'X', size ? size : 1);
                        ev_pubsub_error_text(error_cases[i].status,
                                             error_cases[i].body,
                                             error_cases[i].len, buf, size);
                        if (size == 0) {
                                if (buf[0] != 'X') {
                                        print_error("case '%s': size 0 "
                                                    "written\n",
                                                    error_cases[i].name);
                                        failed++;
                                }
                        } else if (!memchr(buf, '\0', size) ||
                                   strncmp(full, buf, strlen(buf)) ||
                                   (size > strlen(full) && strcmp(buf, full))) {
                                print_error("case '%s', size %zu: '%.*s'\n",
                                            error_cases[i].name, size,
                                            (int)size, buf);
                                failed++;
                        } else if (!is_boundary(full, strlen(buf))) {
                                print_error("case '%s', size %zu: split "
                                            "escape '%s'\n",
                                            error_cases[i].name, size, buf);
                                failed++;
                        }
                        free(buf);
                }
        }
        assert_int_equal(failed, 0);
}

static void test_pubsub_error_status(void **state)
{
        static const struct {
                const char *name;
                const char *body;
                size_t len;
                size_t size;
                const char *status;
        } cases[] = {
            {"404", BYTES(GOOGLE_404), 64, "NOT_FOUND"},
            {"409",
             BYTES("{\"error\":{\"code\":409,\"status\":\"ALREADY_EXISTS\"}}"),
             64, "ALREADY_EXISTS"},
            {"exact fit", BYTES("{\"error\":{\"status\":\"NOT_FOUND\"}}"), 10,
             "NOT_FOUND"},
            {"one short", BYTES("{\"error\":{\"status\":\"NOT_FOUND\"}}"), 9,
             ""},
            {"no status", BYTES("{\"error\":{\"code\":404}}"), 64, ""},
            {"status not a string", BYTES("{\"error\":{\"status\":404}}"), 64,
             ""},
            {"odd characters",
             BYTES("{\"error\":{\"status\":\"NOT FOUND\\n\"}}"), 64, ""},
            {"error not an object", BYTES("{\"error\":\"NOT_FOUND\"}"), 64, ""},
            {"HTML", BYTES(HTML_502), 64, ""},
            {"empty", BYTES(""), 64, ""},
            {"truncated JSON", BYTES("{\"error\":{\"status\":\"NOT_FOUND\""),
             64, ""},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++) {
                char *body = copy_of(cases[i].body, cases[i].len);
                char *buf = malloc(cases[i].size);

                assert_non_null(buf);
                memset(buf, 'X', cases[i].size);
                ev_pubsub_error_status(body, cases[i].len, buf, cases[i].size);
                if (strcmp(buf, cases[i].status)) {
                        print_error("case '%s': '%s'\n", cases[i].name, buf);
                        failed++;
                }
                free(buf);
                free(body);
        }
        /* Size 0 writes nothing. */
        {
                char c = 'X';

                ev_pubsub_error_status(BYTES(GOOGLE_404), &c, 0);
                assert_int_equal(c, 'X');
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/*
 * Retries.
 */

static void test_pubsub_classify(void **state)
{
        static const struct {
                enum ev_err transport;
                long status;
                enum ev_err err;
        } cases[] = {
            {EV_OK, 200, EV_OK},
            {EV_OK, 204, EV_OK},
            {EV_OK, 299, EV_OK},
            {EV_OK, 100, EV_ERR_PERMANENT},
            {EV_OK, 301, EV_ERR_PERMANENT},
            {EV_OK, 400, EV_ERR_PERMANENT},
            {EV_OK, 401, EV_ERR_PERMANENT},
            {EV_OK, 403, EV_ERR_PERMANENT},
            {EV_OK, 404, EV_ERR_PERMANENT},
            {EV_OK, 408, EV_ERR_TRANSIENT},
            {EV_OK, 409, EV_ERR_PERMANENT},
            {EV_OK, 413, EV_ERR_PERMANENT},
            {EV_OK, 429, EV_ERR_TRANSIENT},
            {EV_OK, 499, EV_ERR_TRANSIENT},
            {EV_OK, 500, EV_ERR_TRANSIENT},
            {EV_OK, 502, EV_ERR_TRANSIENT},
            {EV_OK, 503, EV_ERR_TRANSIENT},
            {EV_OK, 504, EV_ERR_TRANSIENT},
            {EV_OK, 599, EV_ERR_TRANSIENT},
            {EV_OK, 0, EV_ERR_PERMANENT},
            {EV_ERR_TRANSIENT, 0, EV_ERR_TRANSIENT},
            {EV_ERR_TRANSIENT, 200, EV_ERR_TRANSIENT},
            {EV_ERR_IO, 0, EV_ERR_TRANSIENT},
            {EV_ERR_PERMANENT, 404, EV_ERR_TRANSIENT},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++) {
                enum ev_err err =
                    ev_pubsub_classify(cases[i].transport, cases[i].status);

                if (err != cases[i].err) {
                        print_error("transport %d, status %ld: %d, want %d\n",
                                    (int)cases[i].transport, cases[i].status,
                                    (int)err, (int)cases[i].err);
                        failed++;
                }
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

static void test_pubsub_backoff(void **state)
{
        static const unsigned huge[] = {7,  8,  20, 31,   32,
                                        33, 63, 64, 1000, UINT_MAX};
        double jitter;
        unsigned a;
        size_t i;

        (void)state;
        /* First retry: 0.1 s scaled into [0.05, 0.1]. */
        assert_near(ev_pubsub_backoff(0, 0.0), 0.05);
        assert_true(ev_pubsub_backoff(0, 0.999999) < 0.1);
        assert_true(ev_pubsub_backoff(0, 0.999999) > 0.0999);
        /* Doubling up to the cap. */
        for (a = 0; a < 6; a++)
                assert_near(ev_pubsub_backoff(a + 1, 0.5),
                            2 * ev_pubsub_backoff(a, 0.5));
        assert_near(ev_pubsub_backoff(6, 0.0), 3.2);
        assert_near(ev_pubsub_backoff(6, 1.0), 6.4);
        /* Capped at 10 s: between 5 and 10. */
        for (i = 0; i < ARRAY_LEN(huge); i++) {
                double lo = ev_pubsub_backoff(huge[i], 0.0);
                double hi = ev_pubsub_backoff(huge[i], 0.999999);

                assert_near(lo, 5.0);
                assert_true(hi <= 10.0 && hi > 9.999);
                assert_true(isfinite(hi));
        }
        /* Jitter spreads each attempt over [base / 2, base). */
        for (a = 0; a < 12; a++) {
                double base = a >= 7 ? 10.0 : 0.1 * (double)(1u << a);

                for (jitter = 0.0; jitter < 1.0; jitter += 0.0625) {
                        double s = ev_pubsub_backoff(a, jitter);

                        assert_true(s >= base / 2 - 1e-12);
                        assert_true(s < base);
                }
                /* Out of range jitter stays inside the bounds. */
                assert_true(ev_pubsub_backoff(a, -1.0) >= base / 2 - 1e-12);
                assert_true(ev_pubsub_backoff(a, 7.0) <= base + 1e-12);
                assert_true(ev_pubsub_backoff(a, NAN) >= base / 2 - 1e-12);
                assert_true(ev_pubsub_backoff(a, NAN) <= base + 1e-12);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pubsub_valid_id),
            cmocka_unit_test(test_pubsub_valid_project),
            cmocka_unit_test(test_pubsub_publish_one),
            cmocka_unit_test(test_pubsub_publish_several),
            cmocka_unit_test(test_pubsub_publish_big),
            cmocka_unit_test(test_pubsub_publish_refused),
            cmocka_unit_test(test_pubsub_publish_finish),
            cmocka_unit_test(test_pubsub_publish_cost),
            cmocka_unit_test(test_pubsub_publish_attributes),
            cmocka_unit_test(test_pubsub_parse_publish),
            cmocka_unit_test(test_pubsub_parse_publish_ids),
            cmocka_unit_test(test_pubsub_pull_body),
            cmocka_unit_test(test_pubsub_parse_pull),
            cmocka_unit_test(test_pubsub_parse_pull_publish_time),
            cmocka_unit_test(test_pubsub_parse_pull_errors),
            cmocka_unit_test(test_pubsub_parse_pull_big),
            cmocka_unit_test(test_pubsub_ack_body),
            cmocka_unit_test(test_pubsub_ack_body_limit),
            cmocka_unit_test(test_pubsub_subscription_body),
            cmocka_unit_test(test_pubsub_error_text),
            cmocka_unit_test(test_pubsub_error_text_long),
            cmocka_unit_test(test_pubsub_error_text_truncation),
            cmocka_unit_test(test_pubsub_error_status),
            cmocka_unit_test(test_pubsub_classify),
            cmocka_unit_test(test_pubsub_backoff),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
