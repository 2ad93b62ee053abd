/*
 * Unit tests for common/redact: what each phone number and e-mail address
 * form becomes, the near misses that must stay, and events redacted in
 * place (nested values, exempt members, keys, the original message, valid
 * JSON after). Allocations through jansson are counted, so that the "no
 * allocation when nothing matches" promise is checked.
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

#include "redact.h"

/* A string literal as pointer and length, embedded NULs included. */
#define BYTES(s) (s), sizeof(s) - 1

#define PHONE EV_CONFIG_REDACT_PHONE
#define EMAIL EV_CONFIG_REDACT_EMAIL
#define BOTH  (PHONE | EMAIL)
#define R     EV_REDACT_REPLACEMENT

/* jansson's allocations since the counter was last reset. */
static unsigned long json_allocs;

static void *counting_malloc(size_t size)
{
        json_allocs++;
        return malloc(size);
}

struct redact_case {
        const char *name;
        unsigned what;
        const char *in;
        size_t len;
        const char *out; /* the same text: nothing matches */
        size_t out_len;
};

static const struct redact_case cases[] = {
    /* NANP phone numbers. */
    {"local", BOTH, BYTES("call 555-0199 now"), BYTES("call " R " now")},
    {"area code in parentheses", BOTH, BYTES("(555) 123-4567"), BYTES(R)},
    {"parentheses, no space", BOTH, BYTES("(555)123-4567"), BYTES(R)},
    {"hyphens", BOTH, BYTES("555-123-4567"), BYTES(R)},
    {"dots", BOTH, BYTES("555.123.4567"), BYTES(R)},
    {"spaces", BOTH, BYTES("at 555 123 4567 today"), BYTES("at " R " today")},
    {"+1 and spaces", BOTH, BYTES("+1 555 123 4567"), BYTES(R)},
    {"+1 and parentheses", BOTH, BYTES("+1 (555) 123-4567"), BYTES(R)},
    {"1- prefix", BOTH, BYTES("1-555-123-4567"), BYTES(R)},
    {"1. prefix", BOTH, BYTES("dial 1.555.123.4567."), BYTES("dial " R ".")},
    {"in parentheses", BOTH, BYTES("(555-0199)"), BYTES("(" R ")")},
    {"sentence end", BOTH, BYTES("call 555-0199. Thanks"),
     BYTES("call " R ". Thanks")},
    {"tel: URI", BOTH, BYTES("tel:+1-555-123-4567;ext=9"),
     BYTES("tel:" R ";ext=9")},
    /* E.164 and grouped international numbers. */
    {"E.164 NANP", BOTH, BYTES("+15551234567"), BYTES(R)},
    {"E.164 Germany", BOTH, BYTES("mobile +4915112345678!"),
     BYTES("mobile " R "!")},
    {"grouped UK", BOTH, BYTES("+44 20 7946 0958"), BYTES(R)},
    {"grouped France", BOTH, BYTES("+33 1 23 45 67 89"), BYTES(R)},
    {"hyphenated international", BOTH, BYTES("+49-151-1234-5678"), BYTES(R)},
    {"8 digits after +", BOTH, BYTES("+12345678"), BYTES(R)},
    {"trunk prefix", BOTH, BYTES("+44 (0)20 7946 0958"), BYTES(R)},
    {"trunk prefix, no spaces", BOTH, BYTES("+49(0)151 12345678;"),
     BYTES(R ";")},
    /* E-mail addresses. */
    {"dots and plus", BOTH, BYTES("john.doe+tag@example.com"), BYTES(R)},
    {"shortest", BOTH, BYTES("a@b.co"), BYTES(R)},
    {"subdomains in angle brackets", BOTH,
     BYTES("<jane_o-neil@mail.example.co.uk>"), BYTES("<" R ">")},
    {"mailto", BOTH, BYTES("mailto:john@example.com?subject=hi"),
     BYTES("mailto:" R "?subject=hi")},
    {"trailing dot", BOTH, BYTES("write to john@example.com."),
     BYTES("write to " R ".")},
    {"upper case", BOTH, BYTES("John.Doe@Example.COM"), BYTES(R)},
    {"unicode local part and domain", BOTH,
     BYTES("jos\xc3\xa9@ex\xc3\xa4mple.de"), BYTES(R)},
    {"CJK address", BOTH,
     BYTES("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
           "\xe5\xb9\xbf\xe5\x91\x8a"),
     BYTES(R)},
    {"punycode domain", BOTH, BYTES("x@xn--80ak6aa92e.xn--p1ai"), BYTES(R)},
    {"digits before @: e-mail first", BOTH, BYTES("555-0199@example.com"),
     BYTES(R)},
    {"file name shaped like an address", BOTH, BYTES("icon@2x.png"), BYTES(R)},
    /* Several matches. */
    {"mixed kinds", BOTH,
     BYTES("john@example.com, +1 555 123 4567 and 555-0199"),
     BYTES(R ", " R " and " R)},
    {"list of numbers", BOTH, BYTES("555-0199,555-0200/555-0201"),
     BYTES(R "," R "/" R)},
    {"two addresses", BOTH, BYTES("a@x.org b@y.org"), BYTES(R " " R)},
    /* Unicode around matches. */
    {"CJK around a number", BOTH,
     BYTES("\xe9\x9b\xbb\xe8\xa9\xb1"
           "555-0199\xe3\x81\xa7\xe3\x81\x99"),
     BYTES("\xe9\x9b\xbb\xe8\xa9\xb1" R "\xe3\x81\xa7\xe3\x81\x99")},
    {"accents, dash and emoji", BOTH,
     BYTES("T\xc3\xa9l. : +33 1 23 45 67 89 \xe2\x80\x94 merci "
           "\xe2\x98\x8e"),
     BYTES("T\xc3\xa9l. : " R " \xe2\x80\x94 merci \xe2\x98\x8e")},
    {"emoji around an address", BOTH,
     BYTES("\xf0\x9f\x93\xa7 jane@example.org \xf0\x9f\x99\x82"),
     BYTES("\xf0\x9f\x93\xa7 " R " \xf0\x9f\x99\x82")},
    {"letters glued to an address go with it", BOTH,
     BYTES("\xe9\x80\xa3\xe7\xb5\xa1john@example.com"), BYTES(R)},
    /* Near misses: nothing changes. */
    {"ISO date", BOTH, BYTES("on 2026-11-29"), BYTES("on 2026-11-29")},
    {"ISO date-time", BOTH, BYTES("2026-11-29T21:13:25.123Z"),
     BYTES("2026-11-29T21:13:25.123Z")},
    {"offset", BOTH, BYTES("2026-11-29T21:13:25+05:30 +1030"),
     BYTES("2026-11-29T21:13:25+05:30 +1030")},
    {"versions", BOTH, BYTES("version 1.2.3 and 10.2.30"),
     BYTES("version 1.2.3 and 10.2.30")},
    {"IP addresses", BOTH, BYTES("10.0.0.1 and 192.168.100.200"),
     BYTES("10.0.0.1 and 192.168.100.200")},
    {"UUID", BOTH, BYTES("123e4567-e89b-12d3-a456-426614174000"),
     BYTES("123e4567-e89b-12d3-a456-426614174000")},
    {"UUID of digits", BOTH, BYTES("12345678-1234-5678-1234-567812345678"),
     BYTES("12345678-1234-5678-1234-567812345678")},
    {"long ID", BOTH, BYTES("order 12345678901234"),
     BYTES("order 12345678901234")},
    {"ten digits without separators", BOTH, BYTES("id 5551234567"),
     BYTES("id 5551234567")},
    {"epoch milliseconds", BOTH, BYTES("ts=1732912405123"),
     BYTES("ts=1732912405123")},
    {"prices", BOTH, BYTES("price 123.45 and $1,234.56"),
     BYTES("price 123.45 and $1,234.56")},
    {"card numbers are out of scope", BOTH,
     BYTES("4111 1111 1111 1111 and 4111-1111-1111-1111"),
     BYTES("4111 1111 1111 1111 and 4111-1111-1111-1111")},
    {"no dot in the domain", BOTH, BYTES("user@localhost"),
     BYTES("user@localhost")},
    {"IP and numeric domains", BOTH, BYTES("pkg@1.2.3 user@10.0.0.1"),
     BYTES("pkg@1.2.3 user@10.0.0.1")},
    {"hex hash", BOTH, BYTES("sha1 deadbeef5551234567cafe0123456789abcdef01"),
     BYTES("sha1 deadbeef5551234567cafe0123456789abcdef01")},
    {"dotted local number", BOTH, BYTES("555.0199"), BYTES("555.0199")},
    {"glued to an identifier", BOTH, BYTES("ORD-555-0199 v555-0199 x555-0199"),
     BYTES("ORD-555-0199 v555-0199 x555-0199")},
    {"longer digit runs", BOTH, BYTES("555-01999 555-0199-12 555-0199.5"),
     BYTES("555-01999 555-0199-12 555-0199.5")},
    {"7 digits after +", BOTH, BYTES("delta +1234567"),
     BYTES("delta +1234567")},
    {"trunk prefix, too short", BOTH, BYTES("+1 (0) 12345"),
     BYTES("+1 (0) 12345")},
    {"exchange starting with 1", BOTH, BYTES("123-4567"), BYTES("123-4567")},
    {"handles", BOTH, BYTES("@handle and a@b"), BYTES("@handle and a@b")},
    {"leading dot", BOTH, BYTES("..a@x.org"), BYTES("..a@x.org")},
    {"one-letter top-level domain", BOTH, BYTES("john@example.c"),
     BYTES("john@example.c")},
    {"empty", BOTH, BYTES(""), BYTES("")},
    /* One kind only. */
    {"phone only", PHONE, BYTES("john@example.com 555-0199"),
     BYTES("john@example.com " R)},
    {"e-mail only", EMAIL, BYTES("john@example.com 555-0199"),
     BYTES(R " 555-0199")},
    /* Raw bytes: NULs and invalid UTF-8 are kept, matches around them
     * still go. */
    {"NUL byte", BOTH, BYTES("a\0 555-0199"), BYTES("a\0 " R)},
    {"invalid UTF-8", BOTH, BYTES("\xff john@example.com \xfe 555-0199"),
     BYTES("\xff " R " \xfe " R)},
    {"invalid byte glued to an address", BOTH,
     BYTES("\xc3john@example.com\x80"), BYTES("\xc3" R "\x80")},
};

