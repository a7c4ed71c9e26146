/*
 * Guarded calls (tether/call.h) and the fault-handler chain
 * (tether/chain.h): every kind of fault, really raised, in both forms of
 * guarded call, on and off fibers, nested; the chain's three answers,
 * its order, and changes to it while other threads fault.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "faults.h"
#include "testlib.h"

/* ------------------------------------------------------------ the faults */


static void *do_fault(void *arg)
{
    int kind = (int)(intptr_t)arg;
    if (kind == TETHER_FAULT_STACK_OVERFLOW)
        return (void *)(uintptr_t)fault_overflow(0);
    return (void *)(intptr_t)faults[kind]();
}

static void *returns_arg(void *arg)
{
    return arg;
}

/* The function that raised it: its address is the nearest below the pc. */
static void *faulting_function(int kind)
{
    return kind == TETHER_FAULT_STACK_OVERFLOW ? (void *)fault_overflow : (void *)faults[kind];
}

static void check_record(const tether_fault *f, int kind)
{
    ck_assert_int_eq(f->kind, kind);
    ck_assert_int_eq(f->signo, expected_signal(kind));
    ck_assert_ptr_nonnull(f->pc);
    ck_assert_msg((char *)f->pc >= (char *)faulting_function(kind) &&
                      (char *)f->pc < (char *)faulting_function(kind) + 256,
                  "pc %p is not in the faulting function %p", f->pc, faulting_function(kind));
    ck_assert_int_ge(f->nframes, 1);
    ck_assert_ptr_eq(f->frames[0], f->pc);
    if (kind == TETHER_FAULT_SEGV)
        ck_assert_ptr_eq(f->addr, NULL);
}

/* ------------------------------------------------ on the caller's stack */

/* Each kind, on the thread's own stack (the main thread: the test runs in a child). */
START_TEST(test_call_each_kind)
{
    int kind = _i + 1;
    tether_fault f;
    void *ret = (void *)0x1;
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(tether_call(do_fault, (void *)(intptr_t)kind, &ret, &f), -EFAULT);
    ck_assert_ptr_eq(ret, (void *)0x1); /* untouched */
    check_record(&f, kind);
    /* The thread goes on: a call that does not fault, then the same fault again. */
    ck_assert_int_eq(tether_call(returns_arg, (void *)0x5a, &ret, NULL), 0);
    ck_assert_ptr_eq(ret, (void *)0x5a);
    ck_assert_int_eq(tether_call(do_fault, (void *)(intptr_t)kind, &ret, NULL), -EFAULT);
}
END_TEST

static void *thread_calls(void *arg)
{
    tether_fault f;
    int kind = (int)(intptr_t)arg;
    if (tether_call(do_fault, arg, NULL, &f) != -EFAULT || f.kind != kind)
        return (void *)0;
    return (void *)1;
}

/*
 * Under valgrind a guarded call's fault on a second thread cannot be
 * checked: memcheck takes the jump from tether's alternate signal stack
 * back to the pthread's stack (less than --max-stackframe away, neither
 * registered with valgrind) for frames pushed, marks the thread's live
 * frames uninitialised, and reports each use of them.
 */
#define THREAD_FAULT_UNDER_VG \
    "a guarded call's fault on a pthread's stack: memcheck takes the return from the " \
    "alternate stack for frames pushed"

/* The same on a second thread, whose stack is a pthread's. */
START_TEST(test_call_each_kind_on_a_thread)
{
    pthread_t th;
    void *ok = NULL;
    if (test_under_valgrind()) {
        vg_skip(THREAD_FAULT_UNDER_VG);
        return;
    }
    ck_assert_int_eq(pthread_create(&th, NULL, thread_calls, (void *)(intptr_t)(_i + 1)), 0);
    ck_assert_int_eq(pthread_join(th, &ok), 0);
    ck_assert_ptr_eq(ok, (void *)1);
}
END_TEST

