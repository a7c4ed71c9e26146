/*
 * Fibers in every state, for tests/gdb_fibers.sh: gdb stops in
 * all_in_place(), where each fiber below is where its name says. With
 * an argument, the program then aborts (a core file from the kernel).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <tether.h>

tether_fiber *ready, *yielded, *faulted, *terminated, *running;
static atomic_int spinning, stop;

__attribute__((noinline)) void yield_deep(int n)
{
    if (n > 0)
        yield_deep(n - 1);
    else
        tether_yield(NULL, NULL);
    __asm__ volatile("" ::: "memory");
}

static void *yielder(void *arg, void *in)
{
    (void)arg;
    (void)in;
    yield_deep(2);
    return NULL;
}

__attribute__((noinline)) int fault_here(volatile int *p)
{
    return *p + 1;
}

static void *faulter(void *arg, void *in)
{
    (void)in;
    return (void *)(long)fault_here(arg);
}

__attribute__((noinline)) void terminate_here(void)
{
    tether_terminate((void *)0x51);
    __asm__ volatile("" ::: "memory");
}

static void *terminator(void *arg, void *in)
{
    (void)arg;
    (void)in;
    terminate_here();
    return NULL;
}

static void *spinner(void *arg, void *in)
{
    (void)arg;
    (void)in;
    atomic_store(&spinning, 1);
    while (!atomic_load(&stop))
        ;
    return NULL;
}

static void *runs_spinner(void *arg)
{
    (void)arg;
    tether_fiber_resume(running, NULL, NULL);
    return NULL;
}

/* gdb's breakpoint. */
__attribute__((noinline)) void all_in_place(void)
{
    __asm__ volatile("" ::: "memory");
}

static void *noop(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t th;

    (void)argv;
    /*
     * gdb's gcore reads memory a megabyte at a time and loses every
     * block a guard marker sits in: for it, guards are separate mappings.
     */
    tether_fiber_opts o = {.flags = getenv("GUARD_MPROTECT") ? TETHER_FIBER_GUARD_MPROTECT : 0};

    if (tether_fiber_create(&ready, noop, NULL, &o) ||
        tether_fiber_create(&yielded, yielder, NULL, &o) ||
        tether_fiber_create(&faulted, faulter, NULL, &o) ||
        tether_fiber_create(&terminated, terminator, NULL, &o) ||
        tether_fiber_create(&running, spinner, NULL, &o))
        return 1;
    /* Names, shown by info fibers. */
    tether_fiber_set_name(ready, "idle");
    tether_fiber_set_name(yielded, "worker");
    tether_fiber_set_name(faulted, "crasher");
    tether_fiber_set_name(terminated, "quitter");
    tether_fiber_set_name(running, "busy");
    if (tether_fiber_resume(yielded, NULL, NULL) != TETHER_YIELDED ||
        tether_fiber_resume(faulted, NULL, NULL) != TETHER_FAULTED ||
        tether_fiber_resume(terminated, NULL, NULL) != TETHER_TERMINATED)
        return 1;
    pthread_create(&th, NULL, runs_spinner, NULL);
    while (!atomic_load(&spinning))
        ;
    all_in_place();
    if (argc > 1)
        abort(); /* for a core file the kernel writes */
    atomic_store(&stop, 1);
    pthread_join(th, NULL);
    puts("done");
    return 0;
}
