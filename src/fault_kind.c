/*
 * Where a fault's kind is decided: a SIGSEGV is a stack overflow when it
 * hits the stack's guard, or lands just below a stack pointer that left
 * the stack; each other signal is its own kind. Used by the fibers' fault
 * handler, the fault-handler chain and guarded calls. Async-signal-safe.
 */
#include <string.h>

#include "arch.h"
#include "fault_kind.h"

/*
 * How far from the stack pointer a stack access may reach: a push, a
 * call, the red zone, a stack probe. A fault that close to a stack
 * pointer which has itself left the stack is that stack overflowing.
 */
#define STACK_REACH (64 * 1024)

/*
 * Has the fiber's stack overflowed? Either the address is in its guard
 * region (whatever the pc: a host function the guest called may be the
 * one whose frame crosses it), or a frame bigger than the whole guard
 * took the stack pointer below the stack and the access is one of that
 * frame's (an alloca or an array too big for the guard: unmapped memory
 * below, not the guard, is what faults).
 */
static int fiber_overflowed(const struct tether_stack *s, uintptr_t addr, uintptr_t sp)
{
    uintptr_t guard = (uintptr_t)s->base, lo = (uintptr_t)tether__stack_lo(s);
    uintptr_t reach = sp > STACK_REACH ? sp - STACK_REACH : 0;

    return (addr >= guard && addr < lo) || (sp < lo && addr < lo && addr >= reach);
}

/* A thread's stack: the kernel's guard gap lies just below its lowest page. */
static int thread_overflowed(uintptr_t addr, uintptr_t sp)
{
    return addr + STACK_REACH >= sp && addr < sp + STACK_REACH;
}

int tether__fault_kind(int sig, uintptr_t addr, uintptr_t sp, const struct tether_stack *s)
{
    switch (sig) {
    case SIGSEGV:
        if (s ? fiber_overflowed(s, addr, sp) : thread_overflowed(addr, sp))
            return TETHER_FAULT_STACK_OVERFLOW;
        return TETHER_FAULT_SEGV;
    case SIGBUS:
        return TETHER_FAULT_BUS;
    case SIGILL:
        return TETHER_FAULT_ILL;
    default:
        return TETHER_FAULT_FPE;
    }
}

void tether__fault_fill(tether_fault *r, int sig, const siginfo_t *info, const void *uc,
                        const struct tether_stack *s)
{
    uintptr_t pc = tether__arch_uc_pc(uc), sp = tether__arch_uc_sp(uc);

    r->kind = tether__fault_kind(sig, (uintptr_t)info->si_addr, sp, s);
    r->signo = sig;
    r->code = info->si_code;
    r->addr = info->si_addr;
    r->pc = (void *)pc;
    r->sp = (void *)sp;
    tether__arch_uc_regs(uc, r->regs);
    r->frames[0] = (void *)pc;
    r->nframes = 1;
}
