/*
 * The API keys: parsed once at start, then only read (by every request
 * thread at once, without a lock). Owns the key digests and tenant names;
 * knows nothing of HTTP.
 */
#include "apikeys.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "firestore_api.h"
#include "request.h"

#define DIGEST_BYTES 32 /* SHA-256 */

struct key {
        unsigned char digest[DIGEST_BYTES];
        char tenant[EV_REQUEST_TENANT_MAX + 1];
        size_t line; /* of the file, for a duplicate's message */
};

struct ev_apikeys {
        struct key *keys;
        size_t cnt, cap;
};

/* A digest, not the key, is what stays in memory and what is compared:
 * equal lengths, so the comparison is constant time whatever was sent. */
static bool digest(const char *key, size_t len, unsigned char *out)
{
        return EVP_Digest(key, len, out, NULL, EVP_sha256(), NULL) == 1;
}

/* RFC 6750's b64token. */
static bool key_ok(const char *s, size_t len)
{
        size_t i = 0;

        if (len == 0 || len > EV_APIKEYS_KEY_MAX)
                return false;
        while (i < len && s[i] &&
               strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "abcdefghijklmnopqrstuvwxyz"
                      "0123456789-._~+/",
                      s[i]))
                i++;
        if (i == 0)
                return false;
        while (i < len && s[i] == '=')
                i++;
        return i == len;
}

static bool blank(char c)
{
        return c == ' ' || c == '\t';
}

/* Splits the line at s (len bytes) into at most max blank-separated words;
 * returns how many there are (max + 1 when there are more). */
static size_t words(const char *s, size_t len, const char **word,
                    size_t *word_len, size_t max)
{
        size_t i = 0, n = 0;

        size_t start;

        for (;;) {
                while (i < len && blank(s[i]))
                        i++;
                if (i == len)
                        return n;
                if (n == max)
                        return max + 1;
                start = i;
                while (i < len && !blank(s[i]))
                        i++;
                word[n] = s + start;
                word_len[n++] = i - start;
        }
}

/* Adds one line's key; errors as ev_apikeys_parse. */
static enum ev_err add(struct ev_apikeys *keys, const char *key, size_t key_len,
                       const char *tenant, size_t tenant_len, size_t line,
                       char *errstr, size_t errstr_size)
{
        struct key *k;
        size_t i;

        if (!key_ok(key, key_len)) {
                snprintf(errstr, errstr_size,
                         "line %zu: the key is not a Bearer token (1 to %d "
                         "of A-Z a-z 0-9 - . _ ~ + /, then = only at its "
                         "end)",
                         line, EV_APIKEYS_KEY_MAX);
                return EV_ERR_CONFIG;
        }
        if (!ev_firestore_valid_tenant(tenant, tenant_len)) {
                snprintf(
                    errstr, errstr_size,
                    "line %zu: the tenant id must be " EV_REQUEST_TENANT_RULE,
                    line);
                return EV_ERR_CONFIG;
        }
        if (keys->cnt == keys->cap) {
                size_t cap = keys->cap ? keys->cap * 2 : 16;

                k = realloc(keys->keys, cap * sizeof(*k));
                if (!k) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return EV_ERR_NOMEM;
                }
                keys->keys = k;
                keys->cap = cap;
        }
        k = &keys->keys[keys->cnt];
        if (!digest(key, key_len, k->digest)) {
                snprintf(errstr, errstr_size, "line %zu: cannot hash the key",
                         line);
                return EV_ERR_CONFIG;
        }
        for (i = 0; i < keys->cnt; i++) {
                if (!memcmp(keys->keys[i].digest, k->digest, DIGEST_BYTES)) {
                        snprintf(errstr, errstr_size,
                                 "line %zu: the same key as line %zu", line,
                                 keys->keys[i].line);
                        return EV_ERR_CONFIG;
                }
        }
        memcpy(k->tenant, tenant, tenant_len);
        k->tenant[tenant_len] = '\0';
        k->line = line;
        keys->cnt++;
        return EV_OK;
}

