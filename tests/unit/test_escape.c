/*
 * Unit tests for common/escape: what each byte sequence becomes, and the
 * bounds (max_in, out_size) that keep the output whole and terminated. The
 * output buffer is a heap block of exactly out_size bytes, so ASan reports
 * any write past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

/* A string literal as pointer and length, embedded NULs included. */
#define BYTES(s) (s), sizeof(s) - 1

#define NO_CUT     0 /* max_in: all of the input */
#define ROOMY      0 /* out_size: 256 bytes */
#define BS         EV_ESCAPE_BACKSLASH
#define ROOMY_SIZE 256

struct escape_case {
        const char *name;
        const char *in;
        size_t len;
        size_t max_in;   /* NO_CUT: len */
        size_t out_size; /* ROOMY: ROOMY_SIZE */
        int flags;
        const char *out;
        size_t consumed;
};

static const struct escape_case escape_cases[] = {
    /* Kept as is. */
    {"empty", BYTES(""), NO_CUT, ROOMY, 0, "", 0},
    {"plain ASCII", BYTES("hello, world"), NO_CUT, ROOMY, 0, "hello, world",
     12},
    {"printable ASCII",
     BYTES(" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
           "[]^_`abcdefghijklmnopqrstuvwxyz{|}~"),
     NO_CUT, ROOMY, 0,
     " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
     "[]^_`abcdefghijklmnopqrstuvwxyz{|}~",
     94},
    {"2-byte UTF-8", BYTES("caf\xc3\xa9"), NO_CUT, ROOMY, 0, "caf\xc3\xa9", 5},
    {"3-byte UTF-8",
     BYTES("\xe2\x82\xac"
           "5"),
     NO_CUT, ROOMY, 0,
     "\xe2\x82\xac"
     "5",
     4},
    {"4-byte UTF-8", BYTES("\xf0\x9f\x98\x80"), NO_CUT, ROOMY, 0,
     "\xf0\x9f\x98\x80", 4},
    {"U+10FFFF", BYTES("\xf4\x8f\xbf\xbf"), NO_CUT, ROOMY, 0,
     "\xf4\x8f\xbf\xbf", 4},
    {"U+00A0 after the C1 range", BYTES("\xc2\xa0"), NO_CUT, ROOMY, 0,
     "\xc2\xa0", 2},
    {"U+2027 next to U+2028", BYTES("\xe2\x80\xa7"), NO_CUT, ROOMY, 0,
     "\xe2\x80\xa7", 3},

    /* C0 controls and DEL. */
    {"newline", BYTES("a\nb"), NO_CUT, ROOMY, 0, "a\\nb", 3},
    {"carriage return", BYTES("a\rb"), NO_CUT, ROOMY, 0, "a\\rb", 3},
    {"tab", BYTES("a\tb"), NO_CUT, ROOMY, 0, "a\\tb", 3},
    {"ESC sequence", BYTES("\x1b[31mred"), NO_CUT, ROOMY, 0, "\\x1b[31mred", 8},
    {"DEL", BYTES("a\x7f"), NO_CUT, ROOMY, 0, "a\\x7f", 2},
    {"NUL byte", BYTES("a\0b"), NO_CUT, ROOMY, 0, "a\\x00b", 3},
    {"SOH", BYTES("\x01"), NO_CUT, ROOMY, 0, "\\x01", 1},
    {"BEL and BS", BYTES("\x07\x08"), NO_CUT, ROOMY, 0, "\\x07\\x08", 2},
    {"unit separator", BYTES("\x1f"), NO_CUT, ROOMY, 0, "\\x1f", 1},

    /* Not UTF-8: each offending byte as \xNN. */
    {"byte 0xff",
     BYTES("a\xff"
           "b"),
     NO_CUT, ROOMY, 0, "a\\xffb", 3},
    {"byte 0xfe", BYTES("\xfe"), NO_CUT, ROOMY, 0, "\\xfe", 1},
    {"lone continuation", BYTES("\x80"), NO_CUT, ROOMY, 0, "\\x80", 1},
    {"truncated 3-byte at end", BYTES("a\xe2\x82"), NO_CUT, ROOMY, 0,
     "a\\xe2\\x82", 3},
    {"truncated 4-byte at end", BYTES("\xf0\x9f\x98"), NO_CUT, ROOMY, 0,
     "\\xf0\\x9f\\x98", 3},
    {"bad continuation", BYTES("\xe2(\xa1"), NO_CUT, ROOMY, 0, "\\xe2(\\xa1",
     3},
    {"lead then ASCII",
     BYTES("\xc3"
           "A"),
     NO_CUT, ROOMY, 0, "\\xc3A", 2},
    {"overlong C0 AF", BYTES("\xc0\xaf"), NO_CUT, ROOMY, 0, "\\xc0\\xaf", 2},
    {"overlong C1 BF", BYTES("\xc1\xbf"), NO_CUT, ROOMY, 0, "\\xc1\\xbf", 2},
    {"overlong 3-byte", BYTES("\xe0\x80\xaf"), NO_CUT, ROOMY, 0,
     "\\xe0\\x80\\xaf", 3},
    {"overlong 4-byte", BYTES("\xf0\x80\x80\xaf"), NO_CUT, ROOMY, 0,
     "\\xf0\\x80\\x80\\xaf", 4},
    {"surrogate ED A0 80", BYTES("\xed\xa0\x80"), NO_CUT, ROOMY, 0,
     "\\xed\\xa0\\x80", 3},
    {"surrogate ED BF BF", BYTES("\xed\xbf\xbf"), NO_CUT, ROOMY, 0,
     "\\xed\\xbf\\xbf", 3},
    {"beyond U+10FFFF", BYTES("\xf4\x90\x80\x80"), NO_CUT, ROOMY, 0,
     "\\xf4\\x90\\x80\\x80", 4},
    {"lead byte F5", BYTES("\xf5\x80\x80\x80"), NO_CUT, ROOMY, 0,
     "\\xf5\\x80\\x80\\x80", 4},
    {"invalid then valid", BYTES("\xff\xc3\xa9"), NO_CUT, ROOMY, 0,
     "\\xff\xc3\xa9", 3},

    /* C1 controls and the Unicode line separators. */
    {"U+009B CSI",
     BYTES("\xc2\x9b"
           "2J"),
     NO_CUT, ROOMY, 0, "\\u009b2J", 4},
    {"U+0080", BYTES("\xc2\x80"), NO_CUT, ROOMY, 0, "\\u0080", 2},
    {"U+0085 NEL", BYTES("\xc2\x85"), NO_CUT, ROOMY, 0, "\\u0085", 2},
    {"U+009F", BYTES("\xc2\x9f"), NO_CUT, ROOMY, 0, "\\u009f", 2},
    {"U+2028",
     BYTES("a\xe2\x80\xa8"
           "b"),
     NO_CUT, ROOMY, 0, "a\\u2028b", 5},
    {"U+2029", BYTES("\xe2\x80\xa9"), NO_CUT, ROOMY, 0, "\\u2029", 3},

    /* Backslash: doubled only when asked. */
    {"backslash kept", BYTES("C:\\tmp"), NO_CUT, ROOMY, 0, "C:\\tmp", 6},
    {"backslash doubled", BYTES("C:\\tmp"), NO_CUT, ROOMY, BS, "C:\\\\tmp", 6},
    {"flag, newline", BYTES("a\\\n"), NO_CUT, ROOMY, BS, "a\\\\\\n", 3},
    {"flag, plain text", BYTES("abc"), NO_CUT, ROOMY, BS, "abc", 3},
    {"already escaped, idempotent", BYTES("a\\nb\\x1b\\u2028\\\\"), NO_CUT,
     ROOMY, 0, "a\\nb\\x1b\\u2028\\\\", 16},

    /* max_in cuts the input; the return value says where. */
    {"max_in 3", BYTES("hello"), 3, ROOMY, 0, "hel", 3},
    {"max_in 1", BYTES("hello"), 1, ROOMY, 0, "h", 1},
    {"max_in equal to len", BYTES("hello"), 5, ROOMY, 0, "hello", 5},
    {"max_in beyond len", BYTES("hi"), 100, ROOMY, 0, "hi", 2},
    {"max_in before an escape", BYTES("ab\ncd"), 2, ROOMY, 0, "ab", 2},
    {"max_in after an escape", BYTES("ab\ncd"), 3, ROOMY, 0, "ab\\n", 3},
    /* Only the first max_in bytes are looked at, so a character cut by
     * max_in is no longer valid UTF-8 and shows as raw bytes. */
    {"max_in inside a 3-byte char", BYTES("a\xe2\x82\xac"), 3, ROOMY, 0, "a",
     1},
    {"max_in after a 3-byte char", BYTES("a\xe2\x82\xac"), 4, ROOMY, 0,
     "a\xe2\x82\xac", 4},
    {"max_in inside invalid bytes", BYTES("a\xe2\x82x"), 2, ROOMY, 0, "a\\xe2",
     2},

    /* A small out_size stops at the last whole character or escape. */
    {"out_size 1", BYTES("abc"), NO_CUT, 1, 0, "", 0},
    {"out_size 2", BYTES("abc"), NO_CUT, 2, 0, "a", 1},
    {"out_size fits all", BYTES("abc"), NO_CUT, 4, 0, "abc", 3},
    {"\\n needs 3", BYTES("\n"), NO_CUT, 2, 0, "", 0},
    {"\\n fits in 3", BYTES("\n"), NO_CUT, 3, 0, "\\n", 1},
    {"\\x1b needs 5",
     BYTES("a\x1b"
           "b"),
     NO_CUT, 5, 0, "a", 1},
    {"\\x1b fits in 6",
     BYTES("a\x1b"
           "b"),
     NO_CUT, 6, 0, "a\\x1b", 2},
    {"\\u2028 needs 7", BYTES("\xe2\x80\xa8"), NO_CUT, 6, 0, "", 0},
    {"\\u2028 fits in 7", BYTES("\xe2\x80\xa8"), NO_CUT, 7, 0, "\\u2028", 3},
    {"3-byte char not split", BYTES("a\xe2\x82\xac"), NO_CUT, 4, 0, "a", 1},
    {"3-byte char fits", BYTES("a\xe2\x82\xac"), NO_CUT, 5, 0, "a\xe2\x82\xac",
     4},
    {"4-byte char not split", BYTES("\xf0\x9f\x98\x80"), NO_CUT, 4, 0, "", 0},
    {"2-byte char not split", BYTES("x\xc3\xa9"), NO_CUT, 3, 0, "x", 1},
    {"doubled backslash not split", BYTES("a\\"), NO_CUT, 3, BS, "a", 1},
    {"escape after a char", BYTES("\xc3\xa9\xff"), NO_CUT, 6, 0, "\xc3\xa9", 2},
};

