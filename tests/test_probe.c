/*
 * Safe memory probes (tether/probe.h): -EFAULT and the exact count done
 * on memory that is not there, the right bytes on memory that is; from
 * the main thread, other threads, fibers and signal handlers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"

static size_t page(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * Two pages, the first readable and writable and filled with a
 * pattern, the second gone (unmapped, or PROT_NONE): returns the first
 * page's end, where the memory stops.
 */
static char *edge(int prot_none)
{
    char *m = mmap(NULL, 2 * page(), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    ck_assert_ptr_ne(m, MAP_FAILED);
    for (size_t i = 0; i < page(); i++)
        m[i] = (char)(i * 7 + 1); /* never 0 */
    if (prot_none)
        ck_assert_int_eq(mprotect(m + page(), page(), PROT_NONE), 0);
    else
        ck_assert_int_eq(munmap(m + page(), page()), 0);
    return m + page();
}

static void edge_free(char *end)
{
    munmap(end - page(), 2 * page()); /* the second page may be gone: fine */
}

/* The sizes every copy test goes through: each path and its edges. */
static const size_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64,
                               65, 100, 127, 128, 200, 1000, 2047, 2048, 2049, 3000, 4096};
#define NSIZES (sizeof sizes / sizeof sizes[0])

START_TEST(null_pointers)
{
    char buf[64];
    size_t done = 99, len = 99;

    for (size_t k = 0; k < NSIZES; k++) {
        size_t n = sizes[k] < sizeof buf ? sizes[k] : sizeof buf;
        if (n == 0)
            continue;
        done = 99;
        ck_assert_int_eq(tether_probe_read(buf, NULL, n, &done), -EFAULT);
        ck_assert_uint_eq(done, 0);
        done = 99;
        ck_assert_int_eq(tether_probe_write(NULL, buf, n, &done), -EFAULT);
        ck_assert_uint_eq(done, 0);
    }
    ck_assert_int_eq(tether_probe_strnlen(NULL, 10, &len), -EFAULT);
    ck_assert_uint_eq(len, 0);
    /* Nothing to do is not a fault, and done may be NULL. */
    ck_assert_int_eq(tether_probe_read(buf, NULL, 0, &done), 0);
    ck_assert_uint_eq(done, 0);
    ck_assert_int_eq(tether_probe_read(buf, NULL, 8, NULL), -EFAULT);
    ck_assert_int_eq(tether_probe_strnlen(NULL, 0, &len), 0);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(tether_seq_last_fault()->signo, SIGSEGV);
}
END_TEST

START_TEST(valid_memory_copies_exactly)
{
    static char src[4096 + 64], dst[4096 + 128];
    size_t done;

    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (char)(i * 131 + 17);
    for (size_t k = 0; k < NSIZES; k++)
        for (size_t sa = 0; sa < 16; sa += 5)
            for (size_t da = 0; da < 16; da += 3) {
                size_t n = sizes[k];
                memset(dst, 0x5a, sizeof dst);
                done = 12345;
                ck_assert_int_eq(tether_probe_copy(dst + 32 + da, src + sa, n, &done), 0);
                ck_assert_uint_eq(done, n);
                ck_assert_int_eq(memcmp(dst + 32 + da, src + sa, n), 0);
                /* Not a byte outside [dst, dst + n). */
                for (size_t i = 0; i < 32 + da; i++)
                    ck_assert_int_eq(dst[i], 0x5a);
                for (size_t i = 32 + da + n; i < sizeof dst; i++)
                    ck_assert_int_eq(dst[i], 0x5a);
            }
}
END_TEST

/*
 * Reads that run off the end of the memory, for every size and every
 * distance to the end: exactly the bytes that are there are copied and
 * counted.
 */
