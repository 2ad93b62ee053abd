/*
 * Application Default Credentials: finds them, holds the service-account
 * key (as an EVP_PKEY) or the refresh token, and trades them for access
 * tokens, cached until close to expiry, over its own keep-alive curl
 * handle. Owns every secret it reads and wipes them; knows nothing of
 * Pub/Sub requests beyond the scope it is given.
 */
#include "gauth.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "base64.h"
#include "escape.h"
#include "http.h"
#include "log.h"
#include "signals.h"

/* Google refuses assertions that live longer than an hour. */
#define JWT_LIFETIME_S  3600
#define TOKEN_TIMEOUT_S 30.0
/* "Bearer " + token + NUL in the 4096 bytes the header promises. */
#define TOKEN_MAX          (4096 - sizeof("Bearer ") + 1)
#define EXPIRES_IN_DEFAULT 3600
/* A bogus huge expires_in must not pin a token for ever; a day is far
 * beyond anything Google issues. */
#define EXPIRES_IN_MAX 86400
/* After a failed refresh, a cached token with at least USABLE_LEFT_S left
 * is still handed out, and the next refresh waits RETRY_S, so that a token
 * endpoint outage costs one timeout per RETRY_S rather than one per
 * request. */
#define USABLE_LEFT_S 60.0
#define RETRY_S       10.0
/* Input bytes of the endpoint's "error" and "error_description" quoted. */
#define ERROR_MAX       64
#define DESCRIPTION_MAX 300

#define FORM_TYPE        "application/x-www-form-urlencoded"
#define JWT_BEARER_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define METADATA_HOST    "metadata.google.internal"
#define METADATA_TOKEN_PATH                                                    \
        "/computeMetadata/v1/instance/service-accounts/default/token"
#define METADATA_FLAVOR "Metadata-Flavor: Google"
#define GCLOUD_ADC_FILE "/.config/gcloud/application_default_credentials.json"

enum gauth_kind {
        GAUTH_SERVICE_ACCOUNT,
        GAUTH_AUTHORIZED_USER,
        GAUTH_METADATA,
};

struct ev_gauth {
        enum gauth_kind kind;
        char *label;    /* "credentials file PATH", "metadata server HOST" */
        char *describe; /* ev_gauth_describe's line */
        char *scope;
        char *token_url; /* token_uri, or the metadata server's token URL */
        /* service_account */
        char *email;
        char *key_id; /* NULL when the file has no private_key_id */
        EVP_PKEY *pkey;
        /* authorized_user; secrets, wiped on destroy */
        char *client_id;
        char *client_secret;
        char *refresh_token;

        bool lock_ready;
        pthread_mutex_t lock; /* guards everything below */
        CURL *easy;
        struct ev_http_resp resp;
        char token[TOKEN_MAX]; /* secret */
        bool have_token;
        double expiry;       /* ev_signals_now() when the token expires */
        double next_refresh; /* no refresh before, while the token works */
};

/* Zeroes and frees a NUL-terminated secret. */
static void secret_free(char *s)
{
        if (!s)
                return;
        OPENSSL_cleanse(s, strlen(s));
        free(s);
}

/* Zeroes the text of a jansson string in place before the tree is freed:
 * jansson allocated it writable and keeps its length separately. */
static void json_secret_wipe(json_t *string)
{
        if (json_is_string(string))
                OPENSSL_cleanse((char *)json_string_value(string),
                                json_string_length(string));
}

/* The reason for OpenSSL's last error, then the queue emptied: it is per
 * thread and would otherwise confuse the next caller's error report. Only
 * the reason string, never the error's data, which may quote input. */
static const char *ssl_reason(void)
{
        const char *reason;

        reason = ERR_reason_error_string(ERR_peek_last_error());
        ERR_clear_error();
        return reason ? reason : "no detail";
}

