/*
 * Termination: tether_terminate(), host-function brackets, and what a
 * kill signal does when it lands on a thread.
 *
 * A kill is a flag on the fiber (fiber_impl.h: kill, kill_details) plus,
 * when the fiber is running, a signal to its thread. Wherever the signal
 * lands, one of two things ends the fiber: the handler, if the thread is
 * in the fiber's guest code, rewrites the context to return to the host;
 * otherwise the handler does nothing and the flag is seen at a
 * checkpoint, the next time the fiber passes through tether (resume's
 * claim, the return from a switch, a yield, the end of a host call).
 */
#include <errno.h>
#include <stdint.h>

#include "arch.h"
#include <tether/kill.h>

#include "fiber_impl.h"
#include "kill_signal.h"
#include "seq_signal.h"
#include "signals.h"
#include "thread.h"
#include "thread_timer.h"

/*
 * The first request wins: it claims the word, writes the details, then
 * publishes its reason. Readers take only a reason (> 0) as a kill, so
 * they never see a kill without its details.
 */
int tether__kill_request(tether_fiber *f, int why, void *details)
{
    int none = KILL_NONE;

    if (!atomic_compare_exchange_strong(&f->kill, &none, KILL_CLAIMING))
        return 0;
    atomic_store(&f->kill_details, details);
    atomic_store(&f->kill, why);
    return 1;
}

static int killed(const tether_fiber *f)
{
    return atomic_load(&((tether_fiber *)f)->kill) > KILL_NONE;
}

int tether_terminate(void *details)
{
    tether_fiber *f = tether__thread.current;

    if (!f)
        return -EPERM;
    tether__unwind_checkpoint(f, 1); /* strict: see tether_yield */
    if (f->unwinding)
        return -ECANCELED; /* it is being unwound already */
    tether__switch_out_slow(f, TETHER_TERMINATED, details);
    __builtin_unreachable(); /* a TERMINATED fiber is never resumed */
}

int tether_host_enter(void)
{
    tether_fiber *f = tether__thread.current;

    if (!f)
        return -EPERM;
    tether__unwind_checkpoint(f, 1);
    tether__host_depth_add(f, 1);
    return 0;
}

int tether_host_leave(void)
{
    tether_fiber *f = tether__thread.current;

    if (!f)
        return -EPERM;
    if (f->host_depth <= 0)
        return -EINVAL;
    tether__unwind_checkpoint(f, 1);
    tether__host_depth_add(f, -1);
    tether__kill_checkpoint(f); /* back in guest code: a pending kill ends it */
    return 0;
}

/*
 * May the handler stop f where `uc` interrupted it? Only in code of the
 * fiber's own: on its stack, not in a host call, not where a sequence
 * holds kills (an INTERRUPT DEFER range, such as the switch code; a
 * RESPONSE the signal was just sent to: seq_signal.c), not between a
 * sanitizer's announcement of a switch and its confirmation
 * (sanitize.h), and in its guest code if it names any. Everywhere else
 * the kill waits for a checkpoint.
 */
static int interruptible(const tether_fiber *f, const void *uc)
{
    uintptr_t pc = tether__arch_uc_pc(uc), sp = tether__arch_uc_sp(uc);
    uintptr_t lo = (uintptr_t)tether__stack_lo(&f->stack);
    uintptr_t hi = (uintptr_t)f->record; /* frames live below it */

    return f->host_depth == 0 && !f->unwinding && sp >= lo && sp < hi &&
           !tether__seq_holds_kill(pc) && !tether__san_switching() &&
           tether__in_guest_code(f, pc);
}

/*
 * A client of the signal layer (signals.h): a kill signal, from a kill
 * switch or the thread's timer (after deadline.c marked its fibers).
 */
static int kill_handle(siginfo_t *info, void *uc)
{
    struct tether_thread *t = &tether__thread;
    tether_fiber *f = t->current;
    uint64_t id;

    if (!tether__kill_signal_is_deadline(info) && !tether__kill_signal_id(info, &id))
        return 0; /* somebody else's SIGURG */
    /*
     * Whichever fiber the signal names: while one SIGURG is pending on a
     * thread the kernel drops the next, so a signal sent for the host of
     * the innermost fiber may be all that is left of the innermost's
     * own. Every tether SIGURG therefore acts for the fiber that runs
     * now, if it has been killed. A host waits for its nested resume.
     */
    if (!f || !killed(f) || interruptible(f, uc)) {
        tether__timer_retry_done(t);
        if (f && killed(f))
            tether__signal_stop_fiber(f, uc, TETHER_TERMINATED,
                                      atomic_load(&f->kill_details));
        return 1;
    }
    /*
     * It may not act here. Inside a host-call bracket, or during an
     * unwind, a checkpoint is sure to come. Anywhere else (a libc call
     * outside the guest's code, the switch code) the signal is sent
     * again soon, until it lands in the guest's code or the fiber
     * reaches a checkpoint; at the shortest delay each time when a
     * sequence held it (the switch code, a DEFER range, a RESPONSE: it
     * ends in a moment), else less and less often.
     */
    if (f->host_depth == 0 && !f->unwinding) {
        if (tether__seq_holds_kill(tether__arch_uc_pc(uc)) || tether__san_switching())
            tether__timer_retry_soon(t);
        else
            tether__timer_retry(t);
    }
    return 1;
}

TETHER_SIGNAL_CLIENT(TETHER_SIGNAL_ORDER_FIBER, NULL, kill_handle);
