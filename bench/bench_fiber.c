/*
 * Fiber benchmarks: switch round trip (resume + yield), and fiber
 * create + first run + destroy with each guard method. Prints one line
 * per figure; run with `make bench`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <tether.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *yield_forever(void *arg, void *in)
{
    (void)arg;
    (void)in;
    for (;;)
        tether_yield(NULL, NULL);
}

static void *noop(void *arg, void *in)
{
    (void)arg;
    return in;
}

static void check(int err, const char *what)
{
    if (err < 0) {
        fprintf(stderr, "%s: %s\n", what, tether_strerror(err));
        exit(1);
    }
}

static void bench_switch(long n)
{
    tether_fiber *f;
    double t0, best = 1e9;
    check(tether_fiber_create(&f, yield_forever, NULL, NULL), "create");
    for (int rep = 0; rep < 5; rep++) {
        t0 = now();
        for (long i = 0; i < n; i++)
            tether_fiber_resume(f, NULL, NULL);
        double ns = (now() - t0) * 1e9 / (double)n;
        if (ns < best)
            best = ns;
    }
    printf("switch round trip (resume + yield), best of 5 x %ld: %.1f ns\n", n, best);
    /* the fiber still owns its frames; destroy frees the stack */
    tether_fiber_destroy(f);
}

static void bench_lifecycle(const char *name, unsigned flags, long n)
{
    tether_fiber_opts o = {.flags = flags};
    double t0 = now();
    for (long i = 0; i < n; i++) {
        tether_fiber *f;
        check(tether_fiber_create(&f, noop, NULL, &o), "create");
        tether_fiber_resume(f, NULL, NULL);
        tether_fiber_destroy(f);
    }
    printf("create + run + destroy, %s guard, %ld fibers: %.2f us each\n", name, n,
           (now() - t0) * 1e6 / (double)n);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000;
    bench_switch(n);
    bench_lifecycle("madvise (or fallback)", 0, 100000);
    bench_lifecycle("mprotect", TETHER_FIBER_GUARD_MPROTECT, 100000);
    return 0;
}
