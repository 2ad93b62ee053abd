/*
 * The dead-letter topic: each toxic message republished byte for byte (key
 * and value), with headers saying why it was rejected and where it came
 * from. The pipeline acknowledges a batch only after ev_dlq_confirm says
 * the broker has every dead letter of it.
 */
#ifndef EV_DLQ_H
#define EV_DLQ_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "event.h"
#include "transport.h"

/* The most headers one dead letter carries. */
#define EV_DLQ_HEADERS_MAX (EV_ORIGIN_HEADERS_MAX + 5)
/* Room for their values. */
#define EV_DLQ_HEADER_BYTES 2048

struct ev_dlq;

/*
 * The headers of msg's dead letter, into hdrs (EV_DLQ_HEADERS_MAX) with
 * their values in buf (EV_DLQ_HEADER_BYTES): "error.reason" (the reason
 * code), "error.detail" (escaped to one printable line), "error.position"
 * ("line=L column=C position=P", for not_json only), "error.time" (now_ms,
 * RFC 3339), src's origin headers (transport.h) and "source.key" (when msg
 * has a key; its value is msg's). Returns how many. Pure but for src's
 * origin op.
 */
size_t ev_dlq_headers(const struct ev_verdict *v, const struct ev_source *src,
                      const struct ev_msg *msg, int64_t now_ms,
                      struct ev_header *hdrs, char *buf);

/*
 * A dead-letter publisher to cfg->dlq_topic, on cfg's transport (for
 * Pub/Sub, --create also creates the topic and a subscription of the same
 * name, without which the service would keep no dead letter). The topic
 * consumed (for Pub/Sub, cfg->pubsub_topic) is refused (EV_ERR_USAGE). cfg
 * is borrowed and must outlive the result. NULL with *err and errstr set on
 * failure.
 */
struct ev_dlq *ev_dlq_new(const struct ev_config *cfg, enum ev_err *err,
                          char *errstr, size_t errstr_size);

/*
 * Queues msg's dead letter. msg (which src handed out) is borrowed until
 * the next ev_dlq_confirm or ev_dlq_discard. Only a fatal publisher error
 * is returned (EV_ERR_FATAL, errstr set); any other failure is retried by
 * ev_dlq_confirm.
 */
enum ev_err ev_dlq_add(struct ev_dlq *d, const struct ev_source *src,
                       const struct ev_msg *msg, const struct ev_verdict *v,
                       char *errstr, size_t errstr_size);

/*
 * Waits until the broker has confirmed every dead letter queued since the
 * last confirm or discard, writing again, with growing pauses, those it
 * refused, and saying so on stderr. EV_OK when all are confirmed;
 * EV_ERR_TRANSIENT with errstr when they were not within cfg->dlq_timeout
 * of the first one's ev_dlq_add (or, after a stop request, within a few
 * seconds, nothing being written again). Either way the queued dead
 * letters are forgotten.
 */
enum ev_err ev_dlq_confirm(struct ev_dlq *d, char *errstr, size_t errstr_size);

/* Forgets the dead letters queued since the last confirm, when their batch
 * is released: those in flight may still be written, and are written
 * again when the batch comes back. */
void ev_dlq_discard(struct ev_dlq *d);

/* Dead letters confirmed so far. */
unsigned long ev_dlq_written(const struct ev_dlq *d);

/* Frees d (NULL is a no-op). Call it after confirm or discard: anything
 * still in flight is dropped. */
void ev_dlq_free(struct ev_dlq *d);

#endif
