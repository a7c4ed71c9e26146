/* The fiber object, shared by the files that implement fibers. */
#ifndef TETHER_FIBER_IMPL_H
#define TETHER_FIBER_IMPL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <unwind.h>
#include <tether/fault.h>
#include <tether/fiber.h>

#include "arch.h"
#include "cxx_eh.h"
#include "fiber_claim.h"
#include "sanitize.h"
#include "stack.h"
#include "thread.h"

/* Why a kill was requested: the value of tether_fiber.kill. */
enum { KILL_CLAIMING = -1, KILL_NONE = 0, KILL_SWITCH = 1, KILL_DEADLINE = 2 };

struct tether_kill_shared;

/* tether_fiber.magic of a live fiber: "tetherfb". Debuggers find fibers by it. */
#define TETHER_FIBER_MAGIC 0x62666568746574ull

/*
 * A fiber. It lives at the top of its own stack slot (stack.h), so a
 * fiber from the pool costs no allocation. Hot fields come first; the
 * cold ones at the end (the fault record, the registers a signal left,
 * the unwind's exception) are written when they are needed, never at
 * creation.
 */
struct tether_fiber {
    struct tether_claim claim;   /* its state word, and who may claim it (fiber_claim.h) */
    void *sp;                    /* its saved stack pointer while suspended */
    void *record;                /* host record at the top of its stack */
    struct tether_fiber *parent; /* its host while running; NULL = a thread */
    void **out_ptr;              /* this run's host wants the stop's value here */
    void **in_ptr;               /* its yield wants the next resume's value here */
    uintptr_t guard_edge;        /* 256 bytes above its guard (tether__near_guard) */
    _Atomic int kill;            /* KILL_NONE, or why (see kill.c) */
    int host_depth;              /* open tether_host_enter() brackets */
    int stop;                    /* the state it stops in (the other way back) */
    unsigned char has_frames;    /* it ran and has not returned or been unwound */
    unsigned char stopped_by_signal; /* its registers are in dead_regs */
    unsigned char unwinding;     /* an unwind of this fiber is under way */
    unsigned char unwind_reraise; /* guest code swallowed it: raise again */
    unsigned char destroy_with_thread; /* freed if its thread exits in it (guarded_call.c) */
    unsigned flags;              /* tether_fiber_opts.flags */
    struct tether_cxx_eh cxx_eh; /* its C++ exception state (cxx_eh.c) */
    void *stop_value;            /* the stop's value (the other way back) */
    void *result;                /* what its last stop handed out (tether_fiber_result) */

    tether_fn fn;
    void *arg;
    void *user_data;             /* tether_fiber_set_user_data() */
    uint64_t id;                 /* never reused: a kill signal names its fiber by id */
    void *_Atomic kill_details;
    const tether_code_range *guest_code; /* sorted copy, or NULL */
    size_t guest_code_count;
    struct tether_kill_shared *_Atomic kswitch; /* shared by its kill switches */
    struct tether_call_frame *call_top; /* its innermost guarded call (guarded_call.c) */
    struct tether_fiber *exited_next; /* on its thread's list of fibers that
                                         ended with it (unwind.c) */
    struct tether_stack stack;   /* the slot it lives in */
    int unwind_swallowed;        /* how many times it was swallowed */
    int unwind_outcome;          /* how the last unwind ended (unwind.c) */
    int unwind_result;           /* what the last unwind returned */
    int unwind_passed_over;      /* frames whose cleanups it could not run */

    /*
     * Its name (tether_fiber_set_name), NUL-terminated, "" for none:
     * written at creation (one byte, without a name) and when named.
     */
    char name[TETHER_FIBER_NAME_MAX + 1];

    /* Cold: written when needed. */
    uint64_t magic;              /* TETHER_FIBER_MAGIC while the fiber exists (for debuggers) */
    _Atomic int fault_walked;    /* its backtrace: 0 not yet, 1 walking, 2 done */
    tether_fault fault;          /* valid when state == TETHER_FAULTED */
    uint64_t dead_regs[TETHER_NREGS]; /* stopped_by_signal: where it stopped */
    uint64_t dead_ctl;
    struct _Unwind_Exception exc; /* the unwind's exception object (no C++) */
    struct tether_san san;       /* what the sanitizers and valgrind keep (sanitize.h) */
};

