/*
 * Unit tests for gateway/request: the content types, the tenant and log id
 * rules, the event each request becomes (exact bytes), every error path of
 * the build, and the answer bodies. Bodies are copied into heap buffers of
 * exactly their length, so that ASan reports a read past it; the time of
 * receipt and the random bytes are fixed, so events are exact.
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

#include "request.h"

/* A string literal as pointer and length, embedded NULs counted. */
#define BYTES(s) (s), sizeof(s) - 1

/* 2025-11-29T12:00:00.123Z */
#define RECEIVED_MS INT64_C(1764417600123)
#define RECEIVED    "2025-11-29T12:00:00.123Z"
/* The UUID of the random bytes 00 01 .. 0f. */
#define UUID "00010203-0405-4607-8809-0a0b0c0d0e0f"

#define T64  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
#define L128 T64 T64

static const unsigned char random_bytes[EV_REQUEST_RANDOM_BYTES] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* Builds a request of type with the len bytes of body (copied to a heap
 * buffer of exactly len), the X-Tenant-ID header and the key's tenant
 * (NULL: none), at most max bytes of event (0: 1 MiB). */
static enum ev_request_error build(enum ev_request_type type, const char *body,
                                   size_t len, const char *header,
                                   const char *key_tenant, size_t max,
                                   struct ev_request_event *out, char *detail,
                                   size_t detail_size)
{
        char *copy = malloc(len ? len : 1);
        struct ev_request req = {
            .type = type,
            .body = copy,
            .len = len,
            .tenant_header = header,
            .key_tenant = key_tenant,
            .received_ms = RECEIVED_MS,
            .random = random_bytes,
            .max_bytes = max ? max : 1024 * 1024,
        };
        enum ev_request_error err;

        assert_non_null(copy);
        memcpy(copy, body, len);
        err = ev_request_build(&req, out, detail, detail_size);
        free(copy);
        return err;
}

static void test_content_type(void **state)
{
        static const struct {
                const char *value;
                enum ev_request_type type;
        } cases[] = {
            {"application/json", EV_REQUEST_JSON},
            {"APPLICATION/JSON", EV_REQUEST_JSON},
            {"Application/Json; charset=utf-8", EV_REQUEST_JSON},
            {"application/json;charset=UTF-8", EV_REQUEST_JSON},
            {"  application/json ; charset=utf-8", EV_REQUEST_JSON},
            {"text/plain", EV_REQUEST_TEXT},
            {"Text/Plain", EV_REQUEST_TEXT},
            {"text/plain; charset=utf-8", EV_REQUEST_TEXT},
            {"text/plain;", EV_REQUEST_TEXT},
            {"text/plain\t; format=flowed", EV_REQUEST_TEXT},
            {"", EV_REQUEST_OTHER},
            {" ", EV_REQUEST_OTHER},
            {";charset=utf-8", EV_REQUEST_OTHER},
            {"text/html", EV_REQUEST_OTHER},
            {"text/plainx", EV_REQUEST_OTHER},
            {"text", EV_REQUEST_OTHER},
            {"application/jsonx", EV_REQUEST_OTHER},
            {"application/json-seq", EV_REQUEST_OTHER},
            {"application/x-ndjson", EV_REQUEST_OTHER},
            {"application/x-www-form-urlencoded", EV_REQUEST_OTHER},
            {"multipart/form-data; boundary=x", EV_REQUEST_OTHER},
            {"application / json", EV_REQUEST_OTHER},
        };
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                if (ev_request_type(cases[i].value) != cases[i].type)
                        fail_msg("Content-Type '%s': %d, expected %d",
                                 cases[i].value,
                                 ev_request_type(cases[i].value),
                                 cases[i].type);
        }
        assert_int_equal(ev_request_type(NULL), EV_REQUEST_OTHER);
}

