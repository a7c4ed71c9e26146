/*
 * The process-wide signal handler, at the bottom of tether's layers.
 *
 * Installed once, it asks its clients about each signal, in order: the
 * parts of tether that take signals (code-range responses, the fault
 * handler chain, guarded calls, fibers' faults, kills and deadlines)
 * register here with a TETHER_SIGNAL_CLIENT line in their own file, and
 * this file names none of them. A signal no client takes goes to the
 * handler installed before tether's, or meets its default action, as it
 * would have without tether.
 *
 * Everything reached from the handler is async-signal-safe (no malloc,
 * no locks, no stdio) and keeps errno.
 */
#ifndef TETHER_SIGNALS_H
#define TETHER_SIGNALS_H

#include <signal.h>

/* The signal that carries kills and deadlines to a running fiber. */
#define TETHER_KILL_SIGNAL SIGURG

struct tether_signal_client {
    int order; /* asked lowest first (the TETHER_SIGNAL_ORDER_ values) */
    /*
     * A fault the kernel raised: SIGSEGV, SIGBUS, SIGILL or SIGFPE with
     * si_code > 0. Returns 1 if taken (the context may have been edited:
     * the thread continues there), 0 to let the next client see it.
     */
    int (*fault)(int sig, siginfo_t *info, void *uc);
    /* TETHER_KILL_SIGNAL, from anyone. Returns 1 if taken, 0 if not. */
    int (*interrupt)(siginfo_t *info, void *uc);
};

/* The order of tether's clients. */
enum {
    TETHER_SIGNAL_ORDER_WALK = 0,      /* a stack walk that read bad memory (frame_walk.c) */
    TETHER_SIGNAL_ORDER_SEQUENCE = 10, /* code ranges with their own response */
    TETHER_SIGNAL_ORDER_CHAIN = 20,    /* the users' fault handlers */
    TETHER_SIGNAL_ORDER_GUARDED = 30,  /* guarded calls on the caller's stack */
    TETHER_SIGNAL_ORDER_DEADLINE = 35, /* a deadline marks its fibers killed */
    TETHER_SIGNAL_ORDER_FIBER = 40,    /* a running fiber's fault, or its kill */
};

#define TETHER_SIGNAL_CLIENT(order, fault, interrupt)                                      \
    static const struct tether_signal_client tether_signal_client_ = {order, fault,      \
                                                                       interrupt};        \
    __attribute__((used, section("tether_signal_clients"), aligned(sizeof(void *))))     \
    static const struct tether_signal_client *const tether_signal_client_entry_ =        \
        &tether_signal_client_

/* Installs the handlers, once per process. Returns 0 or -EAGAIN. */
int tether__signals_install(void);

/*
 * Says that the handler sends the thread to a host, at a call boundary
 * (a fiber's host, a guarded call's caller): clears tether's signals from
 * the mask the context will return with (they must not stay blocked
 * there because the code it left had blocked them), and has the handler
 * leave by setcontext() rather than by sigreturn (signals.c says why and
 * when). The client's last edit of the context. Async-signal-safe.
 */
void tether__signals_to_host(void *uc);

#endif