/* OpenSSL's default would prompt on the terminal for an encrypted key's
 * passphrase; a service never has one to give. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
        (void)buf;
        (void)size;
        (void)rwflag;
        (void)u;
        return -1;
}

/* Reads an unencrypted RSA private key. errstr starts with what (the
 * key's name for the reader) and never quotes the PEM. */
static enum ev_err load_key(const char *what, const char *pem, EVP_PKEY **pkey,
                            char *errstr, size_t errstr_size)
{
        EVP_PKEY *key;
        BIO *bio;
        int id;

        *pkey = NULL;
        if (!pem) {
                snprintf(errstr, errstr_size, "%s: none given", what);
                return EV_ERR_CONFIG;
        }
        bio = BIO_new_mem_buf(pem, -1);
        if (!bio) {
                snprintf(errstr, errstr_size, "%s: out of memory", what);
                return EV_ERR_NOMEM;
        }
        key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
        BIO_free(bio);
        if (!key) {
                snprintf(errstr, errstr_size,
                         "%s: not an unencrypted PEM key OpenSSL can read (%s)",
                         what, ssl_reason());
                return EV_ERR_CONFIG;
        }
        id = EVP_PKEY_base_id(key);
        if (id != EVP_PKEY_RSA) {
                /* RS256 is RSA with PKCS#1 v1.5 padding: RSA-PSS keys and
                 * every other algorithm are refused. */
                snprintf(errstr, errstr_size,
                         "%s: a key of type %s, not the RSA key RS256 needs",
                         what, OBJ_nid2sn(id) ? OBJ_nid2sn(id) : "unknown");
                EVP_PKEY_free(key);
                return EV_ERR_CONFIG;
        }
        *pkey = key;
        return EV_OK;
}

/* A malloc'ed base64url string of json in compact form, or NULL. */
static char *json_b64url(const json_t *json)
{
        char *text, *out;
        size_t len;

        text = json_dumps(json, JSON_COMPACT);
        if (!text)
                return NULL;
        len = strlen(text);
        out = malloc(ev_base64_encoded_len(len, EV_BASE64_URL) + 1);
        if (out)
                ev_base64_encode(text, len, out, EV_BASE64_URL);
        free(text);
        return out;
}

static enum ev_err jwt_sign(const char *email, const char *key_id,
                            EVP_PKEY *pkey, const char *scope, const char *aud,
                            long long now, char **jwt, char *errstr,
                            size_t errstr_size)
{
        json_error_t jerr;
        json_t *header = NULL;
        json_t *claims = NULL;
        char *header_b64 = NULL;
        char *claims_b64 = NULL;
        unsigned char *sig = NULL;
        EVP_MD_CTX *mdctx = NULL;
        char *out = NULL;
        size_t signed_len, sig_len, out_size;
        enum ev_err err = EV_ERR_NOMEM;

        *jwt = NULL;
        if (!email || !scope || !aud) {
                snprintf(errstr, errstr_size, "JWT: no %s",
                         !email   ? "client_email"
                         : !scope ? "scope"
                                  : "aud");
                return EV_ERR_CONFIG;
        }
        if (key_id)
                header = json_pack_ex(&jerr, 0, "{s:s, s:s, s:s}", "alg",
                                      "RS256", "typ", "JWT", "kid", key_id);
        else
                header = json_pack_ex(&jerr, 0, "{s:s, s:s}", "alg", "RS256",
                                      "typ", "JWT");
        if (header)
                claims = json_pack_ex(&jerr, 0, "{s:s, s:s, s:s, s:I, s:I}",
                                      "iss", email, "scope", scope, "aud", aud,
                                      "iat", (json_int_t)now, "exp",
                                      (json_int_t)(now + JWT_LIFETIME_S));
        if (!header || !claims) {
                if (json_error_code(&jerr) == json_error_out_of_memory)
                        goto nomem;
                snprintf(errstr, errstr_size,
                         "JWT: client_email, private_key_id, scope or "
                         "token_uri is not valid UTF-8");
                err = EV_ERR_CONFIG;
                goto out;
        }
        header_b64 = json_b64url(header);
        claims_b64 = json_b64url(claims);
        if (!header_b64 || !claims_b64)
                goto nomem;

        sig_len = (size_t)EVP_PKEY_size(pkey);
        signed_len = strlen(header_b64) + 1 + strlen(claims_b64);
        out_size =
            signed_len + 1 + ev_base64_encoded_len(sig_len, EV_BASE64_URL) + 1;
        out = malloc(out_size);
        sig = malloc(sig_len);
        mdctx = EVP_MD_CTX_new();
        if (!out || !sig || !mdctx)
                goto nomem;
        snprintf(out, out_size, "%s.%s", header_b64, claims_b64);
        /* An RSA key signs with PKCS#1 v1.5 padding unless told otherwise,
         * which is what RS256 means. */
        if (EVP_DigestSignInit(mdctx, NULL, EVP_sha256(), NULL, pkey) != 1 ||
            EVP_DigestSign(mdctx, sig, &sig_len, (unsigned char *)out,
                           signed_len) != 1) {
                snprintf(errstr, errstr_size, "JWT: signing failed (%s)",
                         ssl_reason());
                err = EV_ERR_CONFIG;
                goto out;
        }
        out[signed_len] = '.';
        ev_base64_encode(sig, sig_len, out + signed_len + 1, EV_BASE64_URL);
        *jwt = out;
        out = NULL;
        err = EV_OK;
        goto out;

nomem:
        snprintf(errstr, errstr_size, "JWT: out of memory");
        err = EV_ERR_NOMEM;
out:
        EVP_MD_CTX_free(mdctx);
        free(sig);
        free(out);
        free(claims_b64);
        free(header_b64);
        json_decref(claims);
        json_decref(header);
        return err;
}

