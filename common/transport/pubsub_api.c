/*
 * Pub/Sub REST v1 without the network: bodies built by hand into growable
 * buffers, answers parsed with jansson, retry decisions. Owns the body
 * buffers and the pulled-message arrays; the connection, token and clock
 * belong to pubsub.c and gauth.c.
 */
#include "pubsub_api.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base64.h"
#include "escape.h"

/* String literal as pointer and length. */
#define LIT(s) (s), sizeof(s) - 1

/* The pieces of a publish body, named once so that the cost and the writer
 * cannot disagree. */
#define PUB_START     "{\"messages\":["
#define PUB_SEP       ","
#define PUB_DATA      "{\"data\":\""
#define PUB_DATA_END  "\""
#define PUB_ATTRS     ",\"attributes\":{"
#define PUB_ATTR_SEP  ","
#define PUB_ATTR_OPEN "\""
#define PUB_ATTR_MID  "\":\""
#define PUB_ATTR_END  "\""
#define PUB_ATTRS_END "}"
#define PUB_OKEY      ",\"orderingKey\":\""
#define PUB_OKEY_END  "\""
#define PUB_MSG_END   "}"
#define PUB_FINISH    "]}"

/* The longest JSON escape of one input byte: \u00XX. */
#define JSON_ESCAPE_MAX_RATIO 6

/* Bytes of the non-Google error body shown in an error line. */
#define ERROR_BODY_SHOWN 200

