/*
 * A host: spawns several fibers, interleaves them with yields and prints
 * what each one returned; then runs guests that die in every way a guest
 * can (a NULL dereference, a stack overflow, a division by zero, an
 * illegal instruction, termination by a host function, a runaway loop
 * stopped by a deadline) and prints one line per fiber with how it ended
 * and, for faults, the fault report. The host survives them all.
 */
#include <stdint.h>
#include <stdio.h>
#include <tether.h>

/* Counts from 1 to its limit, yielding each number; returns the sum. */
static void *counter(void *arg, void *in)
{
    uintptr_t limit = (uintptr_t)arg, sum = 0;
    (void)in;
    for (uintptr_t i = 1; i <= limit; i++) {
        sum += i;
        tether_yield((void *)i, NULL);
    }
    return (void *)sum;
}

/* ------------------------------------------------- guests that die */

static volatile int zero = 0;
static int *volatile nowhere = NULL;

static void *null_deref(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return (void *)(intptr_t)*nowhere;
}

static __attribute__((noinline)) unsigned recurse(unsigned n)
{
    volatile char frame[256];
    frame[0] = (char)n;
    if (n == UINT32_MAX) /* never: the stack runs out long before */
        return 0;
    return recurse(n + 1) + frame[0];
}

static void *overflow(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return (void *)(uintptr_t)recurse(0);
}

static void *divide_by_zero(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return (void *)(intptr_t)(42 / zero);
}

static void *illegal_instruction(void *arg, void *in)
{
    (void)arg;
    (void)in;
    __asm__ volatile("ud2");
    return NULL;
}

/* A host function the guest calls; it decides the guest is done. */
static void host_check_quota(void)
{
    tether_host_enter();
    tether_terminate((void *)"quota exceeded");
    tether_host_leave(); /* not reached */
}

static void *over_quota(void *arg, void *in)
{
    (void)arg;
    (void)in;
    host_check_quota();
    return NULL;
}

static void *runaway(void *arg, void *in)
{
    (void)arg;
    (void)in;
    for (;;)
        __asm__ volatile("" ::: "memory");
    return NULL;
}

static int run_guest(const char *name, tether_fn fn)
{
    tether_fiber_opts opts = {.stack_size = 64 * 1024};
    tether_fiber *f;
    void *out = NULL;
    char report[2048];
    int st, err;

    if ((err = tether_fiber_create(&f, fn, NULL, &opts)) < 0) {
        fprintf(stderr, "create: %s\n", tether_strerror(err));
        return 1;
    }
    st = tether_fiber_resume_for(f, NULL, &out, 100 * 1000 * 1000); /* 100 ms */
    switch (st) {
    case TETHER_FAULTED:
        tether_fault_format(tether_fiber_fault(f), report, sizeof report);
        printf("%-20s FAULTED    %s", name, report);
        break;
    case TETHER_TERMINATED:
        printf("%-20s TERMINATED %s\n", name,
               out == TETHER_DEADLINE_EXCEEDED ? "deadline exceeded" : (const char *)out);
        break;
    default:
        printf("%-20s %s\n", name, tether_strerror(st));
        return st < 0;
    }
    tether_fiber_destroy(f);
    return 0;
}

static int die_in_every_way(void)
{
    static const struct {
        const char *name;
        tether_fn fn;
    } guests[] = {
        {"null dereference", null_deref},
        {"stack overflow", overflow},
        {"divide by zero", divide_by_zero},
        {"illegal instruction", illegal_instruction},
        {"host terminates", over_quota},
        {"runaway loop", runaway},
    };
    int bad = 0;

    for (size_t i = 0; i < sizeof guests / sizeof guests[0]; i++)
        bad |= run_guest(guests[i].name, guests[i].fn);
    return bad;
}

/* ------------------------------------------------------------ main */

int main(void)
{
    enum { N = 4 };
    tether_fiber *f[N];
    int live = N, err;

    for (int i = 0; i < N; i++) {
        if ((err = tether_fiber_create(&f[i], counter, (void *)(uintptr_t)(i + 2), NULL)) < 0) {
            fprintf(stderr, "create: %s\n", tether_strerror(err));
            return 1;
        }
    }
    /* Round robin until every fiber has returned. */
    for (int round = 1; live > 0; round++) {
        for (int i = 0; i < N; i++) {
            void *v;
            if (tether_fiber_state(f[i]) == TETHER_RETURNED)
                continue;
            int st = tether_fiber_resume(f[i], NULL, &v);
            if (st == TETHER_YIELDED) {
                printf("round %d: fiber %d yielded %lu\n", round, i, (unsigned long)(uintptr_t)v);
            } else if (st == TETHER_RETURNED) {
                printf("round %d: fiber %d returned %lu\n", round, i, (unsigned long)(uintptr_t)v);
                live--;
            } else {
                fprintf(stderr, "fiber %d: %s\n", i, tether_strerror(st));
                return 1;
            }
        }
    }
    for (int i = 0; i < N; i++)
        tether_fiber_destroy(f[i]);
    printf("\nguests that die:\n");
    if (die_in_every_way() != 0)
        return 1;
    printf("\nthe host survived them all\n");
    return 0;
}