static void test_redact_strings(void **state)
{
        struct ev_redactor *r[BOTH + 1] = {NULL};
        size_t i, failed = 0;
        char errstr[256];
        enum ev_err err;
        unsigned w;

        (void)state;
        for (w = PHONE; w <= BOTH; w++) {
                r[w] = ev_redactor_new(w, &err, errstr, sizeof(errstr));
                assert_non_null(r[w]);
                assert_int_equal(err, EV_OK);
        }
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct redact_case *c = &cases[i];
                bool same =
                    c->len == c->out_len && !memcmp(c->in, c->out, c->len);
                bool changed = !same;
                const char *out = NULL;
                size_t out_len = 0;

                err = ev_redact_string(r[c->what], c->in, c->len, &changed,
                                       &out, &out_len);
                /* Unchanged text is handed back as it came, uncopied. */
                if (err || changed == same || out_len != c->out_len ||
                    memcmp(out, c->out, out_len) || (same && out != c->in)) {
                        print_error("case '%s': err %d, changed %d, got "
                                    "\"%.*s\"\n",
                                    c->name, (int)err, changed, (int)out_len,
                                    out ? out : "");
                        failed++;
                }
        }
        for (w = PHONE; w <= BOTH; w++)
                ev_redactor_free(r[w]);
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* Long texts: linear work (no backtracking blow-up), no PCRE2 limit hit
 * (which would replace the whole text), and many matches in one. */
