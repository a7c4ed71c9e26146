/* The fiber object, shared by the files that implement fibers. */
#ifndef TETHER_FIBER_IMPL_H
#define TETHER_FIBER_IMPL_H

#include <stdatomic.h>
#include <tether/fiber.h>

#include "stack.h"

struct tether_fiber {
    /*
     * A tether_state. Changed only by the host side, after the fiber's
     * registers are saved: a fiber is never marked resumable while it
     * still runs on its stack. Resume claims it with a compare-exchange.
     */
    _Atomic int state;
    int stop;                    /* the state it stops in: set on the fiber */
    void *sp;                    /* its saved stack pointer while suspended */
    void *record;                /* host record at the top of its stack */
    struct tether_fiber *parent; /* its host while running; NULL = a thread */
    tether_fn fn;
    void *arg;
    struct tether_stack stack;
};

#endif