enum ev_err ev_gauth_jwt_new(const char *email, const char *key_id,
                             const char *private_key_pem, const char *scope,
                             const char *aud, long long now, char **jwt,
                             char *errstr, size_t errstr_size)
{
        EVP_PKEY *pkey;
        enum ev_err err;

        *jwt = NULL;
        err = load_key("private key", private_key_pem, &pkey, errstr,
                       errstr_size);
        if (err)
                return err;
        err = jwt_sign(email, key_id, pkey, scope, aud, now, jwt, errstr,
                       errstr_size);
        EVP_PKEY_free(pkey);
        return err;
}

/* A token goes into an HTTP header: anything but visible ASCII there
 * would let the endpoint's answer add headers of its own. */
static bool token_chars_ok(const char *s, size_t len)
{
        size_t i;

        for (i = 0; i < len; i++) {
                if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
                        return false;
        }
        return true;
}

/* Escapes string's value into out for an errstr, with "..." when cut. */
static void quote(const json_t *string, size_t max_in, char *out,
                  size_t out_size)
{
        const char *s = json_string_value(string);
        size_t len = json_string_length(string);
        size_t used;

        used = ev_escape(s, len, max_in, 0, out, out_size - 3);
        if (used < len)
                strcat(out, "...");
}

/* The errstr and class of a non-2xx answer. */
static enum ev_err error_answer(long status, const char *body, size_t len,
                                char *errstr, size_t errstr_size)
{
        char error[ERROR_MAX * EV_ESCAPE_MAX_RATIO + 4];
        char description[DESCRIPTION_MAX * EV_ESCAPE_MAX_RATIO + 4];
        json_error_t jerr;
        json_t *root = NULL;
        json_t *code;        /* borrowed from root */
        json_t *explanation; /* borrowed from root */
        enum ev_err err;

        err = (status == 429 || status >= 500) ? EV_ERR_TRANSIENT
                                               : EV_ERR_PERMANENT;
        if (body && len)
                root = json_loadb(body, len, 0, &jerr);
        code = json_object_get(root, "error");
        if (!json_is_string(code)) {
                snprintf(errstr, errstr_size, "HTTP %ld", status);
                goto out;
        }
        quote(code, ERROR_MAX, error, sizeof(error));
        explanation = json_object_get(root, "error_description");
        if (json_is_string(explanation) && json_string_length(explanation)) {
                quote(explanation, DESCRIPTION_MAX, description,
                      sizeof(description));
                snprintf(errstr, errstr_size, "HTTP %ld: %s: %s", status, error,
                         description);
        } else {
                snprintf(errstr, errstr_size, "HTTP %ld: %s", status, error);
        }
out:
        json_decref(root);
        return err;
}

