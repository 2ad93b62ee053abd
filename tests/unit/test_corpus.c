/*
 * The hostile corpus (tests/corpus, README there): every payload gets the
 * verdict its file name states under the consumer's default rules, and its
 * escaped form is one line without a raw control byte. The payloads too big
 * to commit come from tests/corpus/generate.sh, run by the build into
 * EV_CORPUS_GENERATED_DIR. Each payload sits in a heap buffer of exactly its
 * length, so that ASan reports any read past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "escape.h"
#include "event.h"

#ifndef EV_CORPUS_DIR
#error "EV_CORPUS_DIR must name tests/corpus"
#endif
#ifndef EV_CORPUS_GENERATED_DIR
#error "EV_CORPUS_GENERATED_DIR must name generate.sh's output"
#endif

/* What the sink shows of a toxic payload (consumer/sink.h). */
#define EXCERPT_BYTES 512

struct payload {
        char *name; /* the file name, for messages */
        enum ev_reason reason;
        char *buf; /* exactly len bytes; NULL when len is 0 */
        size_t len;
};

struct corpus {
        struct payload *p;
        size_t cnt;
        struct ev_event_rules rules;
};

/* The reason named in "NNN-<reason>-<slug>.bin"; false when the name has
 * another form or names no reason. */
static bool reason_of(const char *name, enum ev_reason *reason)
{
        const char *start = strchr(name, '-');
        const char *end;
        size_t n = strlen(name);
        int r;

        if (!start || n < 4 || strcmp(name + n - 4, ".bin"))
                return false;
        start++;
        end = strchr(start, '-');
        if (!end)
                return false;
        for (r = 0; r < EV_REASON__CNT; r++) {
                const char *rname = ev_reason_name((enum ev_reason)r);

                if (strlen(rname) == (size_t)(end - start) &&
                    !strncmp(start, rname, (size_t)(end - start))) {
                        *reason = (enum ev_reason)r;
                        return true;
                }
        }
        return false;
}

static void read_payload(const char *dir, const char *name, struct payload *p)
{
        char path[4096];
        FILE *fp;
        long size;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fp = fopen(path, "rb");
        if (!fp)
                fail_msg("cannot open %s", path);
        assert_int_equal(fseek(fp, 0, SEEK_END), 0);
        size = ftell(fp);
        assert_true(size >= 0);
        rewind(fp);
        p->len = (size_t)size;
        p->buf = p->len ? malloc(p->len) : NULL;
        assert_true(p->buf || !p->len);
        assert_int_equal(fread(p->buf, 1, p->len, fp), p->len);
        fclose(fp);
        p->name = strdup(name);
        assert_non_null(p->name);
        if (!reason_of(name, &p->reason))
                fail_msg("%s: not NNN-<reason>-<slug>.bin with a reason of "
                         "event.h",
                         path);
}

/* Appends every *.bin of dir; a missing or empty directory fails. */
static void read_dir(struct corpus *c, const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t before = c->cnt;

        if (!d)
                fail_msg("cannot open the corpus directory %s", dir);
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);

                if (n < 4 || strcmp(de->d_name + n - 4, ".bin"))
                        continue;
                c->p = realloc(c->p, (c->cnt + 1) * sizeof(*c->p));
                assert_non_null(c->p);
                read_payload(dir, de->d_name, &c->p[c->cnt++]);
        }
        closedir(d);
        if (c->cnt == before)
                fail_msg("no *.bin payload in %s", dir);
}

/* The consumer's rules as its settings give them with nothing set. */
static void default_rules(struct ev_event_rules *rules)
{
        static const char *const vars[] = {"MAX_PAYLOAD_BYTES",
                                           "VALIDATE_SCHEMA"};
        char prog[] = "event-consumer";
        char *argv[] = {prog, NULL};
        struct ev_config cfg;
        char errstr[256];
        size_t i;

        for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
                assert_int_equal(unsetenv(vars[i]), 0);
        assert_int_equal(ev_config_parse(&cfg, EV_ROLE_CONSUMER, 1, argv,
                                         errstr, sizeof(errstr)),
                         EV_OK);
        *rules = cfg.rules;
        ev_config_free(&cfg);
        /* What the README promises and the corpus names assume. */
        assert_int_equal(rules->max_payload_bytes, 1048576);
        assert_true(rules->schema);
}

static int setup(void **state)
{
        struct corpus *c = calloc(1, sizeof(*c));

        assert_non_null(c);
        default_rules(&c->rules);
        read_dir(c, EV_CORPUS_DIR);
        read_dir(c, EV_CORPUS_GENERATED_DIR);
        *state = c;
        return 0;
}

static int teardown(void **state)
{
        struct corpus *c = *state;
        size_t i;

        for (i = 0; i < c->cnt; i++) {
                free(c->p[i].name);
                free(c->p[i].buf);
        }
        free(c->p);
        free(c);
        return 0;
}

/* The schema reasons: without the schema their payloads are valid. */
static bool schema_reason(enum ev_reason reason)
{
        return reason == EV_REASON_MISSING_FIELD ||
               reason == EV_REASON_WRONG_TYPE ||
               reason == EV_REASON_BAD_TIMESTAMP ||
               reason == EV_REASON_BAD_LEVEL;
}

