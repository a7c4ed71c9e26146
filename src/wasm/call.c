/*
 * Calls into an instance: each is one resume of the instance's fiber and
 * one yield back from its call loop. What else can happen on the way
 * (a host function's yield, a trap, an interrupt, a time limit) comes
 * back the same way and is sorted out here, off the fast path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_impl.h"

struct call {
    tether_wasm_entry fn;
    void *arg;
};

/*
 * The fiber's entry function. The fiber lives as long as its slot; it
 * runs one call per resume and hands NULL back to say "returned".
 */
void *tw__loop(void *arg, void *in)
{
    tether_wasm_instance *I = arg;
    struct call *c = in;

    for (;;) {
        c->fn(I->mi, c->arg);
        tether_yield(NULL, (void **)&c);
    }
    return NULL;
}

/*
 * Makes the fiber ready for the next call after a trap, or to abandon a
 * yielded call: frames with nothing to clean up (generated code) are
 * dropped, host functions' frames unwound.
 */
int tw__rearm(tether_wasm_instance *I)
{
    int err = tether_fiber_reset(I->fiber, tw__loop, I,
                                 I->host_depth ? 0 : TETHER_RESET_DISCARD);
    if (err == 0) {
        I->host_depth = 0;
        I->kill_fired = 0; /* reset forgets a pending kill */
        I->unwind_target = NULL;
    }
    return err;
}

static int stopped(tether_wasm_instance *I, int st, void *out)
{
    switch (st) {
    case TETHER_YIELDED:
        if (!out)
            return TETHER_WASM_OK;
        I->status = TW_YIELDED;
        return TETHER_WASM_YIELDED;
    case TETHER_FAULTED:
    case TETHER_TERMINATED:
        tw__trap_record(I, st, out);
        tw__rearm(I);
        return TETHER_WASM_TRAP;
    default:
        return st < 0 ? st : -EPROTO; /* the loop never returns */
    }
}

/* One resume of the fiber; `in` is a struct call, or a yield's answer. */
static inline __attribute__((always_inline)) int run(tether_wasm_instance *I,
                                                      void *in)
{
    void *out;
    int st;

    I->trap.kind = TETHER_WASM_TRAP_NONE;
    if (!I->timeout_ns)
        st = tether_fiber_resume(I->fiber, in, &out);
    else if (tether_current() == I->fiber)
        st = -EDEADLK; /* a callback: no timer to arm for it */
    else
        st = tether_fiber_resume_for(I->fiber, in, &out, I->timeout_ns);
    if (__builtin_expect(st == TETHER_YIELDED && out == NULL, 1))
        return TETHER_WASM_OK;
    return stopped(I, st, out);
}

int tw__run(tether_wasm_instance *I, tether_wasm_entry fn, void *arg)
{
    struct call c = {fn, arg};
    return run(I, &c);
}

int tether_wasm_call(tether_wasm_instance *I, tether_wasm_entry fn, void *arg)
{
    struct call c = {fn, arg};
    int st;

    if (!I || !fn)
        return -EINVAL;
    if (__builtin_expect(I->status != TW_IDLE, 0))
        return I->status == TW_YIELDED ? -EBUSY : -ESRCH;
    st = run(I, &c);
    if (st == -EDEADLK && tether_current() == I->fiber) {
        /* A host function calls back into its own instance. */
        I->host_depth++;
        fn(I->mi, arg);
        I->host_depth--;
        return TETHER_WASM_OK;
    }
    return st;
}

/*
 * tether_wasm_invoke's values live in the instance, not on the caller's
 * stack: a call that yields finishes in a later resume, after the
 * invoke has returned, and writes its results then.
 */
static void invoke_entry(void *mi, void *arg)
{
    tether_wasm_instance *I = arg;
    I->invoke_export->call(mi, I->vals);
}