enum ev_err ev_gauth_parse_token(long status, const char *body, size_t len,
                                 char *token, size_t token_size,
                                 long *expires_in, char *errstr,
                                 size_t errstr_size)
{
        json_error_t jerr;
        json_t *root = NULL;
        json_t *access = NULL; /* borrowed from root */
        json_t *expiry;        /* borrowed from root */
        enum ev_err err = EV_ERR_PERMANENT;
        double seconds;
        size_t token_len;

        if (status < 200 || status > 299)
                return error_answer(status, body, len, errstr, errstr_size);
        if (body && len)
                root = json_loadb(body, len, 0, &jerr);
        if (!json_is_object(root)) {
                snprintf(errstr, errstr_size,
                         "HTTP %ld: the answer is not a JSON object", status);
                goto out;
        }
        access = json_object_get(root, "access_token");
        if (!json_is_string(access) || !json_string_length(access)) {
                snprintf(errstr, errstr_size,
                         "HTTP %ld: the answer has no access_token", status);
                goto out;
        }
        token_len = json_string_length(access);
        if (token_len >= token_size) {
                snprintf(errstr, errstr_size,
                         "HTTP %ld: the access_token of %zu bytes is longer "
                         "than the %zu allowed",
                         status, token_len, token_size - 1);
                goto out;
        }
        if (!token_chars_ok(json_string_value(access), token_len)) {
                snprintf(errstr, errstr_size,
                         "HTTP %ld: the access_token holds characters an HTTP "
                         "header cannot carry",
                         status);
                goto out;
        }
        expiry = json_object_get(root, "expires_in");
        if (!expiry) {
                seconds = EXPIRES_IN_DEFAULT;
        } else if (json_is_number(expiry)) {
                seconds = json_number_value(expiry);
        } else {
                snprintf(errstr, errstr_size,
                         "HTTP %ld: the answer's expires_in is not a number",
                         status);
                goto out;
        }
        if (seconds < 0)
                seconds = 0;
        if (seconds > EXPIRES_IN_MAX)
                seconds = EXPIRES_IN_MAX;
        *expires_in = (long)seconds;
        memcpy(token, json_string_value(access), token_len + 1);
        err = EV_OK;
out:
        json_secret_wipe(access);
        json_decref(root);
        return err;
}

/* Reads path into *root, a JSON object. errstr names the file and the
 * problem but never quotes it: jansson's own error text shows the bytes
 * near the error, which may be the private key. */
static enum ev_err load_json_file(const char *path, json_t **root, char *errstr,
                                  size_t errstr_size)
{
        json_error_t jerr;
        const char *what;
        json_t *json;
        FILE *fp;
        int read_errno;

        *root = NULL;
        fp = fopen(path, "rb");
        if (!fp) {
                snprintf(errstr, errstr_size, "credentials file %s: %s", path,
                         strerror(errno));
                return EV_ERR_CONFIG;
        }
        errno = 0;
        json = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
        read_errno = errno;
        if (!json && ferror(fp)) {
                snprintf(errstr, errstr_size,
                         "credentials file %s: cannot read it: %s", path,
                         read_errno ? strerror(read_errno) : "read error");
                goto fail;
        }
        if (!json) {
                switch (json_error_code(&jerr)) {
                case json_error_out_of_memory:
                        fclose(fp);
                        snprintf(errstr, errstr_size,
                                 "credentials file %s: out of memory", path);
                        return EV_ERR_NOMEM;
                case json_error_premature_end_of_input:
                        what = "truncated JSON";
                        break;
                case json_error_invalid_utf8:
                        what = "not UTF-8";
                        break;
                case json_error_duplicate_key:
                        what = "a duplicate key";
                        break;
                case json_error_null_character:
                        what = "a NUL byte";
                        break;
                default:
                        what = "not JSON";
                        break;
                }
                snprintf(errstr, errstr_size,
                         "credentials file %s: %s at line %d, column %d", path,
                         what, jerr.line, jerr.column);
                goto fail;
        }
        fclose(fp);
        if (!json_is_object(json)) {
                json_decref(json);
                snprintf(errstr, errstr_size,
                         "credentials file %s: not a JSON object", path);
                return EV_ERR_CONFIG;
        }
        *root = json;
        return EV_OK;

fail:
        fclose(fp);
        return EV_ERR_CONFIG;
}

