/*
 * The gateway's request rules and bodies. Owns nothing beyond one call:
 * the event it builds is handed to the caller. Knows nothing of HTTP
 * beyond status numbers, nor of brokers.
 */
#include "request.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "escape.h"
#include "event.h"
#include "firestore_api.h"
#include "timefmt.h"

static const struct {
        unsigned status;
        const char *code;
} errors[EV_REQUEST__CNT] = {
    [EV_REQUEST_OK] = {202, "accepted"},
    [EV_REQUEST_NOT_FOUND] = {404, "not_found"},
    [EV_REQUEST_METHOD] = {405, "method_not_allowed"},
    [EV_REQUEST_UNAUTHORIZED] = {401, "unauthorized"},
    [EV_REQUEST_FORBIDDEN] = {403, "forbidden"},
    [EV_REQUEST_MEDIA_TYPE] = {415, "unsupported_media_type"},
    [EV_REQUEST_TOO_LARGE] = {413, "payload_too_large"},
    [EV_REQUEST_BAD_JSON] = {400, "invalid_json"},
    [EV_REQUEST_NOT_OBJECT] = {400, "not_an_object"},
    [EV_REQUEST_BAD_TEXT] = {400, "invalid_text"},
    [EV_REQUEST_NO_TENANT] = {400, "missing_tenant"},
    [EV_REQUEST_BAD_TENANT] = {400, "invalid_tenant"},
    [EV_REQUEST_TENANT_MISMATCH] = {400, "tenant_mismatch"},
    [EV_REQUEST_BAD_LOG_ID] = {400, "invalid_log_id"},
    [EV_REQUEST_BAD_EVENT] = {400, "invalid_event"},
    [EV_REQUEST_PUBLISH_FAILED] = {503, "publish_failed"},
    [EV_REQUEST_STOPPING] = {503, "unavailable"},
    [EV_REQUEST_INTERNAL] = {500, "internal_error"},
};

unsigned ev_request_status(enum ev_request_error err)
{
        return errors[err].status;
}

const char *ev_request_code(enum ev_request_error err)
{
        return errors[err].code;
}

enum ev_request_type ev_request_type(const char *content_type)
{
        static const struct {
                const char *name;
                enum ev_request_type type;
        } types[] = {{"application/json", EV_REQUEST_JSON},
                     {"text/plain", EV_REQUEST_TEXT}};
        const char *s = content_type;
        size_t len, i;

        if (!s)
                return EV_REQUEST_OTHER;
        s += strspn(s, " \t");
        /* The media type ends where its parameters start. */
        len = strcspn(s, ";");
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                len--;
        for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                if (len == strlen(types[i].name) &&
                    !strncasecmp(s, types[i].name, len))
                        return types[i].type;
        }
        return EV_REQUEST_OTHER;
}

/* ASCII only, whatever the locale. */

void ev_request_uuid4(const unsigned char *random, char *out)
{
        static const char hex[] = "0123456789abcdef";
        unsigned char b[EV_REQUEST_RANDOM_BYTES];
        size_t i;

        memcpy(b, random, sizeof(b));
        /* RFC 9562: version 4 in the high nibble of byte 6, variant 10 in
         * the high bits of byte 8. */
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
        for (i = 0; i < sizeof(b); i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        *out++ = '-';
                *out++ = hex[b[i] >> 4];
                *out++ = hex[b[i] & 0x0f];
        }
        *out = '\0';
}

bool ev_request_bearer(const char *authorization, const char **token,
                       size_t *len)
{
        const char *s = authorization;
        size_t n;

        if (!s)
                return false;
        s += strspn(s, " \t");
        if (strncasecmp(s, "Bearer", 6) || (s[6] != ' ' && s[6] != '\t'))
                return false;
        s += 6;
        s += strspn(s, " \t");
        n = strcspn(s, " \t");
        /* A token is one word: anything after it is not ours to guess. */
        if (n == 0 || s[n + strspn(s + n, " \t")])
                return false;
        *token = s;
        *len = n;
        return true;
}

