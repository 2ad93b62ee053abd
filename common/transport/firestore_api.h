/*
 * Cloud Firestore REST v1, the pure part: document names and ids, events
 * encoded as documents of Firestore Values, commit bodies, and the reading
 * of commit answers. No I/O and no global state, so every function is
 * unit-tested without a network; firestore_client.c does the requests.
 *
 * Reference: https://cloud.google.com/firestore/docs/reference/rest
 * (projects.databases.documents.commit, Value, Write) and the limits at
 * https://cloud.google.com/firestore/quotas.
 */
#ifndef EV_FIRESTORE_API_H
#define EV_FIRESTORE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "pubsub_api.h"

/* The OAuth scope of the Firestore API. */
#define EV_FIRESTORE_SCOPE "https://www.googleapis.com/auth/datastore"
/* Writes per :commit (the service's long-standing limit). */
#define EV_FIRESTORE_MAX_WRITES 500
/* The service's limit on one request's size. */
#define EV_FIRESTORE_MAX_REQUEST_BYTES ((size_t)10 << 20)
/* The service's limit on one document's storage size. */
#define EV_FIRESTORE_MAX_DOC_BYTES ((size_t)1 << 20)
/* The service's limit on one value (1 MiB - 89), which a string's bytes
 * must stay within. */
#define EV_FIRESTORE_MAX_STRING ((size_t)1048487)
/* Maps and arrays nested in one another in a document. */
#define EV_FIRESTORE_MAX_DEPTH 20
/* The longest field name the service takes, in bytes. */
#define EV_FIRESTORE_MAX_FIELD_NAME 1500
/* The rules of the gateway's ids, which name documents: a tenant id is
 * 1 to 64 of [A-Za-z0-9_-], a log id 1 to 128 of [A-Za-z0-9_.:-], neither
 * "." nor "..", and neither __.*__ (ids the service keeps). */
#define EV_FIRESTORE_MAX_TENANT 64
#define EV_FIRESTORE_MAX_LOG_ID 128
/* Room for a document id made from a source location. */
#define EV_FIRESTORE_ID_SIZE 600

/* What the gateway accepts as a tenant id and a log id (see above); ids
 * of other producers must follow the same rules to name a document. */
bool ev_firestore_valid_tenant(const char *s, size_t len);
bool ev_firestore_valid_log_id(const char *s, size_t len);

/* True when db is a Firestore database id: "(default)", or 4 to 63 of
 * [a-z0-9-], starting with a letter, not ending with '-'. */
bool ev_firestore_valid_database(const char *db);

/* Where a message came from: Kafka's topic, partition and offset, or
 * Pub/Sub's subscription and message id. Strings borrowed; a NULL one is
 * left out of source_location. */
struct ev_firestore_origin {
        const char *transport;    /* "kafka" or "pubsub" */
        const char *topic;        /* Kafka; NULL on Pub/Sub */
        long long partition;      /* Kafka */
        long long offset;         /* Kafka */
        const char *subscription; /* Pub/Sub; NULL on Kafka */
        const char *message_id;   /* Pub/Sub */
};

/*
 * The document id of an event without a log_id, from where its message
 * came from: "kafka:TOPIC:PARTITION:OFFSET" or "pubsub:SUBSCRIPTION:ID"
 * (':' is in neither a topic nor a subscription id, and no id has '/').
 * The same message delivered again gets the same id. Writes it into buf
 * (EV_FIRESTORE_ID_SIZE bytes); false when it does not fit, or when the
 * origin has neither topic nor subscription.
 */
bool ev_firestore_origin_id(const struct ev_firestore_origin *o, char *buf,
                            size_t size);

/* One event to write as a document. Everything borrowed. */
struct ev_firestore_event {
        json_t *root;     /* the valid event (redacted with --redact) */
        json_t *original; /* its "message" as received; NULL: root's */
        struct ev_firestore_origin origin;
};

/* One write appended to a body of writes: its bytes, and those of its
 * document's name, as offsets into that body. */
struct ev_firestore_span {
        size_t off, len;
        size_t name_off, name_len;
};

