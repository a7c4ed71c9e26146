/*
 * Probes and sequences against their floors, side by side in one run
 * (`make bench-probe`): each figure is measured RUNS times; the min and
 * the median are printed, and the ratio of medians is held against the
 * goal of issue 10.
 *
 *   probe copy of 8 bytes and of 4 KiB   against memcpy, called (not
 *                                        inlined: the probe is a call too)
 *   a fault to its fixup                 against the floor: SIGSEGV, a
 *                                        handler that rewrites the pc,
 *                                        sigreturn (no tether involved)
 *   the same with 100,000 more ranges    against the same with none
 *   registered
 *   a guarded call of a no-op function   tether_call() against a plain
 *                                        call and against sigsetjmp + call
 *                                        (wasm2c's way: a sigprocmask
 *                                        system call per call)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>

#include <tether.h>

#define RUNS 11

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct figure {
    double min, median;
};

/* The min and median of RUNS figures (sorts them). */
static struct figure summary(double *t)
{
    struct figure f;

    qsort(t, RUNS, sizeof t[0], by_value);
    f.min = t[0];
    f.median = t[RUNS / 2];
    return f;
}

/* Runs fn(iters) RUNS times: ns per iteration, min and median. */
static struct figure measure(void (*fn)(long), long iters)
{
    double t[RUNS];
    struct figure f;

    fn(iters / 10 + 1); /* warm up */
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        fn(iters);
        t[r] = (now_ns() - t0) / (double)iters;
    }
    qsort(t, RUNS, sizeof t[0], by_value);
    f.min = t[0];
    f.median = t[RUNS / 2];
    return f;
}

/* Two figures measured in turn within each run, so that drift touches both alike. */
static void measure_pair(void (*a)(long), void (*b)(long), long iters, struct figure *fa,
                         struct figure *fb)
{
    double ta[RUNS], tb[RUNS];

    a(iters / 10 + 1);
    b(iters / 10 + 1);
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        a(iters);
        ta[r] = (now_ns() - t0) / (double)iters;
        t0 = now_ns();
        b(iters);
        tb[r] = (now_ns() - t0) / (double)iters;
    }
    *fa = summary(ta);
    *fb = summary(tb);
}

static void show(const char *what, struct figure f)
{
    printf("  %-46s min %9.1f ns   median %9.1f ns\n", what, f.min, f.median);
}

static void verdict(const char *what, double value, const char *unit, double goal)
{
    printf("  => %-43s %7.2f%s (goal: at most %.2f%s) %s\n", what, value, unit, goal, unit,
           value <= goal ? "met" : "NOT MET");
}

/* ------------------------------------------------------------- copies */

static char src[4096] __attribute__((aligned(64)));
static char dst[4096] __attribute__((aligned(64)));
static void *(*volatile memcpy_call)(void *, const void *, size_t) = memcpy;
static size_t copy_size;

static void run_memcpy(long n)
{
    for (long i = 0; i < n; i++) {
        memcpy_call(dst, src, copy_size);
        __asm__ volatile("" ::: "memory");
    }
}

static void run_probe(long n)
{
    size_t done;

    for (long i = 0; i < n; i++) {
        tether_probe_read(dst, src, copy_size, &done);
        __asm__ volatile("" ::: "memory");
    }
}

/* ------------------------------------------------------------- faults */

/*
 * The floor: the same store, undeclared, and a handler of its own that
 * knows where the fixup is (as ../shared/anchors/floor_fault.c does).
 */
__asm__(".text\n"
        ".p2align 4\n"
        "floor_store:\n"
        "floor_insn:\n\t"
        "movl $1, (%rdi)\n\t"
        "xorl %eax, %eax\n\t"
        "ret\n"
        "floor_fixup:\n\t"
        "movl $-14, %eax\n\t"
        "ret\n");
int floor_store(int *p);
extern const char floor_insn[], floor_fixup[];

static void floor_handler(int sig, siginfo_t *info, void *ucv)
{
    ucontext_t *uc = ucv;

    (void)sig;
    (void)info;
    if (uc->uc_mcontext.gregs[REG_RIP] == (greg_t)floor_insn)
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)floor_fixup;
    else
        abort();
}

/* The same store in a FAULT sequence: tether's handler fixes it up. */
__attribute__((noinline)) static int seq_store(int *p)
{
    __asm__ goto("1: movl $1, (%[p])\n"
                 "2:\n\t"
                 TETHER_SEQ_ASM_FAULT("1b", "2b", "%l[efault]")
                 : : [p] "r"(p) : "memory" : efault);
    return 0;
efault:
    return -EFAULT;
}

static volatile int sink;
static const void *lookup_pc;

/* The lookup alone, as the handler makes it (hot caches: a lower bound). */
static void run_lookup(long n)
{
    for (long i = 0; i < n; i++)
        sink += tether_seq_lookup(lookup_pc, TETHER_SEQ_FAULT, NULL);
}

static void run_floor(long n)
{
    for (long i = 0; i < n; i++)
        sink += floor_store((int *)8);
}

static void run_seq(long n)
{
    for (long i = 0; i < n; i++)
        sink += seq_store((int *)8);
}

/* Swaps in the floor's handler for SIGSEGV, times it, puts tether's back. */
static double time_floor(long iters)
{
    struct sigaction sa, tethers;
    double t0, t;

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = floor_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &tethers);
    run_floor(1000);
    t0 = now_ns();
    run_floor(iters);
    t = (now_ns() - t0) / (double)iters;
    sigaction(SIGSEGV, &tethers, NULL);
    return t;
}

