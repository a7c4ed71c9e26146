/*
 * Instances against wasm2c's own runtime (wasm-rt-impl.c), on the same
 * module (bench/bench_wasm.wat) compiled with the same flags. This file
 * is built twice: as bench_wasm on libtether-wasm, and with BASELINE
 * defined as bench_wasm_w2c on wasm2c's runtime (the two define the same
 * wasm_rt_* functions, so they cannot share a program). Each prints
 * "key nanoseconds" lines; bench/bench_wasm.sh runs both in one go and
 * prints them side by side with the ratios and the goals.
 *
 * Every figure is the best of 5 rounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef BASELINE
#include "wasm-rt-impl.h"
#include "bench_w2c_guest.h"
#define M(x) Z_bench_w2c_guest##x
#else
#include <tether/wasm.h>
#include "bench_guest.h"
#define M(x) Z_bench_guest##x
#endif

typedef M(_instance_t) instance_t;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void report(const char *key, double ns)
{
    printf("%s %.1f\n", key, ns);
}

#define BEST(key, n, body)                                  \
    do {                                                    \
        double best_ = 1e30;                                \
        for (int r_ = 0; r_ < 5; r_++) {                    \
            double t0_ = now();                             \
            for (long i_ = 0; i_ < (n); i_++) {             \
                body;                                       \
            }                                               \
            double ns_ = (now() - t0_) * 1e9 / (double)(n); \
            if (ns_ < best_)                                \
                best_ = ns_;                                \
        }                                                   \
        report(key, best_);                                 \
    } while (0)

static volatile uint32_t sink;

#ifdef BASELINE

/* wasm2c's runtime: wasm_rt_impl_try (sigsetjmp) around every call. */
static void trap(instance_t *inst, int which)
{
    if (wasm_rt_impl_try() != 0)
        return;
    switch (which) {
    case 0: M(Z_oob)(inst); break;
    case 1: M(Z_div0)(inst, 0); break;
    case 2: M(Z_unreach)(inst); break;
    default: M(Z_runaway)(inst); break;
    }
    fprintf(stderr, "no trap\n");
    exit(1);
}

int main(void)
{
    instance_t inst;

    wasm_rt_init();
    M(_init_module)();
    /*
     * wasm2c 1.0.32's wasm_rt_free_memory unmaps only the memory's size,
     * not its 8 GiB reservation: each instance leaks 8 GiB of address
     * space, and the process runs out after about 16,000. Hence 5 x 1000.
     */
    BEST("instantiate_free", 1000, {
        instance_t x;
        M(_instantiate)(&x);
        M(_free)(&x);
    });
    BEST("instantiate_call_free", 1000, {
        instance_t x;
        M(_instantiate)(&x);
        if (wasm_rt_impl_try() == 0)
            sink = M(Z_nop)(&x);
        M(_free)(&x);
    });
    M(_instantiate)(&inst);
    BEST("direct_call", 10000000, sink = M(Z_nop)(&inst));
    BEST("guarded_call", 2000000, if (wasm_rt_impl_try() == 0) sink = M(Z_nop)(&inst));
    BEST("trap_oob", 20000, trap(&inst, 0));
    BEST("trap_div0", 200000, trap(&inst, 1));
    BEST("trap_unreachable", 200000, trap(&inst, 2));
    BEST("trap_exhaustion", 20, trap(&inst, 3));
    M(_free)(&inst);
    return 0;
}

#else

static void check(int st, int want, const char *what)
{
    if (st != want) {
        fprintf(stderr, "%s: %d, not %d\n", what, st, want);
        exit(1);
    }
}

static void nop(void *mi, void *arg)
{
    (void)arg;
    sink = M(Z_nop)(mi);
}

static void oob(void *mi, void *arg)
{
    (void)arg;
    M(Z_oob)(mi);
}

static void div0(void *mi, void *arg)
{
    (void)arg;
    M(Z_div0)(mi, 0);
}

static void unreach(void *mi, void *arg)
{
    (void)arg;
    M(Z_unreach)(mi);
}

static void runaway(void *mi, void *arg)
{
    (void)arg;
    M(Z_runaway)(mi);
}

/* The core's own figures in the same run, to tell our overhead from its. */
static void *yield_forever(void *arg, void *in)
{
    (void)arg;
    (void)in;
    for (;;)
        tether_yield(NULL, NULL);
    return NULL;
}

static int *volatile nowhere;

static void *segv(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return (void *)(intptr_t)*nowhere;
}

static void core(void)
{
    tether_fiber *f;

    check(tether_fiber_create(&f, yield_forever, NULL, NULL), 0, "fiber");
    BEST("core_round_trip", 2000000, tether_fiber_resume(f, NULL, NULL));
    tether_fiber_destroy(f);
    check(tether_fiber_create(&f, segv, NULL, NULL), 0, "fiber");
    BEST("core_fault", 20000, {
        check(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED, "fault");
        tether_fiber_reset(f, segv, NULL, TETHER_RESET_DISCARD);
    });
    /* The same, reading the fault record as a trap must: its backtrace is walked then. */
    BEST("core_fault_record", 20000, {
        check(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED, "fault");
        check(tether_fiber_fault(f) != NULL, 1, "record");
        tether_fiber_reset(f, segv, NULL, TETHER_RESET_DISCARD);
    });
    tether_fiber_destroy(f);
}

static void exhaustion(const char *key, size_t stack)
{
    tether_wasm_pool_opts o = {.slots = 1, .stack_size = stack};
    tether_wasm_pool *pool;
    tether_wasm_instance *inst;

    check(tether_wasm_pool_create(&pool, &o), 0, "pool");
    check(tether_wasm_instance_create(&inst, pool, &M(_tether_module), NULL), 0, "create");
    BEST(key, 20, check(tether_wasm_call(inst, runaway, NULL), TETHER_WASM_TRAP, "runaway"));
    tether_wasm_instance_release(inst);
    tether_wasm_pool_destroy(pool);
}

int main(void)
{
    const tether_wasm_module *m = &M(_tether_module);
    tether_wasm_pool *pool;
    tether_wasm_instance *inst;

    check(tether_wasm_pool_create(&pool, NULL), 0, "pool");
    BEST("instantiate_call_free", 1000, {
        tether_wasm_instance *x;
        check(tether_wasm_instance_create(&x, pool, m, NULL), 0, "create");
        check(tether_wasm_call(x, nop, NULL), 0, "call");
        tether_wasm_instance_release(x);
    });
    check(tether_wasm_instance_create(&inst, pool, m, NULL), 0, "create");
    instance_t *mi = tether_wasm_module_instance(inst);
    BEST("direct_call", 10000000, sink = M(Z_nop)(mi));
    BEST("guarded_call", 2000000, tether_wasm_call(inst, nop, NULL));
    BEST("trap_oob", 20000, check(tether_wasm_call(inst, oob, NULL), TETHER_WASM_TRAP, "oob"));
    BEST("trap_div0", 200000, check(tether_wasm_call(inst, div0, NULL), TETHER_WASM_TRAP, "div0"));
    BEST("trap_unreachable", 200000,
         check(tether_wasm_call(inst, unreach, NULL), TETHER_WASM_TRAP, "unreachable"));
    tether_wasm_instance_release(inst);
    tether_wasm_pool_destroy(pool);
    exhaustion("trap_exhaustion", 0);
    exhaustion("trap_exhaustion_8m", 8u << 20);
    exhaustion("trap_exhaustion_64k", 64u << 10);
    core();
    return 0;
}

#endif