static void test_tenant_rule(void **state)
{
        static const struct {
                const char *s;
                size_t len;
                bool ok;
        } cases[] = {
            {BYTES("a"), true},
            {BYTES("acme"), true},
            {BYTES("Acme-Corp_42"), true},
            {BYTES("-"), true},
            {BYTES("_a_"), true},
            {BYTES("__a_"), true},
            {BYTES("___"), true},
            {BYTES(T64), true},
            {BYTES(T64 "a"), false},
            {BYTES(""), false},
            {BYTES("a b"), false},
            {BYTES("a/b"), false},
            {BYTES("a.b"), false},
            {BYTES("."), false},
            {BYTES(".."), false},
            {BYTES("a:b"), false},
            {BYTES("a\\b"), false},
            {BYTES("a\nb"), false},
            {BYTES("a\0b"), false},
            {BYTES("caf\xc3\xa9"), false},   /* é */
            {BYTES("\xef\xbc\xa1"), false},  /* fullwidth A */
            {BYTES("a\xe2\x80\x8b"), false}, /* zero-width space */
            {BYTES("__"), true},
            {BYTES("____"), false},
            {BYTES("__a__"), false},
            {BYTES("%2e"), false},
        };
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                if (ev_firestore_valid_tenant(cases[i].s, cases[i].len) !=
                    cases[i].ok)
                        fail_msg("tenant case %zu (%zu bytes): expected %s", i,
                                 cases[i].len, cases[i].ok ? "ok" : "refused");
        }
}

static void test_log_id_rule(void **state)
{
        static const struct {
                const char *s;
                size_t len;
                bool ok;
        } cases[] = {
            {BYTES("123"), true},
            {BYTES("a"), true},
            {BYTES(UUID), true},
            {BYTES("a.b:c-d_e"), true},
            {BYTES("..."), true},
            {BYTES(".a"), true},
            {BYTES("__a_"), true},
            {BYTES("__"), true},
            {BYTES(L128), true},
            {BYTES(L128 "a"), false},
            {BYTES(""), false},
            {BYTES("."), false},
            {BYTES(".."), false},
            {BYTES("__a__"), false},
            {BYTES("____"), false},
            {BYTES("__.__"), false},
            {BYTES("a/b"), false},
            {BYTES("/"), false},
            {BYTES("a b"), false},
            {BYTES("a#b"), false},
            {BYTES("a?b"), false},
            {BYTES("a\0b"), false},
            {BYTES("caf\xc3\xa9"), false},
        };
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                if (ev_firestore_valid_log_id(cases[i].s, cases[i].len) !=
                    cases[i].ok)
                        fail_msg("log id case %zu (%zu bytes): expected %s", i,
                                 cases[i].len, cases[i].ok ? "ok" : "refused");
        }
}

static void test_uuid4(void **state)
{
        unsigned char ones[EV_REQUEST_RANDOM_BYTES];
        char out[EV_REQUEST_UUID_SIZE];

        (void)state;
        ev_request_uuid4(random_bytes, out);
        assert_string_equal(out, UUID);
        memset(ones, 0xff, sizeof(ones));
        ev_request_uuid4(ones, out);
        assert_string_equal(out, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        memset(ones, 0, sizeof(ones));
        ev_request_uuid4(ones, out);
        assert_string_equal(out, "00000000-0000-4000-8000-000000000000");
        assert_true(ev_firestore_valid_log_id(out, strlen(out)));
}

static void test_bearer(void **state)
{
        static const struct {
                const char *value;
                const char *token; /* NULL: refused */
        } cases[] = {
            {"Bearer abc", "abc"},
            {"bearer abc", "abc"},
            {"BEARER abc", "abc"},
            {"Bearer   abc  ", "abc"},
            {"  Bearer\tabc", "abc"},
            {"Bearer a.b-c_d~e+f/g==", "a.b-c_d~e+f/g=="},
            {"Bearer", NULL},
            {"Bearer ", NULL},
            {"Bearer  \t", NULL},
            {"Bearerabc", NULL},
            {"Basic abc", NULL},
            {"Bearer a b", NULL},
            {"", NULL},
            {"abc", NULL},
        };
        const char *token;
        size_t i, len;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                bool ok = ev_request_bearer(cases[i].value, &token, &len);

                if (ok != (cases[i].token != NULL) ||
                    (ok && (len != strlen(cases[i].token) ||
                            memcmp(token, cases[i].token, len))))
                        fail_msg("Authorization '%s'", cases[i].value);
        }
        assert_false(ev_request_bearer(NULL, &token, &len));
}

/* What a build must refuse, and why. */
struct error_case {
        const char *name;
        enum ev_request_type type;
        const char *body;
        size_t len;
        const char *header;     /* X-Tenant-ID */
        const char *key_tenant; /* NULL: no keys */
        enum ev_request_error err;
        const char *detail; /* a substring of the detail */
};

#define JSON EV_REQUEST_JSON
#define TEXT EV_REQUEST_TEXT