static inline int tether__fiber_state(const tether_fiber *f)
{
    return tether__state_of(atomic_load_explicit(
        &((tether_fiber *)f)->claim.state, memory_order_acquire));
}

/*
 * host_depth is read by signal handlers on the same thread: the fences
 * keep the compiler from moving the change across the code it brackets.
 */
static inline void tether__host_depth_add(tether_fiber *f, int n)
{
    atomic_signal_fence(memory_order_seq_cst);
    f->host_depth += n;
    atomic_signal_fence(memory_order_seq_cst);
}

/*
 * At every entry into tether from a fiber: a guest that swallowed the
 * unwind (catch (...) without rethrow) gets it raised again here.
 * `strict`: the entry may be made by a catch block that is handling the
 * unwind and will rethrow it (see unwind.c).
 */
void tether__fiber_reraise(tether_fiber *f, int strict);

static inline void tether__unwind_checkpoint(tether_fiber *f, int strict)
{
    if (f->unwinding || f->unwind_reraise)
        tether__fiber_reraise(f, strict);
}

/*
 * tether's own functions that may run on a fiber and call into libc
 * (malloc, mmap, locks) are host calls: a kill must not stop them half
 * way. They begin with tether__host_begin() and end with
 * tether__host_end(), which is also a kill checkpoint.
 */
static inline tether_fiber *tether__host_begin(void)
{
    tether_fiber *f = tether__thread.current;

    if (f) {
        tether__unwind_checkpoint(f, 1);
        tether__host_depth_add(f, 1);
    }
    return f;
}

void tether__host_end(tether_fiber *f);

/*
 * The thread switches into f: f becomes its current fiber, with its own
 * C++ exception state, and its host's out and f's yield's in are
 * connected. Undone by tether__fiber_left. Inline: both sit on every
 * resume (the hot path inlines across fiber.c, cxx_eh.h and this file).
 */
static inline __attribute__((always_inline)) void
tether__fiber_entered_as(struct tether_thread *t, tether_fiber *f, void *in, void **out,
                         int cxx_known, int nested)
{
    /*
     * Stores are what a switch spends its time on: fields that rarely
     * change are compared first. (f->parent is NULL whenever f is not
     * running.)
     */
    if (!f->has_frames)
        f->has_frames = 1;
    if (f->stopped_by_signal)
        f->stopped_by_signal = 0; /* a signal handler sets it */
    if (f->out_ptr != out)
        f->out_ptr = out;
    if (f->in_ptr)
        *f->in_ptr = in;
    /*
     * The C++ state first: its first lookup calls into libstdc++, on the
     * host's stack, and an overflow there must still be the host's.
     */
    if (cxx_known)
        tether__cxx_eh_swap_known(t, &f->cxx_eh);
    else
        tether__cxx_eh_swap(t, &f->cxx_eh);
    if (nested)
        f->parent = t->current;
    t->current = f;
}

static inline void tether__fiber_entered(struct tether_thread *t, tether_fiber *f,
                                         void *in, void **out)
{
    tether__fiber_entered_as(t, f, in, out, 0, t->current != NULL);
}

/* The thread leaves f for its host (on the fiber's side or the host's). */
static inline __attribute__((always_inline)) void
tether__fiber_left_as(struct tether_thread *t, tether_fiber *f, int cxx_known)
{
    if (cxx_known)
        tether__cxx_eh_swap_known(t, &f->cxx_eh);
    else
        tether__cxx_eh_swap(t, &f->cxx_eh);
    t->current = f->parent;
    if (f->parent)
        f->parent = NULL;
}

static inline void tether__fiber_left(struct tether_thread *t, tether_fiber *f)
{
    tether__fiber_left_as(t, f, 0);
}

/*
 * f, just made the thread's current fiber, is entered from a fiber whose
 * deadline expired before f ran: the deadline layer's `inherit` hook
 * (deadline.c) puts f under the same deadline.
 */