/* Copies root's string field name into *out. A missing, empty or
 * non-string field is EV_ERR_CONFIG when required, else leaves *out NULL.
 */
static enum ev_err copy_field(const json_t *root, const char *name,
                              bool required, const char *path, char **out,
                              char *errstr, size_t errstr_size)
{
        json_t *field; /* borrowed from root */

        *out = NULL;
        field = json_object_get(root, name);
        if (!json_is_string(field) || !json_string_length(field)) {
                if (!required)
                        return EV_OK;
                snprintf(errstr, errstr_size,
                         "credentials file %s: no \"%s\" string", path, name);
                return EV_ERR_CONFIG;
        }
        *out = strdup(json_string_value(field));
        if (!*out) {
                snprintf(errstr, errstr_size,
                         "credentials file %s: out of memory", path);
                return EV_ERR_NOMEM;
        }
        return EV_OK;
}

/* A malloc'ed printf result, or NULL. */
static char *dup_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *dup_printf(const char *fmt, ...)
{
        va_list ap;
        char *s;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return NULL;
        s = malloc((size_t)n + 1);
        if (!s)
                return NULL;
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
        return s;
}

static enum ev_err load_service_account(struct ev_gauth *ga, json_t *root,
                                        const char *path, char *errstr,
                                        size_t errstr_size)
{
        char detail[256];
        char *pem = NULL;
        enum ev_err err;

        ga->kind = GAUTH_SERVICE_ACCOUNT;
        err = copy_field(root, "client_email", true, path, &ga->email, errstr,
                         errstr_size);
        if (!err)
                err = copy_field(root, "private_key_id", false, path,
                                 &ga->key_id, errstr, errstr_size);
        if (!err)
                err = copy_field(root, "token_uri", false, path, &ga->token_url,
                                 errstr, errstr_size);
        if (!err)
                err = copy_field(root, "private_key", true, path, &pem, errstr,
                                 errstr_size);
        if (err)
                goto out;
        err = load_key("private_key", pem, &ga->pkey, detail, sizeof(detail));
        if (err) {
                snprintf(errstr, errstr_size, "credentials file %s: %s", path,
                         detail);
                goto out;
        }
        ga->describe = dup_printf("service account %s (%s)", ga->email, path);
        if (!ga->describe) {
                snprintf(errstr, errstr_size, "out of memory");
                err = EV_ERR_NOMEM;
        }
out:
        secret_free(pem);
        return err;
}

static enum ev_err load_authorized_user(struct ev_gauth *ga, json_t *root,
                                        const char *path, char *errstr,
                                        size_t errstr_size)
{
        enum ev_err err;

        ga->kind = GAUTH_AUTHORIZED_USER;
        err = copy_field(root, "client_id", true, path, &ga->client_id, errstr,
                         errstr_size);
        if (!err)
                err = copy_field(root, "client_secret", true, path,
                                 &ga->client_secret, errstr, errstr_size);
        if (!err)
                err = copy_field(root, "refresh_token", true, path,
                                 &ga->refresh_token, errstr, errstr_size);
        if (!err)
                err = copy_field(root, "token_uri", false, path, &ga->token_url,
                                 errstr, errstr_size);
        if (err)
                return err;
        ga->describe = dup_printf("authorized user (%s)", path);
        if (!ga->describe) {
                snprintf(errstr, errstr_size, "out of memory");
                return EV_ERR_NOMEM;
        }
        return EV_OK;
}

