/*
 * Where a fiber is unwound: the exception that carries the unwind, the
 * stop function that ends it at the fiber's bottom frame, the bottom
 * frame's personality (which stops a guest's own escaping exceptions
 * there), and tether_fiber_unwind() itself.
 *
 * The unwind runs on the fiber, as a resume: the fiber continues at a
 * register-block frame built where unwind_frame.c says (where it stopped,
 * or above frames that must be passed over). Then
 * tether__unwind_raise() raises a forced unwind (_Unwind_ForcedUnwind:
 * no search phase, unwind_frame.c's walk did its work), every cleanup on
 * the way runs, and the stop function switches back to the host when
 * the unwinder reaches the bottom frame.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unwind.h>

#include <tether/unwind.h>

#include "arch.h"
#include "fiber_impl.h"
#include "stack.h"
#include "deadline.h"
#include "thread.h"
#include "unwind_frame.h"
#include "fault_backtrace.h"

/* "TETHER\0\0": the exception class of an unwind. */
#define UNWIND_CLASS 0x5445544845520000ull

/* How an unwind ended, in f->unwind_outcome (set on the fiber). */
enum {
    UNWIND_DONE = 1,      /* it reached the bottom frame */
    UNWIND_FAILED = 2,    /* the unwinder could not start */
    UNWIND_ABANDONED = 3, /* it met a frame without unwind tables */
};

/* The stop a fiber reports when its unwind reached the bottom frame. */
#define STOP_UNWOUND 100

static tether_fiber *fiber_of(struct _Unwind_Exception *e)
{
    return (tether_fiber *)((char *)e - offsetof(tether_fiber, exc));
}

/*
 * The foreign exception (no C++ in the process) deleted before it
 * reached the bottom frame: something caught it and ended without
 * rethrowing. It is raised again at the fiber's next entry into tether.
 */
static void swallowed(_Unwind_Reason_Code reason, struct _Unwind_Exception *e)
{
    (void)reason;
    fiber_of(e)->unwind_reraise = 1;
}

/*
 * The fiber has no frames left (or none that can be unwound): it leaves
 * for good. The unwinder's frames below are simply abandoned; it holds
 * no lock between frames.
 */
static _Noreturn void land(tether_fiber *f, struct _Unwind_Exception *e, int outcome)
{
    f->has_frames = 0;
    if (e != &f->exc)
        tether__cxx_eh_discard(e); /* released as a catch (...) would */
    f->unwind_outcome = outcome;
    tether__switch_out_slow(f, STOP_UNWOUND, NULL);
    __builtin_unreachable();
}

/*
 * Called by the unwinder before each frame's personality: at the
 * fiber's bottom frame the unwind is done (the host's frames beyond it
 * are never visited).
 */
static _Unwind_Reason_Code stop_at_bottom(int version, _Unwind_Action actions,
                                          _Unwind_Exception_Class cls,
                                          struct _Unwind_Exception *e,
                                          struct _Unwind_Context *ctx, void *arg)
{
    tether_fiber *f = arg;
    int exact = 0;
    uintptr_t ip;

    (void)version;
    (void)cls;
    if (actions & _UA_END_OF_STACK)
        land(f, e, UNWIND_ABANDONED);
    ip = (uintptr_t)_Unwind_GetIPInfo(ctx, &exact);
    if (tether__arch_in_trampoline(exact ? ip : ip - 1))
        land(f, e, UNWIND_DONE);
    return _URC_NO_REASON;
}

/*
 * Inline into both callers: every frame between the raise and the
 * fiber's frames is one more step of the unwinder's walk.
 */
static inline __attribute__((always_inline)) _Noreturn void raise_on(tether_fiber *f)
{
    struct _Unwind_Exception *e = tether__cxx_eh_forced_unwind();

    f->unwind_reraise = 0;
    if (!e) {
        /* No C++ in the process: an exception of tether's own class. */
        memset(&f->exc, 0, sizeof f->exc);
        f->exc.exception_class = UNWIND_CLASS;
        f->exc.exception_cleanup = swallowed;
        e = &f->exc;
    }
    tether__san_no_return();
    _Unwind_ForcedUnwind(e, stop_at_bottom, f);
    land(f, e, UNWIND_FAILED); /* only if the unwinder could not start */
}

_Noreturn void tether__unwind_raise(tether_fiber *f)
{
    raise_on(f);
}

/* A register-block frame calls this, on the fiber. */
static void raise_from_frame(void *f)
{
    tether__san_in_fiber(&((tether_fiber *)f)->san);
    raise_on(f);
}

/*
 * Has guest code swallowed the unwind? Asked at an entry into tether
 * while the fiber is being unwound. With C++, by the fiber's exception
 * state, not by watching the exception object (an exception_ptr may
 * keep it alive, or a catch block may replace it): no exception in
 * flight means nothing is unwinding the fiber any more. `strict`
 * entries (host-call brackets, any tether function) may be made by a
 * catch block that is handling the unwind and will rethrow it: there,
 * an exception being handled also counts as "not swallowed".
 */
