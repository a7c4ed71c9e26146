/* Fibers: create, resume, yield, return, destroy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tether/unwind.h>

#include "arch.h"
#include "fiber_impl.h"
#include "signals.h"
#include "thread.h"

#define KNOWN_FLAGS (TETHER_FIBER_GUARD_MPROTECT | TETHER_FIBER_UNWIND_ON_EXIT)

/* Fiber ids are never reused; a kill signal names its fiber by id. */
static _Atomic uint64_t next_id = 1;

static int range_cmp(const void *a, const void *b)
{
    const tether_code_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Checks and copies the guest's code ranges, sorted by start. */
static int copy_guest_code(tether_fiber *f, const tether_fiber_opts *o)
{
    tether_code_range *r;

    if (o->guest_code_count == 0)
        return o->guest_code ? -EINVAL : 0;
    if (!o->guest_code)
        return -EINVAL;
    if (o->guest_code_count > TETHER_GUEST_CODE_MAX)
        return -ERANGE;
    for (size_t i = 0; i < o->guest_code_count; i++)
        if ((uintptr_t)o->guest_code[i].start >= (uintptr_t)o->guest_code[i].end)
            return -EINVAL;
    if (!(r = malloc(o->guest_code_count * sizeof *r)))
        return -ENOMEM;
    memcpy(r, o->guest_code, o->guest_code_count * sizeof *r);
    qsort(r, o->guest_code_count, sizeof *r, range_cmp);
    f->guest_code = r;
    f->guest_code_count = o->guest_code_count;
    return 0;
}

/* Binary search: the last range starting at or below pc. Async-signal-safe. */
int tether__in_guest_code(const tether_fiber *f, uintptr_t pc)
{
    size_t lo = 0, hi = f->guest_code_count;

    if (!f->guest_code)
        return 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)f->guest_code[mid].start <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Ranges may overlap: any earlier one may still contain pc. */
    while (lo-- > 0)
        if (pc < (uintptr_t)f->guest_code[lo].end)
            return 1;
    return 0;
}

static void fiber_free(tether_fiber *f)
{
    tether__kill_switch_detach(f);
    tether__stack_put(&f->stack);
    free((void *)f->guest_code);
    free(f);
}

static int create(tether_fiber **out, tether_fn fn, void *arg,
                  const tether_fiber_opts *opts)
{
    static const tether_fiber_opts defaults;
    size_t size, guard;
    tether_fiber *f;
    int err;

    if (!out || !fn)
        return -EINVAL;
    if (!opts)
        opts = &defaults;
    if (opts->flags & ~KNOWN_FLAGS)
        return -EINVAL;
    size = opts->stack_size;
    guard = opts->guard_size;
    if ((err = tether__stack_geometry(&size, &guard)) != 0)
        return err;
    if ((err = tether__signals_install()) != 0)
        return err;
    tether__cxx_eh_probe();
    if (!(f = calloc(1, sizeof *f)))
        return -ENOMEM;
    if ((err = copy_guest_code(f, opts)) != 0) {
        free(f);
        return err;
    }
    err = tether__stack_get(&f->stack, size, guard,
                            opts->flags & TETHER_FIBER_GUARD_MPROTECT);
    if (err) {
        free((void *)f->guest_code);
        free(f);
        return err;
    }
    f->fn = fn;
    f->arg = arg;
    f->flags = opts->flags;
    f->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
    f->sp = tether__arch_ctx_init(tether__stack_hi(&f->stack), f, &f->record);
    atomic_init(&f->state, TETHER_READY);
    *out = f;
    return 0;
}

int tether_fiber_create(tether_fiber **out, tether_fn fn, void *arg,
                        const tether_fiber_opts *opts)
{
    tether_fiber *self = tether__host_begin();
    int err = create(out, fn, arg, opts);

    tether__host_end(self);
    return err;
}

/* Is f the calling fiber or one of its hosts? Only this thread's chain. */
int tether__hosts_caller(const tether_fiber *f)
{
    for (const tether_fiber *c = tether__thread.current; c; c = c->parent)
        if (c == f)
            return 1;
    return 0;
}

