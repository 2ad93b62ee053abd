/*
 * Unit tests for consumer/pipeline and consumer/sink: what a batch puts on
 * stdout and stderr, and how it is handed back to its source. The source is
 * an in-memory fake that records every ack and release and, at each ack,
 * checks what the output file already holds at the fd level (not in the
 * FILE buffer), so an ack before the flush is caught.
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
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "capture.h"
#include "escape.h"
#include "json_arena.h"
#include "pipeline.h"
#include "sink.h"

/* A string literal as pointer and length; the length counts embedded NULs
 * and excludes the terminator. */
#define BYTES(s) (s), sizeof(s) - 1

#define EVENT(ts, svc, lvl, msg)                                               \
        "{\"timestamp\":\"" ts "\",\"service_name\":\"" svc                    \
        "\",\"level\":\"" lvl "\",\"message\":\"" msg "\"}"
#define GOOD_TS    "2026-11-22T10:15:30Z"
#define MSG(msg)   EVENT(GOOD_TS, "api", "INFO", msg)
#define X10        "xxxxxxxxxx"
#define X100       X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define VALID      EV_REASON_NONE
#define NOT_JSON   EV_REASON_NOT_JSON
#define ERRSTR_SET "untouched"

/* Messages in one fake batch; more than any test needs. */
#define FAKE_MAX 64

/* Comfortably more than any captured stderr. */
#define CAPTURE_MAX 65536

/* The pipeline's limits in every test: small, to reach too_large cheaply. */
static const struct ev_event_rules rules = {256, true};

enum fake_state {
        FAKE_HELD,
        FAKE_ACKED,
        FAKE_RELEASED,
};

/* What the fake source keeps per message; ev_msg.handle points here. */
struct fake_msg {
        char *copy; /* the payload, exactly len bytes on the heap */
        size_t len;
        bool tombstone; /* no payload at all */
        size_t offset;  /* shown by describe() */
        enum fake_state state;
        unsigned handbacks; /* ack and release calls that named it */
};

struct fake_source {
        struct ev_source src; /* first: the ops cast back from it */
        struct fake_msg recs[FAKE_MAX];
        size_t cnt;    /* messages added */
        size_t polled; /* messages handed out by poll */
        unsigned ack_calls;
        unsigned release_calls;
        unsigned unsafe_acks; /* ack calls made before out_fd held want */
        int out_fd;           /* the output's fd; -1: not checked at ack */
        const char *want;     /* what out_fd must hold at every ack */
        size_t want_len;
};

/* The whole content of fd, NUL-terminated, read with pread so that no
 * FILE buffer is involved. The caller frees it. */
static char *fd_contents(int fd, size_t *len)
{
        struct stat st;
        char *buf;
        ssize_t n;

        assert_int_equal(fstat(fd, &st), 0);
        buf = malloc((size_t)st.st_size + 1);
        assert_non_null(buf);
        n = pread(fd, buf, (size_t)st.st_size, 0);
        assert_int_equal(n, st.st_size);
        buf[n] = '\0';
        *len = (size_t)n;
        return buf;
}

static enum ev_err fake_poll(struct ev_source *src, struct ev_msg *msgs,
                             size_t max, int timeout_ms, size_t *cnt,
                             char *errstr, size_t errstr_size)
{
        struct fake_source *fake = (struct fake_source *)src;

        (void)timeout_ms;
        (void)errstr;
        (void)errstr_size;
        for (*cnt = 0; *cnt < max && fake->polled < fake->cnt; (*cnt)++) {
                struct fake_msg *rec = &fake->recs[fake->polled++];
                struct ev_msg *msg = &msgs[*cnt];

                memset(msg, 0, sizeof(*msg));
                msg->payload = rec->tombstone ? NULL : rec->copy;
                msg->len = rec->len;
                msg->key = rec->tombstone ? "key" : NULL;
                msg->key_len = rec->tombstone ? 3 : 0;
                msg->handle = rec;
        }
        return EV_OK;
}

static void fake_describe(const struct ev_source *src, const struct ev_msg *msg,
                          char *buf, size_t size)
{
        const struct fake_msg *rec = msg->handle;

        (void)src;
        snprintf(buf, size, "topic=fake partition=0 offset=%zu", rec->offset);
}

/* Marks msgs handed back and frees their payloads, so that a later read
 * by the pipeline is a use after free. */
static void hand_back(struct ev_msg *msgs, size_t cnt, enum fake_state state)
{
        size_t i;

        for (i = 0; i < cnt; i++) {
                struct fake_msg *rec = msgs[i].handle;

                rec->state = state;
                rec->handbacks++;
                free(rec->copy);
                rec->copy = NULL;
        }
}

static void fake_ack(struct ev_source *src, struct ev_msg *msgs, size_t cnt)
{
        struct fake_source *fake = (struct fake_source *)src;

        fake->ack_calls++;
        if (fake->out_fd >= 0) {
                size_t len;
                char *seen = fd_contents(fake->out_fd, &len);

                if (len != fake->want_len || memcmp(seen, fake->want, len) != 0)
                        fake->unsafe_acks++;
                free(seen);
        }
        hand_back(msgs, cnt, FAKE_ACKED);
}

static void fake_release(struct ev_source *src, struct ev_msg *msgs, size_t cnt)
{
        struct fake_source *fake = (struct fake_source *)src;

        fake->release_calls++;
        hand_back(msgs, cnt, FAKE_RELEASED);
}

static enum ev_err fake_close(struct ev_source *src, char *errstr,
                              size_t errstr_size)
{
        (void)src;
        (void)errstr;
        (void)errstr_size;
        return EV_OK;
}

/* No ready op: always ready. */
static const struct ev_source_ops fake_ops = {
    .poll = fake_poll,
    .describe = fake_describe,
    .ack = fake_ack,
    .release = fake_release,
    .close = fake_close,
};

/* out: the stream whose fd is checked at every ack (NULL: none). */
static void fake_init(struct fake_source *fake, FILE *out)
{
        memset(fake, 0, sizeof(*fake));
        fake->src.ops = &fake_ops;
        fake->out_fd = out ? fileno(out) : -1;
}

/* Adds a message at offset; payload NULL adds a tombstone. */
static void fake_add(struct fake_source *fake, const char *payload, size_t len,
                     size_t offset)
{
        struct fake_msg *rec;

        assert_true(fake->cnt < FAKE_MAX);
        rec = &fake->recs[fake->cnt++];
        rec->offset = offset;
        rec->state = FAKE_HELD;
        rec->tombstone = !payload;
        rec->len = payload ? len : 0;
        /* Even a tombstone or an empty payload gets a heap block: a read
         * of it after the hand-back is then a use after free. */
        rec->copy = malloc(rec->len ? rec->len : 1);
        assert_non_null(rec->copy);
        if (payload)
                memcpy(rec->copy, payload, len);
}

/* Frees payloads still held (a test that failed early). */
static void fake_free(struct fake_source *fake)
{
        size_t i;

        for (i = 0; i < fake->cnt; i++) {
                free(fake->recs[i].copy);
                fake->recs[i].copy = NULL;
        }
}

