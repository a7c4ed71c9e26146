/*
 * A fully static program whose own constructor runs fibers before main:
 * a deadline, a NULL dereference and a stack overflow (which needs the
 * thread's alternate signal stack). The parts of tether that prepare a
 * thread must be known before any constructor runs (src/thread.h): in a
 * static link the program's constructors may run before the library's.
 * Exits 0 if each ended as it should.
 */
#include <stdint.h>
#include <stdio.h>
#include <tether.h>

static int deadline_ok, null_ok, overflow_ok;

static void *spin(void *arg, void *in)
{
    (void)arg;
    (void)in;
    for (;;)
        __asm__ volatile("");
    return NULL;
}

static void *deref(void *arg, void *in)
{
    (void)in;
    return (void *)(uintptr_t)*(volatile int *)arg;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion" /* on purpose */
__attribute__((noinline)) static int recurse(int n)
{
    volatile char pad[256];
    pad[0] = (char)n;
    return recurse(n + 1) + pad[0];
}
#pragma GCC diagnostic pop

static void *overflow(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return (void *)(intptr_t)recurse(0);
}

static int run(tether_fn fn, int (*timed)(void), void **out)
{
    tether_fiber *f;
    int st;
    if (tether_fiber_create(&f, fn, NULL, NULL) != 0)
        return -1;
    st = timed ? tether_fiber_resume_for(f, NULL, out, 20 * 1000000ull)
               : tether_fiber_resume(f, NULL, out);
    tether_fiber_destroy(f);
    return st;
}

static int yes(void)
{
    return 1;
}

__attribute__((constructor)) static void before_main(void)
{
    void *out = NULL;
    deadline_ok = run(spin, yes, &out) == TETHER_TERMINATED && out == TETHER_DEADLINE_EXCEEDED;
    null_ok = run(deref, NULL, &out) == TETHER_FAULTED;
    overflow_ok = run(overflow, NULL, &out) == TETHER_FAULTED;
}

int main(void)
{
    printf("deadline %s, NULL dereference %s, stack overflow %s\n",
           deadline_ok ? "met" : "MISSED", null_ok ? "caught" : "MISSED",
           overflow_ok ? "caught" : "MISSED");
    return deadline_ok && null_ok && overflow_ok ? 0 : 1;
}
