/*
 * Google Cloud Pub/Sub REST v1, the pure part: resource names, request
 * bodies, response and error parsing, retry classification and backoff.
 * No I/O and no global state, so every function is unit-tested without a
 * network; pubsub.c does the requests.
 *
 * Reference: https://cloud.google.com/pubsub/docs/reference/rest
 */
#ifndef EV_PUBSUB_API_H
#define EV_PUBSUB_API_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "transport.h"

/* The service's limits on one publish request. */
#define EV_PUBSUB_MAX_BATCH_MSGS    1000
#define EV_PUBSUB_MAX_REQUEST_BYTES ((size_t)10 * 1000 * 1000)
/* Ack IDs per acknowledge or modifyAckDeadline request (Google's client
 * libraries use the same cap, well inside the 512 KB request limit). */
#define EV_PUBSUB_MAX_ACK_IDS 2500
/* The service accepts ack deadlines from 10 s to 600 s; 0 hands a message
 * back at once. */
#define EV_PUBSUB_MIN_ACK_DEADLINE 10
#define EV_PUBSUB_MAX_ACK_DEADLINE 600
/* The service's limits on one attribute, in bytes. */
#define EV_PUBSUB_MAX_ATTR_NAME  256
#define EV_PUBSUB_MAX_ATTR_VALUE 1024

/* A growing request body. Owned by its user: zero it to start, free it
 * with ev_pubsub_body_free; reset keeps the buffer for reuse. data is
 * NUL-terminated whenever len > 0. */
struct ev_pubsub_body {
        char *data;
        size_t len;
        size_t cap;
        size_t msgs; /* messages added to a publish body */
};

void ev_pubsub_body_reset(struct ev_pubsub_body *b);
void ev_pubsub_body_free(struct ev_pubsub_body *b);

/* For the other Google REST bodies built in these buffers (Firestore's):
 * appends s[0..n) as is, or as a JSON string (quoted and escaped).
 * EV_ERR_NOMEM, or for a string that is not valid UTF-8 EV_ERR_PERMANENT;
 * b is as it was on failure. */
enum ev_err ev_pubsub_body_append(struct ev_pubsub_body *b, const char *s,
                                  size_t n);
enum ev_err ev_pubsub_body_append_string(struct ev_pubsub_body *b,
                                         const char *s, size_t n);

/*
 * True when id is a valid topic or subscription id: 3 to 255 characters of
 * A-Z a-z 0-9 - _ . ~ + %, starting with a letter, not starting with
 * "goog". A project id is checked by ev_pubsub_valid_project: 6 to 30
 * characters of a-z 0-9 -, starting with a letter, not ending with '-'
 * (also accepting the legacy "domain.com:project" form).
 */
bool ev_pubsub_valid_id(const char *id);
bool ev_pubsub_valid_project(const char *project);

/*
 * Publish bodies: {"messages":[{"data":"BASE64","attributes":{"key":"K",
 * "NAME":"VALUE",...},"orderingKey":"O"}, ...]}. "attributes" appears only
 * when key is not NULL or attr_cnt > 0, "orderingKey" only when
 * ordering_key is not NULL.
 *
 * ev_pubsub_publish_cost is an upper bound of the bytes one message adds
 * (the caller keeps a request within EV_PUBSUB_MAX_REQUEST_BYTES).
 * ev_pubsub_publish_add appends one message (starting the body when b is
 * empty); ev_pubsub_publish_finish closes it. add fails with
 * EV_ERR_PERMANENT when the message has neither data nor attributes (the
 * service refuses it), when key, ordering_key or an attribute is not valid
 * UTF-8, or when an attribute is over the service's limits, leaving b as
 * it was; EV_ERR_NOMEM when out of memory. attrs is borrowed for the call.
 */
size_t ev_pubsub_publish_cost(size_t len, size_t key_len, size_t okey_len,
                              const struct ev_header *attrs, size_t attr_cnt);
enum ev_err ev_pubsub_publish_add(struct ev_pubsub_body *b, const char *data,
                                  size_t len, const char *key, size_t key_len,
                                  const char *ordering_key, size_t okey_len,
                                  const struct ev_header *attrs,
                                  size_t attr_cnt, char *errstr,
                                  size_t errstr_size);
enum ev_err ev_pubsub_publish_finish(struct ev_pubsub_body *b);

/*
 * Reads a publish answer {"messageIds":["1","2",...]} for a request of
 * expected messages: fills ids[0..expected) with pointers into *json, a new
 * jansson reference the caller releases with json_decref (declared here as
 * void * to keep jansson out of this header's users). EV_ERR_PERMANENT
 * with errstr when the body is not JSON or holds another number of ids.
 */
