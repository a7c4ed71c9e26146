/*
 * Where a fault is classified: is it a fiber's, and of what kind? A
 * fiber's fault is recorded and the fiber's host continues; anything else
 * goes back to signals.c to be chained.
 *
 * Runs in the signal handler: async-signal-safe, nothing allocated, no
 * locks taken. The record lives in the fiber object.
 */
#include <sched.h>
#include <signal.h>
#include <ucontext.h>
#include <stdint.h>
#include <string.h>

#include "arch.h"
#include "fault_backtrace.h"
#include "fault_kind.h"
#include "frame_walk.h"
#include "fiber_impl.h"
#include "seq_table.h"
#include "signals.h"
#include "thread.h"

/* How far below a stack an unwinder's stack pointer may land at once. */
#define UNWIND_SLACK (64 * 1024)

/*
 * Is this fault the running fiber's? It must come from the kernel (a
 * sent signal is not a fault). A stack overflow is the fiber's wherever
 * the pc is. Anything else must hit with the stack pointer on the
 * fiber's stack, outside the switch code (and any other INTERRUPT DEFER
 * sequence: tether/seq.h), and, if the fiber names its guest code,
 * inside it.
 */
static int fibers_fault(const tether_fiber *f, int sig, const siginfo_t *info,
                        const ucontext_t *uc, uintptr_t pc, uintptr_t sp)
{
    const struct tether_stack *s = &f->stack;
    uintptr_t addr = (uintptr_t)info->si_addr;
    uintptr_t base = (uintptr_t)s->base, hi = (uintptr_t)f->record; /* frames live below it */

    if (info->si_code <= 0)
        return 0;
    /* On the stack of a fiber that hosts f: not f's (nor that one's). */
    for (const tether_fiber *a = f->parent; a; a = a->parent)
        if (sp >= (uintptr_t)a->stack.base && sp < (uintptr_t)a->record)
            return 0;
    /*
     * A signal handler running on the alternate stack is not the fiber
     * (uc_stack is the thread's registration; since Linux 4.7 its flags
     * never say SS_ONSTACK, so the address is what tells).
     */
    if (!(uc->uc_stack.ss_flags & SS_DISABLE) &&
        sp - (uintptr_t)uc->uc_stack.ss_sp < uc->uc_stack.ss_size)
        return 0;
    /*
     * During an unwind, the unwinder's own frames (libgcc, the C++
     * personality, the dynamic linker binding them lazily, which can move
     * the stack pointer by kilobytes at once) may run out of stack: that
     * is the unwind failing, and it is the fiber's, wherever the pc is.
     */
    if (f->unwinding) {
        uintptr_t below = base > UNWIND_SLACK ? base - UNWIND_SLACK : 0;
        if ((sp >= below && sp < hi) || (addr >= below && addr < base + f->stack.guard_size))
            return 1;
    }
    if (tether__fault_kind(sig, addr, sp, s) == TETHER_FAULT_STACK_OVERFLOW)
        return 1;
    if (sp < base || sp >= hi)
        return 0;
    if (tether__seq_defers(pc))
        return 0; /* a half-done switch, or a sequence that must not stop half-way */
    return tether__in_guest_code(f, pc);
}

static void record(tether_fiber *f, int sig, const siginfo_t *info, const void *uc)
{
    tether_fault *r = &f->fault;

    tether__fault_fill(r, sig, info, uc, &f->stack);
    /* The backtrace is walked when the host asks for it (fault_backtrace.c). */
    r->nframes = 0;
    atomic_store_explicit(&f->fault_walked, 0, memory_order_relaxed);
}

/* A client of the signal layer (signals.h): the running fiber's own faults. */
static int fault_handle(int sig, siginfo_t *info, void *uc)
{
    struct tether_thread *t = &tether__thread;
    tether_fiber *f = t->current;
    uintptr_t pc = tether__arch_uc_pc(uc), sp = tether__arch_uc_sp(uc);

    if (t->in_fault)
        return 0; /* a bug in the handler: chain, and die as we would */
    if (!f || !fibers_fault(f, sig, info, uc, pc, sp))
        return 0;
    t->in_fault = 1;
    record(f, sig, info, uc);
    tether__signal_stop_fiber(f, uc, TETHER_FAULTED, NULL);
    t->in_fault = 0;
    return 1;
}

TETHER_SIGNAL_CLIENT(TETHER_SIGNAL_ORDER_FIBER, fault_handle, NULL);

/*
 * The record's backtrace is walked once, while the frames are still on
 * the stack: the first caller walks, any other waits for it.
 */
int tether__fault_walk_begin(tether_fiber *f)
{
    int none = 0;

    if (atomic_load_explicit(&f->fault_walked, memory_order_acquire) == 2)
        return 0;
    if (atomic_compare_exchange_strong(&f->fault_walked, &none, 1))
        return 1;
    while (atomic_load_explicit(&f->fault_walked, memory_order_acquire) != 2)
        sched_yield();
    return 0;
}

void tether__fault_walk_end(tether_fiber *f)
{
    atomic_store_explicit(&f->fault_walked, 2, memory_order_release);
}

void tether__fault_walk(tether_fiber *f)
{
    if (tether__fault_walk_begin(f)) {
        tether__fault_backtrace(&f->fault, (uintptr_t)f->stack.base,
                                (uintptr_t)f->record + 1);
        tether__fault_walk_end(f);
    }
}

const tether_fault *tether_fiber_fault_brief(const tether_fiber *f)
{
    if (!f || tether__fiber_state(f) != TETHER_FAULTED)
        return NULL;
    return &f->fault;
}

const tether_fault *tether_fiber_fault(const tether_fiber *f)
{
    tether_fiber *self;

    if (!f || tether__fiber_state(f) != TETHER_FAULTED)
        return NULL;
    self = tether__host_begin();
    tether__fault_walk((tether_fiber *)f);
    tether__host_end(self);
    return &f->fault;
}
