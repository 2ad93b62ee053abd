/*
 * Unit tests for common/transport/gauth: the RS256 JWT (checked field by
 * field and verified with the public key), the token endpoint's answers,
 * the Application Default Credentials search over files in a temporary
 * $HOME, and the token flow against a forked one-shot HTTP server on
 * 127.0.0.1. No test reads the real gcloud file or reaches the network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "base64.h"
#include "capture.h"
#include "gauth.h"
#include "http.h"

/* A string literal as pointer and length, without the terminator. */
#define BYTES(s) (s), sizeof(s) - 1

#define EMAIL       "ingest@demo-project.iam.gserviceaccount.com"
#define KEY_ID      "0123456789abcdef0123456789abcdef01234567"
#define SCOPE       EV_GAUTH_SCOPE_PUBSUB
#define AUD         EV_GAUTH_DEFAULT_TOKEN_URI
#define NOW         1763806530LL
#define CAPTURE_MAX 65536

/* Strings that must never show up in an errstr or a log line. */
#define SECRET_MARK   "SECRET-4f1d2c"
#define CLIENT_SECRET "s3cr&t=+/" SECRET_MARK
#define REFRESH_TOKEN "1//refresh tok-" SECRET_MARK

/* The keys every test shares: generating RSA 2048 takes a while. */
static struct {
        EVP_PKEY *rsa;
        char *pkcs8_pem; /* "BEGIN PRIVATE KEY" */
        char *pkcs1_pem; /* "BEGIN RSA PRIVATE KEY" */
        char *encrypted; /* "BEGIN ENCRYPTED PRIVATE KEY" */
        char *ec_pem;    /* a P-256 key, PKCS#8 */
} keys;

static EVP_PKEY *keygen(int id)
{
        EVP_PKEY_CTX *ctx;
        EVP_PKEY *pkey = NULL;

        ctx = EVP_PKEY_CTX_new_id(id, NULL);
        assert_non_null(ctx);
        assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
        if (id == EVP_PKEY_RSA)
                assert_true(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) > 0);
        else
                assert_true(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(
                                ctx, NID_X9_62_prime256v1) > 0);
        assert_int_equal(EVP_PKEY_keygen(ctx, &pkey), 1);
        EVP_PKEY_CTX_free(ctx);
        return pkey;
}

enum pem_form {
        PEM_PKCS8,
        PEM_PKCS1,
        PEM_ENCRYPTED,
};

/* pkey as a malloc'ed PEM string. */
static char *pem_of(EVP_PKEY *pkey, enum pem_form form)
{
        BIO *bio = BIO_new(BIO_s_mem());
        char *data, *pem;
        long len;
        int ok = 0;

        assert_non_null(bio);
        switch (form) {
        case PEM_PKCS8:
                ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
                                              NULL);
                break;
        case PEM_PKCS1:
                ok = PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL,
                                                          0, NULL, NULL);
                break;
        case PEM_ENCRYPTED:
                ok = PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(),
                                                   NULL, 0, NULL,
                                                   (void *)"passphrase");
                break;
        }
        assert_int_equal(ok, 1);
        len = BIO_get_mem_data(bio, &data);
        assert_true(len > 0);
        pem = malloc((size_t)len + 1);
        assert_non_null(pem);
        memcpy(pem, data, (size_t)len);
        pem[len] = '\0';
        BIO_free(bio);
        return pem;
}

static int keys_setup(void **state)
{
        char errstr[256];
        EVP_PKEY *ec;

        (void)state;
        assert_int_equal(ev_http_global_init(errstr, sizeof(errstr)), EV_OK);
        keys.rsa = keygen(EVP_PKEY_RSA);
        keys.pkcs8_pem = pem_of(keys.rsa, PEM_PKCS8);
        keys.pkcs1_pem = pem_of(keys.rsa, PEM_PKCS1);
        keys.encrypted = pem_of(keys.rsa, PEM_ENCRYPTED);
        ec = keygen(EVP_PKEY_EC);
        keys.ec_pem = pem_of(ec, PEM_PKCS8);
        EVP_PKEY_free(ec);
        assert_non_null(strstr(keys.pkcs8_pem, "BEGIN PRIVATE KEY"));
        assert_non_null(strstr(keys.pkcs1_pem, "BEGIN RSA PRIVATE KEY"));
        assert_non_null(strstr(keys.encrypted, "BEGIN ENCRYPTED PRIVATE KEY"));
        return 0;
}

static int keys_teardown(void **state)
{
        (void)state;
        EVP_PKEY_free(keys.rsa);
        free(keys.pkcs8_pem);
        free(keys.pkcs1_pem);
        free(keys.encrypted);
        free(keys.ec_pem);
        curl_global_cleanup();
        return 0;
}

/*
 * JWT helpers.
 */

/* The three dot-separated parts of a JWT. */
struct jwt_parts {
        const char *part[3];
        size_t len[3];
};

static void jwt_split(const char *jwt, struct jwt_parts *p)
{
        const char *dot1 = strchr(jwt, '.');
        const char *dot2;

        assert_non_null(dot1);
        dot2 = strchr(dot1 + 1, '.');
        assert_non_null(dot2);
        assert_null(strchr(dot2 + 1, '.'));
        p->part[0] = jwt;
        p->len[0] = (size_t)(dot1 - jwt);
        p->part[1] = dot1 + 1;
        p->len[1] = (size_t)(dot2 - dot1 - 1);
        p->part[2] = dot2 + 1;
        p->len[2] = strlen(dot2 + 1);
}

/* Decodes a base64url part into a malloc'ed, NUL-terminated buffer. */
static unsigned char *b64url_decode(const char *s, size_t len, size_t *out_len)
{
        unsigned char *out = malloc(ev_base64_decoded_max(len) + 1);
        size_t i;

        assert_non_null(out);
        /* No padding and nothing outside the URL-safe alphabet. */
        for (i = 0; i < len; i++)
                assert_non_null(strchr(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789-_",
                    s[i]));
        assert_true(ev_base64_decode(s, len, out, out_len, EV_BASE64_URL));
        out[*out_len] = '\0';
        return out;
}

static json_t *decode_json_part(const char *s, size_t len)
{
        unsigned char *text;
        json_error_t jerr;
        json_t *json;
        size_t n;

        text = b64url_decode(s, len, &n);
        json = json_loadb((const char *)text, n, JSON_REJECT_DUPLICATES, &jerr);
        if (!json)
                print_error("not JSON: %s: %s\n", jerr.text, text);
        free(text);
        assert_true(json_is_object(json));
        return json;
}

/* True when the signature over HEADER.CLAIMS verifies with pkey. */
static bool jwt_verifies(const char *jwt, EVP_PKEY *pkey)
{
        struct jwt_parts p;
        unsigned char *sig;
        EVP_MD_CTX *mdctx;
        size_t sig_len;
        int rc;

        jwt_split(jwt, &p);
        sig = b64url_decode(p.part[2], p.len[2], &sig_len);
        assert_int_equal(sig_len, 256);
        mdctx = EVP_MD_CTX_new();
        assert_non_null(mdctx);
        assert_int_equal(
            EVP_DigestVerifyInit(mdctx, NULL, EVP_sha256(), NULL, pkey), 1);
        rc = EVP_DigestVerify(mdctx, sig, sig_len, (const unsigned char *)jwt,
                              p.len[0] + 1 + p.len[1]);
        EVP_MD_CTX_free(mdctx);
        free(sig);
        ERR_clear_error();
        return rc == 1;
}

static void assert_json_string(json_t *obj, const char *key,
                               const char *expected)
{
        json_t *value = json_object_get(obj, key); /* borrowed */

        assert_true(json_is_string(value));
        assert_string_equal(json_string_value(value), expected);
}

