/*
 * tether_fiber_resume_for(): a resume with a time limit.
 *
 * Timed resumes nest on a thread; each links a deadline record from its
 * own stack frame (the innermost is the thread's `deadline`). The
 * thread's timer (thread_timer.c) is due at the earliest of them. When
 * it fires, this file, a client of the signal layer asked before the
 * fibers' own, marks the fiber each due deadline belongs to killed, and
 * every fiber it runs in turn; the kill client (kill.c) then stops what
 * runs.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "deadline.h"
#include <tether/kill.h>

#include "fiber_impl.h"
#include "kill_signal.h"
#include "signals.h"
#include "thread_timer.h"

/*
 * The timer fired: every linked deadline that is due kills its fiber,
 * and every fiber that fiber runs in turn on this thread. Then the kill
 * client acts (this one never takes the signal). Async-signal-safe.
 */
static int expire(siginfo_t *info, void *uc)
{
    struct tether_thread *t = &tether__thread;
    struct timespec now;

    (void)uc;
    if (!tether__kill_signal_is_deadline(info))
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe */
    for (const struct tether_deadline *d = t->deadline; d; d = d->outer) {
        if (tether__timespec_before(&now, &d->at))
            continue;
        /*
         * A linked deadline's resume is still in progress, so its fiber
         * exists. Not running yet (the timer beat the claim): resume's
         * check stops it. Running: so must whatever it runs in turn.
         */
        tether__kill_request(d->fiber, KILL_DEADLINE, TETHER_DEADLINE_EXCEEDED);
        if (tether__hosts_caller(d->fiber))
            for (tether_fiber *k = t->current; k != d->fiber; k = k->parent)
                tether__kill_request(k, KILL_DEADLINE, TETHER_DEADLINE_EXCEEDED);
    }
    return 0;
}

TETHER_SIGNAL_CLIENT(TETHER_SIGNAL_ORDER_DEADLINE, NULL, expire);

/*
 * A deadline expired while its fiber ran no other (in a host call, say
 * creating one), and it waits for the host call to end; then it resumes
 * f: f too is under the expired deadline, as expire() would have made it
 * had f run already. Not an unwind, which runs to its end. f is the
 * thread's current fiber now, so the signal sent after a short delay
 * stops it where it runs if no checkpoint comes first.
 */
static void inherit(struct tether_thread *t, tether_fiber *f)
{
    if (f->unwinding)
        return;
    tether__kill_request(f, KILL_DEADLINE, TETHER_DEADLINE_EXCEEDED);
    tether__timer_retry_soon(t);
}

/* The fiber core calls it through its hooks (fiber_impl.h). */
TETHER_FIBER_HOOKS(NULL, NULL, NULL, inherit);

/* now + ns, with the seconds capped far beyond any useful limit. */
static void deadline_at(struct timespec *at, uint64_t ns)
{
    uint64_t sec = ns / 1000000000u;

    clock_gettime(CLOCK_MONOTONIC, at);
    at->tv_sec += (time_t)(sec > INT32_MAX ? INT32_MAX : sec);
    at->tv_nsec += (long)(ns % 1000000000u);
    if (at->tv_nsec >= 1000000000L) {
        at->tv_sec++;
        at->tv_nsec -= 1000000000L;
    }
}

static int timed_resume(struct tether_thread *t, tether_fiber *f, void *in,
                        void **out, uint64_t timeout_ns)
{
    struct tether_deadline d, *outer = t->deadline;
    int err, none = KILL_NONE, deadline = KILL_DEADLINE;

    if (!t->ready && (err = tether__thread_prepare()) != 0)
        return err;
    if ((err = tether__timer_make(t)) != 0)
        return err;
    d.fiber = f;
    d.outer = outer;
    deadline_at(&d.at, timeout_ns);
    /* An earlier outer deadline stays due; it stops this fiber too. */
    if (outer && !tether__timespec_before(&d.at, &outer->at))
        return tether__resume(f, in, out);
    t->deadline = &d;
    atomic_signal_fence(memory_order_seq_cst);
    if ((err = tether__timer_due(t, &d.at)) != 0) {
        t->deadline = outer;
        tether__timer_due(t, outer ? &outer->at : NULL);
        return err;
    }
    err = tether__resume(f, in, out);
    /* Unlink first: a signal from now on finds only the outer ones. */
    t->deadline = outer;
    atomic_signal_fence(memory_order_seq_cst);
    tether__timer_due(t, outer ? &outer->at : NULL); /* already due: it fires at once */
    /*
     * A deadline that expired as the fiber stopped on its own marked it
     * killed without stopping it: it made it in time, so take that back.
     * A kill switch's kill is another value and stays.
     */
    if (err != TETHER_TERMINATED)
        atomic_compare_exchange_strong(&f->kill, &deadline, none);
    return err;
}

int tether_fiber_resume_for(tether_fiber *f, void *in, void **out,
                            uint64_t timeout_ns)
{
    tether_fiber *host;
    int err;

    if (!f || timeout_ns == 0)
        return -EINVAL;
    /*
     * On a fiber, this is a host call: the deadline is linked from this
     * frame, so the fiber must not end before it is unlinked.
     */
    host = tether__host_begin();
    err = timed_resume(&tether__thread, f, in, out, timeout_ns);
    tether__host_end(host);
    return err;
}
