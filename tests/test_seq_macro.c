/*
 * FAULT sequences declared from C (tether/seq.h's macros in extended
 * asm), built at -O0, -O2 and -O3 (three programs from this file): the
 * fixup must find every value the compiler keeps in registers as it
 * expects, whatever the optimiser did around the asm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"

/* *p into *v, or -EFAULT: the fixup is an asm goto label. *pc: the load. */
static inline int load_goto(const long *p, long *v, void **pc)
{
    __asm__ goto("leaq 1f(%%rip), %%r11\n\t"
                 "movq %%r11, (%[pc])\n"
                 "1: movq (%[p]), %%r11\n\t"
                 "movq %%r11, (%[v])\n"
                 "2:\n\t"
                 TETHER_SEQ_ASM_FAULT("1b", "2b", "%l[efault]")
                 : : [p] "r"(p), [v] "r"(v), [pc] "r"(pc) : "r11", "memory" : efault);
    return 0;
efault:
    return -EFAULT;
}

/* *p, or 0 with *err = -EFAULT: the fixup is inside the asm, and sets outputs. */
static inline long load_err(const long *p, int *err)
{
    long v;
    int e = 0;

    __asm__ volatile("1: movq (%[p]), %[v]\n"
                     "2: jmp 4f\n"
                     "3: movl $-14, %[e]\n\t"
                     "xorl %k[v], %k[v]\n"
                     "4:\n\t"
                     TETHER_SEQ_ASM_FAULT("1b", "2b", "3b")
                     : [v] "=r"(v), [e] "+r"(e) : [p] "r"(p) : "memory");
    *err = e;
    return v;
}

/* a / b into *q, or -EFAULT after SIGFPE. */
static int divide(int a, int b, int *q, void **pc)
{
    __asm__ goto("leaq 1f(%%rip), %%r11\n\t"
                 "movq %%r11, (%[pc])\n\t"
                 "movl %[a], %%eax\n"
                 "1: cltd\n\t"
                 "idivl %[b]\n"
                 "2:\n\t"
                 "movl %%eax, (%[q])\n\t"
                 TETHER_SEQ_ASM_FAULT("1b", "2b", "%l[fpe]")
                 : : [a] "r"(a), [b] "r"(b), [q] "r"(q), [pc] "r"(pc)
                 : "rax", "rdx", "r11", "memory" : fpe);
    return 0;
fpe:
    return -EFAULT;
}

/* An illegal instruction, fixed up. */
static int illegal(void **pc)
{
    __asm__ goto("leaq 1f(%%rip), %%r11\n\t"
                 "movq %%r11, (%[pc])\n"
                 "1: ud2\n"
                 "2:\n\t"
                 TETHER_SEQ_ASM_FAULT("1b", "2b", "%l[ill]")
                 : : [pc] "r"(pc) : "r11", "memory" : ill);
    return 0;
ill:
    return -EFAULT;
}

static long page(void)
{
    return sysconf(_SC_PAGESIZE);
}

