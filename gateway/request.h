/*
 * What event-gateway makes of one POST /ingest: the body's type, the
 * tenant and log id rules, the event it publishes, and the bodies it
 * answers with. Pure: no I/O, no clock and no randomness of its own (the
 * caller passes the time of receipt and the random bytes), so that every
 * rule is tested without a server.
 */
#ifndef EV_GATEWAY_REQUEST_H
#define EV_GATEWAY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firestore_api.h"

/* Longest tenant id and log id, in bytes: ids name Firestore documents,
 * so their rules are firestore_api.h's (ev_firestore_valid_tenant and
 * ev_firestore_valid_log_id), shared with the sink. */
#define EV_REQUEST_TENANT_MAX EV_FIRESTORE_MAX_TENANT
#define EV_REQUEST_LOG_ID_MAX EV_FIRESTORE_MAX_LOG_ID
/* Random bytes a generated log id (a UUID v4) takes. */
#define EV_REQUEST_RANDOM_BYTES 16
/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" and its NUL. */
#define EV_REQUEST_UUID_SIZE 37
/* A 202's message_id and its NUL: "<topic>/<partition>/<offset>" (a
 * Kafka topic name is at most 249 bytes) or a Pub/Sub message id. */
#define EV_REQUEST_MESSAGE_ID_SIZE 300

enum ev_request_type {
        EV_REQUEST_OTHER, /* anything else: 415 */
        EV_REQUEST_JSON,  /* application/json */
        EV_REQUEST_TEXT,  /* text/plain */
};

/* Why a request is not accepted. Each has one HTTP status and one "error"
 * word (ev_request_status, ev_request_code). */
enum ev_request_error {
        EV_REQUEST_OK = 0,
        EV_REQUEST_NOT_FOUND,       /* 404 not_found */
        EV_REQUEST_METHOD,          /* 405 method_not_allowed */
        EV_REQUEST_UNAUTHORIZED,    /* 401 unauthorized */
        EV_REQUEST_FORBIDDEN,       /* 403 forbidden: another tenant's key */
        EV_REQUEST_MEDIA_TYPE,      /* 415 unsupported_media_type */
        EV_REQUEST_TOO_LARGE,       /* 413 payload_too_large */
        EV_REQUEST_BAD_JSON,        /* 400 invalid_json (or empty) */
        EV_REQUEST_NOT_OBJECT,      /* 400 not_an_object */
        EV_REQUEST_BAD_TEXT,        /* 400 invalid_text */
        EV_REQUEST_NO_TENANT,       /* 400 missing_tenant */
        EV_REQUEST_BAD_TENANT,      /* 400 invalid_tenant */
        EV_REQUEST_TENANT_MISMATCH, /* 400 tenant_mismatch: body vs header */
        EV_REQUEST_BAD_LOG_ID,      /* 400 invalid_log_id */
        EV_REQUEST_BAD_EVENT,       /* 400 invalid_event: level, timestamp */
        EV_REQUEST_PUBLISH_FAILED,  /* 503 publish_failed: not confirmed */
        EV_REQUEST_STOPPING,        /* 503 unavailable: shutting down */
        EV_REQUEST_INTERNAL,        /* 500 internal_error: out of memory */
        EV_REQUEST__CNT,
};

/* One request, everything borrowed. */
struct ev_request {
        enum ev_request_type type; /* JSON or TEXT */
        const char *body;          /* len bytes, not NUL-terminated */
        size_t len;
        const char *tenant_header;   /* X-Tenant-ID; NULL when absent */
        const char *log_id_header;   /* X-Log-ID; NULL when absent */
        const char *key_tenant;      /* the API key's tenant; NULL: no keys */
        int64_t received_ms;         /* time of receipt, ms since the epoch */
        const unsigned char *random; /* EV_REQUEST_RANDOM_BYTES, for a
                                      * generated log id */
        size_t max_bytes;            /* the largest event to publish */
};

/* The event a request becomes. */
struct ev_request_event {
        char *payload; /* JSON text, payload_len bytes and a NUL; free() */
        size_t payload_len;
        char tenant_id[EV_REQUEST_TENANT_MAX + 1];
        char log_id[EV_REQUEST_LOG_ID_MAX + 1];
};

/*
 * The type of a Content-Type value: application/json or text/plain in
 * any case, with or without parameters ("text/plain; charset=utf-8").
 * EV_REQUEST_OTHER for anything else, and for NULL.
 */
enum ev_request_type ev_request_type(const char *content_type);

/* ev_firestore_valid_tenant's and ev_firestore_valid_log_id's rules, in
 * messages. */
#define EV_REQUEST_TENANT_RULE "1 to 64 of A-Z a-z 0-9 _ -, not __*__"
#define EV_REQUEST_LOG_ID_RULE                                                 \
        "1 to 128 of A-Z a-z 0-9 _ . : -, not . or .. or __*__"

/* Writes the UUID v4 that the EV_REQUEST_RANDOM_BYTES at random make,
 * lowercase, into out (EV_REQUEST_UUID_SIZE bytes). */
void ev_request_uuid4(const unsigned char *random, char *out);

/* The token of an Authorization value "Bearer TOKEN" (the scheme in any
 * case): *token points into authorization, *len is its length. False when
 * authorization is NULL, another scheme, or has no token. */
bool ev_request_bearer(const char *authorization, const char **token,
                       size_t *len);

/*
 * Builds the event req publishes: its text as "message" (a JSON body's
 * "text" renamed), the time of receipt as "timestamp", "service_name"
 * event-gateway, "level" INFO, then "tenant_id", "log_id" (a UUID v4 when
 * absent) and "source" (json_upload, text_upload), each only when the body
 * has none; every other member of a JSON body is kept. The tenant is the
 * body's tenant_id, else X-Tenant-ID, else the key's; a key's tenant must
 * be it. The result passes ev_event_validate with the schema, at most
 * req->max_bytes long.
 *
 * EV_REQUEST_OK: out is filled and the caller frees out->payload.
 * Otherwise out->payload is NULL and detail holds one line for the client
 * (the tenant may be named, never the key).
 */
enum ev_request_error ev_request_build(const struct ev_request *req,
                                       struct ev_request_event *out,
                                       char *detail, size_t detail_size);

/* The HTTP status of err (202 for EV_REQUEST_OK). */
unsigned ev_request_status(enum ev_request_error err);

/* The "error" word of err ("invalid_json"; "accepted" for EV_REQUEST_OK).
 * Static string. */
const char *ev_request_code(enum ev_request_error err);

/* {"error":CODE,"detail":DETAIL}, detail escaped to one printable line
 * (ev_escape), in a new NUL-terminated buffer the caller frees; *len is
 * its length. NULL when out of memory. */
char *ev_request_error_body(enum ev_request_error err, const char *detail,
                            size_t *len);

/* {"status":"accepted","tenant_id":..,"log_id":..,"message_id":..} for ev,
 * in a new buffer as ev_request_error_body. */
char *ev_request_accepted_body(const struct ev_request_event *ev,
                               const char *message_id, size_t *len);

/* The message_id of a confirmed delivery, from its ev_delivery.where:
 * "message_id=ID" (Pub/Sub) gives ID, "partition=P offset=O" (Kafka)
 * gives "<topic>/P/O". False when where is neither, or buf is too small. */
bool ev_request_message_id(const char *where, const char *topic, char *buf,
                           size_t size);

#endif
