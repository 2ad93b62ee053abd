/*
 * Test support: capture what a piece of code writes to fd 2 (stderr), by
 * pointing fd 2 at a temporary file for a while. Fails the running cmocka
 * test if the redirection itself fails.
 */
#ifndef EV_TEST_CAPTURE_H
#define EV_TEST_CAPTURE_H

#include <stddef.h>
#include <stdio.h>

struct capture {
        FILE *fp;  /* the temporary file fd 2 points to */
        int saved; /* the real fd 2 */
};

/* Points fd 2 at a new temporary file. */
void capture_start(struct capture *cap);

/* Restores fd 2 and copies what was written to it into buf, NUL-terminated
 * and cut to size - 1 bytes; returns the number of bytes copied. */
size_t capture_end(struct capture *cap, char *buf, size_t size);

#endif
