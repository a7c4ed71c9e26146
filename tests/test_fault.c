/*
 * Faults on fibers: the fault matrix (every kind of fault x where it
 * happens), what the fault record says, the report, stack overflow and
 * reuse of the stack, and a fiber's host surviving it all.
 *
 * Every fault here is real: a NULL dereference, a read past the end of a
 * truncated file mapping, ud2, an integer division by zero, a runaway
 * recursion into the guard. The functions that fault are exported
 * (-export-dynamic) so that the report can name them.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "faults.h"
#include "testlib.h"

/* ------------------------------------------------------------ the faults */


OPAQUE int do_fault(int kind)
{
    if (kind == TETHER_FAULT_STACK_OVERFLOW)
        return (int)fault_overflow(0);
    return faults[kind]();
}

/* ------------------------------------------------------- where it happens */

/* A guest that faults in its own code. */
OPAQUE void *guest_faults(void *arg, void *in)
{
    (void)in;
    return (void *)(intptr_t)do_fault((int)(intptr_t)arg);
}

/* A host function the guest calls, which faults while it runs on the fiber. */
OPAQUE int host_function(int kind)
{
    int r;
    tether_host_enter();
    r = do_fault(kind);
    tether_host_leave();
    return r;
}

OPAQUE void *guest_calls_host(void *arg, void *in)
{
    (void)in;
    return (void *)(intptr_t)host_function((int)(intptr_t)arg);
}

/* An outer fiber whose nested fiber faults; it returns what it saw. */
struct nested {
    int kind;
    int inner_result;
    tether_fault inner_fault;
};

static void *outer_fiber(void *arg, void *in)
{
    struct nested *n = arg;
    tether_fiber *inner;
    (void)in;
    if (tether_fiber_create(&inner, guest_faults, (void *)(intptr_t)n->kind,
                            NULL) != 0)
        return (void *)-1;
    n->inner_result = tether_fiber_resume(inner, NULL, NULL);
    if (n->inner_result == TETHER_FAULTED)
        n->inner_fault = *tether_fiber_fault(inner);
    tether_fiber_destroy(inner);
    return (void *)(intptr_t)(tether_current() != NULL);
}

/* ------------------------------------------------------------- checking */

/* Is addr inside the function that starts at fn (as dladdr sees it)? */
static int in_function(void *addr, void *fn)
{
    Dl_info di;
    return dladdr(addr, &di) && di.dli_saddr == fn;
}

static int frames_contain(const tether_fault *r, void *fn)
{
    for (int i = 0; i < r->nframes; i++)
        if (in_function(i ? (char *)r->frames[i] - 1 : r->frames[i], fn))
            return 1;
    return 0;
}

/* What every fault record of `kind` must say, wherever it happened. */
static void check_record(const tether_fault *r, int kind, void *stack_lo,
                         void *stack_hi)
{
    void *fn = kind == TETHER_FAULT_STACK_OVERFLOW ? (void *)fault_overflow
                                                   : (void *)faults[kind];

    ck_assert_int_eq(r->kind, kind);
    ck_assert_int_eq(r->signo, expected_signal(kind));
    switch (kind) {
    case TETHER_FAULT_SEGV:
        ck_assert_int_eq(r->code, SEGV_MAPERR);
        ck_assert_ptr_null(r->addr);
        break;
    case TETHER_FAULT_BUS:
        ck_assert_int_eq(r->code, BUS_ADRERR);
        ck_assert_ptr_eq(r->addr, (void *)bus_page);
        break;
    case TETHER_FAULT_ILL:
        if (test_under_valgrind()) {
            /* valgrind raises its own SIGILL for ud2: ILL_ILLOPC, and an address of its own. */
            vg_skip("si_code and si_addr of a SIGILL are valgrind's, not the kernel's");
            ck_assert_int_eq(r->code, ILL_ILLOPC);
            break;
        }
        ck_assert_int_eq(r->code, ILL_ILLOPN);
        ck_assert_ptr_eq(r->addr, r->pc);
        break;
    case TETHER_FAULT_FPE:
        ck_assert_int_eq(r->code, FPE_INTDIV);
        if (test_under_valgrind()) {
            vg_skip("si_addr of a SIGFPE is valgrind's, not the faulting instruction");
            break;
        }
        ck_assert_ptr_eq(r->addr, r->pc);
        break;
    case TETHER_FAULT_STACK_OVERFLOW:
        ck_assert_uint_lt((uintptr_t)r->addr, (uintptr_t)stack_lo); /* below the usable stack */
        break;
    }
    /* pc, sp and registers are the faulting instruction's. */
    ck_assert_msg(in_function(r->pc, fn), "pc %p is not in the faulting function", r->pc);
    ck_assert_ptr_eq(r->frames[0], r->pc);
    ck_assert_uint_eq(r->regs[TETHER_REG_RIP], (uintptr_t)r->pc);
    ck_assert_uint_eq(r->regs[TETHER_REG_RSP], (uintptr_t)r->sp);
    if (kind != TETHER_FAULT_STACK_OVERFLOW)
        ck_assert_uint_ge((uintptr_t)r->sp, (uintptr_t)stack_lo);
    ck_assert_uint_lt((uintptr_t)r->sp, (uintptr_t)stack_hi);
    /* The backtrace reaches from the faulting function to its caller... */
    ck_assert_int_ge(r->nframes, 2);
    ck_assert_int_le(r->nframes, TETHER_FAULT_FRAMES_MAX);
    if (kind != TETHER_FAULT_STACK_OVERFLOW) {
        ck_assert_msg(frames_contain(r, (void *)do_fault), "no do_fault frame");
        return;
    }
    /* ...or, for a runaway recursion, is full of it, innermost first. */
    ck_assert_int_eq(r->nframes, TETHER_FAULT_FRAMES_MAX);
    for (int i = 1; i < r->nframes; i++)
        ck_assert(in_function((char *)r->frames[i] - 1, (void *)fault_overflow));
}