static void test_redact_long(void **state)
{
        static const struct {
                const char *unit;
                bool matches; /* each unit is one match */
        } units[] = {
            {"a", false},      {"a.", false},       {"5", false},
            {"5-", false},     {"+1", false},       {"a@", false},
            {"a@b.", false},   {"(5", false},       {"1 ", false},
            {"x@a-", false},   {"\xc3\xa9", false}, {"555-0199 ", true},
            {"a@b.co ", true},
        };
        const size_t size = 1 << 20;
        char *text = malloc(size);
        struct ev_redactor *r;
        char errstr[256];
        enum ev_err err;
        size_t i;

        (void)state;
        assert_non_null(text);
        r = ev_redactor_new(BOTH, &err, errstr, sizeof(errstr));
        assert_non_null(r);
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                size_t unit_len = strlen(units[i].unit), n = 0, want;
                const char *out;
                size_t out_len;
                bool changed;

                while (n + unit_len <= size) {
                        memcpy(text + n, units[i].unit, unit_len);
                        n += unit_len;
                }
                want =
                    units[i].matches ? n / unit_len * (sizeof(R) - 1 + 1) : n;
                assert_int_equal(
                    ev_redact_string(r, text, n, &changed, &out, &out_len),
                    EV_OK);
                if (changed != units[i].matches || out_len != want)
                        print_error("unit '%s': changed %d, %zu bytes, "
                                    "expected %zu\n",
                                    units[i].unit, changed, out_len, want);
                assert_int_equal(changed, units[i].matches);
                assert_int_equal(out_len, want);
        }
        /* A domain of more labels than DNS allows: still linear. */
        memcpy(text, "x@", 2);
        for (i = 2; i + 2 < size; i += 2)
                memcpy(text + i, "a.", 2);
        {
                const char *out;
                size_t out_len;
                bool changed;

                assert_int_equal(
                    ev_redact_string(r, text, i, &changed, &out, &out_len),
                    EV_OK);
        }
        ev_redactor_free(r);
        free(text);
}

