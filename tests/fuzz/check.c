/*
 * Property checks shared by the fuzz targets. Owns nothing.
 */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

void fuzz_fail(const char *fmt, ...)
{
        va_list ap;

        fputs("property failed: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        abort();
}

bool fuzz_clean_line(const char *s, size_t n)
{
        return ev_escape_unsafe_at(s, n) == n;
}

size_t fuzz_check_line(const char *buf, size_t size, const char *what)
{
        const char *nul = memchr(buf, '\0', size);

        if (!nul)
                fuzz_fail("%s: no NUL within its %zu bytes", what, size);
        if (!fuzz_clean_line(buf, (size_t)(nul - buf)))
                fuzz_fail("%s: not one clean line", what);
        return (size_t)(nul - buf);
}