/* ------------------------------------------------------ guarded calls */

__attribute__((noinline)) static void *noop(void *arg)
{
    __asm__ volatile("");
    return arg;
}
/* Called through a volatile pointer, so that no call is inlined away. */
static void *(*volatile noop_call)(void *) = noop;
static void *call_result;

static void run_plain(long n)
{
    for (long i = 0; i < n; i++)
        call_result = noop_call((void *)i);
}

static void run_guarded(long n)
{
    for (long i = 0; i < n; i++)
        if (tether_call(noop_call, (void *)i, &call_result, NULL) != 0)
            abort();
}

static void run_sigsetjmp(long n)
{
    for (long i = 0; i < n; i++) {
        sigjmp_buf jb;
        if (!sigsetjmp(jb, 1))
            call_result = noop_call((void *)i);
    }
}

/* 100,000 ranges of one byte every 16, in a reserved region, registered. */
static tether_seq_table *many_ranges(size_t n)
{
    char *region = mmap(NULL, n * 16, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    tether_seq_range *r = calloc(n, sizeof *r);
    tether_seq_table *t = NULL;

    if (region == MAP_FAILED || !r)
        abort();
    for (size_t k = 0; k < n; k++) {
        r[k].start = region + 16 * k;
        r[k].end = region + 16 * k + 1;
        r[k].response = region + 16 * k + 8;
        r[k].event = TETHER_SEQ_FAULT;
        r[k].action = TETHER_SEQ_RESPONSE;
    }
    if (tether_seq_register(r, n, &t) != 0)
        abort();
    free(r);
    return t;
}

int main(void)
{
    struct figure m8, p8, m4k, p4k, floor, one, many, lk1, lkm, plain, guarded, sj;
    tether_seq_table *t;

    if (tether_seq_install() != 0 || seq_store((int *)8) != -EFAULT) {
        fprintf(stderr, "bench_probe: the fixup does not work\n");
        return 1;
    }
    memset(src, 'x', sizeof src);

    printf("probes against memcpy (%d runs each, interleaved)\n", RUNS);
    copy_size = 8;
    measure_pair(run_memcpy, run_probe, 10000000, &m8, &p8);
    copy_size = 4096;
    measure_pair(run_memcpy, run_probe, 1000000, &m4k, &p4k);
    show("memcpy, 8 bytes", m8);
    show("tether_probe_read, 8 bytes", p8);
    show("memcpy, 4 KiB", m4k);
    show("tether_probe_read, 4 KiB", p4k);
    verdict("8 bytes: probe - memcpy (mins)", p8.min - m8.min, " ns", 5.0);
    verdict("8 bytes: probe - memcpy (medians)", p8.median - m8.median, " ns", 5.0);
    verdict("4 KiB: probe / memcpy (mins)", p4k.min / m4k.min, "x", 1.2);
    verdict("4 KiB: probe / memcpy (medians)", p4k.median / m4k.median, "x", 1.2);

    /*
     * Faults cost microseconds and this machine's figures drift from run
     * to run: the three are measured in turn within each run, so that
     * drift touches them alike.
     */
    printf("a fault to its fixup (%d runs each, interleaved)\n", RUNS);
    {
        double tf[RUNS], t1[RUNS], tm[RUNS];
        long iters = 50000;

        run_seq(1000);
        for (int r = 0; r < RUNS; r++) {
            double t0;
            tf[r] = time_floor(iters);
            t0 = now_ns();
            run_seq(iters);
            t1[r] = (now_ns() - t0) / (double)iters;
            t = many_ranges(100000);
            run_seq(1000);
            t0 = now_ns();
            run_seq(iters);
            tm[r] = (now_ns() - t0) / (double)iters;
            tether_seq_unregister(t);
        }
        floor = summary(tf);
        one = summary(t1);
        many = summary(tm);
    }
    lookup_pc = tether_seq_last_fault()->pc;
    lk1 = measure(run_lookup, 2000000);
    t = many_ranges(100000);
    lkm = measure(run_lookup, 2000000);
    tether_seq_unregister(t);
    show("floor: SIGSEGV, pc rewritten, sigreturn", floor);
    show("FAULT sequence, tether's own ranges only", one);
    show("FAULT sequence, 100,000 more ranges", many);
    show("the lookup alone, tether's own ranges only", lk1);
    show("the lookup alone, 100,000 more ranges", lkm);
    verdict("fault to fixup / floor (mins)", one.min / floor.min, "x", 1.1);
    verdict("fault to fixup / floor (medians)", one.median / floor.median, "x", 1.1);
    verdict("100,000 ranges / tether's own (mins)", many.min / one.min, "x", 1.1);
    verdict("100,000 ranges / tether's own (medians)", many.median / one.median, "x", 1.1);

    printf("a guarded call of a no-op function (%d runs each, interleaved)\n", RUNS);
    measure_pair(run_plain, run_guarded, 20000000, &plain, &guarded);
    sj = measure(run_sigsetjmp, 2000000);
    show("plain call", plain);
    show("tether_call, on the caller's stack", guarded);
    show("sigsetjmp + call", sj);
    verdict("tether_call - plain call (mins)", guarded.min - plain.min, " ns", 10.0);
    verdict("tether_call - plain call (medians)", guarded.median - plain.median, " ns", 10.0);
    return 0;
}