static bool check_verdict(const struct payload *p,
                          const struct ev_event_rules *rules)
{
        const struct ev_event_rules no_schema = {rules->max_payload_bytes,
                                                 false};
        enum ev_reason want_no_schema = p->reason;
        struct ev_verdict verdict;
        json_t *root = NULL;
        bool valid, ok = true;

        memset(&verdict, 0x7e, sizeof(verdict));
        valid = ev_event_validate(p->buf, p->len, rules, &root, &verdict);
        if (verdict.reason != p->reason ||
            valid != (p->reason == EV_REASON_NONE)) {
                print_error("%s: verdict %s (detail \"%.160s\"), expected %s\n",
                            p->name, ev_reason_name(verdict.reason),
                            memchr(verdict.detail, '\0', sizeof(verdict.detail))
                                ? verdict.detail
                                : "(not terminated)",
                            ev_reason_name(p->reason));
                ok = false;
        }
        if (!memchr(verdict.detail, '\0', sizeof(verdict.detail))) {
                print_error("%s: detail not terminated\n", p->name);
                ok = false;
        }
        if (valid != (root != NULL) || (root && !json_is_object(root))) {
                print_error("%s: *root does not match the verdict\n", p->name);
                ok = false;
        }
        json_decref(root);

        if (schema_reason(p->reason))
                want_no_schema = EV_REASON_NONE;
        ev_event_validate(p->buf, p->len, &no_schema, NULL, &verdict);
        if (verdict.reason != want_no_schema) {
                print_error("%s: without the schema %s, expected %s\n", p->name,
                            ev_reason_name(verdict.reason),
                            ev_reason_name(want_no_schema));
                ok = false;
        }
        return ok;
}

static void test_corpus_verdicts(void **state)
{
        const struct corpus *c = *state;
        size_t i, failed = 0;

        for (i = 0; i < c->cnt; i++) {
                if (!check_verdict(&c->p[i], &c->rules))
                        failed++;
        }
        print_message("%zu payloads, %zu failed\n", c->cnt, failed);
        assert_int_equal(failed, 0);
}

/* True when the n bytes at s are one line a terminal shows as text; *bad
 * is the offset of the first character that is not. */
static bool one_clean_line(const char *s, size_t n, size_t *bad)
{
        *bad = ev_escape_unsafe_at(s, n);
        return *bad == n;
}

/* ev_escape of p's first max_in bytes into a buffer with room for all of
 * them: everything up to max_in consumed, one clean line out. */
static bool check_escape(const struct payload *p, size_t max_in, int flags,
                         const char *what)
{
        size_t want = p->len < max_in ? p->len : max_in;
        size_t size = want * EV_ESCAPE_MAX_RATIO + 1;
        char *out = malloc(size);
        size_t used, len, bad = 0;
        bool ok = true;

        assert_non_null(out);
        memset(out, 0x7e, size);
        used =
            ev_escape(p->buf ? p->buf : "", p->len, max_in, flags, out, size);
        len = strnlen(out, size);
        if (len == size) {
                print_error("%s (%s): output not terminated\n", p->name, what);
                ok = false;
        } else if (!one_clean_line(out, len, &bad)) {
                print_error("%s (%s): raw byte 0x%02x at output byte %zu\n",
                            p->name, what, (unsigned char)out[bad], bad);
                ok = false;
        }
        /* A character across max_in is left out whole: at most 3 bytes. */
        if (used > want || (want == p->len ? used != want : used + 3 < want)) {
                print_error("%s (%s): consumed %zu of %zu bytes\n", p->name,
                            what, used, want);
                ok = false;
        }
        free(out);
        return ok;
}

static void test_corpus_escape(void **state)
{
        const struct corpus *c = *state;
        size_t i, failed = 0;

        for (i = 0; i < c->cnt; i++) {
                const struct payload *p = &c->p[i];

                /* The whole payload, both ways; then the sink's excerpt. */
                if (!check_escape(p, p->len, EV_ESCAPE_BACKSLASH, "whole") ||
                    !check_escape(p, p->len, 0, "no backslash flag") ||
                    !check_escape(p, EXCERPT_BYTES, EV_ESCAPE_BACKSLASH,
                                  "excerpt"))
                        failed++;
        }
        print_message("%zu payloads, %zu failed\n", c->cnt, failed);
        assert_int_equal(failed, 0);
}

/* The corpus keeps its promises: 80 payloads or more, every reason at
 * least twice. */
static void test_corpus_coverage(void **state)
{
        const struct corpus *c = *state;
        size_t per_reason[EV_REASON__CNT] = {0};
        size_t i;
        int r;

        for (i = 0; i < c->cnt; i++)
                per_reason[c->p[i].reason]++;
        for (r = 0; r < EV_REASON__CNT; r++) {
                print_message("%-14s %zu\n", ev_reason_name((enum ev_reason)r),
                              per_reason[r]);
                if (per_reason[r] < 2)
                        fail_msg("reason %s has %zu payloads, fewer than 2",
                                 ev_reason_name((enum ev_reason)r),
                                 per_reason[r]);
        }
        assert_true(c->cnt >= 80);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_corpus_verdicts),
            cmocka_unit_test(test_corpus_escape),
            cmocka_unit_test(test_corpus_coverage),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