START_TEST(test_call_arguments)
{
    ck_assert_int_eq(tether_call(NULL, NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tether_call(returns_arg, NULL, NULL, NULL), 0); /* ret may be NULL */
}
END_TEST

/* A guarded call inside a guarded call: each fault fails its own call. */
static void *inner_then_outer(void *arg)
{
    tether_fault f;
    int *seen = arg;
    seen[0] = tether_call(do_fault, (void *)(intptr_t)TETHER_FAULT_FPE, NULL, &f);
    seen[1] = f.kind;
    seen[2] = tether_call(do_fault, (void *)(intptr_t)TETHER_FAULT_STACK_OVERFLOW, NULL, &f);
    seen[3] = f.kind;
    return (void *)(intptr_t)fault_segv(); /* now the outer one */
}

START_TEST(test_call_nested)
{
    int seen[4] = {0};
    tether_fault f;
    ck_assert_int_eq(tether_call(inner_then_outer, seen, NULL, &f), -EFAULT);
    ck_assert_int_eq(seen[0], -EFAULT);
    ck_assert_int_eq(seen[1], TETHER_FAULT_FPE);
    ck_assert_int_eq(seen[2], -EFAULT);
    ck_assert_int_eq(seen[3], TETHER_FAULT_STACK_OVERFLOW);
    check_record(&f, TETHER_FAULT_SEGV);
}
END_TEST

/* On a fiber: the fault fails the call, the fiber goes on, its brackets are as before. */
static void *opens_bracket_then_faults(void *arg)
{
    (void)arg;
    tether_host_enter();
    return (void *)(intptr_t)fault_segv();
}

static void *guest_with_calls(void *arg, void *in)
{
    int *seen = arg;
    (void)in;
    seen[0] = tether_call(do_fault, (void *)(intptr_t)TETHER_FAULT_ILL, NULL, NULL);
    seen[1] = tether_call(do_fault, (void *)(intptr_t)TETHER_FAULT_STACK_OVERFLOW, NULL, NULL);
    seen[2] = tether_call(opens_bracket_then_faults, NULL, NULL, NULL);
    seen[3] = tether_host_leave(); /* no bracket is open any more: -EINVAL */
    return (void *)0x77;
}

START_TEST(test_call_on_a_fiber)
{
    int seen[4] = {0};
    void *out = NULL;
    tether_fiber *f = make_fiber(guest_with_calls, seen);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_ptr_eq(out, (void *)0x77);
    ck_assert_int_eq(seen[0], -EFAULT);
    ck_assert_int_eq(seen[1], -EFAULT);
    ck_assert_int_eq(seen[2], -EFAULT);
    ck_assert_int_eq(seen[3], -EINVAL);
    tether_fiber_destroy(f);
}
END_TEST

/* A fault outside any guarded call is still the fiber's (no stale call frame catches it). */
static void *calls_then_faults(void *arg, void *in)
{
    (void)arg;
    (void)in;
    tether_call(do_fault, (void *)(intptr_t)TETHER_FAULT_SEGV, NULL, NULL);
    tether_call(returns_arg, NULL, NULL, NULL);
    return (void *)(intptr_t)fault_fpe();
}

START_TEST(test_fault_after_calls_is_the_fibers)
{
    tether_fiber *f = make_fiber(calls_then_faults, NULL);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED);
    ck_assert_int_eq(tether_fiber_fault(f)->kind, TETHER_FAULT_FPE);
    tether_fiber_destroy(f);
}
END_TEST

/* A fiber that faults inside a guarded call it made from a fiber it hosts: the inner fiber's. */
static void *inner_guest(void *arg, void *in)
{
    (void)in;
    return do_fault(arg);
}

static void *resumes_inner(void *arg)
{
    tether_fiber *g = make_fiber(inner_guest, arg);
    int st = tether_fiber_resume(g, NULL, NULL);
    tether_fiber_destroy(g);
    return (void *)(intptr_t)st;
}

START_TEST(test_fiber_inside_a_call_keeps_its_fault)
{
    void *ret = NULL;
    ck_assert_int_eq(tether_call(resumes_inner, (void *)(intptr_t)TETHER_FAULT_SEGV, &ret, NULL), 0);
    ck_assert_ptr_eq(ret, (void *)(intptr_t)TETHER_FAULTED);
}
END_TEST

/* ----------------------------------------- what an escape leaves behind */

static void *spins(void *arg);

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void spin_for(double s)
{
    double end = seconds() + s;
    while (seconds() < end)
        __asm__ volatile("" ::: "memory");
}

