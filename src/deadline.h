/* Per-resume time limits, built on the kill signal. */
#ifndef TETHER_DEADLINE_H
#define TETHER_DEADLINE_H

#include <time.h>

#include "thread.h"

/*
 * One timed resume in progress on a thread, on that resume's own stack
 * frame; the innermost is tether_thread.deadline, each links to the one
 * it nests in.
 */
struct tether_deadline {
    tether_fiber *fiber;         /* stopped when `at` passes */
    struct timespec at;          /* CLOCK_MONOTONIC */
    struct tether_deadline *outer;
};

/*
 * The thread's timer fired: every linked deadline that is due kills its
 * fiber, and every fiber that fiber is running in turn on this thread.
 * Async-signal-safe.
 */
void tether__deadline_expire(struct tether_thread *t);

/*
 * A kill is pending on the thread's running fiber but the signal landed
 * where it may not act, with no checkpoint to come (outside the guest's
 * code, in a libc call that may run on and on): has the timer deliver
 * the signal again soon, sooner than any pending deadline. The delay
 * doubles each time, from 50 us to 5 ms, so a guest that stays out of
 * its own code costs its thread one signal per 5 ms at most.
 * Async-signal-safe.
 */
void tether__deadline_retry(struct tether_thread *t);

/*
 * The signal landed where it could act (or had nothing to do): no more
 * retries. The timer, which a retry took over, is armed again for the
 * thread's earliest pending deadline. Async-signal-safe.
 */
void tether__deadline_retry_done(struct tether_thread *t);

/*
 * Makes the thread's timer, if it has none yet (each thread gets one at
 * its first resume: registered with thread.c). Returns 0 or -EAGAIN.
 */
int tether__deadline_thread_timer(struct tether_thread *t);


#endif
