/*
 * Stacks: guard regions by both methods, page rounding, a real overflow
 * into the guard (in a child process, with tether's handler taken away),
 * reuse through the pool, and 100,000 create/run/destroy cycles without
 * growth in mapped memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

/* Number of mappings in this process and total mapped bytes. */
static void maps(long *count, long *bytes)
{
    FILE *fp = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned long lo, hi;
    *count = 0;
    *bytes = 0;
    ck_assert_ptr_nonnull(fp);
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
            (*count)++;
            *bytes += (long)(hi - lo);
        }
    fclose(fp);
}

static void *noop(void *arg, void *in)
{
    (void)arg;
    return in;
}

/* With mprotect the guard is a PROT_NONE mapping of its own. */
START_TEST(test_mprotect_guard_is_its_own_mapping)
{
    tether_fiber_opts o = {.flags = TETHER_FIBER_GUARD_MPROTECT};
    tether_fiber *f;
    void *lo;
    char perm[5];
    ck_assert_int_eq(tether_fiber_create(&f, noop, NULL, &o), 0);
    tether_fiber_stack(f, &lo, NULL);
    prot_at((char *)lo - 1, perm);
    ck_assert_str_eq(perm, "---p");
    prot_at(lo, perm);
    ck_assert_str_eq(perm, "rw-p");
    tether_fiber_destroy(f);
}
END_TEST

/* MADV_GUARD_INSTALL (when the kernel has it) leaves one rw mapping. */
START_TEST(test_madvise_guard_keeps_one_mapping)
{
    tether_fiber *f;
    long before, after, b0, b1;
    void *lo;
    char perm[5];
    tether_fiber_destroy(make_fiber(noop, NULL)); /* the first stack decides the method */
    maps(&before, &b0);
    ck_assert_int_eq(tether_fiber_create(&f, noop, NULL, NULL), 0);
    maps(&after, &b1);
    tether_fiber_stack(f, &lo, NULL);
    prot_at((char *)lo - 1, perm);
    if (strcmp(perm, "---p") == 0) {
        /* An old kernel: the fallback ran. Still one guard, still split. */
        fprintf(stderr, "note: this kernel has no MADV_GUARD_INSTALL; mprotect used\n");
        ck_assert_int_eq(after - before, 2);
    } else {
        ck_assert_str_eq(perm, "rw-p");
        ck_assert_int_le(after - before, 1);
    }
    tether_fiber_destroy(f);
}
END_TEST

/* The guard really faults, by either method: a child touches it and dies. */
static void touch_guard(unsigned flags)
{
    tether_fiber_opts o = {.flags = flags};
    tether_fiber *f;
    void *lo;
    int status;
    pid_t pid;
    ck_assert_int_eq(tether_fiber_create(&f, noop, NULL, &o), 0);
    tether_fiber_stack(f, &lo, NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        ((volatile char *)lo)[-1] = 1; /* the last byte of the guard */
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
                  "writing the guard did not fault (status %#x)", status);
    ((volatile char *)lo)[0] = 1; /* the lowest usable byte is writable */
    tether_fiber_destroy(f);
}

START_TEST(test_guard_faults_madvise)
{
    touch_guard(0);
}
END_TEST

START_TEST(test_guard_faults_mprotect)
{
    touch_guard(TETHER_FIBER_GUARD_MPROTECT);
}
END_TEST

/*
 * A real overflow on the fiber hits the guard: with tether's handler
 * taken away (child process), the guard alone stops it. test_fault.c
 * checks what tether makes of it with the handler in place.
 */
static unsigned overflow(unsigned n)
{
    volatile char pad[1024];
    pad[0] = (char)n;
    if (n == UINT32_MAX) /* never: the guard stops it long before */
        return 0;
    return overflow(n + 1) + pad[0];
}

static void *overflow_entry(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return (void *)(uintptr_t)overflow(0);
}

START_TEST(test_overflow_hits_guard)
{
    int status;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        tether_fiber_opts o = {.stack_size = 64 * 1024};
        tether_fiber *f;
        if (tether_fiber_create(&f, overflow_entry, NULL, &o) != 0)
            _exit(2);
        signal(SIGSEGV, SIG_DFL);
        tether_fiber_resume(f, NULL, NULL);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
                  "overflow did not die of SIGSEGV (status %#x)", status);
}
END_TEST

