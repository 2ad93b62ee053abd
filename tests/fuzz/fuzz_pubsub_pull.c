/*
 * libFuzzer target: Pub/Sub answers as the service (or something posing as
 * it) could send them. ev_pubsub_parse_pull, ev_pubsub_parse_publish for a
 * few expected counts, ev_pubsub_error_text and ev_pubsub_error_status
 * into buffers of several sizes, each allocated at exactly that size. What
 * they return must keep their contracts; the error text must be one clean
 * line.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "pubsub_api.h"

static void touch(const char *s, size_t len, const char *what)
{
        if (!s)
                fuzz_fail("%s is NULL", what);
        if (s[len] != '\0')
                fuzz_fail("%s is not NUL-terminated at its length", what);
}

static void check_pull(const char *body, size_t len)
{
        struct ev_pubsub_received *msgs = (void *)1;
        size_t cnt = 99, skipped = 99, i;
        char errstr[256];
        enum ev_err err;

        memset(errstr, 0x7e, sizeof(errstr));
        err = ev_pubsub_parse_pull(body, len, &msgs, &cnt, &skipped, errstr,
                                   sizeof(errstr));
        if (err != EV_OK) {
                if (err != EV_ERR_TRANSIENT && err != EV_ERR_NOMEM)
                        fuzz_fail("parse_pull returned %d", (int)err);
                if (msgs || cnt)
                        fuzz_fail("parse_pull failed but returned messages");
                if (!memchr(errstr, '\0', sizeof(errstr)))
                        fuzz_fail("parse_pull: errstr not terminated");
                return;
        }
        if (!cnt != !msgs)
                fuzz_fail("parse_pull: %zu messages at %p", cnt, (void *)msgs);
        for (i = 0; i < cnt; i++) {
                const struct ev_pubsub_received *m = &msgs[i];

                touch(m->ack_id, strlen(m->ack_id), "ack_id");
                if (!m->ack_id[0] && !memchr(body, '\\', len))
                        fuzz_fail("an empty ackId was kept");
                touch(m->message_id, strlen(m->message_id), "message_id");
                touch(m->data, m->len, "data");
                if (m->key)
                        touch(m->key, m->key_len, "key");
                else if (m->key_len)
                        fuzz_fail("key_len %zu without a key", m->key_len);
                if (m->delivery_attempt < 0)
                        fuzz_fail("delivery_attempt %ld", m->delivery_attempt);
        }
        ev_pubsub_received_free(msgs, cnt);
}

static void check_publish(const char *body, size_t len, size_t expected)
{
        const char *ids[3];
        void *json = (void *)1;
        char errstr[256];
        enum ev_err err;
        size_t i;

        memset(errstr, 0x7e, sizeof(errstr));
        err = ev_pubsub_parse_publish(body, len, expected, ids, &json, errstr,
                                      sizeof(errstr));
        if (err != EV_OK) {
                if (json)
                        fuzz_fail("parse_publish failed but returned JSON");
                if (!memchr(errstr, '\0', sizeof(errstr)))
                        fuzz_fail("parse_publish: errstr not terminated");
                return;
        }
        for (i = 0; i < expected; i++)
                touch(ids[i], strlen(ids[i]), "message id");
        json_decref(json);
}

static void check_error(const char *body, size_t len)
{
        static const long statuses[] = {0, 404, 503, -1, LONG_MIN};
        static const size_t sizes[] = {1, 2, 9, 24, 80, 512};
        size_t s, i;

        for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
                char *buf = malloc(sizes[s]);
                size_t n;

                if (!buf)
                        abort();
                for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
                        memset(buf, 0x7e, sizes[s]);
                        ev_pubsub_error_text(statuses[i], body, len, buf,
                                             sizes[s]);
                        fuzz_check_line(buf, sizes[s], "error text");
                }
                memset(buf, 0x7e, sizes[s]);
                ev_pubsub_error_status(body, len, buf, sizes[s]);
                n = fuzz_check_line(buf, sizes[s], "error status");
                if (strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n)
                        fuzz_fail("error status \"%s\"", buf);
                free(buf);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *body = (const char *)data;
        size_t expected;

        check_pull(body, size);
        for (expected = 0; expected <= 3; expected++)
                check_publish(body, size, expected);
        check_error(body, size);
        return 0;
}