static enum ev_err load_file(struct ev_gauth *ga, const char *path,
                             char *errstr, size_t errstr_size)
{
        char type_text[32 * EV_ESCAPE_MAX_RATIO + 4];
        json_t *root = NULL;
        json_t *type; /* borrowed from root */
        enum ev_err err;

        ga->label = dup_printf("credentials file %s", path);
        if (!ga->label) {
                snprintf(errstr, errstr_size, "out of memory");
                return EV_ERR_NOMEM;
        }
        err = load_json_file(path, &root, errstr, errstr_size);
        if (err)
                return err;
        type = json_object_get(root, "type");
        if (!json_is_string(type)) {
                snprintf(errstr, errstr_size,
                         "credentials file %s: no \"type\" string", path);
                err = EV_ERR_CONFIG;
        } else if (!strcmp(json_string_value(type), "service_account")) {
                err = load_service_account(ga, root, path, errstr, errstr_size);
        } else if (!strcmp(json_string_value(type), "authorized_user")) {
                err = load_authorized_user(ga, root, path, errstr, errstr_size);
        } else {
                quote(type, 32, type_text, sizeof(type_text));
                snprintf(errstr, errstr_size,
                         "credentials file %s: type \"%s\" is not "
                         "\"service_account\" or \"authorized_user\"",
                         path, type_text);
                err = EV_ERR_CONFIG;
        }
        if (!err && !ga->token_url) {
                ga->token_url = strdup(EV_GAUTH_DEFAULT_TOKEN_URI);
                if (!ga->token_url) {
                        snprintf(errstr, errstr_size, "out of memory");
                        err = EV_ERR_NOMEM;
                }
        }
        json_secret_wipe(json_object_get(root, "private_key"));
        json_secret_wipe(json_object_get(root, "client_secret"));
        json_secret_wipe(json_object_get(root, "refresh_token"));
        json_decref(root);
        return err;
}

static enum ev_err use_metadata_server(struct ev_gauth *ga, char *errstr,
                                       size_t errstr_size)
{
        const char *host = getenv("GCE_METADATA_HOST");

        if (!host || !*host)
                host = METADATA_HOST;
        ga->kind = GAUTH_METADATA;
        ga->label = dup_printf("metadata server %s", host);
        ga->describe = dup_printf("metadata server (%s)", host);
        ga->token_url = dup_printf("http://%s%s", host, METADATA_TOKEN_PATH);
        if (!ga->label || !ga->describe || !ga->token_url) {
                snprintf(errstr, errstr_size, "out of memory");
                return EV_ERR_NOMEM;
        }
        /* The metadata server answers only on the instance's own link: a
         * proxy from http_proxy could not reach it, and would see the
         * token. This handle talks to nothing else. */
        curl_easy_setopt(ga->easy, CURLOPT_NOPROXY, "*");
        return EV_OK;
}

/* gcloud's application default credentials file, when $HOME has one:
 * malloc'ed, or NULL. */
static char *gcloud_file(void)
{
        const char *home = getenv("HOME");
        struct stat st;
        char *path;

        if (!home || !*home)
                return NULL;
        path = dup_printf("%s%s", home, GCLOUD_ADC_FILE);
        if (path && stat(path, &st) != 0) {
                free(path);
                path = NULL;
        }
        return path;
}