/* Marks f RUNNING on this thread, if it may run. */
static int claim(tether_fiber *f, pid_t tid)
{
    uint64_t w = atomic_load_explicit(&f->state, memory_order_acquire);

    for (;;) {
        switch (tether__state_of(w)) {
        case TETHER_READY:
        case TETHER_YIELDED:
            /* seq_cst: a full barrier between the claim and the kill check. */
            if (atomic_compare_exchange_weak(
                    &f->state, &w, (uint64_t)tid << 32 | TETHER_RUNNING))
                return 0;
            continue; /* w was reloaded */
        case TETHER_RUNNING:
            return tether__hosts_caller(f) ? -EDEADLK : -EBUSY;
        default:
            return -ESRCH;
        }
    }
}

/* Publishes the state a claimed fiber stopped in; returns it. */
static int publish(tether_fiber *f, int stop, void *v, void **out)
{
    if (stop == TETHER_RETURNED)
        f->has_frames = 0;
    f->result = v;
    if (out)
        *out = v;
    atomic_store_explicit(&f->state, (uint64_t)stop, memory_order_release);
    return stop;
}

/*
 * Claims f, runs it until it stops, publishes its state. Inlined into
 * its callers on purpose: every call level between the host's call and
 * the switch is one more return the CPU's return-stack predictor gets
 * wrong on each switch (the fiber's returns pop the host's entries and
 * the other way round); two such levels cost about 10 ns a round trip.
 */
static inline __attribute__((always_inline)) int
run(struct tether_thread *t, tether_fiber *f, void *in, void **out)
{
    void *v;
    int err;

    if (!t->ready && (err = tether__thread_prepare()) != 0)
        return err;
    if ((err = claim(f, t->tid)) != 0)
        return err;
    /*
     * A killer sets kill, then reads the state word; we set the state
     * word, then read kill. Both steps are seq_cst, so either we see its
     * kill here or it sees our thread id and signals us.
     */
    if (atomic_load(&f->kill) > KILL_NONE)
        return publish(f, TETHER_TERMINATED, atomic_load(&f->kill_details), out);
    f->has_frames = 1;
    f->stopped_by_signal = 0; /* a signal handler sets it */
    /*
     * Back on the host after this, the fiber's registers are saved (or it
     * is gone), so only then may another thread see it as resumable.
     */
    v = tether__enter(t, f, f->sp, in);
    return publish(f, f->stop, v, out);
}

/*
 * A resume from a signal handler running on the alternate signal stack:
 * the fiber runs with a spare one registered (altstack.c).
 */
static __attribute__((noinline)) int resume_on_spare(struct tether_thread *t,
                                                     tether_fiber *f, void *in,
                                                     void **out)
{
    stack_t prev;
    int err = tether__altstack_push(t, &prev);

    if (err)
        return err;
    err = tether__resume(f, in, out);
    tether__altstack_pop(&tether__thread, &prev);
    return err;
}

static inline __attribute__((always_inline)) int
resume(tether_fiber *f, void *in, void **out)
{
    struct tether_thread *t = &tether__thread;

    if (!f)
        return -EINVAL;
    if (tether__altstack_in_use(&t->alt))
        return resume_on_spare(t, f, in, out);
    return tether__resume_end(f, run(t, f, in, out));
}

int tether__resume(tether_fiber *f, void *in, void **out)
{
    return resume(f, in, out);
}

/*
 * On a fiber, a nested resume is a host call of the hosting fiber's: a
 * kill of the host waits until the nested fiber is back (a fiber claimed
 * but never run would stay RUNNING for good), and takes effect then.
 */
int tether_fiber_resume(tether_fiber *f, void *in, void **out)
{
    tether_fiber *host = tether__host_begin();
    int err = resume(f, in, out);

    tether__host_end(host); /* a kill of the host is due now */
    return err;
}

/* TETHER_FIBER_UNWIND_ON_EXIT: a fiber that died is unwound at once. */
int tether__resume_end(tether_fiber *f, int stop)
{
    if ((stop == TETHER_FAULTED || stop == TETHER_TERMINATED) &&
        (f->flags & TETHER_FIBER_UNWIND_ON_EXIT))
        tether__unwind(f, 1); /* the host reads the record next */
    return stop;
}

/*
 * Leaves the fiber for its host, stopping in `stop`; returns the next
 * in-value. Back on the fiber, a kill that arrived while it was away (or
 * while it was switching) ends it before any guest code runs.
 */
