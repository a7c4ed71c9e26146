/*
 * The loops whose system calls bench/run.sh counts under strace: a
 * resume/yield loop, and a loop of pooled create + first run + destroy.
 * Neither should make any system call. Each loop is bracketed by a
 * marker, a write(2) to an invalid file descriptor whose text strace
 * shows, so that run.sh counts the calls between the markers and not
 * those of the program's start-up (the first fiber maps its stack,
 * installs the signal handlers, ...), which are done before.
 *
 *   usage: syscalls [ROUND_TRIPS [LIFECYCLES]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static void marker(const char *text)
{
    /* EBADF is the point: strace prints the call and its text; nothing is written */
    if (write(-1, text, strlen(text)) != -1)
        bench_fail("the marker write succeeded");
}

static void *returns_at_once(void *arg, void *in)
{
    (void)in;
    return arg;
}

static void lifecycles(long n)
{
    tether_fiber_opts o = {0};
    o.stack_size = 64 * 1024;
    for (long i = 0; i < n; i++) {
        tether_fiber *f;
        BENCH_CHECK(tether_fiber_create(&f, returns_at_once, NULL, &o));
        BENCH_EXPECT(tether_fiber_resume(f, NULL, NULL), TETHER_RETURNED);
        BENCH_CHECK(tether_fiber_destroy(f));
    }
}

int main(int argc, char **argv)
{
    long trips = argc > 1 ? atol(argv[1]) : 100000;
    long lives = argc > 2 ? atol(argv[2]) : 10000;
    tether_fiber *f;

    /* Everything done once per process or per thread happens here, unmarked. */
    BENCH_CHECK(tether_fiber_create(&f, bench_yield_forever, NULL, NULL));
    BENCH_EXPECT(tether_fiber_resume(f, NULL, NULL), TETHER_YIELDED);
    lifecycles(100);

    marker("tether-bench: begin switch");
    for (long i = 0; i < trips; i++)
        BENCH_EXPECT(tether_fiber_resume(f, NULL, NULL), TETHER_YIELDED);
    marker("tether-bench: end switch");

    marker("tether-bench: begin lifecycle");
    lifecycles(lives);
    marker("tether-bench: end lifecycle");

    BENCH_CHECK(tether_fiber_destroy(f));
    printf("# syscalls: %ld round trips, %ld pooled lifecycles\n", trips, lives);
    return 0;
}