/* fn opens a bracket, its fiber's deadline passes inside, then it faults. */
static void *bracket_then_fault(void *arg)
{
    (void)arg;
    tether_host_enter();
    spin_for(0.03);
    return (void *)(intptr_t)fault_segv();
}

static void *calls_then_spins(void *arg, void *in)
{
    (void)arg;
    (void)in;
    tether_call(bracket_then_fault, NULL, NULL, NULL);
    spin_for(2.0); /* guest code: only the kill should end this */
    return (void *)1;
}

/* The kill that waited for fn's bracket acts when the escape drops the bracket. */
START_TEST(test_escape_lets_a_pending_kill_act)
{
    tether_fiber *f = make_fiber(calls_then_spins, NULL);
    void *out = NULL;
    double t0 = seconds();
    ck_assert_int_eq(tether_fiber_resume_for(f, NULL, &out, 10 * 1000000ull), TETHER_TERMINATED);
    ck_assert_ptr_eq(out, TETHER_DEADLINE_EXCEEDED);
    ck_assert_msg(seconds() - t0 < 1.0, "the kill took %.2f s", seconds() - t0);
    tether_fiber_destroy(f);
}
END_TEST

/* fn unmasks a floating-point exception and changes the rounding, then faults. */
static void *changes_fp_then_faults(void *arg)
{
    (void)arg;
    feenableexcept(FE_DIVBYZERO);
    fesetround(FE_UPWARD);
    return (void *)(intptr_t)fault_segv();
}

START_TEST(test_escape_restores_fp_control)
{
    volatile double zero_d = 0.0, one = 1.0, r;
    ck_assert_int_eq(tether_call(changes_fp_then_faults, NULL, NULL, NULL), -EFAULT);
    ck_assert_int_eq(fegetexcept(), 0);
    ck_assert_int_eq(fegetround(), FE_TONEAREST);
    r = one / zero_d; /* would be SIGFPE had fn's mask stayed */
    ck_assert(r > 1e308);
}
END_TEST

/* A cleanup that faults while its fiber is unwound is the unwind's fault, not fn's. */
static void fault_in_cleanup(int *unused)
{
    (void)unused;
    fault_segv();
}

static int ran_on;

static void *yields_with_a_bad_cleanup(void *arg)
{
    int c __attribute__((cleanup(fault_in_cleanup))) = 0;
    (void)arg;
    (void)c;
    tether_yield(NULL, NULL);
    return NULL;
}

static void *guest_calls_yielder(void *arg, void *in)
{
    (void)arg;
    (void)in;
    tether_call(yields_with_a_bad_cleanup, NULL, NULL, NULL);
    ran_on = 1; /* never: the unwind owns the fiber */
    return NULL;
}

START_TEST(test_fault_in_cleanup_during_unwind_is_not_the_calls)
{
    tether_fiber *f = make_fiber(guest_calls_yielder, NULL);
    ran_on = 0;
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_unwind(f), -EFAULT);
    ck_assert_int_eq(tether_fiber_state(f), TETHER_FAULTED);
    ck_assert_int_eq(ran_on, 0);
    tether_fiber_destroy(f);
}
END_TEST

/* A call on a fiber killed while it runs fn on another fiber: nothing is leaked. */
static void *call_on_fiber_spinning(void *arg, void *in)
{
    tether_call_opts o = {0};
    (void)arg;
    (void)in;
    tether_call_on_fiber(spins, NULL, NULL, &o, NULL);
    return NULL;
}

START_TEST(test_killed_around_call_on_fiber_leaks_nothing)
{
    long rss0;
    int fds0;
    for (int i = 0; i < 200; i++) { /* warm up */
        tether_fiber *f = make_fiber(call_on_fiber_spinning, NULL);
        ck_assert_int_eq(tether_fiber_resume_for(f, NULL, NULL, 200000ull), TETHER_TERMINATED);
        tether_fiber_destroy(f);
    }
    rss0 = resident_kib();
    fds0 = open_fds();
    for (int i = 0; i < 2000; i++) {
        tether_fiber *f = make_fiber(call_on_fiber_spinning, NULL);
        ck_assert_int_eq(tether_fiber_resume_for(f, NULL, NULL, 200000ull), TETHER_TERMINATED);
        tether_fiber_destroy(f);
    }
    /* A leaked fiber holds a 1 MiB slot with touched pages: 2000 would show. */
    ck_assert_rss_growth_lt(resident_kib() - rss0, 4096);
    ck_assert_int_eq(open_fds(), fds0);
}
END_TEST