/* Checks every field of jwt's header and claims. */
static void check_jwt_fields(const char *jwt, const char *key_id,
                             const char *aud, long long now)
{
        struct jwt_parts p;
        json_t *header, *claims;

        jwt_split(jwt, &p);
        header = decode_json_part(p.part[0], p.len[0]);
        assert_json_string(header, "alg", "RS256");
        assert_json_string(header, "typ", "JWT");
        if (key_id) {
                assert_json_string(header, "kid", key_id);
                assert_int_equal(json_object_size(header), 3);
        } else {
                assert_null(json_object_get(header, "kid"));
                assert_int_equal(json_object_size(header), 2);
        }
        claims = decode_json_part(p.part[1], p.len[1]);
        assert_json_string(claims, "iss", EMAIL);
        assert_json_string(claims, "scope", SCOPE);
        assert_json_string(claims, "aud", aud);
        assert_true(json_is_integer(json_object_get(claims, "iat")));
        assert_true(json_is_integer(json_object_get(claims, "exp")));
        if (now) {
                assert_int_equal(
                    json_integer_value(json_object_get(claims, "iat")), now);
        }
        assert_int_equal(json_integer_value(json_object_get(claims, "exp")),
                         json_integer_value(json_object_get(claims, "iat")) +
                             3600);
        assert_int_equal(json_object_size(claims), 5);
        json_decref(header);
        json_decref(claims);
}

static void test_jwt_pkcs8(void **state)
{
        char errstr[256] = "";
        char *jwt = NULL, *again = NULL;

        (void)state;
        assert_int_equal(ev_gauth_jwt_new(EMAIL, KEY_ID, keys.pkcs8_pem, SCOPE,
                                          AUD, NOW, &jwt, errstr,
                                          sizeof(errstr)),
                         EV_OK);
        assert_non_null(jwt);
        check_jwt_fields(jwt, KEY_ID, AUD, NOW);
        assert_true(jwt_verifies(jwt, keys.rsa));
        /* PKCS#1 v1.5 signatures are deterministic: same input, same JWT. */
        assert_int_equal(ev_gauth_jwt_new(EMAIL, KEY_ID, keys.pkcs8_pem, SCOPE,
                                          AUD, NOW, &again, errstr,
                                          sizeof(errstr)),
                         EV_OK);
        assert_string_equal(jwt, again);
        free(again);
        free(jwt);
}

static void test_jwt_tampered(void **state)
{
        char errstr[256] = "";
        struct jwt_parts p;
        char *jwt = NULL;
        char *forged;
        json_t *claims;
        char *claims_json, *claims_b64;
        size_t len, size;

        (void)state;
        assert_int_equal(ev_gauth_jwt_new(EMAIL, KEY_ID, keys.pkcs8_pem, SCOPE,
                                          AUD, NOW, &jwt, errstr,
                                          sizeof(errstr)),
                         EV_OK);
        jwt_split(jwt, &p);

        /* New claims (a later exp) under the old signature. */
        claims = decode_json_part(p.part[1], p.len[1]);
        assert_int_equal(
            json_object_set_new(claims, "exp", json_integer(NOW + 86400)), 0);
        claims_json = json_dumps(claims, JSON_COMPACT);
        assert_non_null(claims_json);
        len = strlen(claims_json);
        claims_b64 = malloc(ev_base64_encoded_len(len, EV_BASE64_URL) + 1);
        assert_non_null(claims_b64);
        ev_base64_encode(claims_json, len, claims_b64, EV_BASE64_URL);
        size = p.len[0] + strlen(claims_b64) + p.len[2] + 3;
        forged = malloc(size);
        assert_non_null(forged);
        snprintf(forged, size, "%.*s.%s.%s", (int)p.len[0], p.part[0],
                 claims_b64, p.part[2]);
        assert_false(jwt_verifies(forged, keys.rsa));

        /* One character of the original claims changed. */
        strcpy(forged, jwt);
        forged[p.len[0] + 1] = forged[p.len[0] + 1] == 'e' ? 'f' : 'e';
        assert_false(jwt_verifies(forged, keys.rsa));
        assert_true(jwt_verifies(jwt, keys.rsa));

        free(forged);
        free(claims_b64);
        free(claims_json);
        json_decref(claims);
        free(jwt);
}

static void test_jwt_no_kid(void **state)
{
        char errstr[256] = "";
        char *jwt = NULL;

        (void)state;
        assert_int_equal(ev_gauth_jwt_new(EMAIL, NULL, keys.pkcs8_pem, SCOPE,
                                          AUD, NOW, &jwt, errstr,
                                          sizeof(errstr)),
                         EV_OK);
        check_jwt_fields(jwt, NULL, AUD, NOW);
        assert_true(jwt_verifies(jwt, keys.rsa));
        free(jwt);
}

static void test_jwt_pkcs1(void **state)
{
        char errstr[256] = "";
        char *jwt = NULL, *pkcs8_jwt = NULL;

        (void)state;
        assert_int_equal(ev_gauth_jwt_new(EMAIL, KEY_ID, keys.pkcs1_pem, SCOPE,
                                          AUD, NOW, &jwt, errstr,
                                          sizeof(errstr)),
                         EV_OK);
        check_jwt_fields(jwt, KEY_ID, AUD, NOW);
        assert_true(jwt_verifies(jwt, keys.rsa));
        /* The same key in either form signs the same bytes. */
        assert_int_equal(ev_gauth_jwt_new(EMAIL, KEY_ID, keys.pkcs8_pem, SCOPE,
                                          AUD, NOW, &pkcs8_jwt, errstr,
                                          sizeof(errstr)),
                         EV_OK);
        assert_string_equal(jwt, pkcs8_jwt);
        free(pkcs8_jwt);
        free(jwt);
}

/* Keys that cannot sign RS256: EV_ERR_CONFIG, no JWT, and an errstr that
 * quotes none of the PEM. */
static void test_jwt_bad_keys(void **state)
{
        static const char garbage[] =
            "-----BEGIN PRIVATE KEY-----\n"
            "TUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3Z2dTakFnRUFBb0l"
            "C" SECRET_MARK "\n-----END PRIVATE KEY-----\n";
        /* A valid key with its middle cut out. */
        char *truncated;
        size_t n;
        const struct {
                const char *name;
                const char *pem;
                const char *errstr_has;
        } cases[] = {
            {"garbage PEM", garbage, "PEM"},
            {"not PEM at all", SECRET_MARK " is no key", "PEM"},
            {"empty", "", "PEM"},
            {"NULL", NULL, "key"},
            {"EC key", keys.ec_pem, "RSA"},
            {"encrypted key", keys.encrypted, "PEM"},
            {"truncated key", NULL, "PEM"},
        };
        char errstr[512];
        size_t i, failed = 0;
        enum ev_err err;
        char *jwt;

        (void)state;
        n = strlen(keys.pkcs8_pem);
        truncated = strdup(keys.pkcs8_pem);
        assert_non_null(truncated);
        memmove(truncated + n / 3, truncated + 2 * n / 3, n - 2 * n / 3 + 1);
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *pem = cases[i].pem;

                if (!strcmp(cases[i].name, "truncated key"))
                        pem = truncated;
                jwt = (char *)"untouched";
                strcpy(errstr, "");
                err = ev_gauth_jwt_new(EMAIL, KEY_ID, pem, SCOPE, AUD, NOW,
                                       &jwt, errstr, sizeof(errstr));
                if (err != EV_ERR_CONFIG || jwt ||
                    !strstr(errstr, cases[i].errstr_has) ||
                    strstr(errstr, SECRET_MARK) || strstr(errstr, "MII") ||
                    strstr(errstr, "-----")) {
                        print_error("case '%s': err %d, errstr '%s'\n",
                                    cases[i].name, (int)err, errstr);
                        failed++;
                }
                /* OpenSSL's per-thread error queue is left empty. */
                if (ERR_peek_error()) {
                        print_error("case '%s': OpenSSL errors left\n",
                                    cases[i].name);
                        failed++;
                        ERR_clear_error();
                }
        }
        free(truncated);
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/*
 * ev_gauth_parse_token.
 */

#define LONG_DESC_10 "0123456789"
#define LONG_DESC_100                                                          \
        LONG_DESC_10 LONG_DESC_10 LONG_DESC_10 LONG_DESC_10 LONG_DESC_10       \
            LONG_DESC_10 LONG_DESC_10 LONG_DESC_10 LONG_DESC_10 LONG_DESC_10
#define LONG_DESC_1000                                                         \
        LONG_DESC_100 LONG_DESC_100 LONG_DESC_100 LONG_DESC_100 LONG_DESC_100  \
            LONG_DESC_100 LONG_DESC_100 LONG_DESC_100 LONG_DESC_100            \
                LONG_DESC_100