enum ev_err ev_pubsub_parse_publish(const char *body, size_t len,
                                    size_t expected, const char **ids,
                                    void **json, char *errstr,
                                    size_t errstr_size);

/* {"maxMessages":N,"returnImmediately":true}, written into buf
 * (NUL-terminated; 64 bytes always suffice). Returns the length.
 *
 * A pull that waits for messages (returnImmediately false) and is then
 * cut off, when the consumer stops, still takes messages: the service and
 * the emulator hand them to the pull whose client has gone, and they come
 * back only after their ack deadline. So pulls return at once, and the
 * caller backs off when they come back empty. */
size_t ev_pubsub_pull_body(char *buf, size_t size, unsigned long max_messages);

/* One message of a pull answer. Every pointer points into the array
 * ev_pubsub_parse_pull returns: the array and all its strings are one
 * allocation, freed together. */
struct ev_pubsub_received {
        char *ack_id;
        char *message_id;
        char *data; /* decoded; NUL-terminated; "" when the message had none */
        size_t len;
        char *key; /* the "key" attribute, NULL when absent */
        size_t key_len;
        char *publish_time;    /* as the service wrote it; NULL when absent */
        long delivery_attempt; /* 0 when the subscription does not count */
};

/*
 * Reads a pull answer {"receivedMessages":[{"ackId":..,"message":{"data":..,
 * "attributes":{..},"messageId":..,"publishTime":..},"deliveryAttempt":N},
 * ...]} ({} when there is nothing) into a new array *msgs of *cnt entries.
 * An entry without ackId cannot be acknowledged and is left out (counted in
 * *skipped); an entry whose data is not valid base64 keeps the data as it
 * arrived, so that the validator reports it and it is acknowledged rather
 * than redelivered forever; a missing messageId becomes "". A body that is
 * not a JSON object or whose receivedMessages is not an array (a truncated
 * answer, say) is EV_ERR_TRANSIENT with errstr: the messages in it come
 * back after their ack deadline. Free the whole answer, array and strings,
 * with ev_pubsub_received_free (cnt is kept for the contract's symmetry).
 */
enum ev_err ev_pubsub_parse_pull(const char *body, size_t len,
                                 struct ev_pubsub_received **msgs, size_t *cnt,
                                 size_t *skipped, char *errstr,
                                 size_t errstr_size);
void ev_pubsub_received_free(struct ev_pubsub_received *msgs, size_t cnt);

/*
 * {"ackIds":[...]} for acknowledge (deadline_s < 0), or {"ackIds":[...],
 * "ackDeadlineSeconds":D} for modifyAckDeadline (deadline_s >= 0), into b
 * (reset first). cnt is at most EV_PUBSUB_MAX_ACK_IDS.
 */
enum ev_err ev_pubsub_ack_body(struct ev_pubsub_body *b,
                               const char *const *ack_ids, size_t cnt,
                               int deadline_s);

/* {"topic":"projects/P/topics/T","ackDeadlineSeconds":D} plus
 * "enableMessageOrdering":true when ordering, for creating a subscription,
 * into b (reset first). */
enum ev_err ev_pubsub_subscription_body(struct ev_pubsub_body *b,
                                        const char *project, const char *topic,
                                        int ack_deadline_s, bool ordering);

/*
 * One line for a failed request: "HTTP 404 NOT_FOUND: Subscription does
 * not exist" from a Google error body {"error":{"code":..,"message":..,
 * "status":..}}, or "HTTP 502: " and the body's first 200 bytes otherwise
 * (just "HTTP 502" when empty). Escaped (ev_escape) and bounded by size;
 * always NUL-terminated.
 */
void ev_pubsub_error_text(long status, const char *body, size_t len, char *buf,
                          size_t size);

/* The google.rpc status of an error body ("ALREADY_EXISTS", "NOT_FOUND"),
 * copied into buf; "" when there is none. */
void ev_pubsub_error_status(const char *body, size_t len, char *buf,
                            size_t size);

/*
 * What a request's outcome means: transport_err is what ev_http_finish
 * returned (EV_OK when an answer arrived), status its HTTP status.
 * EV_OK for 2xx; EV_ERR_TRANSIENT for no answer, 408, 429, 499 and 5xx
 * (retry with backoff); EV_ERR_PERMANENT for every other status (our
 * request or the resource is wrong: retrying cannot help).
 */
enum ev_err ev_pubsub_classify(enum ev_err transport_err, long status);

/*
 * Seconds to wait before retry number attempt (0 for the first retry):
 * 0.1 s doubled per attempt, capped at 10 s, scaled by (0.5 + jitter / 2)
 * so that clients that failed together do not retry together. jitter is
 * uniform in [0, 1).
 */
double ev_pubsub_backoff(unsigned attempt, double jitter);

#endif
