/* Shared helpers for the Check test programs. */
#ifndef TETHER_TESTLIB_H
#define TETHER_TESTLIB_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <tether.h>
#include <unistd.h>

/*
 * A function the optimiser must treat as opaque: not inlined, not cloned,
 * nothing inferred about it by its callers.
 */
#if defined(__clang__)
#define OPAQUE __attribute__((noinline, optnone))
#else
#define OPAQUE __attribute__((noipa))
#endif

/*
 * A real integer division by zero (SIGFPE, FPE_INTDIV). In assembly: a
 * compiler may fold or drop a C division by zero, with link-time
 * optimisation even through a volatile divisor whose quotient is unused.
 */
static inline __attribute__((always_inline)) int divide_by_zero(void)
{
    int q, d = 0;
    __asm__ volatile("cltd\n\tidivl %2" : "=a"(q) : "a"(7), "r"(d) : "rdx");
    return q;
}

/* Creates a fiber with default options or fails the test. */
static inline tether_fiber *make_fiber(tether_fn fn, void *arg)
{
    tether_fiber *f = NULL;
    int err = tether_fiber_create(&f, fn, arg, NULL);
    ck_assert_msg(err == 0, "tether_fiber_create: %s", tether_strerror(err));
    ck_assert_ptr_nonnull(f);
    return f;
}

/* This process's resident memory, in KiB (from /proc/self/statm). */
static inline long resident_kib(void)
{
    long pages = 0, rss = 0;
    FILE *fp = fopen("/proc/self/statm", "r");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fscanf(fp, "%ld %ld", &pages, &rss), 2);
    fclose(fp);
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* How many file descriptors this process has open. */
static inline int open_fds(void)
{
    int n = 0;
    char path[64];
    for (int fd = 0; fd < 4096; fd++) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        n += access(path, F_OK) == 0;
    }
    return n;
}

/* Runs one suite and exits with its verdict. */
static inline int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