/* Faults `kind` on a fresh fiber running `entry`; checks; destroys. */
static void fault_on_fiber(tether_fn entry, int kind)
{
    tether_fiber_opts o = {.stack_size = 64 * 1024};
    tether_fiber *f;
    void *lo, *hi, *out = (void *)1;
    const tether_fault *r;

    ck_assert_int_eq(tether_fiber_create(&f, entry, (void *)(intptr_t)kind, &o), 0);
    tether_fiber_stack(f, &lo, &hi);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_FAULTED);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(tether_fiber_state(f), TETHER_FAULTED);
    ck_assert_ptr_null(tether_current()); /* the host is itself again */
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), -ESRCH);
    r = tether_fiber_fault(f);
    ck_assert_ptr_nonnull(r);
    check_record(r, kind, lo, hi);
    if (entry == guest_calls_host && kind != TETHER_FAULT_STACK_OVERFLOW)
        ck_assert(frames_contain(r, (void *)host_function));
    ck_assert_int_eq(tether_fiber_destroy(f), 0);
}

/* The host carries on: a new fiber runs normally after the fault. */
static void *plain(void *arg, void *in)
{
    (void)in;
    tether_yield(arg, NULL);
    return arg;
}

static void host_still_works(void)
{
    tether_fiber *f = make_fiber(plain, (void *)7);
    void *v;
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &v), TETHER_YIELDED);
    ck_assert_ptr_eq(v, (void *)7);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &v), TETHER_RETURNED);
    tether_fiber_destroy(f);
}

/* ------------------------------------------------------------ the matrix */


START_TEST(test_guest_fault)
{
    fault_on_fiber(guest_faults, _i + 1);
    host_still_works();
}
END_TEST

START_TEST(test_host_function_fault)
{
    fault_on_fiber(guest_calls_host, _i + 1);
    host_still_works();
}
END_TEST

START_TEST(test_nested_fiber_fault)
{
    struct nested n = {.kind = _i + 1};
    tether_fiber *outer;
    void *v;
    if (n.kind == TETHER_FAULT_STACK_OVERFLOW && test_under_valgrind()) {
        /*
         * memcheck (--track-origins) reports the overflowed fiber's
         * backtrace reading return addresses from fault_overflow's
         * unwritten pad: the stack pointer valgrind gives the faulting
         * context is not the one the kernel gives (the native walk of
         * the same stack passes this test).
         */
        vg_skip("a stack overflow's context under valgrind: its backtrace reads unwritten stack");
        return;
    }
    outer = make_fiber(outer_fiber, &n);
    ck_assert_int_eq(tether_fiber_resume(outer, NULL, &v), TETHER_RETURNED);
    ck_assert_ptr_eq(v, (void *)1); /* the outer fiber was still current */
    ck_assert_int_eq(n.inner_result, TETHER_FAULTED);
    ck_assert_int_eq(n.inner_fault.kind, n.kind);
    ck_assert_int_eq(n.inner_fault.signo, expected_signal(n.kind));
    ck_assert(frames_contain(&n.inner_fault,
                             n.kind == TETHER_FAULT_STACK_OVERFLOW
                                 ? (void *)fault_overflow : (void *)do_fault));
    tether_fiber_destroy(outer);
    host_still_works();
}
END_TEST