/* ---------------------------------------------------------- on a fiber */

START_TEST(test_call_on_fiber_each_kind)
{
    int kind = _i + 1;
    tether_call_report r;
    void *ret = (void *)0x1;
    ck_assert_int_eq(tether_call_on_fiber(do_fault, (void *)(intptr_t)kind, &ret, NULL, &r),
                     -EFAULT);
    ck_assert_ptr_eq(ret, (void *)0x1);
    ck_assert_int_eq(r.state, TETHER_FAULTED);
    check_record(&r.fault, kind);
    /* With the fiber's backtrace: the faulting function, then do_fault. */
    ck_assert_int_ge(r.fault.nframes, 2);
    ck_assert_int_eq(tether_call_on_fiber(returns_arg, (void *)0x33, &ret, NULL, &r), 0);
    ck_assert_ptr_eq(ret, (void *)0x33);
    ck_assert_int_eq(r.state, TETHER_RETURNED);
}
END_TEST

static void *spins(void *arg)
{
    (void)arg;
    for (;;)
        __asm__ volatile("" ::: "memory");
    return NULL;
}

START_TEST(test_call_on_fiber_timeout)
{
    tether_call_opts o = {.timeout_ns = 10 * 1000000ull};
    tether_call_report r;
    ck_assert_int_eq(tether_call_on_fiber(spins, NULL, NULL, &o, &r), -ETIMEDOUT);
    ck_assert_int_eq(r.state, TETHER_TERMINATED);
    ck_assert_ptr_eq(r.details, TETHER_DEADLINE_EXCEEDED);
}
END_TEST

static tether_kill_switch *_Atomic call_switch;

static void keep_switch(tether_fiber *f, void *arg)
{
    tether_kill_switch *k;
    (void)arg;
    ck_assert_int_eq(tether_kill_switch_create(f, &k), 0);
    atomic_store(&call_switch, k);
}

/* Fires the switch once it exists, and the fiber has had time to start spinning. */
static void *fire_soon(void *arg)
{
    (void)arg;
    while (!atomic_load(&call_switch))
        usleep(100);
    usleep(5000);
    return (void *)(intptr_t)tether_kill_switch_fire(atomic_load(&call_switch), (void *)0x4b);
}

START_TEST(test_call_on_fiber_killed)
{
    tether_call_opts o = {.on_start = keep_switch};
    tether_call_report r;
    pthread_t th;
    void *fired;
    atomic_store(&call_switch, NULL);
    ck_assert_int_eq(pthread_create(&th, NULL, fire_soon, NULL), 0);
    ck_assert_int_eq(tether_call_on_fiber(spins, NULL, NULL, &o, &r), -ECANCELED);
    pthread_join(th, &fired);
    ck_assert_int_eq((int)(intptr_t)fired, TETHER_KILL_SIGNALLED);
    ck_assert_int_eq(r.state, TETHER_TERMINATED);
    ck_assert_ptr_eq(r.details, (void *)0x4b);
    tether_kill_switch_free(atomic_load(&call_switch));
}
END_TEST

static void *yields(void *arg)
{
    (void)arg;
    tether_yield(NULL, NULL);
    return (void *)1;
}

START_TEST(test_call_on_fiber_yield_ends_it)
{
    tether_call_report r;
    ck_assert_int_eq(tether_call_on_fiber(yields, NULL, NULL, NULL, &r), -ECANCELED);
    ck_assert_int_eq(r.state, TETHER_TERMINATED);
    ck_assert_int_eq(tether_call_on_fiber(NULL, NULL, NULL, NULL, NULL), -EINVAL);
    tether_call_opts o = {.stack_size = 1};
    ck_assert_int_eq(tether_call_on_fiber(returns_arg, NULL, NULL, &o, NULL), -ERANGE);
}
END_TEST