/* Checks that every message was handed back exactly once, as state, and
 * that an acknowledged batch was acknowledged only after its output was
 * visible. Prints why and returns false otherwise. */
static bool fake_check(const struct fake_source *fake, enum fake_state state,
                       const char *name)
{
        static const char *const names[] = {"held", "acked", "released"};
        bool ok = true;
        size_t i;

        for (i = 0; i < fake->cnt; i++) {
                const struct fake_msg *rec = &fake->recs[i];

                if (rec->state != state || rec->handbacks != 1) {
                        print_error("case '%s': message %zu %s, handed back "
                                    "%u times, expected %s once\n",
                                    name, i, names[rec->state], rec->handbacks,
                                    names[state]);
                        ok = false;
                }
        }
        if (state == FAKE_ACKED && fake->release_calls) {
                print_error("case '%s': %u release calls\n", name,
                            fake->release_calls);
                ok = false;
        }
        if (state == FAKE_RELEASED && fake->ack_calls) {
                print_error("case '%s': %u ack calls\n", name, fake->ack_calls);
                ok = false;
        }
        if (fake->unsafe_acks) {
                print_error("case '%s': %u ack calls before the output was "
                            "in the file\n",
                            name, fake->unsafe_acks);
                ok = false;
        }
        return ok;
}

/* A temporary output file, fully buffered with a buffer of bufsize bytes
 * (0: unbuffered), so that nothing reaches the fd before a flush unless
 * the buffer fills. */
static FILE *open_out(const char *path, size_t bufsize)
{
        FILE *out = path ? fopen(path, "w") : tmpfile();

        assert_non_null(out);
        assert_int_equal(setvbuf(out, NULL, bufsize ? _IOFBF : _IONBF, bufsize),
                         0);
        return out;
}

/* Polls everything fake holds as one batch and runs it through pl, with
 * stderr captured into err_buf. */
static enum ev_err run_batch(struct ev_pipeline *pl, struct fake_source *fake,
                             char *errstr, size_t errstr_size, char *err_buf,
                             size_t err_size)
{
        struct ev_msg msgs[FAKE_MAX];
        struct capture cap;
        enum ev_err err;
        size_t cnt;

        assert_int_equal(fake->src.ops->poll(&fake->src, msgs, FAKE_MAX, 0,
                                             &cnt, errstr, errstr_size),
                         EV_OK);
        assert_int_equal(cnt, fake->cnt);
        capture_start(&cap);
        err = ev_pipeline_run(pl, &fake->src, msgs, cnt, errstr, errstr_size);
        capture_end(&cap, err_buf, err_size);
        return err;
}

/* Lines (newlines) in s. */
/* pl with one sink: stdout's, writing to out, with redactor (NULL: no
 * --redact). */
static void redacting_pipeline(struct ev_pipeline *pl, FILE *out,
                               const struct ev_event_rules *r,
                               struct ev_redactor *redactor,
                               struct ev_parallel *pool)
{
        struct ev_sink **sinks = malloc(sizeof(*sinks));

        assert_non_null(sinks);
        sinks[0] = ev_sink_stdout_new(out);
        assert_non_null(sinks[0]);
        ev_pipeline_init(pl, sinks, 1, false, r, 30, 0, redactor, pool);
}

static void stdout_pipeline(struct ev_pipeline *pl, FILE *out,
                            const struct ev_event_rules *r)
{
        redacting_pipeline(pl, out, r, NULL, NULL);
}

/* Closes pl's sinks and frees pl. */
static void pipeline_done(struct ev_pipeline *pl)
{
        size_t i;

        for (i = 0; i < pl->sink_cnt; i++)
                pl->sinks[i]->ops->close(pl->sinks[i]);
        free(pl->sinks);
        ev_pipeline_free(pl);
}

static size_t count_lines(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* True when the line (without its final newline) holds nothing that
 * ev_escape would change: no control byte, no C1, no U+2028/9, no invalid
 * UTF-8. */
static bool printable_line(const char *line, size_t len)
{
        char out[CAPTURE_MAX];

        if (!len || line[len - 1] != '\n' ||
            memchr(line, '\n', len - 1) != NULL)
                return false;
        ev_escape(line, len - 1, len - 1, 0, out, sizeof(out));
        return strlen(out) == len - 1 && !memcmp(out, line, len - 1);
}

struct batch_msg {
        const char *payload; /* NULL: a tombstone */
        size_t len;
        enum ev_reason reason; /* VALID for a valid event or a tombstone */
};

/* One of each outcome, two of one reason; run with `rules`. */
static const struct batch_msg mixed[] = {
    {BYTES(MSG("first")), VALID},
    {BYTES("{\"timestamp\" : \"" GOOD_TS "\", \"service_name\" : \"api\", "
           "\"level\" : \"WARN\", \"message\" : \"spaced\"}"),
     VALID},
    {BYTES(""), EV_REASON_EMPTY},
    {BYTES("not json at all"), NOT_JSON},
    {NULL, 0, VALID},
    {BYTES("{\"a\":1,\"a\":2}"), NOT_JSON},
    {BYTES("[1,2]"), EV_REASON_NOT_OBJECT},
    {BYTES("{}"), EV_REASON_MISSING_FIELD},
    {BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":42,"
           "\"level\":\"INFO\",\"message\":\"hi\"}"),
     EV_REASON_WRONG_TYPE},
    {BYTES(EVENT("yesterday", "api", "INFO", "hi")), EV_REASON_BAD_TIMESTAMP},
    {BYTES(EVENT(GOOD_TS, "api", "info", "hi")), EV_REASON_BAD_LEVEL},
    {BYTES(MSG(X100 X100 X100)), EV_REASON_TOO_LARGE},
    {BYTES(MSG("caf\xc3\xa9 \\u00e9 \\\\ \\\"q\\\" \\/")), VALID},
    {NULL, 0, VALID},
    {BYTES(MSG("last")), VALID},
};

/* Runs `copies` copies of mixed, in one batch, twice through a stdout
 * pipeline validating on pool (NULL: none): the output, the reports and
 * the counts must be those of the messages in order. */
