/*
 * Firestore REST v1 without the network: events turned into Write objects
 * appended to a caller's body buffer (pubsub_api.h's, the same growing
 * JSON text), checked against the service's limits on the way; commit
 * bodies; answers classified and read. Owns nothing beyond a call.
 */
#include "firestore_api.h"

#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "timefmt.h"

/* String literal as pointer and length. */
#define LIT(s) (s), sizeof(s) - 1

#define COMMIT_START "{\"writes\":["
#define COMMIT_END   "]}"

/* The storage sizes the service counts a document's size in
 * (https://cloud.google.com/firestore/docs/storage-size): a string is its
 * UTF-8 bytes and one more; a number or a timestamp 8; a boolean or null
 * 1; a document its name, its fields and 32; a name its ids (as strings)
 * and 16. */
#define SIZE_NUMBER   8
#define SIZE_SMALL    1
#define SIZE_DOC      32
#define SIZE_DOC_NAME 16

/* Room for a document's full name: "projects/P/databases/D/documents/
 * tenants/T/processed_logs/ID". */
#define NAME_SIZE 1536

/* Bytes of an id or a field name quoted in an error. */
#define QUOTED_MAX 64

/* The fields every document has: an event's members of these names are
 * left out. */
static const char *const reserved[] = {
    "source",       "original_text",   "modified_data",
    "processed_at", "source_location", "message",
};

static bool is_id_char(char c, const char *extra)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
               (c >= '0' && c <= '9') || (c && strchr(extra, c));
}

static bool all_id_chars(const char *s, size_t len, const char *extra)
{
        size_t i;

        for (i = 0; i < len; i++)
                if (!is_id_char(s[i], extra))
                        return false;
        return true;
}

/* __.*__: the names the service keeps for itself. */
static bool is_dunder(const char *s, size_t len)
{
        return len >= 4 && !memcmp(s, "__", 2) && !memcmp(s + len - 2, "__", 2);
}

bool ev_firestore_valid_tenant(const char *s, size_t len)
{
        return len >= 1 && len <= EV_FIRESTORE_MAX_TENANT &&
               all_id_chars(s, len, "_-") && !is_dunder(s, len);
}

bool ev_firestore_valid_log_id(const char *s, size_t len)
{
        if (len < 1 || len > EV_FIRESTORE_MAX_LOG_ID ||
            !all_id_chars(s, len, "_.:-"))
                return false;
        if ((len == 1 && s[0] == '.') || (len == 2 && !memcmp(s, "..", 2)))
                return false;
        return !is_dunder(s, len);
}

bool ev_firestore_valid_database(const char *db)
{
        size_t len, i;

        if (!db)
                return false;
        if (!strcmp(db, "(default)"))
                return true;
        len = strlen(db);
        if (len < 4 || len > 63 || !(db[0] >= 'a' && db[0] <= 'z') ||
            db[len - 1] == '-')
                return false;
        for (i = 0; i < len; i++)
                if (!(db[i] >= 'a' && db[i] <= 'z') &&
                    !(db[i] >= '0' && db[i] <= '9') && db[i] != '-')
                        return false;
        return true;
}

bool ev_firestore_origin_id(const struct ev_firestore_origin *o, char *buf,
                            size_t size)
{
        int n;

        if (o->topic)
                n = snprintf(buf, size, "%s:%s:%lld:%lld", o->transport,
                             o->topic, o->partition, o->offset);
        else if (o->subscription)
                n = snprintf(buf, size, "%s:%s:%s", o->transport,
                             o->subscription,
                             o->message_id ? o->message_id : "");
        else
                return false;
        return n > 0 && (size_t)n < size && !strchr(buf, '/');
}

/*
 * The encoder: appends to b, and counts the document's storage size and
 * nesting depth on the way. The first failure wins; later appends are
 * skipped.
 */
struct enc {
        struct ev_pubsub_body *b;
        size_t storage;
        enum ev_err err;
        char *errstr;
        size_t errstr_size;
};

static void put(struct enc *e, const char *s, size_t n)
{
        if (!e->err)
                e->err = ev_pubsub_body_append(e->b, s, n);
}

/* jansson hands out valid UTF-8 only, so a failure here is memory. */
static void put_string(struct enc *e, const char *s, size_t n)
{
        if (!e->err && ev_pubsub_body_append_string(e->b, s, n))
                e->err = EV_ERR_NOMEM;
}

