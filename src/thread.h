/* Per-thread runtime state. */
#ifndef TETHER_THREAD_H
#define TETHER_THREAD_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <tether/fiber.h>

#include "altstack.h"

struct tether_deadline;
struct tether_call_frame;

struct tether_thread {
    tether_fiber *current; /* innermost running fiber; NULL on the thread's stack */
    tether_fiber *exited;  /* fibers its pthread_exit or cancellation ended (unwind.c) */
    struct tether_call_frame *call_top; /* its innermost guarded call off a fiber (guarded_call.c) */
    void *cxx_globals;     /* libstdc++'s exception record of this thread (cxx_eh.h) */
    int ready;             /* tether__thread_prepare() done */
    pid_t tid;             /* kernel thread id: where kill signals go */

    /* Signal handling (signals.c, fault.c). */
    volatile int in_fault;        /* handling a fault on this thread */
    void *volatile walk_env;      /* set while walking a stopped fiber's stack */
    sigset_t walk_mask;           /* the mask a walk that faulted ran with */

    /* Deadlines (deadline.c): the innermost timed resume. */
    struct tether_deadline *volatile deadline;

    /* Its timer (thread_timer.c). */
    timer_t timer;
    int has_timer;
    volatile int has_due;  /* a deadline is due at `due` */
    struct timespec due;
    long retry_ns;         /* a kill is being delivered again: the last delay */

    /* Its alternate signal stacks (altstack.c). */
    struct tether_altstacks alt;
};

/*
 * initial-exec: an access is one %fs-relative load, with no call into
 * the dynamic linker, so the signal handler may read it too.
 */
extern __thread struct tether_thread tether__thread
    __attribute__((tls_model("initial-exec")));

/*
 * Readies the calling thread to run fibers: its id, and what the hooks
 * below prepare (its alternate signal stack, its timer), with their
 * clean-up at thread exit. Returns 0, or what a hook returned.
 */
int tether__thread_prepare(void);

/*
 * What a part of tether does for each thread. The layers above register
 * with this one by placing a pointer in the section tether_thread_hooks
 * (TETHER_THREAD_HOOKS below); this file calls none of them by name. The
 * linker gathers the section, so the hooks are there before any code
 * runs: a program's own constructors, a static link. Any field may be
 * NULL.
 */
struct tether_thread_hooks {
    int (*prepare)(struct tether_thread *t); /* at its first resume: 0 or -errno */
    void (*exit)(struct tether_thread *t);   /* when it exits */
    void (*child)(struct tether_thread *t);  /* in a fork child: the thread that forked */
};

#define TETHER_THREAD_HOOKS(prepare, exit, child)                                         \
    static const struct tether_thread_hooks tether_hooks_ = {prepare, exit, child};      \
    __attribute__((used, section("tether_thread_hooks"), aligned(sizeof(void *))))      \
    static const struct tether_thread_hooks *const tether_hooks_entry_ = &tether_hooks_

#endif
