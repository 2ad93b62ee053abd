/*
 * Unit tests for common/transport/firestore_api: ids and names, events
 * encoded as Firestore documents (read back with jansson), the service's
 * limits, dedupe and the split of commits, and answers as the service
 * sends them. Answers are parsed from heap copies of exactly their
 * length, with no NUL after them, so that ASan reports any read past len.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "firestore_api.h"
#include "pubsub_api.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define DATABASE "projects/proj-one/databases/(default)"
#define DOCS     DATABASE "/documents/"
/* 2026-11-29T15:40:00.123Z */
#define NOW_MS INT64_C(1795966800123)

static const struct ev_firestore_origin kafka_origin = {
    .transport = "kafka",
    .topic = "f-topic-1",
    .partition = 3,
    .offset = 42,
};

static const struct ev_firestore_origin bare_origin = {
    .transport = "kafka",
};

static const struct ev_firestore_origin pubsub_origin = {
    .transport = "pubsub",
    .subscription = "sub-1",
    .message_id = "1234567890",
};

/* An exact-length heap copy of s[0..len); the caller frees it. */
static char *copy_of(const char *s, size_t len)
{
        char *buf = malloc(len ? len : 1);

        assert_non_null(buf);
        if (len)
                memcpy(buf, s, len);
        return buf;
}

static json_t *parse(const char *text, size_t flags)
{
        json_error_t jerr;
        json_t *root = json_loads(text, flags | JSON_ALLOW_NUL, &jerr);

        if (!root)
                print_error("not JSON: %s: %s\n", jerr.text, text);
        assert_non_null(root);
        return root;
}

/* The result of one ev_firestore_add_write on a fresh body. */
struct added {
        struct ev_pubsub_body b;
        struct ev_firestore_span span;
        enum ev_err err;
        char errstr[512];
        json_t *write; /* the write read back, when err is EV_OK */
};

static void add_event(struct added *a, json_t *root, json_t *original,
                      const struct ev_firestore_origin *origin)
{
        struct ev_firestore_event ev = {root, original, *origin};

        memset(a, 0, sizeof(*a));
        a->err = ev_firestore_add_write(&a->b, DATABASE, "default", &ev, NOW_MS,
                                        &a->span, a->errstr, sizeof(a->errstr));
        if (a->err) {
                /* b as it was: empty. */
                assert_int_equal(a->b.len, 0);
                return;
        }
        assert_int_equal(a->span.off, 0);
        assert_int_equal(a->span.len, a->b.len);
        assert_int_equal(strlen(a->b.data), a->b.len);
        a->write = parse(a->b.data, 0);
}

/* add_event of an event's text. */
static void add_text(struct added *a, const char *text,
                     const struct ev_firestore_origin *origin)
{
        json_t *root = parse(text, 0);

        add_event(a, root, NULL, origin);
        json_decref(root);
}

static void added_free(struct added *a)
{
        json_decref(a->write);
        ev_pubsub_body_free(&a->b);
}

static const char *doc_name(const struct added *a)
{
        return json_string_value(
            json_object_get(json_object_get(a->write, "update"), "name"));
}

static json_t *field(const struct added *a, const char *name)
{
        return json_object_get(
            json_object_get(json_object_get(a->write, "update"), "fields"),
            name);
}

/* The field's value as compact JSON text, for comparisons; freed by the
 * caller. */
static char *field_text(const struct added *a, const char *name)
{
        json_t *v = field(a, name);

        if (!v)
                print_error("no field %s\n", name);
        assert_non_null(v);
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

static void assert_no_field(const struct added *a, const char *name)
{
        assert_null(field(a, name));
}

static void assert_field(const struct added *a, const char *name,
                         const char *want)
{
        char *got = field_text(a, name);
        json_t *w = parse(want, JSON_DECODE_ANY);
        char *want_text =
            json_dumps(w, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);

        if (strcmp(got, want_text))
                print_error("field %s: %s, want %s\n", name, got, want_text);
        assert_string_equal(got, want_text);
        free(got);
        free(want_text);
        json_decref(w);
}

static void test_valid_tenant(void **state)
{
        static const struct {
                const char *s;
                bool ok;
        } cases[] = {
            {"acme", true},
            {"a", true},
            {"A-Z_a-z_0-9", true},
            {"-", true},
            {"__x_", true},
            {"__x__", false}, /* tenants/{tenant_id} is a document id */
            {"", false},
            {"a/b", false},
            {"a.b", false},
            {"a b", false},
            {"é", false},
            {"a:b", false},
            {"..", false},
        };
        char longest[EV_FIRESTORE_MAX_TENANT + 2];
        size_t i;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++)
                assert_int_equal(
                    ev_firestore_valid_tenant(cases[i].s, strlen(cases[i].s)),
                    cases[i].ok);
        memset(longest, 't', sizeof(longest));
        assert_true(
            ev_firestore_valid_tenant(longest, EV_FIRESTORE_MAX_TENANT));
        assert_false(
            ev_firestore_valid_tenant(longest, EV_FIRESTORE_MAX_TENANT + 1));
        /* An embedded NUL is not part of an id. */
        assert_false(ev_firestore_valid_tenant("a\0b", 3));
}

