/*
 * Unwinding a fiber, against a C++ throw through the same frames. The
 * frames are nest()'s, each holding an object with a destructor; the
 * innermost one yields, throws or faults.
 *
 *   unwind_yield_N   tether_fiber_unwind of a fiber that yielded N
 *                    frames deep (every destructor runs)
 *   throw_N          throw at the bottom of N frames, caught by their
 *                    caller on the thread's own stack
 *   unwind_fault_N   a fault N frames deep: resume to FAULTED, then
 *                    tether_fiber_unwind (which walks the fault's
 *                    backtrace first). Set against throw_N plus the
 *                    fault floor (bench/floor_fault.c) by run.sh.
 *
 * for N = 1, 10, 100.
 */
#include <cstdint>
#include <cstdio>

#include "bench.h"

enum mode { YIELD, THROW, FAULT };

/* Fibers (or throws) per sample, timed as one batch. */
static const int batch = 500;

static long destroyed;
static int *volatile nowhere;

struct Obj {
    ~Obj() { destroyed++; }
};

/*
 * `depth` frames of nest(), each with a live Obj across its call, so
 * each has a cleanup for the unwind (or the throw) to run.
 */
__attribute__((noinline)) static void nest(int depth, mode m)
{
    Obj o;
    if (depth > 1)
        nest(depth - 1, m);
    else if (m == YIELD)
        BENCH_CHECK(tether_yield(nullptr, nullptr));
    else if (m == THROW)
        throw 1;
    else
        *nowhere = 1;
}

struct job {
    int depth;
    mode m;
};

static void *guest(void *arg, void *)
{
    const job *j = static_cast<const job *>(arg);
    nest(j->depth, j->m);
    return nullptr;
}

static tether_fiber *fibers[batch];

static void make_ready(const job *j)
{
    for (int i = 0; i < batch; i++)
        BENCH_CHECK(tether_fiber_reset(fibers[i], guest, const_cast<job *>(j), 0));
}

static double unwind_after_yield(int depth)
{
    job j = {depth, YIELD};
    make_ready(&j);
    for (int i = 0; i < batch; i++)
        BENCH_EXPECT(tether_fiber_resume(fibers[i], nullptr, nullptr), TETHER_YIELDED);
    long before = destroyed;
    double t0 = bench_now_ns();
    for (int i = 0; i < batch; i++)
        if (BENCH_CHECK(tether_fiber_unwind(fibers[i])) != 0)
            bench_fail("an unwind after a yield passed frames over");
    double ns = (bench_now_ns() - t0) / batch;
    if (destroyed - before != (long)batch * depth)
        bench_fail("an unwind after a yield missed destructors");
    return ns;
}

static double unwind_after_fault(int depth)
{
    job j = {depth, FAULT};
    make_ready(&j);
    long before = destroyed;
    double t0 = bench_now_ns();
    for (int i = 0; i < batch; i++) {
        BENCH_EXPECT(tether_fiber_resume(fibers[i], nullptr, nullptr), TETHER_FAULTED);
        BENCH_CHECK(tether_fiber_unwind(fibers[i]));
    }
    double ns = (bench_now_ns() - t0) / batch;
    /*
     * The faulting frame's own object is passed over (it is not built
     * with -fnon-call-exceptions); every other one is destroyed.
     */
    if (destroyed - before < (long)batch * (depth - 1))
        bench_fail("an unwind after a fault missed destructors");
    return ns;
}

static double throw_through(int depth)
{
    long before = destroyed;
    int caught = 0;
    double t0 = bench_now_ns();
    for (int i = 0; i < batch; i++) {
        try {
            nest(depth, THROW);
        } catch (int) {
            caught++;
        }
    }
    double ns = (bench_now_ns() - t0) / batch;
    if (caught != batch || destroyed - before != (long)batch * depth)
        bench_fail("a throw missed destructors");
    return ns;
}

int main()
{
    static const int depths[] = {1, 10, 100};
    int samples = bench_samples();
    tether_fiber_opts o = {};
    job first = {1, YIELD};
    char key[32];

    o.stack_size = 256 * 1024;
    for (int i = 0; i < batch; i++)
        BENCH_CHECK(tether_fiber_create(&fibers[i], guest, &first, &o));

    /* s < 0: one unreported round, to touch stacks and warm the caches. */
    for (int s = -1; s < samples; s++)
        for (int depth : depths) {
            double y = unwind_after_yield(depth);
            double t = throw_through(depth);
            double f = unwind_after_fault(depth);
            if (s < 0)
                continue;
            std::snprintf(key, sizeof key, "unwind_yield_%d", depth);
            bench_result(key, y);
            std::snprintf(key, sizeof key, "throw_%d", depth);
            bench_result(key, t);
            std::snprintf(key, sizeof key, "unwind_fault_%d", depth);
            bench_result(key, f);
        }

    for (int i = 0; i < batch; i++)
        BENCH_CHECK(tether_fiber_destroy(fibers[i]));
    return 0;
}