static void test_parse_token_table(void **state)
{
        static const struct {
                const char *name;
                long status;
                const char *body;
                size_t len;
                size_t token_size; /* 0: 4096 */
                enum ev_err err;
                const char *token;      /* on EV_OK */
                long expires_in;        /* on EV_OK */
                const char *errstr;     /* exact, or NULL */
                const char *errstr_has; /* substring, or NULL */
        } cases[] = {
            {"token and expires_in", 200,
             BYTES("{\"access_token\":\"ya29.a0AfH6\",\"expires_in\":3599,"
                   "\"token_type\":\"Bearer\"}"),
             0, EV_OK, "ya29.a0AfH6", 3599, NULL, NULL},
            {"no expires_in", 200, BYTES("{\"access_token\":\"ya29.x\"}"), 0,
             EV_OK, "ya29.x", 3600, NULL, NULL},
            {"expires_in real", 200,
             BYTES("{\"access_token\":\"t\",\"expires_in\":1799.9}"), 0, EV_OK,
             "t", 1799, NULL, NULL},
            {"expires_in negative", 200,
             BYTES("{\"access_token\":\"t\",\"expires_in\":-5}"), 0, EV_OK, "t",
             0, NULL, NULL},
            {"expires_in huge", 200,
             BYTES("{\"access_token\":\"t\",\"expires_in\":99999999999}"), 0,
             EV_OK, "t", 86400, NULL, NULL},
            {"token just fits", 200, BYTES("{\"access_token\":\"1234567\"}"), 8,
             EV_OK, "1234567", 3600, NULL, NULL},
            {"metadata server answer", 200,
             BYTES("{\"access_token\":\"ya29.c.meta\",\"expires_in\":3247,"
                   "\"token_type\":\"Bearer\"}"),
             0, EV_OK, "ya29.c.meta", 3247, NULL, NULL},
            {"token too long", 200, BYTES("{\"access_token\":\"12345678\"}"), 8,
             EV_ERR_PERMANENT, NULL, 0, NULL, "longer than"},
            {"not JSON", 200, BYTES("ya29.plain-text-token"), 0,
             EV_ERR_PERMANENT, NULL, 0,
             "HTTP 200: the answer is not a JSON object", NULL},
            {"empty body", 200, BYTES(""), 0, EV_ERR_PERMANENT, NULL, 0, NULL,
             "not a JSON object"},
            {"array", 200, BYTES("[\"ya29.x\"]"), 0, EV_ERR_PERMANENT, NULL, 0,
             NULL, "not a JSON object"},
            {"no access_token", 200, BYTES("{\"expires_in\":3600}"), 0,
             EV_ERR_PERMANENT, NULL, 0,
             "HTTP 200: the answer has no access_token", NULL},
            {"access_token a number", 200, BYTES("{\"access_token\":42}"), 0,
             EV_ERR_PERMANENT, NULL, 0, NULL, "no access_token"},
            {"access_token empty", 200, BYTES("{\"access_token\":\"\"}"), 0,
             EV_ERR_PERMANENT, NULL, 0, NULL, "no access_token"},
            {"access_token with CRLF", 200,
             BYTES("{\"access_token\":\"t\\r\\nX-Evil: 1\"}"), 0,
             EV_ERR_PERMANENT, NULL, 0, NULL, "header"},
            {"access_token with a space", 200,
             BYTES("{\"access_token\":\"a b\"}"), 0, EV_ERR_PERMANENT, NULL, 0,
             NULL, "header"},
            {"expires_in a string", 200,
             BYTES("{\"access_token\":\"t\",\"expires_in\":\"3600\"}"), 0,
             EV_ERR_PERMANENT, NULL, 0, NULL, "expires_in"},
            {"truncated 200", 200,
             BYTES("{\"access_token\":\"ya29.abc\",\"expires_in\":35"), 0,
             EV_ERR_PERMANENT, NULL, 0, NULL, "not a JSON object"},
            {"truncated inside the token", 200,
             BYTES("{\"access_token\":\"ya29.ab"), 0, EV_ERR_PERMANENT, NULL, 0,
             NULL, "not a JSON object"},
            {"NUL in body", 200, BYTES("{\"access_token\":\"a\0b\"}"), 0,
             EV_ERR_PERMANENT, NULL, 0, NULL, "not a JSON object"},
            {"invalid_grant", 400,
             BYTES("{\"error\":\"invalid_grant\",\"error_description\":"
                   "\"Invalid JWT Signature.\"}"),
             0, EV_ERR_PERMANENT, NULL, 0,
             "HTTP 400: invalid_grant: Invalid JWT Signature.", NULL},
            {"error without description", 400,
             BYTES("{\"error\":\"invalid_grant\"}"), 0, EV_ERR_PERMANENT, NULL,
             0, "HTTP 400: invalid_grant", NULL},
            {"empty description", 400,
             BYTES("{\"error\":\"invalid_grant\",\"error_description\":\"\"}"),
             0, EV_ERR_PERMANENT, NULL, 0, "HTTP 400: invalid_grant", NULL},
            {"unauthorized_client", 401,
             BYTES("{\"error\":\"unauthorized_client\",\"error_description\":"
                   "\"Client is unauthorized to retrieve access tokens.\"}"),
             0, EV_ERR_PERMANENT, NULL, 0,
             "HTTP 401: unauthorized_client: Client is unauthorized to "
             "retrieve access tokens.",
             NULL},
            {"Google API error object", 403,
             BYTES("{\"error\":{\"code\":403,\"message\":\"denied\"}}"), 0,
             EV_ERR_PERMANENT, NULL, 0, "HTTP 403", NULL},
            {"HTML 404", 404, BYTES("<html><body>Not Found</body></html>"), 0,
             EV_ERR_PERMANENT, NULL, 0, "HTTP 404", NULL},
            {"redirect", 302, BYTES(""), 0, EV_ERR_PERMANENT, NULL, 0,
             "HTTP 302", NULL},
            {"429", 429,
             BYTES("{\"error\":\"rate_limit_exceeded\",\"error_description\":"
                   "\"Slow down\"}"),
             0, EV_ERR_TRANSIENT, NULL, 0,
             "HTTP 429: rate_limit_exceeded: Slow down", NULL},
            {"503 plain text", 503, BYTES("Service Unavailable"), 0,
             EV_ERR_TRANSIENT, NULL, 0, "HTTP 503", NULL},
            {"500 JSON", 500, BYTES("{\"error\":\"internal_failure\"}"), 0,
             EV_ERR_TRANSIENT, NULL, 0, "HTTP 500: internal_failure", NULL},
            {"502 empty", 502, BYTES(""), 0, EV_ERR_TRANSIENT, NULL, 0,
             "HTTP 502", NULL},
            {"control characters", 400,
             BYTES("{\"error\":\"invalid\\u001b[31m\",\"error_description\":"
                   "\"line one\\nline two\\r\\tend\\u0007\"}"),
             0, EV_ERR_PERMANENT, NULL, 0,
             "HTTP 400: invalid\\x1b[31m: line one\\nline two\\r\\tend\\x07",
             NULL},
            {"invalid UTF-8 in description", 400,
             BYTES("{\"error\":\"invalid_grant\",\"error_description\":"
                   "\"caf\xc3\xa9 \xff\"}"),
             0, EV_ERR_PERMANENT, NULL, 0, "HTTP 400", NULL},
            {"truncated error body", 400,
             BYTES("{\"error\":\"invalid_grant\",\"error_descr"), 0,
             EV_ERR_PERMANENT, NULL, 0, "HTTP 400", NULL},
            {"long description", 400,
             BYTES("{\"error\":\"invalid_grant\",\"error_description\":"
                   "\"" LONG_DESC_1000 "\"}"),
             0, EV_ERR_PERMANENT, NULL, 0, NULL, "0123456789..."},
        };
        size_t i, failed = 0;

        (void)state;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char token[4096] = "";
                char errstr[1024] = "";
                size_t token_size =
                    cases[i].token_size ? cases[i].token_size : sizeof(token);
                long expires_in = -1;
                enum ev_err err;
                bool bad = false;
                /* Exactly len bytes and no NUL after them: ASan catches any
                 * read past the end. */
                char *body = malloc(cases[i].len ? cases[i].len : 1);

                assert_non_null(body);
                memcpy(body, cases[i].body, cases[i].len);
                err = ev_gauth_parse_token(cases[i].status, body, cases[i].len,
                                           token, token_size, &expires_in,
                                           errstr, sizeof(errstr));
                free(body);
                if (err != cases[i].err)
                        bad = true;
                if (!err && (strcmp(token, cases[i].token) ||
                             expires_in != cases[i].expires_in))
                        bad = true;
                if (err && cases[i].errstr && strcmp(errstr, cases[i].errstr))
                        bad = true;
                if (err && cases[i].errstr_has &&
                    !strstr(errstr, cases[i].errstr_has))
                        bad = true;
                /* One printable line, always. */
                if (strpbrk(errstr, "\n\r\t\x1b\x07") ||
                    strlen(errstr) >= sizeof(errstr) - 1)
                        bad = true;
                if (err && strstr(errstr, "ya29"))
                        bad = true;
                if (bad) {
                        print_error("case '%s': err %d, token '%s', "
                                    "expires_in %ld, errstr '%s'\n",
                                    cases[i].name, (int)err, token, expires_in,
                                    errstr);
                        failed++;
                }
        }
        print_message("%zu cases, %zu failed\n", i, failed);
        assert_int_equal(failed, 0);
}