/*
 * Appends to b one Write of a commit, without separator:
 *   {"update":{"name":"DATABASE/documents/tenants/T/processed_logs/ID",
 *    "fields":{...}}}
 * database is "projects/P/databases/D". T is the event's tenant_id, or
 * default_tenant when it has none; ID its log_id, or
 * ev_firestore_origin_id when it has none. The fields:
 *   source          the event's "source" when a string, else "event"
 *   original_text   ev->original, else the event's "message" (absent when
 *                   neither is there)
 *   modified_data   the event's "message" (absent when not there)
 *   processed_at    timestampValue of processed_at_ms
 *   source_location mapValue {transport, topic, partition, offset} or
 *                   {transport, subscription, message_id}
 * and each other member of the event but "message" (the names above win).
 * Values: strings as stringValue, integers as integerValue (a decimal
 * string), reals as doubleValue, true/false as booleanValue, null as
 * nullValue, objects as mapValue, arrays as arrayValue; an array directly
 * inside an array, which Firestore cannot hold, as a mapValue keyed "0",
 * "1", ...
 *
 * EV_ERR_PERMANENT, with errstr saying why and b as it was, when the event
 * cannot be a document: a tenant_id or log_id that is not a string
 * following the rules above, or one the service would refuse (a field
 * name that is empty, longer than EV_FIRESTORE_MAX_FIELD_NAME or of the
 * form __name__, more than EV_FIRESTORE_MAX_DEPTH maps and arrays nested,
 * a string over EV_FIRESTORE_MAX_STRING bytes, a document over
 * EV_FIRESTORE_MAX_DOC_BYTES by the service's storage-size rules, a write
 * too large for a request). Ids and names are quoted in errstr escaped and
 * cut short. EV_ERR_NOMEM, b as it was. On success *span tells where the
 * write is in b.
 */
enum ev_err ev_firestore_add_write(
    struct ev_pubsub_body *b, const char *database, const char *default_tenant,
    const struct ev_firestore_event *ev, int64_t processed_at_ms,
    struct ev_firestore_span *span, char *errstr, size_t errstr_size);

/*
 * Drops from w[0..cnt) each write that a later write in w to the same
 * document replaces (the later message wins, as it would in order), and
 * keeps the order of the rest. Names are compared in body, the body the
 * spans point into. Returns the new count.
 */
size_t ev_firestore_dedupe(const struct ev_pubsub_body *body,
                           struct ev_firestore_span *w, size_t cnt);

/*
 * Writes into out (reset first) the commit body {"writes":[...]} of the
 * first writes of w[0..cnt) that one request takes: at most
 * EV_FIRESTORE_MAX_WRITES, within EV_FIRESTORE_MAX_REQUEST_BYTES, and
 * always at least one. writes is the body the spans point into. Returns
 * how many it took; 0 when cnt is 0 or out of memory.
 */
size_t ev_firestore_commit_body(struct ev_pubsub_body *out,
                                const struct ev_pubsub_body *writes,
                                const struct ev_firestore_span *w, size_t cnt);

/*
 * What a commit request's outcome means, for ev_gapi's classify:
 * transport_err is what ev_http_finish returned (EV_OK when an answer
 * arrived), status and body[0..len) the answer. EV_OK for 2xx;
 * EV_ERR_TRANSIENT for no answer, 408, 429, 499, 5xx, and an error body
 * whose status is ABORTED (contention), UNAVAILABLE or DEADLINE_EXCEEDED,
 * whatever the HTTP status; EV_ERR_PERMANENT otherwise.
 */
enum ev_err ev_firestore_classify(enum ev_err transport_err, long status,
                                  const char *body, size_t len);

/*
 * Reads a 2xx commit answer {"writeResults":[...],"commitTime":"..."}:
 * EV_OK when it is a JSON object with one write result for each of the
 * writes sent; EV_ERR_PERMANENT with errstr otherwise (not Firestore's
 * answer: what was committed is unknown, and retrying would not tell).
 */
enum ev_err ev_firestore_parse_commit(const char *body, size_t len,
                                      size_t writes, char *errstr,
                                      size_t errstr_size);

#endif