static void read_across(int prot_none)
{
    char *end = edge(prot_none);
    static char dst[4096 + 16];
    size_t done;

    for (size_t k = 0; k < NSIZES; k++)
        for (size_t off = 0; off <= 40; off++) {
            size_t n = sizes[k], want = n < off ? n : off;
            int r;

            memset(dst, 0, sizeof dst);
            done = 12345;
            r = tether_probe_read(dst, end - off, n, &done);
            ck_assert_msg(r == (n <= off ? 0 : -EFAULT), "n %zu off %zu: %d", n, off, r);
            ck_assert_msg(done == want, "n %zu off %zu: done %zu", n, off, done);
            ck_assert_int_eq(memcmp(dst, end - off, want), 0);
            if (r == -EFAULT) {
                ck_assert_ptr_eq(tether_seq_last_fault()->addr, end);
                ck_assert_int_eq(tether_seq_last_fault()->code,
                                 prot_none ? SEGV_ACCERR : SEGV_MAPERR);
            }
        }
    edge_free(end);
}

START_TEST(read_across_a_missing_page)
{
    read_across(0);
}
END_TEST

START_TEST(read_across_a_guard_page)
{
    read_across(1);
}
END_TEST

/* Writes that run off the end: the same, on the destination side. */
START_TEST(write_across_a_missing_page)
{
    char *end = edge(0);
    static char src[4096];
    size_t done;

    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (char)(i + 3);
    for (size_t k = 0; k < NSIZES; k++)
        for (size_t off = 0; off <= 40; off += 3) {
            size_t n = sizes[k], want = n < off ? n : off;
            memset(end - 64, 0, 64);
            done = 12345;
            ck_assert_int_eq(tether_probe_write(end - off, src, n, &done),
                             n <= off ? 0 : -EFAULT);
            ck_assert_uint_eq(done, want);
            ck_assert_int_eq(memcmp(end - off, src, want), 0);
        }
    edge_free(end);
}
END_TEST

