/*
 * Line reader for --input. Owns the FILE (unless it is stdin) and the
 * line buffer that getline grows.
 */
#include "input.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct ev_input {
        FILE *fp;
        const char *path; /* borrowed, for error messages */
        char *buf;
        size_t size;
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
        in->fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
        if (!in->fp) {
                snprintf(errstr, errstr_size, "cannot open %s: %s", path,
                         strerror(errno));
                free(in);
                return NULL;
        }
        return in;
}

enum ev_err ev_input_next(struct ev_input *in, const char **line, size_t *len,
                          bool *done, char *errstr, size_t errstr_size)
{
        ssize_t n = getline(&in->buf, &in->size, in->fp);

        if (n < 0) {
                if (ferror(in->fp)) {
                        snprintf(errstr, errstr_size, "reading %s: %s",
                                 in->path, strerror(errno));
                        return EV_ERR_IO;
                }
                *done = true;
                return EV_OK;
        }
        if (n > 0 && in->buf[n - 1] == '\n')
                n--;
        *line = in->buf;
        *len = (size_t)n;
        *done = false;
        return EV_OK;
}

void ev_input_destroy(struct ev_input *in)
{
        if (!in)
                return;
        if (in->fp != stdin)
                fclose(in->fp);
        free(in->buf);
        free(in);
}
