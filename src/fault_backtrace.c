/*
 * A fault record's backtrace. The handler saves only the registers; the
 * frames stay on the fiber's stack until it is unwound or reused, so
 * the walk waits until the host asks for the record (or unwinds it),
 * and runs in the host's own context, with libgcc's unwinder
 * (frame_walk.c), instead of inside the signal handler: a fault costs
 * what the signal costs, and a host that never reads the backtrace
 * never pays for it.
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "fault_backtrace.h"
#include "frame_walk.h"
#include "unwind_tables.h"

int tether__fault_walk_start(uint64_t *regs, int signo, const void *addr,
                             uintptr_t lo, uintptr_t hi)
{
    uintptr_t pc = (uintptr_t)regs[TETHER_REG_RIP], sp = (uintptr_t)regs[TETHER_REG_RSP];

    if (signo != SIGSEGV || (uintptr_t)addr != pc || tether__has_unwind_tables(pc) ||
        sp < lo || sp + 8 > hi)
        return 1;
    memcpy(&regs[TETHER_REG_RIP], (const void *)sp, 8);
    regs[TETHER_REG_RSP] = sp + 8;
    return 0;
}

struct trace {
    tether_fault *r;
};

static int add(const struct tether_frame *fr, void *p)
{
    tether_fault *r = ((struct trace *)p)->r;

    r->frames[r->nframes++] = (void *)fr->ip;
    return r->nframes >= TETHER_FAULT_FRAMES_MAX;
}

void tether__fault_backtrace(tether_fault *r, uintptr_t lo, uintptr_t hi)
{
    uint64_t regs[TETHER_NREGS];
    struct trace t = {r};
    int exact;

    memcpy(regs, r->regs, sizeof regs);
    r->nframes = 0;
    exact = tether__fault_walk_start(regs, r->signo, r->addr, lo, hi);
    if (!exact)
        r->frames[r->nframes++] = r->pc; /* the wild pc, then its caller */
    tether__walk(regs, exact, lo, hi, add, &t);
    if (r->nframes == 0)
        r->frames[r->nframes++] = r->pc;
}
