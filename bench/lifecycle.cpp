/*
 * A fiber's whole life: create, first run (the entry function returns
 * at once), destroy. Side by side in this one C++ process, samples
 * interleaved:
 *
 *   life_tether_64k      tether, 64 KiB stack, guarded, from its pool
 *   life_tether_default  tether, default stack size (1 MiB), the same way
 *   life_tether_clean    tether, 64 KiB, TETHER_FIBER_CLEAN_STACK: the
 *                        stack is emptied (zero pages) on its way back
 *   life_boost_pooled    Boost.Context fiber, pooled_fixedsize_stack of
 *                        64 KiB: malloc'd stacks kept in a pool, no guard
 *   life_boost_protected Boost.Context fiber, protected_fixedsize_stack
 *                        of 64 KiB: mmap + mprotect guard page + munmap
 *                        every time
 *
 * A C++ host, as Boost needs one. tether's figure in a C host is
 * higher: there, each create asks the dynamic linker whether anything
 * was loaded since it last looked for libstdc++ (a dl_iterate_phdr,
 * which takes the dynamic linker's lock, in case a plugin brought it),
 * which a C++ host does once.
 */
#include <cstdio>
#include <memory>
#include <utility>

#include "bench.h"

#ifdef HAVE_BOOST_CONTEXT
#include <boost/context/fiber.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
namespace ctx = boost::context;
#endif

static const size_t small_stack = 64 * 1024;

static void *returns_at_once(void *arg, void *in)
{
    (void)in;
    return arg;
}

static void tether_life(long n, size_t stack_size, unsigned flags)
{
    tether_fiber_opts o = {};
    o.stack_size = stack_size;
    o.flags = flags;
    for (long i = 0; i < n; i++) {
        tether_fiber *f;
        void *out;
        BENCH_CHECK(tether_fiber_create(&f, returns_at_once, &o, &o));
        BENCH_EXPECT(tether_fiber_resume(f, nullptr, &out), TETHER_RETURNED);
        if (out != &o)
            bench_fail("the fiber's result did not come back");
        BENCH_CHECK(tether_fiber_destroy(f));
    }
}

static void tether_64k(long n) { tether_life(n, small_stack, 0); }
static void tether_default(long n) { tether_life(n, 0, 0); }
static void tether_clean(long n) { tether_life(n, small_stack, TETHER_FIBER_CLEAN_STACK); }

#ifdef HAVE_BOOST_CONTEXT
/* Made once, as a program would: the pool must outlive the loop. */
static std::unique_ptr<ctx::pooled_fixedsize_stack> pool;

template <typename Alloc> static void boost_life(long n, Alloc &alloc)
{
    for (long i = 0; i < n; i++) {
        ctx::fiber f{std::allocator_arg, alloc, [](ctx::fiber &&host) { return std::move(host); }};
        f = std::move(f).resume();
        if (f)
            bench_fail("the Boost fiber did not finish");
    }
}

static void boost_pooled(long n) { boost_life(n, *pool); }

static void boost_protected(long n)
{
    ctx::protected_fixedsize_stack alloc(small_stack);
    boost_life(n, alloc);
}
#endif

int main()
{
    bench_contender c[5];
    int nc = 0, samples = bench_samples();

    c[nc++] = {"life_tether_64k", tether_64k, 0};
    c[nc++] = {"life_tether_default", tether_default, 0};
    c[nc++] = {"life_tether_clean", tether_clean, 0};
#ifdef HAVE_BOOST_CONTEXT
    pool.reset(new ctx::pooled_fixedsize_stack(small_stack));
    c[nc++] = {"life_boost_pooled", boost_pooled, 0};
    c[nc++] = {"life_boost_protected", boost_protected, 0};
#endif

    bench_interleave(c, nc, 100, samples);
    return 0;
}
