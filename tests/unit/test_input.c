/*
 * Unit tests for producer/input: the exact bytes of each line read from a
 * file or stdin (only the '\n' is stripped), the end, and open and read
 * errors. Each case writes its own temporary file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input.h"

/* A string literal as pointer and length; the length counts embedded NULs
 * and excludes the terminator. */
#define BYTES(s) (s), sizeof(s) - 1

#define ERRSTR_SET "untouched"

/* Lines in the largest case below. */
#define LINES_MAX 8

struct line {
        const char *bytes;
        size_t len;
};

/* Writes len bytes into a new temporary file whose name goes to path. */
static void write_temp(const char *content, size_t len, char *path,
                       size_t path_size)
{
        const char *dir = getenv("TMPDIR");
        int fd;

        snprintf(path, path_size, "%s/test_input_XXXXXX",
                 dir && *dir ? dir : "/tmp");
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, len), (ssize_t)len);
        assert_int_equal(close(fd), 0);
}

/* Reads in to its end, comparing each line with want[0..cnt). Prints why
 * and returns false on the first difference. */
static bool check_lines(struct ev_input *in, const char *name,
                        const struct line *want, size_t cnt)
{
        char errstr[128] = ERRSTR_SET;
        const char *line;
        size_t i, len, extra;
        bool done;

        for (i = 0;; i++) {
                line = NULL;
                len = (size_t)-1;
                if (ev_input_next(in, &line, &len, &done, errstr,
                                  sizeof(errstr)) != EV_OK) {
                        print_error("case '%s': line %zu: %s\n", name, i,
                                    errstr);
                        return false;
                }
                if (done)
                        break;
                if (i >= cnt) {
                        print_error("case '%s': extra line %zu (%zu bytes)\n",
                                    name, i, len);
                        return false;
                }
                if (len != want[i].len || memcmp(line, want[i].bytes, len)) {
                        print_error("case '%s': line %zu: %zu bytes \"%.*s\", "
                                    "expected %zu\n",
                                    name, i, len, (int)(len < 80 ? len : 80),
                                    line, want[i].len);
                        return false;
                }
        }
        if (i != cnt) {
                print_error("case '%s': %zu lines, expected %zu\n", name, i,
                            cnt);
                return false;
        }
        /* The end is final. */
        for (extra = 0; extra < 2; extra++) {
                done = false;
                if (ev_input_next(in, &line, &len, &done, errstr,
                                  sizeof(errstr)) != EV_OK ||
                    !done) {
                        print_error("case '%s': not done after the end\n",
                                    name);
                        return false;
                }
        }
        if (strcmp(errstr, ERRSTR_SET)) {
                print_error("case '%s': errstr set to \"%s\"\n", name, errstr);
                return false;
        }
        return true;
}

static const struct {
        const char *name;
        const char *content;
        size_t len;
        struct line lines[LINES_MAX];
        size_t cnt;
} line_cases[] = {
    {"empty file", BYTES(""), {{NULL, 0}}, 0},
    {"one line", BYTES("a\n"), {{BYTES("a")}}, 1},
    {"no trailing newline", BYTES("a"), {{BYTES("a")}}, 1},
    {"empty line", BYTES("\n"), {{BYTES("")}}, 1},
    {"two empty lines", BYTES("\n\n"), {{BYTES("")}, {BYTES("")}}, 2},
    {"CR before LF kept", BYTES("a\r\n"), {{BYTES("a\r")}}, 1},
    {"lone CR is not a break", BYTES("a\rb\n"), {{BYTES("a\rb")}}, 1},
    {"CR at the end", BYTES("\r"), {{BYTES("\r")}}, 1},
    {"NUL byte", BYTES("a\0b\n"), {{BYTES("a\0b")}}, 1},
    {"NUL only, no newline", BYTES("\0"), {{BYTES("\0")}}, 1},
    {"spaces and tabs kept",
     BYTES(" a \t\n\t\n"),
     {{BYTES(" a \t")}, {BYTES("\t")}},
     2},
    {"hostile bytes kept",
     BYTES("\x1b[31m\xff\xfe\x80\n"),
     {{BYTES("\x1b[31m\xff\xfe\x80")}},
     1},
    {"JSON lines",
     BYTES("{\"a\":1}\n{\"b\":\"x\\ny\"}\n"),
     {{BYTES("{\"a\":1}")}, {BYTES("{\"b\":\"x\\ny\"}")}},
     2},
    {"mixed file",
     BYTES("first\n\na\0b\ncrlf\r\n\r\n  spaced \t\nlast"),
     {{BYTES("first")},
      {BYTES("")},
      {BYTES("a\0b")},
      {BYTES("crlf\r")},
      {BYTES("\r")},
      {BYTES("  spaced \t")},
      {BYTES("last")}},
     7},
};