static const struct error_case error_cases[] = {
    /* The body itself. */
    {"json: empty", JSON, BYTES(""), "a", NULL, EV_REQUEST_BAD_JSON, "empty"},
    {"json: truncated", JSON, BYTES("{\"tenant_id\":"), NULL, NULL,
     EV_REQUEST_BAD_JSON, "at byte"},
    {"json: garbage", JSON, BYTES("hello"), "a", NULL, EV_REQUEST_BAD_JSON,
     NULL},
    {"json: trailing garbage", JSON, BYTES("{\"text\":\"x\"} x"), "a", NULL,
     EV_REQUEST_BAD_JSON, NULL},
    {"json: duplicate key", JSON,
     BYTES("{\"tenant_id\":\"a\",\"tenant_id\":\"b\",\"text\":\"x\"}"), NULL,
     NULL, EV_REQUEST_BAD_JSON, "duplicate"},
    {"json: invalid UTF-8", JSON, BYTES("{\"text\":\"\xff\"}"), "a", NULL,
     EV_REQUEST_BAD_JSON, NULL},
    {"json: array", JSON, BYTES("[1]"), "a", NULL, EV_REQUEST_NOT_OBJECT,
     "array"},
    {"json: string", JSON, BYTES("\"text\""), "a", NULL, EV_REQUEST_NOT_OBJECT,
     "scalar"},
    {"json: null", JSON, BYTES("null"), "a", NULL, EV_REQUEST_NOT_OBJECT, NULL},
    /* The text. */
    {"json: no text", JSON, BYTES("{\"tenant_id\":\"a\"}"), NULL, NULL,
     EV_REQUEST_BAD_TEXT, "no text"},
    {"json: text a number", JSON, BYTES("{\"tenant_id\":\"a\",\"text\":1}"),
     NULL, NULL, EV_REQUEST_BAD_TEXT, "string"},
    {"json: text null", JSON, BYTES("{\"tenant_id\":\"a\",\"text\":null}"),
     NULL, NULL, EV_REQUEST_BAD_TEXT, "string"},
    {"json: text an object", JSON,
     BYTES("{\"tenant_id\":\"a\",\"text\":{\"x\":1}}"), NULL, NULL,
     EV_REQUEST_BAD_TEXT, "string"},
    {"json: message a number", JSON,
     BYTES("{\"tenant_id\":\"a\",\"message\":1}"), NULL, NULL,
     EV_REQUEST_BAD_TEXT, "string"},
    {"json: empty text", JSON, BYTES("{\"tenant_id\":\"a\",\"text\":\"\"}"),
     NULL, NULL, EV_REQUEST_BAD_TEXT, "empty"},
    {"json: empty message", JSON,
     BYTES("{\"tenant_id\":\"a\",\"message\":\"\"}"), NULL, NULL,
     EV_REQUEST_BAD_TEXT, "empty"},
    {"json: text and message", JSON,
     BYTES("{\"tenant_id\":\"a\",\"text\":\"x\",\"message\":\"y\"}"), NULL,
     NULL, EV_REQUEST_BAD_TEXT, "not both"},
    {"text: empty", TEXT, BYTES(""), "a", NULL, EV_REQUEST_BAD_TEXT, "empty"},
    {"text: invalid byte", TEXT, BYTES("ok \xff"), "a", NULL,
     EV_REQUEST_BAD_TEXT, "byte 3"},
    {"text: truncated sequence", TEXT, BYTES("\xc3"), "a", NULL,
     EV_REQUEST_BAD_TEXT, "UTF-8"},
    {"text: overlong NUL", TEXT, BYTES("\xc0\x80"), "a", NULL,
     EV_REQUEST_BAD_TEXT, "UTF-8"},
    {"text: surrogate", TEXT, BYTES("\xed\xa0\x80"), "a", NULL,
     EV_REQUEST_BAD_TEXT, "UTF-8"},
    {"text: latin-1", TEXT, BYTES("caf\xe9"), "a", NULL, EV_REQUEST_BAD_TEXT,
     "UTF-8"},
    /* The tenant. */
    {"json: no tenant", JSON, BYTES("{\"text\":\"x\"}"), NULL, NULL,
     EV_REQUEST_NO_TENANT, "X-Tenant-ID"},
    {"text: no tenant", TEXT, BYTES("x"), NULL, NULL, EV_REQUEST_NO_TENANT,
     NULL},
    {"json: tenant a number", JSON, BYTES("{\"tenant_id\":5,\"text\":\"x\"}"),
     NULL, NULL, EV_REQUEST_BAD_TENANT, "tenant_id"},
    {"json: tenant null", JSON, BYTES("{\"tenant_id\":null,\"text\":\"x\"}"),
     "a", NULL, EV_REQUEST_BAD_TENANT, "tenant_id"},
    {"json: tenant empty", JSON, BYTES("{\"tenant_id\":\"\",\"text\":\"x\"}"),
     NULL, NULL, EV_REQUEST_BAD_TENANT, "tenant_id"},
    {"json: tenant of 65", JSON,
     BYTES("{\"tenant_id\":\"" T64 "a\",\"text\":\"x\"}"), NULL, NULL,
     EV_REQUEST_BAD_TENANT, "1 to 64"},
    {"json: tenant with a slash", JSON,
     BYTES("{\"tenant_id\":\"a/b\",\"text\":\"x\"}"), NULL, NULL,
     EV_REQUEST_BAD_TENANT, NULL},
    {"json: tenant with a dot", JSON,
     BYTES("{\"tenant_id\":\"..\",\"text\":\"x\"}"), NULL, NULL,
     EV_REQUEST_BAD_TENANT, NULL},
    {"json: tenant unicode", JSON,
     BYTES("{\"tenant_id\":\"caf\\u00e9\",\"text\":\"x\"}"), NULL, NULL,
     EV_REQUEST_BAD_TENANT, NULL},
    {"json: tenant with NUL", JSON,
     BYTES("{\"tenant_id\":\"a\\u0000b\",\"text\":\"x\"}"), NULL, NULL,
     EV_REQUEST_BAD_TENANT, NULL},
    {"json: tenant reserved", JSON,
     BYTES("{\"tenant_id\":\"__a__\",\"text\":\"x\"}"), NULL, NULL,
     EV_REQUEST_BAD_TENANT, "__*__"},
    {"text: header with a slash", TEXT, BYTES("x"), "a/b", NULL,
     EV_REQUEST_BAD_TENANT, "X-Tenant-ID"},
    {"text: header empty", TEXT, BYTES("x"), "", NULL, EV_REQUEST_BAD_TENANT,
     "X-Tenant-ID"},
    {"text: header of 65", TEXT, BYTES("x"), T64 "a", NULL,
     EV_REQUEST_BAD_TENANT, "X-Tenant-ID"},
    {"text: header unicode", TEXT, BYTES("x"), "caf\xc3\xa9", NULL,
     EV_REQUEST_BAD_TENANT, "X-Tenant-ID"},
    {"json: bad header beside a good body", JSON,
     BYTES("{\"tenant_id\":\"a\",\"text\":\"x\"}"), "a b", NULL,
     EV_REQUEST_BAD_TENANT, "X-Tenant-ID"},
    {"json: body and header differ", JSON,
     BYTES("{\"tenant_id\":\"a\",\"text\":\"x\"}"), "b", NULL,
     EV_REQUEST_TENANT_MISMATCH, "differ"},
    {"json: tenants differ in case", JSON,
     BYTES("{\"tenant_id\":\"acme\",\"text\":\"x\"}"), "ACME", NULL,
     EV_REQUEST_TENANT_MISMATCH, NULL},
    /* The key's tenant. */
    {"json: another tenant's key", JSON,
     BYTES("{\"tenant_id\":\"b\",\"text\":\"x\"}"), NULL, "a",
     EV_REQUEST_FORBIDDEN, "tenant b"},
    {"text: another tenant's key", TEXT, BYTES("x"), "b", "a",
     EV_REQUEST_FORBIDDEN, "tenant b"},
    {"text: key of a prefix", TEXT, BYTES("x"), "acme", "acm",
     EV_REQUEST_FORBIDDEN, NULL},
    /* The log id. */
    {"json: log id a number", JSON,
     BYTES("{\"tenant_id\":\"a\",\"log_id\":123,\"text\":\"x\"}"), NULL, NULL,
     EV_REQUEST_BAD_LOG_ID, "string"},
    {"json: log id empty", JSON,
     BYTES("{\"tenant_id\":\"a\",\"log_id\":\"\",\"text\":\"x\"}"), NULL, NULL,
     EV_REQUEST_BAD_LOG_ID, NULL},
    {"json: log id dot", JSON,
     BYTES("{\"tenant_id\":\"a\",\"log_id\":\".\",\"text\":\"x\"}"), NULL, NULL,
     EV_REQUEST_BAD_LOG_ID, NULL},
    {"json: log id dot dot", JSON,
     BYTES("{\"tenant_id\":\"a\",\"log_id\":\"..\",\"text\":\"x\"}"), NULL,
     NULL, EV_REQUEST_BAD_LOG_ID, NULL},
    {"json: log id reserved", JSON,
     BYTES("{\"tenant_id\":\"a\",\"log_id\":\"__id__\",\"text\":\"x\"}"), NULL,
     NULL, EV_REQUEST_BAD_LOG_ID, NULL},
    {"json: log id with a slash", JSON,
     BYTES("{\"tenant_id\":\"a\",\"log_id\":\"a/b\",\"text\":\"x\"}"), NULL,
     NULL, EV_REQUEST_BAD_LOG_ID, NULL},
    {"json: log id of 129", JSON,
     BYTES("{\"tenant_id\":\"a\",\"log_id\":\"" L128 "a\",\"text\":\"x\"}"),
     NULL, NULL, EV_REQUEST_BAD_LOG_ID, "128"},
    {"json: log id unicode", JSON,
     BYTES("{\"tenant_id\":\"a\",\"log_id\":\"\\u00e9\",\"text\":\"x\"}"), NULL,
     NULL, EV_REQUEST_BAD_LOG_ID, NULL},
    {"json: log id null", JSON,
     BYTES("{\"tenant_id\":\"a\",\"log_id\":null,\"text\":\"x\"}"), NULL, NULL,
     EV_REQUEST_BAD_LOG_ID, NULL},
    /* The request's own fields make a toxic event. */
    {"json: level lowercase", JSON,
     BYTES("{\"tenant_id\":\"a\",\"text\":\"x\",\"level\":\"info\"}"), NULL,
     NULL, EV_REQUEST_BAD_EVENT, "bad_level"},
    {"json: level a number", JSON,
     BYTES("{\"tenant_id\":\"a\",\"text\":\"x\",\"level\":3}"), NULL, NULL,
     EV_REQUEST_BAD_EVENT, "wrong_type"},
    {"json: timestamp not RFC 3339", JSON,
     BYTES("{\"tenant_id\":\"a\",\"text\":\"x\",\"timestamp\":\"yesterday\"}"),
     NULL, NULL, EV_REQUEST_BAD_EVENT, "bad_timestamp"},
    {"json: timestamp a number", JSON,
     BYTES("{\"tenant_id\":\"a\",\"text\":\"x\",\"timestamp\":1}"), NULL, NULL,
     EV_REQUEST_BAD_EVENT, "timestamp"},
    {"json: service_name empty", JSON,
     BYTES("{\"tenant_id\":\"a\",\"text\":\"x\",\"service_name\":\"\"}"), NULL,
     NULL, EV_REQUEST_BAD_EVENT, "service_name"},
    {"json: service_name null", JSON,
     BYTES("{\"tenant_id\":\"a\",\"text\":\"x\",\"service_name\":null}"), NULL,
     NULL, EV_REQUEST_BAD_EVENT, "service_name"},
};

