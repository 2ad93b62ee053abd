/*
 * Google authentication for the Pub/Sub transport: Application Default
 * Credentials, turned into OAuth2 access tokens that are cached and
 * refreshed before they expire. Part of the Pub/Sub family (uses http.h).
 *
 * Secrets: no private key, refresh token, client secret, assertion or
 * access token is ever written to a log line or an errstr. Errors name the
 * credentials file and the endpoint, and quote only the token endpoint's
 * "error" and "error_description" fields.
 */
#ifndef EV_GAUTH_H
#define EV_GAUTH_H

#include <stddef.h>

#include "err.h"

/* The scope the Pub/Sub transport asks for. */
#define EV_GAUTH_SCOPE_PUBSUB "https://www.googleapis.com/auth/pubsub"
/* Where an authorized_user file's refresh token and a service account key
 * without token_uri are exchanged. */
#define EV_GAUTH_DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"
/* A cached token is replaced once it has less than this left. */
#define EV_GAUTH_REFRESH_MARGIN_S 300

struct ev_gauth;

/*
 * Finds credentials in the Application Default Credentials order:
 *   1. path, when not NULL (CREDENTIALS_PATH), else the file named by
 *      $GOOGLE_APPLICATION_CREDENTIALS when that is set and not empty;
 *   2. gcloud's file,
 * $HOME/.config/gcloud/application_default_credentials.json, when it exists;
 *   3. the metadata server (Cloud Run, GKE, GCE): $GCE_METADATA_HOST, default
 *      metadata.google.internal, over plain HTTP.
 * A file is a "service_account" key (client_email, private_key,
 * private_key_id, token_uri) or an "authorized_user" file (client_id,
 * client_secret, refresh_token). A file from 1 or 2 that is missing,
 * unreadable, not JSON, of another type or lacking a field is EV_ERR_CONFIG,
 * with errstr naming the file and the problem, never its contents; a
 * private key OpenSSL cannot read is EV_ERR_CONFIG too.
 *
 * Makes no network request: the first token is fetched by
 * ev_gauth_authorization. scope is copied. Returns NULL with *err and
 * errstr set on failure.
 */
struct ev_gauth *ev_gauth_new(const char *path, const char *scope,
                              enum ev_err *err, char *errstr,
                              size_t errstr_size);

/* What the credentials are, for one log line: "service account
 * NAME@PROJECT.iam.gserviceaccount.com (key.json)", "authorized user
 * (FILE)", "metadata server (HOST)". Owned by ga. */
const char *ev_gauth_describe(const struct ev_gauth *ga);

/*
 * Writes "Bearer TOKEN" into buf (size bytes; 4096 always suffices),
 * fetching a new token first when there is none or the cached one has
 * less than EV_GAUTH_REFRESH_MARGIN_S left. Safe to call from several
 * threads at once (a mutex serialises fetches).
 *
 * Errors: EV_ERR_TRANSIENT when the token endpoint could not be reached or
 * answered 429/5xx (the caller retries with backoff); EV_ERR_PERMANENT
 * when it refused the credentials (4xx: invalid_grant, unauthorized_client)
 * or answered something that is not a token. errstr never holds a secret.
 */
enum ev_err ev_gauth_authorization(struct ev_gauth *ga, char *buf, size_t size,
                                   char *errstr, size_t errstr_size);

/* Frees ga. NULL is a no-op. */
void ev_gauth_destroy(struct ev_gauth *ga);

/*
 * Pure parts, exposed for the unit tests.
 */

/*
 * The RS256 JWT a service account exchanges for a token: header
 * {"alg":"RS256","typ":"JWT","kid":key_id} (kid left out when key_id is
 * NULL), claims {"iss":email,"scope":scope,"aud":aud,"iat":now,
 * "exp":now+3600}, both base64url without padding, signed with
 * private_key_pem (PKCS#8 or PKCS#1 PEM, RSA) over "HEADER.CLAIMS" with
 * SHA-256 and PKCS#1 v1.5. Sets *jwt to a malloc'ed string the caller
 * frees. EV_ERR_CONFIG when the key cannot be read or is not RSA (errstr
 * does not quote it), EV_ERR_NOMEM.
 */
enum ev_err ev_gauth_jwt_new(const char *email, const char *key_id,
                             const char *private_key_pem, const char *scope,
                             const char *aud, long long now, char **jwt,
                             char *errstr, size_t errstr_size);

/*
 * Reads a token endpoint's (or the metadata server's) answer with HTTP
 * status: on 200, {"access_token":T,"expires_in":N,...} gives T in token
 * (token_size bytes; too long is EV_ERR_PERMANENT) and N in *expires_in
 * (3600 when absent). Otherwise the status class decides the error as for
 * ev_gauth_authorization, and errstr holds "HTTP S: error:
 * error_description" from an {"error":...,"error_description":...} body,
 * escaped and bounded, or just "HTTP S" for any other body.
 */
enum ev_err ev_gauth_parse_token(long status, const char *body, size_t len,
                                 char *token, size_t token_size,
                                 long *expires_in, char *errstr,
                                 size_t errstr_size);

#endif