static void test_valid_log_id(void **state)
{
        static const struct {
                const char *s;
                bool ok;
        } cases[] = {
            {"123", true},       {"550e8400-e29b-41d4-a716-446655440000", true},
            {"a.b:c_d-e", true}, {"...", true},
            {"_x_", true},       {"__x_", true},
            {"___", true},       {".", false},
            {"..", false},       {"__x__", false},
            {"____", false},     {"", false},
            {"a/b", false},      {"a b", false},
            {"a%2F", false},     {"ü", false},
        };
        char longest[EV_FIRESTORE_MAX_LOG_ID + 2];
        size_t i;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++) {
                bool ok =
                    ev_firestore_valid_log_id(cases[i].s, strlen(cases[i].s));

                if (ok != cases[i].ok)
                        print_error("'%s': %d\n", cases[i].s, ok);
                assert_int_equal(ok, cases[i].ok);
        }
        memset(longest, '7', sizeof(longest));
        assert_true(
            ev_firestore_valid_log_id(longest, EV_FIRESTORE_MAX_LOG_ID));
        assert_false(
            ev_firestore_valid_log_id(longest, EV_FIRESTORE_MAX_LOG_ID + 1));
        assert_false(ev_firestore_valid_log_id("a\0b", 3));
}

static void test_valid_database(void **state)
{
        static const struct {
                const char *s;
                bool ok;
        } cases[] = {
            {"(default)", true}, {"logs", true},  {"my-db-2", true},
            {"abc", false},      {"Logs", false}, {"1abc", false},
            {"abc-", false},     {"ab_c", false}, {"(other)", false},
            {"", false},         {"a/bc", false},
        };
        char longest[65];
        size_t i;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++)
                assert_int_equal(ev_firestore_valid_database(cases[i].s),
                                 cases[i].ok);
        assert_false(ev_firestore_valid_database(NULL));
        memset(longest, 'd', sizeof(longest));
        longest[63] = '\0';
        assert_true(ev_firestore_valid_database(longest));
        longest[63] = 'd';
        longest[64] = '\0';
        assert_false(ev_firestore_valid_database(longest));
}

static void test_origin_id(void **state)
{
        struct ev_firestore_origin o = kafka_origin;
        char buf[EV_FIRESTORE_ID_SIZE];
        char topic[EV_FIRESTORE_ID_SIZE];

        (void)state;
        assert_true(ev_firestore_origin_id(&kafka_origin, buf, sizeof(buf)));
        assert_string_equal(buf, "kafka:f-topic-1:3:42");
        assert_true(ev_firestore_origin_id(&pubsub_origin, buf, sizeof(buf)));
        assert_string_equal(buf, "pubsub:sub-1:1234567890");
        /* Too long for buf: refused, not cut into another id. */
        memset(topic, 'x', sizeof(topic) - 1);
        topic[sizeof(topic) - 1] = '\0';
        o.topic = topic;
        assert_false(ev_firestore_origin_id(&o, buf, sizeof(buf)));
        o.topic = "a/b";
        assert_false(ev_firestore_origin_id(&o, buf, sizeof(buf)));
        o.topic = NULL;
        assert_false(ev_firestore_origin_id(&o, buf, sizeof(buf)));
}

