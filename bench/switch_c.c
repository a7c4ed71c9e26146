/*
 * Resume + yield round trip in a C host: a C program, with no libstdc++
 * in the process (checked), so tether has no C++ exception state to
 * keep per fiber. Measured side by side, samples interleaved:
 *
 *   switch_tether_c    tether_fiber_resume + tether_yield
 *   switch_floor       a bare pop+jmp switch (switch_floor.h)
 *   switch_minicoro    minicoro's mco_resume + mco_yield (vendored)
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

#ifdef __GNUC__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#define MINICORO_IMPL
#include "vendor/minicoro.h"
#ifdef __GNUC__
#pragma GCC diagnostic pop
#endif

#ifdef HAVE_PCL
#include <pcl.h>
#endif

/* Each sample runs about this long: long enough to hide the clock. */
#define SAMPLE_NS 50e6

/* ------------------------------------------------------------- tether */
static tether_fiber *tf;

static void *tether_body(void *arg, void *in)
{
    (void)arg;
    (void)in;
    for (;;)
        if (tether_yield(NULL, NULL) < 0)
            bench_fail("tether_yield failed");
    return NULL;
}

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

/* ----------------------------------------------------------- minicoro */
static mco_coro *mco;

static void minicoro_body(mco_coro *co)
{
    for (;;)
        if (mco_yield(co) != MCO_SUCCESS)
            bench_fail("mco_yield failed");
}

static void minicoro_rounds(long n)
{
    for (long i = 0; i < n; i++)
        if (__builtin_expect(mco_resume(mco) != MCO_SUCCESS, 0))
            bench_fail("mco_resume failed");
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
struct contender {
    const char *key;
    void (*rounds)(long n);
    long n; /* round trips per sample, calibrated */
};

/* Enough round trips for a sample of about SAMPLE_NS. */
static long calibrate(void (*rounds)(long))
{
    long n = 1000;
    double t0, dt;
    rounds(n); /* warm: caches, predictors, first-touch of the stack */
    for (;;) {
        t0 = bench_now_ns();
        rounds(n);
        dt = bench_now_ns() - t0;
        if (dt > SAMPLE_NS / 20 || n > (1l << 30))
            break;
        n *= 4;
    }
    return bench_scaled((long)((double)n * SAMPLE_NS / (dt > 1 ? dt : 1)));
}

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
    struct contender c[4];
    int nc = 0, samples = bench_samples();

    BENCH_CHECK(tether_fiber_create(&tf, tether_body, NULL, NULL));
    BENCH_EXPECT(tether_fiber_resume(tf, NULL, NULL), TETHER_YIELDED);
    c[nc++] = (struct contender){"switch_tether_c", tether_rounds, 0};

    floor_fiber_sp = bench_floor_context(floor_stack, sizeof floor_stack, floor_body);
    c[nc++] = (struct contender){"switch_floor", floor_rounds, 0};

    mco_desc desc = mco_desc_init(minicoro_body, 0);
    if (mco_create(&mco, &desc) != MCO_SUCCESS)
        bench_fail("mco_create failed");
    c[nc++] = (struct contender){"switch_minicoro", minicoro_rounds, 0};

#ifdef HAVE_PCL
    if (co_thread_init() != 0)
        bench_fail("co_thread_init failed");
    pco = co_create(pcl_body, NULL, NULL, 64 * 1024);
    if (!pco)
        bench_fail("co_create failed");
    c[nc++] = (struct contender){"switch_pcl", pcl_rounds, 0};
#endif

    assert_no_libstdcxx();
    for (int i = 0; i < nc; i++)
        c[i].n = calibrate(c[i].rounds);
    for (int s = 0; s < samples; s++)
        for (int i = 0; i < nc; i++) {
            double t0 = bench_now_ns();
            c[i].rounds(c[i].n);
            bench_result(c[i].key, (bench_now_ns() - t0) / (double)c[i].n);
        }

    /*
     * The fiber is parked in tether_yield: destroy unwinds it first
     * (nothing to run in C) and frees the stack.
     */
    BENCH_CHECK(tether_fiber_destroy(tf));
    mco_destroy(mco);
#ifdef HAVE_PCL
    co_delete(pco);
    co_thread_cleanup();
#endif
    return 0;
}