/* 100,000 faulting calls of each form: memory and descriptors stay put. */
static void fault_many(int n)
{
    for (int i = 0; i < n; i++) {
        void *kind = (void *)(intptr_t)(i % 4 + 1); /* SEGV, BUS, ILL, FPE */
        ck_assert_int_eq(tether_call(do_fault, kind, NULL, NULL), -EFAULT);
        ck_assert_int_eq(tether_call_on_fiber(do_fault, kind, NULL, NULL, NULL), -EFAULT);
    }
}

START_TEST(test_100k_guarded_calls_no_growth)
{
    long rss0, rss1;
    int fds0, fds1;
    fault_many(2000);
    rss0 = resident_kib();
    fds0 = open_fds();
    fault_many(100000);
    rss1 = resident_kib();
    fds1 = open_fds();
    ck_assert_int_eq(fds1, fds0);
    ck_assert_rss_growth_lt(rss1 - rss0, 2048);
}
END_TEST

/* ------------------------------------------------------- the handler chain */

/*
 * A load whose faulting instruction and the one after it are known: a
 * handler that fixes the fault resumes at chain_fixed with rax set.
 */
int chain_load(const int *p);
extern const char chain_fault_insn[], chain_fixed[];
__asm__(".text\n"
        ".globl chain_load\n"
        "chain_load:\n"
        ".globl chain_fault_insn\n"
        "chain_fault_insn: movl (%rdi), %eax\n"
        ".globl chain_fixed\n"
        "chain_fixed: ret\n");

struct probe_handler {
    int answer;          /* what it answers */
    atomic_int calls;
    int id;
    int signo, kind;     /* what it saw last */
};

static int order_log[16];
static atomic_int order_n;

/* Runs in the signal handler: records, and asserts nothing there. */
static tether_fault_answer handler(const tether_fault_event *ev, void *arg)
{
    struct probe_handler *h = arg;
    int n = atomic_fetch_add(&order_n, 1);
    atomic_fetch_add(&h->calls, 1);
    if (n < 16)
        order_log[n] = h->id;
    h->signo = ev->signo;
    h->kind = ev->record->kind;
    if (ev->record->pc != (void *)chain_fault_insn)
        return TETHER_FAULT_NEXT; /* not one of ours */
    if (h->answer == TETHER_FAULT_FIXED) {
        ucontext_t *uc = ev->context;
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)chain_fixed;
        uc->uc_mcontext.gregs[REG_RAX] = 77;
    }
    return h->answer;
}

static void *load_null(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)chain_load(NULL);
}

START_TEST(test_chain_fixed)
{
    struct probe_handler h = {.answer = TETHER_FAULT_FIXED, .id = 1};
    tether_fault_handler *hh;
    ck_assert_int_eq(tether_fault_handler_add(handler, &h, 0, &hh), 0);
    ck_assert_int_eq(chain_load(NULL), 77); /* off any fiber, off any guarded call */
    ck_assert_int_eq(atomic_load(&h.calls), 1);
    ck_assert_int_eq(h.signo, SIGSEGV);
    ck_assert_int_eq(h.kind, TETHER_FAULT_SEGV);
    ck_assert_int_eq(tether_fault_handler_remove(hh), 0);
    ck_assert_int_eq(tether_fault_handler_remove(hh), -EINVAL); /* gone */
}
END_TEST

START_TEST(test_chain_next_and_fail)
{
    struct probe_handler next = {.answer = TETHER_FAULT_NEXT, .id = 1};
    struct probe_handler fail = {.answer = TETHER_FAULT_FAIL, .id = 2};
    struct probe_handler never = {.answer = TETHER_FAULT_FIXED, .id = 3};
    tether_fault_handler *a, *b, *c;
    tether_fault f;
    ck_assert_int_eq(tether_fault_handler_add(handler, &next, 0, &a), 0);
    ck_assert_int_eq(tether_fault_handler_add(handler, &fail, TETHER_FAULT_HANDLER_TAIL, &b), 0);
    ck_assert_int_eq(tether_fault_handler_add(handler, &never, TETHER_FAULT_HANDLER_TAIL, &c), 0);
    /* NEXT, then FAIL: the third is not asked, and the guarded call gets the fault. */
    atomic_store(&order_n, 0);
    ck_assert_int_eq(tether_call(load_null, NULL, NULL, &f), -EFAULT);
    ck_assert_ptr_eq(f.pc, (void *)chain_fault_insn);
    ck_assert_int_eq(atomic_load(&order_n), 2);
    ck_assert_int_eq(order_log[0], 1);
    ck_assert_int_eq(order_log[1], 2);
    ck_assert_int_eq(atomic_load(&never.calls), 0);
    ck_assert_int_eq(tether_fault_handler_remove(b), 0);
    /* Without the FAIL one, the third fixes it. */
    ck_assert_int_eq(chain_load(NULL), 77);
    ck_assert_int_eq(tether_fault_handler_remove(a), 0);
    ck_assert_int_eq(tether_fault_handler_remove(c), 0);
}
END_TEST

