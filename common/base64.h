/*
 * Base64 (RFC 4648): the standard alphabet with padding, as Pub/Sub
 * carries message data, and the URL-safe alphabet without padding, as JWTs
 * use. Pure functions; the caller owns every buffer.
 */
#ifndef EV_BASE64_H
#define EV_BASE64_H

#include <stdbool.h>
#include <stddef.h>

enum ev_base64_alphabet {
        EV_BASE64_STD, /* A-Z a-z 0-9 + /, padded with '=' */
        EV_BASE64_URL, /* A-Z a-z 0-9 - _, no padding */
};

/* Characters ev_base64_encode writes for len input bytes, without the
 * terminating NUL. */
size_t ev_base64_encoded_len(size_t len, enum ev_base64_alphabet abc);

/* Encodes src[0..len) into dst, which must hold
 * ev_base64_encoded_len(len, abc) + 1 bytes; dst is NUL-terminated.
 * Returns the encoded length. */
size_t ev_base64_encode(const void *src, size_t len, char *dst,
                        enum ev_base64_alphabet abc);

/* Bytes ev_base64_decode may write for len input characters (an upper
 * bound). */
size_t ev_base64_decoded_max(size_t len);

/*
 * Decodes src[0..len) of alphabet abc into dst, which must hold
 * ev_base64_decoded_max(len) bytes, and sets *dst_len. EV_BASE64_STD
 * requires the padding; EV_BASE64_URL accepts it or its absence. Returns
 * false on any character outside the alphabet, misplaced padding, a length
 * no encoder produces, or non-zero bits left over in the last character.
 */
bool ev_base64_decode(const char *src, size_t len, void *dst, size_t *dst_len,
                      enum ev_base64_alphabet abc);

#endif