/* An event, what it must become, and its original message. */
struct event_case {
        const char *name;
        const char *in;
        const char *out;      /* NULL: the same as in */
        const char *original; /* the "message" kept; NULL: none */
        size_t original_len;
};

#define NONE NULL, 0

#define TS "\"timestamp\":\"2026-11-29T21:13:25.123Z\""
/* As the validator reads events. */
#define LOAD (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

static const struct event_case event_cases[] = {
    {"nothing to redact",
     "{" TS ",\"message\":\"user 4711 from 10.0.0.1\",\"n\":5551234567}", NULL,
     NONE},
    {"nested objects and arrays",
     "{" TS ",\"message\":\"call 555-0199\",\"user\":{\"email\":\"a@b.co\","
     "\"phones\":[\"555-0199\",{\"home\":\"+44 20 7946 0958\"},7,null,true],"
     "\"n\":5551234567},\"tags\":[\"x\",\"john@example.com\",[\"555-0199\"]]}",
     "{" TS ",\"message\":\"call " R "\",\"user\":{\"email\":\"" R "\","
     "\"phones\":[\"" R "\",{\"home\":\"" R "\"},7,null,true],"
     "\"n\":5551234567},\"tags\":[\"x\",\"" R "\",[\"" R "\"]]}",
     BYTES("call 555-0199")},
    {"exempt members untouched",
     "{\"timestamp\":\"2026-11-29T21:13:25.123Z\",\"event_time\":"
     "\"2026-11-29T21:13:25Z\",\"event_id\":\"555-0199\",\"tenant_id\":"
     "\"555-123-4567\",\"log_id\":\"a@b.co\",\"source\":\"john@example.com\","
     "\"message\":\"hi\"}",
     NULL, NONE},
    {"exempt names only at the top level",
     "{\"message\":\"m\",\"meta\":{\"event_id\":\"555-0199\","
     "\"source\":\"a@b.co\"}}",
     "{\"message\":\"m\",\"meta\":{\"event_id\":\"" R "\",\"source\":\"" R
     "\"}}",
     BYTES("m")},
    {"exempt names only as strings",
     "{\"message\":\"m\",\"source\":{\"from\":\"a@b.co\"},"
     "\"event_id\":[\"555-0199\"]}",
     "{\"message\":\"m\",\"source\":{\"from\":\"" R "\"},"
     "\"event_id\":[\"" R "\"]}",
     BYTES("m")},
    {"keys untouched",
     "{\"message\":\"m\",\"john@example.com\":\"555-0199\","
     "\"555-0199\":{\"a@b.co\":1}}",
     "{\"message\":\"m\",\"john@example.com\":\"" R "\","
     "\"555-0199\":{\"a@b.co\":1}}",
     BYTES("m")},
    {"escapes and unicode kept",
     "{\"message\":\"caf\\u00e9 \\u2028 \\\"555-0199\\\"\\n\\t\\\\ "
     "\\ud83d\\ude00a@b.co\\u00e9\"}",
     "{\"message\":\"caf\\u00e9 \\u2028 \\\"" R "\\\"\\n\\t\\\\ "
     "\\ud83d\\ude00" R "\"}",
     BYTES("caf\xc3\xa9 \xe2\x80\xa8 \"555-0199\"\n\t\\ \xf0\x9f\x98\x80"
           "a@b.co\xc3\xa9")},
    {"NUL in a string", "{\"message\":\"a\\u0000 555-0199\"}",
     "{\"message\":\"a\\u0000 " R "\"}", BYTES("a\0 555-0199")},
    {"no message member", "{\"text\":\"555-0199\"}", "{\"text\":\"" R "\"}",
     NONE},
    {"message unchanged, another member changed",
     "{\"message\":\"hello\",\"contact\":\"a@b.co\"}",
     "{\"message\":\"hello\",\"contact\":\"" R "\"}", BYTES("hello")},
    {"message not a string", "{\"message\":[\"555-0199\"]}",
     "{\"message\":[\"" R "\"]}", NONE},
};