/* Every JSON type as its Firestore Value. */
static void test_values(void **state)
{
        struct added a;

        (void)state;
        add_text(&a,
                 "{\"message\":\"m\",\"str\":\"caf\\u00e9 \\u2713 "
                 "\\ud83d\\ude00\",\"ctl\":\"a\\u0000b\\n\\t\\\"\\\\\\u001b\","
                 "\"empty\":\"\",\"zero\":0,\"neg\":-1,"
                 "\"max\":9223372036854775807,\"min\":-9223372036854775808,"
                 "\"real\":1.5,\"tiny\":1e-300,\"negz\":-0.0,\"t\":true,"
                 "\"f\":false,\"nil\":null,\"obj\":{\"a\":{\"b\":[1,\"x\"]}},"
                 "\"arr\":[1,[2,[3]],{}],\"earr\":[],\"eobj\":{}}",
                 &kafka_origin);
        assert_int_equal(a.err, EV_OK);
        assert_field(&a, "str",
                     "{\"stringValue\":\"caf\\u00e9 \\u2713 "
                     "\\ud83d\\ude00\"}");
        assert_field(&a, "ctl",
                     "{\"stringValue\":\"a\\u0000b\\n\\t\\\"\\\\\\u001b\"}");
        assert_field(&a, "empty", "{\"stringValue\":\"\"}");
        assert_field(&a, "zero", "{\"integerValue\":\"0\"}");
        assert_field(&a, "neg", "{\"integerValue\":\"-1\"}");
        assert_field(&a, "max", "{\"integerValue\":\"9223372036854775807\"}");
        assert_field(&a, "min", "{\"integerValue\":\"-9223372036854775808\"}");
        assert_field(&a, "real", "{\"doubleValue\":1.5}");
        assert_field(&a, "tiny", "{\"doubleValue\":1e-300}");
        assert_field(&a, "negz", "{\"doubleValue\":-0.0}");
        assert_field(&a, "t", "{\"booleanValue\":true}");
        assert_field(&a, "f", "{\"booleanValue\":false}");
        assert_field(&a, "nil", "{\"nullValue\":null}");
        assert_field(&a, "obj",
                     "{\"mapValue\":{\"fields\":{\"a\":{\"mapValue\":{"
                     "\"fields\":{\"b\":{\"arrayValue\":{\"values\":["
                     "{\"integerValue\":\"1\"},{\"stringValue\":\"x\"}]}}}}}}"
                     "}}");
        /* An array directly in an array becomes a map by index, at every
         * level. */
        assert_field(&a, "arr",
                     "{\"arrayValue\":{\"values\":[{\"integerValue\":\"1\"},"
                     "{\"mapValue\":{\"fields\":{\"0\":{\"integerValue\":"
                     "\"2\"},\"1\":{\"arrayValue\":{\"values\":["
                     "{\"integerValue\":\"3\"}]}}}}},"
                     "{\"mapValue\":{\"fields\":{}}}]}}");
        assert_field(&a, "earr", "{\"arrayValue\":{\"values\":[]}}");
        assert_field(&a, "eobj", "{\"mapValue\":{\"fields\":{}}}");
        added_free(&a);
}

/* An integer past int64 makes the validator read the payload's numbers
 * as reals (event.c): they are written as doubles. */
static void test_big_integer(void **state)
{
        json_t *root = parse("{\"big\":123456789012345678901234567890,"
                             "\"small\":7}",
                             JSON_DECODE_INT_AS_REAL);
        struct added a;
        json_t *v;

        (void)state;
        add_event(&a, root, NULL, &kafka_origin);
        assert_int_equal(a.err, EV_OK);
        v = json_object_get(field(&a, "big"), "doubleValue");
        assert_true(json_is_real(v));
        assert_true(json_real_value(v) == 123456789012345678901234567890.0);
        assert_field(&a, "small", "{\"doubleValue\":7.0}");
        added_free(&a);
        json_decref(root);
}

/* The document's own fields, and which of the event's win. */
static void test_document_fields(void **state)
{
        json_t *root, *original;
        struct added a;

        (void)state;
        add_text(&a,
                 "{\"timestamp\":\"2026-11-29T10:00:00.000Z\",\"level\":"
                 "\"INFO\",\"message\":\"call [REDACTED]\",\"source\":"
                 "\"text_upload\",\"tenant_id\":\"acme\",\"log_id\":\"123\","
                 "\"original_text\":\"forged\",\"modified_data\":1,"
                 "\"processed_at\":\"yesterday\",\"source_location\":\"x\"}",
                 &kafka_origin);
        assert_int_equal(a.err, EV_OK);
        assert_string_equal(doc_name(&a),
                            DOCS "tenants/acme/processed_logs/123");
        assert_field(&a, "source", "{\"stringValue\":\"text_upload\"}");
        assert_field(&a, "original_text",
                     "{\"stringValue\":\"call [REDACTED]\"}");
        assert_field(&a, "modified_data",
                     "{\"stringValue\":\"call [REDACTED]\"}");
        assert_field(&a, "processed_at",
                     "{\"timestampValue\":\"2026-11-29T15:40:00.123Z\"}");
        assert_field(&a, "source_location",
                     "{\"mapValue\":{\"fields\":{\"transport\":{"
                     "\"stringValue\":\"kafka\"},\"topic\":{\"stringValue\":"
                     "\"f-topic-1\"},\"partition\":{\"integerValue\":\"3\"},"
                     "\"offset\":{\"integerValue\":\"42\"}}}}");
        assert_no_field(&a, "message");
        assert_field(&a, "tenant_id", "{\"stringValue\":\"acme\"}");
        assert_field(&a, "log_id", "{\"stringValue\":\"123\"}");
        assert_field(&a, "level", "{\"stringValue\":\"INFO\"}");
        /* Each name once: the event's own were left out. */
        assert_int_equal(json_object_size(json_object_get(
                             json_object_get(a.write, "update"), "fields")),
                         9);
        added_free(&a);

        /* Redacted: original_text is the message as received. */
        root = parse("{\"message\":\"call [REDACTED]\",\"source\":5}", 0);
        original = json_string("call 555-0199");
        add_event(&a, root, original, &pubsub_origin);
        assert_int_equal(a.err, EV_OK);
        assert_field(&a, "original_text",
                     "{\"stringValue\":\"call 555-0199\"}");
        assert_field(&a, "modified_data",
                     "{\"stringValue\":\"call [REDACTED]\"}");
        /* A source that is not a string is not the document's. */
        assert_field(&a, "source", "{\"stringValue\":\"event\"}");
        assert_field(&a, "source_location",
                     "{\"mapValue\":{\"fields\":{\"transport\":{"
                     "\"stringValue\":\"pubsub\"},\"subscription\":{"
                     "\"stringValue\":\"sub-1\"},\"message_id\":{"
                     "\"stringValue\":\"1234567890\"}}}}");
        added_free(&a);
        json_decref(original);
        json_decref(root);

        /* No message: neither text field. A message of another type is
         * written as it is. */
        add_text(&a, "{\"level\":\"INFO\"}", &kafka_origin);
        assert_int_equal(a.err, EV_OK);
        assert_no_field(&a, "original_text");
        assert_no_field(&a, "modified_data");
        added_free(&a);
        add_text(&a, "{\"message\":{\"k\":1}}", &kafka_origin);
        assert_int_equal(a.err, EV_OK);
        assert_field(&a, "modified_data",
                     "{\"mapValue\":{\"fields\":{\"k\":{\"integerValue\":"
                     "\"1\"}}}}");
        added_free(&a);

        /* An origin the source could not tell: the transport alone, and
         * no id without a log_id. */
        add_text(&a, "{\"log_id\":\"9\"}", &bare_origin);
        assert_int_equal(a.err, EV_OK);
        assert_field(&a, "source_location",
                     "{\"mapValue\":{\"fields\":{\"transport\":{"
                     "\"stringValue\":\"kafka\"}}}}");
        added_free(&a);
        add_text(&a, "{}", &bare_origin);
        assert_int_equal(a.err, EV_ERR_PERMANENT);
        assert_non_null(strstr(a.errstr, "no log_id"));
        added_free(&a);
}