static void *thread_main(void *arg)
{
    fault_on_fiber(guest_faults, (int)(intptr_t)arg);
    host_still_works();
    return (void *)1;
}

START_TEST(test_second_thread_fault)
{
    pthread_t th;
    void *ok = NULL;
    ck_assert_int_eq(pthread_create(&th, NULL, thread_main, (void *)(intptr_t)(_i + 1)), 0);
    ck_assert_int_eq(pthread_join(th, &ok), 0);
    ck_assert_ptr_eq(ok, (void *)1);
    host_still_works(); /* and this thread, which never faulted, too */
}
END_TEST

/* ----------------------------------------------------- overflow and reuse */

/*
 * After an overflow the fiber is destroyed and its stack reused (the pool
 * hands the same stack to the next fiber of its size): it works again,
 * and the next overflow on it is caught the same way.
 */
static unsigned depth_sum(unsigned n)
{
    volatile char pad[512];
    pad[0] = 1;
    return n ? depth_sum(n - 1) + pad[0] : 0;
}

static void *deep_but_fine(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return (void *)(uintptr_t)depth_sum(80); /* about 48 KiB of a 64 KiB stack */
}

START_TEST(test_overflow_then_reuse)
{
    tether_fiber_opts o = {.stack_size = 64 * 1024};
    void *first_lo = NULL;
    for (int round = 0; round < 3; round++) {
        tether_fiber *f;
        void *lo, *out;
        ck_assert_int_eq(tether_fiber_create(&f, guest_faults,
                                             (void *)TETHER_FAULT_STACK_OVERFLOW, &o), 0);
        tether_fiber_stack(f, &lo, NULL);
        if (round == 0)
            first_lo = lo;
        ck_assert_ptr_eq(lo, first_lo); /* the same stack each time */
        ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED);
        ck_assert_int_eq(tether_fiber_fault(f)->kind, TETHER_FAULT_STACK_OVERFLOW);
        ck_assert_int_eq(tether_fiber_destroy(f), 0);

        ck_assert_int_eq(tether_fiber_create(&f, deep_but_fine, NULL, &o), 0);
        tether_fiber_stack(f, &lo, NULL);
        ck_assert_ptr_eq(lo, first_lo);
        ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
        ck_assert_ptr_eq(out, (void *)80);
        ck_assert_int_eq(tether_fiber_destroy(f), 0);
    }
    host_still_works();
}
END_TEST

/* Both guard methods classify the overflow. */
START_TEST(test_overflow_mprotect_guard)
{
    tether_fiber_opts o = {.stack_size = 32 * 1024,
                           .flags = TETHER_FIBER_GUARD_MPROTECT};
    tether_fiber *f;
    ck_assert_int_eq(tether_fiber_create(&f, guest_faults,
                                         (void *)TETHER_FAULT_STACK_OVERFLOW, &o), 0);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED);
    ck_assert_int_eq(tether_fiber_fault(f)->kind, TETHER_FAULT_STACK_OVERFLOW);
    tether_fiber_destroy(f);
}
END_TEST

/*
 * A generator that yields at every depth overflows, for some frame
 * sizes, inside the yield's own register pushes: still the fiber's
 * overflow, never the process's death.
 */
static int yield_pad;

OPAQUE static void yield_deeper(int d)
{
    volatile char *p = __builtin_alloca(yield_pad);
    p[0] = (char)d;
    tether_yield(NULL, NULL);
    if (d < 1000000) /* always: the guard stops it first */
        yield_deeper(d + 1);
}

static void *generator(void *arg, void *in)
{
    (void)arg;
    (void)in;
    yield_deeper(0);
    return NULL;
}

START_TEST(test_overflow_while_yielding)
{
    tether_fiber_opts o = {.stack_size = 16 * 1024};
    for (yield_pad = 1; yield_pad <= 160; yield_pad++) {
        tether_fiber *f;
        int st;
        ck_assert_int_eq(tether_fiber_create(&f, generator, NULL, &o), 0);
        while ((st = tether_fiber_resume(f, NULL, NULL)) == TETHER_YIELDED)
            ;
        ck_assert_int_eq(st, TETHER_FAULTED);
        ck_assert_int_eq(tether_fiber_fault(f)->kind, TETHER_FAULT_STACK_OVERFLOW);
        ck_assert_int_eq(tether_fiber_destroy(f), 0);
    }
}
END_TEST