/* Into errstr: "what 'S' why", S escaped and cut short. */
static void quote(char *errstr, size_t errstr_size, const char *what,
                  const char *s, size_t n, const char *why)
{
        char quoted[QUOTED_MAX * EV_ESCAPE_MAX_RATIO + 1];
        size_t used = ev_escape(s, n, QUOTED_MAX, EV_ESCAPE_BACKSLASH, quoted,
                                sizeof(quoted));

        snprintf(errstr, errstr_size, "%s '%s%s' %s", what, quoted,
                 used < n ? "..." : "", why);
}

static void refuse_name(struct enc *e, const char *name, size_t n,
                        const char *why)
{
        if (e->err)
                return;
        quote(e->errstr, e->errstr_size, "field name", name, n, why);
        e->err = EV_ERR_PERMANENT;
}

static void put_value(struct enc *e, json_t *v, int depth, bool in_array);

/* A field name, checked as the service checks it, with its ':'. */
static void put_name(struct enc *e, const char *name, size_t n)
{
        if (!n)
                refuse_name(e, name, n, "is empty");
        else if (n > EV_FIRESTORE_MAX_FIELD_NAME)
                refuse_name(e, name, n, "is longer than 1500 bytes");
        else if (is_dunder(name, n))
                refuse_name(e, name, n, "is reserved by Firestore (__*__)");
        put_string(e, name, n);
        put(e, LIT(":"));
        e->storage += n + 1;
}

/* The members of object v, but those named in skip[0..skip_cnt), as the
 * inside of a "fields" map at depth. */
static void put_members(struct enc *e, json_t *v, int depth, bool first,
                        const char *const *skip, size_t skip_cnt)
{
        const char *key;
        json_t *member; /* borrowed from v */
        size_t i;

        json_object_foreach(v, key, member)
        {
                for (i = 0; i < skip_cnt && strcmp(key, skip[i]); i++)
                        ;
                if (i < skip_cnt)
                        continue;
                if (!first)
                        put(e, LIT(","));
                first = false;
                put_name(e, key, strlen(key));
                put_value(e, member, depth, false);
        }
}

/* An array inside an array, which Firestore cannot hold: a map of its
 * elements by index. */
static void put_index_map(struct enc *e, json_t *v, int depth)
{
        json_t *item; /* borrowed from v */
        char key[24];
        size_t i;
        int n;

        put(e, LIT("{\"mapValue\":{\"fields\":{"));
        json_array_foreach(v, i, item)
        {
                n = snprintf(key, sizeof(key), "%zu", i);
                if (i)
                        put(e, LIT(","));
                put_name(e, key, (size_t)n);
                put_value(e, item, depth + 1, false);
        }
        put(e, LIT("}}}"));
}

static void put_array(struct enc *e, json_t *v, int depth)
{
        json_t *item; /* borrowed from v */
        size_t i;

        put(e, LIT("{\"arrayValue\":{\"values\":["));
        json_array_foreach(v, i, item)
        {
                if (i)
                        put(e, LIT(","));
                put_value(e, item, depth + 1, true);
        }
        put(e, LIT("]}}"));
}

/* One Value; depth is that of the field or element holding it (1 for a
 * top-level field), in_array whether that is an array's element. */
