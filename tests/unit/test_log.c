/*
 * Unit tests for common/log: level names, the threshold, and what reaches
 * fd 2. Each record is captured by pointing fd 2 at a temporary file for the
 * duration of one call; cmocka reports only after fd 2 is restored.
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
#include <unistd.h>

#include <jansson.h>

#include "capture.h"
#include "log.h"

/* Comfortably more than one record (8 KiB). */
#define CAPTURE_MAX 32768

/* Must run first: nothing has set the level yet. */
static void test_log_default_level(void **state)
{
        struct capture cap;
        char buf[CAPTURE_MAX];

        (void)state;
        capture_start(&cap);
        ev_log(EV_LOG_DEBUG, "dropped");
        ev_log(EV_LOG_INFO, "kept");
        capture_end(&cap, buf, sizeof(buf));
        assert_string_equal(buf, "INFO: kept\n");
}

static void test_log_level_parse(void **state)
{
        static const struct {
                const char *name;
                bool ok;
                enum ev_log_level level;
        } cases[] = {
            {"debug", true, EV_LOG_DEBUG},
            {"DEBUG", true, EV_LOG_DEBUG},
            {"Debug", true, EV_LOG_DEBUG},
            {"info", true, EV_LOG_INFO},
            {"INFO", true, EV_LOG_INFO},
            {"warn", true, EV_LOG_WARN},
            {"WARN", true, EV_LOG_WARN},
            {"warning", true, EV_LOG_WARN},
            {"WARNING", true, EV_LOG_WARN},
            {"error", true, EV_LOG_ERROR},
            {"eRRoR", true, EV_LOG_ERROR},
            {"", false, 0},
            {"fatal", false, 0},
            {"trace", false, 0},
            {"inf", false, 0},
            {"info ", false, 0},
            {" info", false, 0},
            {"information", false, 0},
            {"errors", false, 0},
            {"warnings", false, 0},
            {"0", false, 0},
            {"info\n", false, 0},
        };
        static const enum ev_log_level sentinels[] = {EV_LOG_DEBUG,
                                                      EV_LOG_ERROR};
        size_t i, j, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                for (j = 0; j < 2; j++) {
                        enum ev_log_level level = sentinels[j];
                        bool ok = ev_log_level_parse(cases[i].name, &level);
                        enum ev_log_level want =
                            cases[i].ok ? cases[i].level : sentinels[j];

                        if (ok != cases[i].ok || level != want) {
                                print_error("case '%s': returned %d, level "
                                            "%d\n",
                                            cases[i].name, ok, (int)level);
                                failed++;
                        }
                }
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

static void test_log_records(void **state)
{
        static const struct {
                const char *name;
                enum ev_log_level threshold;
                enum ev_log_level level;
                const char *message;
                const char *out; /* "": dropped */
        } cases[] = {
            {"plain error", EV_LOG_INFO, EV_LOG_ERROR, "plain",
             "ERROR: plain\n"},
            {"warn prefix", EV_LOG_INFO, EV_LOG_WARN, "w", "WARN: w\n"},
            {"info prefix", EV_LOG_INFO, EV_LOG_INFO, "i", "INFO: i\n"},
            {"debug prefix", EV_LOG_DEBUG, EV_LOG_DEBUG, "d", "DEBUG: d\n"},
            {"hostile bytes", EV_LOG_INFO, EV_LOG_ERROR,
             "line1\nline2\x1b[31m\xff\x80 end",
             "ERROR: line1\\nline2\\x1b[31m\\xff\\x80 end\n"},
            {"forged record", EV_LOG_INFO, EV_LOG_INFO, "ok\nERROR: forged",
             "INFO: ok\\nERROR: forged\n"},
            {"caller's newline", EV_LOG_INFO, EV_LOG_INFO, "done\n",
             "INFO: done\\n\n"},
            {"CR and tab", EV_LOG_INFO, EV_LOG_WARN, "a\rb\tc",
             "WARN: a\\rb\\tc\n"},
            {"line separators", EV_LOG_INFO, EV_LOG_WARN,
             "a\xe2\x80\xa8"
             "b\xc2\x85"
             "c\xc2\x9b"
             "d",
             "WARN: a\\u2028b\\u0085c\\u009bd\n"},
            {"overlong and surrogate", EV_LOG_INFO, EV_LOG_ERROR,
             "\xc0\xaf\xed\xa0\x80", "ERROR: \\xc0\\xaf\\xed\\xa0\\x80\n"},
            {"backslash kept", EV_LOG_INFO, EV_LOG_INFO, "C:\\tmp\\n",
             "INFO: C:\\tmp\\n\n"},
            {"UTF-8 kept", EV_LOG_INFO, EV_LOG_INFO,
             "caf\xc3\xa9 \xf0\x9f\x98\x80",
             "INFO: caf\xc3\xa9 \xf0\x9f\x98\x80\n"},
            {"empty message", EV_LOG_INFO, EV_LOG_ERROR, "", "ERROR: \n"},
            {"warn: info dropped", EV_LOG_WARN, EV_LOG_INFO, "x", ""},
            {"warn: debug dropped", EV_LOG_WARN, EV_LOG_DEBUG, "x", ""},
            {"warn: warn kept", EV_LOG_WARN, EV_LOG_WARN, "x", "WARN: x\n"},
            {"warn: error kept", EV_LOG_WARN, EV_LOG_ERROR, "x", "ERROR: x\n"},
            {"error: warn dropped", EV_LOG_ERROR, EV_LOG_WARN, "x", ""},
            {"error: error kept", EV_LOG_ERROR, EV_LOG_ERROR, "x",
             "ERROR: x\n"},
            {"debug: debug kept", EV_LOG_DEBUG, EV_LOG_DEBUG, "x",
             "DEBUG: x\n"},
            {"info: debug dropped", EV_LOG_INFO, EV_LOG_DEBUG, "x", ""},
        };
        char buf[CAPTURE_MAX];
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct capture cap;

                ev_log_set_level(cases[i].threshold);
                capture_start(&cap);
                ev_log(cases[i].level, "%s", cases[i].message);
                capture_end(&cap, buf, sizeof(buf));
                if (strcmp(buf, cases[i].out)) {
                        print_error("case '%s': got \"%s\"\n", cases[i].name,
                                    buf);
                        failed++;
                }
        }
        ev_log_set_level(EV_LOG_INFO);
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* A NUL byte formatted into a record is escaped, not a terminator. */
static void test_log_nul_byte(void **state)
{
        struct capture cap;
        char buf[CAPTURE_MAX];
        size_t n;

        (void)state;
        capture_start(&cap);
        ev_log(EV_LOG_ERROR, "a%cb", 0);
        n = capture_end(&cap, buf, sizeof(buf));
        assert_int_equal(n, strlen("ERROR: a\\x00b\n"));
        assert_string_equal(buf, "ERROR: a\\x00b\n");
}

/* A record longer than 8 KiB is cut at a whole escape or character and
 * still ends with exactly one newline. */
static void test_log_long_records(void **state)
{
        static const struct {
                const char *name;
                const char *unit;    /* repeated to fill the record */
                const char *escaped; /* what one unit becomes */
        } cases[] = {
            {"ASCII", "a", "a"},
            {"newlines", "\n", "\\n"},
            {"3-byte UTF-8", "\xe2\x82\xac", "\xe2\x82\xac"},
            {"invalid bytes", "\xff", "\\xff"},
            {"ESC", "\x1b", "\\x1b"},
            {"U+2028", "\xe2\x80\xa8", "\\u2028"},
        };
        static const char prefix[] = "ERROR: ";
        char buf[CAPTURE_MAX];
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t unit_len = strlen(cases[i].unit);
                size_t esc_len = strlen(cases[i].escaped);
                size_t units = 20000 / unit_len, body_len, u, n;
                char *message = malloc(units * unit_len + 1);
                struct capture cap;
                bool ok = true;

                assert_non_null(message);
                for (u = 0; u < units; u++)
                        memcpy(message + u * unit_len, cases[i].unit, unit_len);
                message[units * unit_len] = '\0';
                capture_start(&cap);
                ev_log(EV_LOG_ERROR, "%s", message);
                n = capture_end(&cap, buf, sizeof(buf));
                free(message);

                body_len = n - (sizeof(prefix) - 1) - 1;
                if (n > 8192 || n < 8192 - 16 || buf[n - 1] != '\n' ||
                    strchr(buf, '\n') != buf + n - 1 ||
                    strncmp(buf, prefix, sizeof(prefix) - 1)) {
                        print_error("case '%s': %zu bytes, not one record "
                                    "of about 8 KiB\n",
                                    cases[i].name, n);
                        failed++;
                        continue;
                }
                if (body_len % esc_len)
                        ok = false;
                for (u = 0; ok && u < body_len / esc_len; u++) {
                        if (memcmp(buf + sizeof(prefix) - 1 + u * esc_len,
                                   cases[i].escaped, esc_len))
                                ok = false;
                }
                if (!ok) {
                        print_error("case '%s': cut inside an escape or a "
                                    "character (%zu bytes)\n",
                                    cases[i].name, body_len);
                        failed++;
                }
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* JSON records: one object a line whatever the message holds (quotes,
 * backslashes, control bytes, invalid UTF-8, 20 KiB), its fields typed,
 * and text fields after the message. Checked with jansson. */
static void test_log_json(void **state)
{
        static const char *const messages[] = {
            "plain", "quote \" and backslash \\", "tab\tnewline\nesc\x1b[2J",
            "bad \xff\xfe utf-8", "caf\xc3\xa9 \xe2\x80\xa8"};
        const struct ev_log_field fields[] = {
            {"reason", "not_json", false},
            {"detail", "near '\"x'\n", false},
            {"offset", "42", true},
        };
        struct capture cap;
        char *buf = malloc(CAPTURE_MAX), *big = malloc(20000);
        json_error_t jerr;
        json_t *rec;
        size_t i;

        (void)state;
        assert_non_null(buf);
        assert_non_null(big);
        memset(big, '"', 19999);
        big[19999] = '\0';
        ev_log_set_format(EV_LOG_JSON);
        for (i = 0; i <= sizeof(messages) / sizeof(messages[0]); i++) {
                const char *msg = i < sizeof(messages) / sizeof(messages[0])
                                      ? messages[i]
                                      : big;

                capture_start(&cap);
                ev_log(EV_LOG_WARN, "%s", msg);
                capture_end(&cap, buf, CAPTURE_MAX);
                assert_non_null(strchr(buf, '\n'));
                assert_int_equal(strchr(buf, '\n')[1], '\0');
                rec = json_loads(buf, 0, &jerr);
                if (!rec)
                        fail_msg("record %zu is not JSON: %s: %s", i, jerr.text,
                                 buf);
                assert_string_equal(
                    json_string_value(json_object_get(rec, "level")), "warn");
                assert_true(json_is_string(json_object_get(rec, "msg")));
                assert_true(json_is_string(json_object_get(rec, "time")));
                json_decref(rec);
        }
        capture_start(&cap);
        ev_log_fields(EV_LOG_ERROR, "Malformed JSON received", fields, 3);
        ev_log_pairs(EV_LOG_INFO, "Summary", "consumed=13 valid=10 name=x");
        capture_end(&cap, buf, CAPTURE_MAX);
        ev_log_set_format(EV_LOG_TEXT);
        *strchr(buf, '\n') = '\0';
        rec = json_loads(buf, 0, &jerr);
        assert_non_null(rec);
        assert_string_equal(json_string_value(json_object_get(rec, "detail")),
                            "near '\"x'\\n");
        assert_int_equal(json_integer_value(json_object_get(rec, "offset")),
                         42);
        json_decref(rec);
        rec = json_loads(buf + strlen(buf) + 1, 0, &jerr);
        assert_non_null(rec);
        assert_string_equal(json_string_value(json_object_get(rec, "msg")),
                            "Summary");
        assert_int_equal(json_integer_value(json_object_get(rec, "valid")), 10);
        assert_string_equal(json_string_value(json_object_get(rec, "name")),
                            "x");
        json_decref(rec);
        /* Only what JSON reads as a number is written as one. */
        ev_log_set_format(EV_LOG_JSON);
        capture_start(&cap);
        ev_log_pairs(EV_LOG_INFO, "Rates", "a=1. b=1.2.3 c=2.5 d=.5 e=-1");
        capture_end(&cap, buf, CAPTURE_MAX);
        ev_log_set_format(EV_LOG_TEXT);
        rec = json_loads(buf, 0, &jerr);
        assert_non_null(rec);
        assert_string_equal(json_string_value(json_object_get(rec, "a")), "1.");
        assert_string_equal(json_string_value(json_object_get(rec, "b")),
                            "1.2.3");
        assert_true(json_real_value(json_object_get(rec, "c")) == 2.5);
        assert_string_equal(json_string_value(json_object_get(rec, "d")), ".5");
        assert_string_equal(json_string_value(json_object_get(rec, "e")), "-1");
        json_decref(rec);
        /* Text: the same calls as "msg: key=value". */
        capture_start(&cap);
        ev_log_fields(EV_LOG_ERROR, "Oops", fields, 3);
        ev_log_pairs(EV_LOG_INFO, "Summary", "consumed=13 valid=10");
        capture_end(&cap, buf, CAPTURE_MAX);
        assert_string_equal(buf, "ERROR: Oops: reason=not_json "
                                 "detail=near '\"x'\\n offset=42\n"
                                 "INFO: Summary: consumed=13 valid=10\n");
        free(big);
        free(buf);
}

static void test_log_format_parse(void **state)
{
        enum ev_log_format f = EV_LOG_TEXT;

        (void)state;
        assert_true(ev_log_format_parse("json", &f));
        assert_int_equal(f, EV_LOG_JSON);
        assert_true(ev_log_format_parse("TEXT", &f));
        assert_int_equal(f, EV_LOG_TEXT);
        assert_false(ev_log_format_parse("yaml", &f));
        assert_false(ev_log_format_parse("", &f));
        assert_int_equal(f, EV_LOG_TEXT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_log_default_level),
            cmocka_unit_test(test_log_level_parse),
            cmocka_unit_test(test_log_records),
            cmocka_unit_test(test_log_nul_byte),
            cmocka_unit_test(test_log_long_records),
            cmocka_unit_test(test_log_json),
            cmocka_unit_test(test_log_format_parse),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