/* Writes the client's detail line and returns err. */
static enum ev_request_error say(enum ev_request_error err, char *detail,
                                 size_t detail_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum ev_request_error say(enum ev_request_error err, char *detail,
                                 size_t detail_size, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(detail, detail_size, fmt, ap);
        va_end(ap);
        return err;
}

/* Sets key to the new reference value unless root has it; false when out
 * of memory. */
static bool set_default(json_t *root, const char *key, json_t *value)
{
        if (json_object_get(root, key)) {
                json_decref(value);
                return true;
        }
        return value && !json_object_set_new(root, key, value);
}

/* The time of receipt, service_name and level, where the request gave
 * none. */
static bool add_defaults(json_t *root, const struct ev_request *req)
{
        char when[EV_TIMEFMT_SIZE];

        if (!ev_timefmt_rfc3339_ms(req->received_ms, when, sizeof(when)))
                return false;
        return set_default(root, "timestamp", json_string(when)) &&
               set_default(root, "service_name",
                           json_string("event-gateway")) &&
               set_default(root, "level", json_string("INFO"));
}

/* The offset of the first byte of s[0..len) that is not UTF-8, or len. */
static size_t utf8_bad_at(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s;
        unsigned long cp;
        size_t off = 0, n;

        while (off < len) {
                n = ev_utf8_seq_len(p + off, len - off, &cp);
                if (!n)
                        return off;
                off += n;
        }
        return len;
}

/* A text/plain body: the event's message. */
static enum ev_request_error text_event(const struct ev_request *req,
                                        json_t **root, char *detail,
                                        size_t detail_size)
{
        size_t bad;

        if (req->len == 0)
                return say(EV_REQUEST_BAD_TEXT, detail, detail_size,
                           "the text is empty");
        bad = utf8_bad_at(req->body, req->len);
        if (bad < req->len)
                return say(EV_REQUEST_BAD_TEXT, detail, detail_size,
                           "the text is not valid UTF-8 (byte %zu)", bad);
        *root = json_object();
        if (!*root || !add_defaults(*root, req) ||
            json_object_set_new(*root, "message",
                                json_stringn(req->body, req->len)))
                return say(EV_REQUEST_INTERNAL, detail, detail_size,
                           "out of memory");
        return EV_REQUEST_OK;
}

/* A JSON body: parsed as the consumer parses events; its "text" becomes
 * the message. */
static enum ev_request_error json_event(const struct ev_request *req,
                                        json_t **root, char *detail,
                                        size_t detail_size)
{
        const struct ev_event_rules any = {SIZE_MAX, false};
        json_t *text, *message; /* borrowed from *root */
        struct ev_verdict v;

        if (!ev_event_validate(req->body, req->len, &any, root, &v))
                return say(v.reason == EV_REASON_NOT_OBJECT
                               ? EV_REQUEST_NOT_OBJECT
                               : EV_REQUEST_BAD_JSON,
                           detail, detail_size, "%s", v.detail);
        text = json_object_get(*root, "text");
        message = json_object_get(*root, "message");
        if (text && message)
                return say(EV_REQUEST_BAD_TEXT, detail, detail_size,
                           "give text or message, not both");
        if (text) {
                if (json_object_set(*root, "message", text) ||
                    json_object_del(*root, "text"))
                        return say(EV_REQUEST_INTERNAL, detail, detail_size,
                                   "out of memory");
                message = text;
        }
        if (!message)
                return say(EV_REQUEST_BAD_TEXT, detail, detail_size,
                           "no text: give \"text\" (or \"message\")");
        if (!json_is_string(message))
                return say(EV_REQUEST_BAD_TEXT, detail, detail_size,
                           "the text must be a string");
        if (!json_string_length(message))
                return say(EV_REQUEST_BAD_TEXT, detail, detail_size,
                           "the text is empty");
        if (!add_defaults(*root, req))
                return say(EV_REQUEST_INTERNAL, detail, detail_size,
                           "out of memory");
        return EV_REQUEST_OK;
}

/* An id given by root's member name or by the header hname (value header,
 * NULL when absent), as X-Tenant-ID and X-Log-ID name theirs: each checked
 * by ok (rule says what it wants), the same when both are given. *id is
 * borrowed from root or header, NULL when neither gives one. */
static enum ev_request_error
given_id(json_t *root, const char *name, const char *header, const char *hname,
         bool (*ok)(const char *, size_t), const char *rule,
         enum ev_request_error bad, enum ev_request_error mismatch,
         const char **id, char *detail, size_t detail_size)
{
        json_t *member = json_object_get(root, name); /* borrowed */

        *id = NULL;
        if (member &&
            !(json_is_string(member) &&
              ok(json_string_value(member), json_string_length(member))))
                return say(bad, detail, detail_size,
                           "%s must be a string of %s", name, rule);
        if (header && !ok(header, strlen(header)))
                return say(bad, detail, detail_size, "%s must be %s", hname,
                           rule);
        *id = member ? json_string_value(member) : header;
        if (member && header && strcmp(*id, header))
                return say(mismatch, detail, detail_size,
                           "%s %s and %s %s differ", name, *id, hname, header);
        return EV_REQUEST_OK;
}

/* The tenant: the body's tenant_id, X-Tenant-ID or the key's, checked and
 * written into the event and out. */
static enum ev_request_error set_tenant(const struct ev_request *req,
                                        json_t *root,
                                        struct ev_request_event *out,
                                        char *detail, size_t detail_size)
{
        enum ev_request_error err;
        const char *tenant;

        err = given_id(root, "tenant_id", req->tenant_header, "X-Tenant-ID",
                       ev_firestore_valid_tenant, EV_REQUEST_TENANT_RULE,
                       EV_REQUEST_BAD_TENANT, EV_REQUEST_TENANT_MISMATCH,
                       &tenant, detail, detail_size);
        if (err)
                return err;
        if (!tenant)
                tenant = req->key_tenant;
        if (!tenant)
                return say(EV_REQUEST_NO_TENANT, detail, detail_size,
                           "no tenant: give tenant_id or X-Tenant-ID");
        if (req->key_tenant && strcmp(tenant, req->key_tenant))
                return say(EV_REQUEST_FORBIDDEN, detail, detail_size,
                           "this API key may not write tenant %s", tenant);
        snprintf(out->tenant_id, sizeof(out->tenant_id), "%s", tenant);
        if (!set_default(root, "tenant_id", json_string(out->tenant_id)))
                return say(EV_REQUEST_INTERNAL, detail, detail_size,
                           "out of memory");
        return EV_REQUEST_OK;
}

/* The log id: the body's log_id or X-Log-ID, checked, or a new UUID;
 * written into the event and out. */
static enum ev_request_error set_log_id(const struct ev_request *req,
                                        json_t *root,
                                        struct ev_request_event *out,
                                        char *detail, size_t detail_size)
{
        enum ev_request_error err;
        const char *log_id;

        err = given_id(root, "log_id", req->log_id_header, "X-Log-ID",
                       ev_firestore_valid_log_id, EV_REQUEST_LOG_ID_RULE,
                       EV_REQUEST_BAD_LOG_ID, EV_REQUEST_BAD_LOG_ID, &log_id,
                       detail, detail_size);
        if (err)
                return err;
        if (log_id)
                snprintf(out->log_id, sizeof(out->log_id), "%s", log_id);
        else
                ev_request_uuid4(req->random, out->log_id);
        if (!set_default(root, "log_id", json_string(out->log_id)))
                return say(EV_REQUEST_INTERNAL, detail, detail_size,
                           "out of memory");
        return EV_REQUEST_OK;
}

/* The event as text, and the consumer's verdict on it: never publish what
 * it would call toxic. */
static enum ev_request_error finish(const struct ev_request *req, json_t *root,
                                    struct ev_request_event *out, char *detail,
                                    size_t detail_size)
{
        const struct ev_event_rules rules = {req->max_bytes, true};
        struct ev_verdict v;

        out->payload = json_dumps(root, JSON_COMPACT);
        if (!out->payload)
                return say(EV_REQUEST_INTERNAL, detail, detail_size,
                           "out of memory");
        out->payload_len = strlen(out->payload);
        if (ev_event_validate(out->payload, out->payload_len, &rules, NULL, &v))
                return EV_REQUEST_OK;
        if (v.reason == EV_REASON_TOO_LARGE)
                return say(EV_REQUEST_TOO_LARGE, detail, detail_size,
                           "the event would be %zu bytes, over the limit of "
                           "%zu",
                           out->payload_len, req->max_bytes);
        return say(EV_REQUEST_BAD_EVENT, detail, detail_size,
                   "not a valid event: %s (%s)", ev_reason_name(v.reason),
                   v.detail);
}

enum ev_request_error ev_request_build(const struct ev_request *req,
                                       struct ev_request_event *out,
                                       char *detail, size_t detail_size)
{
        enum ev_request_error err;
        json_t *root = NULL;

        memset(out, 0, sizeof(*out));
        if (req->type == EV_REQUEST_TEXT)
                err = text_event(req, &root, detail, detail_size);
        else
                err = json_event(req, &root, detail, detail_size);
        if (!err)
                err = set_tenant(req, root, out, detail, detail_size);
        if (!err)
                err = set_log_id(req, root, out, detail, detail_size);
        if (!err && !set_default(root, "source",
                                 json_string(req->type == EV_REQUEST_TEXT
                                                 ? "text_upload"
                                                 : "json_upload")))
                err = say(EV_REQUEST_INTERNAL, detail, detail_size,
                          "out of memory");
        if (!err)
                err = finish(req, root, out, detail, detail_size);
        json_decref(root);
        if (err) {
                free(out->payload);
                out->payload = NULL;
                out->payload_len = 0;
        }
        return err;
}

/* root as compact JSON text in a new buffer; consumes root. */
static char *dump(json_t *root, size_t *len)
{
        char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;

        json_decref(root);
        if (text)
                *len = strlen(text);
        return text;
}

char *ev_request_error_body(enum ev_request_error err, const char *detail,
                            size_t *len)
{
        /* Broker and parser texts may hold any byte: the client gets one
         * printable line of valid UTF-8. */
        char line[1024];

        ev_escape(detail, strlen(detail), strlen(detail), 0, line,
                  sizeof(line));
        return dump(json_pack("{s:s,s:s}", "error", ev_request_code(err),
                              "detail", line),
                    len);
}

char *ev_request_accepted_body(const struct ev_request_event *ev,
                               const char *message_id, size_t *len)
{
        return dump(json_pack("{s:s,s:s,s:s,s:s}", "status", "accepted",
                              "tenant_id", ev->tenant_id, "log_id", ev->log_id,
                              "message_id", message_id),
                    len);
}

bool ev_request_message_id(const char *where, const char *topic, char *buf,
                           size_t size)
{
        static const char pubsub[] = "message_id=";
        int32_t partition;
        int64_t offset;
        int end = -1;
        int n;

        if (!strncmp(where, pubsub, sizeof(pubsub) - 1) &&
            where[sizeof(pubsub) - 1]) {
                n = snprintf(buf, size, "%s", where + sizeof(pubsub) - 1);
                return n >= 0 && (size_t)n < size;
        }
        if (sscanf(where, "partition=%" SCNd32 " offset=%" SCNd64 "%n",
                   &partition, &offset, &end) != 2 ||
            end < 0 || where[end])
                return false;
        n = snprintf(buf, size, "%s/%" PRId32 "/%" PRId64, topic, partition,
                     offset);
        return n >= 0 && (size_t)n < size;
}
