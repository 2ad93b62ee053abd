/*
 * Lines from a file or stdin, one message each, as kcat -P reads them.
 */
#ifndef EV_INPUT_H
#define EV_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct ev_input;

/* Opens path ("-" for stdin). path is borrowed and must outlive the
 * reader (error messages name it). Returns NULL with errstr set on
 * failure. */
struct ev_input *ev_input_new(const char *path, char *errstr,
                              size_t errstr_size);

/*
 * Reads the next line, without its trailing '\n' (the last line may have
 * none); it may hold any other byte, NUL included. Blocks until one is
 * there: see ev_input_ready. *line points into in and stays valid until the
 * next call. Returns EV_OK with *done false for a line, *done true at the end,
 * EV_ERR_IO with errstr set on a read error.
 */
enum ev_err ev_input_next(struct ev_input *in, const char **line, size_t *len,
                          bool *done, char *errstr, size_t errstr_size);

/* Waits up to timeout_ms (0: not at all) for a line, the end of the
 * input or a read error: true when ev_input_next will then not block. */
bool ev_input_ready(struct ev_input *in, int timeout_ms);

/* Closes the file (not stdin) and frees in. NULL is a no-op. */
void ev_input_destroy(struct ev_input *in);

#endif