static void test_document_names(void **state)
{
        static const struct {
                const char *event;
                const struct ev_firestore_origin *origin;
                const char *name;
        } cases[] = {
            {"{\"tenant_id\":\"acme\",\"log_id\":\"7\"}", &kafka_origin,
             DOCS "tenants/acme/processed_logs/7"},
            {"{\"log_id\":\"7\"}", &kafka_origin,
             DOCS "tenants/default/processed_logs/7"},
            {"{\"tenant_id\":null,\"log_id\":null}", &kafka_origin,
             DOCS "tenants/default/processed_logs/kafka:f-topic-1:3:42"},
            {"{\"tenant_id\":\"t-1\"}", &pubsub_origin,
             DOCS "tenants/t-1/processed_logs/pubsub:sub-1:1234567890"},
            {"{\"log_id\":\"a.b:c\"}", &pubsub_origin,
             DOCS "tenants/default/processed_logs/a.b:c"},
        };
        struct added a;
        size_t i;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++) {
                add_text(&a, cases[i].event, cases[i].origin);
                assert_int_equal(a.err, EV_OK);
                assert_string_equal(doc_name(&a), cases[i].name);
                /* The span names the name's bytes, quotes left out. */
                assert_int_equal(a.span.name_len, strlen(cases[i].name));
                assert_memory_equal(a.b.data + a.span.name_off, cases[i].name,
                                    a.span.name_len);
                added_free(&a);
        }
}

/* Events that cannot be documents: refused with a reason, the body left
 * as it was. */
static void test_refused(void **state)
{
        static const struct {
                const char *event;
                const char *why;
        } cases[] = {
            {"{\"tenant_id\":\"a/b\"}", "tenant_id 'a/b' cannot name"},
            {"{\"tenant_id\":\"\"}", "tenant_id '' cannot name"},
            {"{\"tenant_id\":7}", "tenant_id is not a string"},
            {"{\"tenant_id\":\"x\\u0000y\"}", "tenant_id 'x\\x00y'"},
            {"{\"log_id\":\"..\"}", "log_id '..' cannot name"},
            {"{\"log_id\":\".\"}", "log_id '.' cannot name"},
            {"{\"log_id\":\"__id7__\"}", "log_id '__id7__' cannot"},
            {"{\"log_id\":\"a/b\"}", "log_id 'a/b' cannot"},
            {"{\"log_id\":[1]}", "log_id is not a string"},
            {"{\"__name__\":1}", "field name '__name__' is reserved"},
            {"{\"ok\":{\"__x__\":1}}", "field name '__x__' is reserved"},
            {"{\"ok\":[{\"__x__\":1}]}", "field name '__x__' is reserved"},
            {"{\"\":1}", "field name '' is empty"},
            {"{\"ok\":{\"\":1}}", "field name '' is empty"},
        };
        struct added a;
        size_t i;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++) {
                add_text(&a, cases[i].event, &kafka_origin);
                if (!strstr(a.errstr, cases[i].why))
                        print_error("%s: '%s', want '%s'\n", cases[i].event,
                                    a.errstr, cases[i].why);
                assert_int_equal(a.err, EV_ERR_PERMANENT);
                assert_non_null(strstr(a.errstr, cases[i].why));
                added_free(&a);
        }
}

