/*
 * PII redaction for event-consumer's --redact: phone numbers and e-mail
 * addresses, found with PCRE2 (JIT-compiled) and replaced by "[REDACTED]",
 * in one string or in every string value of an event. What the patterns
 * catch and miss is documented in redact.c and the README ("Redaction").
 *
 * A redactor holds one match data block and two output buffers, so it must
 * be used by one thread at a time: one redactor per thread.
 */
#ifndef EV_REDACT_H
#define EV_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "err.h"

/* What every match becomes. */
#define EV_REDACT_REPLACEMENT "[REDACTED]"

struct ev_redactor;

/*
 * A redactor for what, a non-zero set of enum ev_config_redact bits.
 * Returns it (the caller frees it with ev_redactor_free), or NULL with *err
 * and errstr set: EV_ERR_NOMEM, or EV_ERR_CONFIG when the PCRE2 library
 * cannot compile the patterns (built without Unicode support, say). A
 * PCRE2 without JIT support is used as it is, only slower.
 */
struct ev_redactor *ev_redactor_new(unsigned what, enum ev_err *err,
                                    char *errstr, size_t errstr_size);

/* Frees r (NULL is a no-op). */
void ev_redactor_free(struct ev_redactor *r);

/*
 * Redacts the len bytes at s (borrowed; any bytes, NULs and invalid UTF-8
 * included, which are kept as they are). On EV_OK, *changed says whether
 * anything matched, and *out and *out_len give the result: s itself when
 * nothing matched, else text in r's own buffer, NUL-terminated, valid until
 * the next call on r (copy it to keep it). s must not point into that
 * buffer. EV_ERR_NOMEM when the buffer cannot grow.
 *
 * Nothing is allocated when nothing matches. Should PCRE2 fail on the text
 * (a resource limit), the whole of it is replaced: it fails closed.
 */
enum ev_err ev_redact_string(struct ev_redactor *r, const char *s, size_t len,
                             bool *changed, const char **out, size_t *out_len);

/*
 * Redacts, in place, every string value of the event root, a JSON object
 * (recursively through objects and arrays; anything else is left alone), except
 * the top-level string members that the pipeline and the sinks identify, route
 * or date an event by: "timestamp", "event_time", "event_id", "tenant_id",
 * "log_id" and "source". Object keys never change. A changed string is replaced
 * by a new json_t, so references taken to the old one stay intact.
 *
 * On EV_OK, *changed says whether anything was replaced; when it was,
 * *original is a new reference to root's "message" string as it was before
 * (NULL when root has no string "message"), for the caller to json_decref;
 * otherwise *original is NULL. Nothing is allocated when nothing matches.
 * On failure (EV_ERR_NOMEM, errstr set) root may be partly redacted and
 * *original is NULL.
 */
enum ev_err ev_redact_event(struct ev_redactor *r, json_t *root, bool *changed,
                            json_t **original, char *errstr,
                            size_t errstr_size);

#endif
