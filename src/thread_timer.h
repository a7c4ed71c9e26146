/*
 * Each thread's one POSIX timer (thread_timer.c), below the kill and
 * deadline layers that use it: it delivers TETHER_KILL_SIGNAL to its own
 * thread, tagged as a deadline, when the thread's earliest deadline is
 * due, and sooner when a kill that could not act must be delivered again.
 */
#ifndef TETHER_THREAD_TIMER_H
#define TETHER_THREAD_TIMER_H

#include <time.h>

#include "thread.h"

/*
 * Makes the calling thread's timer, if it has none yet (every thread
 * gets one when it is prepared to run fibers). Returns 0 or -EAGAIN.
 */
int tether__timer_make(struct tether_thread *t);

/*
 * The thread's earliest deadline is now `at` (CLOCK_MONOTONIC), or there
 * is none (NULL): the timer is armed for it (one already due fires at
 * once). Returns 0 or -EAGAIN. Not for signal handlers.
 */
int tether__timer_due(struct tether_thread *t, const struct timespec *at);

/*
 * A kill is pending on the thread's running fiber but its signal landed
 * where it may not act, with no checkpoint sure to come: the timer
 * delivers the signal again soon, and never later than the deadline
 * that is due. The delay doubles each time, from 50 us to 1 ms.
 * Async-signal-safe.
 */
void tether__timer_retry(struct tether_thread *t);

/*
 * The same, but always after the shortest delay (50 us): the signal
 * landed in code that ends soon (a sequence that holds kills, such as
 * the switch code), so waiting longer each time only delays the kill.
 * Async-signal-safe.
 */
void tether__timer_retry_soon(struct tether_thread *t);

/*
 * The signal acted, or had nothing to do: no more retries, and the timer
 * is armed for the due deadline again. Async-signal-safe.
 */
void tether__timer_retry_done(struct tether_thread *t);

/* Is a before b? */
static inline int tether__timespec_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

#endif
