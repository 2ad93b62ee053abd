/*
 * The stop request both binaries honour: SIGINT and SIGTERM set a flag that
 * their main loops poll between units of work, so nothing is cut off in
 * the middle of a message.
 */
#ifndef EV_SIGNALS_H
#define EV_SIGNALS_H

#include <signal.h>
#include <stdbool.h>

/* Installs the SIGINT/SIGTERM handlers (without SA_RESTART, so blocking
 * calls return early) and ignores SIGPIPE, so a closed output shows up as
 * EPIPE from write rather than killing the process. */
void ev_signals_install(void);

/* True once SIGINT or SIGTERM has arrived. */
bool ev_signals_stop_requested(void);

/* Blocks SIGINT and SIGTERM in the calling thread, saving its mask in old:
 * around starting a helper thread, which inherits the mask, so that the
 * signals reach the main thread and cut its waits short. Restore with
 * ev_signals_restore. */
void ev_signals_block_stop(sigset_t *old);
void ev_signals_restore(const sigset_t *old);

/* Seconds on a monotonic clock, for pacing and timeouts. */
double ev_signals_now(void);

#endif
