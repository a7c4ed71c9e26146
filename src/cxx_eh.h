/* The C++ runtime's per-thread exception state, kept per fiber (cxx_eh.c). */
#ifndef TETHER_CXX_EH_H
#define TETHER_CXX_EH_H

#include <stdatomic.h>
#include <stddef.h>
#include <unwind.h>

#include "thread.h"

/* A fiber's copy of the runtime's caught list and uncaught count. */
struct tether_cxx_eh {
    void *caught;
    unsigned int uncaught;
};

/* Looks for libstdc++ in the process, until it is found. */
void tether__cxx_eh_probe(void);

/* libstdc++'s __cxa_get_globals, once found; NULL until then. */
extern void *(*_Atomic tether__cxx_get_globals)(void);

/* libstdc++'s per-thread record (unwind-cxx.h), on x86_64. */
struct tether_cxa_eh_globals {
    void *caught;
    unsigned int uncaught;
};

/*
 * Exchanges the thread's C++ exception state with *slot: on the way
 * into a fiber (its state in, the host's into the slot) and on the way
 * out (the other way round). Exchanging two empty states changes
 * nothing, so only non-empty ones are exchanged: a switch between code
 * that is handling no exception costs four loads, and libstdc++'s
 * per-thread record is looked up once per thread (cached in t). A
 * record found while a fiber runs is still right: the host's state was
 * empty when there was no libstdc++ to have one. Inline: on every switch.
 */
struct tether_cxa_eh_globals *tether__cxx_eh_first(struct tether_thread *t);

/*
 * Does this thread know where its C++ state is (or that there is none)?
 * The fast paths swap without a call; the first switch of a thread after
 * libstdc++ appeared takes the slow way, which looks it up.
 */
static inline int tether__cxx_eh_known(const struct tether_thread *t)
{
    return t->cxx_globals ||
           !atomic_load_explicit(&tether__cxx_get_globals, memory_order_relaxed);
}

/* Exchanges *g (the thread's state, or NULL: no libstdc++) with *slot. */
static inline void tether__cxx_eh_exchange(struct tether_cxa_eh_globals *g,
                                           struct tether_cxx_eh *slot)
{
    struct tether_cxa_eh_globals was;

    if (!g || !(g->caught || g->uncaught || slot->caught || slot->uncaught))
        return;
    was = *g;
    g->caught = slot->caught;
    g->uncaught = slot->uncaught;
    slot->caught = was.caught;
    slot->uncaught = was.uncaught;
}

static inline void tether__cxx_eh_swap(struct tether_thread *t, struct tether_cxx_eh *slot)
{
    struct tether_cxa_eh_globals *g = t->cxx_globals;

    if (__builtin_expect(!g, 0) &&
        atomic_load_explicit(&tether__cxx_get_globals, memory_order_relaxed))
        g = tether__cxx_eh_first(t);
    tether__cxx_eh_exchange(g, slot);
}

/* The same for a thread where tether__cxx_eh_known(): no call to look anything up. */
static inline void tether__cxx_eh_swap_known(struct tether_thread *t, struct tether_cxx_eh *slot)
{
    tether__cxx_eh_exchange(t->cxx_globals, slot);
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