/* A read-only page is a fault for a write, not for a read. */
START_TEST(write_to_read_only_memory)
{
    char *m = mmap(NULL, page(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char buf[32] = "abc";
    size_t done = 9;

    ck_assert_ptr_ne(m, MAP_FAILED);
    ck_assert_int_eq(tether_probe_write(m, buf, sizeof buf, &done), -EFAULT);
    ck_assert_uint_eq(done, 0);
    ck_assert_int_eq(tether_seq_last_fault()->code, SEGV_ACCERR);
    ck_assert_int_eq(tether_probe_read(buf, m, sizeof buf, &done), 0);
    ck_assert_uint_eq(done, sizeof buf);
    munmap(m, page());
}
END_TEST

/* A mapping that was freed. */
START_TEST(freed_mapping)
{
    char *m = mmap(NULL, 4 * page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char buf[256];
    size_t done = 9, len = 9;

    ck_assert_ptr_ne(m, MAP_FAILED);
    memset(m, 'x', 4 * page());
    ck_assert_int_eq(tether_probe_read(buf, m + 100, sizeof buf, &done), 0);
    munmap(m, 4 * page());
    ck_assert_int_eq(tether_probe_read(buf, m + 100, sizeof buf, &done), -EFAULT);
    ck_assert_uint_eq(done, 0);
    ck_assert_int_eq(tether_probe_write(m + 3 * page(), buf, 5000, &done), -EFAULT);
    ck_assert_uint_eq(done, 0);
    ck_assert_int_eq(tether_probe_strnlen(m, 100, &len), -EFAULT);
    ck_assert_uint_eq(len, 0);
}
END_TEST

/* A mapped file's page past its end (SIGBUS). */
START_TEST(past_the_end_of_a_file)
{
    int fd = memfd_create("tether-probe", 0);
    char buf[64];
    size_t done = 9;
    char *m;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 10), 0);
    m = mmap(NULL, 2 * page(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(m, MAP_FAILED);
    memset(m, 'f', 10);
    /* The first page exists (a file shorter than a page is zero-filled to
       its end); the second lies wholly past the end of the file. */
    ck_assert_int_eq(tether_probe_read(buf, m + page() - 20, 40, &done), -EFAULT);
    ck_assert_uint_eq(done, 20);
    ck_assert_int_eq(tether_seq_last_fault()->signo, SIGBUS);
    munmap(m, 2 * page());
    close(fd);
}
END_TEST

START_TEST(strnlen_exact)
{
    char *end = edge(0);
    size_t len;

    /* No 0 before the missing page: the count is every byte there. */
    for (size_t off = 1; off <= 64; off++) {
        len = 12345;
        ck_assert_int_eq(tether_probe_strnlen(end - off, 1000, &len), -EFAULT);
        ck_assert_uint_eq(len, off);
        /* A max that stops before the end: no fault. */
        ck_assert_int_eq(tether_probe_strnlen(end - off, off, &len), 0);
        ck_assert_uint_eq(len, off);
        ck_assert_int_eq(tether_probe_strnlen(end - off, off - 1, &len), 0);
        ck_assert_uint_eq(len, off - 1);
    }
    /* A 0 before the end. */
    end[-3] = 0;
    for (size_t off = 3; off <= 40; off++) {
        ck_assert_int_eq(tether_probe_strnlen(end - off, 1000, &len), 0);
        ck_assert_uint_eq(len, off - 3);
    }
    ck_assert_int_eq(tether_probe_strnlen("", 5, &len), 0);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(tether_probe_strnlen("hello, world", 100, &len), 0);
    ck_assert_uint_eq(len, 12);
    ck_assert_int_eq(tether_probe_strnlen("hello, world", 5, NULL), 0);
    edge_free(end);
}
END_TEST

/* From a fiber: its own guard page too, at depth. */
static int probe_guard(tether_fiber *f, int depth)
{
    void *lo, *hi;
    char buf[16];
    size_t done = 9;
    int r;

    if (depth > 0) {
        volatile char pad[256];
        pad[0] = (char)depth;
        r = probe_guard(f, depth - 1);
        return r + pad[0] - (char)depth;
    }
    ck_assert_int_eq(tether_fiber_stack(f, &lo, &hi), 0);
    /* The word below the usable stack lies in the guard. */
    r = tether_probe_read(buf, (char *)lo - 8, 16, &done);
    ck_assert_uint_eq(done, 0);
    return r;
}

static void *on_fiber(void *arg, void *in)
{
    char *end = arg;
    char buf[64];
    size_t done = 9;

    (void)in;
    if (tether_probe_read(buf, NULL, 8, &done) != -EFAULT || done != 0)
        return "null";
    if (tether_probe_read(buf, end - 10, sizeof buf, &done) != -EFAULT || done != 10)
        return "edge";
    if (probe_guard(tether_current(), 50) != -EFAULT)
        return "guard";
    if (tether_probe_read(buf, end - 64, sizeof buf, &done) != 0 || done != 64)
        return "valid";
    return "ok";
}

START_TEST(on_a_fiber)
{
    /* PROT_NONE: creating the fiber maps memory, which could fill a hole */
    char *end = edge(1);
    tether_fiber *f = make_fiber(on_fiber, end);
    void *out = NULL;

    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_str_eq(out, "ok");
    tether_fiber_destroy(f);
    edge_free(end);
}
END_TEST

/* The host probes a fiber's guard from outside the fiber. */
START_TEST(a_fibers_guard_from_the_host)
{
    tether_fiber *f = make_fiber(on_fiber, NULL);
    void *lo, *hi;
    char buf[8];
    size_t done = 9;

    ck_assert_int_eq(tether_fiber_stack(f, &lo, &hi), 0);
    ck_assert_int_eq(tether_probe_read(buf, (char *)lo - 4, 8, &done), -EFAULT);
    ck_assert_uint_eq(done, 0);
    tether_fiber_destroy(f);
}
END_TEST

/* From a signal handler, on the alternate stack and off it. */
static char *handler_end;
static volatile int handler_ok;

static void on_usr1(int sig)
{
    char buf[32];
    size_t done = 9, len = 9;
    int ok = 1;

    (void)sig;
    ok &= tether_probe_read(buf, NULL, 8, &done) == -EFAULT && done == 0;
    ok &= tether_probe_read(buf, handler_end - 5, sizeof buf, &done) == -EFAULT && done == 5;
    ok &= tether_probe_read(buf, handler_end - 32, sizeof buf, &done) == 0 && done == 32;
    ok &= tether_probe_strnlen(handler_end - 7, 100, &len) == -EFAULT && len == 7;
    handler_ok += ok;
}

START_TEST(in_a_signal_handler)
{
    struct sigaction sa;
    stack_t ss;

    handler_end = edge(0);
    ck_assert_int_eq(tether_seq_install(), 0); /* before any handler probes */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    for (int i = 0; i < 10; i++)
        raise(SIGUSR1);
    ck_assert_int_eq(handler_ok, 10);
    /* On an alternate signal stack. */
    ss.ss_sp = malloc(64 * 1024);
    ss.ss_size = 64 * 1024;
    ss.ss_flags = 0;
    ck_assert_int_eq(sigaltstack(&ss, NULL), 0);
    sa.sa_flags = SA_ONSTACK;
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    for (int i = 0; i < 10; i++)
        raise(SIGUSR1);
    ck_assert_int_eq(handler_ok, 20);
    edge_free(handler_end);
}
END_TEST

/* Many threads at once, faulting and not. */
static void *prober(void *arg)
{
    char *end = arg;
    char buf[128];
    size_t done;
    long bad = 0;

    for (int i = 0; i < 20000; i++) {
        size_t off = (size_t)(i % 100);
        int r = tether_probe_read(buf, end - off, sizeof buf / 2, &done);
        size_t want = off < sizeof buf / 2 ? off : sizeof buf / 2;
        bad += done != want || (r == 0) != (off >= sizeof buf / 2);
    }
    return (void *)bad;
}

START_TEST(many_threads)
{
    /*
     * A PROT_NONE page, not a hole: another thread's mmap (ASan's
     * allocator's, for one) may fill a hole while the probes run.
     */
    char *end = edge(1);
    pthread_t t[4];
    void *bad;

    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, prober, end), 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], &bad), 0);
        ck_assert_ptr_null(bad);
    }
    edge_free(end);
}
END_TEST

