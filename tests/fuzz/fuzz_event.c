/*
 * libFuzzer target: ev_event_validate on any bytes, with the schema, without
 * it, and with a limit under the input's size. Each verdict must be well
 * formed and the three must agree; ASan and UBSan watch every read of the
 * input, which libFuzzer hands over in a buffer of exactly its size.
 * libFuzzer cuts inputs at 1 MiB, seeds included: too_large is reached
 * through the limit under the input's size.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "event.h"

/* The verdict's own promises: a known reason, a terminated detail, *root
 * an object exactly when valid. Releases root. */
static void check_verdict(bool valid, const struct ev_verdict *v, json_t *root,
                          const char *what)
{
        if (v->reason < EV_REASON_NONE || v->reason >= EV_REASON__CNT)
                fuzz_fail("%s: reason %d out of range", what, (int)v->reason);
        if (valid != (v->reason == EV_REASON_NONE))
                fuzz_fail("%s: returned %d with reason %s", what, valid,
                          ev_reason_name(v->reason));
        if (!memchr(v->detail, '\0', sizeof(v->detail)))
                fuzz_fail("%s: detail not terminated", what);
        if (valid != (root != NULL) || (root && !json_is_object(root)))
                fuzz_fail("%s: *root does not match the verdict", what);
        json_decref(root);
}

static bool schema_reason(enum ev_reason reason)
{
        return reason == EV_REASON_MISSING_FIELD ||
               reason == EV_REASON_WRONG_TYPE ||
               reason == EV_REASON_BAD_TIMESTAMP ||
               reason == EV_REASON_BAD_LEVEL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *buf = (const char *)data;
        const struct ev_event_rules schema = {EV_DEFAULT_MAX_PAYLOAD_BYTES,
                                              true};
        const struct ev_event_rules any = {EV_DEFAULT_MAX_PAYLOAD_BYTES, false};
        struct ev_verdict v, v_any;
        json_t *root = NULL;
        enum ev_reason want;
        bool valid;

        memset(&v, 0x7e, sizeof(v));
        valid = ev_event_validate(buf, size, &schema, &root, &v);
        check_verdict(valid, &v, root, "schema");
        if ((size == 0) != (v.reason == EV_REASON_EMPTY))
                fuzz_fail("%zu bytes judged %s", size,
                          ev_reason_name(v.reason));
        if ((size > schema.max_payload_bytes) !=
            (v.reason == EV_REASON_TOO_LARGE))
                fuzz_fail("%zu bytes judged %s", size,
                          ev_reason_name(v.reason));

        /* Parsing does not depend on the schema: only the schema's reasons
         * turn valid without it. */
        root = NULL;
        memset(&v_any, 0x7e, sizeof(v_any));
        valid = ev_event_validate(buf, size, &any, &root, &v_any);
        check_verdict(valid, &v_any, root, "no schema");
        want = schema_reason(v.reason) ? EV_REASON_NONE : v.reason;
        if (v_any.reason != want)
                fuzz_fail("without the schema %s, with it %s",
                          ev_reason_name(v_any.reason),
                          ev_reason_name(v.reason));

        /* One byte under the limit: too large, never parsed. */
        if (size > 0) {
                const struct ev_event_rules tight = {size - 1, true};

                valid = ev_event_validate(buf, size, &tight, NULL, &v);
                check_verdict(valid, &v, NULL, "limit size - 1");
                if (v.reason != EV_REASON_TOO_LARGE)
                        fuzz_fail("limit %zu: %s", size - 1,
                                  ev_reason_name(v.reason));
        }

        /* The timestamp reader alone, on the raw bytes. */
        if (ev_event_timestamp_valid(buf, size) && size < 20)
                fuzz_fail("a %zu-byte timestamp accepted", size);
        return 0;
}
