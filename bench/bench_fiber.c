/*
 * Fiber benchmarks: switch round trip (resume + yield); fiber create +
 * first run + destroy, through the stack pool and past it, with each
 * guard method; the cost of a fault, a termination, a timed resume; and
 * how long a kill from another thread takes to stop a running guest.
 * Prints one line per figure; run with `make bench`.
 */
#include <pthread.h>
#include <stdatomic.h>
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
    return NULL;
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

/*
 * `live` fibers exist at once: 1 always reuses a pooled stack; 64 is
 * more than the pool holds (16), so most stacks are mapped and unmapped.
 */
static void bench_lifecycle(const char *name, unsigned flags, int live, long n)
{
    tether_fiber_opts o = {.flags = flags};
    tether_fiber *f[64];
    double t0 = now();
    for (long i = 0; i < n; i += live) {
        for (int j = 0; j < live; j++)
            check(tether_fiber_create(&f[j], noop, NULL, &o), "create");
        for (int j = 0; j < live; j++) {
            tether_fiber_resume(f[j], NULL, NULL);
            tether_fiber_destroy(f[j]);
        }
    }
    printf("create + run + destroy, %s guard, %2d alive at once: %.2f us each\n",
           name, live, (now() - t0) * 1e6 / (double)n);
}

static volatile int zero;
static int *volatile nowhere;

static void *segv(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return (void *)(intptr_t)*nowhere;
}

static void *fpe(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return (void *)(intptr_t)(100 / zero);
}

static void *terminate(void *arg, void *in)
{
    (void)in;
    tether_terminate(arg);
    return NULL;
}

/* Resume to the end state only: fibers are made before the clock starts. */
static void bench_end(const char *what, tether_fn fn, int expect, long n)
{
    tether_fiber_opts o = {.stack_size = 64 * 1024};
    enum { BATCH = 1000 };
    static tether_fiber *f[BATCH];
    double spent = 0;
    for (long i = 0; i < n; i += BATCH) {
        for (int j = 0; j < BATCH; j++)
            check(tether_fiber_create(&f[j], fn, NULL, &o), "create");
        double t0 = now();
        for (int j = 0; j < BATCH; j++)
            if (tether_fiber_resume(f[j], NULL, NULL) != expect) {
                fprintf(stderr, "%s: the fiber did not end as expected\n", what);
                exit(1);
            }
        spent += now() - t0;
        for (int j = 0; j < BATCH; j++)
            tether_fiber_destroy(f[j]);
    }
    printf("%s: %.2f us each\n", what, spent * 1e6 / (double)n);
}

static void bench_timed_resume(long n)
{
    tether_fiber *f;
    double t0;
    check(tether_fiber_create(&f, yield_forever, NULL, NULL), "create");
    t0 = now();
    for (long i = 0; i < n; i++)
        tether_fiber_resume_for(f, NULL, NULL, 1000000000);
    printf("timed resume + yield (timer armed and disarmed): %.2f us each\n",
           (now() - t0) * 1e6 / (double)n);
    tether_fiber_destroy(f);
}

/* Kill latency: from fire on this thread to resume's return on another. */
static _Atomic int started;
static _Atomic double stopped_at;

static void *spin(void *arg, void *in)
{
    (void)arg;
    (void)in;
    atomic_store(&started, 1);
    for (;;)
        __asm__ volatile("" ::: "memory");
    return NULL;
}

static void *runner(void *arg)
{
    tether_fiber_resume(arg, NULL, NULL);
    atomic_store(&stopped_at, now());
    return NULL;
}

static void bench_kill(int n)
{
    double total = 0;
    for (int i = 0; i < n; i++) {
        tether_fiber *f;
        tether_kill_switch *k;
        pthread_t th;
        double t0;
        check(tether_fiber_create(&f, spin, NULL, NULL), "create");
        check(tether_kill_switch_create(f, &k), "kill switch");
        atomic_store(&started, 0);
        pthread_create(&th, NULL, runner, f);
        while (!atomic_load(&started))
            ;
        t0 = now();
        tether_kill_switch_fire(k, NULL);
        pthread_join(th, NULL);
        total += atomic_load(&stopped_at) - t0;
        tether_kill_switch_free(k);
        tether_fiber_destroy(f);
    }
    printf("kill a running guest from another thread, fire to resume's return: %.1f us (mean of %d)\n",
           total * 1e6 / n, n);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000;
    bench_switch(n);
    bench_lifecycle("madvise (or fallback)", 0, 1, 100000);
    bench_lifecycle("madvise (or fallback)", 0, 64, 100000);
    bench_lifecycle("mprotect", TETHER_FIBER_GUARD_MPROTECT, 1, 100000);
    bench_lifecycle("mprotect", TETHER_FIBER_GUARD_MPROTECT, 64, 100000);
    bench_end("fault (SIGSEGV) to FAULTED, with the record and backtrace", segv,
              TETHER_FAULTED, 100000);
    bench_end("fault (SIGFPE) to FAULTED, with the record and backtrace", fpe,
              TETHER_FAULTED, 100000);
    bench_end("tether_terminate to TERMINATED", terminate, TETHER_TERMINATED, 100000);
    bench_timed_resume(200000);
    bench_kill(200);
    return 0;
}