START_TEST(test_chain_head_and_tail)
{
    struct probe_handler h[3] = {{.answer = TETHER_FAULT_NEXT, .id = 1},
                                 {.answer = TETHER_FAULT_NEXT, .id = 2},
                                 {.answer = TETHER_FAULT_FIXED, .id = 3}};
    tether_fault_handler *hh[3];
    ck_assert_int_eq(tether_fault_handler_add(handler, &h[2], 0, &hh[2]), 0);
    ck_assert_int_eq(tether_fault_handler_add(handler, &h[0], TETHER_FAULT_HANDLER_HEAD, &hh[0]), 0);
    ck_assert_int_eq(tether_fault_handler_add(handler, &h[1], TETHER_FAULT_HANDLER_TAIL, &hh[1]), 0);
    /* Order: 1 (head), 3, 2 (tail): 3 fixes it, 2 is never asked. */
    atomic_store(&order_n, 0);
    ck_assert_int_eq(chain_load(NULL), 77);
    ck_assert_int_eq(atomic_load(&order_n), 2);
    ck_assert_int_eq(order_log[0], 1);
    ck_assert_int_eq(order_log[1], 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tether_fault_handler_remove(hh[i]), 0);
    ck_assert_int_eq(tether_fault_handler_add(NULL, NULL, 0, &hh[0]), -EINVAL);
    ck_assert_int_eq(tether_fault_handler_add(handler, NULL, 0, NULL), -EINVAL);
    ck_assert_int_eq(tether_fault_handler_add(handler, NULL, 0x80, &hh[0]), -EINVAL);
    ck_assert_int_eq(tether_fault_handler_remove(NULL), -EINVAL);
}
END_TEST

/* A fiber's fault goes through the chain first: a NEXT handler sees it, the fiber still faults. */
static void *guest_loads_null(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return load_null(NULL);
}

START_TEST(test_chain_sees_a_fibers_fault)
{
    struct probe_handler next = {.answer = TETHER_FAULT_NEXT, .id = 1};
    tether_fault_handler *a;
    tether_fiber *f = make_fiber(guest_loads_null, NULL);
    ck_assert_int_eq(tether_fault_handler_add(handler, &next, 0, &a), 0);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED);
    ck_assert_int_eq(atomic_load(&next.calls), 1);
    ck_assert_ptr_eq(tether_fiber_fault(f)->pc, (void *)chain_fault_insn);
    ck_assert_int_eq(tether_fault_handler_remove(a), 0);
    tether_fiber_destroy(f);
}
END_TEST

/*
 * Handlers come and go while other threads fault all the time: nothing
 * crashes, every fault is handled by someone, and a handler that was
 * removed is never called again.
 */
static atomic_int stop_faulting;

static tether_fault_answer counting(const tether_fault_event *ev, void *arg)
{
    atomic_int *n = arg;
    (void)ev;
    atomic_fetch_add(n, 1);
    return TETHER_FAULT_NEXT;
}

static void *faulter(void *arg)
{
    long n = 0;
    (void)arg;
    while (!atomic_load(&stop_faulting)) {
        if (tether_call(do_fault, (void *)(intptr_t)TETHER_FAULT_SEGV, NULL, NULL) != -EFAULT)
            return (void *)0;
        n++;
    }
    return (void *)(intptr_t)(n > 0);
}