struct ev_apikeys *ev_apikeys_parse(const char *text, size_t len,
                                    const char *name, enum ev_err *err,
                                    char *errstr, size_t errstr_size)
{
        struct ev_apikeys *keys = calloc(1, sizeof(*keys));
        size_t off = 0, line = 0, n, word_len[2];
        const char *word[2];
        char why[256];

        *err = keys ? EV_OK : EV_ERR_NOMEM;
        snprintf(why, sizeof(why), "out of memory");
        while (off < len && !*err) {
                const char *s = text + off;
                size_t end = off;

                while (end < len && text[end] != '\n')
                        end++;
                n = end - off;
                off = end + 1;
                line++;
                if (n && s[n - 1] == '\r')
                        n--;
                n = words(s, n, word, word_len, 2);
                if (n == 0 || word[0][0] == '#')
                        continue;
                if (n != 2) {
                        snprintf(why, sizeof(why),
                                 "line %zu: expected KEY TENANT_ID", line);
                        *err = EV_ERR_CONFIG;
                        break;
                }
                *err = add(keys, word[0], word_len[0], word[1], word_len[1],
                           line, why, sizeof(why));
        }
        if (!*err && !keys->cnt) {
                snprintf(why, sizeof(why), "no keys");
                *err = EV_ERR_CONFIG;
        }
        if (!*err)
                return keys;
        snprintf(errstr, errstr_size, "API_KEYS_FILE/--api-keys %s: %s", name,
                 why);
        ev_apikeys_destroy(keys);
        return NULL;
}

struct ev_apikeys *ev_apikeys_load(const char *path, enum ev_err *err,
                                   char *errstr, size_t errstr_size)
{
        struct ev_apikeys *keys = NULL;
        char *text = NULL;
        size_t len = 0, cap = 0, n;
        FILE *fp;

        fp = fopen(path, "r");
        if (!fp) {
                *err = EV_ERR_CONFIG;
                snprintf(errstr, errstr_size, "API_KEYS_FILE/--api-keys %s: %s",
                         path, strerror(errno));
                return NULL;
        }
        do {
                if (len == cap) {
                        char *grown = realloc(text, cap = cap * 2 + 4096);

                        if (!grown) {
                                *err = EV_ERR_NOMEM;
                                snprintf(errstr, errstr_size, "out of memory");
                                goto out;
                        }
                        text = grown;
                }
                n = fread(text + len, 1, cap - len, fp);
                len += n;
        } while (n);
        if (ferror(fp)) {
                *err = EV_ERR_CONFIG;
                snprintf(errstr, errstr_size,
                         "API_KEYS_FILE/--api-keys %s: read error", path);
                goto out;
        }
        keys = ev_apikeys_parse(text, len, path, err, errstr, errstr_size);
out:
        /* The file's text held every key in the clear. */
        if (text)
                OPENSSL_cleanse(text, cap);
        free(text);
        fclose(fp);
        return keys;
}

size_t ev_apikeys_count(const struct ev_apikeys *keys)
{
        return keys->cnt;
}

const char *ev_apikeys_tenant(const struct ev_apikeys *keys, const char *key,
                              size_t len)
{
        unsigned char d[DIGEST_BYTES];
        const char *tenant = NULL;
        size_t i;

        if (!digest(key, len, d))
                return NULL;
        /* No early exit: every key is compared. */
        for (i = 0; i < keys->cnt; i++) {
                if (!CRYPTO_memcmp(keys->keys[i].digest, d, DIGEST_BYTES))
                        tenant = keys->keys[i].tenant;
        }
        return tenant;
}

void ev_apikeys_destroy(struct ev_apikeys *keys)
{
        if (!keys)
                return;
        free(keys->keys);
        free(keys);
}