static void mixed_batches(struct ev_parallel *pool, size_t copies)
{
        const size_t cnt = sizeof(mixed) / sizeof(mixed[0]);
        unsigned long by_reason[EV_REASON__CNT] = {0};
        unsigned long valid = 0, toxic = 0, tombstones = 0;
        char *want = malloc(2 * 4096 * copies);
        size_t want_len = 0, once_len, i, c, round;
        struct ev_pipeline pl;
        char err_buf[CAPTURE_MAX];
        FILE *out = open_out(NULL, 65536);

        assert_non_null(want);
        assert_true(copies * cnt < FAKE_MAX);
        for (c = 0; c < copies; c++) {
                for (i = 0; i < cnt; i++) {
                        if (!mixed[i].payload) {
                                tombstones++;
                        } else if (mixed[i].reason == VALID) {
                                valid++;
                                assert_true(want_len + mixed[i].len <
                                            4096 * copies);
                                memcpy(want + want_len, mixed[i].payload,
                                       mixed[i].len);
                                want_len += mixed[i].len;
                                want[want_len++] = '\n';
                        } else {
                                toxic++;
                                by_reason[mixed[i].reason]++;
                        }
                }
        }
        once_len = want_len;
        memcpy(want + once_len, want, once_len);

        redacting_pipeline(&pl, out, &rules, NULL, pool);
        /* Two batches: the stats add up, the output appends. */
        for (round = 1; round <= 2; round++) {
                struct fake_source fake;
                char errstr[128] = ERRSTR_SET;
                const char *line = err_buf;
                size_t len, r;
                char *got;

                fake_init(&fake, out);
                fake.want = want;
                fake.want_len = once_len * round;
                for (c = 0; c < copies; c++)
                        for (i = 0; i < cnt; i++)
                                fake_add(&fake, mixed[i].payload, mixed[i].len,
                                         1000 * round + c * cnt + i);
                assert_int_equal(run_batch(&pl, &fake, errstr, sizeof(errstr),
                                           err_buf, sizeof(err_buf)),
                                 EV_OK);
                assert_string_equal(errstr, ERRSTR_SET);
                assert_true(fake_check(&fake, FAKE_ACKED, "mixed batch"));
                fake_free(&fake);

                assert_int_equal(pl.stats.consumed, round * cnt * copies);
                assert_int_equal(pl.stats.valid, round * valid);
                assert_int_equal(pl.stats.toxic, round * toxic);
                assert_int_equal(pl.stats.tombstones, round * tombstones);
                assert_int_equal(pl.stats.consumed, pl.stats.valid +
                                                        pl.stats.toxic +
                                                        pl.stats.tombstones);
                for (r = 0; r < EV_REASON__CNT; r++) {
                        if (pl.stats.by_reason[r] != round * by_reason[r])
                                print_error("reason %s: %lu, expected %lu\n",
                                            ev_reason_name((enum ev_reason)r),
                                            pl.stats.by_reason[r],
                                            round * by_reason[r]);
                        assert_int_equal(pl.stats.by_reason[r],
                                         round * by_reason[r]);
                }

                got = fd_contents(fileno(out), &len);
                assert_int_equal(len, once_len * round);
                assert_memory_equal(got, want, len);
                free(got);

                /* One report per toxic message, in batch order. */
                assert_int_equal(count_lines(err_buf), toxic);
                for (c = 0; c < copies; c++) {
                        for (i = 0; i < cnt; i++) {
                                char where[64];

                                if (!mixed[i].payload ||
                                    mixed[i].reason == VALID)
                                        continue;
                                snprintf(where, sizeof(where), " offset=%zu)\n",
                                         1000 * round + c * cnt + i);
                                line = strstr(line, where);
                                if (!line)
                                        print_error("no report for message "
                                                    "%zu\n",
                                                    c * cnt + i);
                                assert_non_null(line);
                        }
                }
        }
        pipeline_done(&pl);
        fclose(out);
        free(want);
}

static void test_pipeline_mixed_batch(void **state)
{
        (void)state;
        mixed_batches(NULL, 1);
}

/* Validation spread over threads, each parsing into its jansson arena,
 * changes nothing the sinks, the reports or the counts see: a batch of
 * several chunks, on three threads, with arenas small enough that some
 * events spill to malloc. (The arenas stay installed for the tests after
 * this one, which allocate outside them.) */
static void test_pipeline_parallel(void **state)
{
        struct ev_parallel *pool;
        char errstr[128];

        (void)state;
        assert_int_equal(ev_json_arena_init(3, 2048, errstr, sizeof(errstr)),
                         EV_OK);
        assert_int_equal(ev_parallel_new(&pool, 3, errstr, sizeof(errstr)),
                         EV_OK);
        assert_int_equal(ev_parallel_threads(pool), 3);
        mixed_batches(pool, 4);
        ev_parallel_free(pool);
}

/* Valid payloads: stdout must show each as one line, its bytes as received
 * but for every raw CR or LF, which becomes a space. */
static const struct {
        const char *name;
        const char *payload;
        size_t len;
} line_cases[] = {
    {"pretty printed",
     BYTES("{\n  \"timestamp\": \"" GOOD_TS "\",\n  \"service_name\": "
           "\"api\",\n  \"level\": \"INFO\",\n  \"message\": \"a  b\"\n}\n")},
    {"CRLF line breaks",
     BYTES("{\r\n\"timestamp\":\"" GOOD_TS "\",\r\n\"service_name\":\"api\","
           "\r\n\"level\":\"INFO\",\r\n\"message\":\"hi\"\r\n}")},
    {"lone CR",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\r\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":\"hi\"}")},
    {"leading newline", BYTES("\n" MSG("hi"))},
    {"trailing CRLF", BYTES(MSG("hi") "\r\n")},
    {"key order and nesting kept",
     BYTES("{\n\"message\": \"m\",\n\"level\": \"ERROR\",\n\"extra\": "
           "{\"z\": [1, 2, {\"y\": null}], \"a\": true},\n\"service_name\": "
           "\"svc\",\n\"timestamp\": \"" GOOD_TS "\"\n}")},
    {"numbers kept across line breaks",
     BYTES("{\n\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":\"hi\",\n\"n\":0.1,\"m\":1e2,"
           "\"big\":18446744073709551616}")},
    {"escaped newline in a string kept",
     BYTES("{\n\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":\"l1\\nl2\\t\\\"q\\\"\"}")},
    {"spaces kept",
     BYTES("{\"timestamp\" : \"" GOOD_TS "\", \"service_name\" : \"api\", "
           "\"level\" : \"INFO\", \"message\" : \"hi\"}")},
    {"tabs kept", BYTES("{\t\"timestamp\":\t\"" GOOD_TS "\",\"service_name\":"
                        "\"api\",\"level\":\"INFO\",\"message\":\"hi\"}\t")},
    {"escaped newline kept", BYTES(MSG("l1\\nl2\\r\\n"))},
    {"unicode escapes kept", BYTES(MSG("\\u00e9\\u2028\\/"))},
    {"raw U+2028 kept", BYTES(MSG("a\xe2\x80\xa8z"))},
    {"numbers kept",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","
           "\"level\":\"INFO\",\"message\":\"hi\",\"n\":1.0e2,\"m\":-0}")},
};