/* A hostile id is quoted escaped and cut short. */
static void test_refused_quote(void **state)
{
        char event[4096], *p = event;
        struct added a;
        size_t i;

        (void)state;
        p += sprintf(p, "{\"tenant_id\":\"\\u001b[31m\\n");
        for (i = 0; i < 1000; i++)
                *p++ = 'x';
        sprintf(p, "\"}");
        add_text(&a, event, &kafka_origin);
        assert_int_equal(a.err, EV_ERR_PERMANENT);
        assert_null(strchr(a.errstr, '\n'));
        assert_null(strchr(a.errstr, '\x1b'));
        assert_non_null(strstr(a.errstr, "'\\x1b[31m\\n"));
        assert_non_null(strstr(a.errstr, "...'"));
        assert_true(strlen(a.errstr) < 400);
        added_free(&a);
}

/* {"d":{"d":...{"d":leaf}}} with maps maps nested. */
static json_t *nested(int maps, json_t *leaf)
{
        json_t *v = leaf, *m;
        int i;

        for (i = 0; i < maps; i++) {
                m = json_object();
                json_object_set_new(m, "d", v);
                v = m;
        }
        m = json_object();
        json_object_set_new(m, "top", v);
        return m;
}

static void test_depth(void **state)
{
        json_t *root, *arr;
        struct added a;

        (void)state;
        /* 20 maps nested, as the service allows (the emulator too). */
        root = nested(20, json_string("x"));
        add_event(&a, root, NULL, &kafka_origin);
        assert_int_equal(a.err, EV_OK);
        added_free(&a);
        json_decref(root);
        root = nested(20, json_object());
        add_event(&a, root, NULL, &kafka_origin);
        assert_int_equal(a.err, EV_ERR_PERMANENT);
        assert_non_null(strstr(a.errstr, "nested deeper than 20"));
        added_free(&a);
        json_decref(root);
        /* Arrays count as maps do. */
        arr = json_array();
        json_array_append_new(arr, json_integer(1));
        root = nested(19, arr);
        add_event(&a, root, NULL, &kafka_origin);
        assert_int_equal(a.err, EV_OK);
        added_free(&a);
        json_decref(root);
        arr = json_array();
        json_array_append_new(arr, json_array());
        root = nested(19, arr);
        add_event(&a, root, NULL, &kafka_origin);
        assert_int_equal(a.err, EV_ERR_PERMANENT);
        added_free(&a);
        json_decref(root);
}

/* A string of len bytes of c; the caller releases it. */
static json_t *filled(size_t len, char c)
{
        char *buf = malloc(len ? len : 1);
        json_t *v;

        assert_non_null(buf);
        memset(buf, c, len);
        v = json_stringn(buf, len);
        free(buf);
        assert_non_null(v);
        return v;
}

/* An event {"log_id":"7","s":"xxx...","t":"yyy..."} (t_len bytes of y)
 * whose document under tenants/default, from kafka_origin, is size bytes
 * by the service's rules. */
static json_t *sized(size_t size, size_t t_len)
{
        /* name: "tenants" 8, "default" 8, "processed_logs" 15, "7" 2, and
         * 16; source 7 + "event" 6; processed_at 13 + 8; source_location
         * 16 + transport 10 + "kafka" 6 + topic 6 + "f-topic-1" 10 +
         * partition 10 + 8 + offset 7 + 8; log_id 7 + "7" 2; the names s
         * and t, 2 each; the document 32. */
        size_t fixed = 49 + 13 + 21 + 81 + 9 + 2 + 2 + 32;
        json_t *root = json_object();

        json_object_set_new(root, "log_id", json_string("7"));
        json_object_set_new(root, "s",
                            filled(size - fixed - 1 - t_len - 1, 'x'));
        json_object_set_new(root, "t", filled(t_len, 'y'));
        return root;
}

