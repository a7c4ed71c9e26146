/*
 * Resume + yield round trip in a C++ host, where libstdc++ is loaded and
 * tether keeps each fiber's C++ exception state. Side by side in this
 * one process, samples interleaved:
 *
 *   switch_tether_cxx   tether_fiber_resume + tether_yield
 *   switch_boost        boost::context::fiber, resume there and back
 *                       (if configure found Boost.Context)
 *
 * switch_boost is also what run.sh sets against the C host's figure
 * (bench/switch_c.c), from a separate process run in turn with it.
 */
#include <cstdio>
#include <utility>

#include "bench.h"

#ifdef HAVE_BOOST_CONTEXT
#include <boost/context/fiber.hpp>
namespace ctx = boost::context;
#endif


static tether_fiber *tf;

static void tether_rounds(long n)
{
    for (long i = 0; i < n; i++)
        if (__builtin_expect(tether_fiber_resume(tf, nullptr, nullptr) != TETHER_YIELDED, 0))
            BENCH_EXPECT(tether_fiber_resume(tf, nullptr, nullptr), TETHER_YIELDED);
}

#ifdef HAVE_BOOST_CONTEXT
/* The fiber object is the handle to the other side, swapped at each resume. */
static ctx::fiber bf;

static void boost_rounds(long n)
{
    for (long i = 0; i < n; i++)
        bf = std::move(bf).resume();
}
#endif

int main()
{
    bench_contender c[2];
    int nc = 0, samples = bench_samples();

    BENCH_CHECK(tether_fiber_create(&tf, bench_yield_forever, nullptr, nullptr));
    BENCH_EXPECT(tether_fiber_resume(tf, nullptr, nullptr), TETHER_YIELDED);
    c[nc++] = {"switch_tether_cxx", tether_rounds, 0};

#ifdef HAVE_BOOST_CONTEXT
    bf = ctx::fiber{[](ctx::fiber &&host) {
        for (;;)
            host = std::move(host).resume();
        return std::move(host);
    }};
    bf = std::move(bf).resume();
    c[nc++] = {"switch_boost", boost_rounds, 0};
#endif

    bench_interleave(c, nc, 1000, samples);

    BENCH_CHECK(tether_fiber_destroy(tf));
    /*
     * The Boost fiber loops for ever; destroying a suspended
     * boost::context::fiber unwinds its stack with an exception of its
     * own (forced_unwind), which the loop lets through.
     */
#ifdef HAVE_BOOST_CONTEXT
    bf = ctx::fiber{};
#endif
    return 0;
}