/* A small errstr is cut, NUL-terminated, and never overrun. */
static void test_parse_token_small_errstr(void **state)
{
        static const char body[] = "{\"error\":\"invalid_grant\",\"error_"
                                   "description\":\"" LONG_DESC_1000 "\"}";
        char errstr[40];
        char token[16];
        long expires_in;
        size_t size;

        (void)state;
        for (size = 1; size <= sizeof(errstr); size++) {
                memset(errstr, 'Z', sizeof(errstr));
                assert_int_equal(
                    ev_gauth_parse_token(400, BYTES(body), token, sizeof(token),
                                         &expires_in, errstr, size),
                    EV_ERR_PERMANENT);
                assert_true(strlen(errstr) < size);
                if (size < sizeof(errstr))
                        assert_int_equal(errstr[size], 'Z');
        }
        assert_int_equal(strncmp(errstr, "HTTP 400: invalid_grant: 0123", 29),
                         0);
}

/*
 * ev_gauth_new: the credentials search, in a temporary $HOME.
 */

struct tmp {
        char dir[64];
};

static void remove_tree(const char *path)
{
        struct dirent *de;
        char child[1024];
        struct stat st;
        DIR *dir;

        if (lstat(path, &st) != 0)
                return;
        if (!S_ISDIR(st.st_mode)) {
                unlink(path);
                return;
        }
        dir = opendir(path);
        if (dir) {
                while ((de = readdir(dir)) != NULL) {
                        if (!strcmp(de->d_name, ".") ||
                            !strcmp(de->d_name, ".."))
                                continue;
                        snprintf(child, sizeof(child), "%s/%s", path,
                                 de->d_name);
                        remove_tree(child);
                }
                closedir(dir);
        }
        rmdir(path);
}

static int tmp_setup(void **state)
{
        struct tmp *t = calloc(1, sizeof(*t));

        if (!t)
                return -1;
        snprintf(t->dir, sizeof(t->dir), "/tmp/test_gauth.XXXXXX");
        if (!mkdtemp(t->dir)) {
                free(t);
                return -1;
        }
        /* Nothing from the real environment: no gcloud file of the user's,
         * no credentials variable, no metadata host. */
        setenv("HOME", t->dir, 1);
        unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
        unsetenv("GCE_METADATA_HOST");
        *state = t;
        return 0;
}

static int tmp_teardown(void **state)
{
        struct tmp *t = *state;

        remove_tree(t->dir);
        free(t);
        return 0;
}

/* Writes content to DIR/name (creating its directories) and returns the
 * path, malloc'ed. */
static char *write_file(const struct tmp *t, const char *name,
                        const char *content)
{
        char *path;
        size_t size = strlen(t->dir) + strlen(name) + 2;
        char *slash;
        FILE *fp;

        path = malloc(size);
        assert_non_null(path);
        snprintf(path, size, "%s/%s", t->dir, name);
        for (slash = strchr(path + strlen(t->dir) + 1, '/'); slash;
             slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                mkdir(path, 0700);
                *slash = '/';
        }
        fp = fopen(path, "w");
        assert_non_null(fp);
        assert_int_equal(fputs(content, fp) >= 0, 1);
        assert_int_equal(fclose(fp), 0);
        return path;
}

/* Writes json (stolen) to DIR/name; returns the path, malloc'ed. */
static char *write_json(const struct tmp *t, const char *name, json_t *json)
{
        char *text, *path;

        assert_non_null(json);
        text = json_dumps(json, JSON_INDENT(2));
        assert_non_null(text);
        path = write_file(t, name, text);
        free(text);
        json_decref(json);
        return path;
}

static json_t *service_account_json(const char *pem, const char *token_uri)
{
        json_t *json =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type",
                      "service_account", "project_id", "demo-project",
                      "private_key_id", KEY_ID, "private_key", pem,
                      "client_email", EMAIL, "client_id", "1234567890");

        assert_non_null(json);
        if (token_uri)
                json_object_set_new(json, "token_uri", json_string(token_uri));
        return json;
}

static json_t *authorized_user_json(const char *token_uri)
{
        json_t *json = json_pack(
            "{s:s, s:s, s:s, s:s}", "type", "authorized_user", "client_id",
            "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur"
            ".apps.googleusercontent.com",
            "client_secret", CLIENT_SECRET, "refresh_token", REFRESH_TOKEN);

        assert_non_null(json);
        if (token_uri)
                json_object_set_new(json, "token_uri", json_string(token_uri));
        return json;
}

/* ev_gauth_new must fail with err and an errstr holding every string of
 * has and none of SECRET_MARK, "MII" (a key's base64) or "-----". */
static void expect_new_fails(const char *path, enum ev_err err,
                             const char *has1, const char *has2)
{
        char errstr[1024] = "";
        enum ev_err got = EV_OK;
        struct ev_gauth *ga;

        ga = ev_gauth_new(path, SCOPE, &got, errstr, sizeof(errstr));
        if (ga || got != err || (has1 && !strstr(errstr, has1)) ||
            (has2 && !strstr(errstr, has2)) || strstr(errstr, SECRET_MARK) ||
            strstr(errstr, "MII") || strstr(errstr, "-----"))
                print_error("path %s: err %d, errstr '%s'\n",
                            path ? path : "(NULL)", (int)got, errstr);
        assert_null(ga);
        assert_int_equal(got, err);
        if (has1)
                assert_non_null(strstr(errstr, has1));
        if (has2)
                assert_non_null(strstr(errstr, has2));
        assert_null(strstr(errstr, SECRET_MARK));
        assert_null(strstr(errstr, "MII"));
        assert_null(strstr(errstr, "-----"));
        ev_gauth_destroy(ga);
}

/* ev_gauth_new must succeed; returns ga for more checks. */
static struct ev_gauth *expect_new_ok(const char *path)
{
        char errstr[1024] = "";
        enum ev_err err = EV_OK;
        struct ev_gauth *ga;

        ga = ev_gauth_new(path, SCOPE, &err, errstr, sizeof(errstr));
        if (!ga)
                print_error("err %d, errstr '%s'\n", (int)err, errstr);
        assert_non_null(ga);
        return ga;
}

static void test_new_missing_file(void **state)
{
        struct tmp *t = *state;
        char path[128];

        snprintf(path, sizeof(path), "%s/missing.json", t->dir);
        expect_new_fails(path, EV_ERR_CONFIG, path, "No such file");
}

static void test_new_unreadable(void **state)
{
        struct tmp *t = *state;
        char *path;

        /* A directory opens but cannot be read. */
        path = write_file(t, "dir/placeholder", "");
        *strrchr(path, '/') = '\0';
        expect_new_fails(path, EV_ERR_CONFIG, path, NULL);
        free(path);
}

