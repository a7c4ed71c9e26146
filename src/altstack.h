/*
 * Alternate signal stacks (altstack.c): the one each thread that runs
 * fibers needs, and spares for fibers resumed from a signal handler
 * that is itself running on one.
 */
#ifndef TETHER_ALTSTACK_H
#define TETHER_ALTSTACK_H

#include <signal.h>
#include <stdint.h>

struct tether_thread;

/* How deep resumes from handlers on alternate stacks may nest. */
#define TETHER_ALTSTACK_SPARES 4

/* One alternate stack tether mapped: a guard page, then the stack. */
struct tether_altstack {
    char *map;
    size_t len;
};

/* A thread's alternate stacks. */
struct tether_altstacks {
    uintptr_t lo, hi;       /* the one registered now: a signal lands at hi */
    int depth;              /* 0: the thread's own (or ours); n: spare n */
    struct tether_altstack own;          /* ours, if the thread had none */
    stack_t before;                      /* what the thread had before ours */
    struct tether_altstack spare[TETHER_ALTSTACK_SPARES];
};

/*
 * A thread gets an alternate stack (64 KiB and a guard page) at its first
 * resume, unless it has one of 32 KiB or more, and gives it back when it
 * exits (registered with thread.c).
 */

/*
 * Is the caller running on the registered alternate stack (a signal
 * handler)? A fault of a fiber it resumes would be delivered at the top
 * of that same stack, over the handler's live frames. Inline: resume
 * asks every time, with two compares.
 */
static inline int tether__altstack_in_use(const struct tether_altstacks *a)
{
    uintptr_t sp;
    __asm__("movq %%rsp, %0" : "=r"(sp)); /* (arch.h is above this layer) */
    return sp >= a->lo && sp < a->hi;
}

/*
 * Registers the next spare alternate stack (mapped on first use), for a
 * fiber resumed from a handler running on the current one; *prev
 * receives what it replaces. Returns 0, -ENOMEM, or -EDEADLK when
 * TETHER_ALTSTACK_SPARES are in use already.
 */
int tether__altstack_push(struct tether_thread *t, stack_t *prev);

/* Registers *prev again, when that resume is over. */
void tether__altstack_pop(struct tether_thread *t, const stack_t *prev);

#endif
