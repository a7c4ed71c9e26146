/*
 * Termination: a fiber ends on purpose (tether_terminate), is killed from
 * anywhere (a kill switch), or runs out of time (a deadline).
 *
 * A terminated fiber's resume returns TETHER_TERMINATED and its *out holds
 * the details given by whoever terminated it. Like a fault, termination
 * leaves the fiber's frames where they were; nothing on its stack runs.
 *
 * Host functions. Guest code calls into the host; the host function runs
 * on the fiber's stack. A kill must not stop it half-way (it may hold a
 * lock, or be inside malloc), so a host function that guest code calls
 * brackets itself with tether_host_enter() and tether_host_leave(); a
 * kill that arrives in between takes effect when the last
 * tether_host_leave() returns to the guest. tether's own functions
 * called on a fiber count as host functions. When a fiber names its guest
 * code (tether_fiber_opts.guest_code), a kill that lands outside that
 * code (in libc, in a host function called without a bracket) is also
 * deferred: the kill signal is sent again, from 50 us to 1 ms apart,
 * until one lands in the guest's code, or the fiber calls into tether
 * (a checkpoint). A guest that spends its time blocked in a libc call
 * (sleep, read) may never be caught in its own code: bracket such calls.
 *
 * The kill signal. A kill of a fiber that is running guest code reaches
 * it with a signal sent to its thread: SIGURG, whose default action is
 * to do nothing, so a stray one is harmless. SIGURG signals that are not
 * tether's are passed to the handler installed before tether's. A thread
 * that blocks SIGURG while running a fiber cannot be interrupted; the
 * kill then takes effect at the fiber's next call into tether.
 */
#ifndef TETHER_KILL_H
#define TETHER_KILL_H

#include <stdint.h>
#include <tether/common.h>
#include <tether/fiber.h>

TETHER_BEGIN_DECLS

/*
 * Ends the calling fiber: its resume returns TETHER_TERMINATED with
 * `details` in *out. May be called by guest code or by a host function at
 * any depth on the fiber. Does not return; returns -EPERM if the caller is
 * not on a fiber, and -ECANCELED if the fiber is being unwound (a cleanup
 * or catch block may not end it: the unwind goes on when it returns).
 */
TETHER_API int tether_terminate(void *details);

/*
 * Bracket a host function called by guest code on a fiber (see above).
 * They nest. tether_host_leave() returns 0, or -EINVAL if it does not
 * match a tether_host_enter(); either returns -EPERM off a fiber. When a
 * kill is pending, the outermost tether_host_leave() does not return: the
 * fiber ends there, TERMINATED.
 */
TETHER_API int tether_host_enter(void);
TETHER_API int tether_host_leave(void);

/*
 * A kill switch: a handle that terminates one fiber from any thread. It
 * stays valid after the fiber is destroyed (firing it then has no
 * effect) until tether_kill_switch_free().
 */
typedef struct tether_kill_switch tether_kill_switch;

/*
 * Creates a kill switch for f. Returns 0, -EINVAL (NULL argument) or
 * -ENOMEM. Any number of switches may exist for one fiber.
 */
TETHER_API int tether_kill_switch_create(tether_fiber *f,
                                         tether_kill_switch **out);

/* What tether_kill_switch_fire() did. */
typedef enum tether_kill_result {
    TETHER_KILL_PENDING = 1,   /* not running (READY or YIELDED): it ends,
                                  TERMINATED, at its next resume without
                                  running again (never, if it never ran) */
    TETHER_KILL_SIGNALLED = 2, /* running: stopped now in guest code, or
                                  when it is back in guest code or next
                                  calls into tether; unless it returns
                                  first */
    TETHER_KILL_FINISHED = 3,  /* it had already finished, been killed, or
                                  been destroyed: nothing done */
} tether_kill_result;

/*
 * Terminates the switch's fiber, whatever it is doing, from any thread;
 * resume returns TETHER_TERMINATED with `details` in *out. Returns a
 * tether_kill_result, or -EINVAL for NULL. Killing the calling fiber (or
 * one hosting it) from the fiber itself ends it at once, or (a host) when
 * the nested fiber it resumed comes back.
 */
TETHER_API int tether_kill_switch_fire(tether_kill_switch *k, void *details);

/* Frees a kill switch. NULL is ignored. */
TETHER_API void tether_kill_switch_free(tether_kill_switch *k);

/* The details a fiber stopped by a deadline reports. */
#define TETHER_DEADLINE_EXCEEDED ((void *)(intptr_t)-1)

/*
 * Like tether_fiber_resume(), with a time limit: if the fiber is still
 * running `timeout_ns` nanoseconds (CLOCK_MONOTONIC) after the call, it is
 * killed as by a kill switch (deferred the same way through host
 * functions), and resume returns TETHER_TERMINATED with
 * TETHER_DEADLINE_EXCEEDED in *out. The fibers it resumes in turn are
 * stopped with it. An enclosing timed resume's earlier deadline still
 * applies. Returns what tether_fiber_resume() returns, or -EINVAL for a
 * zero timeout, or -EAGAIN if the thread's timer cannot be created.
 */
TETHER_API int tether_fiber_resume_for(tether_fiber *f, void *in, void **out,
                                       uint64_t timeout_ns);

TETHER_END_DECLS

#endif
