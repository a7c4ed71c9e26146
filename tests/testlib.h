/* Shared helpers for the Check test programs. */
#ifndef TETHER_TESTLIB_H
#define TETHER_TESTLIB_H

#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
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

/*
 * The sanitizer this program is built with (configure --enable-asan,
 * --enable-tsan), or NULL. A check that a sanitizer legitimately changes
 * (resident memory, mappings, where locals live) is skipped under it
 * with san_skip(), which says so in the test's log.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(TEST_ASAN)
#define TEST_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(TEST_TSAN)
#define TEST_TSAN 1
#endif
#if defined(TEST_ASAN)
#define TEST_SANITIZER "AddressSanitizer"
#elif defined(TEST_TSAN)
#define TEST_SANITIZER "ThreadSanitizer"
#else
#define TEST_SANITIZER NULL
#endif

static inline const char *test_sanitizer(void)
{
    return TEST_SANITIZER;
}

/* Says that one check is skipped under the sanitizer, and why. */
#define san_skip(why) \
    fprintf(stderr, "%s:%d: %s: skipped under %s: %s\n", __FILE__, __LINE__, __func__, \
            test_sanitizer(), why)

/*
 * Under valgrind? Its header, where installed, tells; without it the
 * tests are not run under valgrind by make check-valgrind either.
 */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define test_under_valgrind() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef test_under_valgrind
#define test_under_valgrind() 0
#endif

/*
 * Says that one check, or a whole case, is skipped under valgrind, and
 * why: what valgrind's emulation makes untrue, not the library.
 */
#define vg_skip(why) \
    fprintf(stderr, "%s:%d: %s: skipped under valgrind: %s\n", __FILE__, __LINE__, \
            __func__, why)

/* A loop's count: `native`, or `under_vg` under valgrind (20-50x slower). */
#define VG_COUNT(native, under_vg) (test_under_valgrind() ? (under_vg) : (native))

/*
 * The test reads a fiber's stack below where its frames were, on
 * purpose (what a dead fiber leaves there): memory memcheck has marked
 * inaccessible since those frames returned.
 */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define test_dead_stack_read(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#endif
#endif
#ifndef test_dead_stack_read
#define test_dead_stack_read(p, n) ((void)(p), (void)(n))
#endif

/*
 * Memory the tool itself holds grows over a soak whatever the library
 * does (ASan's quarantine of freed blocks and its fake stacks, TSan's
 * shadow and history, valgrind's bookkeeping): the name of that tool, or
 * NULL if resident memory is the library's and the guest's alone.
 */
static inline const char *test_rss_tool(void)
{
    if (test_sanitizer())
        return test_sanitizer();
    return test_under_valgrind() ? "valgrind" : NULL;
}

/*
 * A soak's resident memory grew by less than `limit` KiB; under a tool
 * that grows it anyway, said and not checked (the soak's other checks
 * still are).
 */
#define ck_assert_rss_growth_lt(grew, limit)                                              \
    do {                                                                                  \
        long grew_ = (grew);                                                              \
        if (test_rss_tool())                                                              \
            fprintf(stderr, "%s:%d: %s: resident memory grew by %ld KiB; not checked "   \
                            "under %s, whose own memory grows\n",                         \
                    __FILE__, __LINE__, __func__, grew_, test_rss_tool());                \
        else                                                                              \
            ck_assert_msg(grew_ < (limit), "resident memory grew by %ld KiB", grew_);      \
    } while (0)

/*
 * Around code whose allocations a test leaks on purpose (a guest killed
 * or passed over while it holds memory): LeakSanitizer is told not to
 * report what this thread allocates in between.
 */
#if defined(TEST_ASAN)
#include <sanitizer/lsan_interface.h>
#define LEAKS_ON_PURPOSE_BEGIN() __lsan_disable()
#define LEAKS_ON_PURPOSE_END() __lsan_enable()
#else
#define LEAKS_ON_PURPOSE_BEGIN() ((void)0)
#define LEAKS_ON_PURPOSE_END() ((void)0)
#endif

/*
 * A function whose locals are on the real stack under ASan too (with
 * detect_stack_use_after_return they would be on a fake stack), for
 * tests about what a fiber leaves on its stack.
 */
#ifdef TEST_ASAN
#define REAL_STACK_LOCALS __attribute__((no_sanitize_address))
#else
#define REAL_STACK_LOCALS
#endif

/*
 * The wait status of a program that dies of a SIGSEGV nobody handles,
 * without tether: death by the signal; under ASan, whose handler is
 * installed before main, its report and exit(1). A fault tether passes
 * on must end the program the same way. Measured once, in a child.
 */
static inline int test_unhandled_segv_status(void)
{
    static int status = -1;
    if (status == -1) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            struct rlimit no_core = {0, 0};
            setrlimit(RLIMIT_CORE, &no_core);
            static volatile char *volatile nowhere = NULL; /* the compiler cannot know */
            (void)*nowhere;
            _exit(0);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        if (!test_sanitizer())
            ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
                          "a plain SIGSEGV ended the program with status %#x", status);
        else
            fprintf(stderr, "under %s an unhandled SIGSEGV ends the program with status %#x\n",
                    test_sanitizer(), status);
    }
    return status;
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

/* Protection of the mapping that holds addr, as in /proc/self/maps ("rw-p"). */
static inline void prot_at(const void *addr, char out[5])
{
    FILE *fp = fopen("/proc/self/maps", "r");
    char line[512], perm[5];
    unsigned long lo, hi;
    strcpy(out, "none");
    ck_assert_ptr_nonnull(fp);
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perm) == 3 &&
            (uintptr_t)addr >= lo && (uintptr_t)addr < hi)
            strcpy(out, perm);
    fclose(fp);
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