/* TETHER_GUARD=mprotect in the environment forces the fallback for all stacks. */
START_TEST(test_env_forces_mprotect)
{
    int status;
    pid_t pid;
    if (test_under_valgrind()) {
        /* There /proc/self/exe is valgrind's tool, which will not run alone. */
        fprintf(stderr, "%s: not checked under valgrind (no exec of /proc/self/exe)\n", __func__);
        return;
    }
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* A fresh exec, so the library probes its method anew. */
        setenv("TETHER_GUARD", "mprotect", 1);
        execl("/proc/self/exe", "test_stack", "--guard-probe", (char *)NULL);
        _exit(3);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "with TETHER_GUARD=mprotect the guard was not a PROT_NONE mapping (%#x)",
                  status);
}
END_TEST

/* --guard-probe: exit 0 if a default stack's guard is a PROT_NONE mapping. */
static int guard_probe(void)
{
    FILE *fp;
    char line[512], perm[5] = "";
    unsigned long lo, hi;
    tether_fiber *f;
    void *stack_lo;
    if (tether_fiber_create(&f, noop, NULL, NULL) != 0)
        return 2;
    tether_fiber_stack(f, &stack_lo, NULL);
    if (!(fp = fopen("/proc/self/maps", "r")))
        return 2;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perm) == 3 &&
            (uintptr_t)stack_lo - 1 >= lo && (uintptr_t)stack_lo - 1 < hi)
            break;
    fclose(fp);
    return strcmp(perm, "---p") == 0 ? 0 : 1;
}

/*
 * 100,000 cycles: mapped memory and the mapping count return to where
 * they were. Fibers live in batches larger than the stack pool, so
 * stacks are both reused and really mapped and unmapped.
 */
#define BATCH 40

static void cycles(unsigned flags)
{
    tether_fiber_opts o = {.flags = flags};
    tether_fiber *f[BATCH];
    long n0, b0, n1, b1;
    for (int i = 0; i < BATCH; i++) /* warm up malloc, the probe, the pool */
        ck_assert_int_eq(tether_fiber_create(&f[i], noop, NULL, &o), 0);
    for (int i = 0; i < BATCH; i++)
        tether_fiber_destroy(f[i]);
    maps(&n0, &b0);
    for (uintptr_t i = 0; i < 100000; i += BATCH) {
        void *out;
        for (int j = 0; j < BATCH; j++)
            ck_assert_int_eq(tether_fiber_create(&f[j], noop, NULL, &o), 0);
        for (uintptr_t j = 0; j < BATCH; j++) {
            ck_assert_int_eq(tether_fiber_resume(f[j], (void *)(i + j), &out),
                             TETHER_RETURNED);
            ck_assert_ptr_eq(out, (void *)(i + j));
        }
        for (int j = 0; j < BATCH; j++)
            ck_assert_int_eq(tether_fiber_destroy(f[j]), 0);
    }
    maps(&n1, &b1);
    if (test_rss_tool()) /* its allocator maps regions of its own as it goes */
        fprintf(stderr, "%s: %ld more mappings; the count not checked under %s\n", __func__,
                n1 - n0, test_rss_tool());
    else
        ck_assert_int_le(n1, n0 + 2);
    if (test_under_valgrind()) /* its own maps (translations, shadow) are in the list */
        fprintf(stderr, "%s: %ld more bytes mapped; not checked under valgrind\n", __func__,
                b1 - b0);
    else
        ck_assert_int_le(b1, b0 + 1024 * 1024); /* malloc arena slack at most */
}

START_TEST(test_100k_cycles_no_growth)
{
    cycles(0);
}
END_TEST

START_TEST(test_100k_cycles_no_growth_mprotect)
{
    cycles(TETHER_FIBER_GUARD_MPROTECT);
}
END_TEST

/*
 * A destroyed fiber's stack goes to the next fiber of its size; with
 * TETHER_FIBER_CLEAN_STACK, emptied.
 */
REAL_STACK_LOCALS static void *scribble(void *arg, void *in)
{
    volatile char buf[16 * 1024];
    (void)arg;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)0xa5;
    return in;
}

