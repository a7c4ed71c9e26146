/*
 * Walking the faulting stack from the signal's context, with libunwind.
 *
 * libunwind's local unwinder is meant to be usable in a signal handler:
 * it maps its own memory rather than calling malloc. Two things are done
 * before any handler runs, so the handler takes no lock of libunwind's:
 * its one-time set-up (tether__fault_backtrace_init primes it), and its
 * cache of unwind rules, switched to per-thread (the global one is
 * guarded by a mutex). It still finds unwind tables through
 * dl_iterate_phdr, whose loader lock is only held while libraries are
 * being loaded; a fault inside the dynamic loader itself is not a
 * guest's. What libunwind cannot promise is that the stack it reads is
 * sane: a guest that smashed its
 * stack hands it a wild frame pointer. So the walk runs under an escape
 * hatch: if it faults, the fault handler (re-entered, SA_NODEFER) jumps
 * back here and the walk ends with the frames found so far. The jump is
 * __builtin_longjmp: it saves and restores no signal mask, and touches
 * nothing outside this thread's alternate stack.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <unwind.h>
#include <stdint.h>

#include "arch.h"
#include "fault_backtrace.h"

static _Unwind_Reason_Code count_frame(struct _Unwind_Context *ctx, void *n)
{
    (void)ctx;
    ++*(int *)n;
    return _URC_NO_REASON;
}

void tether__fault_backtrace_init(void)
{
    unw_context_t ctx;
    unw_cursor_t c;
    int n = 0;

    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    if (unw_getcontext(&ctx) == 0 && unw_init_local(&c, &ctx) == 0)
        unw_step(&c);
    /*
     * And libgcc's: its lazily bound calls are bound now, not in the
     * middle of an unwind that has little stack to spare.
     */
    _Unwind_Backtrace(count_frame, &n);
}

_Noreturn void tether__fault_backtrace_abort(struct tether_thread *t)
{
    void *env = t->capture_env;

    t->capture_env = NULL;
    __builtin_longjmp(env, 1);
}

/* A separate frame, so that the escape lands in a live caller. */
static __attribute__((noinline)) int walk(unw_cursor_t *c,
                                          const struct tether_stack *s,
                                          void **frames, volatile int *n,
                                          int max)
{
    uintptr_t lo = (uintptr_t)s->base, hi = (uintptr_t)tether__stack_hi(s);
    unw_word_t ip, sp;

    while (*n < max && unw_step(c) > 0) {
        if (unw_get_reg(c, UNW_REG_IP, &ip) < 0 ||
            unw_get_reg(c, UNW_REG_SP, &sp) < 0)
            break;
        /* The bottom frame ends the fiber's stack; a frame off it is bogus. */
        if (tether__arch_in_trampoline(ip) || sp < lo || sp >= hi)
            break;
        frames[(*n)++] = (void *)ip;
    }
    return *n;
}

int tether__fault_backtrace(const void *uc, const struct tether_stack *s,
                            void **frames, int max)
{
    struct tether_thread *t = &tether__thread;
    void *env[5];
    volatile int n = 0;
    unw_cursor_t c;

    if (max <= 0)
        return 0;
    frames[n++] = (void *)tether__arch_uc_pc(uc);
    /* unw_context_t is a ucontext_t on this platform; it is only read. */
    if (unw_init_local2(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) < 0)
        return n;
    if (__builtin_setjmp(env) == 0) {
        t->capture_env = env;
        walk(&c, s, frames, &n, max);
    }
    t->capture_env = NULL;
    return n;
}
