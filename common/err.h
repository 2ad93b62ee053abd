/*
 * The error classes every fallible function in event-ingest returns.
 * The class decides what the caller does: retry, give up, or report.
 */
#ifndef EV_ERR_H
#define EV_ERR_H

enum ev_err {
        EV_OK = 0,
        EV_ERR_USAGE,     /* bad flag or environment value (EX_USAGE) */
        EV_ERR_CONFIG,    /* the client library rejected a setting */
        EV_ERR_TRANSIENT, /* worth retrying: broker busy, queue full */
        EV_ERR_PERMANENT, /* retrying will not help */
        EV_ERR_FATAL,     /* the client cannot go on at all */
        EV_ERR_IO,        /* our own output or input failed */
        EV_ERR_NOMEM,
};

/* The sysexits(3) code a process exits with after err: EX_USAGE (64),
 * EX_CONFIG (78), EX_IOERR (74), EX_OSERR (71), EX_UNAVAILABLE (69) for
 * broker and delivery failures. */
int ev_err_exit_code(enum ev_err err);

#endif