/* A recognisable byte in untouched output. */
#define CANARY 0x5a

static bool check_escape(const struct escape_case *c)
{
        size_t max_in = c->max_in == NO_CUT ? c->len : c->max_in;
        size_t out_size = c->out_size == ROOMY ? ROOMY_SIZE : c->out_size;
        char *in = malloc(c->len);
        char *out = malloc(out_size);
        bool ok = true;
        size_t consumed, i;

        assert_true(in || !c->len);
        assert_non_null(out);
        if (c->len)
                memcpy(in, c->in, c->len);
        memset(out, CANARY, out_size);
        consumed = ev_escape(in, c->len, max_in, c->flags, out, out_size);
        if (!memchr(out, '\0', out_size)) {
                print_error("case '%s': output not terminated\n", c->name);
                ok = false;
                goto out;
        }
        if (strcmp(out, c->out)) {
                print_error("case '%s': got \"%s\", expected \"%s\"\n", c->name,
                            out, c->out);
                ok = false;
        }
        if (consumed != c->consumed) {
                print_error("case '%s': consumed %zu, expected %zu\n", c->name,
                            consumed, c->consumed);
                ok = false;
        }
        for (i = 0; out[i]; i++) {
                unsigned char b = (unsigned char)out[i];

                if (b < 0x20 || b == 0x7f) {
                        print_error("case '%s': control byte 0x%02x at %zu\n",
                                    c->name, b, i);
                        ok = false;
                }
        }
out:
        free(in);
        free(out);
        return ok;
}

