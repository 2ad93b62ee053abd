/*
 * Process signal handling: a single async-signal-safe flag. Owns no memory.
 */
#include "signals.h"

#include <pthread.h>

#include <signal.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
        (void)sig;
        stop_requested = 1;
}

void ev_signals_install(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
}

bool ev_signals_stop_requested(void)
{
        return stop_requested != 0;
}

double ev_signals_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ev_signals_block_stop(sigset_t *old)
{
        sigset_t block;

        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &block, old);
}

void ev_signals_restore(const sigset_t *old)
{
        pthread_sigmask(SIG_SETMASK, old, NULL);
}
