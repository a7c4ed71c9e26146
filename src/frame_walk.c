/*
 * Walking a stopped fiber's frames from its saved registers, with
 * libgcc's unwinder: the same tables and the same lookup (glibc's
 * _dl_find_object, no lock) as the unwind itself.
 *
 * The walk runs on the caller's stack. tether__arch_walk calls us below
 * a register-block frame that stands for the stopped frame, so
 * _Unwind_Backtrace, started here, steps from our own frames into the
 * fiber's. A smashed stack hands the unwinder wild addresses: the walk
 * then faults, and the fault handler, seeing a walk in progress on the
 * thread, jumps back here (__builtin_longjmp: no signal mask involved;
 * the mask the fault interrupted is restored after) and the walk ends
 * with what it had.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>
#include <unwind.h>

#include "arch.h"
#include "frame_walk.h"
#include "signals.h"
#include "thread.h"

struct walk {
    uintptr_t lo, hi;
    tether_frame_fn fn;
    void *arg;
    int started; /* past our own frames and the register-block frame */
    int result;
};

static _Unwind_Reason_Code trace(struct _Unwind_Context *ctx, void *p)
{
    struct walk *w = p;
    struct tether_frame fr;
    int before = 0;

    fr.ip = (uintptr_t)_Unwind_GetIPInfo(ctx, &before);
    fr.pc = before ? fr.ip : fr.ip - 1;
    fr.exact = before;
    if (!w->started) {
        /* This file's frame, then the stub's: the walk proper follows. */
        w->started = tether__arch_in_frame_stub(fr.pc);
        return _URC_NO_REASON;
    }
    if (tether__arch_in_trampoline(fr.pc)) {
        w->result = WALK_BOTTOM;
        return _URC_NORMAL_STOP;
    }
    /*
     * libgcc's "CFA" of a frame it hands to a callback is the CFA of the
     * frame below it, which is this frame's stack pointer.
     */
    fr.sp = (uintptr_t)_Unwind_GetCFA(ctx);
    fr.ctx = ctx;
    if (fr.sp < w->lo || fr.sp >= w->hi) {
        w->result = WALK_BROKEN; /* the chain left the stack */
        return _URC_NORMAL_STOP;
    }
    if (w->fn(&fr, w->arg) != 0) {
        w->result = WALK_STOPPED;
        return _URC_NORMAL_STOP;
    }
    return _URC_NO_REASON;
}

static void run(void *p)
{
    _Unwind_Backtrace(trace, p);
}

int tether__walk(const uint64_t *regs, int exact, uintptr_t lo, uintptr_t hi,
                 tether_frame_fn fn, void *arg)
{
    struct tether_thread *t = &tether__thread;
    struct walk w = {lo, hi, fn, arg, 0, WALK_ENDED};
    struct walk *volatile wp = &w;
    void *env[5];

    if (__builtin_setjmp(env) == 0) {
        t->walk_env = env;
        tether__arch_walk(regs, exact, run, wp);
    } else {
        wp->result = WALK_BROKEN;
        pthread_sigmask(SIG_SETMASK, &t->walk_mask, NULL);
    }
    t->walk_env = NULL;
    return wp->result;
}

/*
 * A client of the signal layer (signals.h), asked first: a walk of a
 * stopped fiber's frames that read bad memory ends there.
 */
static int walk_fault(int sig, siginfo_t *info, void *ucv)
{
    struct tether_thread *t = &tether__thread;
    const ucontext_t *uc = ucv;
    void *env = t->walk_env;

    (void)sig;
    (void)info;
    if (!env)
        return 0;
    t->walk_env = NULL;
    t->walk_mask = uc->uc_sigmask; /* what the walk ran with */
    __builtin_longjmp(env, 1);
}

TETHER_SIGNAL_CLIENT(TETHER_SIGNAL_ORDER_WALK, walk_fault, NULL);