static void test_build_errors(void **state)
{
        struct ev_request_event ev;
        enum ev_request_error err;
        char detail[512];
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
                const struct error_case *c = &error_cases[i];

                detail[0] = '\0';
                err = build(c->type, c->body, c->len, c->header, c->key_tenant,
                            0, &ev, detail, sizeof(detail));
                if (err != c->err)
                        fail_msg("%s: error %s (%s), expected %s", c->name,
                                 ev_request_code(err), detail,
                                 ev_request_code(c->err));
                if (c->detail && !strstr(detail, c->detail))
                        fail_msg("%s: detail '%s' lacks '%s'", c->name, detail,
                                 c->detail);
                if (!detail[0] || ev.payload || ev.payload_len)
                        fail_msg("%s: no detail, or a payload", c->name);
        }
}

/* Builds what must be accepted and compares the event, byte for byte. */
static void expect_event(enum ev_request_type type, const char *body,
                         size_t len, const char *header, const char *key_tenant,
                         const char *event, const char *tenant,
                         const char *log_id)
{
        struct ev_request_event ev;
        enum ev_request_error err;
        char detail[512] = "";

        err = build(type, body, len, header, key_tenant, 0, &ev, detail,
                    sizeof(detail));
        if (err)
                fail_msg("%s: %s", ev_request_code(err), detail);
        assert_int_equal(ev.payload_len, strlen(ev.payload));
        assert_string_equal(ev.payload, event);
        assert_string_equal(ev.tenant_id, tenant);
        assert_string_equal(ev.log_id, log_id);
        free(ev.payload);
}