static void put_value(struct enc *e, json_t *v, int depth, bool in_array)
{
        char num[64];
        int n;

        /* A map or array held at depth d is the d-th one nested. */
        if ((json_is_object(v) || json_is_array(v)) &&
            depth > EV_FIRESTORE_MAX_DEPTH) {
                if (!e->err) {
                        snprintf(e->errstr, e->errstr_size,
                                 "maps and arrays nested deeper than %d",
                                 EV_FIRESTORE_MAX_DEPTH);
                        e->err = EV_ERR_PERMANENT;
                }
                return;
        }
        if (json_is_string(v) &&
            json_string_length(v) > EV_FIRESTORE_MAX_STRING && !e->err) {
                snprintf(e->errstr, e->errstr_size,
                         "a string of %zu bytes, over Firestore's limit of "
                         "%zu",
                         json_string_length(v), EV_FIRESTORE_MAX_STRING);
                e->err = EV_ERR_PERMANENT;
                return;
        }
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                put(e, LIT("{\"mapValue\":{\"fields\":{"));
                put_members(e, v, depth + 1, true, NULL, 0);
                put(e, LIT("}}}"));
                break;
        case JSON_ARRAY:
                if (in_array)
                        put_index_map(e, v, depth);
                else
                        put_array(e, v, depth);
                break;
        case JSON_STRING:
                put(e, LIT("{\"stringValue\":"));
                put_string(e, json_string_value(v), json_string_length(v));
                put(e, LIT("}"));
                e->storage += json_string_length(v) + 1;
                break;
        case JSON_INTEGER:
                /* int64 as a decimal string, as proto3's JSON has it. */
                n = snprintf(num, sizeof(num),
                             "{\"integerValue\":\"%" JSON_INTEGER_FORMAT "\"}",
                             json_integer_value(v));
                put(e, num, (size_t)n);
                e->storage += SIZE_NUMBER;
                break;
        case JSON_REAL:
                /* jansson's text (%.17g): it reads back as the same
                 * double. */
                put(e, LIT("{\"doubleValue\":"));
                put(e, num, json_dumpb(v, num, sizeof(num), JSON_ENCODE_ANY));
                put(e, LIT("}"));
                e->storage += SIZE_NUMBER;
                break;
        case JSON_TRUE:
                put(e, LIT("{\"booleanValue\":true}"));
                e->storage += SIZE_SMALL;
                break;
        case JSON_FALSE:
                put(e, LIT("{\"booleanValue\":false}"));
                e->storage += SIZE_SMALL;
                break;
        case JSON_NULL:
                put(e, LIT("{\"nullValue\":null}"));
                e->storage += SIZE_SMALL;
                break;
        }
}

/* A field that is not the first of its map: a string, an integer. */
static void put_string_field(struct enc *e, const char *name, const char *s,
                             size_t n)
{
        put(e, LIT(","));
        put_name(e, name, strlen(name));
        put(e, LIT("{\"stringValue\":"));
        put_string(e, s, n);
        put(e, LIT("}"));
        e->storage += n + 1;
}

static void put_integer_field(struct enc *e, const char *name, long long v)
{
        char num[64];
        int n;

        put(e, LIT(","));
        put_name(e, name, strlen(name));
        n = snprintf(num, sizeof(num), "{\"integerValue\":\"%lld\"}", v);
        put(e, num, (size_t)n);
        e->storage += SIZE_NUMBER;
}

static void put_location(struct enc *e, const struct ev_firestore_origin *o)
{
        put(e, LIT(","));
        put_name(e, LIT("source_location"));
        put(e, LIT("{\"mapValue\":{\"fields\":{"));
        /* transport first: the separators of the others come before them. */
        put_name(e, LIT("transport"));
        put(e, LIT("{\"stringValue\":"));
        put_string(e, o->transport, strlen(o->transport));
        put(e, LIT("}"));
        e->storage += strlen(o->transport) + 1;
        if (o->topic) {
                put_string_field(e, "topic", o->topic, strlen(o->topic));
                put_integer_field(e, "partition", o->partition);
                put_integer_field(e, "offset", o->offset);
        }
        if (o->subscription)
                put_string_field(e, "subscription", o->subscription,
                                 strlen(o->subscription));
        if (o->message_id)
                put_string_field(e, "message_id", o->message_id,
                                 strlen(o->message_id));
        put(e, LIT("}}}"));
}

/* The event's id member name (tenant_id, log_id) as a document path
 * segment: *s and *n point into root, or stay as they were when root has
 * no such member (or null). False, with errstr, when it is something else
 * than a string that ok accepts. */
static bool id_member(json_t *root, const char *name,
                      bool (*ok)(const char *, size_t), const char **s,
                      size_t *n, char *errstr, size_t errstr_size)
{
        json_t *v = json_object_get(root, name); /* borrowed from root */

        if (!v || json_is_null(v))
                return true;
        if (!json_is_string(v)) {
                snprintf(errstr, errstr_size, "%s is not a string", name);
                return false;
        }
        if (ok(json_string_value(v), json_string_length(v))) {
                *s = json_string_value(v);
                *n = json_string_length(v);
                return true;
        }
        quote(errstr, errstr_size, name, json_string_value(v),
              json_string_length(v),
              ok == ev_firestore_valid_tenant
                  ? "cannot name a document (1 to 64 of A-Z a-z 0-9 _ -)"
                  : "cannot name a document (1 to 128 of A-Z a-z 0-9 _ . : "
                    "-, not . or .., not __*__)");
        return false;
}