static void test_escape_table(void **state)
{
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(escape_cases) / sizeof(escape_cases[0]); i++) {
                if (!check_escape(&escape_cases[i]))
                        failed++;
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* out_size 0: nothing written, nothing consumed. */
static void test_escape_out_size_zero(void **state)
{
        char out[4] = {CANARY, CANARY, CANARY, CANARY};

        (void)state;
        assert_int_equal(ev_escape("abc", 3, 3, 0, out, 0), 0);
        assert_int_equal(out[0], CANARY);
}

/* max_in 0: an empty, terminated output and nothing consumed. */
static void test_escape_max_in_zero(void **state)
{
        char out[4] = {CANARY, CANARY, CANARY, CANARY};

        (void)state;
        assert_int_equal(ev_escape("abc", 3, 0, 0, out, sizeof(out)), 0);
        assert_string_equal(out, "");
}

/* Every input of one or two bytes: the output is printable, single-line,
 * and the whole input is consumed when the buffer is big enough. */
static void test_escape_all_byte_pairs(void **state)
{
        char out[2 * EV_ESCAPE_MAX_RATIO + 1];
        unsigned a, b;
        size_t failed = 0;

        (void)state;
        for (a = 0; a < 256; a++) {
                for (b = 0; b < 257; b++) {
                        char in[2] = {(char)a, (char)b};
                        size_t len = b < 256 ? 2 : 1;
                        size_t i, consumed;
                        bool ok;

                        consumed = ev_escape(in, len, len, EV_ESCAPE_BACKSLASH,
                                             out, sizeof(out));
                        ok = consumed == len;
                        for (i = 0; out[i]; i++) {
                                unsigned char c = (unsigned char)out[i];

                                if (c < 0x20 || c == 0x7f)
                                        ok = false;
                        }
                        if (!ok) {
                                print_error("input %02x %02x: \"%s\"\n", a, b,
                                            out);
                                failed++;
                        }
                }
        }
        assert_int_equal(failed, 0);
}

/* Cutting the output short never leaves half a character: each prefix the
 * escape produces for a shorter buffer is a prefix of the full output. */
static void test_escape_prefixes(void **state)
{
        static const char in[] = "a\xe2\x82\xac\n\xff\xf0\x9f\x98\x80"
                                 "\xc2\x9b\\z\xe2\x80\xa8";
        char full[128];
        char *out;
        size_t size, consumed, prev = 0;

        (void)state;
        ev_escape(in, sizeof(in) - 1, sizeof(in) - 1, EV_ESCAPE_BACKSLASH, full,
                  sizeof(full));
        for (size = 1; size <= strlen(full) + 1; size++) {
                out = malloc(size);
                assert_non_null(out);
                consumed = ev_escape(in, sizeof(in) - 1, sizeof(in) - 1,
                                     EV_ESCAPE_BACKSLASH, out, size);
                if (strncmp(out, full, strlen(out)) || consumed < prev) {
                        print_error("out_size %zu: \"%s\"\n", size, out);
                        fail();
                }
                prev = consumed;
                free(out);
        }
        assert_int_equal(prev, sizeof(in) - 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_escape_table),
            cmocka_unit_test(test_escape_out_size_zero),
            cmocka_unit_test(test_escape_max_in_zero),
            cmocka_unit_test(test_escape_all_byte_pairs),
            cmocka_unit_test(test_escape_prefixes),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