/* Saturating size arithmetic: SIZE_MAX stands for "too large to build". */
static size_t add_sat(size_t a, size_t b)
{
        return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t mul_sat(size_t a, size_t b)
{
        return b && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

static bool is_alpha(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || is_digit(c);
}

/*
 * Body buffers.
 */

void ev_pubsub_body_reset(struct ev_pubsub_body *b)
{
        if (!b)
                return;
        b->len = 0;
        b->msgs = 0;
        if (b->data)
                b->data[0] = '\0';
}

void ev_pubsub_body_free(struct ev_pubsub_body *b)
{
        if (!b)
                return;
        free(b->data);
        memset(b, 0, sizeof(*b));
}

/* Makes room for extra more bytes and the NUL after them. Doubling keeps a
 * body built message by message linear in its final size. On failure b is
 * untouched. */
static enum ev_err reserve(struct ev_pubsub_body *b, size_t extra)
{
        size_t need = add_sat(add_sat(b->len, extra), 1);
        size_t cap = b->cap ? b->cap : 256;
        char *data;

        if (need == SIZE_MAX)
                return EV_ERR_NOMEM;
        if (need <= b->cap)
                return EV_OK;
        while (cap < need)
                cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        data = realloc(b->data, cap);
        if (!data)
                return EV_ERR_NOMEM;
        b->data = data;
        b->cap = cap;
        return EV_OK;
}

/* Writers for a body whose room was reserved beforehand: they cannot fail,
 * so a request is either appended whole or not at all. */
static void put(struct ev_pubsub_body *b, const char *s, size_t n)
{
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

/*
 * JSON strings.
 */

/* The escaped form of one ASCII byte inside a JSON string, or NULL when it
 * stands for itself; *n is its length. */
static const char *json_escape_byte(unsigned char c, char tmp[7], size_t *n)
{
        switch (c) {
        case '"':
                *n = 2;
                return "\\\"";
        case '\\':
                *n = 2;
                return "\\\\";
        case '\b':
                *n = 2;
                return "\\b";
        case '\f':
                *n = 2;
                return "\\f";
        case '\n':
                *n = 2;
                return "\\n";
        case '\r':
                *n = 2;
                return "\\r";
        case '\t':
                *n = 2;
                return "\\t";
        }
        if (c >= 0x20)
                return NULL;
        *n = (size_t)snprintf(tmp, 7, "\\u%04x", (unsigned)c);
        return tmp;
}

/* Sets *out to the length of s[0..n) escaped as the inside of a JSON
 * string. False when s is not valid UTF-8: JSON text cannot carry it, and
 * the service would refuse the whole request. */
static bool json_escaped_len(const char *s, size_t n, size_t *out)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t i = 0, total = 0;

        while (i < n) {
                char tmp[7];
                unsigned long cp;
                size_t seq = ev_utf8_seq_len(u + i, n - i, &cp), elen;

                if (!seq)
                        return false;
                if (seq == 1 && json_escape_byte(u[i], tmp, &elen))
                        total += elen;
                else
                        total += seq;
                i += seq;
        }
        *out = total;
        return true;
}

/* Appends s[0..n), already checked by json_escaped_len, escaped. Multi-byte
 * sequences contain no byte below 0x80, so a byte-wise pass is enough. */
static void put_json(struct ev_pubsub_body *b, const char *s, size_t n)
{
        size_t i;

        for (i = 0; i < n; i++) {
                char tmp[7];
                size_t elen;
                const char *esc =
                    json_escape_byte((unsigned char)s[i], tmp, &elen);

                if (esc)
                        put(b, esc, elen);
                else
                        put(b, s + i, 1);
        }
}

enum ev_err ev_pubsub_body_append(struct ev_pubsub_body *b, const char *s,
                                  size_t n)
{
        if (reserve(b, n))
                return EV_ERR_NOMEM;
        put(b, s, n);
        return EV_OK;
}

enum ev_err ev_pubsub_body_append_string(struct ev_pubsub_body *b,
                                         const char *s, size_t n)
{
        size_t esc;

        if (!json_escaped_len(s, n, &esc))
                return EV_ERR_PERMANENT;
        if (reserve(b, add_sat(esc, 2)))
                return EV_ERR_NOMEM;
        put(b, LIT("\""));
        put_json(b, s, n);
        put(b, LIT("\""));
        return EV_OK;
}

/*
 * Resource names.
 */

bool ev_pubsub_valid_id(const char *id)
{
        size_t n;

        if (!id || !is_alpha(id[0]) || !strncmp(id, "goog", 4))
                return false;
        for (n = 0; id[n]; n++) {
                if (n == 255)
                        return false;
                if (!is_alpha(id[n]) && !is_digit(id[n]) &&
                    !strchr("-_.~+%", id[n]))
                        return false;
        }
        return n >= 3;
}

static bool valid_plain_project(const char *s, size_t n)
{
        size_t i;

        if (n < 6 || n > 30 || !(s[0] >= 'a' && s[0] <= 'z') || s[n - 1] == '-')
                return false;
        for (i = 0; i < n; i++)
                if (!is_lower_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

/* The domain of a legacy "example.com:project" id: dot-separated labels of
 * a-z 0-9 -, none empty or starting or ending with '-', at least two. */
static bool valid_domain(const char *s, size_t n)
{
        size_t i, label = 0, dots = 0;

        if (n == 0 || n > 253)
                return false;
        for (i = 0; i < n; i++) {
                if (s[i] == '.') {
                        if (!label || s[i - 1] == '-')
                                return false;
                        label = 0;
                        dots++;
                } else if (is_lower_alnum(s[i]) || s[i] == '-') {
                        if (!label && s[i] == '-')
                                return false;
                        label++;
                } else {
                        return false;
                }
        }
        return dots && label && s[n - 1] != '-';
}

bool ev_pubsub_valid_project(const char *project)
{
        const char *colon;
        size_t n;

        if (!project)
                return false;
        /* No valid form is longer; the bound keeps a hostile string from
         * being scanned to its end. */
        n = strnlen(project, 300);
        if (n == 300)
                return false;
        colon = memchr(project, ':', n);
        if (!colon)
                return valid_plain_project(project, n);
        return valid_domain(project, (size_t)(colon - project)) &&
               valid_plain_project(colon + 1,
                                   n - (size_t)(colon - project) - 1);
}

/*
 * Publish.
 */

/* Bytes one attribute adds at most: its separator, quotes and colon, and
 * its name and value escaped. */
static size_t attr_cost(size_t name_len, size_t value_len)
{
        size_t cost = sizeof(PUB_ATTR_SEP) - 1 + sizeof(PUB_ATTR_OPEN) - 1 +
                      sizeof(PUB_ATTR_MID) - 1 + sizeof(PUB_ATTR_END) - 1;

        cost = add_sat(cost, mul_sat(name_len, JSON_ESCAPE_MAX_RATIO));
        return add_sat(cost, mul_sat(value_len, JSON_ESCAPE_MAX_RATIO));
}

/* Counts the start of the body (the larger of "{"messages":[" and ","), the
 * attributes and ordering key members even when their length is 0 (an
 * empty key is still written), and the closing "]}", so that the costs of a
 * request's messages add up to at least its finished size. */
size_t ev_pubsub_publish_cost(size_t len, size_t key_len, size_t okey_len,
                              const struct ev_header *attrs, size_t attr_cnt)
{
        size_t cost = sizeof(PUB_START) - 1 + sizeof(PUB_DATA) - 1 +
                      sizeof(PUB_DATA_END) - 1 + sizeof(PUB_ATTRS) - 1 +
                      sizeof(PUB_ATTRS_END) - 1 + sizeof(PUB_OKEY) - 1 +
                      sizeof(PUB_OKEY_END) - 1 + sizeof(PUB_MSG_END) - 1 +
                      sizeof(PUB_FINISH) - 1;
        size_t i;

        /* 4 characters per started 3 bytes, computed without overflow. */
        cost = add_sat(cost, mul_sat(len / 3 + (len % 3 != 0), 4));
        /* The key attribute comes first: no separator. */
        cost = add_sat(cost, sizeof(PUB_ATTR_OPEN) - 1 + sizeof("key") - 1 +
                                 sizeof(PUB_ATTR_MID) - 1 +
                                 sizeof(PUB_ATTR_END) - 1);
        cost = add_sat(cost, mul_sat(key_len, JSON_ESCAPE_MAX_RATIO));
        cost = add_sat(cost, mul_sat(okey_len, JSON_ESCAPE_MAX_RATIO));
        for (i = 0; i < attr_cnt; i++)
                cost = add_sat(cost,
                               attr_cost(strlen(attrs[i].name), attrs[i].len));
        return cost;
}

/* True when b ends with a message and not yet with the closing "]}". */
static bool publish_open(const struct ev_pubsub_body *b)
{
        return b->msgs > 0 && b->len >= 2 && b->data[b->len - 1] == '}' &&
               b->data[b->len - 2] != ']';
}

/* Adds the escaped size of every attribute to *need; false with errstr
 * when a name or value is not valid UTF-8 or is over the service's
 * limits. */
static bool attrs_size(const struct ev_header *attrs, size_t attr_cnt,
                       size_t *need, char *errstr, size_t errstr_size)
{
        size_t i, name_esc, value_esc;

        for (i = 0; i < attr_cnt; i++) {
                const struct ev_header *a = &attrs[i];
                size_t name_len = strlen(a->name);

                if (name_len == 0 || name_len > EV_PUBSUB_MAX_ATTR_NAME ||
                    a->len > EV_PUBSUB_MAX_ATTR_VALUE) {
                        snprintf(errstr, errstr_size,
                                 "attribute %.64s: name of 1 to %d bytes and "
                                 "value of up to %d bytes allowed",
                                 a->name, EV_PUBSUB_MAX_ATTR_NAME,
                                 EV_PUBSUB_MAX_ATTR_VALUE);
                        return false;
                }
                if (!json_escaped_len(a->name, name_len, &name_esc) ||
                    !json_escaped_len(a->value, a->len, &value_esc)) {
                        snprintf(errstr, errstr_size,
                                 "attribute %.64s is not valid UTF-8", a->name);
                        return false;
                }
                *need += sizeof(PUB_ATTR_SEP) - 1 + sizeof(PUB_ATTR_OPEN) - 1 +
                         name_esc + sizeof(PUB_ATTR_MID) - 1 + value_esc +
                         sizeof(PUB_ATTR_END) - 1;
        }
        return true;
}

/* Appends "name":"value" (a NUL-terminated name), after a separator unless
 * first. */
static void put_attr(struct ev_pubsub_body *b, bool first, const char *name,
                     const char *value, size_t len)
{
        if (!first)
                put(b, LIT(PUB_ATTR_SEP));
        put(b, LIT(PUB_ATTR_OPEN));
        put_json(b, name, strlen(name));
        put(b, LIT(PUB_ATTR_MID));
        put_json(b, value, len);
        put(b, LIT(PUB_ATTR_END));
}

enum ev_err ev_pubsub_publish_add(struct ev_pubsub_body *b, const char *data,
                                  size_t len, const char *key, size_t key_len,
                                  const char *ordering_key, size_t okey_len,
                                  const struct ev_header *attrs,
                                  size_t attr_cnt, char *errstr,
                                  size_t errstr_size)
{
        size_t key_esc = 0, okey_esc = 0, b64_len, need = 0, i;
        bool first = b->len == 0;

        if (len == 0 && !key && !attr_cnt) {
                snprintf(errstr, errstr_size,
                         "empty message without attributes (Pub/Sub refuses "
                         "them)");
                return EV_ERR_PERMANENT;
        }
        if (!first && !publish_open(b)) {
                snprintf(errstr, errstr_size,
                         "body is not an open publish request");
                return EV_ERR_PERMANENT;
        }
        if (key && !json_escaped_len(key, key_len, &key_esc)) {
                snprintf(errstr, errstr_size, "key is not valid UTF-8");
                return EV_ERR_PERMANENT;
        }
        if (ordering_key &&
            !json_escaped_len(ordering_key, okey_len, &okey_esc)) {
                snprintf(errstr, errstr_size,
                         "ordering key is not valid UTF-8");
                return EV_ERR_PERMANENT;
        }
        if (!attrs_size(attrs, attr_cnt, &need, errstr, errstr_size))
                return EV_ERR_PERMANENT;
        if (ev_pubsub_publish_cost(len, key_len, okey_len, attrs, attr_cnt) ==
            SIZE_MAX) {
                snprintf(errstr, errstr_size, "message of %zu bytes too large",
                         len);
                return EV_ERR_NOMEM;
        }
        /* Exact, and below the cost, which did not saturate. */
        b64_len = ev_base64_encoded_len(len, EV_BASE64_STD);
        need += (first ? sizeof(PUB_START) : sizeof(PUB_SEP)) - 1 +
                sizeof(PUB_DATA) - 1 + b64_len + sizeof(PUB_DATA_END) - 1 +
                sizeof(PUB_MSG_END) - 1;
        if (key)
                need += sizeof(PUB_ATTR_OPEN) - 1 + sizeof("key") - 1 +
                        sizeof(PUB_ATTR_MID) - 1 + key_esc +
                        sizeof(PUB_ATTR_END) - 1;
        if (key || attr_cnt)
                need += sizeof(PUB_ATTRS) - 1 + sizeof(PUB_ATTRS_END) - 1;
        if (ordering_key)
                need +=
                    sizeof(PUB_OKEY) - 1 + okey_esc + sizeof(PUB_OKEY_END) - 1;
        if (reserve(b, need)) {
                snprintf(errstr, errstr_size, "out of memory");
                return EV_ERR_NOMEM;
        }

        if (first)
                put(b, LIT(PUB_START));
        else
                put(b, LIT(PUB_SEP));
        put(b, LIT(PUB_DATA));
        /* Encodes in place; its NUL lands where the next piece goes. */
        b->len += ev_base64_encode(data, len, b->data + b->len, EV_BASE64_STD);
        put(b, LIT(PUB_DATA_END));
        if (key || attr_cnt) {
                put(b, LIT(PUB_ATTRS));
                if (key)
                        put_attr(b, true, "key", key, key_len);
                for (i = 0; i < attr_cnt; i++)
                        put_attr(b, !key && i == 0, attrs[i].name,
                                 attrs[i].value, attrs[i].len);
                put(b, LIT(PUB_ATTRS_END));
        }
        if (ordering_key) {
                put(b, LIT(PUB_OKEY));
                put_json(b, ordering_key, okey_len);
                put(b, LIT(PUB_OKEY_END));
        }
        put(b, LIT(PUB_MSG_END));
        b->msgs++;
        return EV_OK;
}

/* EV_ERR_PERMANENT when b holds no open publish body (nothing added, or
 * finished already): the service would refuse what it would send. */
enum ev_err ev_pubsub_publish_finish(struct ev_pubsub_body *b)
{
        if (!publish_open(b))
                return EV_ERR_PERMANENT;
        if (reserve(b, sizeof(PUB_FINISH) - 1))
                return EV_ERR_NOMEM;
        put(b, LIT(PUB_FINISH));
        return EV_OK;
}

/* "what: jansson's text at byte N", escaped: the text may quote the body. */
static void json_error(const char *what, const json_error_t *jerr, char *errstr,
                       size_t errstr_size)
{
        char text[sizeof(jerr->text) * EV_ESCAPE_MAX_RATIO];

        ev_escape(jerr->text, strnlen(jerr->text, sizeof(jerr->text)),
                  sizeof(jerr->text), EV_ESCAPE_BACKSLASH, text, sizeof(text));
        snprintf(errstr, errstr_size, "%s is not JSON: %s at byte %d", what,
                 text, jerr->position);
}

/* jansson reads at most len bytes; a NULL body of length 0 is an empty
 * one. */
static json_t *load(const char *body, size_t len, json_error_t *jerr)
{
        return json_loadb(body ? body : "", body ? len : 0, JSON_ALLOW_NUL,
                          jerr);
}

enum ev_err ev_pubsub_parse_publish(const char *body, size_t len,
                                    size_t expected, const char **ids,
                                    void **json, char *errstr,
                                    size_t errstr_size)
{
        json_error_t jerr;
        json_t *root;
        json_t *arr; /* borrowed from root */
        enum ev_err err = EV_ERR_PERMANENT;
        size_t i;

        *json = NULL;
        root = load(body, len, &jerr);
        if (!root) {
                json_error("publish answer", &jerr, errstr, errstr_size);
                return EV_ERR_PERMANENT;
        }
        if (!json_is_object(root)) {
                snprintf(errstr, errstr_size,
                         "publish answer is not a JSON object");
                goto out;
        }
        arr = json_object_get(root, "messageIds");
        /* The service leaves out empty arrays. */
        if (!arr && expected == 0) {
                err = EV_OK;
                goto out;
        }
        if (!json_is_array(arr)) {
                snprintf(errstr, errstr_size,
                         "publish answer has no messageIds array");
                goto out;
        }
        if (json_array_size(arr) != expected) {
                snprintf(errstr, errstr_size,
                         "publish answer has %zu message ids for %zu "
                         "messages",
                         json_array_size(arr), expected);
                goto out;
        }
        for (i = 0; i < expected; i++) {
                json_t *id = json_array_get(arr, i); /* borrowed */

                if (!json_is_string(id)) {
                        snprintf(errstr, errstr_size,
                                 "publish answer: message id %zu is not a "
                                 "string",
                                 i);
                        goto out;
                }
                ids[i] = json_string_value(id);
        }
        err = EV_OK;
out:
        if (err == EV_OK) {
                *json = root;
                root = NULL;
        }
        json_decref(root);
        return err;
}

/*
 * Pull.
 */

size_t ev_pubsub_pull_body(char *buf, size_t size, unsigned long max_messages)
{
        int n;

        if (size == 0)
                return 0;
        n = snprintf(buf, size,
                     "{\"maxMessages\":%lu,\"returnImmediately\":true}",
                     max_messages);
        if (n < 0) {
                buf[0] = '\0';
                return 0;
        }
        return (size_t)n < size ? (size_t)n : size - 1;
}

/* What one entry of receivedMessages becomes, found once and used by both
 * passes of ev_pubsub_parse_pull so that they cannot disagree. */
struct entry_view {
        json_t *ack_id;     /* borrowed; NULL: skip the entry */
        json_t *message_id; /* borrowed; NULL: "" */
        json_t *data;       /* borrowed; NULL: "" */
        json_t *key;        /* borrowed; NULL: no key */
        json_t *published;  /* borrowed; NULL: none */
        json_t *attempt;    /* borrowed; NULL: 0 */
};

static void view_entry(json_t *entry, struct entry_view *v)
{
        json_t *msg = json_object_get(entry, "message");    /* borrowed */
        json_t *attrs = json_object_get(msg, "attributes"); /* borrowed */
        json_t *s;                                          /* borrowed */

        memset(v, 0, sizeof(*v));
        s = json_object_get(entry, "ackId");
        /* An empty ackId cannot be acknowledged either. */
        if (json_is_string(s) && json_string_length(s) > 0)
                v->ack_id = s;
        s = json_object_get(msg, "messageId");
        if (json_is_string(s))
                v->message_id = s;
        v->data = json_object_get(msg, "data");
        s = json_object_get(attrs, "key");
        if (json_is_string(s))
                v->key = s;
        s = json_object_get(msg, "publishTime");
        if (json_is_string(s))
                v->published = s;
        v->attempt = json_object_get(entry, "deliveryAttempt");
}

/* The data member as it arrived, for data that is not a string. */
#define RAW_DUMP_FLAGS (JSON_ENCODE_ANY | JSON_COMPACT)

/* Arena bytes one entry needs: its strings and their NULs. Data decoded
 * from base64 is shorter than its text, but a string kept raw needs its
 * full length, so room for the longer of the two. */
static size_t entry_size(const struct entry_view *v)
{
        size_t size = json_string_length(v->ack_id) + 1;

        size = add_sat(
            size, (v->message_id ? json_string_length(v->message_id) : 0) + 1);
        if (json_is_string(v->data)) {
                size_t l = json_string_length(v->data);
                size_t dec = ev_base64_decoded_max(l);

                size = add_sat(size, add_sat(dec > l ? dec : l, 1));
        } else if (v->data) {
                size = add_sat(
                    size,
                    add_sat(json_dumpb(v->data, NULL, 0, RAW_DUMP_FLAGS), 1));
        } else {
                size = add_sat(size, 1);
        }
        if (v->key)
                size = add_sat(size, json_string_length(v->key) + 1);
        if (v->published)
                size = add_sat(size, json_string_length(v->published) + 1);
        return size;
}

/* Copies s[0..n) and a NUL to *p; returns the copy and advances *p. */
static char *arena_copy(char **p, const char *s, size_t n)
{
        char *copy = *p;

        memcpy(copy, s, n);
        copy[n] = '\0';
        *p += n + 1;
        return copy;
}

static long delivery_attempt(json_t *attempt)
{
        json_int_t n;

        /* An int32 in the proto, so a JSON number; a string is accepted
         * too, as proto3 JSON readers do. */
        if (json_is_integer(attempt)) {
                n = json_integer_value(attempt);
        } else if (json_is_string(attempt)) {
                char *end;

                n = strtoll(json_string_value(attempt), &end, 10);
                if (end == json_string_value(attempt) || *end)
                        return 0;
        } else {
                return 0;
        }
        if (n < 0)
                return 0;
        return n > LONG_MAX ? LONG_MAX : (long)n;
}

/* Fills m from v, its strings taken from the arena at *p. */
static void fill_entry(const struct entry_view *v, struct ev_pubsub_received *m,
                       char **p)
{
        m->ack_id = arena_copy(p, json_string_value(v->ack_id),
                               json_string_length(v->ack_id));
        if (v->message_id)
                m->message_id = arena_copy(p, json_string_value(v->message_id),
                                           json_string_length(v->message_id));
        else
                m->message_id = arena_copy(p, "", 0);
        m->data = *p;
        if (json_is_string(v->data)) {
                const char *s = json_string_value(v->data);
                size_t l = json_string_length(v->data);
                size_t dec = ev_base64_decoded_max(l);

                /* Not base64: the validator gets the text as it came, and
                 * reports it, rather than the message looping forever. */
                if (!ev_base64_decode(s, l, m->data, &m->len, EV_BASE64_STD)) {
                        memcpy(m->data, s, l);
                        m->len = l;
                }
                m->data[m->len] = '\0';
                *p += (dec > l ? dec : l) + 1;
        } else if (v->data) {
                size_t room = json_dumpb(v->data, NULL, 0, RAW_DUMP_FLAGS);

                m->len = json_dumpb(v->data, m->data, room, RAW_DUMP_FLAGS);
                m->data[m->len] = '\0';
                *p += room + 1;
        } else {
                m->len = 0;
                m->data[0] = '\0';
                *p += 1;
        }
        m->key = NULL;
        m->key_len = 0;
        if (v->key) {
                m->key_len = json_string_length(v->key);
                m->key = arena_copy(p, json_string_value(v->key), m->key_len);
        }
        m->publish_time = NULL;
        if (v->published)
                m->publish_time = arena_copy(p, json_string_value(v->published),
                                             json_string_length(v->published));
        m->delivery_attempt = delivery_attempt(v->attempt);
}

/*
 * One allocation holds the array and, after it, every string of every
 * message, so that a pull costs one malloc whatever its size, and freeing
 * cannot miss a piece.
 */
enum ev_err ev_pubsub_parse_pull(const char *body, size_t len,
                                 struct ev_pubsub_received **msgs, size_t *cnt,
                                 size_t *skipped, char *errstr,
                                 size_t errstr_size)
{
        json_error_t jerr;
        json_t *root;
        json_t *arr; /* borrowed from root */
        struct ev_pubsub_received *out = NULL;
        enum ev_err err = EV_ERR_TRANSIENT;
        size_t i, n = 0, total, strings = 0;
        char *p;

        *msgs = NULL;
        *cnt = 0;
        *skipped = 0;
        root = load(body, len, &jerr);
        if (!root) {
                json_error("pull answer", &jerr, errstr, errstr_size);
                return EV_ERR_TRANSIENT;
        }
        if (!json_is_object(root)) {
                snprintf(errstr, errstr_size,
                         "pull answer is not a JSON object");
                goto out;
        }
        arr = json_object_get(root, "receivedMessages");
        if (!arr) {
                /* {}: nothing to deliver now. */
                err = EV_OK;
                goto out;
        }
        if (!json_is_array(arr)) {
                snprintf(errstr, errstr_size,
                         "pull answer: receivedMessages is not an array");
                goto out;
        }

        for (i = 0; i < json_array_size(arr); i++) {
                struct entry_view v;

                view_entry(json_array_get(arr, i), &v);
                if (!v.ack_id)
                        continue;
                n++;
                strings = add_sat(strings, entry_size(&v));
        }
        *skipped = json_array_size(arr) - n;
        if (n == 0) {
                err = EV_OK;
                goto out;
        }
        total = add_sat(mul_sat(n, sizeof(*out)), strings);
        out = total == SIZE_MAX ? NULL : malloc(total);
        if (!out) {
                snprintf(errstr, errstr_size,
                         "out of memory for %zu pulled messages", n);
                err = EV_ERR_NOMEM;
                goto out;
        }
        p = (char *)(out + n);
        n = 0;
        for (i = 0; i < json_array_size(arr); i++) {
                struct entry_view v;

                view_entry(json_array_get(arr, i), &v);
                if (v.ack_id)
                        fill_entry(&v, &out[n++], &p);
        }
        *msgs = out;
        *cnt = n;
        err = EV_OK;
out:
        json_decref(root);
        return err;
}

void ev_pubsub_received_free(struct ev_pubsub_received *msgs, size_t cnt)
{
        /* The strings live in the same block (see ev_pubsub_parse_pull). */
        (void)cnt;
        free(msgs);
}

/*
 * Acknowledge, modifyAckDeadline, subscriptions.
 */

/* Also EV_ERR_PERMANENT for no ids, more than EV_PUBSUB_MAX_ACK_IDS, an id
 * that is NULL or not UTF-8, or a deadline beyond
 * EV_PUBSUB_MAX_ACK_DEADLINE: the service would refuse the request. */
enum ev_err ev_pubsub_ack_body(struct ev_pubsub_body *b,
                               const char *const *ack_ids, size_t cnt,
                               int deadline_s)
{
        char tail[48];
        size_t i, need, esc;
        int tail_len;

        if (cnt == 0 || cnt > EV_PUBSUB_MAX_ACK_IDS ||
            deadline_s > EV_PUBSUB_MAX_ACK_DEADLINE)
                return EV_ERR_PERMANENT;
        if (deadline_s < 0)
                tail_len = snprintf(tail, sizeof(tail), "]}");
        else
                tail_len = snprintf(tail, sizeof(tail),
                                    "],\"ackDeadlineSeconds\":%d}", deadline_s);
        need = sizeof("{\"ackIds\":[") - 1 + (size_t)tail_len;
        for (i = 0; i < cnt; i++) {
                if (!ack_ids[i] ||
                    !json_escaped_len(ack_ids[i], strlen(ack_ids[i]), &esc))
                        return EV_ERR_PERMANENT;
                /* Quotes and a comma. */
                need = add_sat(need, add_sat(esc, 3));
        }
        ev_pubsub_body_reset(b);
        if (reserve(b, need))
                return EV_ERR_NOMEM;
        put(b, LIT("{\"ackIds\":["));
        for (i = 0; i < cnt; i++) {
                if (i)
                        put(b, LIT(","));
                put(b, LIT("\""));
                put_json(b, ack_ids[i], strlen(ack_ids[i]));
                put(b, LIT("\""));
        }
        put(b, tail, (size_t)tail_len);
        return EV_OK;
}

/* Also EV_ERR_PERMANENT for an invalid project or topic id, or a deadline
 * other than 0 (the service's default) or EV_PUBSUB_MIN_ACK_DEADLINE ..
 * EV_PUBSUB_MAX_ACK_DEADLINE. Valid ids need no JSON escaping. */
enum ev_err ev_pubsub_subscription_body(struct ev_pubsub_body *b,
                                        const char *project, const char *topic,
                                        int ack_deadline_s, bool ordering)
{
        static const char fmt[] = "{\"topic\":\"projects/%s/topics/%s\","
                                  "\"ackDeadlineSeconds\":%d%s}";
        const char *extra = ordering ? ",\"enableMessageOrdering\":true" : "";
        int n;

        if (!ev_pubsub_valid_project(project) || !ev_pubsub_valid_id(topic) ||
            (ack_deadline_s != 0 &&
             (ack_deadline_s < EV_PUBSUB_MIN_ACK_DEADLINE ||
              ack_deadline_s > EV_PUBSUB_MAX_ACK_DEADLINE)))
                return EV_ERR_PERMANENT;
        ev_pubsub_body_reset(b);
        n = snprintf(NULL, 0, fmt, project, topic, ack_deadline_s, extra);
        if (n < 0 || reserve(b, (size_t)n))
                return EV_ERR_NOMEM;
        snprintf(b->data, (size_t)n + 1, fmt, project, topic, ack_deadline_s,
                 extra);
        b->len = (size_t)n;
        return EV_OK;
}

/*
 * Errors and retries.
 */

/* The "error" object of a Google error body, or NULL. A new reference to
 * the whole tree goes to *root when one was parsed. */
static json_t *google_error(const char *body, size_t len, json_t **root)
{
        json_error_t jerr;
        json_t *error; /* borrowed from *root */

        *root = len ? load(body, len, &jerr) : NULL;
        error = json_object_get(*root, "error");
        return json_is_object(error) ? error : NULL;
}

/* Appends s[0..n), at most max_in bytes of it, escaped, at buf + *o. A
 * piece cut short by the buffer ends the line: what followed it would not
 * read as what the line says. */
static void append_escaped(char *buf, size_t size, size_t *o, const char *s,
                           size_t n, size_t max_in)
{
        size_t used;

        if (*o + 1 >= size)
                return;
        used =
            ev_escape(s, n, max_in, EV_ESCAPE_BACKSLASH, buf + *o, size - *o);
        *o += strlen(buf + *o);
        if (used < (n < max_in ? n : max_in))
                *o = size;
}

static void append_text(char *buf, size_t size, size_t *o, const char *s)
{
        append_escaped(buf, size, o, s, strlen(s), SIZE_MAX);
}

void ev_pubsub_error_text(long status, const char *body, size_t len, char *buf,
                          size_t size)
{
        json_t *root;
        json_t *error;             /* borrowed from root */
        json_t *message, *gstatus; /* borrowed from root */
        char head[32];
        size_t o = 0;

        if (size == 0)
                return;
        buf[0] = '\0';
        snprintf(head, sizeof(head), "HTTP %ld", status);
        append_text(buf, size, &o, head);
        error = google_error(body, len, &root);
        message = json_object_get(error, "message");
        gstatus = json_object_get(error, "status");
        if (!json_is_string(message) || !json_string_length(message))
                message = NULL;
        if (!json_is_string(gstatus) || !json_string_length(gstatus))
                gstatus = NULL;
        if (message || gstatus) {
                if (gstatus) {
                        append_text(buf, size, &o, " ");
                        append_escaped(buf, size, &o,
                                       json_string_value(gstatus),
                                       json_string_length(gstatus), SIZE_MAX);
                }
                if (message) {
                        append_text(buf, size, &o, ": ");
                        append_escaped(buf, size, &o,
                                       json_string_value(message),
                                       json_string_length(message), SIZE_MAX);
                }
        } else if (len) {
                append_text(buf, size, &o, ": ");
                append_escaped(buf, size, &o, body, len, ERROR_BODY_SHOWN);
        }
        json_decref(root);
}

/* Only a whole status name that fits is copied: a cut or odd one would
 * compare unequal to every name anyway, and "" says so plainly. */
void ev_pubsub_error_status(const char *body, size_t len, char *buf,
                            size_t size)
{
        json_t *root;
        json_t *gstatus; /* borrowed from root */
        const char *s;
        size_t n, i;

        if (size == 0)
                return;
        buf[0] = '\0';
        gstatus = json_object_get(google_error(body, len, &root), "status");
        if (!json_is_string(gstatus))
                goto out;
        s = json_string_value(gstatus);
        n = json_string_length(gstatus);
        if (n >= size)
                goto out;
        for (i = 0; i < n; i++)
                if (!(s[i] >= 'A' && s[i] <= 'Z') && !is_digit(s[i]) &&
                    s[i] != '_')
                        goto out;
        memcpy(buf, s, n);
        buf[n] = '\0';
out:
        json_decref(root);
}

enum ev_err ev_pubsub_classify(enum ev_err transport_err, long status)
{
        if (transport_err != EV_OK)
                return EV_ERR_TRANSIENT;
        if (status >= 200 && status < 300)
                return EV_OK;
        /* 499 is gRPC's CANCELLED as mapped by Google's front end: the
         * request was dropped, not judged. */
        if (status == 408 || status == 429 || status == 499 ||
            (status >= 500 && status < 600))
                return EV_ERR_TRANSIENT;
        return EV_ERR_PERMANENT;
}

double ev_pubsub_backoff(unsigned attempt, double jitter)
{
        /* 0.1 * 2^7 = 12.8 passes the cap already; stopping the shifts
         * there keeps huge attempt numbers from overflowing. */
        double base = attempt >= 7 ? 10.0 : 0.1 * (double)(1u << attempt);

        if (base > 10.0)
                base = 10.0;
        /* Out-of-range jitter (NaN included) cannot leave the bounds. */
        if (!(jitter >= 0.0))
                jitter = 0.0;
        if (jitter > 1.0)
                jitter = 1.0;
        return base * (0.5 + jitter / 2.0);
}
