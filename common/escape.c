/*
 * Byte-to-text escaping for log lines. Owns no memory: the caller provides
 * the output buffer. Knows UTF-8 well enough to keep valid text readable and
 * to escape everything a terminal or a line-oriented reader would act on.
 */
#include "escape.h"

#include <stdio.h>
#include <string.h>

size_t ev_utf8_seq_len(const unsigned char *s, size_t avail, unsigned long *cp)
{
        size_t n, i;
        unsigned long c;

        if (s[0] < 0x80) {
                *cp = s[0];
                return 1;
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                n = 2;
                c = s[0] & 0x1f;
        } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                n = 3;
                c = s[0] & 0x0f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                n = 4;
                c = s[0] & 0x07;
        } else {
                return 0;
        }
        if (avail < n)
                return 0;
        for (i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = (c << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
            (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
                return 0;
        *cp = c;
        return n;
}

/* Writes the escape for one code point or raw byte into esc (>= 7 bytes);
 * returns its length, or 0 when the character needs no escaping. */
static size_t escape_one(unsigned long cp, int raw_byte, int flags, char *esc)
{
        if (raw_byte)
                return (size_t)snprintf(esc, 7, "\\x%02lx", cp);
        switch (cp) {
        case '\n':
                return (size_t)snprintf(esc, 7, "\\n");
        case '\r':
                return (size_t)snprintf(esc, 7, "\\r");
        case '\t':
                return (size_t)snprintf(esc, 7, "\\t");
        case '\\':
                if (flags & EV_ESCAPE_BACKSLASH)
                        return (size_t)snprintf(esc, 7, "\\\\");
                return 0;
        }
        if (cp < 0x20 || cp == 0x7f)
                return (size_t)snprintf(esc, 7, "\\x%02lx", cp);
        /* C1 controls include CSI (U+009B); U+2028/9 end lines for some
         * readers. */
        if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
                return (size_t)snprintf(esc, 7, "\\u%04lx", cp);
        return 0;
}

size_t ev_escape(const char *buf, size_t len, size_t max_in, int flags,
                 char *out, size_t out_size)
{
        const unsigned char *s = (const unsigned char *)buf;
        size_t in = 0, o = 0;
        size_t end = len < max_in ? len : max_in;

        if (out_size == 0)
                return 0;
        while (in < end) {
                unsigned long cp;
                char esc[8];
                size_t n = ev_utf8_seq_len(s + in, len - in, &cp);
                size_t elen;
                int raw = n == 0;

                if (raw) {
                        n = 1;
                        cp = s[in];
                }
                /* A character across max_in is left out whole, not shown
                 * as the invalid bytes its first half would be. */
                if (in + n > end)
                        break;
                elen = escape_one(cp, raw, flags, esc);
                if (elen) {
                        if (o + elen >= out_size)
                                break;
                        memcpy(out + o, esc, elen);
                        o += elen;
                } else {
                        if (o + n >= out_size)
                                break;
                        memcpy(out + o, s + in, n);
                        o += n;
                }
                in += n;
        }
        out[o] = '\0';
        return in;
}

size_t ev_escape_unsafe_at(const char *s, size_t n)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t i = 0;

        while (i < n) {
                unsigned long cp;
                size_t len = ev_utf8_seq_len(u + i, n - i, &cp);

                if (!len || cp < 0x20 || cp == 0x7f ||
                    (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
                        return i;
                i += len;
        }
        return n;
}