static void test_new_not_json(void **state)
{
        static const char *const contents[] = {
            SECRET_MARK " not json {",
            /* jansson's own error text would quote the bytes here. */
            "{\"type\":\"service_account\",\"private_key\": " SECRET_MARK "}",
            "{\"type\":\"service_account\",\"private_key\":\"" SECRET_MARK,
            "{\"private_key\":\"" SECRET_MARK "\",\"private_key\":\"x\"}",
            "[\"" SECRET_MARK "\"]",
            "\"" SECRET_MARK "\"",
            "",
            "{\"private_key\":\"\xff" SECRET_MARK "\"}",
        };
        struct tmp *t = *state;
        size_t i;
        char *path;

        for (i = 0; i < sizeof(contents) / sizeof(contents[0]); i++) {
                path = write_file(t, "bad.json", contents[i]);
                expect_new_fails(path, EV_ERR_CONFIG, path, NULL);
                free(path);
        }
}

static void test_new_bad_type(void **state)
{
        struct tmp *t = *state;
        char *path;

        path = write_json(t, "external.json",
                          json_pack("{s:s, s:s}", "type", "external_account",
                                    "audience", SECRET_MARK));
        expect_new_fails(path, EV_ERR_CONFIG, path, "external_account");
        free(path);

        path = write_json(t, "notype.json",
                          json_pack("{s:s}", "private_key", SECRET_MARK));
        expect_new_fails(path, EV_ERR_CONFIG, path, "type");
        free(path);

        path = write_json(t, "numtype.json", json_pack("{s:i}", "type", 1));
        expect_new_fails(path, EV_ERR_CONFIG, path, "type");
        free(path);

        /* A control character in the type is escaped, not printed. */
        path = write_json(t, "ctltype.json",
                          json_pack("{s:s}", "type", "evil\ntype"));
        expect_new_fails(path, EV_ERR_CONFIG, "evil\\ntype", NULL);
        free(path);
}

static void test_new_service_account_fields(void **state)
{
        static const char *const required[] = {"client_email", "private_key"};
        struct tmp *t = *state;
        json_t *json;
        char *path;
        size_t i;

        for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
                json = service_account_json(keys.pkcs8_pem, NULL);
                json_object_del(json, required[i]);
                path = write_json(t, "sa.json", json);
                expect_new_fails(path, EV_ERR_CONFIG, path, required[i]);
                free(path);

                json = service_account_json(keys.pkcs8_pem, NULL);
                json_object_set_new(json, required[i], json_integer(7));
                path = write_json(t, "sa.json", json);
                expect_new_fails(path, EV_ERR_CONFIG, path, required[i]);
                free(path);
        }

        json = service_account_json("-----BEGIN PRIVATE KEY-----\n" SECRET_MARK
                                    "\n-----END PRIVATE KEY-----\n",
                                    NULL);
        path = write_json(t, "sa.json", json);
        expect_new_fails(path, EV_ERR_CONFIG, path, "private_key");
        free(path);

        path =
            write_json(t, "sa.json", service_account_json(keys.ec_pem, NULL));
        expect_new_fails(path, EV_ERR_CONFIG, path, "RSA");
        free(path);
}

static void test_new_service_account(void **state)
{
        struct tmp *t = *state;
        struct ev_gauth *ga;
        json_t *json;
        char *path;

        path = write_json(t, "key.json",
                          service_account_json(keys.pkcs8_pem, AUD));
        ga = expect_new_ok(path);
        assert_non_null(strstr(ev_gauth_describe(ga), "service account"));
        assert_non_null(strstr(ev_gauth_describe(ga), EMAIL));
        assert_non_null(strstr(ev_gauth_describe(ga), path));
        ev_gauth_destroy(ga);
        free(path);

        /* private_key_id and token_uri are optional; PKCS#1 works. */
        json = service_account_json(keys.pkcs1_pem, NULL);
        json_object_del(json, "private_key_id");
        path = write_json(t, "key1.json", json);
        ga = expect_new_ok(path);
        assert_non_null(strstr(ev_gauth_describe(ga), EMAIL));
        ev_gauth_destroy(ga);
        free(path);
}

static void test_new_authorized_user(void **state)
{
        static const char *const required[] = {"client_id", "client_secret",
                                               "refresh_token"};
        struct tmp *t = *state;
        struct ev_gauth *ga;
        json_t *json;
        char *path;
        size_t i;

        path = write_json(t, "user.json", authorized_user_json(NULL));
        ga = expect_new_ok(path);
        assert_non_null(strstr(ev_gauth_describe(ga), "authorized user"));
        assert_non_null(strstr(ev_gauth_describe(ga), path));
        assert_null(strstr(ev_gauth_describe(ga), SECRET_MARK));
        ev_gauth_destroy(ga);
        free(path);

        for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
                json = authorized_user_json(NULL);
                json_object_del(json, required[i]);
                path = write_json(t, "user.json", json);
                expect_new_fails(path, EV_ERR_CONFIG, path, required[i]);
                free(path);
        }
}

static void test_new_env_and_gcloud(void **state)
{
        struct tmp *t = *state;
        struct ev_gauth *ga;
        char *sa, *user, *gcloud;
        char missing[128];

        sa = write_json(t, "sa.json",
                        service_account_json(keys.pkcs8_pem, NULL));
        user = write_json(t, "user.json", authorized_user_json(NULL));
        snprintf(missing, sizeof(missing), "%s/missing.json", t->dir);

        /* path NULL: the variable names the file. */
        setenv("GOOGLE_APPLICATION_CREDENTIALS", sa, 1);
        ga = expect_new_ok(NULL);
        assert_non_null(strstr(ev_gauth_describe(ga), EMAIL));
        ev_gauth_destroy(ga);

        /* path wins over the variable. */
        setenv("GOOGLE_APPLICATION_CREDENTIALS", missing, 1);
        ga = expect_new_ok(user);
        assert_non_null(strstr(ev_gauth_describe(ga), user));
        ev_gauth_destroy(ga);

        /* A variable naming a missing file is an error, not a fall-through
         * to the metadata server. */
        expect_new_fails(NULL, EV_ERR_CONFIG, missing, NULL);

        /* Empty counts as unset; with no gcloud file: the metadata server. */
        setenv("GOOGLE_APPLICATION_CREDENTIALS", "", 1);
        ga = expect_new_ok(NULL);
        assert_string_equal(ev_gauth_describe(ga),
                            "metadata server (metadata.google.internal)");
        ev_gauth_destroy(ga);
        unsetenv("GOOGLE_APPLICATION_CREDENTIALS");

        /* gcloud's file under $HOME comes before the metadata server. */
        gcloud =
            write_json(t, ".config/gcloud/application_default_credentials.json",
                       authorized_user_json(NULL));
        ga = expect_new_ok(NULL);
        assert_non_null(strstr(ev_gauth_describe(ga), "authorized user"));
        assert_non_null(strstr(ev_gauth_describe(ga), gcloud));
        ev_gauth_destroy(ga);

        /* ... and the variable before gcloud's file. */
        setenv("GOOGLE_APPLICATION_CREDENTIALS", sa, 1);
        ga = expect_new_ok(NULL);
        assert_non_null(strstr(ev_gauth_describe(ga), EMAIL));
        ev_gauth_destroy(ga);
        unsetenv("GOOGLE_APPLICATION_CREDENTIALS");

        /* A broken gcloud file is an error too. */
        free(write_file(t,
                        ".config/gcloud/application_default_credentials.json",
                        "{" SECRET_MARK));
        expect_new_fails(NULL, EV_ERR_CONFIG, gcloud, NULL);

        free(gcloud);
        free(user);
        free(sa);
}

static void test_new_metadata(void **state)
{
        struct ev_gauth *ga;

        (void)state;
        /* Nothing set and no gcloud file: no request is made, so no
         * network is needed. */
        ga = expect_new_ok(NULL);
        assert_string_equal(ev_gauth_describe(ga),
                            "metadata server (metadata.google.internal)");
        ev_gauth_destroy(ga);

        setenv("GCE_METADATA_HOST", "127.0.0.1:8089", 1);
        ga = expect_new_ok(NULL);
        assert_string_equal(ev_gauth_describe(ga),
                            "metadata server (127.0.0.1:8089)");
        ev_gauth_destroy(ga);
        unsetenv("GCE_METADATA_HOST");

        ev_gauth_destroy(NULL);
}

/*
 * ev_gauth_authorization against a forked server on 127.0.0.1 that answers
 * a fixed list of requests, one connection each, then exits. It writes
 * every request it read to a pipe before answering, so that the test has
 * it by the time the client has the answer.
 */

