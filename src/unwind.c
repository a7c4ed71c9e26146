/*
 * Where a fiber is unwound: the exception that carries the unwind, the
 * personality of the fiber's bottom frame that stops every exception
 * there, and tether_fiber_unwind() itself.
 *
 * The unwind runs on the fiber, as a resume: the fiber continues either
 * inside its last switch (a fiber that yielded or terminated itself:
 * tether__switch_out sees `unwinding` and raises) or at the synthetic
 * frame built by unwind_frame.c (a fiber stopped by a signal). Either way
 * tether__unwind_raise() throws, every cleanup on the stack runs, and
 * the bottom frame's landing pad switches back to the host.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unwind.h>

#include <tether/unwind.h>

#include "arch.h"
#include "fiber_impl.h"
#include "stack.h"
#include "thread.h"
#include "unwind_frame.h"

/* "TETHER\0\0": the exception class of an unwind. */
#define UNWIND_CLASS 0x5445544845520000ull

/* How an unwind ended, in f->unwind_outcome (set on the fiber). */
enum { UNWIND_DONE = 1, UNWIND_FAILED = 2 };

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

_Noreturn void tether__unwind_raise(tether_fiber *f)
{
    f->unwind_reraise = 0;
    tether__cxx_eh_throw_unwind(); /* returns only without C++ */
    memset(&f->exc, 0, sizeof f->exc);
    f->exc.exception_class = UNWIND_CLASS;
    f->exc.exception_cleanup = swallowed;
    _Unwind_RaiseException(&f->exc);
    /* Only if the unwinder failed: the bottom frame catches everything. */
    f->unwind_outcome = UNWIND_FAILED;
    tether__switch_out(f, STOP_UNWOUND, NULL);
    __builtin_unreachable();
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
void tether__unwind_reraise(tether_fiber *f, int strict)
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
 * The personality of the fiber's bottom frame (see the trampoline in the
 * .S file). Every exception stops here: tether's unwind, and any C++
 * exception the guest let escape. Forced unwinds that are not tether's
 * (pthread_exit) are let through, as their stop function expects.
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
        tether__switch_out(f, STOP_UNWOUND, NULL);
    } else {
        tether__switch_out(f, TETHER_TERMINATED, TETHER_EXCEPTION_ESCAPED);
    }
    __builtin_unreachable();
}

int tether_unwinding(void)
{
    tether_fiber *f = tether__thread.current;

    return f && f->unwinding;
}

/* Room the unwinder wants below the stack pointer, or the guard is opened. */
#define UNWIND_ROOM (32 * 1024)

/* Where the fiber's stack pointer was when it stopped. */
static uintptr_t stopped_sp(const tether_fiber *f)
{
    return f->stopped_by_signal ? (uintptr_t)f->dead_regs[TETHER_REG_RSP]
                                : (uintptr_t)f->sp;
}

/* Runs the unwind on the fiber; returns the stop it came back with. */
static int run_unwind(struct tether_thread *t, tether_fiber *f, void *sp)
{
    f->unwinding = 1;
    f->unwind_outcome = 0;
    f->unwind_swallowed = 0;
    f->stopped_by_signal = 0;
    tether__enter(t, f, sp, f);
    f->unwinding = 0;
    f->unwind_reraise = 0;
    return f->stop;
}

int tether__unwind(tether_fiber *f)
{
    struct tether_thread *t = &tether__thread;
    uint64_t w = atomic_load(&f->state);
    int st = tether__state_of(w), stop, err = 0, opened = 0;
    void *sp;

    if (st == TETHER_RUNNING)
        return tether__hosts_caller(f) ? -EDEADLK : -EBUSY;
    if (!f->has_frames)
        return 0;
    if (!t->ready && (err = tether__thread_prepare()) != 0)
        return err;
    if (!atomic_compare_exchange_strong(&f->state, &w,
                                        (uint64_t)t->tid << 32 | TETHER_RUNNING))
        return -EBUSY;
    tether__cxx_eh_probe(); /* a plugin may have brought libstdc++ since */
    /*
     * The unwinder's frames (libgcc's raise keeps two contexts of a few
     * hundred bytes each, the personalities more) go below the fiber's
     * stack pointer. Near the bottom, after an overflow or a deep yield,
     * they need the guard.
     */
    if (stopped_sp(f) < (uintptr_t)tether__stack_lo(&f->stack) + UNWIND_ROOM)
        opened = tether__stack_guard_open(&f->stack) == 0;
    if (f->stopped_by_signal)
        sp = tether__unwind_frame(f, &err);
    else
        sp = f->sp; /* inside its last switch: tether__switch_out raises */
    if (sp) {
        stop = run_unwind(t, f, sp);
        if (stop == TETHER_FAULTED) {
            st = TETHER_FAULTED; /* a cleanup faulted: its record replaces the old */
            err = -EFAULT;
        } else if (stop != STOP_UNWOUND || f->unwind_outcome != UNWIND_DONE) {
            err = -ENOTRECOVERABLE;
        } else {
            err = f->unwind_swallowed;
        }
    }
    if (opened)
        tether__stack_guard_close(&f->stack);
    f->has_frames = 0;
    if (st == TETHER_YIELDED)
        st = TETHER_TERMINATED;
    atomic_store_explicit(&f->state, (uint64_t)st, memory_order_release);
    return err;
}

int tether_fiber_unwind(tether_fiber *f)
{
    tether_fiber *self;
    int err;

    if (!f)
        return -EINVAL;
    self = tether__host_begin();
    err = tether__unwind(f);
    tether__host_end(self);
    return err;
}