void tether__fiber_inherit_deadline(struct tether_thread *t, tether_fiber *f);

/*
 * Switches into f, claimed by this thread, at the suspended block `sp`,
 * and back; returns the stop it came back with. For the slow ways in
 * (nested resumes, the unwind); the fast one is tether_fiber_resume.
 */
static inline int tether__enter(struct tether_thread *t, tether_fiber *f, void *sp,
                                void *in, void **out)
{
    /*
     * Once f is the thread's current fiber, a fault is judged as f's; the
     * host's stack is written once more after that (the call's return
     * address). Touch it now, while a host fiber near its guard would
     * still be the one to overflow.
     */
    (void)*(volatile const char *)(tether__arch_sp() - 64);
    tether__fiber_entered(t, f, in, out);
    if (f->parent && atomic_load_explicit(&f->parent->kill, memory_order_relaxed) == KILL_DEADLINE)
        tether__fiber_inherit_deadline(t, f);
    /* Every way back runs tether__resume_finish, which confirms the way out. */
    tether__san_to_fiber(&f->san, tether__stack_lo(&f->stack), f->record);
    return tether__switch_in(f->record, sp, in);
}

/*
 * tether_fiber_resume() without its host-call bracket, for callers that
 * bracket a larger piece of work (tether__host_begin/_end).
 */
int tether__resume(tether_fiber *f, void *in, void **out);

/* The slow ways of tether_fiber_resume and tether_yield (fiber.c). */
int tether__resume_slow(tether_fiber *f, void *in, void **out);
int tether__yield_slow(tether_fiber *f, void *out, void **in);

/* A claimed fiber that a kill stopped before it ran again: TERMINATED. */
int tether__never_ran(tether_fiber *f, void **out);

/*
 * Is the calling fiber f within 256 bytes of its guard? The fast way out
 * pushes 64 bytes after the thread's current fiber is already the host,
 * where an overflow would not be known as the fiber's: near the guard
 * the slow way out is taken, which keeps f current until its pushes are
 * done.
 */
static inline int tether__near_guard(const tether_fiber *f)
{
    return tether__arch_sp() < f->guard_edge;
}

/*
 * Stops the running fiber f from a signal handler: remembers its
 * registers for the unwind, records `stop`, and rewrites the signal's
 * context so that it returns into the host, which finishes the stop
 * (tether__resume_finish). Async-signal-safe (signals.c).
 */
void tether__signal_stop_fiber(tether_fiber *f, void *uc, int stop, void *value);

/* Is f the calling fiber or one of the fibers hosting it? */
int tether__hosts_caller(const tether_fiber *f);

/*
 * Unwinds f (tether_fiber_unwind without the host-call bracket).
 * keep_record: the host may still read a fault record afterwards, so
 * its backtrace is walked first.
 */
int tether__unwind(tether_fiber *f, int keep_record);

/* Walks f's fault record's backtrace, once (fault.c). */
void tether__fault_walk(tether_fiber *f);

/*
 * The same in two halves, for a walk of f's frames that fills the
 * backtrace on its way (the unwind's plan): begin returns 1 if the
 * caller is to fill it, then end says it is there; 0 if it is there
 * already (it waits for a walk in progress elsewhere).
 */
int tether__fault_walk_begin(tether_fiber *f);
void tether__fault_walk_end(tether_fiber *f);

/* Raises the unwind on the calling fiber f (unwind.c). */
_Noreturn void tether__unwind_raise(tether_fiber *f);

/* What resume returns, after TETHER_FIBER_UNWIND_ON_EXIT has its say. */
int tether__resume_end(tether_fiber *f, int stop);

/*
 * Leaves the calling fiber f for its host, stopping in `stop` with
 * `value` for the host's *out, the way back that finishes on the host's
 * side. Returns 0 if the fiber is ever resumed. See fiber.c.
 */
int tether__switch_out_slow(tether_fiber *f, int stop, void *value);