/* What the gateway adds to a body's own members, in this order. */
#define DEFAULTS                                                               \
        "\"timestamp\":\"" RECEIVED "\",\"service_name\":\"event-gateway\","   \
        "\"level\":\"INFO\""

static void test_build_text(void **state)
{
        (void)state;
        expect_event(TEXT, BYTES("hello 555-0199"), "acme", NULL,
                     "{" DEFAULTS ",\"message\":\"hello 555-0199\","
                     "\"tenant_id\":\"acme\",\"log_id\":\"" UUID "\","
                     "\"source\":\"text_upload\"}",
                     "acme", UUID);
        /* The key's tenant when there is no header; any UTF-8 kept, a NUL
         * and a line feed included. */
        expect_event(TEXT, BYTES("caf\xc3\xa9 \xe2\x98\x83\n\0end"), NULL,
                     "beta",
                     "{" DEFAULTS ",\"message\":\"caf\xc3\xa9 \xe2\x98\x83"
                     "\\n\\u0000end\",\"tenant_id\":\"beta\",\"log_id\":\"" UUID
                     "\",\"source\":\"text_upload\"}",
                     "beta", UUID);
        /* The key's own tenant named in the header; the longest tenant. */
        expect_event(TEXT, BYTES(" x "), T64, T64,
                     "{" DEFAULTS ",\"message\":\" x \",\"tenant_id\":\"" T64
                     "\",\"log_id\":\"" UUID "\",\"source\":\"text_upload\"}",
                     T64, UUID);
}

