/*
 * Base64 encoding and strict decoding. Owns no memory: every buffer is the
 * caller's.
 */
#include "base64.h"

#include <string.h>

static const char std_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t ev_base64_encoded_len(size_t len, enum ev_base64_alphabet abc)
{
        if (abc == EV_BASE64_STD)
                return (len + 2) / 3 * 4;
        return len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
}

size_t ev_base64_encode(const void *src, size_t len, char *dst,
                        enum ev_base64_alphabet abc)
{
        const char *chars = abc == EV_BASE64_STD ? std_chars : url_chars;
        const unsigned char *in = src;
        size_t i, o = 0;

        for (i = 0; i + 2 < len; i += 3) {
                unsigned long v = (unsigned long)in[i] << 16 |
                                  (unsigned long)in[i + 1] << 8 | in[i + 2];

                dst[o++] = chars[v >> 18 & 63];
                dst[o++] = chars[v >> 12 & 63];
                dst[o++] = chars[v >> 6 & 63];
                dst[o++] = chars[v & 63];
        }
        if (i < len) {
                unsigned long v = (unsigned long)in[i] << 16;

                if (i + 1 < len)
                        v |= (unsigned long)in[i + 1] << 8;
                dst[o++] = chars[v >> 18 & 63];
                dst[o++] = chars[v >> 12 & 63];
                if (i + 1 < len)
                        dst[o++] = chars[v >> 6 & 63];
                else if (abc == EV_BASE64_STD)
                        dst[o++] = '=';
                if (abc == EV_BASE64_STD)
                        dst[o++] = '=';
        }
        dst[o] = '\0';
        return o;
}

size_t ev_base64_decoded_max(size_t len)
{
        return len / 4 * 3 + 3;
}

/* The 6-bit value of c in chars, or -1. */
static int value_of(char c, const char *chars)
{
        const char *p;

        if (c == '\0' || c == '=')
                return -1;
        p = memchr(chars, c, 64);
        return p ? (int)(p - chars) : -1;
}

bool ev_base64_decode(const char *src, size_t len, void *dst, size_t *dst_len,
                      enum ev_base64_alphabet abc)
{
        const char *chars = abc == EV_BASE64_STD ? std_chars : url_chars;
        unsigned char *out = dst;
        unsigned long acc = 0;
        size_t i, o = 0, pad = 0, tail;

        /* Padding, where present, must make a whole quantum. */
        while (pad < 2 && len > pad && src[len - 1 - pad] == '=')
                pad++;
        if (pad && len % 4)
                return false;
        if (abc == EV_BASE64_STD && len % 4)
                return false;
        len -= pad;
        tail = len % 4;
        if (tail == 1)
                return false;
        for (i = 0; i < len; i++) {
                int v = value_of(src[i], chars);

                if (v < 0)
                        return false;
                acc = acc << 6 | (unsigned long)v;
                if (i % 4 == 3) {
                        out[o++] = (unsigned char)(acc >> 16);
                        out[o++] = (unsigned char)(acc >> 8);
                        out[o++] = (unsigned char)acc;
                        acc = 0;
                }
        }
        /* 2 characters carry 1 byte and 4 spare bits, 3 carry 2 bytes and
         * 2 spare bits; the spare bits of a canonical encoding are 0. */
        if (tail == 2) {
                if (acc & 0xf)
                        return false;
                out[o++] = (unsigned char)(acc >> 4);
        } else if (tail == 3) {
                if (acc & 0x3)
                        return false;
                out[o++] = (unsigned char)(acc >> 10);
                out[o++] = (unsigned char)(acc >> 2);
        }
        *dst_len = o;
        return true;
}