static void test_pipeline_line_breaks(void **state)
{
        size_t i, k, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
                const char *name = line_cases[i].name;
                size_t line_len = line_cases[i].len;
                struct fake_source fake;
                struct ev_pipeline pl;
                char err_buf[CAPTURE_MAX], errstr[128], want[1024];
                FILE *out = open_out(NULL, 65536);
                json_t *sent, *shown;
                size_t len;
                char *got;

                memcpy(want, line_cases[i].payload, line_len);
                for (k = 0; k < line_len; k++) {
                        if (want[k] == '\n' || want[k] == '\r')
                                want[k] = ' ';
                }
                want[line_len] = '\n';
                fake_init(&fake, out);
                fake.want = want;
                fake.want_len = line_len + 1;
                fake_add(&fake, line_cases[i].payload, line_cases[i].len, i);
                stdout_pipeline(&pl, out, &rules);
                if (run_batch(&pl, &fake, errstr, sizeof(errstr), err_buf,
                              sizeof(err_buf)) != EV_OK ||
                    pl.stats.valid != 1 ||
                    !fake_check(&fake, FAKE_ACKED, name)) {
                        print_error("case '%s': not one valid event: %s\n",
                                    name, err_buf);
                        failed++;
                        pipeline_done(&pl);
                        fake_free(&fake);
                        fclose(out);
                        continue;
                }
                got = fd_contents(fileno(out), &len);
                if (len != line_len + 1 || memcmp(got, want, len) ||
                    memchr(got, '\r', len) || memchr(got, '\n', len - 1)) {
                        print_error("case '%s': got \"%s\"\n", name, got);
                        failed++;
                }
                /* The line means what the payload meant. */
                sent = json_loadb(line_cases[i].payload, line_cases[i].len,
                                  JSON_DECODE_INT_AS_REAL, NULL);
                shown = json_loadb(got, len, JSON_DECODE_INT_AS_REAL, NULL);
                if (!sent || !shown || !json_equal(sent, shown)) {
                        print_error("case '%s': not the same JSON\n", name);
                        failed++;
                }
                json_decref(sent);
                json_decref(shown);
                free(got);
                pipeline_done(&pl);
                fake_free(&fake);
                fclose(out);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* The ack happens only once the batch's lines are in the file, however the
 * stream is buffered. (Every other test checks this too, in fake_ack.) */
static void test_pipeline_ack_after_flush(void **state)
{
        static const struct {
                const char *name;
                size_t bufsize; /* 0: unbuffered */
                size_t valid;
                size_t toxic; /* after each valid event */
        } cases[] = {
            {"one event, large buffer", 1 << 20, 1, 0},
            {"full batch, large buffer", 1 << 20, FAKE_MAX, 0},
            {"batch larger than the buffer", 256, FAKE_MAX / 2, 1},
            {"unbuffered", 0, 10, 2},
            {"toxic only", 1 << 20, 0, 5},
            {"empty batch", 1 << 20, 0, 0},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct fake_source fake;
                struct ev_pipeline pl;
                char err_buf[CAPTURE_MAX], errstr[128];
                char *want = malloc(FAKE_MAX * 128 + 1);
                FILE *out = open_out(NULL, cases[i].bufsize);
                size_t want_len = 0, offset = 0, v, t, len;
                char *got;

                assert_non_null(want);
                fake_init(&fake, out);
                for (t = 0; t < cases[i].toxic && !cases[i].valid; t++)
                        fake_add(&fake, BYTES("{\"level\":1}"), offset++);
                for (v = 0; v < cases[i].valid; v++) {
                        int n =
                            snprintf(want + want_len, 128, MSG("event %zu"), v);

                        fake_add(&fake, want + want_len, (size_t)n, offset++);
                        want_len += (size_t)n;
                        want[want_len++] = '\n';
                        for (t = 0; t < cases[i].toxic; t++)
                                fake_add(&fake, BYTES("nope"), offset++);
                }
                fake.want = want;
                fake.want_len = want_len;
                stdout_pipeline(&pl, out, &rules);
                if (run_batch(&pl, &fake, errstr, sizeof(errstr), err_buf,
                              sizeof(err_buf)) != EV_OK) {
                        print_error("case '%s': failed: %s\n", cases[i].name,
                                    errstr);
                        failed++;
                } else if (!fake_check(&fake, FAKE_ACKED, cases[i].name)) {
                        failed++;
                }
                got = fd_contents(fileno(out), &len);
                if (len != want_len || memcmp(got, want, len)) {
                        print_error("case '%s': %zu bytes on stdout, expected "
                                    "%zu\n",
                                    cases[i].name, len, want_len);
                        failed++;
                }
                free(got);
                free(want);
                pipeline_done(&pl);
                fake_free(&fake);
                fclose(out);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* stdout fails (ENOSPC on /dev/full): EV_ERR_IO, and the whole batch goes
 * back unacknowledged, whether the write or the flush fails. */
static void test_pipeline_output_failure(void **state)
{
        static const char pretty[] =
            "{\n\"timestamp\":\"" GOOD_TS "\",\n\"service_name\":\"api\","
            "\n\"level\":\"INFO\",\n\"message\":\"hi\"\n}";
        static const struct {
                const char *name;
                size_t bufsize; /* 0: unbuffered */
                size_t valid;
                bool pretty;     /* valid events need re-serialising */
                bool toxic_head; /* a toxic message first */
        } cases[] = {
            {"flush fails", 65536, 3, false, false},
            {"write fails, unbuffered", 0, 3, false, false},
            {"write fails mid-batch", 512, 40, false, false},
            {"re-serialised write fails", 0, 2, true, false},
            {"re-serialised flush fails", 65536, 2, true, false},
            {"toxic message first", 65536, 2, false, true},
            {"one event", 65536, 1, false, false},
        };
        char want_err[128];
        size_t i, failed = 0;

        (void)state;
        snprintf(want_err, sizeof(want_err), "stdout: %s", strerror(ENOSPC));
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct fake_source fake;
                struct ev_pipeline pl;
                char err_buf[CAPTURE_MAX], errstr[128] = "";
                FILE *out = open_out("/dev/full", cases[i].bufsize);
                enum ev_err err;
                size_t v;

                /* Any ack at all is wrong: nothing is ever visible. */
                fake_init(&fake, NULL);
                if (cases[i].toxic_head)
                        fake_add(&fake, BYTES("{"), 0);
                for (v = 0; v < cases[i].valid; v++) {
                        if (cases[i].pretty)
                                fake_add(&fake, BYTES(pretty), v + 1);
                        else
                                fake_add(&fake, BYTES(MSG("hi")), v + 1);
                }
                stdout_pipeline(&pl, out, &rules);
                err = run_batch(&pl, &fake, errstr, sizeof(errstr), err_buf,
                                sizeof(err_buf));
                if (err != EV_ERR_IO) {
                        print_error("case '%s': returned %d\n", cases[i].name,
                                    (int)err);
                        failed++;
                } else if (!strstr(errstr, want_err)) {
                        print_error("case '%s': errstr \"%s\"\n", cases[i].name,
                                    errstr);
                        failed++;
                }
                if (!fake_check(&fake, FAKE_RELEASED, cases[i].name))
                        failed++;
                /* Counted as unacknowledged only, so the summary never
                 * claims what will be delivered again. */
                if (pl.stats.consumed || pl.stats.valid || pl.stats.toxic ||
                    pl.stats.unacknowledged != fake.cnt) {
                        print_error("case '%s': consumed=%lu "
                                    "unacknowledged=%lu of %zu\n",
                                    cases[i].name, pl.stats.consumed,
                                    pl.stats.unacknowledged, fake.cnt);
                        failed++;
                }
                pipeline_done(&pl);
                fake_free(&fake);
                fclose(out);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* One toxic message, the report it must produce and nothing on stdout. */
static const struct toxic_case {
        const char *name;
        const char *payload;
        size_t len;
        enum ev_reason reason;
        const char *excerpt; /* the payload as the report shows it */
        const char *detail;  /* the detail as shown; NULL: any */
} toxic_cases[] = {
    {"empty", BYTES(""), EV_REASON_EMPTY, "", "empty payload"},
    {"not JSON", BYTES("not json"), NOT_JSON, "not json", NULL},
    {"truncated object", BYTES("{\"timestamp\":"), NOT_JSON,
     "{\"timestamp\":", NULL},
    {"duplicate keys", BYTES("{\"a\":1,\"a\":2}"), NOT_JSON,
     "{\"a\":1,\"a\":2}", NULL},
    {"array", BYTES("[1,2]"), EV_REASON_NOT_OBJECT, "[1,2]",
     "top level is an array"},
    {"number", BYTES("42"), EV_REASON_NOT_OBJECT, "42",
     "top level is a scalar"},
    {"empty object", BYTES("{}"), EV_REASON_MISSING_FIELD, "{}", "timestamp"},
    {"empty service_name", BYTES(EVENT(GOOD_TS, "", "INFO", "hi")),
     EV_REASON_MISSING_FIELD, EVENT(GOOD_TS, "", "INFO", "hi"),
     "service_name (empty)"},
    {"service_name is a number",
     BYTES("{\"timestamp\":\"" GOOD_TS "\",\"service_name\":42,"
           "\"level\":\"INFO\",\"message\":\"hi\"}"),
     EV_REASON_WRONG_TYPE,
     "{\"timestamp\":\"" GOOD_TS "\",\"service_name\":42,"
     "\"level\":\"INFO\",\"message\":\"hi\"}",
     "service_name"},
    {"bad timestamp", BYTES(EVENT("yesterday", "api", "INFO", "hi")),
     EV_REASON_BAD_TIMESTAMP, EVENT("yesterday", "api", "INFO", "hi"),
     "timestamp"},
    {"bad level", BYTES(EVENT(GOOD_TS, "api", "VERBOSE", "hi")),
     EV_REASON_BAD_LEVEL, EVENT(GOOD_TS, "api", "VERBOSE", "hi"), "level"},
    {"too large", BYTES(X100 X100 X100), EV_REASON_TOO_LARGE, X100 X100 X100,
     "300 bytes, limit 256"},
    {"ESC, newline and invalid UTF-8",
     BYTES("\x1b[31mred\x1b[0m\nERROR: forged\xff\xfe\x80"), NOT_JSON,
     "\\x1b[31mred\\x1b[0m\\nERROR: forged\\xff\\xfe\\x80", NULL},
    {"NUL byte", BYTES("a\0b"), NOT_JSON, "a\\x00b", NULL},
    {"CR, tab and DEL", BYTES("a\rb\tc\x7f"), NOT_JSON, "a\\rb\\tc\\x7f", NULL},
    {"backslashes doubled", BYTES("C:\\tmp\\new"), NOT_JSON, "C:\\\\tmp\\\\new",
     NULL},
    {"C1 control and U+2028", BYTES("x\xc2\x9b y\xe2\x80\xa8z"), NOT_JSON,
     "x\\u009b y\\u2028z", NULL},
    {"valid UTF-8 shown", BYTES("caf\xc3\xa9 \xe6\x97\xa5"), NOT_JSON,
     "caf\xc3\xa9 \xe6\x97\xa5", NULL},
    {"JSON escapes in an invalid event",
     BYTES(EVENT(GOOD_TS, "api", "TRACE", "l1\\nl2")), EV_REASON_BAD_LEVEL,
     EVENT(GOOD_TS, "api", "TRACE", "l1\\\\nl2"), "level"},
    {"raw newline in a JSON string", BYTES(MSG("l1\nl2")), NOT_JSON,
     MSG("l1\\nl2"), NULL},
    /* The parser quotes the payload in its detail, which is escaped like
     * the excerpt. */
    {"backslash in the detail", BYTES("{\"a\":\"\\q\"}"), NOT_JSON,
     "{\"a\":\"\\\\q\"}", "invalid escape near '\"\\\\q' at byte 8"},
    {"ESC in the detail", BYTES("\x1b"), NOT_JSON, "\\x1b",
     "invalid token near '\\x1b' at byte 1"},
};

/* Checks the one report line for a toxic message at offset. */
static bool check_report(const char *name, const char *report, size_t len,
                         enum ev_reason reason, const char *excerpt,
                         const char *detail, size_t offset)
{
        char head[4096], tail[512];
        bool ok = true;

        snprintf(head, sizeof(head),
                 "ERROR: %s received: %s (reason=%s "
                 "detail=\"",
                 ev_reason_is_malformed(reason) ? "Malformed JSON"
                                                : "Invalid event",
                 excerpt, ev_reason_name(reason));
        snprintf(tail, sizeof(tail),
                 "%s\" topic=fake partition=0 "
                 "offset=%zu)\n",
                 detail ? detail : "", offset);
        if (len != strlen(report) || !printable_line(report, len)) {
                print_error("case '%s': not one printable line: %s\n", name,
                            report);
                ok = false;
        } else if (strncmp(report, head, strlen(head))) {
                print_error("case '%s': report \"%s\", expected it to start "
                            "\"%s\"\n",
                            name, report, head);
                ok = false;
        } else if (detail ? strcmp(report + strlen(head), tail)
                          : len < strlen(head) + strlen(tail) ||
                                strcmp(report + len - strlen(tail), tail)) {
                print_error("case '%s': report \"%s\", expected it to end "
                            "\"%s\"\n",
                            name, report, tail);
                ok = false;
        }
        return ok;
}

static void test_pipeline_toxic_reports(void **state)
{
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(toxic_cases) / sizeof(toxic_cases[0]); i++) {
                const struct toxic_case *c = &toxic_cases[i];
                struct fake_source fake;
                struct ev_pipeline pl;
                char err_buf[CAPTURE_MAX], errstr[128];
                FILE *out = open_out(NULL, 65536);
                size_t len;
                char *got;

                fake_init(&fake, out);
                fake.want = "";
                fake_add(&fake, c->payload, c->len, 100 + i);
                stdout_pipeline(&pl, out, &rules);
                if (run_batch(&pl, &fake, errstr, sizeof(errstr), err_buf,
                              sizeof(err_buf)) != EV_OK ||
                    !fake_check(&fake, FAKE_ACKED, c->name)) {
                        print_error("case '%s': batch failed\n", c->name);
                        failed++;
                } else if (pl.stats.toxic != 1 ||
                           pl.stats.by_reason[c->reason] != 1) {
                        print_error("case '%s': toxic=%lu, %s=%lu\n", c->name,
                                    pl.stats.toxic, ev_reason_name(c->reason),
                                    pl.stats.by_reason[c->reason]);
                        failed++;
                } else if (!check_report(c->name, err_buf, strlen(err_buf),
                                         c->reason, c->excerpt, c->detail,
                                         100 + i)) {
                        failed++;
                }
                got = fd_contents(fileno(out), &len);
                if (len) {
                        print_error("case '%s': stdout holds \"%s\"\n", c->name,
                                    got);
                        failed++;
                }
                free(got);
                pipeline_done(&pl);
                fake_free(&fake);
                fclose(out);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* A long payload shows at most EV_REPORT_EXCERPT_BYTES of its bytes, then its
 * total length. */
static void test_pipeline_toxic_excerpt(void **state)
{
        static const struct {
                const char *name;
                const char *unit;    /* repeated to fill the payload */
                const char *escaped; /* what one unit shows as */
                size_t len;
                size_t shown; /* payload bytes in the excerpt */
        } cases[] = {
            {"511 bytes", "x", "x", 511, 511},
            {"512 bytes", "x", "x", 512, 512},
            {"513 bytes", "x", "x", 513, 512},
            {"2000 bytes", "x", "x", 2000, 512},
            {"2000 newlines", "\n", "\\n", 2000, 512},
            {"2000 ESC", "\x1b", "\\x1b", 2000, 512},
            {"2000 invalid bytes", "\xff", "\\xff", 2000, 512},
            {"2000 backslashes", "\\", "\\\\", 2000, 512},
            {"2-byte UTF-8", "\xc3\xa9", "\xc3\xa9", 2000, 512},
            {"3-byte UTF-8 not split", "\xe2\x82\xac", "\xe2\x82\xac", 2001,
             510},
        };
        /* Large enough that every case is not_json, not too_large. */
        const struct ev_event_rules big = {EV_DEFAULT_MAX_PAYLOAD_BYTES, true};
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t unit_len = strlen(cases[i].unit);
                size_t esc_len = strlen(cases[i].escaped);
                char *payload = malloc(cases[i].len);
                char *excerpt = malloc(cases[i].len * 4 + 64);
                struct fake_source fake;
                struct ev_pipeline pl;
                char err_buf[CAPTURE_MAX], errstr[128];
                size_t u, e = 0;

                assert_non_null(payload);
                assert_non_null(excerpt);
                for (u = 0; u < cases[i].len / unit_len; u++)
                        memcpy(payload + u * unit_len, cases[i].unit, unit_len);
                for (u = 0; u < cases[i].shown / unit_len; u++, e += esc_len)
                        memcpy(excerpt + e, cases[i].escaped, esc_len);
                if (cases[i].shown < cases[i].len)
                        e += (size_t)sprintf(
                            excerpt + e, "... [%zu bytes total]", cases[i].len);
                excerpt[e] = '\0';

                fake_init(&fake, NULL);
                fake_add(&fake, payload, cases[i].len, 7);
                stdout_pipeline(&pl, stdout, &big);
                if (run_batch(&pl, &fake, errstr, sizeof(errstr), err_buf,
                              sizeof(err_buf)) != EV_OK ||
                    !check_report(cases[i].name, err_buf, strlen(err_buf),
                                  NOT_JSON, excerpt, NULL, 7))
                        failed++;
                pipeline_done(&pl);
                fake_free(&fake);
                free(excerpt);
                free(payload);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

static void test_pipeline_summary(void **state)
{
        static const struct {
                const char *name;
                struct ev_pipeline_stats stats;
                const char *text;
        } cases[] = {
            {"nothing",
             {0, 0, 0, 0, {0}, 0, 0, 0},
             "consumed=0 valid=0 toxic=0 tombstones=0 empty=0 too_large=0 "
             "not_json=0 not_object=0 missing_field=0 wrong_type=0 "
             "bad_timestamp=0 bad_level=0 unacknowledged=0 dead_lettered=0 "
             "late=0"},
            {"seed scenario",
             {13, 10, 3, 0, {[EV_REASON_NOT_JSON] = 3}, 0, 3, 2},
             "consumed=13 valid=10 toxic=3 tombstones=0 empty=0 too_large=0 "
             "not_json=3 not_object=0 missing_field=0 wrong_type=0 "
             "bad_timestamp=0 bad_level=0 unacknowledged=0 dead_lettered=3 "
             "late=2"},
            {"every reason",
             {4000000046UL,
              4000000000UL,
              44,
              2,
              {0, 1, 2, 3, 4, 5, 6, 7, 16},
              5,
              44,
              7},
             "consumed=4000000046 valid=4000000000 toxic=44 tombstones=2 "
             "empty=1 too_large=2 not_json=3 not_object=4 missing_field=5 "
             "wrong_type=6 bad_timestamp=7 bad_level=16 unacknowledged=5 "
             "dead_lettered=44 late=7"},
        };
        char buf[512];
        size_t i, size, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t len = strlen(cases[i].text);

                ev_pipeline_summary(&cases[i].stats, buf, sizeof(buf));
                if (strcmp(buf, cases[i].text)) {
                        print_error("case '%s': got \"%s\"\n", cases[i].name,
                                    buf);
                        failed++;
                }
                /* Every buffer size, on the heap at exactly that size so
                 * that ASan sees any write past it: a truncated prefix. */
                for (size = 1; size <= len + 1; size++) {
                        char *small = malloc(size);

                        assert_non_null(small);
                        ev_pipeline_summary(&cases[i].stats, small, size);
                        if (!memchr(small, '\0', size) ||
                            strlen(small) != size - 1 ||
                            memcmp(small, cases[i].text, size - 1)) {
                                print_error("case '%s': size %zu: wrong "
                                            "truncation\n",
                                            cases[i].name, size);
                                failed++;
                        }
                        free(small);
                }
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* init copies the rules and starts every count at zero. */
static void test_pipeline_init(void **state)
{
        struct ev_event_rules local = {256, true};
        struct ev_pipeline pl;
        struct fake_source fake;
        char err_buf[CAPTURE_MAX], errstr[128];
        size_t r;

        (void)state;
        memset(&pl, 0x5a, sizeof(pl));
        stdout_pipeline(&pl, stdout, &local);
        local.schema = false;
        local.max_payload_bytes = 1;
        assert_int_equal(pl.sink_cnt, 1);
        assert_false(pl.keep_events);
        assert_int_equal(pl.stats.consumed, 0);
        assert_int_equal(pl.stats.valid, 0);
        assert_int_equal(pl.stats.toxic, 0);
        assert_int_equal(pl.stats.tombstones, 0);
        for (r = 0; r < EV_REASON__CNT; r++)
                assert_int_equal(pl.stats.by_reason[r], 0);

        fake_init(&fake, NULL);
        fake_add(&fake, BYTES("{\"a\":1}"), 0);
        assert_int_equal(run_batch(&pl, &fake, errstr, sizeof(errstr), err_buf,
                                   sizeof(err_buf)),
                         EV_OK);
        assert_int_equal(pl.stats.by_reason[EV_REASON_MISSING_FIELD], 1);
        assert_true(fake_check(&fake, FAKE_ACKED, "init"));
        pipeline_done(&pl);
        fake_free(&fake);
}

/* An in-memory sink that answers from a script: one result per try (the
 * last one repeats), failing in write or in flush, and records what it was
 * handed and whether the source had already been answered. */
struct memory_sink {
        struct ev_sink sink; /* first: the ops cast back from it */
        const struct fake_source *fake;
        enum ev_sink_result script[4];
        size_t script_len;
        bool fail_in_write;
        enum ev_err err; /* the class of an ERROR */
        unsigned writes;
        unsigned flushes;
        unsigned acked_before; /* tries that found the batch acknowledged */
        size_t valid, toxic, tombstones, roots;
};

static enum ev_sink_result memory_next(struct memory_sink *m, enum ev_err *err,
                                       char *errstr, size_t errstr_size)
{
        unsigned try = m->writes - 1;
        enum ev_sink_result r =
            m->script[try < m->script_len ? try : m->script_len - 1];

        if (r != EV_SINK_OK) {
                *err = r == EV_SINK_RETRY ? EV_ERR_TRANSIENT : m->err;
                snprintf(errstr, errstr_size, "memory sink: try %u failed",
                         try + 1);
        }
        return r;
}

static enum ev_sink_result memory_write(struct ev_sink *sink,
                                        const struct ev_sink_batch *batch,
                                        enum ev_err *err, char *errstr,
                                        size_t errstr_size)
{
        struct memory_sink *m = (struct memory_sink *)sink;
        size_t i;

        m->writes++;
        if (m->fake->ack_calls)
                m->acked_before++;
        m->valid = m->toxic = m->tombstones = m->roots = 0;
        for (i = 0; i < batch->cnt; i++) {
                const struct ev_sink_item *item = &batch->items[i];

                m->valid += item->kind == EV_SINK_VALID;
                m->toxic += item->kind == EV_SINK_TOXIC;
                m->tombstones += item->kind == EV_SINK_TOMBSTONE;
                m->roots += item->root != NULL;
        }
        if (m->fail_in_write)
                return memory_next(m, err, errstr, errstr_size);
        return EV_SINK_OK;
}

static enum ev_sink_result memory_flush(struct ev_sink *sink, enum ev_err *err,
                                        char *errstr, size_t errstr_size)
{
        struct memory_sink *m = (struct memory_sink *)sink;

        m->flushes++;
        if (m->fake->ack_calls)
                m->acked_before++;
        if (m->fail_in_write)
                return EV_SINK_OK;
        return memory_next(m, err, errstr, errstr_size);
}

static void memory_close(struct ev_sink *sink)
{
        (void)sink;
}

static const struct ev_sink_ops memory_ops = {
    .name = "memory",
    .write = memory_write,
    .flush = memory_flush,
    .close = memory_close,
};

static const struct ev_sink_ops memory_events_ops = {
    .name = "memory",
    .wants_events = true,
    .write = memory_write,
    .flush = memory_flush,
    .close = memory_close,
};

/* One valid event, one toxic message and one tombstone. */
static void add_three(struct fake_source *fake)
{
        fake_add(fake, BYTES(MSG("kept")), 1);
        fake_add(fake, BYTES("{oops"), 2);
        fake_add(fake, NULL, 0, 3);
}

/* Two sinks, scripted: the batch is acknowledged only when both answered
 * OK, after both were done with it; an ERROR or a RETRY past the timeout
 * releases it with the error's class; a RETRY is written again, whole. */
static void test_pipeline_sinks(void **state)
{
        static const struct {
                const char *name;
                enum ev_sink_result first[3], second[3];
                size_t first_len, second_len;
                bool in_write;
                double timeout;
                enum ev_err want;
                unsigned second_writes;
        } cases[] = {
            {"both ok", {EV_SINK_OK}, {EV_SINK_OK}, 1, 1, false, 0, EV_OK, 1},
            {"second error",
             {EV_SINK_OK},
             {EV_SINK_ERROR},
             1,
             1,
             false,
             0,
             EV_ERR_PERMANENT,
             1},
            {"first error in write",
             {EV_SINK_ERROR},
             {EV_SINK_OK},
             1,
             1,
             true,
             0,
             EV_ERR_PERMANENT,
             0},
            {"retry then ok",
             {EV_SINK_OK},
             {EV_SINK_RETRY, EV_SINK_OK},
             1,
             2,
             false,
             30,
             EV_OK,
             2},
            {"retry in write then ok",
             {EV_SINK_OK},
             {EV_SINK_RETRY, EV_SINK_OK},
             1,
             2,
             true,
             30,
             EV_OK,
             2},
            {"retry past the timeout",
             {EV_SINK_OK},
             {EV_SINK_RETRY},
             1,
             1,
             false,
             0,
             EV_ERR_TRANSIENT,
             1},
            {"retry then error",
             {EV_SINK_OK},
             {EV_SINK_RETRY, EV_SINK_ERROR},
             1,
             2,
             false,
             30,
             EV_ERR_PERMANENT,
             2},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct memory_sink first = {.sink.ops = &memory_ops},
                                   second = {.sink.ops = &memory_events_ops};
                struct ev_sink *sinks[] = {&first.sink, &second.sink};
                char err_buf[CAPTURE_MAX], errstr[128] = ERRSTR_SET;
                struct fake_source fake;
                struct ev_pipeline pl;
                enum ev_err err;
                bool ok;

                fake_init(&fake, NULL);
                add_three(&fake);
                first.fake = second.fake = &fake;
                memcpy(first.script, cases[i].first, sizeof(first.script));
                first.script_len = cases[i].first_len;
                memcpy(second.script, cases[i].second, sizeof(second.script));
                second.script_len = cases[i].second_len;
                first.fail_in_write = second.fail_in_write = cases[i].in_write;
                first.err = second.err = EV_ERR_PERMANENT;
                ev_pipeline_init(&pl, sinks, 2, false, &rules, 30,
                                 cases[i].timeout, NULL, NULL);
                err = run_batch(&pl, &fake, errstr, sizeof(errstr), err_buf,
                                sizeof(err_buf));
                ok = err == cases[i].want &&
                     fake_check(&fake, err ? FAKE_RELEASED : FAKE_ACKED,
                                cases[i].name) &&
                     first.acked_before == 0 && second.acked_before == 0 &&
                     second.writes == cases[i].second_writes &&
                     (err ? strstr(errstr, "memory sink: try") != NULL
                          : !strcmp(errstr, ERRSTR_SET)) &&
                     pl.stats.unacknowledged == (err ? 3 : 0) &&
                     pl.stats.consumed == (err ? 0 : 3);
                /* Each sink sees the whole batch, with the parsed event
                 * that one of them asked for. */
                ok = ok && first.valid == 1 && first.toxic == 1 &&
                     first.tombstones == 1 && first.roots == 1 &&
                     (!second.writes ||
                      (second.valid == 1 && second.toxic == 1 &&
                       second.tombstones == 1 && second.roots == 1));
                /* A retry is said once per pause; giving up is not. */
                ok = ok && (strstr(err_buf, "retrying in") != NULL) ==
                               (second.writes > 1);
                if (!ok) {
                        print_error("case '%s': err %d (%s), writes %u/%u, "
                                    "acked before %u/%u\n%s",
                                    cases[i].name, (int)err, errstr,
                                    first.writes, second.writes,
                                    first.acked_before, second.acked_before,
                                    err_buf);
                        failed++;
                }
                ev_pipeline_free(&pl);
                fake_free(&fake);
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* A sink that records what redaction left on the valid items. */
struct redaction_sink {
        struct ev_sink sink; /* first: the ops cast back from it */
        size_t valid, redacted;
        char message[128];  /* root's "message" of the first redacted item */
        char original[128]; /* its original_message */
};

static enum ev_sink_result redaction_write(struct ev_sink *sink,
                                           const struct ev_sink_batch *batch,
                                           enum ev_err *err, char *errstr,
                                           size_t errstr_size)
{
        struct redaction_sink *m = (struct redaction_sink *)sink;
        size_t i;

        (void)err;
        (void)errstr;
        (void)errstr_size;
        for (i = 0; i < batch->cnt; i++) {
                const struct ev_sink_item *item = &batch->items[i];

                m->valid += item->kind == EV_SINK_VALID;
                if (!item->redacted || m->redacted++)
                        continue;
                snprintf(
                    m->message, sizeof(m->message), "%s",
                    json_string_value(json_object_get(item->root, "message")));
                snprintf(m->original, sizeof(m->original), "%s",
                         json_string_value(item->original_message));
        }
        return EV_SINK_OK;
}

static enum ev_sink_result redaction_flush(struct ev_sink *sink,
                                           enum ev_err *err, char *errstr,
                                           size_t errstr_size)
{
        (void)sink;
        (void)err;
        (void)errstr;
        (void)errstr_size;
        return EV_SINK_OK;
}

static const struct ev_sink_ops redaction_ops = {
    .name = "redaction",
    .write = redaction_write,
    .flush = redaction_flush,
    .close = memory_close,
};

#define PII_MSG MSG("call 555-0199 or a@b.co")
#define R       EV_REDACT_REPLACEMENT
#define EXEMPT                                                                 \
        "{\"timestamp\":\"" GOOD_TS "\",\"service_name\":\"api\","             \
        "\"level\":\"INFO\",\"message\":\"hi\","                               \
        "\"event_id\":\"555-0199\"}"
#define PRETTY                                                                 \
        "{\n\"timestamp\": \"" GOOD_TS "\",\n\"service_name\": "               \
        "\"api\",\n\"level\": \"INFO\",\n\"message\": \"x@y.org\"\n}"
#define SPACED                                                                 \
        "{\"timestamp\" : \"" GOOD_TS "\", \"message\" : \"plain\", "          \
        "\"service_name\" : \"api\", \"level\" : \"WARN\"}"

/* With --redact: a redacted event reaches every sink redacted, with its
 * original message, and stdout writes it re-serialised on one line; an
 * event with nothing to redact (or only exempt members) keeps its bytes;
 * a toxic message's report is redacted too. */
static void test_pipeline_redaction(void **state)
{
        static const char want[] =
            MSG("call " R " or " R) "\n" SPACED "\n" EXEMPT "\n"
                                    "{\"timestamp\":\"" GOOD_TS
                                    "\",\"service_name\":\"api\","
                                    "\"level\":\"INFO\",\"message\":\"" R
                                    "\"}\n";
        struct redaction_sink rec = {.sink.ops = &redaction_ops};
        struct ev_sink *sinks[2];
        struct ev_redactor *redactor;
        struct fake_source fake;
        struct ev_pipeline pl;
        char err_buf[CAPTURE_MAX], errstr[128] = ERRSTR_SET;
        FILE *out = open_out(NULL, 65536);
        enum ev_err err;
        size_t len;
        char *got;

        (void)state;
        redactor =
            ev_redactor_new(EV_CONFIG_REDACT_PHONE | EV_CONFIG_REDACT_EMAIL,
                            &err, errstr, sizeof(errstr));
        assert_non_null(redactor);
        sinks[0] = ev_sink_stdout_new(out);
        assert_non_null(sinks[0]);
        sinks[1] = &rec.sink;
        ev_pipeline_init(&pl, sinks, 2, false, &rules, 30, 0, redactor, NULL);
        assert_true(pl.keep_events);
        fake_init(&fake, out);
        fake.want = want;
        fake.want_len = sizeof(want) - 1;
        fake_add(&fake, BYTES(PII_MSG), 1);
        fake_add(&fake, BYTES(SPACED), 2);
        fake_add(&fake, BYTES("not json: john@example.com"), 3);
        fake_add(&fake, NULL, 0, 4);
        fake_add(&fake, BYTES(EXEMPT), 5);
        fake_add(&fake, BYTES(PRETTY), 6);
        assert_int_equal(run_batch(&pl, &fake, errstr, sizeof(errstr), err_buf,
                                   sizeof(err_buf)),
                         EV_OK);
        assert_string_equal(errstr, ERRSTR_SET);
        assert_true(fake_check(&fake, FAKE_ACKED, "redaction"));
        got = fd_contents(fileno(out), &len);
        if (len != sizeof(want) - 1 || memcmp(got, want, len))
                print_error("stdout: %s\n", got);
        assert_int_equal(len, sizeof(want) - 1);
        assert_memory_equal(got, want, len);
        free(got);
        assert_int_equal(pl.stats.valid, 4);
        assert_int_equal(rec.valid, 4);
        assert_int_equal(rec.redacted, 2);
        assert_string_equal(rec.message, "call " R " or " R);
        assert_string_equal(rec.original, "call 555-0199 or a@b.co");
        /* The report shows the toxic payload redacted. */
        assert_int_equal(count_lines(err_buf), 1);
        assert_non_null(strstr(err_buf, "not json: " R));
        assert_null(strstr(err_buf, "john@"));

        sinks[0]->ops->close(sinks[0]);
        ev_pipeline_free(&pl);
        ev_redactor_free(redactor);
        fake_free(&fake);
        fclose(out);
}

/* A redacted event that stdout cannot take: EV_ERR_IO, all released. */
static void test_pipeline_redaction_output_failure(void **state)
{
        char err_buf[CAPTURE_MAX], errstr[128] = "", want_err[128];
        FILE *out = open_out("/dev/full", 0);
        struct ev_redactor *redactor;
        struct fake_source fake;
        struct ev_pipeline pl;
        enum ev_err err;

        (void)state;
        snprintf(want_err, sizeof(want_err), "stdout: %s", strerror(ENOSPC));
        redactor = ev_redactor_new(EV_CONFIG_REDACT_PHONE, &err, errstr,
                                   sizeof(errstr));
        assert_non_null(redactor);
        redacting_pipeline(&pl, out, &rules, redactor, NULL);
        fake_init(&fake, NULL);
        fake_add(&fake, BYTES(PII_MSG), 1);
        assert_int_equal(run_batch(&pl, &fake, errstr, sizeof(errstr), err_buf,
                                   sizeof(err_buf)),
                         EV_ERR_IO);
        assert_non_null(strstr(errstr, want_err));
        assert_true(fake_check(&fake, FAKE_RELEASED, "redacted, /dev/full"));
        pipeline_done(&pl);
        ev_redactor_free(redactor);
        fake_free(&fake);
        fclose(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pipeline_mixed_batch),
            cmocka_unit_test(test_pipeline_parallel),
            cmocka_unit_test(test_pipeline_line_breaks),
            cmocka_unit_test(test_pipeline_ack_after_flush),
            cmocka_unit_test(test_pipeline_output_failure),
            cmocka_unit_test(test_pipeline_toxic_reports),
            cmocka_unit_test(test_pipeline_toxic_excerpt),
            cmocka_unit_test(test_pipeline_summary),
            cmocka_unit_test(test_pipeline_init),
            cmocka_unit_test(test_pipeline_sinks),
            cmocka_unit_test(test_pipeline_redaction),
            cmocka_unit_test(test_pipeline_redaction_output_failure),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