static void test_size(void **state)
{
        json_t *root, *arr;
        struct added a;
        size_t i;

        (void)state;
        /* The document at the limit, in two strings each within theirs. */
        root = sized(EV_FIRESTORE_MAX_DOC_BYTES, 600000);
        add_event(&a, root, NULL, &kafka_origin);
        assert_int_equal(a.err, EV_OK);
        added_free(&a);
        json_decref(root);
        root = sized(EV_FIRESTORE_MAX_DOC_BYTES + 1, 600000);
        add_event(&a, root, NULL, &kafka_origin);
        assert_int_equal(a.err, EV_ERR_PERMANENT);
        assert_non_null(strstr(a.errstr, "would be 1048577 bytes"));
        added_free(&a);
        json_decref(root);

        /* One string over the limit of a value, at any depth. */
        root = json_object();
        json_object_set_new(root, "m", json_object());
        json_object_set_new(json_object_get(root, "m"), "s",
                            filled(EV_FIRESTORE_MAX_STRING + 1, 's'));
        add_event(&a, root, NULL, &kafka_origin);
        assert_int_equal(a.err, EV_ERR_PERMANENT);
        assert_non_null(strstr(a.errstr, "a string of 1048488 bytes"));
        added_free(&a);
        json_decref(root);

        /* Small in storage (1 byte a null) but large as JSON: a write
         * that no request can carry. */
        arr = json_array();
        for (i = 0; i < 1000000; i++)
                json_array_append(arr, json_null());
        root = json_object();
        json_object_set_new(root, "nulls", arr);
        add_event(&a, root, NULL, &kafka_origin);
        assert_int_equal(a.err, EV_ERR_PERMANENT);
        assert_non_null(strstr(a.errstr, "too large for one request"));
        added_free(&a);
        json_decref(root);
}

static void test_field_name_length(void **state)
{
        char name[EV_FIRESTORE_MAX_FIELD_NAME + 2];
        json_t *root;
        struct added a;

        (void)state;
        memset(name, 'n', sizeof(name));
        name[EV_FIRESTORE_MAX_FIELD_NAME] = '\0';
        root = json_object();
        json_object_set_new(root, name, json_true());
        add_event(&a, root, NULL, &kafka_origin);
        assert_int_equal(a.err, EV_OK);
        added_free(&a);
        json_decref(root);
        name[EV_FIRESTORE_MAX_FIELD_NAME] = 'n';
        name[EV_FIRESTORE_MAX_FIELD_NAME + 1] = '\0';
        root = json_object();
        json_object_set_new(root, name, json_true());
        add_event(&a, root, NULL, &kafka_origin);
        assert_int_equal(a.err, EV_ERR_PERMANENT);
        assert_non_null(strstr(a.errstr, "longer than 1500 bytes"));
        added_free(&a);
        json_decref(root);
}

/* Several writes in one body, as the sink builds a batch. */
struct batch {
        struct ev_pubsub_body b;
        struct ev_firestore_span spans[1200];
        size_t cnt;
};

static void batch_add(struct batch *bt, const char *text)
{
        json_t *root = parse(text, 0);
        struct ev_firestore_event ev = {root, NULL, kafka_origin};
        char errstr[256];

        assert_int_equal(
            ev_firestore_add_write(&bt->b, DATABASE, "default", &ev, NOW_MS,
                                   &bt->spans[bt->cnt], errstr, sizeof(errstr)),
            EV_OK);
        bt->cnt++;
        json_decref(root);
}

static void test_dedupe(void **state)
{
        static const char *const events[] = {
            "{\"log_id\":\"A\",\"n\":0}",
            "{\"log_id\":\"B\",\"n\":1}",
            "{\"log_id\":\"A\",\"n\":2}",
            "{\"log_id\":\"C\",\"n\":3}",
            "{\"log_id\":\"B\",\"n\":4}",
            /* Same log id, other tenant: another document. */
            "{\"log_id\":\"A\",\"tenant_id\":\"t2\",\"n\":5}",
        };
        static const size_t kept[] = {2, 3, 4, 5};
        struct batch *bt = calloc(1, sizeof(*bt));
        struct ev_firestore_span before[ARRAY_LEN(events)];
        size_t i, n;

        (void)state;
        assert_non_null(bt);
        for (i = 0; i < ARRAY_LEN(events); i++)
                batch_add(bt, events[i]);
        memcpy(before, bt->spans, sizeof(before));
        n = ev_firestore_dedupe(&bt->b, bt->spans, bt->cnt);
        assert_int_equal(n, ARRAY_LEN(kept));
        for (i = 0; i < n; i++)
                assert_memory_equal(&bt->spans[i], &before[kept[i]],
                                    sizeof(before[0]));
        assert_int_equal(ev_firestore_dedupe(&bt->b, bt->spans, 0), 0);
        ev_pubsub_body_free(&bt->b);
        free(bt);
}

/* The commits of bt's writes, as the sink sends them, each checked, with
 * their sizes in sizes; returns how many. */
static size_t commit_all(const struct batch *bt, size_t *sizes)
{
        struct ev_pubsub_body out = {0};
        size_t done = 0, n, requests = 0;
        json_t *root, *writes;

        while (done < bt->cnt) {
                n = ev_firestore_commit_body(&out, &bt->b, bt->spans + done,
                                             bt->cnt - done);
                assert_true(n > 0);
                assert_true(n <= EV_FIRESTORE_MAX_WRITES);
                assert_true(out.len <= EV_FIRESTORE_MAX_REQUEST_BYTES);
                root = parse(out.data, 0);
                writes = json_object_get(root, "writes");
                assert_int_equal(json_object_size(root), 1);
                assert_int_equal(json_array_size(writes), n);
                /* In order: the first write is the span's. */
                assert_memory_equal(out.data + strlen("{\"writes\":["),
                                    bt->b.data + bt->spans[done].off,
                                    bt->spans[done].len);
                json_decref(root);
                sizes[requests++] = n;
                done += n;
        }
        assert_int_equal(ev_firestore_commit_body(&out, &bt->b, bt->spans, 0),
                         0);
        ev_pubsub_body_free(&out);
        return requests;
}