struct ev_gauth *ev_gauth_new(const char *path, const char *scope,
                              enum ev_err *err, char *errstr,
                              size_t errstr_size)
{
        struct ev_gauth *ga;
        const char *env = getenv("GOOGLE_APPLICATION_CREDENTIALS");
        char *gcloud = NULL;

        ga = calloc(1, sizeof(*ga));
        if (!ga)
                goto nomem;
        if (pthread_mutex_init(&ga->lock, NULL) != 0)
                goto nomem;
        ga->lock_ready = true;
        ga->scope = strdup(scope ? scope : EV_GAUTH_SCOPE_PUBSUB);
        ga->easy = ev_http_easy_new();
        if (!ga->scope || !ga->easy)
                goto nomem;

        if (path && *path) {
                *err = load_file(ga, path, errstr, errstr_size);
        } else if (env && *env) {
                *err = load_file(ga, env, errstr, errstr_size);
        } else {
                gcloud = gcloud_file();
                if (gcloud)
                        *err = load_file(ga, gcloud, errstr, errstr_size);
                else
                        *err = use_metadata_server(ga, errstr, errstr_size);
        }
        free(gcloud);
        if (*err)
                goto fail;
        return ga;

nomem:
        *err = EV_ERR_NOMEM;
        snprintf(errstr, errstr_size, "out of memory");
fail:
        ev_gauth_destroy(ga);
        return NULL;
}

const char *ev_gauth_describe(const struct ev_gauth *ga)
{
        return ga->describe;
}

/* The form body of a service account's token request: a new assertion
 * each time, since it carries the time. */
static enum ev_err service_account_body(struct ev_gauth *ga, char **body,
                                        char *errstr, size_t errstr_size)
{
        char detail[256];
        enum ev_err err;
        char *jwt;

        err =
            jwt_sign(ga->email, ga->key_id, ga->pkey, ga->scope, ga->token_url,
                     (long long)time(NULL), &jwt, detail, sizeof(detail));
        if (err) {
                snprintf(errstr, errstr_size, "%s: %s", ga->label, detail);
                return err;
        }
        *body = dup_printf("grant_type=%s&assertion=%s", JWT_BEARER_GRANT, jwt);
        secret_free(jwt);
        if (!*body) {
                snprintf(errstr, errstr_size, "out of memory");
                return EV_ERR_NOMEM;
        }
        return EV_OK;
}

static enum ev_err authorized_user_body(struct ev_gauth *ga, char **body,
                                        char *errstr, size_t errstr_size)
{
        char *id, *secret, *refresh;
        enum ev_err err = EV_ERR_NOMEM;
        size_t size;

        id = curl_easy_escape(ga->easy, ga->client_id, 0);
        secret = curl_easy_escape(ga->easy, ga->client_secret, 0);
        refresh = curl_easy_escape(ga->easy, ga->refresh_token, 0);
        if (!id || !secret || !refresh)
                goto out;
        size = sizeof("grant_type=refresh_token&client_id=&client_secret="
                      "&refresh_token=") +
               strlen(id) + strlen(secret) + strlen(refresh);
        *body = malloc(size);
        if (!*body)
                goto out;
        snprintf(*body, size,
                 "grant_type=refresh_token&client_id=%s&client_secret=%s"
                 "&refresh_token=%s",
                 id, secret, refresh);
        err = EV_OK;
out:
        if (err)
                snprintf(errstr, errstr_size, "out of memory");
        if (secret)
                OPENSSL_cleanse(secret, strlen(secret));
        if (refresh)
                OPENSSL_cleanse(refresh, strlen(refresh));
        curl_free(refresh);
        curl_free(secret);
        curl_free(id);
        return err;
}

