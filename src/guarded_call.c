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

/* Is sp on the alternate signal stack registered when the signal came? */
static int on_altstack(const ucontext_t *uc, uintptr_t sp)
{
    /*
     * (uc_stack holds the thread's registration; since Linux 4.7 its
     * flags never say SS_ONSTACK, so the address is what tells.)
     */
    uintptr_t lo = (uintptr_t)uc->uc_stack.ss_sp;
    return !(uc->uc_stack.ss_flags & SS_DISABLE) && sp - lo < uc->uc_stack.ss_size;
}

/*
 * Is cf a call the fault at sp belongs to? fn's frames lie below the
 * call's own frame, on the same stack; the word at the frame still names
 * it (a call left by longjmp, documented as not allowed, usually does
 * not); an unwind under way did not start inside fn; and an exception
 * passing through it has not been found to leave it.
 */
static int owns(const struct tether_call_frame *cf, const tether_fiber *f,
                const ucontext_t *uc, uintptr_t sp)
{
    uintptr_t frame = (uintptr_t)cf->sp;

    if (sp >= frame || on_altstack(uc, sp) != on_altstack(uc, frame))
        return 0;
    if (*(struct tether_call_frame *const *)cf->sp != cf)
        return 0;
    if (cf->crossed || (f && f->unwinding && !cf->in_unwind))
        return 0;
    return 1;
}

/* A client of the signal layer (signals.h). Async-signal-safe. */
static int guarded_fault(int sig, siginfo_t *info, void *ucv)
{
    struct tether_thread *t = &tether__thread;
    struct tether_call_frame **head = head_of(t), *cf = *head;
    const ucontext_t *uc = ucv;
    uintptr_t sp = tether__arch_uc_sp(uc);

    if (!cf || !owns(cf, t->current, uc, sp))
        return 0;
    if (cf->fault)
        tether__fault_fill(cf->fault, sig, info, uc, t->current ? &t->current->stack : NULL);
    if (t->current)
        t->current->host_depth = cf->host_depth; /* brackets fn opened stay open no more */
    *head = cf->prev;
    tether__arch_uc_jump(ucv, (uintptr_t)tether__call_escape, (uintptr_t)cf->sp);
    tether__arch_uc_set_ctl(ucv, cf->mxcsr, cf->x87_cw);
    tether__signals_to_host(ucv);
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
    struct tether_call_frame *cf;

    if (version != 1)
        return _URC_FATAL_PHASE1_ERROR;
    cf = (void *)(uintptr_t)_Unwind_GetGR(ctx, 3); /* rbx holds the frame (see the .S file) */
    /*
     * The search found no handler inside fn: the exception will leave it,
     * after fn's cleanups; a fault in one of them is not fn's to fail.
     */
    if (actions & _UA_SEARCH_PHASE)
        cf->crossed = 1;
    if ((actions & _UA_CLEANUP_PHASE) && *cf->head == cf)
        *cf->head = cf->prev;
    return _URC_CONTINUE_UNWIND;
}

/*
 * Calls that are no longer on the stack (left by longjmp, which the
 * header forbids) go before a new one is linked: a live call's frame is
 * always above the code that runs, on the same stack.
 */
static void drop_dead(struct tether_thread *t, struct tether_call_frame **head, uintptr_t here)
{
    int alt_here = here - t->alt.lo < t->alt.hi - t->alt.lo;

    while (*head && (uintptr_t)(*head)->sp <= here &&
           ((uintptr_t)(*head)->sp - t->alt.lo < t->alt.hi - t->alt.lo) == alt_here)
        *head = (*head)->prev;
}

/* After a fault: what fn left of the C++ state and of a pending kill. */
static void after_escape(struct tether_thread *t, struct tether_call_frame *cf,
                         struct tether_cxa_eh_globals *g)
{
    /* Exceptions fn was handling are dropped with its frames (leaked). */
    if (g) {
        g->caught = cf->cxx_caught;
        g->uncaught = cf->cxx_uncaught;
    }
    /*
     * A kill that came while fn had a host-call bracket open waited for
     * the bracket's end, which will not come now: this is where it acts.
     */
    if (t->current)
        tether__kill_checkpoint(t->current);
}

int tether_call(tether_call_fn fn, void *arg, void **ret, tether_fault *fault)
{
    struct tether_thread *t = &tether__thread;
    struct tether_cxa_eh_globals *g;
    struct tether_call_frame cf;
    int err;

    if (!fn)
        return -EINVAL;
    /*
     * A thread's first call: the handlers, the alternate stack an
     * overflow of this stack needs, and a look for libstdc++.
     */
    if (!t->ready) {
        if ((err = tether__signals_install()) != 0 || (err = tether__thread_prepare()) != 0)
            return err;
        tether__cxx_eh_probe();
    }
    g = t->cxx_globals;
    if (!g && atomic_load_explicit(&tether__cxx_get_globals, memory_order_relaxed))
        g = tether__cxx_eh_first(t);
    cf.head = head_of(t);
    drop_dead(t, cf.head, tether__arch_sp());
    cf.prev = *cf.head;
    cf.fault = fault;
    cf.host_depth = t->current ? t->current->host_depth : 0;
    cf.in_unwind = t->current && t->current->unwinding;
    cf.crossed = 0;
    cf.cxx_caught = g ? g->caught : NULL;
    cf.cxx_uncaught = g ? g->uncaught : 0;
    *cf.head = &cf;
    atomic_signal_fence(memory_order_seq_cst); /* linked before fn runs */
    err = tether__call_run(fn, arg, &cf);
    atomic_signal_fence(memory_order_seq_cst);
    if (err == 0) {
        *cf.head = cf.prev; /* (a fault unlinked it already) */
        if (ret)
            *ret = cf.ret;
    } else {
        after_escape(t, &cf, g);
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
    tether_fiber *f, *self;
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
    /*
     * On a fiber, the whole call is a host call: a kill of the calling
     * fiber waits until the inner one is destroyed.
     */
    self = tether__host_begin();
    if ((err = tether_fiber_create(&f, enter, &c, &fo)) != 0) {
        tether__host_end(self);
        return err;
    }
    f->destroy_with_thread = 1; /* a thread that exits inside fn takes it along */
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
    tether__host_end(self);
    return err;
}
