/*
 * Resume + yield round trip in a C host: a C program, with no libstdc++
 * in the process (checked), so tether has no C++ exception state to
 * keep per fiber. Measured side by side, samples interleaved:
 *
 *   switch_tether_c    tether_fiber_resume + tether_yield
 *   switch_floor       a bare pop+jmp switch (switch_floor.h)
 *   switch_pcl         libpcl's co_call + co_resume (if configure found it)
 *
 * Boost.Context needs C++: bench/switch_cxx.cpp measures it in a C++
 * process, and run.sh interleaves the two programs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "switch_floor.h"

#ifdef HAVE_PCL
#include <pcl.h>
#endif

/* ------------------------------------------------------------- tether */
static tether_fiber *tf;

static void tether_rounds(long n)
{
    for (long i = 0; i < n; i++)
        if (__builtin_expect(tether_fiber_resume(tf, NULL, NULL) != TETHER_YIELDED, 0))
            BENCH_EXPECT(tether_fiber_resume(tf, NULL, NULL), TETHER_YIELDED);
}

/* -------------------------------------------------------------- floor */
static void *floor_host_sp, *floor_fiber_sp;

static void floor_body(void)
{
    for (;;)
        bench_floor_swap(&floor_fiber_sp, floor_host_sp);
}

static void floor_rounds(long n)
{
    for (long i = 0; i < n; i++)
        bench_floor_swap(&floor_host_sp, floor_fiber_sp);
}

/* ---------------------------------------------------------------- pcl */
#ifdef HAVE_PCL
static coroutine_t pco;

static void pcl_body(void *arg)
{
    (void)arg;
    for (;;)
        co_resume();
}

static void pcl_rounds(long n)
{
    for (long i = 0; i < n; i++)
        co_call(pco);
}
#endif

/* ------------------------------------------------------------ harness */
/* The point of the C host: libstdc++ must not be in the process. */
static void assert_no_libstdcxx(void)
{
    char line[512];
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        bench_fail("cannot read /proc/self/maps");
    while (fgets(line, sizeof line, f))
        if (strstr(line, "libstdc++"))
            bench_fail("libstdc++ is loaded in the C host: the C-host figure would be wrong");
    fclose(f);
}

int main(void)
{
    static char floor_stack[64 * 1024];
    struct bench_contender c[3];
    int nc = 0, samples = bench_samples();

    BENCH_CHECK(tether_fiber_create(&tf, bench_yield_forever, NULL, NULL));
    BENCH_EXPECT(tether_fiber_resume(tf, NULL, NULL), TETHER_YIELDED);
    c[nc++] = (struct bench_contender){"switch_tether_c", tether_rounds, 0};

    floor_fiber_sp = bench_floor_context(floor_stack, sizeof floor_stack, floor_body);
    c[nc++] = (struct bench_contender){"switch_floor", floor_rounds, 0};

#ifdef HAVE_PCL
    if (co_thread_init() != 0)
        bench_fail("co_thread_init failed");
    pco = co_create(pcl_body, NULL, NULL, 64 * 1024);
    if (!pco)
        bench_fail("co_create failed");
    c[nc++] = (struct bench_contender){"switch_pcl", pcl_rounds, 0};
#endif

    assert_no_libstdcxx();
    bench_interleave(c, nc, 1000, samples);

    /*
     * The fiber is parked in tether_yield: destroy unwinds it first
     * (nothing to run in C) and frees the stack.
     */
    BENCH_CHECK(tether_fiber_destroy(tf));
#ifdef HAVE_PCL
    co_delete(pco);
    co_thread_cleanup();
#endif
    return 0;
}
