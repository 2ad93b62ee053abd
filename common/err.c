/*
 * The mapping from error classes to sysexits(3) exit codes, shared by both
 * binaries so that the same failure exits the same way.
 */
#include "err.h"

#include <sysexits.h>

int ev_err_exit_code(enum ev_err err)
{
        switch (err) {
        case EV_OK:
                return EX_OK;
        case EV_ERR_USAGE:
                return EX_USAGE;
        case EV_ERR_CONFIG:
                return EX_CONFIG;
        case EV_ERR_IO:
                return EX_IOERR;
        case EV_ERR_NOMEM:
                return EX_OSERR;
        case EV_ERR_TRANSIENT:
        case EV_ERR_PERMANENT:
        case EV_ERR_FATAL:
                return EX_UNAVAILABLE;
        }
        return EX_SOFTWARE;
}
