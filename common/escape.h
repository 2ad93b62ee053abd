/*
 * Turns arbitrary bytes into one printable, single-line, bounded string, so
 * that no payload or broker-supplied text can break a log line, forge
 * another one or drive a terminal.
 */
#ifndef EV_ESCAPE_H
#define EV_ESCAPE_H

#include <stddef.h>

enum ev_escape_flags {
        /* Also escape '\' as "\\", so the output can be read back
         * unambiguously. Off when the input is already escaped text. */
        EV_ESCAPE_BACKSLASH = 1 << 0,
};

/* Worst case output bytes per input byte ("\u2028" for 3 input bytes,
 * "\xNN" for 1), used to size buffers. */
#define EV_ESCAPE_MAX_RATIO 4

/*
 * Writes the escaped form of the first min(len, max_in) bytes of buf into
 * out, always NUL-terminated when out_size > 0. Escaped: C0 controls and DEL
 * ("\n", "\t", "\x1b", ...), C1 controls and U+2028/U+2029 ("\u0085"), and
 * every byte that is not part of valid UTF-8 ("\xff"). Valid UTF-8 text is
 * kept as is. A multi-byte character or an escape is never split: output
 * stops before one that would cross max_in or not fit in out.
 *
 * Returns the number of input bytes consumed (< len when cut short by
 * max_in or out_size). buf may contain NUL bytes; it is borrowed.
 */
size_t ev_escape(const char *buf, size_t len, size_t max_in, int flags,
                 char *out, size_t out_size);

/* Length of the valid UTF-8 sequence at s (1..4, reading at most avail
 * bytes), with its code point in *cp; 0 when the bytes there are not valid
 * UTF-8 (bad lead, bad continuation, overlong, surrogate, beyond U+10FFFF,
 * truncated). */
size_t ev_utf8_seq_len(const unsigned char *s, size_t avail, unsigned long *cp);

/* The offset of the first character of s[0..n) that ev_escape escapes
 * whatever its flags (invalid UTF-8, a C0 control, DEL, a C1 control,
 * U+2028, U+2029), or n when there is none: then s is one line that a
 * terminal shows as text. */
size_t ev_escape_unsafe_at(const char *s, size_t n);

#endif
