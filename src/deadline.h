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

/* The fiber the thread's armed deadline is for, or NULL. Async-signal-safe. */
tether_fiber *tether__deadline_target(const struct tether_thread *t);

/* Deletes the thread's timer (at thread exit). */
void tether__deadline_thread_exit(struct tether_thread *t);

#endif