/* True when original is case c's original message. */
static bool original_ok(const struct event_case *c, json_t *original)
{
        if (!c->original)
                return !original;
        return original && json_string_length(original) == c->original_len &&
               !memcmp(json_string_value(original), c->original,
                       c->original_len);
}

static void test_redact_events(void **state)
{
        struct ev_redactor *r;
        char errstr[256];
        enum ev_err err;
        size_t i, failed = 0;

        (void)state;
        r = ev_redactor_new(BOTH, &err, errstr, sizeof(errstr));
        assert_non_null(r);
        for (i = 0; i < sizeof(event_cases) / sizeof(event_cases[0]); i++) {
                const struct event_case *c = &event_cases[i];
                json_t *root = json_loads(c->in, LOAD, NULL);
                json_t *want = json_loads(c->out ? c->out : c->in, LOAD, NULL);
                json_t *before = json_loads(c->in, LOAD, NULL);
                json_t *message, *original = NULL, *again;
                bool changed = false, ok;
                char *text;

                assert_non_null(root);
                assert_non_null(want);
                assert_non_null(before);
                /* A reference taken before to a string: replaced, never
                 * modified (containers are redacted in place). */
                message = json_incref(json_object_get(root, "message"));
                json_allocs = 0;
                err = ev_redact_event(r, root, &changed, &original, errstr,
                                      sizeof(errstr));
                ok = !err && changed == (c->out != NULL) &&
                     json_equal(root, want) && original_ok(c, original) &&
                     (!original || original == message);
                /* Nothing to change, nothing allocated. */
                ok = ok && (changed || json_allocs == 0);
                ok = ok &&
                     (!json_is_string(message) ||
                      json_equal(message, json_object_get(before, "message")));
                /* Still valid JSON, and the same once read back. */
                text = json_dumps(root, JSON_COMPACT);
                again = text ? json_loads(text, LOAD, NULL) : NULL;
                ok = ok && again && json_equal(again, want);
                if (!ok) {
                        print_error("case '%s': err %d, changed %d, allocs "
                                    "%lu, got %s\n",
                                    c->name, (int)err, changed, json_allocs,
                                    text ? text : "(null)");
                        failed++;
                }
                free(text);
                json_decref(again);
                json_decref(before);
                json_decref(message);
                json_decref(original);
                json_decref(want);
                json_decref(root);
        }
        ev_redactor_free(r);
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* A redactor needs something to redact. */
static void test_redact_new(void **state)
{
        char errstr[256] = "";
        enum ev_err err = EV_OK;

        (void)state;
        assert_null(ev_redactor_new(0, &err, errstr, sizeof(errstr)));
        assert_int_equal(err, EV_ERR_USAGE);
        assert_string_equal(errstr, "nothing to redact");
        ev_redactor_free(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_redact_new),
            cmocka_unit_test(test_redact_strings),
            cmocka_unit_test(test_redact_long),
            cmocka_unit_test(test_redact_events),
        };

        /* Before any jansson call, as jansson asks. */
        json_set_alloc_funcs(counting_malloc, free);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
