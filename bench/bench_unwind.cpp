/*
 * Unwinding benchmarks: the cost of tether_fiber_unwind for a fiber that
 * yielded with 1, 10 or 100 frames each holding an object with a
 * destructor, and of a fault followed by its unwind. For scale, the
 * design brief measured a C++ throw/catch through 1 / 10 / 100 frames at
 * 1.7 / 6.0 / 49.6 us on this machine.
 */
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <initializer_list>

#include <tether.h>

static double now()
{
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long destroyed;
static int *volatile nowhere;
static volatile bool never;

struct Obj {
    ~Obj() { destroyed++; }
};

__attribute__((noinline)) static void nest(int n, bool fault)
{
    Obj o;
    if (never)
        throw 1;
    if (n > 1)
        nest(n - 1, fault);
    else if (fault)
        *(volatile int *)nowhere = 1;
    else
        tether_yield(nullptr, nullptr);
}

static void *guest(void *arg, void *in)
{
    nest((int)(long)arg, in != nullptr);
    return nullptr;
}

static void bench(int depth, bool fault, int n)
{
    tether_fiber_opts o = {};
    o.stack_size = 256 * 1024;
    double spent = 0;
    for (int i = 0; i < n; i++) {
        tether_fiber *f;
        if (tether_fiber_create(&f, guest, (void *)(long)depth, &o) != 0)
            exit(1);
        tether_fiber_resume(f, fault ? (void *)1 : nullptr, nullptr);
        double t0 = now();
        if (tether_fiber_unwind(f) < 0)
            exit(1);
        spent += now() - t0;
        tether_fiber_destroy(f);
    }
    printf("unwind after %s, %3d frames with a destructor each: %.2f us\n",
           fault ? "a fault" : "a yield", depth, spent * 1e6 / n);
}

int main()
{
    for (int depth : {1, 10, 100})
        bench(depth, false, 20000);
    for (int depth : {1, 10, 100})
        bench(depth, true, 20000);
    return destroyed > 0 ? 0 : 1;
}
