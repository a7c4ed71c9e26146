/*
 * Sampled by tests/perf_callchain.sh: a host function resumes a fiber
 * whose guest spins for the time given (seconds) in perf_guest_spin, so
 * that almost every sample perf takes is inside the guest, two frames
 * above the fiber's bottom frame.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <tether.h>

static volatile unsigned long sink;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

__attribute__((noinline, noclone)) void perf_guest_spin(double until)
{
    while (now() < until)
        for (int i = 0; i < 10000; i++)
            sink += (unsigned long)i;
}

__attribute__((noinline, noclone)) void *perf_guest(void *arg, void *in)
{
    (void)in;
    perf_guest_spin(*(double *)arg);
    return NULL;
}

__attribute__((noinline, noclone)) int perf_host_resumes(double seconds)
{
    tether_fiber *f;
    double until = now() + seconds;
    int st;

    if (tether_fiber_create(&f, perf_guest, &until, NULL) != 0)
        return -1;
    st = tether_fiber_resume(f, NULL, NULL);
    tether_fiber_destroy(f);
    return st == TETHER_RETURNED ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (perf_host_resumes(argc > 1 ? atof(argv[1]) : 0.3) != 0) {
        fprintf(stderr, "perf_target: the fiber did not return\n");
        return 1;
    }
    return 0;
}