static void test_commit_split(void **state)
{
        struct batch *bt = calloc(1, sizeof(*bt));
        char event[64];
        size_t sizes[8], i;

        (void)state;
        assert_non_null(bt);
        for (i = 0; i < 1200; i++) {
                snprintf(event, sizeof(event), "{\"log_id\":\"%zu\"}", i);
                batch_add(bt, event);
        }
        assert_int_equal(commit_all(bt, sizes), 3);
        assert_int_equal(sizes[0], 500);
        assert_int_equal(sizes[1], 500);
        assert_int_equal(sizes[2], 200);
        ev_pubsub_body_free(&bt->b);
        free(bt);
}

static void test_commit_split_bytes(void **state)
{
        struct batch *bt = calloc(1, sizeof(*bt));
        size_t sizes[8], i, j;
        json_t *root;

        (void)state;
        assert_non_null(bt);
        /* Strings of control characters, 6 bytes each as JSON: writes of
         * about 3 MB, within the document limit. */
        for (i = 0; i < 7; i++) {
                struct ev_firestore_event ev = {NULL, NULL, kafka_origin};
                char errstr[256], id[16];

                root = json_object();
                snprintf(id, sizeof(id), "%zu", i);
                json_object_set_new(root, "log_id", json_string(id));
                json_object_set_new(root, "s", filled(500000, '\x01'));
                ev.root = root;
                assert_int_equal(ev_firestore_add_write(&bt->b, DATABASE,
                                                        "default", &ev, NOW_MS,
                                                        &bt->spans[bt->cnt],
                                                        errstr, sizeof(errstr)),
                                 EV_OK);
                bt->cnt++;
                json_decref(root);
        }
        for (j = 0; j < bt->cnt; j++)
                assert_true(bt->spans[j].len > 3000000);
        /* Three of them fit in 10 MiB, four do not. */
        assert_int_equal(commit_all(bt, sizes), 3);
        assert_int_equal(sizes[0], 3);
        assert_int_equal(sizes[1], 3);
        assert_int_equal(sizes[2], 1);
        ev_pubsub_body_free(&bt->b);
        free(bt);
}

static void test_classify(void **state)
{
        static const struct {
                enum ev_err transport;
                long status;
                const char *body;
                enum ev_err err;
        } cases[] = {
            {EV_OK, 200, "{}", EV_OK},
            {EV_OK, 200, "{\"error\":{\"status\":\"ABORTED\"}}", EV_OK},
            {EV_ERR_TRANSIENT, 0, "", EV_ERR_TRANSIENT},
            {EV_ERR_IO, 0, "", EV_ERR_TRANSIENT},
            {EV_OK, 408, "", EV_ERR_TRANSIENT},
            {EV_OK, 429,
             "{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\"}}",
             EV_ERR_TRANSIENT},
            {EV_OK, 499, "", EV_ERR_TRANSIENT},
            {EV_OK, 500, "oops", EV_ERR_TRANSIENT},
            {EV_OK, 503,
             "{\"error\":{\"code\":503,\"message\":\"x\",\"status\":"
             "\"UNAVAILABLE\"}}",
             EV_ERR_TRANSIENT},
            {EV_OK, 504, "", EV_ERR_TRANSIENT},
            /* Contention on a document: the commit may go through later. */
            {EV_OK, 409,
             "{\"error\":{\"code\":409,\"message\":\"Too much contention\","
             "\"status\":\"ABORTED\"}}",
             EV_ERR_TRANSIENT},
            {EV_OK, 400,
             "{\"error\":{\"code\":400,\"status\":\"DEADLINE_EXCEEDED\"}}",
             EV_ERR_TRANSIENT},
            {EV_OK, 400,
             "{\"error\":{\"code\":400,\"status\":\"UNAVAILABLE\"}}",
             EV_ERR_TRANSIENT},
            {EV_OK, 409,
             "{\"error\":{\"code\":409,\"status\":\"ALREADY_EXISTS\"}}",
             EV_ERR_PERMANENT},
            {EV_OK, 400,
             "{\"error\":{\"code\":400,\"message\":\"Payload isn't valid\","
             "\"status\":\"INVALID_ARGUMENT\"}}",
             EV_ERR_PERMANENT},
            {EV_OK, 401, "{\"error\":{\"status\":\"UNAUTHENTICATED\"}}",
             EV_ERR_PERMANENT},
            {EV_OK, 403, "{\"error\":{\"status\":\"PERMISSION_DENIED\"}}",
             EV_ERR_PERMANENT},
            {EV_OK, 404, "Not Found", EV_ERR_PERMANENT},
            {EV_OK, 404, "{\"error\":{\"status\":\"NOT_FOUND\"}}",
             EV_ERR_PERMANENT},
            {EV_OK, 400, "{\"error\":{\"status\":\"aborted\"}}",
             EV_ERR_PERMANENT},
            {EV_OK, 400, "{\"error\":\"ABORTED\"}", EV_ERR_PERMANENT},
            {EV_OK, 400, "{\"error\":{\"status\":\"ABORTED", EV_ERR_PERMANENT},
            {EV_OK, 400, "", EV_ERR_PERMANENT},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++) {
                size_t len = strlen(cases[i].body);
                char *body = copy_of(cases[i].body, len);
                enum ev_err err = ev_firestore_classify(
                    cases[i].transport, cases[i].status, body, len);

                if (err != cases[i].err) {
                        print_error("%ld %s: %d, want %d\n", cases[i].status,
                                    cases[i].body, (int)err, (int)cases[i].err);
                        failed++;
                }
                free(body);
        }
        assert_int_equal(failed, 0);
}

