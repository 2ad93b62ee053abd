/*
 * Line reader for --input, on the file descriptor itself rather than
 * stdio, so that it can say whether a line is ready without blocking: a
 * producer fed by a quiet pipe (tail -f app.log | event-producer -i -) must
 * keep serving delivery reports and its health meanwhile. Owns the
 * descriptor (unless it is stdin) and the buffer.
 */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The first read size; the buffer doubles for longer lines. */
#define INPUT_CHUNK 65536

struct ev_input {
        int fd;
        const char *path; /* borrowed, for error messages */
        char *buf;
        size_t cap;
        size_t start, end; /* the unread bytes are buf[start..end) */
        bool eof;
        int error; /* errno of a failed read, reported by next */
};

struct ev_input *ev_input_new(const char *path, char *errstr,
                              size_t errstr_size)
{
        struct ev_input *in = calloc(1, sizeof(*in));

        if (!in) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        in->path = path;
        in->fd =
            strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
        if (in->fd < 0) {
                snprintf(errstr, errstr_size, "cannot open %s: %s", path,
                         strerror(errno));
                free(in);
                return NULL;
        }
        return in;
}

/* True when a whole line, the end of the input or an error is buffered. */
static bool line_buffered(const struct ev_input *in)
{
        return in->eof || in->error ||
               memchr(in->buf + in->start, '\n', in->end - in->start);
}

/* One read(2) into the buffer, after making room; sets eof or error. */
static void fill(struct ev_input *in)
{
        ssize_t n;

        if (in->start > 0) {
                memmove(in->buf, in->buf + in->start, in->end - in->start);
                in->end -= in->start;
                in->start = 0;
        }
        if (in->end == in->cap) {
                size_t cap = in->cap ? in->cap * 2 : INPUT_CHUNK;
                char *grown = realloc(in->buf, cap);

                if (!grown) {
                        in->error = ENOMEM;
                        return;
                }
                in->buf = grown;
                in->cap = cap;
        }
        do
                n = read(in->fd, in->buf + in->end, in->cap - in->end);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                in->error = errno;
        else if (n == 0)
                in->eof = true;
        else
                in->end += (size_t)n;
}

bool ev_input_ready(struct ev_input *in, int timeout_ms)
{
        struct pollfd pfd = {.fd = in->fd, .events = POLLIN};

        if (in->buf && line_buffered(in))
                return true;
        /* Readable (or hung up, or failed): read what is there. A
         * regular file always is. */
        if (poll(&pfd, 1, timeout_ms) > 0)
                fill(in);
        return in->buf && line_buffered(in);
}

enum ev_err ev_input_next(struct ev_input *in, const char **line, size_t *len,
                          bool *done, char *errstr, size_t errstr_size)
{
        char *nl;

        while (!in->buf || !line_buffered(in))
                fill(in);
        nl = memchr(in->buf + in->start, '\n', in->end - in->start);
        if (!nl && in->error) {
                snprintf(errstr, errstr_size, "reading %s: %s", in->path,
                         strerror(in->error));
                return EV_ERR_IO;
        }
        *done = !nl && in->start == in->end;
        if (*done)
                return EV_OK;
        /* The last line may have no newline. */
        *line = in->buf + in->start;
        *len = nl ? (size_t)(nl - *line) : in->end - in->start;
        in->start += *len + (nl != NULL);
        return EV_OK;
}

void ev_input_destroy(struct ev_input *in)
{
        if (!in)
                return;
        if (in->fd != STDIN_FILENO)
                close(in->fd);
        free(in->buf);
        free(in);
}
