/*
 * The seed scenario: realistic valid log events, then malformed payloads.
 */
#ifndef EV_GENERATOR_H
#define EV_GENERATOR_H

#include <stdbool.h>
#include <stddef.h>

struct ev_generator {
        unsigned long count;     /* valid events to make */
        unsigned long malformed; /* malformed payloads after them */
        unsigned long next;
        char buf[512];
};

void ev_generator_init(struct ev_generator *gen, unsigned long count,
                       unsigned long malformed);

/*
 * Makes the next message. Valid events are keyed by their service_name;
 * malformed payloads have no key (*key NULL). *payload and *key point into
 * gen or static storage and stay valid until the next call. Returns false
 * when all count + malformed messages have been made.
 */
bool ev_generator_next(struct ev_generator *gen, const char **payload,
                       size_t *len, const char **key, size_t *key_len);

/* The number of distinct malformed payloads, which repeat in order. */
size_t ev_generator_malformed_kinds(void);

#endif