static void test_parse_commit(void **state)
{
        static const struct {
                const char *body;
                size_t writes;
                enum ev_err err;
                const char *why;
        } cases[] = {
            {"{\n  \"writeResults\": [{\n    \"updateTime\": "
             "\"2026-11-29T21:18:54.999529Z\"\n  }, {\n    \"updateTime\": "
             "\"2026-11-29T21:18:54.999529Z\"\n  }],\n  \"commitTime\": "
             "\"2026-11-29T21:18:54.999529Z\"\n}\n",
             2, EV_OK, NULL},
            {"{\"writeResults\":[{}],\"commitTime\":\"x\"}", 1, EV_OK, NULL},
            {"{\"writeResults\":[{}],\"commitTime\":\"x\"}", 2,
             EV_ERR_PERMANENT, "1 write results for 2 writes"},
            {"{\"commitTime\":\"x\"}", 1, EV_ERR_PERMANENT, "not Firestore's"},
            {"{\"writeResults\":{}}", 1, EV_ERR_PERMANENT, "not Firestore's"},
            {"[]", 1, EV_ERR_PERMANENT, "not Firestore's"},
            {"<html>ok</html>", 1, EV_ERR_PERMANENT, "not Firestore's"},
            {"{\"writeResults\":[{}]", 1, EV_ERR_PERMANENT, "not Firestore's"},
            {"", 1, EV_ERR_PERMANENT, "not Firestore's"},
        };
        char errstr[256];
        size_t i;

        (void)state;
        for (i = 0; i < ARRAY_LEN(cases); i++) {
                size_t len = strlen(cases[i].body);
                char *body = copy_of(cases[i].body, len);
                enum ev_err err;

                errstr[0] = '\0';
                err = ev_firestore_parse_commit(body, len, cases[i].writes,
                                                errstr, sizeof(errstr));
                assert_int_equal(err, cases[i].err);
                if (cases[i].why)
                        assert_non_null(strstr(errstr, cases[i].why));
                free(body);
        }
}

/* Firestore's error bodies read by the text the retry loop logs (Google's
 * APIs share the body): status and message, escaped, bounded. */
static void test_error_text(void **state)
{
        static const char body[] =
            "{\"error\":{\"code\":400,\"message\":\"\\nfalse for 'create' @ "
            "L5\\u001b[2J\",\"status\":\"INVALID_ARGUMENT\"}}";
        char *copy = copy_of(body, sizeof(body) - 1);
        char buf[64];

        (void)state;
        ev_pubsub_error_text(400, copy, sizeof(body) - 1, buf, sizeof(buf));
        assert_string_equal(buf, "HTTP 400 INVALID_ARGUMENT: \\nfalse for "
                                 "'create' @ L5\\x1b[2J");
        ev_pubsub_error_text(400, copy, sizeof(body) - 1, buf, 20);
        assert_true(strlen(buf) < 20);
        free(copy);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_valid_tenant),
            cmocka_unit_test(test_valid_log_id),
            cmocka_unit_test(test_valid_database),
            cmocka_unit_test(test_origin_id),
            cmocka_unit_test(test_values),
            cmocka_unit_test(test_big_integer),
            cmocka_unit_test(test_document_fields),
            cmocka_unit_test(test_document_names),
            cmocka_unit_test(test_refused),
            cmocka_unit_test(test_refused_quote),
            cmocka_unit_test(test_depth),
            cmocka_unit_test(test_size),
            cmocka_unit_test(test_field_name_length),
            cmocka_unit_test(test_dedupe),
            cmocka_unit_test(test_commit_split),
            cmocka_unit_test(test_commit_split_bytes),
            cmocka_unit_test(test_classify),
            cmocka_unit_test(test_parse_commit),
            cmocka_unit_test(test_error_text),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