static void test_input_lines(void **state)
{
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
                char path[512], errstr[128] = "";
                struct ev_input *in;

                write_temp(line_cases[i].content, line_cases[i].len, path,
                           sizeof(path));
                in = ev_input_new(path, errstr, sizeof(errstr));
                if (!in) {
                        print_error("case '%s': %s\n", line_cases[i].name,
                                    errstr);
                        failed++;
                } else if (!check_lines(in, line_cases[i].name,
                                        line_cases[i].lines,
                                        line_cases[i].cnt)) {
                        failed++;
                }
                ev_input_destroy(in);
                unlink(path);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* Lines far longer than any initial buffer, around a short one. */
static void test_input_long_lines(void **state)
{
        const size_t long_len = 300000;
        char *content = malloc(2 * long_len + 16);
        struct line want[3];
        struct ev_input *in;
        char path[512], errstr[128];
        size_t off = 0;

        (void)state;
        assert_non_null(content);
        memset(content, 'x', long_len);
        content[long_len / 2] = '\0';
        off += long_len;
        content[off++] = '\n';
        memcpy(content + off, "short\n", 6);
        off += 6;
        memset(content + off, 'y', long_len);
        off += long_len;
        want[0].bytes = content;
        want[0].len = long_len;
        want[1].bytes = "short";
        want[1].len = 5;
        want[2].bytes = content + long_len + 7;
        want[2].len = long_len;

        write_temp(content, off, path, sizeof(path));
        in = ev_input_new(path, errstr, sizeof(errstr));
        assert_non_null(in);
        assert_true(check_lines(in, "long lines", want, 3));
        ev_input_destroy(in);
        unlink(path);
        free(content);
}

/* "-" reads stdin, and destroying the input leaves stdin open. */
static void test_input_stdin(void **state)
{
        static const struct line want[] = {{BYTES("one")}, {BYTES("two\r")}};
        char path[512], errstr[128];
        struct ev_input *in;
        FILE *fp;
        int saved;

        (void)state;
        write_temp(BYTES("one\ntwo\r\n"), path, sizeof(path));
        fp = fopen(path, "rb");
        assert_non_null(fp);
        saved = dup(STDIN_FILENO);
        assert_true(saved >= 0);
        assert_true(dup2(fileno(fp), STDIN_FILENO) >= 0);
        fclose(fp);
        clearerr(stdin);

        in = ev_input_new("-", errstr, sizeof(errstr));
        assert_non_null(in);
        assert_true(check_lines(in, "stdin", want, 2));
        ev_input_destroy(in);
        /* Still open: destroy did not fclose(stdin). */
        assert_int_equal(fileno(stdin), STDIN_FILENO);
        assert_true(lseek(STDIN_FILENO, 0, SEEK_CUR) >= 0);

        assert_true(dup2(saved, STDIN_FILENO) >= 0);
        close(saved);
        clearerr(stdin);
        unlink(path);
}

/* Opening fails with errstr naming the path and the cause. */
static void test_input_open_errors(void **state)
{
        static const struct {
                const char *name;
                const char *path;
                int err;
        } cases[] = {
            {"missing file", "/nonexistent-ev-test/input.ndjson", ENOENT},
            {"empty path", "", ENOENT},
            {"file as directory", "/dev/null/input.ndjson", ENOTDIR},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char errstr[256] = "";
                struct ev_input *in;

                in = ev_input_new(cases[i].path, errstr, sizeof(errstr));
                if (in) {
                        print_error("case '%s': opened\n", cases[i].name);
                        ev_input_destroy(in);
                        failed++;
                } else if ((*cases[i].path && !strstr(errstr, cases[i].path)) ||
                           !strstr(errstr, strerror(cases[i].err))) {
                        print_error("case '%s': errstr \"%s\"\n", cases[i].name,
                                    errstr);
                        failed++;
                }
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* A directory opens but cannot be read: EV_ERR_IO naming the path. */
static void test_input_read_error(void **state)
{
        const char *dir = getenv("TMPDIR");
        char errstr[256] = "", want[256];
        struct ev_input *in;
        const char *line;
        size_t len;
        bool done = true;

        (void)state;
        if (!dir || !*dir)
                dir = "/tmp";
        in = ev_input_new(dir, errstr, sizeof(errstr));
        assert_non_null(in);
        assert_int_equal(
            ev_input_next(in, &line, &len, &done, errstr, sizeof(errstr)),
            EV_ERR_IO);
        snprintf(want, sizeof(want), "reading %s: %s", dir, strerror(EISDIR));
        assert_string_equal(errstr, want);
        ev_input_destroy(in);
}

static void test_input_destroy_null(void **state)
{
        (void)state;
        ev_input_destroy(NULL);
}

/* A pipe that stays quiet: ready says so within its timeout instead of
 * blocking, a partial line is not ready, a whole one is, and so is the
 * end. */
static void test_input_ready_pipe(void **state)
{
        char path[64], errstr[128];
        struct ev_input *in;
        const char *line;
        size_t len;
        bool done;
        int fds[2];

        (void)state;
        assert_int_equal(pipe(fds), 0);
        snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
        in = ev_input_new(path, errstr, sizeof(errstr));
        assert_non_null(in);
        assert_false(ev_input_ready(in, 0));
        assert_false(ev_input_ready(in, 20));
        assert_int_equal(write(fds[1], "par", 3), 3);
        assert_false(ev_input_ready(in, 20));
        assert_int_equal(write(fds[1], "tial\nnext", 9), 9);
        assert_true(ev_input_ready(in, 20));
        assert_int_equal(
            ev_input_next(in, &line, &len, &done, errstr, sizeof(errstr)),
            EV_OK);
        assert_false(done);
        assert_int_equal(len, 7);
        assert_memory_equal(line, "partial", 7);
        /* "next" has no newline yet: not ready until the writer ends. */
        assert_false(ev_input_ready(in, 0));
        close(fds[1]);
        assert_true(ev_input_ready(in, 1000));
        assert_int_equal(
            ev_input_next(in, &line, &len, &done, errstr, sizeof(errstr)),
            EV_OK);
        assert_false(done);
        assert_int_equal(len, 4);
        assert_memory_equal(line, "next", 4);
        assert_true(ev_input_ready(in, 0));
        assert_int_equal(
            ev_input_next(in, &line, &len, &done, errstr, sizeof(errstr)),
            EV_OK);
        assert_true(done);
        ev_input_destroy(in);
        close(fds[0]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_input_lines),
            cmocka_unit_test(test_input_long_lines),
            cmocka_unit_test(test_input_stdin),
            cmocka_unit_test(test_input_open_errors),
            cmocka_unit_test(test_input_read_error),
            cmocka_unit_test(test_input_destroy_null),
            cmocka_unit_test(test_input_ready_pipe),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