START_TEST(fault_fixup_goto)
{
    long x = 42, v = 0;
    void *pc = NULL;
    const tether_seq_fault *r = tether_seq_last_fault();
    unsigned long before = r->count;
    tether_seq_range range;

    ck_assert_int_eq(load_goto(&x, &v, &pc), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_uint_eq(r->count, before); /* no fault, nothing recorded */
    ck_assert_int_eq(load_goto(NULL, &v, &pc), -EFAULT);
    ck_assert_int_eq(v, 42);
    ck_assert_uint_eq(r->count, before + 1);
    ck_assert_int_eq(r->signo, SIGSEGV);
    ck_assert_int_eq(r->code, SEGV_MAPERR);
    ck_assert_ptr_null(r->addr);
    ck_assert_ptr_eq(r->pc, pc);
    /* The table knows the range: it starts at the load. */
    ck_assert_int_eq(tether_seq_lookup(pc, TETHER_SEQ_FAULT, &range), 0);
    ck_assert_ptr_eq(range.start, pc);
    ck_assert_ptr_eq(range.response, r->fixup);
    ck_assert_int_eq(range.action, TETHER_SEQ_RESPONSE);
    ck_assert_int_eq(tether_seq_lookup(pc, TETHER_SEQ_INTERRUPT, NULL), -ENOENT);
}
END_TEST

START_TEST(fault_fixup_in_asm)
{
    long x = 7;
    int err = 1;

    ck_assert_int_eq(load_err(&x, &err), 7);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(load_err((const long *)16, &err), 0);
    ck_assert_int_eq(err, -EFAULT);
    ck_assert_ptr_eq(tether_seq_last_fault()->addr, (void *)16);
}
END_TEST

/*
 * Values the compiler keeps in registers across the faulting asm (many
 * at once, so callee-saved ones too) are intact after the fixup.
 */
static OPAQUE long opaque(long v)
{
    return v;
}

START_TEST(registers_survive_the_fixup)
{
    long a = opaque(1), b = opaque(2), c = opaque(3), d = opaque(4), e = opaque(5);
    long f = opaque(6), g = opaque(7), h = opaque(8), i = opaque(9), j = opaque(10);
    long sum = 0, v;
    int err;

    for (int k = 0; k < 100; k++) {
        v = load_err(k % 2 ? NULL : &a, &err);
        sum += v + a * 1 + b * 2 + c * 3 + d * 4 + e * 5 + f * 6 + g * 7 + h * 8 + i * 9 + j * 10;
        ck_assert_int_eq(err, k % 2 ? -EFAULT : 0);
    }
    /* 100 * 385, plus the 50 successful loads of a (1). */
    ck_assert_int_eq(sum, 100 * 385 + 50);
}
END_TEST

START_TEST(sigfpe_and_sigill)
{
    int q = 0;
    void *pc = NULL;
    const tether_seq_fault *r = tether_seq_last_fault();

    ck_assert_int_eq(divide(42, 6, &q, &pc), 0);
    ck_assert_int_eq(q, 7);
    ck_assert_int_eq(divide(42, 0, &q, &pc), -EFAULT);
    ck_assert_int_eq(r->signo, SIGFPE);
    ck_assert_int_eq(r->code, FPE_INTDIV);
    /* cltd then idivl: the pc is the division, one instruction past the label. */
    ck_assert_ptr_eq(r->pc, (char *)pc + 1);
    ck_assert_ptr_eq(r->addr, r->pc);
    ck_assert_int_eq(illegal(&pc), -EFAULT);
    ck_assert_int_eq(r->signo, SIGILL);
    ck_assert_int_eq(r->code, ILL_ILLOPN);
    ck_assert_ptr_eq(r->pc, pc);
}
END_TEST

/* SIGBUS: a mapped file's page beyond its end. */
START_TEST(sigbus)
{
    int fd = memfd_create("tether-seq", 0);
    long v = 0;
    void *pc;
    long *m;

    ck_assert_int_ge(fd, 0);
    m = mmap(NULL, page(), PROT_READ, MAP_SHARED, fd, 0); /* the file is empty */
    ck_assert_ptr_ne(m, MAP_FAILED);
    ck_assert_int_eq(load_goto(m, &v, &pc), -EFAULT);
    ck_assert_int_eq(tether_seq_last_fault()->signo, SIGBUS);
    ck_assert_int_eq(tether_seq_last_fault()->code, BUS_ADRERR);
    ck_assert_ptr_eq(tether_seq_last_fault()->addr, m);
    munmap(m, page());
    close(fd);
}
END_TEST

/*
 * A probe inside a fixup: the fixup runs as ordinary code, so it may
 * fault again (a probe, another sequence) and be fixed up again.
 */
static int load_then_probe(const long *p, long *v, int *probe_result)
{
    void *pc;
    char buf[8];

    __asm__ goto("1: movq (%[p]), %%r11\n\t"
                 "movq %%r11, (%[v])\n"
                 "2:\n\t"
                 TETHER_SEQ_ASM_FAULT("1b", "2b", "%l[efault]")
                 : : [p] "r"(p), [v] "r"(v) : "r11", "memory" : efault);
    return 0;
efault:
    pc = tether_seq_last_fault()->pc; /* read before the probe rewrites it */
    *probe_result = tether_probe_read(buf, (const char *)p + 8, sizeof buf, NULL);
    /* The fixup can fault in a sequence of its own too. */
    if (load_goto(p, v, &pc) != -EFAULT)
        return -EINVAL;
    return -EFAULT;
}

START_TEST(probe_inside_a_fixup)
{
    long v = 0;
    int pr = 1;
    const tether_seq_fault *r = tether_seq_last_fault();
    unsigned long before = r->count;

    ck_assert_int_eq(load_then_probe(NULL, &v, &pr), -EFAULT);
    ck_assert_int_eq(pr, -EFAULT);
    /* The load, the probe (its fast path, then its byte retry), the second load. */
    ck_assert_uint_eq(r->count, before + 4);
    ck_assert_ptr_null(r->addr);
}
END_TEST

/* Many faults: no memory or descriptor grows. */
START_TEST(many_faults_leak_nothing)
{
    long v;
    int err;
    int fds = open_fds();
    long rss;

    for (int i = 0; i < 1000; i++)
        load_err(NULL, &err);
    rss = resident_kib();
    for (int i = 0; i < 100000; i++) {
        v = load_err((const long *)(uintptr_t)(8 * (i % 512)), &err);
        ck_assert_int_eq(err, -EFAULT);
        ck_assert_int_eq(v, 0);
    }
    ck_assert_rss_growth_lt(resident_kib() - rss, 257);
    ck_assert_int_eq(open_fds(), fds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("seq_macro");
    TCase *tc = tcase_create("fault");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fault_fixup_goto);
    tcase_add_test(tc, fault_fixup_in_asm);
    tcase_add_test(tc, registers_survive_the_fixup);
    tcase_add_test(tc, sigfpe_and_sigill);
    tcase_add_test(tc, sigbus);
    tcase_add_test(tc, probe_inside_a_fixup);
    tcase_add_test(tc, many_faults_leak_nothing);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