static void reraise(tether_fiber *f, int strict)
{
    unsigned int in_flight;
    int handling;

    if (!f->unwinding) {
        f->unwind_reraise = 0;
        return;
    }
    if (tether__cxx_eh_state(&in_flight, &handling) == 0) {
        if (in_flight || (strict && handling))
            return;
    } else if (!f->unwind_reraise) {
        return; /* the foreign exception is still on its way */
    }
    f->unwind_swallowed++;
    tether__unwind_raise(f);
}

/*
 * A forced unwind that is not tether's (the thread calls pthread_exit,
 * or is cancelled) crosses the fiber's bottom frame on its way into the
 * host's frames: the fiber's cleanups have run, the host's are next, and
 * the thread ends. The fiber ends with it: the thread is back on the
 * fiber's host, as after a switch out, and the fiber is TERMINATED with
 * TETHER_THREAD_EXITED once the thread is gone (the unwinder still runs
 * on the fiber's stack until then, so nobody may free it before).
 */
static void ended_with_thread(tether_fiber *f)
{
    struct tether_thread *t = &tether__thread;

    f->has_frames = 0;
    f->result = TETHER_THREAD_EXITED;
    /* A timed resume of f is being unwound: its deadline goes with it. */
    while (t->deadline && t->deadline->fiber == f)
        t->deadline = t->deadline->outer;
    tether__fiber_left(t, f); /* the host's current fiber and C++ state back */
    tether__san_left_by_unwind(&f->san);
    f->exited_next = t->exited;
    t->exited = f;
}

/* At thread exit (registered with thread.c): those fibers are done. */
static void thread_exit(struct tether_thread *t)
{
    for (tether_fiber *f = t->exited, *next; f; f = next) {
        next = f->exited_next;
        /* Its unwind, which a cleanup's pthread_exit ended, had opened the guard. */
        if (f->stack.guard_open)
            tether__stack_guard_close(&f->stack);
        atomic_store_explicit(&f->claim.state, (uint64_t)TETHER_TERMINATED, memory_order_release);
        if (f->destroy_with_thread)
            tether_fiber_destroy(f); /* a guarded call's fiber: nobody else holds it */
    }
    t->exited = NULL;
}

TETHER_THREAD_HOOKS(NULL, thread_exit, NULL);

/*
 * The personality of the fiber's bottom frame (see the trampoline in the
 * .S file). A C++ exception the guest let escape stops here. tether's
 * own unwind never gets this far (its stop function ends it first);
 * forced unwinds that are not tether's (pthread_exit) are let through,
 * as their stop function expects, and end the fiber with its thread.
 */
_Unwind_Reason_Code tether__unwind_personality(int version, _Unwind_Action actions,
                                               _Unwind_Exception_Class cls,
                                               struct _Unwind_Exception *e,
                                               struct _Unwind_Context *ctx)
{
    (void)cls;
    if (version != 1)
        return _URC_FATAL_PHASE1_ERROR;
    if (actions & _UA_SEARCH_PHASE)
        return _URC_HANDLER_FOUND;
    if (actions & _UA_FORCE_UNWIND) {
        /* rbx in the bottom frame is the fiber (see the trampoline). */
        ended_with_thread((tether_fiber *)(uintptr_t)_Unwind_GetGR(ctx, 3));
        return _URC_CONTINUE_UNWIND;
    }
    if (!(actions & _UA_HANDLER_FRAME))
        return _URC_CONTINUE_UNWIND;
    _Unwind_SetGR(ctx, __builtin_eh_return_data_regno(0), (_Unwind_Word)(uintptr_t)e);
    _Unwind_SetIP(ctx, (_Unwind_Ptr)tether__fiber_landing);
    return _URC_INSTALL_CONTEXT;
}

/*
 * The landing pad of the bottom frame: the fiber has no frames left.
 * During an unwind that is the unwind's end, whether our exception got
 * here or a catch (...) replaced it with one of its own on the way.
 * Otherwise a guest's own exception escaped it.
 */
_Noreturn void tether__unwind_landed(tether_fiber *f, struct _Unwind_Exception *e)
{
    f->has_frames = 0;
    if (e != &f->exc)
        tether__cxx_eh_discard(e);
    if (f->unwinding) {
        f->unwind_outcome = UNWIND_DONE;
        tether__switch_out_slow(f, STOP_UNWOUND, NULL);
    } else {
        tether__switch_out_slow(f, TETHER_TERMINATED, TETHER_EXCEPTION_ESCAPED);
    }
    __builtin_unreachable();
}

int tether_unwinding(void)
{
    tether_fiber *f = tether__thread.current;

    return f && f->unwinding;
}

/* Room the unwinder wants below where it starts, or the guard is opened. */
#define UNWIND_ROOM (32 * 1024)

