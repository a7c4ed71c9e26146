/*
 * Guarded foreign calls: call a function so that a fault inside it fails
 * the call with an error that says what happened (signal, code, address,
 * pc), and the process keeps running. Two forms:
 *
 * tether_call() runs fn on the caller's own stack: the cheapest (a few
 * nanoseconds over a plain call, no system call). When fn faults, its
 * frames are discarded without being unwound: what they held is lost.
 * Destructors, cleanup handlers and __attribute__((cleanup)) do not run;
 * a mutex it held stays locked; memory it allocated leaks; a C++
 * exception it was handling is not released. Use it for code that holds
 * no such state while it can fault (a parser over a buffer, a codec, a
 * callback that reads memory it was given), or when the process will
 * treat the failure as fatal for that component anyway.
 *
 * tether_call_on_fiber() runs fn on a fiber from tether's pool: a fault
 * stops the fiber, whose frames are then unwound (every cleanup the
 * compiler recorded runs, see tether/unwind.h), and the fiber goes back
 * to the pool. Deadlines and kill switches apply. It costs a fiber's
 * create, run and destroy (a fraction of a microsecond from the pool).
 *
 * Both catch every kind of fault: SIGSEGV, SIGBUS, SIGILL, SIGFPE, and a
 * stack overflow (of the fiber, or of the thread's own stack, the main
 * thread's included). Both nest. A fault inside fn that something asked
 * before them takes (a code-range fixup, a handler of the fault-handler
 * chain, see tether/chain.h) never reaches them.
 *
 * On the caller's stack: the caller's floating-point control words and
 * C++ exception state are as they were before the call; a kill that came
 * while fn was inside a host-call bracket acts when the call fails. A C++
 * exception or a thread exit (pthread_exit, pthread_cancel) that leaves
 * fn goes through the call, which lets it pass; but a fault in a cleanup
 * that such a thread exit runs inside fn fails the call, and the thread
 * runs on from there. fn must not leave by longjmp: a later fault below
 * the abandoned frame may be taken for fn's. A fault inside a signal
 * handler that interrupted fn on the same stack is taken for fn's, and
 * that handler's signal stays blocked, as after a longjmp out of it.
 *
 * On a fiber: a C++ exception that leaves fn stops at the fiber's base
 * (the call returns -ECANCELED, the report's details are
 * TETHER_EXCEPTION_ESCAPED); a thread exit inside fn ends the fiber with
 * the thread, and the fiber is freed then.
 */
#ifndef TETHER_CALL_H
#define TETHER_CALL_H

#include <stdint.h>
#include <tether/common.h>
#include <tether/fault.h>
#include <tether/kill.h>

TETHER_BEGIN_DECLS

typedef void *(*tether_call_fn)(void *arg);

/*
 * Calls fn(arg) on the calling thread's stack. Returns 0 with fn's result
 * in *ret (if ret is not NULL), or -EFAULT if fn faulted: then *fault (if
 * not NULL) holds the record, whose backtrace holds the faulting pc
 * alone (the frames are gone). Also -EINVAL (NULL fn), -EAGAIN (tether's
 * signal handlers or the thread's alternate signal stack could not be
 * set up). May be called on a fiber or off one, at any depth.
 */
TETHER_API int tether_call(tether_call_fn fn, void *arg, void **ret, tether_fault *fault);

/*
 * Options of tether_call_on_fiber(); zero-initialise: zeros are the
 * defaults, and new options come from `reserved` (see tether/common.h).
 */
typedef struct tether_call_opts {
    size_t stack_size;   /* the fiber's stack (0: TETHER_STACK_SIZE_DEFAULT) */
    uint64_t timeout_ns; /* 0: none; else the call is killed after this long */
    /*
     * Called with the fiber just before it runs fn, on the calling
     * thread (to create a kill switch for it, say); NULL for none.
     */
    void (*on_start)(tether_fiber *f, void *start_arg);
    void *start_arg;
    uint64_t reserved[8]; /* zero; room for later options */
} tether_call_opts;

/*
 * What a call on a fiber came to. Filled whole by the call; later fields
 * come from `reserved` (see tether/common.h).
 */
typedef struct tether_call_report {
    int state;          /* TETHER_RETURNED, TETHER_FAULTED or TETHER_TERMINATED */
    tether_fault fault; /* FAULTED: the record, with the backtrace at the fault */
    void *details;      /* TERMINATED: what the kill said (TETHER_DEADLINE_EXCEEDED) */
    int passed_over;    /* what the unwind returned (see tether_fiber_unwind) */
    uint64_t reserved[4]; /* zero */
} tether_call_report;

/*
 * Calls fn(arg) on a fiber from the pool, and returns when fn has
 * returned or the fiber has died and been unwound. Returns 0 with fn's
 * result in *ret (if not NULL); -EFAULT if fn faulted, -ETIMEDOUT if the
 * time limit ran out, -ECANCELED if a kill switch, tether_terminate() or
 * an exception fn let escape ended it; *report (if not NULL)
 * says which, with the fault record. Also -EINVAL (NULL fn, a bad
 * option, opts->reserved not zero), -ERANGE (stack size), -ENOMEM, -EAGAIN. If fn yields, the
 * fiber is ended as TERMINATED (-ECANCELED): a guarded call does not
 * suspend.
 */
TETHER_API int tether_call_on_fiber(tether_call_fn fn, void *arg, void **ret,
                                    const tether_call_opts *opts, tether_call_report *report);

TETHER_END_DECLS

#endif
