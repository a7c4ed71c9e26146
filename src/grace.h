/*
 * Grace periods for data that signal handlers read (grace.c): a writer
 * replaces what readers may be using, then waits until every reader that
 * could have seen the old version has left, before freeing it. Readers
 * never block and never allocate: they may be signal handlers. Writers
 * take their own lock and may sleep.
 *
 * A reader:  int i = tether__grace_enter(&g);  ... load and use ...
 *            tether__grace_leave(&g, i);
 * A writer:  publish the new version; tether__grace_wait(&g); free the old.
 */
#ifndef TETHER_GRACE_H
#define TETHER_GRACE_H

#include <stdatomic.h>

struct tether_grace {
    _Atomic unsigned long phase;
    _Atomic long readers[2]; /* readers that entered in an even, odd phase */
};

/*
 * Enters a read section. The count is taken, then the phase checked
 * again: a reader that counted itself in a phase the writer has already
 * left behind tries again, so the writer either waits for it or it reads
 * the new version. Async-signal-safe (it nests: a handler may read inside
 * a reader it interrupted).
 */
static inline int tether__grace_enter(struct tether_grace *g)
{
    for (;;) {
        unsigned long p = atomic_load(&g->phase);
        int i = (int)(p & 1);
        atomic_fetch_add(&g->readers[i], 1);
        if (atomic_load(&g->phase) == p)
            return i;
        atomic_fetch_sub(&g->readers[i], 1);
    }
}

static inline void tether__grace_leave(struct tether_grace *g, int i)
{
    atomic_fetch_sub(&g->readers[i], 1);
}

/*
 * Waits until no reader that entered before this call is left (call it
 * after publishing the new version, with the writers' lock held). Not
 * for signal handlers, nor for a thread inside a read section.
 */
void tether__grace_wait(struct tether_grace *g);

#endif