/* Runs the unwind on the fiber; returns the stop it came back with. */
static int run_unwind(struct tether_thread *t, tether_fiber *f, void *sp)
{
    int stop;

    f->unwinding = 1;
    f->unwind_outcome = 0;
    f->unwind_swallowed = 0;
    f->in_ptr = NULL; /* nothing is handed to its yield */
    stop = tether__enter(t, f, sp, f, NULL);
    f->unwinding = 0;
    f->unwind_reraise = 0;
    return stop;
}

/*
 * Starts the unwind where `start` says, with room for the unwinder below
 * (the guard is opened after an overflow). Returns what
 * tether_fiber_unwind returns; *st becomes FAULTED if a cleanup faulted.
 */
static int unwind_from(struct tether_thread *t, tether_fiber *f,
                       const struct tether_unwind_start *start, int *st)
{
    uintptr_t lo = (uintptr_t)tether__stack_lo(&f->stack), writable = lo, lowest;
    int opened = 0, stop, err;
    void *sp;

    lowest = start->below - TETHER_ARCH_FRAME_SIZE;
    if (lowest < lo + UNWIND_ROOM && tether__stack_guard_open(&f->stack) == 0) {
        opened = 1;
        writable = tether__stack_guard_open_lo(&f->stack);
    }
    if (lowest < writable || lowest >= (uintptr_t)f->record) {
        err = -EFAULT; /* no room to start it (a one-page guard after an overflow) */
    } else {
        tether__san_stack_reused((void *)lowest, start->below - lowest);
        sp = tether__arch_frame_at(start->below, start->regs, start->exact,
                                   raise_from_frame, f, start->ctl);
        stop = run_unwind(t, f, sp);
        if (stop == TETHER_FAULTED) {
            /* A cleanup faulted: its record replaces the old, walked while its frames are there. */
            *st = TETHER_FAULTED;
            tether__fault_walk(f);
            err = -EFAULT;
        } else if (stop != STOP_UNWOUND || f->unwind_outcome != UNWIND_DONE) {
            err = -ENOTRECOVERABLE;
        } else {
            err = start->passed_over;
        }
    }
    if (opened)
        tether__stack_guard_close(&f->stack);
    return err;
}

int tether__unwind(tether_fiber *f, int keep_record)
{
    struct tether_thread *t = &tether__thread;
    struct tether_unwind_start start;
    uint64_t w = atomic_load(&f->claim.state);
    int st = tether__state_of(w), err = 0, plan;
    tether_fault *bt = NULL;
    stack_t prev;

    if (st == TETHER_RUNNING)
        return tether__hosts_caller(f) ? -EDEADLK : -EBUSY;
    if (!f->has_frames)
        return 0;
    /* Prepared first: the alternate stack check reads what preparing sets. */
    if (!t->ready && (err = tether__thread_prepare()) != 0)
        return err;
    if (tether__altstack_in_use(&t->alt)) {
        /* From a handler on the alternate stack: see fiber.c's resume_on_spare. */
        if ((err = tether__altstack_push(t, &prev)) != 0)
            return err;
        err = tether__unwind(f, keep_record);
        tether__altstack_pop(&tether__thread, &prev);
        return err;
    }
    if (!atomic_compare_exchange_strong(&f->claim.state, &w,
                                        (uint64_t)t->tid << 32 | TETHER_RUNNING))
        return -EBUSY;
    tether__cxx_eh_probe(); /* a plugin may have brought libstdc++ since */
    /* The host may read the fault record afterwards: the plan's walk fills its backtrace. */
    if (keep_record && st == TETHER_FAULTED && tether__fault_walk_begin(f))
        bt = &f->fault;
    f->unwind_swallowed = 0;
    plan = tether__unwind_plan(f, &start, bt);
    if (bt)
        tether__fault_walk_end(f);
    switch (plan) {
    case START_NONE:
        err = -ENOTRECOVERABLE;
        break;
    case START_NOTHING:
        err = start.passed_over;
        break;
    default:
        err = unwind_from(t, f, &start, &st);
        break;
    }
    f->unwind_passed_over = start.passed_over;
    f->unwind_result = err;
    f->has_frames = 0;
    if (st == TETHER_YIELDED)
        st = TETHER_TERMINATED;
    atomic_store_explicit(&f->claim.state, (uint64_t)st, memory_order_release);
    return err;
}

int tether_fiber_unwind(tether_fiber *f)
{
    tether_fiber *self;
    int err;

    if (!f)
        return -EINVAL;
    self = tether__host_begin();
    err = tether__unwind(f, 1);
    tether__host_end(self);
    return err;
}

int tether_fiber_unwind_report(const tether_fiber *f, tether_unwind_report *out)
{
    if (!f || !out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    out->result = f->unwind_result;
    out->passed_over = f->unwind_passed_over;
    out->swallowed = f->unwind_swallowed;
    return 0;
}

/* The fiber core unwinds a fiber's frames, and raises a swallowed unwind again, through these. */
TETHER_FIBER_HOOKS(tether__unwind, reraise, NULL, NULL);
