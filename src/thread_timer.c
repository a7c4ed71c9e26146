/*
 * Each thread's one POSIX timer: SIGEV_THREAD_ID, so that the signal
 * reaches the thread it belongs to, with a fixed tag in si_value
 * (kill_signal.h). Deadlines set when it is due (deadline.c); kills that
 * could not act have it fire sooner (kill.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "kill_signal.h"
#include "signals.h"
#include "thread_timer.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define RETRY_FIRST_NS 50000L
#define RETRY_MAX_NS 1000000L

int tether__timer_make(struct tether_thread *t)
{
    struct sigevent ev = {0};

    if (t->has_timer)
        return 0;
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = TETHER_KILL_SIGNAL;
    ev.sigev_value.sival_ptr = (void *)(uintptr_t)KILL_DEADLINE_TAG;
    ev.sigev_notify_thread_id = t->tid;
    if (timer_create(CLOCK_MONOTONIC, &ev, &t->timer) != 0)
        return -EAGAIN;
    t->has_timer = 1;
    return 0;
}

/* Arms the timer for `at`, or disarms it (NULL). Async-signal-safe. */
static int arm(struct tether_thread *t, const struct timespec *at)
{
    struct itimerspec its = {0};

    if (at)
        its.it_value = *at;
    return timer_settime(t->timer, TIMER_ABSTIME, &its, NULL) == 0 ? 0 : -EAGAIN;
}

int tether__timer_due(struct tether_thread *t, const struct timespec *at)
{
    /*
     * The signal handler reads `due` on this thread: it sees either the
     * old value or the new one whole (has_due is cleared meanwhile).
     */
    t->has_due = 0;
    atomic_signal_fence(memory_order_seq_cst);
    if (at) {
        t->due = *at;
        atomic_signal_fence(memory_order_seq_cst);
        t->has_due = 1;
    }
    if (!t->has_timer)
        return at ? -EAGAIN : 0;
    return arm(t, at);
}

void tether__timer_retry(struct tether_thread *t)
{
    struct timespec now, at;
    long ns;

    if (!t->has_timer)
        return; /* no timer on this thread: the next checkpoint acts */
    ns = t->retry_ns ? t->retry_ns * 2 : RETRY_FIRST_NS;
    if (ns > RETRY_MAX_NS)
        ns = RETRY_MAX_NS;
    t->retry_ns = ns;
    clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe */
    at = now;
    at.tv_nsec += ns;
    if (at.tv_nsec >= 1000000000L) {
        at.tv_sec++;
        at.tv_nsec -= 1000000000L;
    }
    /* A deadline that comes sooner keeps its place. */
    if (t->has_due && tether__timespec_before(&now, &t->due) &&
        tether__timespec_before(&t->due, &at))
        at = t->due;
    arm(t, &at);
}

void tether__timer_retry_soon(struct tether_thread *t)
{
    t->retry_ns = 0;
    tether__timer_retry(t);
}

void tether__timer_retry_done(struct tether_thread *t)
{
    if (!t->retry_ns)
        return;
    t->retry_ns = 0;
    if (t->has_due)
        arm(t, &t->due);
}

/* Every thread gets its timer when it is prepared; without one (out of timers) kills still act at checkpoints. */
static int thread_prepare(struct tether_thread *t)
{
    tether__timer_make(t);
    return 0;
}

static void thread_exit(struct tether_thread *t)
{
    if (t->has_timer) {
        timer_delete(t->timer);
        t->has_timer = 0;
    }
}

/*
 * A fork child has no timers. If it forked inside a timed resume (a
 * guest called fork), the deadline still linked on its stack needs one
 * now; otherwise its next resume makes it.
 */
static void thread_child(struct tether_thread *t)
{
    t->has_timer = 0;
    t->retry_ns = 0;
    if (t->has_due && tether__timer_make(t) == 0)
        arm(t, &t->due);
}

TETHER_THREAD_HOOKS(thread_prepare, thread_exit, thread_child);
