/* Per-resume time limits (deadline.c), built on kills and the thread's timer. */
#ifndef TETHER_DEADLINE_H
#define TETHER_DEADLINE_H

#include <time.h>

#include "thread.h"

/*
 * One timed resume in progress on a thread, on that resume's own stack
 * frame; the innermost is tether_thread.deadline, each links to the one
 * it nests in. Only a deadline earlier than the one it nests in is
 * linked, so the innermost is the earliest.
 */
struct tether_deadline {
    tether_fiber *fiber;         /* stopped when `at` passes */
    struct timespec at;          /* CLOCK_MONOTONIC */
    struct tether_deadline *outer;
};

#endif