/*
 * The fast way out (the caller checked tether__near_guard): the thread's
 * current fiber and C++ state go back to the host here, the value to the
 * host's *out, and the switch publishes the state once off the fiber's
 * stack. A tail call: the fiber is later resumed straight into our
 * caller, with 0.
 */
static inline __attribute__((always_inline)) int
tether__leave_fast(struct tether_thread *t, tether_fiber *f, int stop, void *value)
{
    if (stop == TETHER_RETURNED) {
        f->has_frames = 0;
        f->result = value; /* what a finished fiber handed out, kept */
    }
    if (f->out_ptr)
        *f->out_ptr = value;
    tether__fiber_left_as(t, f, 1);
    return tether__switch_out(&f->sp, f->record, stop, &f->claim.state);
}

/* Leaves the calling fiber f, the fast way if it can. */
static inline int tether__leave(struct tether_thread *t, tether_fiber *f, int stop, void *value)
{
    if (TETHER_SANITIZE || tether__near_guard(f) || !tether__cxx_eh_known(t))
        return tether__switch_out_slow(f, stop, value);
    return tether__leave_fast(t, f, stop, value);
}

/* Ends the calling fiber f as TERMINATED: a kill is pending on it. */
_Noreturn void tether__kill_now(tether_fiber *f);

/*
 * A checkpoint: ends the calling fiber f as TERMINATED if a kill is
 * pending on it and it is not inside a host call. Inline: it sits on
 * every switch.
 */
static inline void tether__kill_checkpoint(tether_fiber *f)
{
    /* An unwind is the host's own doing: it runs to its end. */
    if (f->host_depth == 0 && !f->unwinding && atomic_load(&f->kill) > KILL_NONE)
        tether__kill_now(f);
}

/* Requests a kill of f (first request wins). Async-signal-safe. */
int tether__kill_request(tether_fiber *f, int why, void *details);

/* Is pc inside f's guest code? Always true when f names none. Async-signal-safe. */
int tether__in_guest_code(const tether_fiber *f, uintptr_t pc);

/*
 * What the layers above the fiber core do at points of a fiber's life.
 * Each registers with a TETHER_FIBER_HOOKS line in its own file (the
 * linker gathers them into the section tether_fiber_hooks); the core
 * (fiber.c) names none of them. Any field may be NULL.
 */
struct tether_fiber_hooks {
    /*
     * The fiber's frames must go (destroy, reset, a death with
     * TETHER_FIBER_UNWIND_ON_EXIT): returns what tether_fiber_unwind
     * returns. keep_record: the host may still read a fault record.
     */
    int (*unwind)(tether_fiber *f, int keep_record);
    /* A checkpoint of a fiber whose guest swallowed its unwind (unwind_reraise set). */
    void (*reraise)(tether_fiber *f, int strict);
    /* It is about to be freed. */
    void (*freeing)(tether_fiber *f);
    /*
     * It is entered, on thread t, from a host fiber whose deadline has
     * expired (it waits for a host call to end): f inherits it.
     */
    void (*inherit)(struct tether_thread *t, tether_fiber *f);
};

#define TETHER_FIBER_HOOKS(unwind, reraise, freeing, inherit)                             \
    static const struct tether_fiber_hooks tether_fiber_hooks_ = {unwind, reraise, freeing, \
                                                                  inherit};                 \
    __attribute__((used, section("tether_fiber_hooks"), aligned(sizeof(void *))))          \
    static const struct tether_fiber_hooks *const tether_fiber_hooks_entry_ =               \
        &tether_fiber_hooks_

/* The unwind hook on f (0 if nothing unwinds: no frames were ever kept). */
int tether__fiber_unwind(tether_fiber *f, int keep_record);

/* Copies a name into f (fiber_info.c): NULL or "" for none. */
void tether__fiber_name_set(tether_fiber *f, const char *name);

/* Set once any fiber has had a name (fiber_info.c). */
extern _Atomic int tether__fibers_named;

/*
 * The fiber whose own fault record r is (the pointer tether_fiber_fault
 * returns), or NULL for any other record: a copy, tether_call's, a wasm
 * trap's (fiber.c).
 */
const tether_fiber *tether__fiber_of_fault(const tether_fault *r);

#endif