/* X-Log-ID names the log id, as X-Tenant-ID the tenant: alone, or beside
 * the same log_id in the body. */
static void test_build_log_id_header(void **state)
{
        static const struct {
                enum ev_request_type type;
                const char *body;
                const char *header;
                enum ev_request_error err;
                const char *log_id; /* OK: the id; else in detail */
        } cases[] = {
            {EV_REQUEST_TEXT, "x", "retry-7", EV_REQUEST_OK, "retry-7"},
            {EV_REQUEST_JSON, "{\"text\":\"x\",\"log_id\":\"k:1\"}", "k:1",
             EV_REQUEST_OK, "k:1"},
            {EV_REQUEST_JSON, "{\"text\":\"x\",\"log_id\":\"k1\"}", "k2",
             EV_REQUEST_BAD_LOG_ID, "differ"},
            {EV_REQUEST_TEXT, "x", "a/b", EV_REQUEST_BAD_LOG_ID, "X-Log-ID"},
            {EV_REQUEST_TEXT, "x", "__x__", EV_REQUEST_BAD_LOG_ID, "X-Log-ID"},
            {EV_REQUEST_TEXT, "x", "", EV_REQUEST_BAD_LOG_ID, "X-Log-ID"},
        };
        struct ev_request_event ev;
        char detail[256];
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct ev_request req = {
                    .type = cases[i].type,
                    .body = cases[i].body,
                    .len = strlen(cases[i].body),
                    .tenant_header = "acme",
                    .log_id_header = cases[i].header,
                    .received_ms = RECEIVED_MS,
                    .random = random_bytes,
                    .max_bytes = 1024 * 1024,
                };
                enum ev_request_error err;

                memset(&ev, 0, sizeof(ev));
                err = ev_request_build(&req, &ev, detail, sizeof(detail));
                assert_int_equal(err, cases[i].err);
                if (err == EV_REQUEST_OK) {
                        assert_string_equal(ev.log_id, cases[i].log_id);
                        assert_non_null(strstr(ev.payload, cases[i].log_id));
                } else {
                        assert_non_null(strstr(detail, cases[i].log_id));
                }
                free(ev.payload);
        }
}