/* Fetches a new token into ga->token. Called with ga->lock held. */
static enum ev_err refresh(struct ev_gauth *ga, char *errstr,
                           size_t errstr_size)
{
        struct ev_http_req req = {0};
        char token[TOKEN_MAX];
        char detail[768];
        char *body = NULL;
        long expires_in = 0;
        enum ev_err err = EV_OK;
        double started;

        /* The token's lifetime runs from when the endpoint issued it, some
         * time after this. */
        started = ev_signals_now();
        req.url = ga->token_url;
        req.timeout_s = TOKEN_TIMEOUT_S;
        switch (ga->kind) {
        case GAUTH_SERVICE_ACCOUNT:
                err = service_account_body(ga, &body, errstr, errstr_size);
                break;
        case GAUTH_AUTHORIZED_USER:
                err = authorized_user_body(ga, &body, errstr, errstr_size);
                break;
        case GAUTH_METADATA:
                req.method = "GET";
                req.extra_header = METADATA_FLAVOR;
                break;
        }
        if (err)
                goto out;
        if (body) {
                req.method = "POST";
                req.content_type = FORM_TYPE;
                req.body = body;
                req.body_len = strlen(body);
        }
        err =
            ev_http_perform(ga->easy, &req, &ga->resp, detail, sizeof(detail));
        if (err) {
                snprintf(errstr, errstr_size, "%s: token request: %s",
                         ga->label, detail);
                goto out;
        }
        err = ev_gauth_parse_token(ga->resp.status, ga->resp.body, ga->resp.len,
                                   token, sizeof(token), &expires_in, detail,
                                   sizeof(detail));
        if (err) {
                snprintf(errstr, errstr_size, "%s: token endpoint %.200s: %s",
                         ga->label, ga->token_url, detail);
                goto out;
        }
        memcpy(ga->token, token, sizeof(token));
        ga->have_token = true;
        ga->expiry = started + (double)expires_in;
        ga->next_refresh = 0;
out:
        if (ga->resp.body)
                OPENSSL_cleanse(ga->resp.body, ga->resp.len);
        OPENSSL_cleanse(token, sizeof(token));
        secret_free(body);
        return err;
}

enum ev_err ev_gauth_authorization(struct ev_gauth *ga, char *buf, size_t size,
                                   char *errstr, size_t errstr_size)
{
        enum ev_err err = EV_OK;
        double left;
        int n;

        pthread_mutex_lock(&ga->lock);
        left = ga->have_token ? ga->expiry - ev_signals_now() : 0;
        if (left < EV_GAUTH_REFRESH_MARGIN_S &&
            !(left >= USABLE_LEFT_S && ev_signals_now() < ga->next_refresh)) {
                err = refresh(ga, errstr, errstr_size);
                left = ga->have_token ? ga->expiry - ev_signals_now() : 0;
                if (err && left >= USABLE_LEFT_S) {
                        /* The caller is better served by a token that
                         * still works than by an error; the endpoint gets
                         * another try in RETRY_S. */
                        ev_log(EV_LOG_WARN,
                               "%s; the cached token, valid for %.0f s more, "
                               "stays in use",
                               errstr, left);
                        ga->next_refresh = ev_signals_now() + RETRY_S;
                        err = EV_OK;
                }
                if (err)
                        goto out;
        }
        n = snprintf(buf, size, "Bearer %s", ga->token);
        if (n < 0 || (size_t)n >= size) {
                OPENSSL_cleanse(buf, size);
                snprintf(errstr, errstr_size,
                         "a buffer of %zu bytes cannot hold the token", size);
                err = EV_ERR_PERMANENT;
        }
out:
        pthread_mutex_unlock(&ga->lock);
        return err;
}

void ev_gauth_destroy(struct ev_gauth *ga)
{
        if (!ga)
                return;
        if (ga->easy)
                curl_easy_cleanup(ga->easy);
        if (ga->resp.body)
                OPENSSL_cleanse(ga->resp.body, ga->resp.cap);
        ev_http_resp_free(&ga->resp);
        OPENSSL_cleanse(ga->token, sizeof(ga->token));
        secret_free(ga->refresh_token);
        secret_free(ga->client_secret);
        free(ga->client_id);
        EVP_PKEY_free(ga->pkey);
        free(ga->key_id);
        free(ga->email);
        free(ga->token_url);
        free(ga->scope);
        free(ga->describe);
        free(ga->label);
        if (ga->lock_ready)
                pthread_mutex_destroy(&ga->lock);
        free(ga);
}
