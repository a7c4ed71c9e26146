/*
 * The process-wide signal handler: installed once, it sends each signal
 * to the part of tether it concerns (fault.c, kill.c) and chains the
 * rest to the handler that was installed before.
 */
#ifndef TETHER_SIGNALS_H
#define TETHER_SIGNALS_H

#include <signal.h>

/* The signal that carries kills and deadlines to a running fiber. */
#define TETHER_KILL_SIGNAL SIGURG

/* Installs the handlers, once per process. Returns 0 or -EAGAIN. */
int tether__signals_install(void);

/*
 * Passes a signal tether does not take to the handler installed before
 * tether's, or makes the process die of it as it would have without
 * tether. Async-signal-safe.
 */
void tether__signal_chain(int sig, siginfo_t *info, void *uc);

/* The handlers proper. Each returns 1 if the signal was tether's. */
int tether__fault_handle(int sig, siginfo_t *info, void *uc);
int tether__kill_handle(siginfo_t *info, void *uc);

#endif