START_TEST(test_stack_reused_and_emptied)
{
    tether_fiber_opts o = {.stack_size = 64 * 1024, .flags = TETHER_FIBER_CLEAN_STACK};
    tether_fiber *f, *g;
    void *lo1, *hi1, *lo2, *hi2;
    ck_assert_int_eq(tether_fiber_create(&f, scribble, NULL, &o), 0);
    tether_fiber_stack(f, &lo1, &hi1);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_RETURNED);
    tether_fiber_destroy(f);
    ck_assert_int_eq(tether_fiber_create(&g, noop, NULL, &o), 0);
    tether_fiber_stack(g, &lo2, &hi2);
    ck_assert_ptr_eq(lo1, lo2); /* the same stack... */
    ck_assert_ptr_eq(hi1, hi2);
    test_dead_stack_read(lo2, (size_t)((char *)hi2 - (char *)lo2));
    for (char *p = lo2; p < (char *)hi2 - 4096; p++) /* ...with nothing left */
        ck_assert_int_eq(*p, 0);
    /* Without the flag, the same stack, as the last fiber left it. */
    tether_fiber_destroy(g);
    o.flags = 0;
    ck_assert_int_eq(tether_fiber_create(&f, scribble, NULL, &o), 0);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_RETURNED);
    tether_fiber_destroy(f);
    ck_assert_int_eq(tether_fiber_create(&g, noop, NULL, &o), 0);
    tether_fiber_stack(g, &lo2, &hi2);
    ck_assert_ptr_eq(lo1, lo2);
    test_dead_stack_read(lo2, (size_t)((char *)hi2 - (char *)lo2));
    ck_assert_int_eq(((volatile char *)hi2)[-8192], (char)0xa5); /* inside scribble's buffer */
    /* Another size does not take it. */
    o.stack_size = 128 * 1024;
    ck_assert_int_eq(tether_fiber_create(&f, noop, NULL, &o), 0);
    tether_fiber_stack(f, &lo1, NULL);
    ck_assert_ptr_ne(lo1, lo2);
    tether_fiber_destroy(f);
    tether_fiber_destroy(g);
}
END_TEST

START_TEST(test_sizes_rounded_to_pages)
{
    tether_fiber_opts o = {.stack_size = TETHER_STACK_SIZE_MIN + 1, .guard_size = 1};
    tether_fiber *f;
    void *lo, *hi;
    long page = sysconf(_SC_PAGESIZE);
    char perm[5];
    ck_assert_int_eq(tether_fiber_create(&f, noop, NULL, &o), 0);
    tether_fiber_stack(f, &lo, &hi);
    ck_assert_int_ge((char *)hi - (char *)lo, TETHER_STACK_SIZE_MIN + page);
    ck_assert_int_lt((char *)hi - (char *)lo, TETHER_STACK_SIZE_MIN + 2 * page);
    tether_fiber_destroy(f);
    o.flags = TETHER_FIBER_GUARD_MPROTECT;
    ck_assert_int_eq(tether_fiber_create(&f, noop, NULL, &o), 0);
    tether_fiber_stack(f, &lo, NULL);
    prot_at((char *)lo - page, perm); /* one page of guard ... */
    ck_assert_str_eq(perm, "---p");
    prot_at((char *)lo - page - 1, perm); /* ... and no more */
    ck_assert_str_ne(perm, "---p");
    tether_fiber_destroy(f);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--guard-probe") == 0)
        return guard_probe();
    Suite *s = suite_create("stack");
    TCase *guard = tcase_create("guard");
    TCase *soak = tcase_create("soak");
    tcase_add_test(guard, test_mprotect_guard_is_its_own_mapping);
    tcase_add_test(guard, test_madvise_guard_keeps_one_mapping);
    tcase_add_test(guard, test_guard_faults_madvise);
    tcase_add_test(guard, test_guard_faults_mprotect);
    tcase_add_test(guard, test_overflow_hits_guard);
    tcase_add_test(guard, test_env_forces_mprotect);
    tcase_add_test(guard, test_sizes_rounded_to_pages);
    tcase_add_test(guard, test_stack_reused_and_emptied);
    suite_add_tcase(s, guard);
    tcase_add_test(soak, test_100k_cycles_no_growth);
    tcase_add_test(soak, test_100k_cycles_no_growth_mprotect);
    tcase_set_timeout(soak, 120);
    suite_add_tcase(s, soak);
    return run_suite(s);
}
