/*
 * tether_fiber_resume_for(): a resume with a time limit.
 *
 * Each thread has one POSIX timer (made on its first timed resume) that
 * delivers the kill signal to that thread alone (SIGEV_THREAD_ID), tagged
 * as a deadline. It is armed for the earliest deadline among the timed
 * resumes nested on the thread; the handler (kill.c) stops the fiber that
 * deadline belongs to, and every fiber it runs in turn.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "deadline.h"
#include <tether/kill.h>

#include "fiber_impl.h"
#include "kill_signal.h"
#include "signals.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

int tether__deadline_thread_timer(struct tether_thread *t)
{
    struct sigevent ev = { 0 };

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

static int before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec ||
           (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Arms the timer for d (or disarms it for NULL). Returns 0 or -EAGAIN. */
static int arm(struct tether_thread *t, const struct tether_deadline *d)
{
    struct itimerspec its = { 0 };

    if (d)
        its.it_value = d->at;
    return timer_settime(t->timer, TIMER_ABSTIME, &its, NULL) == 0 ? 0 : -EAGAIN;
}

void tether__deadline_expire(struct tether_thread *t)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe */
    for (const struct tether_deadline *d = t->deadline; d; d = d->outer) {
        if (before(&now, &d->at))
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
}

#define RETRY_FIRST_NS 50000L
#define RETRY_MAX_NS 1000000L

void tether__deadline_retry(struct tether_thread *t)
{
    struct itimerspec its = { 0 };
    struct timespec now;
    long ns;

    if (!t->has_timer)
        return; /* no timer on this thread: the next checkpoint acts */
    ns = t->kill_retry_ns ? t->kill_retry_ns * 2 : RETRY_FIRST_NS;
    if (ns > RETRY_MAX_NS)
        ns = RETRY_MAX_NS;
    t->kill_retry_ns = ns;
    clock_gettime(CLOCK_MONOTONIC, &now);
    its.it_value = now;
    its.it_value.tv_nsec += ns;
    if (its.it_value.tv_nsec >= 1000000000L) {
        its.it_value.tv_sec++;
        its.it_value.tv_nsec -= 1000000000L;
    }
    /* A pending deadline that comes sooner keeps its place. */
    for (const struct tether_deadline *d = t->deadline; d; d = d->outer)
        if (before(&now, &d->at) && before(&d->at, &its.it_value))
            its.it_value = d->at;
    timer_settime(t->timer, TIMER_ABSTIME, &its, NULL); /* async-signal-safe */
}

/* The thread's earliest pending deadline, or NULL. Async-signal-safe. */
static const struct tether_deadline *earliest(const struct tether_thread *t)
{
    const struct tether_deadline *first = NULL;

    for (const struct tether_deadline *d = t->deadline; d; d = d->outer)
        if (!first || before(&d->at, &first->at))
            first = d;
    return first;
}

void tether__deadline_retry_done(struct tether_thread *t)
{
    const struct tether_deadline *first;

    if (!t->kill_retry_ns)
        return;
    t->kill_retry_ns = 0;
    if ((first = earliest(t)) != NULL)
        arm(t, first); /* timer_settime: async-signal-safe; one already due fires at once */
}

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
    if ((err = tether__deadline_thread_timer(t)) != 0)
        return err;
    d.fiber = f;
    d.outer = outer;
    deadline_at(&d.at, timeout_ns);
    /* An earlier outer deadline stays armed; it stops this fiber too. */
    if (outer && !before(&d.at, &outer->at))
        return tether__resume(f, in, out);
    t->deadline = &d;
    atomic_signal_fence(memory_order_seq_cst);
    if ((err = arm(t, &d)) != 0) {
        t->deadline = outer;
        return err;
    }
    err = tether__resume(f, in, out);
    /* Unlink first: a signal from now on finds only the outer ones. */
    t->deadline = outer;
    atomic_signal_fence(memory_order_seq_cst);
    arm(t, outer); /* already due: it fires at once */
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

static void thread_exit(struct tether_thread *t)
{
    if (t->has_timer) {
        timer_delete(t->timer);
        t->has_timer = 0;
    }
}

/* Without a timer (out of timers) kills still act at checkpoints. */
static int thread_prepare(struct tether_thread *t)
{
    tether__deadline_thread_timer(t);
    return 0;
}

/*
 * A fork child has no timers. If it forked inside a timed resume (a
 * guest called fork), the deadlines still linked on its stack need one
 * now; otherwise its next timed resume makes it.
 */
static void thread_child(struct tether_thread *t)
{
    const struct tether_deadline *first = earliest(t);

    t->has_timer = 0;
    t->kill_retry_ns = 0;
    if (first && tether__deadline_thread_timer(t) == 0)
        arm(t, first);
}

TETHER_THREAD_HOOKS(thread_prepare, thread_exit, thread_child);