START_TEST(test_chain_changes_while_faulting)
{
    pthread_t th[2];
    void *ok;
    if (test_under_valgrind()) {
        vg_skip(THREAD_FAULT_UNDER_VG); /* the faulting threads' */
        return;
    }
    atomic_store(&stop_faulting, 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, faulter, NULL), 0);
    for (int round = 0; round < 300; round++) {
        atomic_int *count = malloc(sizeof *count);
        tether_fault_handler *h;
        int after;
        atomic_init(count, 0);
        ck_assert_int_eq(tether_fault_handler_add(counting, count,
                                                  round % 2 ? TETHER_FAULT_HANDLER_HEAD : 0, &h),
                         0);
        usleep(100);
        ck_assert_int_eq(tether_fault_handler_remove(h), 0);
        after = atomic_load(count);
        usleep(50);
        ck_assert_int_eq(atomic_load(count), after); /* never called once removed */
        free(count);                                 /* nor touched again */
    }
    atomic_store(&stop_faulting, 1);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_join(th[i], &ok), 0);
        ck_assert_ptr_eq(ok, (void *)1);
    }
}
END_TEST

/*
 * A deadline that expires while its fiber is in a host call waits for
 * the call to end; if the fiber then makes a guarded call on a fiber,
 * that fiber is under the same expired deadline, or a guest that spins
 * would hold both for good (ASan's slower tether_fiber_create inside
 * tether_call_on_fiber let the deadline fall there and hung the soak).
 */
static void *late_call_on_fiber(void *arg, void *in)
{
    struct timespec t0, t;
    int *err = arg;
    (void)in;
    ck_assert_int_eq(tether_host_enter(), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do /* the deadline expires here, in the host call */
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 20000000L);
    *err = tether_call_on_fiber(spins, NULL, NULL, NULL, NULL);
    tether_host_leave(); /* the checkpoint where the expired deadline ends it */
    return (void *)1;
}

START_TEST(test_expired_deadline_covers_a_later_call_on_fiber)
{
    int err = 0;
    void *out = NULL;
    tether_fiber *f = make_fiber(late_call_on_fiber, &err);
    ck_assert_int_eq(tether_fiber_resume_for(f, NULL, &out, 1000000ull), TETHER_TERMINATED);
    ck_assert_ptr_eq(out, TETHER_DEADLINE_EXCEEDED);
    ck_assert_int_eq(err, -ETIMEDOUT);
    tether_fiber_destroy(f);
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
    Suite *s = suite_create("call");
    TCase *tc;

    setup_bus();
    tc = tcase_create("stack");
    tcase_add_loop_test(tc, test_call_each_kind, 0, KINDS);
    tcase_add_loop_test(tc, test_call_each_kind_on_a_thread, 0, KINDS);
    tcase_add_test(tc, test_call_arguments);
    tcase_add_test(tc, test_call_nested);
    tcase_add_test(tc, test_call_on_a_fiber);
    tcase_add_test(tc, test_fault_after_calls_is_the_fibers);
    tcase_add_test(tc, test_fiber_inside_a_call_keeps_its_fault);
    tcase_add_test(tc, test_escape_lets_a_pending_kill_act);
    tcase_add_test(tc, test_escape_restores_fp_control);
    tcase_add_test(tc, test_fault_in_cleanup_during_unwind_is_not_the_calls);
    suite_add_tcase(s, tc);

    tc = tcase_create("fiber");
    tcase_add_loop_test(tc, test_call_on_fiber_each_kind, 0, KINDS);
    tcase_add_test(tc, test_call_on_fiber_timeout);
    tcase_add_test(tc, test_call_on_fiber_killed);
    tcase_add_test(tc, test_call_on_fiber_yield_ends_it);
    tcase_add_test(tc, test_expired_deadline_covers_a_later_call_on_fiber);
    suite_add_tcase(s, tc);

    tc = tcase_create("soak");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_100k_guarded_calls_no_growth);
    tcase_add_test(tc, test_killed_around_call_on_fiber_leaks_nothing);
    suite_add_tcase(s, tc);

    tc = tcase_create("chain");
    tcase_add_test(tc, test_chain_fixed);
    tcase_add_test(tc, test_chain_next_and_fail);
    tcase_add_test(tc, test_chain_head_and_tail);
    tcase_add_test(tc, test_chain_sees_a_fibers_fault);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_chain_changes_while_faulting);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
