/*
 * What the fuzz targets share: a failed property aborts, so that libFuzzer
 * reports it as a crash with the input that caused it.
 */
#ifndef EV_FUZZ_CHECK_H
#define EV_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Prints "property failed: ..." and aborts. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

/* True when the n bytes at s are one line a terminal shows as text: valid
 * UTF-8 without C0 controls, DEL, C1 controls or U+2028/U+2029. */
bool fuzz_clean_line(const char *s, size_t n);

/* Checks that buf (size bytes) holds a NUL-terminated clean line;
 * returns its length. what names the caller in a failure. */
size_t fuzz_check_line(const char *buf, size_t size, const char *what);

#endif
