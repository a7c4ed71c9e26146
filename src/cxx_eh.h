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

void tether__cxx_eh_swap_slow(struct tether_cxx_eh *slot);

/*
 * Exchanges the thread's state with *slot: called before switching into
 * a fiber (the fiber's state goes in, the host's into the slot) and
 * after it comes back (the other way round). No-op without libstdc++.
 */
static inline void tether__cxx_eh_swap(struct tether_cxx_eh *slot)
{
    if (atomic_load_explicit(&tether__cxx_get_globals, memory_order_relaxed))
        tether__cxx_eh_swap_slow(slot);
}

/*
 * Throws the unwind as a C++ abi::__forced_unwind; `destroyed` is called
 * when the runtime destroys it (a catch block ended without rethrowing,
 * or tether disposed of it at the bottom frame). Does not return when
 * libstdc++ is loaded; returns -1 when it is not.
 */
int tether__cxx_eh_throw_unwind(void (*destroyed)(void *));

/* Disposes of an exception that reached a fiber's bottom frame. */
void tether__cxx_eh_discard(struct _Unwind_Exception *e);

#endif