/* A guest that blocks tether's signals and faults does not leave them blocked. */
static void *blocks_then_faults(void *arg, void *in)
{
    sigset_t s;
    (void)arg;
    (void)in;
    sigemptyset(&s);
    sigaddset(&s, SIGURG);
    sigaddset(&s, SIGSEGV);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    return (void *)(intptr_t)fault_fpe();
}

START_TEST(test_fault_unblocks_tether_signals)
{
    tether_fiber *f = make_fiber(blocks_then_faults, NULL);
    sigset_t now;
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED);
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    ck_assert(!sigismember(&now, SIGURG));
    ck_assert(!sigismember(&now, SIGSEGV));
    tether_fiber_destroy(f);
}
END_TEST

/* ------------------------------------------------------- records, report */

START_TEST(test_no_fault_record_unless_faulted)
{
    tether_fiber *f = make_fiber(plain, NULL);
    ck_assert_ptr_null(tether_fiber_fault(NULL));
    ck_assert_ptr_null(tether_fiber_fault(f));
    tether_fiber_resume(f, NULL, NULL);
    ck_assert_ptr_null(tether_fiber_fault(f)); /* YIELDED */
    tether_fiber_resume(f, NULL, NULL);
    ck_assert_ptr_null(tether_fiber_fault(f)); /* RETURNED */
    tether_fiber_destroy(f);
}
END_TEST

START_TEST(test_report_names_frames)
{
    tether_fiber *f;
    char buf[4096], tiny[16];
    int n;
    ck_assert_int_eq(tether_fiber_create(&f, guest_calls_host,
                                         (void *)TETHER_FAULT_FPE, NULL), 0);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED);
    n = tether_fault_format(tether_fiber_fault(f), buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, (int)sizeof buf);
    ck_assert_uint_eq(strlen(buf), (size_t)n);
    ck_assert_msg(strstr(buf, "arithmetic exception: SIGFPE (FPE_INTDIV)"), "%s", buf);
    ck_assert_msg(strstr(buf, "fault_fpe+"), "%s", buf);
    ck_assert_msg(strstr(buf, "do_fault+"), "%s", buf);
    ck_assert_msg(strstr(buf, "host_function+"), "%s", buf);
    ck_assert_msg(strstr(buf, "guest_calls_host+"), "%s", buf);
    /* Cut short: NUL-terminated, and the full length still reported. */
    ck_assert_int_eq(tether_fault_format(tether_fiber_fault(f), tiny, sizeof tiny), n);
    ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
    ck_assert_int_eq(tether_fault_format(tether_fiber_fault(f), NULL, 0), n);
    ck_assert_int_eq(tether_fault_format(NULL, buf, sizeof buf), -EINVAL);
    ck_assert_int_eq(tether_fault_format(tether_fiber_fault(f), NULL, 8), -EINVAL);
    ck_assert_str_eq(tether_fault_kind_name(TETHER_FAULT_STACK_OVERFLOW), "stack overflow");
    ck_assert_str_eq(tether_fault_kind_name(99), "unknown fault");
    tether_fiber_destroy(f);
}
END_TEST

/* The host's floating-point control state survives a guest that changed it. */
OPAQUE void *guest_changes_mxcsr(void *arg, void *in)
{
    unsigned m = 0x7f80; /* round toward zero, all masked */
    (void)arg;
    (void)in;
    __asm__ volatile("ldmxcsr %0" : : "m"(m));
    return (void *)(intptr_t)fault_segv();
}

START_TEST(test_fault_restores_host_fp_control)
{
    unsigned before, after;
    tether_fiber_opts o = {.flags = TETHER_FIBER_FP_CONTROL};
    tether_fiber *f;
    ck_assert_int_eq(tether_fiber_create(&f, guest_changes_mxcsr, NULL, &o), 0);
    __asm__ volatile("stmxcsr %0" : "=m"(before));
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED);
    __asm__ volatile("stmxcsr %0" : "=m"(after));
    ck_assert_uint_eq(after & ~0x3fu, before & ~0x3fu); /* control bits */
    tether_fiber_destroy(f);
}
END_TEST

/*
 * A fiber without TETHER_FIBER_FP_CONTROL shares the thread's control
 * words: what the guest set before it faulted is still set in the host
 * after, as after a yield (the README says so). Under valgrind, whose
 * signal frames carry other words, this once came back scrambled.
 */