/* The document's full name into name (NAME_SIZE bytes); its storage size
 * into *storage. */
static bool doc_name(const char *database, const char *tenant,
                     size_t tenant_len, const char *id, size_t id_len,
                     char *name, size_t *storage, char *errstr,
                     size_t errstr_size)
{
        int n = snprintf(name, NAME_SIZE,
                         "%s/documents/tenants/%.*s/processed_logs/%.*s",
                         database, (int)tenant_len, tenant, (int)id_len, id);

        if (n < 0 || n >= NAME_SIZE) {
                snprintf(errstr, errstr_size,
                         "the document name would pass %d bytes",
                         NAME_SIZE - 1);
                return false;
        }
        *storage = sizeof("tenants") + tenant_len + 1 +
                   sizeof("processed_logs") + id_len + 1 + SIZE_DOC_NAME;
        return true;
}

enum ev_err ev_firestore_add_write(
    struct ev_pubsub_body *b, const char *database, const char *default_tenant,
    const struct ev_firestore_event *ev, int64_t processed_at_ms,
    struct ev_firestore_span *span, char *errstr, size_t errstr_size)
{
        struct enc e = {b, 0, EV_OK, errstr, errstr_size};
        const char *tenant = default_tenant, *id = NULL;
        size_t tenant_len = strlen(default_tenant), id_len = 0;
        size_t mark = b->len, name_storage;
        char origin_id[EV_FIRESTORE_ID_SIZE];
        char name[NAME_SIZE];
        char when[EV_TIMEFMT_SIZE];
        json_t *source, *message; /* borrowed from ev->root */
        json_t *original;         /* borrowed from ev or ev->root */

        if (!id_member(ev->root, "tenant_id", ev_firestore_valid_tenant,
                       &tenant, &tenant_len, errstr, errstr_size) ||
            !id_member(ev->root, "log_id", ev_firestore_valid_log_id, &id,
                       &id_len, errstr, errstr_size))
                return EV_ERR_PERMANENT;
        if (!id) {
                if (!ev_firestore_origin_id(&ev->origin, origin_id,
                                            sizeof(origin_id))) {
                        snprintf(errstr, errstr_size,
                                 "no log_id, and the source location makes "
                                 "no document id");
                        return EV_ERR_PERMANENT;
                }
                id = origin_id;
                id_len = strlen(origin_id);
        }
        if (!doc_name(database, tenant, tenant_len, id, id_len, name,
                      &name_storage, errstr, errstr_size))
                return EV_ERR_PERMANENT;
        if (!ev_timefmt_rfc3339_ms(processed_at_ms, when, sizeof(when))) {
                snprintf(errstr, errstr_size, "processed_at out of range");
                return EV_ERR_PERMANENT;
        }

        span->off = b->len;
        put(&e, LIT("{\"update\":{\"name\":"));
        span->name_off = b->len + 1;
        span->name_len = strlen(name);
        put_string(&e, name, span->name_len);
        put(&e, LIT(",\"fields\":{"));

        source = json_object_get(ev->root, "source");
        if (json_is_string(source)) {
                put_name(&e, LIT("source"));
                put_value(&e, source, 1, false);
        } else {
                put_name(&e, LIT("source"));
                put(&e, LIT("{\"stringValue\":\"event\"}"));
                e.storage += sizeof("event");
        }
        message = json_object_get(ev->root, "message");
        original = ev->original ? ev->original : message;
        if (original) {
                put(&e, LIT(","));
                put_name(&e, LIT("original_text"));
                put_value(&e, original, 1, false);
        }
        if (message) {
                put(&e, LIT(","));
                put_name(&e, LIT("modified_data"));
                put_value(&e, message, 1, false);
        }
        put(&e, LIT(","));
        put_name(&e, LIT("processed_at"));
        put(&e, LIT("{\"timestampValue\":\""));
        put(&e, when, strlen(when));
        put(&e, LIT("\"}"));
        e.storage += SIZE_NUMBER;
        put_location(&e, &ev->origin);
        put_members(&e, ev->root, 1, false, reserved,
                    sizeof(reserved) / sizeof(reserved[0]));
        put(&e, LIT("}}}"));