static void test_build_json(void **state)
{
        (void)state;
        /* The seeds' body: text becomes message. */
        expect_event(JSON,
                     BYTES("{\"tenant_id\":\"acme\",\"log_id\":\"123\","
                           "\"text\":\"call 555-0199\"}"),
                     NULL, NULL,
                     "{\"tenant_id\":\"acme\",\"log_id\":\"123\","
                     "\"message\":\"call 555-0199\"," DEFAULTS
                     ",\"source\":\"json_upload\"}",
                     "acme", "123");
        /* The tenant from the header, the same in both, or the key's. */
        expect_event(JSON, BYTES("{\"text\":\"x\"}"), "acme", NULL,
                     "{\"message\":\"x\"," DEFAULTS
                     ",\"tenant_id\":\"acme\",\"log_id\":\"" UUID
                     "\",\"source\":\"json_upload\"}",
                     "acme", UUID);
        expect_event(JSON, BYTES("{\"tenant_id\":\"acme\",\"message\":\"x\"}"),
                     "acme", "acme",
                     "{\"tenant_id\":\"acme\",\"message\":\"x\"," DEFAULTS
                     ",\"log_id\":\"" UUID "\",\"source\":\"json_upload\"}",
                     "acme", UUID);
        expect_event(JSON, BYTES("{\"text\":\"x\"}"), NULL, "acme",
                     "{\"message\":\"x\"," DEFAULTS
                     ",\"tenant_id\":\"acme\",\"log_id\":\"" UUID
                     "\",\"source\":\"json_upload\"}",
                     "acme", UUID);
        /* The longest log id, and one of every allowed character. */
        expect_event(JSON,
                     BYTES("{\"tenant_id\":\"a\",\"log_id\":\"" L128
                           "\",\"text\":\"x\"}"),
                     NULL, NULL,
                     "{\"tenant_id\":\"a\",\"log_id\":\"" L128
                     "\",\"message\":\"x\"," DEFAULTS
                     ",\"source\":\"json_upload\"}",
                     "a", L128);
        expect_event(JSON,
                     BYTES("{\"tenant_id\":\"a\",\"log_id\":\"a.b:c-d_e\","
                           "\"text\":\"x\"}"),
                     NULL, NULL,
                     "{\"tenant_id\":\"a\",\"log_id\":\"a.b:c-d_e\","
                     "\"message\":\"x\"," DEFAULTS
                     ",\"source\":\"json_upload\"}",
                     "a", "a.b:c-d_e");
}

static void test_build_full_event(void **state)
{
        (void)state;
        /* A full event keeps every field, its source and nested values
         * too; only tenant_id and log_id are added. */
        expect_event(JSON,
                     BYTES("{\"timestamp\":\"2026-01-02T03:04:05+01:00\","
                           "\"service_name\":\"api\",\"level\":\"WARN\","
                           "\"message\":\"m\",\"user\":{\"id\":7,"
                           "\"tags\":[\"a\",null,true]},\"source\":\"mobile\","
                           "\"n\":1.5}"),
                     "acme", NULL,
                     "{\"timestamp\":\"2026-01-02T03:04:05+01:00\","
                     "\"service_name\":\"api\",\"level\":\"WARN\","
                     "\"message\":\"m\",\"user\":{\"id\":7,"
                     "\"tags\":[\"a\",null,true]},\"source\":\"mobile\","
                     "\"n\":1.5,\"tenant_id\":\"acme\",\"log_id\":\"" UUID
                     "\"}",
                     "acme", UUID);
        /* ... and one that names its tenant and log id is passed as it
         * is. */
        expect_event(JSON,
                     BYTES("{\"timestamp\":\"2026-01-02T03:04:05Z\","
                           "\"service_name\":\"api\",\"level\":\"ERROR\","
                           "\"message\":\"m\",\"tenant_id\":\"acme\","
                           "\"log_id\":\"l-1\",\"source\":\"json_upload\"}"),
                     NULL, NULL,
                     "{\"timestamp\":\"2026-01-02T03:04:05Z\","
                     "\"service_name\":\"api\",\"level\":\"ERROR\","
                     "\"message\":\"m\",\"tenant_id\":\"acme\","
                     "\"log_id\":\"l-1\",\"source\":\"json_upload\"}",
                     "acme", "l-1");
}

static void test_build_size(void **state)
{
        struct ev_request_event ev;
        char detail[512];
        size_t len;

        (void)state;
        assert_int_equal(
            build(TEXT, BYTES("x"), "a", NULL, 0, &ev, detail, sizeof(detail)),
            EV_REQUEST_OK);
        len = ev.payload_len;
        free(ev.payload);
        /* The limit is the event's, added fields included. */
        assert_int_equal(build(TEXT, BYTES("x"), "a", NULL, len, &ev, detail,
                               sizeof(detail)),
                         EV_REQUEST_OK);
        free(ev.payload);
        assert_int_equal(build(TEXT, BYTES("x"), "a", NULL, len - 1, &ev,
                               detail, sizeof(detail)),
                         EV_REQUEST_TOO_LARGE);
        assert_null(ev.payload);
        assert_non_null(strstr(detail, "over the limit"));
}

