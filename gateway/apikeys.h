/*
 * The --api-keys file: which Bearer key writes which tenant. A key is kept
 * only as its SHA-256, looked up in constant time, and never written
 * anywhere (logs, errors, answers).
 */
#ifndef EV_GATEWAY_APIKEYS_H
#define EV_GATEWAY_APIKEYS_H

#include <stddef.h>

#include "err.h"

/* Longest key, in bytes. */
#define EV_APIKEYS_KEY_MAX 512

struct ev_apikeys;

/*
 * Parses the len bytes at text, read from name (for messages): one
 * "KEY TENANT_ID" a line, separated by blanks; empty lines and lines whose
 * first non-blank is '#' are skipped. A key is 1 to EV_APIKEYS_KEY_MAX
 * characters of a Bearer token (A-Z a-z 0-9 - . _ ~ + /, then '=' only at
 * its end), each key once; a tenant passes ev_firestore_valid_tenant. At least
 * one key.
 *
 * Returns the keys, to free with ev_apikeys_destroy, or NULL with *err
 * (EV_ERR_CONFIG, EV_ERR_NOMEM) and errstr set, naming the line, never
 * the key.
 */
struct ev_apikeys *ev_apikeys_parse(const char *text, size_t len,
                                    const char *name, enum ev_err *err,
                                    char *errstr, size_t errstr_size);

/* Reads the file at path and parses it; a file that cannot be read is
 * EV_ERR_CONFIG too. */
struct ev_apikeys *ev_apikeys_load(const char *path, enum ev_err *err,
                                   char *errstr, size_t errstr_size);

/* How many keys there are. */
size_t ev_apikeys_count(const struct ev_apikeys *keys);

/* The tenant of the len bytes at key, NULL when no key is them. Every key
 * is compared, each in constant time, so the time taken tells nothing of
 * which key matched or how much of one. The string belongs to keys. */
const char *ev_apikeys_tenant(const struct ev_apikeys *keys, const char *key,
                              size_t len);

/* Frees keys (NULL is a no-op). */
void ev_apikeys_destroy(struct ev_apikeys *keys);

#endif