        e.storage += name_storage + SIZE_DOC;
        if (!e.err && e.storage > EV_FIRESTORE_MAX_DOC_BYTES) {
                snprintf(errstr, errstr_size,
                         "the document would be %zu bytes, over Firestore's "
                         "limit of %zu",
                         e.storage, EV_FIRESTORE_MAX_DOC_BYTES);
                e.err = EV_ERR_PERMANENT;
        }
        span->len = b->len - span->off;
        if (!e.err && span->len > EV_FIRESTORE_MAX_REQUEST_BYTES -
                                      (sizeof(COMMIT_START COMMIT_END) - 1)) {
                snprintf(errstr, errstr_size,
                         "the write would be %zu bytes, too large for one "
                         "request (%zu)",
                         span->len, EV_FIRESTORE_MAX_REQUEST_BYTES);
                e.err = EV_ERR_PERMANENT;
        }
        if (e.err == EV_ERR_NOMEM)
                snprintf(errstr, errstr_size, "out of memory");
        if (e.err) {
                b->len = mark;
                if (b->data)
                        b->data[mark] = '\0';
        }
        return e.err;
}

static bool same_name(const struct ev_pubsub_body *body,
                      const struct ev_firestore_span *a,
                      const struct ev_firestore_span *b)
{
        return a->name_len == b->name_len &&
               !memcmp(body->data + a->name_off, body->data + b->name_off,
                       a->name_len);
}

size_t ev_firestore_dedupe(const struct ev_pubsub_body *body,
                           struct ev_firestore_span *w, size_t cnt)
{
        size_t i, j, kept = 0;

        /* Quadratic, over a batch of at most the consumer's batch size
         * (512): simpler than a hash, and small beside a request. */
        for (i = 0; i < cnt; i++) {
                for (j = i + 1; j < cnt && !same_name(body, &w[i], &w[j]); j++)
                        ;
                if (j == cnt)
                        w[kept++] = w[i];
        }
        return kept;
}

size_t ev_firestore_commit_body(struct ev_pubsub_body *out,
                                const struct ev_pubsub_body *writes,
                                const struct ev_firestore_span *w, size_t cnt)
{
        size_t taken = 0, size = sizeof(COMMIT_START COMMIT_END) - 1;
        enum ev_err err;

        ev_pubsub_body_reset(out);
        if (!cnt)
                return 0;
        err = ev_pubsub_body_append(out, LIT(COMMIT_START));
        while (!err && taken < cnt && taken < EV_FIRESTORE_MAX_WRITES) {
                size += w[taken].len + (taken ? 1 : 0);
                if (taken && size > EV_FIRESTORE_MAX_REQUEST_BYTES)
                        break;
                if (taken)
                        err = ev_pubsub_body_append(out, LIT(","));
                if (!err)
                        err = ev_pubsub_body_append(
                            out, writes->data + w[taken].off, w[taken].len);
                taken++;
        }
        if (!err)
                err = ev_pubsub_body_append(out, LIT(COMMIT_END));
        return err ? 0 : taken;
}

enum ev_err ev_firestore_classify(enum ev_err transport_err, long status,
                                  const char *body, size_t len)
{
        enum ev_err err = ev_pubsub_classify(transport_err, status);
        char gstatus[64];

        if (err != EV_ERR_PERMANENT)
                return err;
        /* The gRPC codes the client libraries retry, whatever HTTP status
         * the front end gave them (ABORTED is 409). */
        ev_pubsub_error_status(body, len, gstatus, sizeof(gstatus));
        if (!strcmp(gstatus, "ABORTED") || !strcmp(gstatus, "UNAVAILABLE") ||
            !strcmp(gstatus, "DEADLINE_EXCEEDED"))
                return EV_ERR_TRANSIENT;
        return EV_ERR_PERMANENT;
}

enum ev_err ev_firestore_parse_commit(const char *body, size_t len,
                                      size_t writes, char *errstr,
                                      size_t errstr_size)
{
        json_t *root = json_loadb(body, len, 0, NULL);
        json_t *results = json_object_get(root, "writeResults"); /* borrowed */
        enum ev_err err = EV_OK;

        if (!json_is_array(results)) {
                snprintf(errstr, errstr_size,
                         "the commit answer is not Firestore's (no "
                         "writeResults array)");
                err = EV_ERR_PERMANENT;
        } else if (json_array_size(results) != writes) {
                snprintf(errstr, errstr_size,
                         "the commit answer has %zu write results for %zu "
                         "writes",
                         json_array_size(results), writes);
                err = EV_ERR_PERMANENT;
        }
        json_decref(root);
        return err;
}
