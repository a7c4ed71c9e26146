/*
 * tether's other ways for a guest to end, with nothing to set them
 * against (no other library has them); printed below the comparisons:
 *
 *   terminate_tether   tether_terminate in the guest, to resume's TERMINATED
 *   timed_tether       tether_fiber_resume_for + yield: the thread's
 *                      timer armed and disarmed around the run
 *   kill_tether        a kill switch fired at a guest spinning on another
 *                      thread, to that thread's resume returning
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "bench.h"

#define BATCH 2000

static void *terminate_now(void *arg, void *in)
{
    (void)in;
    BENCH_CHECK(tether_terminate(arg));
    return NULL;
}

static tether_fiber *fibers[BATCH];

static double terminate_batch(void)
{
    void *out;
    for (int i = 0; i < BATCH; i++)
        BENCH_CHECK(tether_fiber_reset(fibers[i], terminate_now, fibers, TETHER_RESET_DISCARD));
    double t0 = bench_now_ns();
    for (int i = 0; i < BATCH; i++) {
        BENCH_EXPECT(tether_fiber_resume(fibers[i], NULL, &out), TETHER_TERMINATED);
        if (out != fibers)
            bench_fail("the termination's details were lost");
    }
    return (bench_now_ns() - t0) / BATCH;
}

static double timed_batch(tether_fiber *f, long n)
{
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        BENCH_EXPECT(tether_fiber_resume_for(f, NULL, NULL, 1000000000), TETHER_YIELDED);
    return (bench_now_ns() - t0) / (double)n;
}

/* ---------------------------------------------------------- kill latency */
static atomic_int spinning;
static _Atomic double stopped_at;

static void *spin(void *arg, void *in)
{
    (void)arg;
    (void)in;
    atomic_store(&spinning, 1);
    for (;;)
        __asm__ volatile("" ::: "memory");
    return NULL;
}

static void *runner(void *arg)
{
    BENCH_EXPECT(tether_fiber_resume(arg, NULL, NULL), TETHER_TERMINATED);
    atomic_store(&stopped_at, bench_now_ns());
    return NULL;
}

static double kill_once(void)
{
    tether_fiber *f;
    tether_kill_switch *k;
    pthread_t th;

    BENCH_CHECK(tether_fiber_create(&f, spin, NULL, NULL));
    BENCH_CHECK(tether_kill_switch_create(f, &k));
    atomic_store(&spinning, 0);
    if (pthread_create(&th, NULL, runner, f) != 0)
        bench_fail("pthread_create failed");
    while (!atomic_load(&spinning))
        ;
    double t0 = bench_now_ns();
    if (BENCH_CHECK(tether_kill_switch_fire(k, NULL)) != TETHER_KILL_SIGNALLED)
        bench_fail("the kill did not find its fiber running");
    pthread_join(th, NULL);
    double ns = atomic_load(&stopped_at) - t0;
    tether_kill_switch_free(k);
    BENCH_CHECK(tether_fiber_destroy(f));
    return ns;
}

int main(void)
{
    int samples = bench_samples();
    tether_fiber *timed;
    tether_fiber_opts o = {0};

    o.stack_size = 64 * 1024;
    for (int i = 0; i < BATCH; i++)
        BENCH_CHECK(tether_fiber_create(&fibers[i], terminate_now, fibers, &o));
    BENCH_CHECK(tether_fiber_create(&timed, bench_yield_forever, NULL, &o));

    terminate_batch();
    timed_batch(timed, 1000);
    for (int s = 0; s < samples; s++) {
        bench_result("terminate_tether", terminate_batch());
        bench_result("timed_tether", timed_batch(timed, bench_scaled(50000)));
        /* the mean of a few: each is a thread start, a signal and a join */
        double sum = 0;
        int kills = 20;
        for (int i = 0; i < kills; i++)
            sum += kill_once();
        bench_result("kill_tether", sum / kills);
    }

    for (int i = 0; i < BATCH; i++)
        BENCH_CHECK(tether_fiber_destroy(fibers[i]));
    BENCH_CHECK(tether_fiber_destroy(timed));
    return 0;
}
