/*
 * The firestore sink's connection to Cloud Firestore: the commit URL, the
 * credentials (the datastore scope; none with the emulator) and one
 * kept-alive HTTP connection, with each commit retried as the Pub/Sub
 * transport retries its calls (gapi.h). The pure part is firestore_api.h.
 * Used by one thread.
 */
#ifndef EV_FIRESTORE_CLIENT_H
#define EV_FIRESTORE_CLIENT_H

#include <stddef.h>

#include "config.h"
#include "err.h"

struct ev_firestore_client;

/*
 * From cfg: project (EV_ERR_USAGE unless a valid project id),
 * firestore_database, firestore_endpoint or firestore_emulator_host (then
 * plain HTTP, "Authorization: Bearer owner" as Google's client libraries
 * send it, which the emulator takes as an administrator's, past any
 * security rules), credentials. Each commit is retried for up to
 * retry_budget seconds. Makes no request; logs one line saying where it
 * writes. cfg is borrowed and must outlive the client. NULL with *err and
 * errstr set on failure.
 */
struct ev_firestore_client *
ev_firestore_client_new(const struct ev_config *cfg, double retry_budget,
                        enum ev_err *err, char *errstr, size_t errstr_size);

/* "projects/P/databases/D", the start of every document name. Owned by
 * fc. */
const char *ev_firestore_client_database(const struct ev_firestore_client *fc);

/*
 * POSTs body[0..len), a commit of writes writes (ev_firestore_commit_body).
 * EV_OK: committed. EV_ERR_TRANSIENT: no answer or a passing refusal
 * within the retry budget (committed or not: writing again is safe).
 * EV_ERR_PERMANENT: refused, or answered with something that is not a
 * commit's answer. errstr says what happened.
 */
enum ev_err ev_firestore_client_commit(struct ev_firestore_client *fc,
                                       const char *body, size_t len,
                                       size_t writes, char *errstr,
                                       size_t errstr_size);

/* Frees fc (NULL is a no-op). */
void ev_firestore_client_destroy(struct ev_firestore_client *fc);

#endif
