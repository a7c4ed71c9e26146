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

/* Deletes the thread's timer (at thread exit). */
void tether__deadline_thread_exit(struct tether_thread *t);

#endif
