/*
 * Guarded foreign calls (tether/call.h).
 *
 * On the caller's stack: tether_call() links a call frame (call_frame.h)
 * to the innermost guarded call of the running fiber, or of the thread
 * when no fiber runs, and calls fn through tether__call_run (asm/), which
 * records where its frame is. A fault is ours when such a frame exists
 * and the fault's stack pointer is below it on the same stack: this
 * file's client of the signal layer (asked after the fault-handler chain,
 * before the running fiber) fills the record and sends the thread back
 * to the frame, dropping everything fn had below it.
 *
 * On a fiber: tether_call_on_fiber() runs fn on a pooled fiber, and
 * unwinds and frees it whatever happened.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>
#include <tether/call.h>
#include <tether/unwind.h>

#include "arch.h"
#include "call_frame.h"
#include "fault_kind.h"
#include "fiber_impl.h"
#include "signals.h"

/* The innermost guarded call of whatever runs now on this thread. */
static struct tether_call_frame **head_of(struct tether_thread *t)
{
    return t->current ? &t->current->call_top : &t->call_top;
}

/* A client of the signal layer (signals.h). Async-signal-safe. */
static int guarded_fault(int sig, siginfo_t *info, void *ucv)
{
    struct tether_thread *t = &tether__thread;
    struct tether_call_frame **head = head_of(t), *cf = *head;
    const ucontext_t *uc = ucv;
    uintptr_t sp = tether__arch_uc_sp(uc);

    /*
     * Its frames lie below the call's own, on the same stack; a handler
     * running on the alternate stack inside fn is not fn.
     */
    if (!cf || sp >= (uintptr_t)cf->sp || (uc->uc_stack.ss_flags & SS_ONSTACK))
        return 0;
    if (cf->fault)
        tether__fault_fill(cf->fault, sig, info, uc, t->current ? &t->current->stack : NULL);
    if (t->current)
        t->current->host_depth = cf->host_depth; /* brackets fn opened stay open no more */
    *head = cf->prev;
    tether__arch_uc_jump(ucv, (uintptr_t)tether__call_escape, (uintptr_t)cf->sp);
    tether__signals_unblock_in(ucv);
    return 1;
}

TETHER_SIGNAL_CLIENT(TETHER_SIGNAL_ORDER_GUARDED, guarded_fault, NULL);

/*
 * The personality of tether__call_run's frame: an exception or a forced
 * unwind that crosses it takes the call off its chain, and goes on.
 */
_Unwind_Reason_Code tether__call_personality(int version, _Unwind_Action actions,
                                             _Unwind_Exception_Class cls,
                                             struct _Unwind_Exception *e,
                                             struct _Unwind_Context *ctx)
{
    (void)cls;
    (void)e;
    if (version != 1)
        return _URC_FATAL_PHASE1_ERROR;
    if (actions & _UA_CLEANUP_PHASE) {
        /* rbx holds the frame (see the .S file). */
        struct tether_call_frame *cf = (void *)(uintptr_t)_Unwind_GetGR(ctx, 3);
        if (*cf->head == cf)
            *cf->head = cf->prev;
    }
    return _URC_CONTINUE_UNWIND;
}

int tether_call(tether_call_fn fn, void *arg, void **ret, tether_fault *fault)
{
    struct tether_thread *t = &tether__thread;
    struct tether_call_frame cf;
    int err;

    if (!fn)
        return -EINVAL;
    /* The handlers, and the alternate stack an overflow of this stack needs. */
    if (!t->ready && ((err = tether__signals_install()) != 0 ||
                      (err = tether__thread_prepare()) != 0))
        return err;
    cf.head = head_of(t);
    cf.prev = *cf.head;
    cf.fault = fault;
    cf.host_depth = t->current ? t->current->host_depth : 0;
    *cf.head = &cf;
    atomic_signal_fence(memory_order_seq_cst); /* linked before fn runs */
    err = tether__call_run(fn, arg, &cf);
    atomic_signal_fence(memory_order_seq_cst);
    if (err == 0) {
        *cf.head = cf.prev; /* (a fault unlinked it already) */
        if (ret)
            *ret = cf.ret;
    }
    return err;
}

/* ------------------------------------------------------------ on a fiber */

struct call {
    tether_call_fn fn;
    void *arg;
};

static void *enter(void *p, void *in)
{
    struct call *c = p;
    (void)in;
    return c->fn(c->arg);
}

int tether_call_on_fiber(tether_call_fn fn, void *arg, void **ret,
                         const tether_call_opts *opts, tether_call_report *report)
{
    static const tether_call_opts defaults;
    tether_fiber_opts fo = {0};
    struct call c = {fn, arg};
    tether_call_report scratch, *r = report ? report : &scratch;
    tether_fiber *f;
    void *out = NULL;
    int st, err;

    if (!fn)
        return -EINVAL;
    if (!opts)
        opts = &defaults;
    for (size_t i = 0; i < sizeof opts->reserved / sizeof opts->reserved[0]; i++)
        if (opts->reserved[i])
            return -EINVAL; /* an option of a later release */
    fo.stack_size = opts->stack_size;
    if ((err = tether_fiber_create(&f, enter, &c, &fo)) != 0)
        return err;
    if (opts->on_start)
        opts->on_start(f, opts->start_arg);
    st = opts->timeout_ns ? tether_fiber_resume_for(f, NULL, &out, opts->timeout_ns)
                          : tether_fiber_resume(f, NULL, &out);
    memset(r, 0, sizeof *r);
    r->state = st == TETHER_YIELDED ? TETHER_TERMINATED : st;
    switch (st) {
    case TETHER_RETURNED:
        if (ret)
            *ret = out;
        err = 0;
        break;
    case TETHER_FAULTED:
        r->fault = *tether_fiber_fault(f); /* walked now, while the frames are there */
        err = -EFAULT;
        break;
    case TETHER_TERMINATED:
        r->details = out;
        err = out == TETHER_DEADLINE_EXCEEDED ? -ETIMEDOUT : -ECANCELED;
        break;
    case TETHER_YIELDED: /* a guarded call does not suspend: it ends */
        err = -ECANCELED;
        break;
    default:
        err = st < 0 ? st : -EINVAL;
        break;
    }
    if (st != TETHER_RETURNED && st >= 0)
        r->passed_over = tether_fiber_unwind(f);
    tether_fiber_destroy(f);
    return err;
}