START_TEST(test_fault_keeps_shared_fp_control)
{
    unsigned before, after, guest = 0x7f80; /* what guest_changes_mxcsr sets */
    tether_fiber *f;
    ck_assert_int_eq(tether_fiber_create(&f, guest_changes_mxcsr, NULL, NULL), 0);
    __asm__ volatile("stmxcsr %0" : "=m"(before));
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED);
    __asm__ volatile("stmxcsr %0" : "=m"(after));
    __asm__ volatile("ldmxcsr %0" : : "m"(before)); /* the host's own again */
    ck_assert_uint_eq(after & ~0x3fu, guest & ~0x3fu); /* control bits */
    tether_fiber_destroy(f);
}
END_TEST

/*
 * The host's callee-saved registers come back from a fault's stop as
 * from any call: the handler sends the host back by loading the
 * registers kept at the top of the fiber's stack. In assembly, so that
 * each register holds a known value across the call:
 *   long resume_counting_clobbers(tether_fiber *f)
 * resumes f with rbx, rbp, r12-r15 set to known values and returns how
 * many of them changed.
 */
long resume_counting_clobbers(tether_fiber *f);
__asm__(".text\n"
        ".globl resume_counting_clobbers\n"
        ".type resume_counting_clobbers, @function\n"
        "resume_counting_clobbers:\n"
        "  .cfi_startproc\n"
        "  pushq %rbp\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  .cfi_rel_offset %rbp, 0\n"
        "  pushq %rbx\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  .cfi_rel_offset %rbx, 0\n"
        "  pushq %r12\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  .cfi_rel_offset %r12, 0\n"
        "  pushq %r13\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  .cfi_rel_offset %r13, 0\n"
        "  pushq %r14\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  .cfi_rel_offset %r14, 0\n"
        "  pushq %r15\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  .cfi_rel_offset %r15, 0\n"
        "  subq $8, %rsp\n" /* 16-aligned for the call */
        "  .cfi_adjust_cfa_offset 8\n"
        "  movabsq $0x1111111111111111, %rbx\n"
        "  movabsq $0x2222222222222222, %rbp\n"
        "  movabsq $0x3333333333333333, %r12\n"
        "  movabsq $0x4444444444444444, %r13\n"
        "  movabsq $0x5555555555555555, %r14\n"
        "  movabsq $0x6666666666666666, %r15\n"
        "  xorl %esi, %esi\n"
        "  xorl %edx, %edx\n"
        "  call tether_fiber_resume@PLT\n"
        "  xorl %eax, %eax\n"
        "  movabsq $0x1111111111111111, %rcx\n"
        "  cmpq %rcx, %rbx\n"
        "  setne %cl\n"
        "  movzbl %cl, %ecx\n"
        "  addq %rcx, %rax\n"
        "  movabsq $0x2222222222222222, %rcx\n"
        "  cmpq %rcx, %rbp\n"
        "  setne %cl\n"
        "  movzbl %cl, %ecx\n"
        "  addq %rcx, %rax\n"
        "  movabsq $0x3333333333333333, %rcx\n"
        "  cmpq %rcx, %r12\n"
        "  setne %cl\n"
        "  movzbl %cl, %ecx\n"
        "  addq %rcx, %rax\n"
        "  movabsq $0x4444444444444444, %rcx\n"
        "  cmpq %rcx, %r13\n"
        "  setne %cl\n"
        "  movzbl %cl, %ecx\n"
        "  addq %rcx, %rax\n"
        "  movabsq $0x5555555555555555, %rcx\n"
        "  cmpq %rcx, %r14\n"
        "  setne %cl\n"
        "  movzbl %cl, %ecx\n"
        "  addq %rcx, %rax\n"
        "  movabsq $0x6666666666666666, %rcx\n"
        "  cmpq %rcx, %r15\n"
        "  setne %cl\n"
        "  movzbl %cl, %ecx\n"
        "  addq %rcx, %rax\n"
        "  addq $8, %rsp\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %r15\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %r14\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %r13\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %r12\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %rbx\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %rbp\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  ret\n"
        "  .cfi_endproc\n"
        ".size resume_counting_clobbers, .-resume_counting_clobbers\n");

