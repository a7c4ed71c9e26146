/*
 * What every benchmark program shares: a clock, loud failure, and the
 * one output format bench/run.sh reads.
 *
 * Each program prints one line per sample, `<key> <value>`, with the
 * value in nanoseconds (or bytes, for keys ending in _bytes), and lines
 * starting with `#` for notes. A program takes several samples of each
 * figure, interleaving the things it compares, so that a burst of noise
 * on the (virtual) machine hits both sides of a ratio alike; run.sh then
 * runs the programs in turn several times and reports the minimum and
 * the median of all samples of a key.
 *
 * Written to compile as C11 and as C++ (the C++ hosts include it too).
 */
#ifndef TETHER_BENCH_H
#define TETHER_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tether.h>

/* Samples of each figure a program takes in one run (BENCH_SAMPLES). */
static inline int bench_samples(void)
{
    const char *e = getenv("BENCH_SAMPLES");
    int n = e ? atoi(e) : 0;
    return n > 0 ? n : 5;
}

/* Scales every loop count (BENCH_SCALE, in percent): quick trial runs. */
static inline long bench_scaled(long n)
{
    const char *e = getenv("BENCH_SCALE");
    long pct = e ? atol(e) : 100;
    long m = pct > 0 ? n * pct / 100 : n;
    return m > 0 ? m : 1;
}

static inline double bench_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static inline void bench_result(const char *key, double value)
{
    printf("%s %.3f\n", key, value);
    fflush(stdout);
}

/*
 * Every tether call is checked: a benchmark that times an error path
 * instead of the real one would print a figure that means nothing.
 */
#define BENCH_CHECK(call) bench_check_((call), #call, __FILE__, __LINE__)

static inline int bench_check_(int r, const char *what, const char *file, int line)
{
    if (r < 0) {
        fprintf(stderr, "%s:%d: %s failed: %s\n", file, line, what, tether_strerror(r));
        exit(1);
    }
    return r;
}

/* A resume must stop in the state the benchmark expects. */
#define BENCH_EXPECT(call, state) bench_expect_((call), (state), #call, __FILE__, __LINE__)

static inline void bench_expect_(int r, int want, const char *what, const char *file, int line)
{
    bench_check_(r, what, file, line);
    if (r != want) {
        fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", file, line, what,
                tether_strerror(r), tether_strerror(want));
        exit(1);
    }
}

static inline void bench_fail(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    exit(1);
}

/* A guest that yields for ever: the other side of every round trip. */
static inline void *bench_yield_forever(void *arg, void *in)
{
    (void)arg;
    (void)in;
    for (;;)
        BENCH_CHECK(tether_yield(NULL, NULL));
    return NULL;
}

/*
 * One of the things a program compares: run(n) does n of them, and n
 * is calibrated so that a sample lasts about BENCH_SAMPLE_NS.
 */
struct bench_contender {
    const char *key;
    void (*run)(long n);
    long n;
};

#define BENCH_SAMPLE_NS 50e6

/* Enough repetitions, from n up, for a sample of about BENCH_SAMPLE_NS. */
static inline long bench_calibrate(void (*run)(long), long n)
{
    double t0, dt;
    run(n); /* warm: caches, predictors, first touch of a stack */
    for (;;) {
        t0 = bench_now_ns();
        run(n);
        dt = bench_now_ns() - t0;
        if (dt > BENCH_SAMPLE_NS / 20 || n > (1l << 30))
            break;
        n *= 4;
    }
    return bench_scaled((long)((double)n * BENCH_SAMPLE_NS / (dt > 1 ? dt : 1)));
}

/*
 * Calibrates each contender (from n0), then takes `samples` samples of
 * each, interleaved, and prints them: ns per repetition.
 */
static inline void bench_interleave(struct bench_contender *c, int nc, long n0, int samples)
{
    for (int i = 0; i < nc; i++)
        c[i].n = bench_calibrate(c[i].run, n0);
    for (int s = 0; s < samples; s++)
        for (int i = 0; i < nc; i++) {
            double t0 = bench_now_ns();
            c[i].run(c[i].n);
            bench_result(c[i].key, (bench_now_ns() - t0) / (double)c[i].n);
        }
}

/*
 * A field of /proc/self/status in bytes (VmRSS, VmPTE: given in kB
 * there), or -1.
 */
static inline long bench_status_bytes(const char *field)
{
    char line[256];
    size_t len = strlen(field);
    long v = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            v = atol(line + len + 1) * 1024;
            break;
        }
    fclose(f);
    return v;
}

#endif
