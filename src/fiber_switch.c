/*
 * The hot paths: tether_fiber_resume and tether_yield, the fast way.
 *
 * Each does its work inline (the claim, fiber_claim.h; the thread's
 * current fiber and the C++ state, fiber_impl.h and cxx_eh.h) and ends
 * with a tail call into the switch (asm/): the switch saves the return
 * address of our own caller and later goes back to it with a jump, so no
 * ret on the way mispredicts. Everything rare goes to the slow way
 * (fiber.c), by a tail call too, so that these functions save no
 * register of their own: a first resume on a thread, nested fibers, a
 * claim another thread must give up, a pending kill or unwind, a resume
 * from a signal handler, a yield near the guard, the first switch of a
 * thread after libstdc++ appeared. This file is built without frame
 * pointers: its frames are gone by the time the other side runs.
 */
#include <errno.h>

#include "fiber_claim.h"
#include "fiber_impl.h"

int tether_fiber_resume(tether_fiber *f, void *in, void **out)
{
    struct tether_thread *t = &tether__thread;

    if (TETHER_SANITIZE) /* the sanitizers must hear of the switch on both sides */
        return tether__resume_slow(f, in, out);

    if (__builtin_expect(!f || !t->ready || t->current || !tether__cxx_eh_known(t) ||
                             tether__altstack_in_use(&t->alt), 0))
        return tether__resume_slow(f, in, out);
    if (__builtin_expect(tether__claim_fast(&f->claim, t->tid) != 0, 0))
        return tether__resume_slow(f, in, out);
    if (__builtin_expect(atomic_load_explicit(&f->kill, memory_order_relaxed) > KILL_NONE, 0))
        return tether__never_ran(f, out);
    tether__fiber_entered_as(t, f, in, out, 1, 0); /* not nested: t->current is NULL */
    return tether__switch_in(f->record, f->sp, in);
}

int tether_yield(void *out, void **in)
{
    struct tether_thread *t = &tether__thread;
    tether_fiber *f = t->current;

    if (__builtin_expect(!f, 0))
        return -EPERM;
    if (TETHER_SANITIZE)
        return tether__yield_slow(f, out, in);
    if (__builtin_expect((f->unwinding | f->unwind_reraise) ||
                             atomic_load_explicit(&f->kill, memory_order_relaxed) > KILL_NONE ||
                             tether__near_guard(f) || !tether__cxx_eh_known(t), 0))
        return tether__yield_slow(f, out, in);
    if (f->in_ptr != in)
        f->in_ptr = in;
    return tether__leave_fast(t, f, TETHER_YIELDED, out);
}
