/*
 * Picks the transport a configuration names. The one place that knows
 * every transport, so that the binaries' main() knows none; also what the
 * transports share.
 */
#include "transport.h"

#include <stdarg.h>
#include <stdio.h>

#include <jansson.h>

#include "kafka.h"
#include "pubsub.h"

struct ev_source *ev_source_new(const struct ev_config *cfg, enum ev_err *err,
                                char *errstr, size_t errstr_size)
{
        if (cfg->transport == EV_TRANSPORT_PUBSUB)
                return ev_pubsub_source_new(cfg, err, errstr, errstr_size);
        return ev_kafka_source_new(cfg, err, errstr, errstr_size);
}

struct ev_publisher *ev_publisher_new(const struct ev_config *cfg,
                                      ev_delivery_cb dr_cb, void *opaque,
                                      enum ev_err *err, char *errstr,
                                      size_t errstr_size)
{
        if (cfg->transport == EV_TRANSPORT_PUBSUB)
                return ev_pubsub_publisher_new(cfg, dr_cb, opaque, err, errstr,
                                               errstr_size);
        return ev_kafka_publisher_new(cfg, dr_cb, opaque, err, errstr,
                                      errstr_size);
}

void ev_transport_versions(char *buf, size_t size)
{
        snprintf(buf, size, "librdkafka %s, libcurl %s, jansson %s",
                 ev_kafka_version(), ev_pubsub_version(), JANSSON_VERSION);
}

size_t ev_origin_add(struct ev_header *hdrs, size_t n, const char *name,
                     char *buf, size_t size, size_t *off, const char *fmt, ...)
{
        va_list ap;
        int len;

        if (*off >= size)
                return n;
        va_start(ap, fmt);
        len = vsnprintf(buf + *off, size - *off, fmt, ap);
        va_end(ap);
        if (len < 0 || (size_t)len >= size - *off)
                return n;
        hdrs[n].name = name;
        hdrs[n].value = buf + *off;
        hdrs[n].len = (size_t)len;
        *off += (size_t)len + 1;
        return n + 1;
}
