/* The C++ runtime's per-thread exception state, kept per fiber (cxx_eh.c). */
#ifndef TETHER_CXX_EH_H
#define TETHER_CXX_EH_H

#include <stdatomic.h>
#include <stddef.h>
#include <unwind.h>

/* A fiber's copy of the runtime's caught list and uncaught count. */
struct tether_cxx_eh {
    void *caught;
    unsigned int uncaught;
};

/* Looks for libstdc++ in the process, until it is found. */
void tether__cxx_eh_probe(void);

/* libstdc++'s __cxa_get_globals, once found; NULL until then. */
extern void *(*_Atomic tether__cxx_get_globals)(void);

void tether__cxx_eh_swap_slow(struct tether_cxx_eh *slot, void *(*get)(void));

/*
 * Exchanges the thread's state with *slot before switching into a fiber
 * (the fiber's state goes in, the host's into the slot), and back after
 * it returns. swap_in's answer goes to swap_out, so that both make the
 * same decision even if libstdc++ was found while the fiber ran.
 */
static inline void *tether__cxx_eh_swap_in(struct tether_cxx_eh *slot)
{
    void *(*get)(void) =
        atomic_load_explicit(&tether__cxx_get_globals, memory_order_acquire);

    if (get)
        tether__cxx_eh_swap_slow(slot, get);
    return (void *)get;
}

static inline void tether__cxx_eh_swap_out(struct tether_cxx_eh *slot, void *token)
{
    if (token)
        tether__cxx_eh_swap_slow(slot, (void *(*)(void))token);
}

/*
 * The calling thread's (so the running fiber's) exceptions: how many are
 * in flight, and whether one is being handled. Returns -1 without C++.
 */
int tether__cxx_eh_state(unsigned int *in_flight, int *handling);

/*
 * A C++ exception object of type abi::__forced_unwind, counted in
 * flight as if thrown, to raise with _Unwind_ForcedUnwind; NULL when
 * libstdc++ is not loaded (or too old to make one).
 */
struct _Unwind_Exception *tether__cxx_eh_forced_unwind(void);

/* Disposes of an exception that reached a fiber's bottom frame. */
void tether__cxx_eh_discard(struct _Unwind_Exception *e);

#endif
