/*
 * Unit tests for common/base64: the RFC 4648 vectors in both alphabets,
 * round trips of every byte value and every short length, and the strict
 * decoder's refusals. Inputs to decode are heap copies of exactly their
 * length, with no NUL after them, so that ASan reports any read past len.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

/* A string literal as pointer and length, embedded NULs included. */
#define BYTES(s) (s), sizeof(s) - 1

#define STD EV_BASE64_STD
#define URL EV_BASE64_URL

/* Decodes src[0..len) from an exact-size heap copy into an exact-size
 * output buffer; the decoded bytes go to out (>= decoded_max). */
static bool decode(const char *src, size_t len, unsigned char *out,
                   size_t *out_len, enum ev_base64_alphabet abc)
{
        char *in = malloc(len ? len : 1);
        unsigned char *dst = malloc(ev_base64_decoded_max(len));
        bool ok;

        assert_non_null(in);
        assert_non_null(dst);
        memcpy(in, src, len);
        *out_len = 0;
        ok = ev_base64_decode(in, len, dst, out_len, abc);
        if (ok) {
                assert_true(*out_len <= ev_base64_decoded_max(len));
                memcpy(out, dst, *out_len);
        }
        free(dst);
        free(in);
        return ok;
}

/* Encodes into an exact-size heap buffer and returns it; the caller frees
 * it. */
static char *encode(const void *src, size_t len, enum ev_base64_alphabet abc,
                    size_t *out_len)
{
        size_t want = ev_base64_encoded_len(len, abc);
        char *dst = malloc(want + 1);

        assert_non_null(dst);
        *out_len = ev_base64_encode(src, len, dst, abc);
        assert_int_equal(*out_len, want);
        assert_int_equal(strlen(dst), want);
        return dst;
}

