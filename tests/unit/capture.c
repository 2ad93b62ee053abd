/*
 * fd 2 capture for the unit tests. Owns the temporary file between
 * capture_start() and capture_end().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>

#include "capture.h"

void capture_start(struct capture *cap)
{
        fflush(stderr);
        cap->fp = tmpfile();
        assert_non_null(cap->fp);
        cap->saved = dup(STDERR_FILENO);
        assert_true(cap->saved >= 0);
        assert_true(dup2(fileno(cap->fp), STDERR_FILENO) >= 0);
}

size_t capture_end(struct capture *cap, char *buf, size_t size)
{
        size_t n;
        int restored = dup2(cap->saved, STDERR_FILENO);

        close(cap->saved);
        assert_true(restored >= 0);
        rewind(cap->fp);
        n = fread(buf, 1, size - 1, cap->fp);
        buf[n] = '\0';
        fclose(cap->fp);
        return n;
}