/* A call that ran to its end: an invoke's results go out. */
static int finished(tether_wasm_instance *I, int st)
{
    if (I->invoke_results && st != TETHER_WASM_YIELDED) {
        if (st == TETHER_WASM_OK)
            memcpy(I->invoke_results, I->vals, I->invoke_nresults * sizeof *I->vals);
        I->invoke_results = NULL;
    }
    return st;
}

int tether_wasm_invoke(tether_wasm_instance *I, const char *name,
                       const tether_wasm_val *args, size_t nargs,
                       tether_wasm_val *results, size_t nresults)
{
    const tether_wasm_export *e;
    size_t np, nr, n;

    if (!I || !name || (nargs && !args) || (nresults && !results))
        return -EINVAL;
    e = tether_wasm_module_export(I->module, name);
    if (!e || e->kind != TETHER_WASM_EXTERN_FUNC || !e->call)
        return -ENOENT;
    np = strlen(e->params);
    nr = strlen(e->results);
    if (np != nargs || nr != nresults)
        return -EINVAL;
    if (tether_current() == I->fiber) {
        /* A callback from a host function: its own values, on its stack. */
        tether_wasm_val local[16], *vals = local;
        n = np > nr ? np : nr;
        if (n > 16 && !(vals = malloc(n * sizeof *vals)))
            return -ENOMEM;
        memcpy(vals, args, np * sizeof *vals);
        I->host_depth++;
        e->call(I->mi, vals);
        I->host_depth--;
        memcpy(results, vals, nr * sizeof *vals);
        if (vals != local)
            free(vals);
        return TETHER_WASM_OK;
    }
    if (I->status != TW_IDLE)
        return I->status == TW_YIELDED ? -EBUSY : -ESRCH;
    n = np > nr ? np : nr;
    if (n > I->vals_cap) {
        tether_wasm_val *v = realloc(I->vals, n * sizeof *v);
        if (!v)
            return -ENOMEM;
        I->vals = v;
        I->vals_cap = n;
    }
    memcpy(I->vals, args, np * sizeof *I->vals);
    I->invoke_export = e;
    I->invoke_results = results;
    I->invoke_nresults = nr;
    return finished(I, tether_wasm_call(I, invoke_entry, I));
}

int tether_wasm_resume(tether_wasm_instance *I, void *in)
{
    int st;

    if (!I)
        return -EINVAL;
    if (I->status != TW_YIELDED)
        return -ESRCH;
    I->status = TW_IDLE;
    st = run(I, in);
    if (I->instantiating)
        st = I->instantiating(I, st); /* the start function had yielded */
    return finished(I, st);
}

int tether_wasm_yield(void *out, void **in)
{
    tether_wasm_instance *I = tw__current();
    void *v = NULL;

    if (!I)
        return -EPERM;
    I->yielded = out;
    I->host_depth++; /* the caller's frames must be unwound if abandoned */
    tether_yield((void *)&tw__yield_tag, &v);
    I->host_depth--;
    if (in)
        *in = v;
    return 0;
}

void *tether_wasm_yielded(const tether_wasm_instance *I)
{
    return I ? I->yielded : NULL;
}

int tether_wasm_terminate(void *details)
{
    tether_wasm_instance *I = tw__current();

    if (!I)
        return -EPERM;
    I->trap.details = details;
    I->host_depth++; /* the caller's frame is a host function's */
    tw__trap_raise(TETHER_WASM_TRAP_TERMINATED);
}

int tether_wasm_interrupt(tether_wasm_instance *I)
{
    if (!I || !I->kill)
        return -EINVAL;
    I->kill_fired = 1;
    tether_kill_switch_fire(I->kill, (void *)&tw__trap_tags[TETHER_WASM_TRAP_INTERRUPT]);
    return 0;
}

int tether_wasm_set_timeout(tether_wasm_instance *I, uint64_t timeout_ns)
{
    if (!I)
        return -EINVAL;
    I->timeout_ns = timeout_ns;
    return 0;
}