/* 100,000 probes, half of them faulting: no memory or descriptor grows. */
START_TEST(no_leaks)
{
    char *end = edge(0);
    char buf[64];
    size_t done, len;
    int fds;
    long rss;

    for (int i = 0; i < 1000; i++)
        tether_probe_read(buf, end - 8, sizeof buf, &done);
    fds = open_fds();
    rss = resident_kib();
    for (int i = 0; i < 100000; i++) {
        ck_assert_int_eq(tether_probe_read(buf, end - (i % 2 ? 8 : 64), sizeof buf, &done),
                         i % 2 ? -EFAULT : 0);
        if (i % 10 == 0)
            ck_assert_int_eq(tether_probe_strnlen(end - 5, 100, &len), -EFAULT);
    }
    ck_assert_rss_growth_lt(resident_kib() - rss, 257);
    ck_assert_int_eq(open_fds(), fds);
    edge_free(end);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("probe");
    TCase *tc = tcase_create("probe");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, null_pointers);
    tcase_add_test(tc, valid_memory_copies_exactly);
    tcase_add_test(tc, read_across_a_missing_page);
    tcase_add_test(tc, read_across_a_guard_page);
    tcase_add_test(tc, write_across_a_missing_page);
    tcase_add_test(tc, write_to_read_only_memory);
    tcase_add_test(tc, freed_mapping);
    tcase_add_test(tc, past_the_end_of_a_file);
    tcase_add_test(tc, strnlen_exact);
    tcase_add_test(tc, on_a_fiber);
    tcase_add_test(tc, a_fibers_guard_from_the_host);
    tcase_add_test(tc, in_a_signal_handler);
    tcase_add_test(tc, many_threads);
    tcase_add_test(tc, no_leaks);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