#define SERVER_MAX_ANSWERS 4
/* The child kills itself after this, whatever happens to the parent. */
#define SERVER_LIFETIME_S 20

struct server {
        pid_t pid;
        int port;
        int requests_fd; /* read end of the pipe */
        char requests[65536];
};

struct auth_fixture {
        struct tmp tmp;
        struct server srv;
};

/* strstr, ignoring case: header names are case-insensitive. */
static const char *find_ci(const char *haystack, const char *needle)
{
        size_t n = strlen(needle);

        for (; *haystack; haystack++) {
                if (!strncasecmp(haystack, needle, n))
                        return haystack;
        }
        return NULL;
}

/* Reads one HTTP request (head and Content-Length body) into buf. */
static size_t read_request(int fd, char *buf, size_t size)
{
        size_t len = 0;
        const char *end, *cl;
        size_t want = 0;
        ssize_t n;

        while (len < size - 1) {
                n = read(fd, buf + len, size - 1 - len);
                if (n <= 0)
                        break;
                len += (size_t)n;
                buf[len] = '\0';
                end = strstr(buf, "\r\n\r\n");
                if (!end)
                        continue;
                if (!want) {
                        cl = find_ci(buf, "\r\nContent-Length:");
                        want =
                            (size_t)(end + 4 - buf) +
                            (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
                }
                if (len >= want)
                        break;
        }
        buf[len] = '\0';
        return len;
}

static void write_all(int fd, const char *buf, size_t len)
{
        ssize_t n;

        while (len) {
                n = write(fd, buf, len);
                if (n <= 0)
                        return;
                buf += n;
                len -= (size_t)n;
        }
}

/* Only async-signal-safe work from here on: the parent has threads. */
static void serve(int lfd, int out_fd, const char *const *answers)
{
        char req[16384];
        size_t len;
        int cfd;

        alarm(SERVER_LIFETIME_S);
        for (; *answers; answers++) {
                cfd = accept(lfd, NULL, NULL);
                if (cfd < 0)
                        _exit(1);
                len = read_request(cfd, req, sizeof(req));
                write_all(out_fd, req, len);
                write_all(out_fd, "\n=====\n", 7);
                write_all(cfd, *answers, strlen(*answers));
                shutdown(cfd, SHUT_WR);
                close(cfd);
        }
        _exit(0);
}

static int listen_local(int *port)
{
        struct sockaddr_in sa;
        socklen_t sa_len = sizeof(sa);
        int fd;

        fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = 0;
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 8), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sa_len), 0);
        *port = ntohs(sa.sin_port);
        return fd;
}

/* answers: NULL-terminated raw HTTP responses, one per connection. */
static void server_start(struct server *srv, const char *const *answers)
{
        int pipefd[2];
        int lfd;

        lfd = listen_local(&srv->port);
        assert_int_equal(pipe(pipefd), 0);
        fflush(NULL);
        srv->pid = fork();
        assert_true(srv->pid >= 0);
        if (srv->pid == 0) {
                close(pipefd[0]);
                serve(lfd, pipefd[1], answers);
        }
        close(lfd);
        close(pipefd[1]);
        srv->requests_fd = pipefd[0];
}

/* Stops the child (it may still wait for a request that never came) and
 * collects what it read. Safe to call twice. */
static void server_stop(struct server *srv)
{
        size_t len = 0;
        ssize_t n;

        if (srv->pid > 0) {
                kill(srv->pid, SIGKILL);
                waitpid(srv->pid, NULL, 0);
                srv->pid = 0;
        }
        if (srv->requests_fd >= 0) {
                while (len < sizeof(srv->requests) - 1) {
                        n = read(srv->requests_fd, srv->requests + len,
                                 sizeof(srv->requests) - 1 - len);
                        if (n <= 0)
                                break;
                        len += (size_t)n;
                }
                srv->requests[len] = '\0';
                close(srv->requests_fd);
                srv->requests_fd = -1;
        }
}

static size_t count(const char *haystack, const char *needle)
{
        size_t n = 0;

        for (haystack = strstr(haystack, needle); haystack;
             haystack = strstr(haystack + 1, needle))
                n++;
        return n;
}

static int auth_setup(void **state)
{
        struct auth_fixture *f = calloc(1, sizeof(*f));
        void *tmp_state;

        if (!f)
                return -1;
        if (tmp_setup(&tmp_state)) {
                free(f);
                return -1;
        }
        f->tmp = *(struct tmp *)tmp_state;
        free(tmp_state);
        f->srv.requests_fd = -1;
        *state = f;
        return 0;
}

static int auth_teardown(void **state)
{
        struct auth_fixture *f = *state;

        server_stop(&f->srv);
        remove_tree(f->tmp.dir);
        free(f);
        return 0;
}

/* A malloc'ed HTTP response with body. */
static char *answer(const char *status, const char *body)
{
        size_t size = strlen(status) + strlen(body) + 128;
        char *out = malloc(size);

        assert_non_null(out);
        snprintf(out, size,
                 "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                 "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
                 status, strlen(body), body);
        return out;
}

static char *local_url(const struct server *srv, const char *path)
{
        char *url = malloc(128);

        assert_non_null(url);
        snprintf(url, 128, "http://127.0.0.1:%d%s", srv->port, path);
        return url;
}

static void test_auth_metadata(void **state)
{
        struct auth_fixture *f = *state;
        char *ok = answer("200 OK", "{\"access_token\":\"ya29.meta-1\","
                                    "\"expires_in\":3599,\"token_type\":"
                                    "\"Bearer\"}");
        const char *answers[] = {ok, NULL};
        char host[64], buf[4096], errstr[512] = "";
        struct ev_gauth *ga;

        server_start(&f->srv, answers);
        snprintf(host, sizeof(host), "127.0.0.1:%d", f->srv.port);
        setenv("GCE_METADATA_HOST", host, 1);
        ga = expect_new_ok(NULL);
        assert_int_equal(ev_gauth_authorization(ga, buf, sizeof(buf), errstr,
                                                sizeof(errstr)),
                         EV_OK);
        assert_string_equal(buf, "Bearer ya29.meta-1");
        /* Cached: the server has answered its only request, and a second
         * connection would be refused. */
        memset(buf, 0, sizeof(buf));
        assert_int_equal(ev_gauth_authorization(ga, buf, sizeof(buf), errstr,
                                                sizeof(errstr)),
                         EV_OK);
        assert_string_equal(buf, "Bearer ya29.meta-1");
        /* Too small a buffer is an error, not a cut token. */
        assert_int_equal(
            ev_gauth_authorization(ga, buf, 10, errstr, sizeof(errstr)),
            EV_ERR_PERMANENT);
        assert_null(strstr(errstr, "ya29"));
        ev_gauth_destroy(ga);
        unsetenv("GCE_METADATA_HOST");

        server_stop(&f->srv);
        assert_int_equal(count(f->srv.requests, "=====\n"), 1);
        assert_non_null(strstr(
            f->srv.requests,
            "GET /computeMetadata/v1/instance/service-accounts/default/token "
            "HTTP/1.1\r\n"));
        assert_non_null(
            find_ci(f->srv.requests, "\r\nMetadata-Flavor: Google\r\n"));
        assert_non_null(
            find_ci(f->srv.requests, "\r\nUser-Agent: event-ingest/"));
        assert_null(find_ci(f->srv.requests, "\r\nAuthorization:"));
        free(ok);
}

/* The assertion in a token request body, verified and checked. */
static void check_assertion(const char *requests, const char *token_uri)
{
        static const char prefix[] =
            "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer"
            "&assertion=";
        const char *start;
        char *jwt;
        size_t len;

        start = strstr(requests, "\r\n\r\n");
        assert_non_null(start);
        start += 4;
        assert_int_equal(strncmp(start, prefix, sizeof(prefix) - 1), 0);
        start += sizeof(prefix) - 1;
        len = strcspn(start, "\n&");
        jwt = strndup(start, len);
        assert_non_null(jwt);
        check_jwt_fields(jwt, KEY_ID, token_uri, 0);
        assert_true(jwt_verifies(jwt, keys.rsa));
        free(jwt);
}