static void test_base64_rfc4648_vectors(void **state)
{
        static const struct {
                const char *plain;
                const char *std;
                const char *url;
        } cases[] = {
            {"", "", ""},
            {"f", "Zg==", "Zg"},
            {"fo", "Zm8=", "Zm8"},
            {"foo", "Zm9v", "Zm9v"},
            {"foob", "Zm9vYg==", "Zm9vYg"},
            {"fooba", "Zm9vYmE=", "Zm9vYmE"},
            {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t plen = strlen(cases[i].plain), n;
                unsigned char out[16];
                char *enc;

                enc = encode(cases[i].plain, plen, STD, &n);
                if (strcmp(enc, cases[i].std)) {
                        print_error("'%s' STD: got '%s'\n", cases[i].plain,
                                    enc);
                        failed++;
                }
                free(enc);
                enc = encode(cases[i].plain, plen, URL, &n);
                if (strcmp(enc, cases[i].url)) {
                        print_error("'%s' URL: got '%s'\n", cases[i].plain,
                                    enc);
                        failed++;
                }
                free(enc);

                if (!decode(cases[i].std, strlen(cases[i].std), out, &n, STD) ||
                    n != plen || memcmp(out, cases[i].plain, plen)) {
                        print_error("'%s' STD: decode failed\n", cases[i].std);
                        failed++;
                }
                if (!decode(cases[i].url, strlen(cases[i].url), out, &n, URL) ||
                    n != plen || memcmp(out, cases[i].plain, plen)) {
                        print_error("'%s' URL: decode failed\n", cases[i].url);
                        failed++;
                }
                /* URL mode also takes the padded form. */
                if (!decode(cases[i].std, strlen(cases[i].std), out, &n, URL) ||
                    n != plen || memcmp(out, cases[i].plain, plen)) {
                        print_error("'%s' URL, padded: decode failed\n",
                                    cases[i].std);
                        failed++;
                }
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* The two alphabets differ only in the last two characters. */
static void test_base64_alphabets(void **state)
{
        static const unsigned char hi[] = {0xfb, 0xff, 0xbf};
        unsigned char out[8];
        size_t n;
        char *enc;

        (void)state;
        enc = encode(hi, sizeof(hi), STD, &n);
        assert_string_equal(enc, "+/+/");
        free(enc);
        enc = encode(hi, sizeof(hi), URL, &n);
        assert_string_equal(enc, "-_-_");
        free(enc);
        assert_true(decode(BYTES("+/+/"), out, &n, STD));
        assert_int_equal(n, 3);
        assert_memory_equal(out, hi, 3);
        assert_true(decode(BYTES("-_-_"), out, &n, URL));
        assert_int_equal(n, 3);
        assert_memory_equal(out, hi, 3);
}

static void check_round_trip(const unsigned char *buf, size_t len,
                             enum ev_base64_alphabet abc)
{
        unsigned char *out =
            malloc(ev_base64_decoded_max(ev_base64_encoded_len(len, abc)) + 1);
        size_t n, dec_len;
        char *enc;

        assert_non_null(out);
        enc = encode(buf, len, abc, &n);
        assert_true(decode(enc, n, out, &dec_len, abc));
        assert_int_equal(dec_len, len);
        if (len)
                assert_memory_equal(out, buf, len);
        free(enc);
        free(out);
}

static void test_base64_all_bytes(void **state)
{
        unsigned char all[256];
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(all); i++)
                all[i] = (unsigned char)i;
        check_round_trip(all, sizeof(all), STD);
        check_round_trip(all, sizeof(all), URL);
        /* Every byte value in each of the three positions of a quantum. */
        for (i = 0; i < 3; i++) {
                check_round_trip(all + i, sizeof(all) - i, STD);
                check_round_trip(all + i, sizeof(all) - i, URL);
        }
}

/* xorshift32: the same pseudo-random bytes on every run. */
static uint32_t next_rand(uint32_t *s)
{
        *s ^= *s << 13;
        *s ^= *s >> 17;
        *s ^= *s << 5;
        return *s;
}

static void test_base64_lengths(void **state)
{
        uint32_t seed = 0x9e3779b9u;
        unsigned char buf[64];
        size_t len, i;

        (void)state;
        for (len = 0; len <= sizeof(buf); len++) {
                for (i = 0; i < len; i++)
                        buf[i] = (unsigned char)next_rand(&seed);
                check_round_trip(buf, len, STD);
                check_round_trip(buf, len, URL);
                /* Padded to a whole quantum; unpadded: 4 per 3, and 2 or
                 * 3 for a last 1 or 2 bytes. */
                assert_int_equal(ev_base64_encoded_len(len, STD),
                                 (len + 2) / 3 * 4);
                assert_int_equal(ev_base64_encoded_len(len, URL),
                                 len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0));
        }
}

struct reject_case {
        const char *name;
        const char *in;
        size_t len;
        enum ev_base64_alphabet abc;
};

static const struct reject_case reject_cases[] = {
    /* Characters outside the alphabet. */
    {"space", BYTES("Zm9 "), STD},
    {"newline", BYTES("Zm9v\nYmFy"), STD},
    {"asterisk", BYTES("Zm*v"), STD},
    {"NUL byte", BYTES("Zm\0v"), STD},
    {"NUL byte, URL", BYTES("Zm\0v"), URL},
    {"high byte", BYTES("Zm\xc3v"), STD},
    {"'+' in URL mode", BYTES("Zm+v"), URL},
    {"'/' in URL mode", BYTES("Zm/v"), URL},
    {"'-' in STD mode", BYTES("Zm-v"), STD},
    {"'_' in STD mode", BYTES("Zm_v"), STD},

    /* Padding. */
    {"STD without padding, 1 byte", BYTES("Zg"), STD},
    {"STD without padding, 2 bytes", BYTES("Zm8"), STD},
    {"too much padding", BYTES("Zm8=="), STD},
    {"too little padding", BYTES("Zg="), STD},
    {"padding in the middle", BYTES("Zg==Zm9v"), STD},
    {"padding in the middle, URL", BYTES("Zg==Zm9v"), URL},
    {"padding inside a quantum", BYTES("Z=g="), STD},
    {"padding first", BYTES("=Zg="), STD},
    {"three padding characters", BYTES("Z==="), STD},
    {"only padding ===", BYTES("==="), STD},
    {"only padding === URL", BYTES("==="), URL},
    {"only padding ====", BYTES("===="), STD},
    {"only padding ==", BYTES("=="), URL},
    {"only padding =", BYTES("="), URL},
    {"URL with partial padding", BYTES("Zg="), URL},

    /* Lengths no encoder produces. */
    {"length 1", BYTES("Z"), STD},
    {"length 1, URL", BYTES("Z"), URL},
    {"length 5, URL", BYTES("Zm9vY"), URL},
    {"length 5, STD", BYTES("Zm9vY"), STD},

    /* Non-zero bits after the last byte. */
    {"Zh== (canonical Zg==)", BYTES("Zh=="), STD},
    {"Zh, URL", BYTES("Zh"), URL},
    {"Zm9= (canonical Zm8=)", BYTES("Zm9="), STD},
    {"Zm9, URL", BYTES("Zm9"), URL},
    {"Zm9vYh== (canonical Zm9vYg==)", BYTES("Zm9vYh=="), STD},
    {"//==", BYTES("//=="), STD},
};

static void test_base64_rejects(void **state)
{
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++) {
                const struct reject_case *c = &reject_cases[i];
                unsigned char out[32];
                size_t n;

                if (decode(c->in, c->len, out, &n, c->abc)) {
                        print_error("case '%s': accepted, %zu bytes\n", c->name,
                                    n);
                        failed++;
                }
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* The neighbours of the refusals above that must pass. */
static void test_base64_accepts(void **state)
{
        static const struct {
                const char *name;
                const char *in;
                size_t len;
                enum ev_base64_alphabet abc;
                const char *out;
                size_t out_len;
        } cases[] = {
            {"Zg==", BYTES("Zg=="), STD, BYTES("f")},
            {"Zm8=", BYTES("Zm8="), STD, BYTES("fo")},
            {"Zg, URL", BYTES("Zg"), URL, BYTES("f")},
            {"Zg==, URL", BYTES("Zg=="), URL, BYTES("f")},
            {"empty, STD", BYTES(""), STD, BYTES("")},
            {"empty, URL", BYTES(""), URL, BYTES("")},
            {"AAAA", BYTES("AAAA"), STD, BYTES("\0\0\0")},
            {"AA==", BYTES("AA=="), STD, BYTES("\0")},
            {"/w==", BYTES("/w=="), STD, BYTES("\xff")},
            {"_w, URL", BYTES("_w"), URL, BYTES("\xff")},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                unsigned char out[16];
                size_t n;

                if (!decode(cases[i].in, cases[i].len, out, &n, cases[i].abc) ||
                    n != cases[i].out_len || memcmp(out, cases[i].out, n)) {
                        print_error("case '%s': refused or wrong\n",
                                    cases[i].name);
                        failed++;
                }
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* decoded_max bounds the output for every length, odd ones included. */
static void test_base64_decoded_max(void **state)
{
        size_t len;

        (void)state;
        for (len = 0; len <= 64; len++)
                assert_true(ev_base64_decoded_max(len) >= len / 4 * 3 + 2);
        assert_true(ev_base64_decoded_max(4) >= 3);
        assert_true(ev_base64_decoded_max(3) >= 2);
        assert_true(ev_base64_decoded_max(2) >= 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_base64_rfc4648_vectors),
            cmocka_unit_test(test_base64_alphabets),
            cmocka_unit_test(test_base64_all_bytes),
            cmocka_unit_test(test_base64_lengths),
            cmocka_unit_test(test_base64_rejects),
            cmocka_unit_test(test_base64_accepts),
            cmocka_unit_test(test_base64_decoded_max),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