START_TEST(test_fault_keeps_host_callee_saved_registers)
{
    static const int kinds[] = {TETHER_FAULT_SEGV, TETHER_FAULT_ILL, TETHER_FAULT_FPE,
                                TETHER_FAULT_STACK_OVERFLOW};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        tether_fiber *f;
        ck_assert_int_eq(tether_fiber_create(&f, guest_faults, (void *)(intptr_t)kinds[i], NULL),
                         0);
        ck_assert_int_eq(resume_counting_clobbers(f), 0);
        ck_assert_int_eq(tether_fiber_state(f), TETHER_FAULTED);
        tether_fiber_destroy(f);
    }
}
END_TEST

/*
 * A corrupt stack does not stop the fault from being reported. rbp
 * points nowhere and the function's own return address is overwritten
 * with an unmapped address, then it faults: a walk of its frames meets
 * garbage at once. Written in assembly: inline asm may not clobber rbp
 * in every build (AddressSanitizer keeps frame pointers).
 */
void *smash_and_fault(void *arg, void *in);
__asm__(".text\n"
        ".globl smash_and_fault\n"
        ".type smash_and_fault, @function\n"
        "smash_and_fault:\n"
        "  .cfi_startproc\n"
        "  movq $0x10, %rbp\n"
        "  movq $0x10, (%rsp)\n"
        "  xorl %eax, %eax\n"
        "  movq (%rax), %rax\n"
        "  ud2\n"
        "  .cfi_endproc\n"
        ".size smash_and_fault, . - smash_and_fault\n"
        ".section .note.GNU-stack,\"\",@progbits\n"
        ".text\n");

START_TEST(test_fault_with_corrupt_frames)
{
    tether_fiber *f = make_fiber(smash_and_fault, NULL);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED);
    ck_assert_int_ge(tether_fiber_fault(f)->nframes, 1);
    ck_assert(in_function(tether_fiber_fault(f)->pc, (void *)smash_and_fault));
    ck_assert_ptr_eq(tether_fiber_fault(f)->frames[0], tether_fiber_fault(f)->pc);
    /* Nothing can be unwound past the wild return address: nothing runs. */
    ck_assert_int_eq(tether_fiber_unwind(f), -ENOTRECOVERABLE);
    tether_fiber_destroy(f);
    host_still_works();
}
END_TEST

/* ------------------------------------------------------------------ soak */


static void fault_many(int count)
{
    tether_fiber_opts o = {.stack_size = 64 * 1024};
    for (int i = 0; i < count; i++) {
        int kind = i % KINDS + 1;
        tether_fiber *f;
        ck_assert_int_eq(tether_fiber_create(&f, guest_faults, (void *)(intptr_t)kind, &o), 0);
        ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED);
        ck_assert_int_eq(tether_fiber_fault(f)->kind, kind);
        ck_assert_int_eq(tether_fiber_destroy(f), 0);
    }
}

/* 100,000 faulting fibers: resident memory and descriptors stay put. */
START_TEST(test_100k_faults_no_growth)
{
    long rss0, rss1;
    int fds0, fds1;
    fault_many(2000); /* warm up malloc, libunwind's caches, the pool */
    rss0 = resident_kib();
    fds0 = open_fds();
    fault_many(100000);
    rss1 = resident_kib();
    fds1 = open_fds();
    ck_assert_int_eq(fds1, fds0);
    ck_assert_rss_growth_lt(rss1 - rss0, 2048);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fault");
    TCase *tc;

    setup_bus();
    tc = tcase_create("matrix");
    tcase_add_loop_test(tc, test_guest_fault, 0, KINDS);
    tcase_add_loop_test(tc, test_host_function_fault, 0, KINDS);
    tcase_add_loop_test(tc, test_nested_fiber_fault, 0, KINDS);
    tcase_add_loop_test(tc, test_second_thread_fault, 0, KINDS);
    suite_add_tcase(s, tc);

    tc = tcase_create("overflow");
    tcase_add_test(tc, test_overflow_then_reuse);
    tcase_add_test(tc, test_overflow_mprotect_guard);
    tcase_add_test(tc, test_overflow_while_yielding);
    suite_add_tcase(s, tc);

    tc = tcase_create("record");
    tcase_add_test(tc, test_no_fault_record_unless_faulted);
    tcase_add_test(tc, test_report_names_frames);
    tcase_add_test(tc, test_fault_restores_host_fp_control);
    tcase_add_test(tc, test_fault_keeps_shared_fp_control);
    tcase_add_test(tc, test_fault_keeps_host_callee_saved_registers);
    tcase_add_test(tc, test_fault_with_corrupt_frames);
    tcase_add_test(tc, test_fault_unblocks_tether_signals);
    suite_add_tcase(s, tc);

    tc = tcase_create("soak");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_100k_faults_no_growth);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
