/*
 * A fault in a guest, to the host's resume returning TETHER_FAULTED: a
 * NULL dereference 1 and 10 frames below the fiber's entry function.
 * The backtrace is not walked then: tether walks it when the host first
 * asks for the record, so the cost of that first tether_fiber_fault()
 * is given on its own.
 *
 *   fault_tether_1, fault_tether_10   resume to FAULTED
 *   fault_record_1, fault_record_10   the first tether_fiber_fault()
 *
 * The floor (a SIGSEGV whose handler rewrites the pc, then sigreturn)
 * is bench/floor_fault.c: a process of its own, since its handler and
 * tether's cannot both own SIGSEGV.
 */
#include <stdint.h>
#include <stdio.h>

#include "bench.h"

/* Fibers faulted per sample: timed as one batch, so the clock costs nothing. */
#define BATCH 2000

static int *volatile nowhere;

/*
 * depth frames of dive(), the last one faulting. The empty asm uses the
 * result after the call, so the call is no tail call and each frame
 * stays on the stack.
 */
__attribute__((noinline)) static int dive(int depth)
{
    int r = depth <= 1 ? *nowhere : dive(depth - 1);
    __asm__ volatile("" : "+r"(r));
    return r;
}

static void *guest(void *arg, void *in)
{
    (void)in;
    return (void *)(intptr_t)dive((int)(intptr_t)arg);
}

static tether_fiber *fibers[BATCH];

static void sample(int depth)
{
    char key[32];
    double t0, t1, t2;
    void *out;

    t0 = bench_now_ns();
    for (int i = 0; i < BATCH; i++)
        BENCH_EXPECT(tether_fiber_resume(fibers[i], NULL, &out), TETHER_FAULTED);
    t1 = bench_now_ns();
    for (int i = 0; i < BATCH; i++) {
        const tether_fault *ft = tether_fiber_fault(fibers[i]);
        /* the record must hold what a host reads: kind, and every frame */
        if (!ft || ft->kind != TETHER_FAULT_SEGV || ft->nframes < depth)
            bench_fail("the fault record is missing or incomplete");
    }
    t2 = bench_now_ns();
    snprintf(key, sizeof key, "fault_tether_%d", depth);
    bench_result(key, (t1 - t0) / BATCH);
    snprintf(key, sizeof key, "fault_record_%d", depth);
    bench_result(key, (t2 - t1) / BATCH);
}

int main(void)
{
    static const int depths[] = {1, 10};
    int samples = bench_samples();
    tether_fiber_opts o = {0};

    o.stack_size = 64 * 1024;
    for (int i = 0; i < BATCH; i++)
        BENCH_CHECK(tether_fiber_create(&fibers[i], guest, (void *)(intptr_t)1, &o));

    /*
     * One unreported round per depth first: pages touched, code warm.
     * Between rounds the fibers are made READY again on the same stacks,
     * their frames dropped, not unwound (C frames have nothing to clean
     * up): no unwind is paid for between samples.
     */
    for (int s = -1; s < samples; s++)
        for (unsigned d = 0; d < sizeof depths / sizeof depths[0]; d++) {
            for (int i = 0; i < BATCH; i++)
                BENCH_CHECK(tether_fiber_reset(fibers[i], guest, (void *)(intptr_t)depths[d],
                                               TETHER_RESET_DISCARD));
            if (s < 0) {
                for (int i = 0; i < BATCH; i++)
                    BENCH_EXPECT(tether_fiber_resume(fibers[i], NULL, NULL), TETHER_FAULTED);
                continue;
            }
            sample(depths[d]);
        }

    for (int i = 0; i < BATCH; i++)
        BENCH_CHECK(tether_fiber_destroy(fibers[i]));
    return 0;
}
