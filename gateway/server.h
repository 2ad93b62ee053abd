/*
 * event-gateway's HTTP side: POST /ingest beside /healthz, /readyz and
 * /metrics on one libmicrohttpd daemon (httpd.h). Each request is read up
 * to --max-body-bytes, checked (request.h, apikeys.h), suspended while the
 * relay publishes its event (relay.h), and answered from the broker's
 * delivery report: 202 only once the broker confirmed.
 */
#ifndef EV_GATEWAY_SERVER_H
#define EV_GATEWAY_SERVER_H

#include <stddef.h>

#include "apikeys.h"
#include "config.h"
#include "err.h"

struct ev_server;

/*
 * Makes the publisher of cfg and its relay, then listens on cfg->listen.
 * keys (NULL: no Authorization needed) and cfg are borrowed and must
 * outlive the server. Returns NULL with *err and errstr set on failure:
 * the publisher's error, EV_ERR_USAGE for a bad address, EV_ERR_IO when
 * it cannot listen.
 */
struct ev_server *ev_server_start(const struct ev_config *cfg,
                                  const struct ev_apikeys *keys,
                                  enum ev_err *err, char *errstr,
                                  size_t errstr_size);

/* The address it listens on, "HOST:PORT" with the real port, into buf. */
void ev_server_address(const struct ev_server *s, char *buf, size_t size);

/* EV_OK while it serves; EV_ERR_FATAL with errstr once its publisher has
 * failed for good (ev_relay_status). */
enum ev_err ev_server_status(struct ev_server *s, char *errstr,
                             size_t errstr_size);

/*
 * The graceful stop: not ready (/readyz), no new connections, every
 * request in flight answered (waiting up to cfg->publish_timeout for the
 * broker, then flushing for up to cfg->flush_timeout; requests that come
 * meanwhile get 503), then closes everything and frees s (NULL is a
 * no-op). Returns how many requests got 503 because the broker had not
 * confirmed them by then.
 */
size_t ev_server_stop(struct ev_server *s);

#endif
