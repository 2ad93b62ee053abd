/*
 * libFuzzer target: ev_escape with flags and limits taken from the input.
 * Input: byte 0 the flags, bytes 1-2 max_in (0xffff: no limit), bytes 3-4
 * the output size (big-endian), then the text. The output must be
 * NUL-terminated inside its buffer (allocated at exactly that size), one
 * clean line, within EV_ESCAPE_MAX_RATIO of what was consumed, and, with
 * EV_ESCAPE_BACKSLASH, decode back to exactly the bytes consumed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "escape.h"

static int hex(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* Reads n lower-case hex digits at s; -1 when they are not. */
static long hex_value(const char *s, size_t n)
{
        long v = 0;
        size_t i;

        for (i = 0; i < n; i++) {
                if (hex(s[i]) < 0)
                        return -1;
                v = v * 16 + hex(s[i]);
        }
        return v;
}

/* Encodes cp (U+0080..U+FFFF, what ev_escape writes as \uNNNN) in UTF-8. */
static size_t utf8_put(unsigned long cp, unsigned char *out)
{
        if (cp < 0x800) {
                out[0] = (unsigned char)(0xc0 | (cp >> 6));
                out[1] = (unsigned char)(0x80 | (cp & 0x3f));
                return 2;
        }
        out[0] = (unsigned char)(0xe0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
}

/* Decodes the escaped text s[0..n) (written with EV_ESCAPE_BACKSLASH) into
 * out; returns its length, failing on anything ev_escape cannot write. */
static size_t unescape(const char *s, size_t n, unsigned char *out)
{
        size_t i = 0, o = 0;
        long v;

        while (i < n) {
                if (s[i] != '\\') {
                        out[o++] = (unsigned char)s[i++];
                        continue;
                }
                if (i + 1 >= n)
                        fuzz_fail("output ends in a lone backslash");
                switch (s[i + 1]) {
                case '\\':
                        out[o++] = '\\';
                        i += 2;
                        break;
                case 'n':
                        out[o++] = '\n';
                        i += 2;
                        break;
                case 'r':
                        out[o++] = '\r';
                        i += 2;
                        break;
                case 't':
                        out[o++] = '\t';
                        i += 2;
                        break;
                case 'x':
                        v = i + 4 <= n ? hex_value(s + i + 2, 2) : -1;
                        if (v < 0)
                                fuzz_fail("bad \\x escape at output byte %zu",
                                          i);
                        out[o++] = (unsigned char)v;
                        i += 4;
                        break;
                case 'u':
                        v = i + 6 <= n ? hex_value(s + i + 2, 4) : -1;
                        if (v < 0x80)
                                fuzz_fail("bad \\u escape at output byte %zu",
                                          i);
                        o += utf8_put((unsigned long)v, out + o);
                        i += 6;
                        break;
                default:
                        fuzz_fail("unknown escape \\%c at output byte %zu",
                                  s[i + 1], i);
                }
        }
        return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *text = (const char *)data + 5;
        size_t len, max_in, out_size, end, used, olen;
        unsigned char *back;
        char *out;
        int flags;

        if (size < 5)
                return 0;
        flags = data[0] & EV_ESCAPE_BACKSLASH;
        max_in = (size_t)data[1] << 8 | data[2];
        if (max_in == 0xffff)
                max_in = SIZE_MAX;
        out_size = (size_t)data[3] << 8 | data[4];
        len = size - 5;
        end = len < max_in ? len : max_in;

        out = malloc(out_size);
        if (!out && out_size)
                abort();
        used = ev_escape(text, len, max_in, flags, out, out_size);
        if (used > end)
                fuzz_fail("consumed %zu bytes of %zu", used, end);
        if (out_size == 0) {
                if (used)
                        fuzz_fail("consumed %zu bytes into no room", used);
                free(out);
                return 0;
        }
        olen = fuzz_check_line(out, out_size, "ev_escape output");
        if (olen > EV_ESCAPE_MAX_RATIO * used)
                fuzz_fail("%zu output bytes for %zu input bytes", olen, used);
        /* Room for everything: only a character across max_in (at most 3
         * bytes) may be left out. */
        if (out_size > EV_ESCAPE_MAX_RATIO * end &&
            (end == len ? used != len : used + 3 < end))
                fuzz_fail("consumed %zu of %zu bytes with room to spare", used,
                          end);
        if (flags & EV_ESCAPE_BACKSLASH) {
                back = malloc(olen + 1);
                if (!back)
                        abort();
                if (unescape(out, olen, back) != used ||
                    memcmp(back, text, used))
                        fuzz_fail("the output does not decode to the %zu "
                                  "bytes consumed",
                                  used);
                free(back);
        }
        free(out);
        return 0;
}