static void test_codes(void **state)
{
        static const unsigned statuses[EV_REQUEST__CNT] = {
            202, 404, 405, 401, 403, 415, 413, 400, 400,
            400, 400, 400, 400, 400, 400, 503, 503, 500};
        int e, f;

        (void)state;
        for (e = 0; e < EV_REQUEST__CNT; e++) {
                const char *code = ev_request_code((enum ev_request_error)e);

                assert_int_equal(ev_request_status((enum ev_request_error)e),
                                 statuses[e]);
                assert_non_null(code);
                assert_int_equal(strspn(code, "abcdefghijklmnopqrstuvwxyz_"),
                                 strlen(code));
                for (f = 0; f < e; f++)
                        assert_string_not_equal(
                            code, ev_request_code((enum ev_request_error)f));
        }
}

static void test_bodies(void **state)
{
        struct ev_request_event ev = {.payload = NULL};
        json_t *root, *detail;
        size_t len = 0;
        char *body;

        (void)state;
        body = ev_request_error_body(EV_REQUEST_BAD_JSON,
                                     "near '\"\\\xff\n' at byte 3", &len);
        assert_non_null(body);
        assert_int_equal(len, strlen(body));
        root = json_loads(body, 0, NULL);
        assert_non_null(root);
        assert_int_equal(json_object_size(root), 2);
        assert_string_equal(json_string_value(json_object_get(root, "error")),
                            "invalid_json");
        detail = json_object_get(root, "detail");
        /* One printable line: the control and the bad byte escaped. */
        assert_string_equal(json_string_value(detail),
                            "near '\"\\\\xff\\n' at byte 3");
        json_decref(root);
        free(body);

        snprintf(ev.tenant_id, sizeof(ev.tenant_id), "acme");
        snprintf(ev.log_id, sizeof(ev.log_id), "123");
        body = ev_request_accepted_body(&ev, "log-events/0/42", &len);
        assert_string_equal(body, "{\"status\":\"accepted\",\"tenant_id\":"
                                  "\"acme\",\"log_id\":\"123\","
                                  "\"message_id\":\"log-events/0/42\"}");
        assert_int_equal(len, strlen(body));
        free(body);
}

static void test_message_id(void **state)
{
        char buf[EV_REQUEST_MESSAGE_ID_SIZE];
        char tiny[8];

        (void)state;
        assert_true(
            ev_request_message_id("message_id=1234567", "t", buf, sizeof(buf)));
        assert_string_equal(buf, "1234567");
        assert_true(ev_request_message_id("partition=2 offset=42", "events",
                                          buf, sizeof(buf)));
        assert_string_equal(buf, "events/2/42");
        assert_true(ev_request_message_id("partition=0 offset=9007199254740993",
                                          "t", buf, sizeof(buf)));
        assert_string_equal(buf, "t/0/9007199254740993");
        assert_false(
            ev_request_message_id("message_id=", "t", buf, sizeof(buf)));
        assert_false(ev_request_message_id("partition=x offset=1", "t", buf,
                                           sizeof(buf)));
        assert_false(
            ev_request_message_id("partition=1", "t", buf, sizeof(buf)));
        assert_false(ev_request_message_id("partition=1 offset=2 more", "t",
                                           buf, sizeof(buf)));
        assert_false(ev_request_message_id("", "t", buf, sizeof(buf)));
        assert_false(ev_request_message_id("partition=1 offset=2",
                                           "a-long-topic", tiny, sizeof(tiny)));
        assert_false(ev_request_message_id("message_id=123456789", "t", tiny,
                                           sizeof(tiny)));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_content_type),
            cmocka_unit_test(test_tenant_rule),
            cmocka_unit_test(test_log_id_rule),
            cmocka_unit_test(test_uuid4),
            cmocka_unit_test(test_bearer),
            cmocka_unit_test(test_build_errors),
            cmocka_unit_test(test_build_text),
            cmocka_unit_test(test_build_log_id_header),
            cmocka_unit_test(test_build_json),
            cmocka_unit_test(test_build_full_event),
            cmocka_unit_test(test_build_size),
            cmocka_unit_test(test_codes),
            cmocka_unit_test(test_bodies),
            cmocka_unit_test(test_message_id),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
