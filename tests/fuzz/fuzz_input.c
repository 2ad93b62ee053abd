/*
 * libFuzzer target: producer/input.c's line reader on a file holding the
 * input. The lines it returns, each followed by '\n', must give back the
 * input exactly (plus the '\n' a last line without one lacks): nothing
 * lost, nothing added, NUL and CR bytes kept.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "input.h"

/* One unlinked temporary file, rewritten for each input and opened anew
 * by name (/dev/fd/N) by ev_input_new. */
static FILE *tmp;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        (void)argc;
        (void)argv;
        tmp = tmpfile();
        if (!tmp)
                abort();
        snprintf(path, sizeof(path), "/dev/fd/%d", fileno(tmp));
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        int fd = fileno(tmp);
        struct ev_input *in;
        char errstr[256];
        char *back = malloc(size + 1);
        size_t o = 0;
        bool done = false;

        if (!back)
                abort();
        if (ftruncate(fd, 0) ||
            (size && pwrite(fd, data, size, 0) != (ssize_t)size))
                abort();
        in = ev_input_new(path, errstr, sizeof(errstr));
        if (!in)
                fuzz_fail("ev_input_new: %s", errstr);
        for (;;) {
                const char *line;
                size_t len;

                if (ev_input_next(in, &line, &len, &done, errstr,
                                  sizeof(errstr)))
                        fuzz_fail("ev_input_next: %s", errstr);
                if (done)
                        break;
                if (memchr(line, '\n', len))
                        fuzz_fail("a line holds a newline");
                if (o + len + 1 > size + 1)
                        fuzz_fail("the lines are longer than the input");
                memcpy(back + o, line, len);
                o += len;
                back[o++] = '\n';
        }
        ev_input_destroy(in);
        /* The file's last line may lack its '\n'. */
        if (size && data[size - 1] != '\n' ? o != size + 1 : o != size)
                fuzz_fail("%zu bytes of lines for a %zu-byte input", o, size);
        if (memcmp(back, data, size))
                fuzz_fail("the lines differ from the input");
        free(back);
        return 0;
}
