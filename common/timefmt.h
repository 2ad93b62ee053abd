/*
 * Times as RFC 3339 text, for the timestamps event-ingest writes itself
 * (dead-letter headers). Pure.
 */
#ifndef EV_TIMEFMT_H
#define EV_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "2026-11-29T15:40:00.123Z" and its NUL. */
#define EV_TIMEFMT_SIZE 25

/* Writes unix_ms (milliseconds since the epoch, UTC) into buf as RFC 3339
 * with milliseconds. False when size is below EV_TIMEFMT_SIZE or the time
 * is outside years 0000 to 9999. */
bool ev_timefmt_rfc3339_ms(int64_t unix_ms, char *buf, size_t size);

/* The current time, in milliseconds since the epoch. */
int64_t ev_timefmt_now_ms(void);

#endif