static void test_auth_service_account(void **state)
{
        struct auth_fixture *f = *state;
        char *ok1 = answer("200 OK", "{\"access_token\":\"ya29.sa-1\","
                                     "\"expires_in\":100}");
        char *ok2 = answer("200 OK", "{\"access_token\":\"ya29.sa-2\","
                                     "\"expires_in\":3600}");
        const char *answers[] = {ok1, ok2, NULL};
        char buf[4096], errstr[512] = "";
        struct ev_gauth *ga;
        char *url, *path;

        server_start(&f->srv, answers);
        url = local_url(&f->srv, "/token");
        path = write_json(&f->tmp, "sa.json",
                          service_account_json(keys.pkcs8_pem, url));
        ga = expect_new_ok(path);
        assert_int_equal(ev_gauth_authorization(ga, buf, sizeof(buf), errstr,
                                                sizeof(errstr)),
                         EV_OK);
        assert_string_equal(buf, "Bearer ya29.sa-1");
        /* 100 s left is inside the refresh margin: a new token at once. */
        assert_int_equal(ev_gauth_authorization(ga, buf, sizeof(buf), errstr,
                                                sizeof(errstr)),
                         EV_OK);
        assert_string_equal(buf, "Bearer ya29.sa-2");
        assert_int_equal(ev_gauth_authorization(ga, buf, sizeof(buf), errstr,
                                                sizeof(errstr)),
                         EV_OK);
        assert_string_equal(buf, "Bearer ya29.sa-2");
        ev_gauth_destroy(ga);

        server_stop(&f->srv);
        assert_int_equal(count(f->srv.requests, "=====\n"), 2);
        assert_int_equal(count(f->srv.requests, "POST /token HTTP/1.1\r\n"), 2);
        assert_non_null(
            find_ci(f->srv.requests,
                    "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
        check_assertion(f->srv.requests, url);
        free(path);
        free(url);
        free(ok2);
        free(ok1);
}

static void test_auth_authorized_user(void **state)
{
        struct auth_fixture *f = *state;
        char *refused =
            answer("400 Bad Request", "{\"error\":\"invalid_grant\","
                                      "\"error_description\":\"Token has been "
                                      "expired or revoked.\"}");
        char *busy = answer("503 Service Unavailable", "{}");
        const char *answers[] = {refused, busy, NULL};
        char buf[4096], errstr[512] = "";
        struct ev_gauth *ga;
        char *url, *path;

        server_start(&f->srv, answers);
        url = local_url(&f->srv, "/oauth2/token");
        path = write_json(&f->tmp, "user.json", authorized_user_json(url));
        ga = expect_new_ok(path);
        assert_int_equal(ev_gauth_authorization(ga, buf, sizeof(buf), errstr,
                                                sizeof(errstr)),
                         EV_ERR_PERMANENT);
        assert_non_null(strstr(errstr, path));
        assert_non_null(
            strstr(errstr, "HTTP 400: invalid_grant: Token has been expired or "
                           "revoked."));
        assert_null(strstr(errstr, SECRET_MARK));
        assert_int_equal(ev_gauth_authorization(ga, buf, sizeof(buf), errstr,
                                                sizeof(errstr)),
                         EV_ERR_TRANSIENT);
        assert_non_null(strstr(errstr, "HTTP 503"));
        assert_null(strstr(errstr, SECRET_MARK));
        ev_gauth_destroy(ga);

        server_stop(&f->srv);
        assert_int_equal(count(f->srv.requests, "=====\n"), 2);
        assert_non_null(strstr(f->srv.requests, "POST /oauth2/token HTTP/1.1"));
        /* Every value URL-encoded. */
        assert_non_null(strstr(
            f->srv.requests,
            "\r\n\r\ngrant_type=refresh_token&client_id=764086051850-"
            "6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com"
            "&client_secret=s3cr%26t%3D%2B%2F" SECRET_MARK
            "&refresh_token=1%2F%2Frefresh%20tok-" SECRET_MARK "\n====="));
        free(path);
        free(url);
        free(busy);
        free(refused);
}

/* No server: a transport error, naming the endpoint's host. */
static void test_auth_unreachable(void **state)
{
        struct auth_fixture *f = *state;
        char buf[4096], errstr[512] = "", url[128];
        struct ev_gauth *ga;
        char *path;
        int port, fd;

        fd = listen_local(&port);
        close(fd);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/token?key=query-part",
                 port);
        path = write_json(&f->tmp, "user.json", authorized_user_json(url));
        ga = expect_new_ok(path);
        assert_int_equal(ev_gauth_authorization(ga, buf, sizeof(buf), errstr,
                                                sizeof(errstr)),
                         EV_ERR_TRANSIENT);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
        assert_non_null(strstr(errstr, url));
        assert_non_null(strstr(errstr, path));
        assert_null(strstr(errstr, "query-part"));
        assert_null(strstr(errstr, SECRET_MARK));
        ev_gauth_destroy(ga);
        free(path);
}

/* A failed refresh while the cached token still works: the cached token,
 * and one warning that quotes no secret. */
static void test_auth_keeps_working_token(void **state)
{
        struct auth_fixture *f = *state;
        char *ok = answer("200 OK", "{\"access_token\":\"ya29.still-good\","
                                    "\"expires_in\":200}");
        const char *answers[] = {ok, NULL};
        char buf[4096], errstr[512] = "", log[CAPTURE_MAX];
        struct capture cap;
        struct ev_gauth *ga;
        char *url, *path;

        server_start(&f->srv, answers);
        url = local_url(&f->srv, "/token");
        path = write_json(&f->tmp, "user.json", authorized_user_json(url));
        ga = expect_new_ok(path);
        assert_int_equal(ev_gauth_authorization(ga, buf, sizeof(buf), errstr,
                                                sizeof(errstr)),
                         EV_OK);
        assert_string_equal(buf, "Bearer ya29.still-good");
        /* The server has exited: the refresh fails, the token stays. */
        server_stop(&f->srv);
        capture_start(&cap);
        assert_int_equal(ev_gauth_authorization(ga, buf, sizeof(buf), errstr,
                                                sizeof(errstr)),
                         EV_OK);
        /* Within RETRY_S: no second attempt, no second warning. */
        assert_int_equal(ev_gauth_authorization(ga, buf, sizeof(buf), errstr,
                                                sizeof(errstr)),
                         EV_OK);
        capture_end(&cap, log, sizeof(log));
        assert_string_equal(buf, "Bearer ya29.still-good");
        assert_int_equal(count(log, "WARN"), 1);
        assert_non_null(strstr(log, "cached token"));
        assert_null(strstr(log, "ya29"));
        assert_null(strstr(log, SECRET_MARK));
        ev_gauth_destroy(ga);
        free(path);
        free(url);
        free(ok);
}

/* True when needle (any case) is in the request that starts at req, before
 * the server's "=====" separator that ends it. */
static bool request_has(const char *req, const char *needle)
{
        const char *end = strstr(req + 1, "\n=====");
        const char *found = find_ci(req, needle);

        return found && (!end || found < end);
}

/* The HTTP layer under the token flow: one reused handle, each method's
 * request line and body framing, no options carried over from the
 * request before, redirects not followed. */
static void test_http_requests(void **state)
{
        struct auth_fixture *f = *state;
        char *ok = answer("200 OK", "{}");
        char *moved = answer("302 Found\r\nLocation: http://127.0.0.1:1/x", "");
        const char *answers[] = {ok, ok, ok, ok, ok, moved, NULL};
        static const char body[] = "{\"messages\":[]}";
        struct ev_http_req req = {0};
        struct ev_http_resp resp = {0};
        char errstr[512] = "";
        const char *reqs;
        char *url;
        CURL *easy;

        server_start(&f->srv, answers);
        url = local_url(&f->srv, "/v1/x?y=1");
        easy = ev_http_easy_new();
        assert_non_null(easy);
        req.url = url;
        req.timeout_s = 10;
        req.authorization = "Bearer ya29.http";

        req.method = "POST";
        req.body = body;
        req.body_len = sizeof(body) - 1;
        assert_int_equal(
            ev_http_perform(easy, &req, &resp, errstr, sizeof(errstr)), EV_OK);
        assert_int_equal(resp.status, 200);
        assert_string_equal(resp.body, "{}");
        assert_int_equal(resp.len, 2);

        req.method = "GET";
        req.body = NULL;
        req.body_len = 0;
        assert_int_equal(
            ev_http_perform(easy, &req, &resp, errstr, sizeof(errstr)), EV_OK);
        req.method = "POST";
        assert_int_equal(
            ev_http_perform(easy, &req, &resp, errstr, sizeof(errstr)), EV_OK);
        req.method = "DELETE";
        req.authorization = NULL;
        assert_int_equal(
            ev_http_perform(easy, &req, &resp, errstr, sizeof(errstr)), EV_OK);
        req.method = "PUT";
        req.body = body;
        req.body_len = 2;
        req.content_type = "text/plain";
        assert_int_equal(
            ev_http_perform(easy, &req, &resp, errstr, sizeof(errstr)), EV_OK);
        req.method = "GET";
        req.body = NULL;
        req.body_len = 0;
        req.content_type = NULL;
        assert_int_equal(
            ev_http_perform(easy, &req, &resp, errstr, sizeof(errstr)), EV_OK);
        assert_int_equal(resp.status, 302);
        assert_non_null(resp.body);
        assert_string_equal(resp.body, "");

        /* The server is gone: a transport error that names the origin but
         * not the query, and never the Authorization value. */
        server_stop(&f->srv);
        req.authorization = "Bearer ya29.http";
        assert_int_equal(
            ev_http_perform(easy, &req, &resp, errstr, sizeof(errstr)),
            EV_ERR_TRANSIENT);
        assert_int_equal(resp.status, 0);
        assert_non_null(strstr(errstr, "GET http://127.0.0.1:"));
        assert_null(strstr(errstr, "y=1"));
        assert_null(strstr(errstr, "/v1"));
        assert_null(strstr(errstr, "ya29"));
        curl_easy_cleanup(easy);
        ev_http_resp_free(&resp);
        ev_http_resp_free(&resp);

        reqs = f->srv.requests;
        assert_int_equal(count(reqs, "=====\n"), 6);
        /* 1: POST with a JSON body. */
        reqs = strstr(reqs, "POST /v1/x?y=1 HTTP/1.1\r\n");
        assert_non_null(reqs);
        assert_true(
            request_has(reqs, "\r\nContent-Type: application/json\r\n"));
        assert_true(request_has(reqs, "\r\nContent-Length: 15\r\n"));
        assert_true(
            request_has(reqs, "\r\nAuthorization: Bearer ya29.http\r\n"));
        assert_true(request_has(reqs, "\r\nUser-Agent: event-ingest/"));
        assert_true(request_has(reqs, "\r\n\r\n{\"messages\":[]}\n"));
        /* 2: GET, no body and no Content-Type. */
        reqs = strstr(reqs, "=====\nGET /v1/x?y=1 HTTP/1.1\r\n");
        assert_non_null(reqs);
        assert_false(request_has(reqs, "\r\nContent-"));
        /* 3: POST without a body still says Content-Length: 0. */
        reqs = strstr(reqs, "=====\nPOST /v1/x?y=1 HTTP/1.1\r\n");
        assert_non_null(reqs);
        assert_true(request_has(reqs, "\r\nContent-Length: 0\r\n"));
        assert_false(request_has(reqs, "\r\nContent-Type:"));
        /* 4: DELETE, without the Authorization of the requests before. */
        reqs = strstr(reqs, "=====\nDELETE /v1/x?y=1 HTTP/1.1\r\n");
        assert_non_null(reqs);
        assert_false(request_has(reqs, "\r\nAuthorization:"));
        assert_false(request_has(reqs, "\r\nContent-Length:"));
        /* 5: PUT with its own Content-Type and body_len bytes. */
        reqs = strstr(reqs, "=====\nPUT /v1/x?y=1 HTTP/1.1\r\n");
        assert_non_null(reqs);
        assert_true(request_has(reqs, "\r\nContent-Type: text/plain\r\n"));
        assert_true(request_has(reqs, "\r\nContent-Length: 2\r\n"));
        assert_true(request_has(reqs, "\r\n\r\n{\"\n"));
        /* 6: a GET again, after a PUT on the same handle. */
        reqs = strstr(reqs, "=====\nGET /v1/x?y=1 HTTP/1.1\r\n");
        assert_non_null(reqs);
        assert_false(request_has(reqs, "\r\nContent-"));
        free(url);
        free(moved);
        free(ok);
}

#define THREADS 4

struct thread_arg {
        struct ev_gauth *ga;
        enum ev_err err;
        char buf[4096];
        char errstr[512];
};

static void *auth_thread(void *p)
{
        struct thread_arg *arg = p;

        arg->err = ev_gauth_authorization(arg->ga, arg->buf, sizeof(arg->buf),
                                          arg->errstr, sizeof(arg->errstr));
        return NULL;
}

/* Threads asking at once share one fetch: the server answers only one. */
static void test_auth_threads(void **state)
{
        struct auth_fixture *f = *state;
        char *ok = answer("200 OK", "{\"access_token\":\"ya29.shared\"}");
        const char *answers[] = {ok, NULL};
        struct thread_arg args[THREADS];
        pthread_t threads[THREADS];
        struct ev_gauth *ga;
        char *url, *path;
        int i;

        server_start(&f->srv, answers);
        url = local_url(&f->srv, "/token");
        path = write_json(&f->tmp, "sa.json",
                          service_account_json(keys.pkcs1_pem, url));
        ga = expect_new_ok(path);
        for (i = 0; i < THREADS; i++) {
                args[i].ga = ga;
                assert_int_equal(
                    pthread_create(&threads[i], NULL, auth_thread, &args[i]),
                    0);
        }
        for (i = 0; i < THREADS; i++)
                assert_int_equal(pthread_join(threads[i], NULL), 0);
        for (i = 0; i < THREADS; i++) {
                if (args[i].err)
                        print_error("thread %d: %s\n", i, args[i].errstr);
                assert_int_equal(args[i].err, EV_OK);
                assert_string_equal(args[i].buf, "Bearer ya29.shared");
        }
        ev_gauth_destroy(ga);
        server_stop(&f->srv);
        assert_int_equal(count(f->srv.requests, "=====\n"), 1);
        free(path);
        free(url);
        free(ok);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_jwt_pkcs8),
            cmocka_unit_test(test_jwt_tampered),
            cmocka_unit_test(test_jwt_no_kid),
            cmocka_unit_test(test_jwt_pkcs1),
            cmocka_unit_test(test_jwt_bad_keys),
            cmocka_unit_test(test_parse_token_table),
            cmocka_unit_test(test_parse_token_small_errstr),
            cmocka_unit_test_setup_teardown(test_new_missing_file, tmp_setup,
                                            tmp_teardown),
            cmocka_unit_test_setup_teardown(test_new_unreadable, tmp_setup,
                                            tmp_teardown),
            cmocka_unit_test_setup_teardown(test_new_not_json, tmp_setup,
                                            tmp_teardown),
            cmocka_unit_test_setup_teardown(test_new_bad_type, tmp_setup,
                                            tmp_teardown),
            cmocka_unit_test_setup_teardown(test_new_service_account_fields,
                                            tmp_setup, tmp_teardown),
            cmocka_unit_test_setup_teardown(test_new_service_account, tmp_setup,
                                            tmp_teardown),
            cmocka_unit_test_setup_teardown(test_new_authorized_user, tmp_setup,
                                            tmp_teardown),
            cmocka_unit_test_setup_teardown(test_new_env_and_gcloud, tmp_setup,
                                            tmp_teardown),
            cmocka_unit_test_setup_teardown(test_new_metadata, tmp_setup,
                                            tmp_teardown),
            cmocka_unit_test_setup_teardown(test_auth_metadata, auth_setup,
                                            auth_teardown),
            cmocka_unit_test_setup_teardown(test_auth_service_account,
                                            auth_setup, auth_teardown),
            cmocka_unit_test_setup_teardown(test_auth_authorized_user,
                                            auth_setup, auth_teardown),
            cmocka_unit_test_setup_teardown(test_auth_unreachable, auth_setup,
                                            auth_teardown),
            cmocka_unit_test_setup_teardown(test_auth_keeps_working_token,
                                            auth_setup, auth_teardown),
            cmocka_unit_test_setup_teardown(test_auth_threads, auth_setup,
                                            auth_teardown),
            cmocka_unit_test_setup_teardown(test_http_requests, auth_setup,
                                            auth_teardown),
        };

        return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
