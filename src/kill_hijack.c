/*
 * A kill that lands in a host function the guest called.
 *
 * Where a fiber names its guest code, a kill signal that lands outside it
 * (in libc, in the host's code the guest called without a host-call
 * bracket) may not act there: the host code may hold a lock or be half
 * way through a change. Without a bracket no checkpoint is sure to come:
 * a guest can spend all its time in such calls. So the kill waits for
 * the host function to return to the guest, exactly: the handler walks
 * the stack from the signal's context to the first guest frame and
 * replaces the return address of the host function it called with
 * tether__kill_hijack (the .S file), which ends the fiber. (The same
 * technique that runtimes use to stop threads at safe points.)
 *
 * The walk runs in the signal handler: libgcc's frame lookup goes
 * through glibc's _dl_find_object, which is async-signal-safe, and a
 * walk that reads bad memory is abandoned (frame_walk.c). Kill signals
 * keep coming, a few milliseconds apart (deadline.c), in case the host
 * function never returns there (it longjmps past the guest frame).
 */
#include <stdint.h>

#include "arch.h"
#include "frame_walk.h"
#include "kill_hijack.h"

__thread uintptr_t tether__hijack_ret __attribute__((tls_model("initial-exec")));

struct find {
    const tether_fiber *f;
    uintptr_t slot; /* where the host function keeps its return address */
    uintptr_t ret;
};

/* The first frame, from the interrupted one out, that is the guest's. */
static int guest_frame(const struct tether_frame *fr, void *p)
{
    struct find *s = p;

    if (fr->exact || !tether__in_guest_code(s->f, fr->pc))
        return 0;
    /* Its callee returns to fr->ip, from the slot just below fr->sp. */
    s->slot = fr->sp - sizeof(uintptr_t);
    s->ret = fr->ip;
    return 1;
}

int tether__kill_hijack_arm(struct tether_thread *t, tether_fiber *f, const void *uc)
{
    uint64_t regs[TETHER_NREGS];
    struct find s = {f, 0, 0};

    (void)t;
    if (f->hijack_slot && *(uintptr_t *)f->hijack_slot == (uintptr_t)tether__kill_hijack)
        return 1; /* armed already, and the host function has not returned */
    tether__arch_uc_regs(uc, regs);
    if (tether__walk(regs, 1, (uintptr_t)tether__stack_lo(&f->stack),
                     (uintptr_t)f->record, guest_frame, &s) != WALK_STOPPED ||
        *(uintptr_t *)s.slot != s.ret)
        return 0;
    /*
     * Per thread, and per fiber: the fiber cannot move to another thread
     * before the host function returns (a yield is a checkpoint, and the
     * kill acts there).
     */
    tether__hijack_ret = s.ret;
    f->hijack_slot = s.slot;
    *(uintptr_t *)s.slot = (uintptr_t)tether__kill_hijack;
    return 1;
}

void tether__kill_hijacked(void)
{
    struct tether_thread *t = &tether__thread;
    tether_fiber *f = t->current;

    /* Back in the guest's code: a checkpoint like any other. */
    if (f) {
        f->hijack_slot = 0;
        tether__kill_checkpoint(f);
    }
}
