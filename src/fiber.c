/* Fibers: create, resume, yield, return, destroy. */
#include <errno.h>
#include <stdlib.h>

#include "arch.h"
#include "fiber_impl.h"
#include "thread.h"

#define KNOWN_FLAGS TETHER_FIBER_GUARD_MPROTECT

int tether_fiber_create(tether_fiber **out, tether_fn fn, void *arg,
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
    if (!(f = calloc(1, sizeof *f)))
        return -ENOMEM;
    err = tether__stack_alloc(&f->stack, size, guard,
                              opts->flags & TETHER_FIBER_GUARD_MPROTECT);
    if (err) {
        free(f);
        return err;
    }
    f->fn = fn;
    f->arg = arg;
    f->sp = tether__arch_ctx_init(tether__stack_hi(&f->stack), f, &f->record);
    atomic_init(&f->state, TETHER_READY);
    *out = f;
    return 0;
}

/* Is f the calling fiber or one of its hosts? Only this thread's chain. */
static int hosts_caller(const tether_fiber *f)
{
    for (const tether_fiber *c = tether__thread.current; c; c = c->parent)
        if (c == f)
            return 1;
    return 0;
}

static int claim(tether_fiber *f)
{
    int s = atomic_load_explicit(&f->state, memory_order_acquire);

    for (;;) {
        switch (s) {
        case TETHER_READY:
        case TETHER_YIELDED:
            if (atomic_compare_exchange_weak_explicit(
                    &f->state, &s, TETHER_RUNNING, memory_order_acquire,
                    memory_order_acquire))
                return 0;
            continue; /* s was reloaded */
        case TETHER_RUNNING:
            return hosts_caller(f) ? -EDEADLK : -EBUSY;
        default:
            return -ESRCH;
        }
    }
}

int tether_fiber_resume(tether_fiber *f, void *in, void **out)
{
    struct tether_thread *t;
    void *v;
    int err;

    if (!f)
        return -EINVAL;
    if ((err = claim(f)) != 0)
        return err;
    t = &tether__thread;
    f->parent = t->current;
    t->current = f;
    v = tether__ctx_resume(f->record, f->sp, in);
    /*
     * Back on the host: the fiber's registers are saved (or it is gone),
     * so only now may another thread see it as resumable.
     */
    t = &tether__thread;
    t->current = f->parent;
    f->parent = NULL;
    if (out)
        *out = v;
    atomic_store_explicit(&f->state, f->stop, memory_order_release);
    return f->stop;
}

/* Leaves the fiber for its host, stopping in `stop`; returns the next in-value. */
static void *switch_out(tether_fiber *f, int stop, void *value)
{
    f->stop = stop;
    return tether__ctx_yield(&f->sp, f->record, value);
}

int tether_yield(void *out, void **in)
{
    tether_fiber *f = tether__thread.current;
    void *v;

    if (!f)
        return -EPERM;
    v = switch_out(f, TETHER_YIELDED, out);
    if (in)
        *in = v;
    return 0;
}

_Noreturn void tether__fiber_main(tether_fiber *f, void *first)
{
    void *result = f->fn(f->arg, first);

    switch_out(f, TETHER_RETURNED, result);
    abort(); /* a RETURNED fiber is never resumed */
}

int tether_fiber_destroy(tether_fiber *f)
{
    if (!f)
        return -EINVAL;
    if (atomic_load_explicit(&f->state, memory_order_acquire) == TETHER_RUNNING)
        return -EBUSY;
    tether__stack_free(&f->stack);
    free(f);
    return 0;
}

int tether_fiber_state(const tether_fiber *f)
{
    if (!f)
        return -EINVAL;
    return atomic_load_explicit(&f->state, memory_order_acquire);
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