void *tether__switch_out(tether_fiber *f, int stop, void *value)
{
    void *in;

    f->stop = stop;
    in = tether__ctx_yield(&f->sp, f->record, value);
    if (f->unwinding) /* resumed by tether_fiber_unwind */
        tether__unwind_raise(f);
    tether__kill_checkpoint(f);
    return in;
}

int tether_yield(void *out, void **in)
{
    tether_fiber *f = tether__thread.current;
    void *v;

    if (!f)
        return -EPERM;
    /* Strict: a catch block handling the unwind may yield, and must get -ECANCELED. */
    tether__unwind_checkpoint(f, 1);
    if (f->unwinding)
        return -ECANCELED; /* a cleanup may not suspend the unwind */
    tether__kill_checkpoint(f);
    v = tether__switch_out(f, TETHER_YIELDED, out);
    if (in)
        *in = v;
    return 0;
}

_Noreturn void tether__fiber_main(tether_fiber *f, void *first)
{
    void *result;

    tether__kill_checkpoint(f);
    result = f->fn(f->arg, first);
    tether__unwind_checkpoint(f, 0); /* it swallowed the unwind, then returned */
    tether__switch_out(f, TETHER_RETURNED, result);
    abort(); /* a RETURNED fiber is never resumed */
}

int tether_fiber_destroy(tether_fiber *f)
{
    tether_fiber *self;

    if (!f)
        return -EINVAL;
    if (tether__fiber_state(f) == TETHER_RUNNING)
        return -EBUSY;
    self = tether__host_begin();
    if (f->has_frames)
        tether__unwind(f, 0); /* whatever it returns, the frames are gone */
    fiber_free(f);
    tether__host_end(self);
    return 0;
}

/* Back to READY on the same stack, as create leaves a fiber. */
static void rearm(tether_fiber *f, tether_fn fn, void *arg)
{
    f->fn = fn;
    f->arg = arg;
    f->stop = 0;
    f->has_frames = 0;
    f->hijack_slot = 0;
    f->result = NULL;
    f->stopped_by_signal = 0;
    f->unwind_reraise = 0;
    f->unwind_swallowed = 0;
    f->unwind_outcome = 0;
    f->unwind_result = 0;
    f->unwind_passed_over = 0;
    /* C++ exceptions a discarded frame held are not released: leaked. */
    memset(&f->cxx_eh, 0, sizeof f->cxx_eh);
    memset(&f->fault, 0, sizeof f->fault);
    atomic_store(&f->kill_details, NULL);
    atomic_store(&f->kill, KILL_NONE);
    f->sp = tether__arch_ctx_init(tether__stack_hi(&f->stack), f, &f->record);
    atomic_store_explicit(&f->state, TETHER_READY, memory_order_release);
}

int tether_fiber_reset(tether_fiber *f, tether_fn fn, void *arg, unsigned flags)
{
    tether_fiber *self;
    int st;

    if (!f || !fn || (flags & ~TETHER_RESET_DISCARD))
        return -EINVAL;
    if ((st = tether__fiber_state(f)) == TETHER_RUNNING)
        return tether__hosts_caller(f) ? -EDEADLK : -EBUSY;
    self = tether__host_begin();
    if (f->has_frames && !(flags & TETHER_RESET_DISCARD))
        tether__unwind(f, 0); /* whatever it returns, the frames are gone */
    rearm(f, fn, arg);
    tether__host_end(self);
    return 0;
}

void *tether_fiber_result(const tether_fiber *f)
{
    return f ? f->result : NULL;
}

void *tether_fiber_user_data(const tether_fiber *f)
{
    return f ? f->user_data : NULL;
}

int tether_fiber_set_user_data(tether_fiber *f, void *data)
{
    if (!f)
        return -EINVAL;
    f->user_data = data;
    return 0;
}

int tether_fiber_state(const tether_fiber *f)
{
    if (!f)
        return -EINVAL;
    return tether__fiber_state(f);
}

int tether_fiber_stack(const tether_fiber *f, void **lo, void **hi)
{
    if (!f)
        return -EINVAL;
    if (lo)
        *lo = tether__stack_lo(&f->stack);
    if (hi)
        *hi = tether__stack_hi(&f->stack);
    return 0;
}
