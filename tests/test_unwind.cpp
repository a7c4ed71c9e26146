/*
 * Forced unwinding, seen from C++: every destructor left on a dead
 * fiber's stack runs, in order, whether the fiber yielded, terminated
 * itself, was killed, faulted or overflowed its stack; catch (...) blocks
 * that rethrow run, ones that swallow cannot bring the fiber back; an
 * exception the guest lets escape stops at the fiber's base.
 *
 * The functions below are noipa: the compiler must not prove that they
 * cannot throw, or it leaves their calls out of the callers' cleanup
 * tables (see test_nothrow_leaf_fault for what happens then).
 */
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <csignal>
#include <cstring>
#include <cxxabi.h>
#include <exception>
#include <typeinfo>
#include <stdexcept>
#include <pthread.h>
#include <sys/uio.h>
#include <unistd.h>

#include "testlib.h"

/* Opaque to the optimiser (clang has no noipa; optnone does the job). */
#if defined(__clang__)
#define NOIPA __attribute__((noinline, optnone))
#else
#define NOIPA __attribute__((noipa))
#endif

/* --------------------------------------------------------- what ran */

static int order[256];
static int norder;
static int unwinding_seen;
static int last_destroyed;

static void reset()
{
    norder = 0;
    unwinding_seen = 0;
    last_destroyed = -1;
}

/* Records its id when destroyed, and whether tether said "unwinding". */
struct Guard {
    int id;
    explicit Guard(int i) : id(i) {}
    ~Guard()
    {
        if (norder < 256)
            order[norder++] = id;
        last_destroyed = id;
        unwinding_seen += tether_unwinding();
    }
};

/* How many times the fiber's last unwind was swallowed and raised again. */
static int swallowed(tether_fiber *f)
{
    tether_unwind_report r;
    ck_assert_int_eq(tether_fiber_unwind_report(f, &r), 0);
    return r.swallowed;
}

/* What the fiber's last unwind passed over. */
static int passed_over(tether_fiber *f)
{
    tether_unwind_report r;
    ck_assert_int_eq(tether_fiber_unwind_report(f, &r), 0);
    return r.passed_over;
}

static void expect_order(const int *want, int n)
{
    ck_assert_int_eq(norder, n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(order[i] == want[i], "destructor %d was %d, expected %d", i,
                      order[i], want[i]);
}

static volatile int zero = 0;
static int *volatile nowhere = nullptr;
static volatile bool never = false;

/* May throw as far as the compiler knows; faults. */
NOIPA static int fault_segv()
{
    if (never)
        throw std::runtime_error("never");
    return *(volatile int *)nowhere;
}

NOIPA static int fault_fpe()
{
    if (never)
        throw std::runtime_error("never");
    int q, d = zero;
    /* A real idiv: compilers may fold or drop a division by zero. */
    __asm__ volatile("cltd\n\tidivl %2" : "=a"(q) : "a"(10), "r"(d) : "rdx");
    return q;
}

/* ------------------------------------------------------ stop points */

NOIPA static void *yields(void *, void *)
{
    Guard a(1);
    {
        Guard b(2);
        Guard c(3);
        tether_yield(nullptr, nullptr);
    }
    return nullptr;
}

START_TEST(test_unwind_yielded)
{
    tether_fiber *f = make_fiber(yields, nullptr);
    reset();
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_YIELDED);
    ck_assert_int_eq(norder, 0);
    ck_assert_int_eq(tether_fiber_unwind(f), 0);
    static const int want[] = {3, 2, 1};
    expect_order(want, 3);
    ck_assert_int_eq(unwinding_seen, 3);
    ck_assert_int_eq(tether_fiber_state(f), TETHER_TERMINATED);
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), -ESRCH);
    ck_assert_int_eq(tether_fiber_unwind(f), 0); /* nothing left: no-op */
    ck_assert_int_eq(norder, 3);
    ck_assert_int_eq(tether_fiber_destroy(f), 0);
    ck_assert_int_eq(tether_unwinding(), 0);
}
END_TEST

START_TEST(test_destroy_unwinds_first)
{
    tether_fiber *f = make_fiber(yields, nullptr);
    reset();
    tether_fiber_resume(f, nullptr, nullptr);
    ck_assert_int_eq(tether_fiber_destroy(f), 0);
    static const int want[] = {3, 2, 1};
    expect_order(want, 3);
}
END_TEST

START_TEST(test_nothing_to_unwind)
{
    tether_fiber *f = make_fiber(yields, nullptr);
    reset();
    ck_assert_int_eq(tether_fiber_unwind(nullptr), -EINVAL);
    ck_assert_int_eq(tether_fiber_unwind(f), 0); /* READY: no frames */
    ck_assert_int_eq(tether_fiber_state(f), TETHER_READY);
    tether_fiber_resume(f, nullptr, nullptr);
    tether_fiber_resume(f, nullptr, nullptr);
    ck_assert_int_eq(tether_fiber_state(f), TETHER_RETURNED);
    ck_assert_int_eq(norder, 3); /* they ran by returning */
    ck_assert_int_eq(tether_fiber_unwind(f), 0);
    ck_assert_int_eq(norder, 3);
    ck_assert_int_eq(unwinding_seen, 0);
    tether_fiber_destroy(f);
}
END_TEST

static void *unwinds_self(void *, void *)
{
    Guard a(1);
    /* A fiber may not unwind itself: it is running. */
    return (void *)(intptr_t)tether_fiber_unwind(tether_current());
}

START_TEST(test_unwind_running_refused)
{
    tether_fiber *f = make_fiber(unwinds_self, nullptr);
    void *out;
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, &out), TETHER_RETURNED);
    ck_assert_int_eq((int)(intptr_t)out, -EDEADLK);
    tether_fiber_destroy(f);
}
END_TEST

/*
 * Nested segments: guest -> host function -> guest callback -> host
 * function -> terminate (or fault). Each level keeps a dozen values live
 * across its call (six fit in callee-saved registers, the rest spill),
 * and reads them all in its catch (...) block, which is a landing pad:
 * it records its level if every value was right, minus its level if not.
 */
static int stop_how; /* 0: terminate, 1: SIGSEGV, 2: SIGFPE */
static volatile uint64_t sink;

NOIPA static uint64_t mix(uint64_t a, uint64_t b) { return a * 31 + b; }

static void seen(int level, bool ok)
{
    if (norder < 256)
        order[norder++] = ok ? level : -level;
}

#define LIVE_LOCALS(seed)                                                     \
    uint64_t v0 = mix(seed, 0), v1 = mix(seed, 1), v2 = mix(seed, 2),         \
             v3 = mix(seed, 3), v4 = mix(seed, 4), v5 = mix(seed, 5),         \
             v6 = mix(seed, 6), v7 = mix(seed, 7), v8 = mix(seed, 8),         \
             v9 = mix(seed, 9), v10 = mix(seed, 10), v11 = mix(seed, 11)
#define ALL_RIGHT(seed)                                                       \
    (v0 == mix(seed, 0) && v1 == mix(seed, 1) && v2 == mix(seed, 2) &&        \
     v3 == mix(seed, 3) && v4 == mix(seed, 4) && v5 == mix(seed, 5) &&        \
     v6 == mix(seed, 6) && v7 == mix(seed, 7) && v8 == mix(seed, 8) &&        \
     v9 == mix(seed, 9) && v10 == mix(seed, 10) && v11 == mix(seed, 11))
#define USE_LOCALS (sink = v0 + v1 + v2 + v3 + v4 + v5 + v6 + v7 + v8 + v9 + v10 + v11)

/* One level: call `inner` with the values live; check them if it unwinds. */
#define LEVEL(k, inner)                                                       \
    LIVE_LOCALS(k);                                                           \
    try {                                                                     \
        inner;                                                                \
    } catch (...) {                                                           \
        seen(k, ALL_RIGHT(k));                                                \
        throw;                                                                \
    }                                                                         \
    USE_LOCALS

NOIPA static void stop_here()
{
    if (stop_how == 0)
        tether_terminate((void *)0x7e);
    else if (stop_how == 1)
        fault_segv();
    else
        fault_fpe();
}

NOIPA static void host_inner()
{
    tether_host_enter();
    LEVEL(5, stop_here());
    tether_host_leave();
}

NOIPA static void guest_callback()
{
    LEVEL(4, host_inner());
}

NOIPA static void host_outer()
{
    tether_host_enter();
    LEVEL(3, guest_callback());
    tether_host_leave();
}

NOIPA static void guest_level2()
{
    LEVEL(2, host_outer());
}

NOIPA static void *guest_entry(void *, void *)
{
    LEVEL(1, guest_level2());
    return nullptr;
}

static void nested_segments(int how, int expect_state)
{
    tether_fiber *f = make_fiber(guest_entry, nullptr);
    void *out = nullptr;
    reset();
    stop_how = how;
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, &out), expect_state);
    ck_assert_int_eq(norder, 0); /* nothing ran yet: the host decides */
    /*
     * Innermost first, every level with its values intact. A fault is
     * taken in fault_*(), whose own frame is passed over (its faulting
     * instruction is not in its call-site table: the host is told, 1);
     * stop_here and every level above it run. A termination stopped at
     * a call: nothing is passed over.
     */
    ck_assert_int_eq(tether_fiber_unwind(f), how == 0 ? 0 : 1);
    ck_assert_int_eq(passed_over(f), how == 0 ? 0 : 1);
    static const int want[] = {5, 4, 3, 2, 1};
    expect_order(want, 5);
    ck_assert_int_eq(tether_fiber_state(f), expect_state);
    tether_fiber_destroy(f);
}

START_TEST(test_nested_segments_terminate)
{
    nested_segments(0, TETHER_TERMINATED);
}
END_TEST

START_TEST(test_nested_segments_segv)
{
    nested_segments(1, TETHER_FAULTED);
}
END_TEST

/* Issue 8.11: reports name C++ functions as people write them. */
START_TEST(test_report_demangles)
{
    tether_fiber *f = make_fiber(guest_entry, nullptr);
    char buf[4096];
    stop_how = 1;
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_FAULTED);
    ck_assert_int_gt(tether_fault_format(tether_fiber_fault(f), buf, sizeof buf), 0);
    ck_assert_msg(strstr(buf, " fault_segv()+") != nullptr, "%s", buf);
    ck_assert_msg(strstr(buf, " guest_level2()+") != nullptr, "%s", buf);
    ck_assert_msg(strstr(buf, "_ZL") == nullptr, "%s", buf);
    tether_fiber_destroy(f);
}
END_TEST

START_TEST(test_nested_segments_fpe)
{
    nested_segments(2, TETHER_FAULTED);
}
END_TEST

/*
 * A leaf the compiler proves cannot throw: its caller's call to it has no
 * cleanup entry, and C++ calls std::terminate if an exception comes out
 * of such a call. The unwind starts above that caller instead: the
 * caller's objects are passed over, everything above it runs, nothing
 * aborts. (noinline, not noipa: the proof is the point.)
 */
__attribute__((noinline)) static int nothrow_leaf(int *p) { return *p; }

__attribute__((noinline)) static int calls_leaf()
{
    Guard skipped(2);
    return nothrow_leaf(nowhere) + 1;
}

/* Called through a pointer: the compiler cannot prove anything of it. */
static int (*volatile calls_leaf_ptr)() = calls_leaf;

NOIPA static void *leaf_guest(void *, void *)
{
    Guard a(1);
    return (void *)(intptr_t)calls_leaf_ptr();
}

START_TEST(test_nothrow_leaf_fault)
{
    tether_fiber *f = make_fiber(leaf_guest, nullptr);
    reset();
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_FAULTED);
    /*
     * calls_leaf, with a Guard live, is passed over, and so is
     * nothrow_leaf if the fault is taken there (g++ may move the load
     * into calls_leaf): the host is told.
     */
    int r = tether_fiber_unwind(f);
    ck_assert_msg(r == 1 || r == 2, "unwind returned %d", r);
    static const int want[] = {1}; /* not 2: calls_leaf is passed over */
    expect_order(want, 1);
    tether_fiber_destroy(f);
}
END_TEST

/*
 * A fiber that yielded inside a noexcept function: g++ and clang both
 * make the unwind terminate the process there (g++ by leaving the call
 * out of the table, clang with a catch (...) that calls
 * std::terminate). The unwind starts above it instead, and says how
 * many frames it passed over.
 */
NOIPA static void yields_deep()
{
    Guard inner(3);
    tether_yield(nullptr, nullptr);
}

NOIPA static void yields_in_noexcept() noexcept
{
    Guard middle(2);
    yields_deep();
}

NOIPA static void *calls_noexcept(void *, void *)
{
    Guard outer(1);
    yields_in_noexcept();
    return nullptr;
}

START_TEST(test_yield_inside_noexcept)
{
    tether_fiber *f = make_fiber(calls_noexcept, nullptr);
    reset();
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_YIELDED);
    int r = tether_fiber_unwind(f); /* and the process is still here */
    ck_assert_msg(r >= 2, "unwind returned %d", r); /* yields_deep, yields_in_noexcept */
    for (int i = 0; i < norder; i++)
        ck_assert_msg(order[i] == 1, "guard %d ran: its frame was passed over", order[i]);
    ck_assert_int_eq(tether_fiber_state(f), TETHER_TERMINATED);
    ck_assert_int_eq(tether_fiber_destroy(f), 0);
}
END_TEST

/* ------------------------------------------------------------- kills */

static std::atomic<int> spinning;

NOIPA static void spin_forever()
{
    Guard inner(2);
    spinning = 1;
    while (!never)
        __asm__ volatile("" ::: "memory");
    throw std::runtime_error("never"); /* so that it may throw */
}

NOIPA static void *spinner(void *, void *)
{
    Guard outer(1);
    spin_forever();
    return nullptr;
}

START_TEST(test_unwind_after_deadline)
{
    tether_fiber *f = make_fiber(spinner, nullptr);
    void *out;
    reset();
    ck_assert_int_eq(tether_fiber_resume_for(f, nullptr, &out, 20 * 1000000ull),
                     TETHER_TERMINATED);
    ck_assert_ptr_eq(out, TETHER_DEADLINE_EXCEEDED);
    /* spin_forever was interrupted: its own guard is passed over, and said so. */
    ck_assert_int_eq(tether_fiber_unwind(f), 1);
    static const int want[] = {1};
    expect_order(want, 1);
    tether_fiber_destroy(f);
}
END_TEST

/* ------------------------------------------------------- catch (...) */

NOIPA static void *catches_and_rethrows(void *, void *)
{
    Guard a(1);
    try {
        Guard b(2);
        tether_yield(nullptr, nullptr);
    } catch (...) {
        if (norder < 256)
            order[norder++] = tether_unwinding() ? 10 : -10;
        throw;
    }
    return nullptr;
}

START_TEST(test_catch_all_rethrows)
{
    tether_fiber *f = make_fiber(catches_and_rethrows, nullptr);
    reset();
    tether_fiber_resume(f, nullptr, nullptr);
    ck_assert_int_eq(tether_fiber_unwind(f), 0);
    static const int want[] = {2, 10, 1};
    expect_order(want, 3);
    tether_fiber_destroy(f);
}
END_TEST

static int after_swallow;

NOIPA static void *swallows(void *arg, void *)
{
    Guard a(1);
    int times = (int)(intptr_t)arg;
    for (int i = 0; i < times; i++) {
        try {
            Guard b(2);
            tether_yield(nullptr, nullptr);
        } catch (...) {
            /* swallowed: the fiber goes on... */
        }
        after_swallow++;
    }
    /* ...until it next enters tether (here: the next yield, or return). */
    tether_yield(nullptr, nullptr);
    after_swallow += 100; /* never */
    return nullptr;
}

START_TEST(test_catch_all_swallows)
{
    for (int times = 1; times <= 2; times++) {
        tether_fiber *f = make_fiber(swallows, (void *)(intptr_t)times);
        reset();
        after_swallow = 0;
        ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_YIELDED);
        /*
         * Each time round the loop the unwind is swallowed, and raised
         * again at the next yield; the host is told how many times.
         */
        ck_assert_int_eq(tether_fiber_unwind(f), 0); /* nothing passed over */
        ck_assert_int_eq(swallowed(f), times);
        ck_assert_int_eq(after_swallow, times);
        ck_assert_int_eq(norder, times + 1); /* each b, then a */
        ck_assert_int_eq(order[0], 2);
        ck_assert_int_eq(order[norder - 1], 1);
        ck_assert_int_eq(tether_fiber_state(f), TETHER_TERMINATED);
        tether_fiber_destroy(f);
    }
}
END_TEST

NOIPA static void *swallows_then_returns(void *, void *)
{
    Guard a(1);
    try {
        Guard b(2);
        tether_yield(nullptr, nullptr);
    } catch (...) {
    }
    after_swallow++;
    return (void *)1; /* the return is an entry into tether: raised again */
}

START_TEST(test_swallow_then_return)
{
    tether_fiber *f = make_fiber(swallows_then_returns, nullptr);
    reset();
    after_swallow = 0;
    tether_fiber_resume(f, nullptr, nullptr);
    ck_assert_int_eq(tether_fiber_unwind(f), 0);
    ck_assert_int_eq(swallowed(f), 1);
    ck_assert_int_eq(after_swallow, 1);
    static const int want[] = {2, 1};
    expect_order(want, 2);
    ck_assert_int_eq(tether_fiber_state(f), TETHER_TERMINATED);
    tether_fiber_destroy(f);
}
END_TEST

/*
 * Issue 8.4: a catch (...) that is handling the unwind, and will rethrow
 * it, may call tether_yield or tether_terminate (logging code does):
 * they return -ECANCELED, the rest of the block runs, and nothing was
 * swallowed.
 */
static int yield_in_catch, terminate_in_catch, block_finished;

NOIPA static void *yields_in_catch(void *, void *)
{
    Guard a(1);
    try {
        Guard b(2);
        tether_yield(nullptr, nullptr);
    } catch (...) {
        yield_in_catch = tether_yield(nullptr, nullptr);
        terminate_in_catch = tether_terminate(nullptr);
        block_finished = 1;
        throw;
    }
    return nullptr;
}

START_TEST(test_yield_in_catch_handling_unwind)
{
    tether_fiber *f = make_fiber(yields_in_catch, nullptr);
    reset();
    yield_in_catch = terminate_in_catch = block_finished = 0;
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_unwind(f), 0);
    ck_assert_int_eq(yield_in_catch, -ECANCELED);
    ck_assert_int_eq(terminate_in_catch, -ECANCELED);
    ck_assert_int_eq(block_finished, 1);
    ck_assert_int_eq(swallowed(f), 0);
    static const int want[] = {2, 1};
    expect_order(want, 2);
    tether_fiber_destroy(f);
}
END_TEST

/* The unwind is an abi::__forced_unwind, as glibc's cancellation is. */
NOIPA static void *catches_forced_unwind(void *, void *)
{
    Guard a(1);
    try {
        tether_yield(nullptr, nullptr);
    } catch (abi::__forced_unwind &u) {
        if (norder < 256)
            order[norder++] = typeid(u) == typeid(abi::__forced_unwind) ? 20 : -20;
        throw;
    }
    return nullptr;
}

START_TEST(test_recognised_as_forced_unwind)
{
    tether_fiber *f = make_fiber(catches_forced_unwind, nullptr);
    reset();
    tether_fiber_resume(f, nullptr, nullptr);
    ck_assert_int_eq(tether_fiber_unwind(f), 0);
    static const int want[] = {20, 1};
    expect_order(want, 2);
    tether_fiber_destroy(f);
}
END_TEST

/*
 * Fibers suspended inside catch blocks of their own: the C++ runtime's
 * list of exceptions being handled is per fiber, so neither one's
 * unwind, nor the other's, nor the host's own exceptions, get in the way.
 */
NOIPA static void yields_in_catch_all(int id)
{
    Guard g(id);
    try {
        tether_yield(nullptr, nullptr);
    } catch (...) {
        if (tether_unwinding())
            throw;
    }
}

NOIPA static void *yields_inside_catch(void *arg, void *)
{
    int id = (int)(intptr_t)arg;
    try {
        throw std::runtime_error("being handled");
    } catch (std::exception &) {
        yields_in_catch_all(id);
    }
    return nullptr;
}

START_TEST(test_unwind_inside_catch_blocks)
{
    tether_fiber *a = make_fiber(yields_inside_catch, (void *)1);
    tether_fiber *b = make_fiber(yields_inside_catch, (void *)2);
    reset();
    ck_assert_int_eq(tether_fiber_resume(a, nullptr, nullptr), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_resume(b, nullptr, nullptr), TETHER_YIELDED);
    ck_assert_int_eq(std::uncaught_exceptions(), 0);
    ck_assert(!std::current_exception()); /* theirs stay with them */
    ck_assert_int_eq(tether_fiber_unwind(a), 0);
    ck_assert_int_eq(tether_fiber_unwind(b), 0);
    static const int want[] = {1, 2};
    expect_order(want, 2);
    ck_assert(!std::current_exception());
    tether_fiber_destroy(a);
    tether_fiber_destroy(b);
}
END_TEST

/*
 * Swallowed while an exception_ptr keeps the exception alive (the usual
 * task-forwarding pattern): still noticed, by the fiber's exception
 * state rather than by the object's death.
 */
static std::exception_ptr kept;

NOIPA static void *forwards_exceptions(void *, void *)
{
    Guard a(1);
    for (int i = 0; i < 10; i++) {
        try {
            tether_yield(nullptr, nullptr); /* where the unwind is raised again */
        } catch (...) {
            kept = std::current_exception(); /* kept for later: swallowed */
        }
        after_swallow++;
    }
    return nullptr; /* and here, a last time */
}

START_TEST(test_swallow_with_exception_ptr)
{
    tether_fiber *f = make_fiber(forwards_exceptions, nullptr);
    reset();
    after_swallow = 0;
    tether_fiber_resume(f, nullptr, nullptr);
    /* Swallowed at each turn of the loop, raised again at each yield. */
    ck_assert_int_eq(tether_fiber_unwind(f), 0);
    ck_assert_int_eq(swallowed(f), 10);
    ck_assert_int_eq(after_swallow, 10);
    ck_assert_int_eq(last_destroyed, 1);
    kept = nullptr;
    tether_fiber_destroy(f);
}
END_TEST

/*
 * A catch (...) that replaces the unwind with its own exception, below a
 * destructor that calls into tether: the replacement is not a swallow,
 * and nothing is raised from inside that destructor.
 */
struct DestroysChild {
    tether_fiber *child;
    ~DestroysChild() { tether_fiber_destroy(child); }
};

NOIPA static void *replaces_unwind(void *, void *)
{
    DestroysChild owner{make_fiber(yields, nullptr)};
    tether_fiber_resume(owner.child, nullptr, nullptr);
    try {
        tether_yield(nullptr, nullptr);
    } catch (...) {
        throw std::runtime_error("replaced");
    }
    return nullptr;
}

START_TEST(test_unwind_replaced_by_catch)
{
    tether_fiber *f = make_fiber(replaces_unwind, nullptr);
    reset();
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_unwind(f), 0);
    static const int want[] = {3, 2, 1}; /* the child's guards, via ~DestroysChild */
    expect_order(want, 3);
    ck_assert_int_eq(std::uncaught_exceptions(), 0);
    tether_fiber_destroy(f);
}
END_TEST

/* ------------------------------------------- exceptions that escape */

NOIPA static void *throws_out(void *, void *)
{
    Guard a(1);
    throw std::runtime_error("escapes the guest");
}

START_TEST(test_exception_escapes_to_base)
{
    tether_fiber *f = make_fiber(throws_out, nullptr);
    void *out = nullptr;
    int st = 0;
    reset();
    try {
        st = tether_fiber_resume(f, nullptr, &out);
    } catch (...) {
        ck_abort_msg("the guest's exception reached the host");
    }
    ck_assert_int_eq(st, TETHER_TERMINATED);
    ck_assert_ptr_eq(out, TETHER_EXCEPTION_ESCAPED);
    ck_assert_int_eq(std::uncaught_exceptions(), 0); /* released properly */
    static const int want[] = {1};
    expect_order(want, 1);
    ck_assert_int_eq(tether_fiber_unwind(f), 0); /* nothing left */
    ck_assert_int_eq(norder, 1);
    tether_fiber_destroy(f);
}
END_TEST

/* ---------------------------------------------------------- overflow */

static int depth_reached;

NOIPA static unsigned recurse(unsigned n)
{
    Guard g((int)n);
    volatile char pad[200];
    pad[0] = 1;
    depth_reached = (int)n + 1;
    if (never)
        throw std::runtime_error("never");
    return recurse(n + 1) + pad[0];
}

NOIPA static void *overflows(void *, void *)
{
    return (void *)(uintptr_t)recurse(0);
}

static void overflow_then_unwind(unsigned flags)
{
    tether_fiber_opts o = {};
    o.stack_size = 64 * 1024;
    o.flags = flags;
    void *first_lo = nullptr;
    for (int round = 0; round < 3; round++) {
        tether_fiber *f;
        void *lo;
        int destructors = 0;
        ck_assert_int_eq(tether_fiber_create(&f, overflows, nullptr, &o), 0);
        tether_fiber_stack(f, &lo, nullptr);
        if (round == 0)
            first_lo = lo;
        ck_assert_ptr_eq(lo, first_lo); /* the same stack every round */
        reset();
        depth_reached = 0;
        ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_FAULTED);
        ck_assert_int_eq(tether_fiber_fault(f)->kind, TETHER_FAULT_STACK_OVERFLOW);
        ck_assert_int_gt(depth_reached, 50);
        int r = tether_fiber_unwind(f);
        /*
         * Every level's guard ran, innermost first (order[] keeps 256),
         * but perhaps the one in the frame that faulted: the fault may
         * hit the call to the next level (covered: its guard runs), or
         * the next level's prologue (not covered: that frame is passed
         * over, and said so, though its guard was not built yet).
         */
        destructors = unwinding_seen;
        ck_assert_msg(r == 0 || r == 1, "unwind returned %d", r);
        ck_assert_msg(destructors <= depth_reached && destructors >= depth_reached - r,
                      "%d destructors for depth %d, %d passed over", destructors,
                      depth_reached, r);
        ck_assert_int_eq(last_destroyed, 0); /* the outermost, last */
        ck_assert_int_eq(tether_fiber_destroy(f), 0);
    }
}

START_TEST(test_overflow_unwind_madvise_guard)
{
    overflow_then_unwind(0);
}
END_TEST

START_TEST(test_overflow_unwind_mprotect_guard)
{
    overflow_then_unwind(TETHER_FIBER_GUARD_MPROTECT);
}
END_TEST

/*
 * With a one-page guard there is no room to unwind after an overflow:
 * the unwind faults in the guard, is abandoned, and the host carries on.
 */
START_TEST(test_overflow_unwind_without_room)
{
    tether_fiber_opts o = {};
    o.stack_size = 64 * 1024;
    o.guard_size = 4096;
    for (int round = 0; round < 3; round++) {
        tether_fiber *f;
        int r;
        ck_assert_int_eq(tether_fiber_create(&f, overflows, nullptr, &o), 0);
        ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_FAULTED);
        r = tether_fiber_unwind(f);
        ck_assert_msg(r == -EFAULT || r == 0, "unwind returned %d", r);
        ck_assert_int_eq(tether_fiber_state(f), TETHER_FAULTED);
        ck_assert_int_eq(tether_fiber_fault(f)->kind, TETHER_FAULT_STACK_OVERFLOW);
        ck_assert_int_eq(tether_fiber_destroy(f), 0);
    }
    tether_fiber *g = make_fiber(yields, nullptr);
    reset();
    ck_assert_int_eq(tether_fiber_resume(g, nullptr, nullptr), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_unwind(g), 0);
    ck_assert_int_eq(norder, 3);
    tether_fiber_destroy(g);
}
END_TEST

/* A runaway recursion deeper than ten thousand frames still unwinds. */
/* Real stack frames under ASan too: the overflow is in this function, not in ASan's. */
REAL_STACK_LOCALS NOIPA static unsigned small_frames(unsigned n)
{
    Guard g((int)n);
    depth_reached = (int)n + 1;
    if (never)
        throw std::runtime_error("never");
    return small_frames(n + 1) + 1;
}

NOIPA static void *deep(void *, void *)
{
    return (void *)(uintptr_t)small_frames(0);
}

START_TEST(test_deep_overflow_unwinds)
{
    tether_fiber *f = make_fiber(deep, nullptr); /* default 1 MiB stack */
    reset();
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_FAULTED);
    if (test_sanitizer()) {
        /* Its redzones and bookkeeping make each frame several times bigger. */
        fprintf(stderr, "%s: %d frames deep; 10000 not expected under %s, 2000 are\n",
                __func__, depth_reached, test_sanitizer());
        ck_assert_int_gt(depth_reached, 2000);
    } else {
        ck_assert_int_gt(depth_reached, 10000);
    }
    if (test_under_valgrind()) {
        /*
         * The stack pointer valgrind gives the faulting context is not
         * the kernel's: the unwind of the overflowed stack fails with
         * -ENOTRECOVERABLE. The overflow itself is checked above.
         */
        vg_skip("the unwind after an overflow: valgrind's faulting stack pointer is not the kernel's");
        tether_fiber_destroy(f);
        return;
    }
    int r = tether_fiber_unwind(f);
    ck_assert_msg(r == 0 || r == 1, "unwind returned %d", r);
    ck_assert_msg(unwinding_seen >= depth_reached - r, "%d destructors for depth %d",
                  unwinding_seen, depth_reached);
    ck_assert_int_eq(last_destroyed, 0);
    tether_fiber_destroy(f);
}
END_TEST

/* ----------------------------------------------- a fiber holding another */

struct FiberHandle {
    tether_fiber *f;
    ~FiberHandle() { tether_fiber_destroy(f); }
};

NOIPA static void *holds_inner(void *, void *)
{
    Guard a(1);
    FiberHandle inner{make_fiber(yields, nullptr)};
    tether_fiber_resume(inner.f, nullptr, nullptr); /* it yields: 3 guards live */
    tether_yield(nullptr, nullptr);
    return nullptr;
}

START_TEST(test_unwind_outer_unwinds_inner)
{
    tether_fiber *f = make_fiber(holds_inner, nullptr);
    reset();
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_unwind(f), 0);
    static const int want[] = {3, 2, 1, 1}; /* the inner's three, then the outer's */
    expect_order(want, 4);
    tether_fiber_destroy(f);
}
END_TEST

/* ----------------------------------------------------- unwind on exit */

START_TEST(test_unwind_on_exit_flag)
{
    tether_fiber_opts o = {};
    o.flags = TETHER_FIBER_UNWIND_ON_EXIT;
    tether_fiber *f;
    reset();
    stop_how = 1;
    ck_assert_int_eq(tether_fiber_create(&f, guest_entry, nullptr, &o), 0);
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_FAULTED);
    ck_assert_int_eq(norder, 5); /* already unwound */
    ck_assert_int_eq(tether_fiber_fault(f)->signo, SIGSEGV);
    tether_fiber_destroy(f);
    ck_assert_int_eq(norder, 5);
}
END_TEST

/* ------------------------------------------------------------- reset */

/* reset unwinds what is left first, unless told to discard it. */
START_TEST(test_reset_unwinds_or_discards)
{
    tether_fiber *f = make_fiber(yields, nullptr);
    reset();
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_reset(f, yields, nullptr, 0), 0);
    static const int want[] = {3, 2, 1};
    expect_order(want, 3);
    ck_assert_int_eq(tether_fiber_state(f), TETHER_READY);
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_reset(f, yields, nullptr, TETHER_RESET_DISCARD), 0);
    expect_order(want, 3); /* nothing more ran */
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_destroy(f), 0);
    ck_assert_int_eq(norder, 6);
}
END_TEST

/* An overflowed fiber, discarded, overflows again the same way. */
START_TEST(test_reset_after_overflow)
{
    tether_fiber_opts o = {};
    tether_fiber *f;
    o.stack_size = 64 * 1024;
    ck_assert_int_eq(tether_fiber_create(&f, overflows, nullptr, &o), 0);
    for (int round = 0; round < 3; round++) {
        reset();
        depth_reached = 0;
        ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_FAULTED);
        ck_assert_int_eq(tether_fiber_fault(f)->kind, TETHER_FAULT_STACK_OVERFLOW);
        ck_assert_int_gt(depth_reached, 50);
        ck_assert_int_eq(tether_fiber_reset(f, overflows, nullptr, TETHER_RESET_DISCARD), 0);
        ck_assert_int_eq(norder, 0);
        ck_assert_ptr_null(tether_fiber_fault(f)); /* READY again */
    }
    /* And unwound by a plain reset: every guard but the faulting frame's. */
    reset();
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_FAULTED);
    ck_assert_int_eq(tether_fiber_reset(f, yields, nullptr, 0), 0);
    ck_assert_int_ge(unwinding_seen, depth_reached - 1);
    ck_assert_int_eq(last_destroyed, 0);
    ck_assert_int_eq(tether_fiber_destroy(f), 0);
}
END_TEST

/* -------------------------------------------------------------- soak */


static void fault_and_unwind(int n)
{
    tether_fiber_opts o = {};
    o.stack_size = 64 * 1024;
    for (int i = 0; i < n; i++) {
        tether_fiber *f;
        stop_how = 1 + i % 2;
        reset();
        ck_assert_int_eq(tether_fiber_create(&f, guest_entry, nullptr, &o), 0);
        ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_FAULTED);
        ck_assert_int_eq(tether_fiber_unwind(f), 1); /* the faulting frame */
        ck_assert_int_eq(norder, 5);
        tether_fiber_destroy(f);
    }
}

START_TEST(test_10k_fault_unwind_no_growth)
{
    long rss0, rss1;
    fault_and_unwind(1000);
    rss0 = resident_kib();
    fault_and_unwind(10000);
    rss1 = resident_kib();
    ck_assert_rss_growth_lt(rss1 - rss0, 1024);
}
END_TEST

/*
 * A thread that exits in the middle of an unwind after an overflow (a
 * catch (...) handler that sees the unwind calls pthread_exit) must not
 * leave the guard the unwind opened open: the fiber's next overflow
 * would run into whatever lies below the stack.
 */
static int exit_handlers;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion" /* on purpose */
NOIPA static unsigned overflow_then_exit(unsigned n)
{
    volatile char pad[1536];
    pad[sizeof pad - 1] = (char)n;
    try {
        return overflow_then_exit(n + 1) + (unsigned)pad[sizeof pad - 1];
    } catch (...) {
        if (++exit_handlers == 3)
            pthread_exit((void *)0x78);
        throw;
    }
}
#pragma GCC diagnostic pop

static void *overflows_then_exits(void *, void *)
{
    return (void *)(uintptr_t)overflow_then_exit(0);
}

static void *unwinding_thread(void *p)
{
    tether_fiber *f = static_cast<tether_fiber *>(p);
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_FAULTED);
    ck_assert_int_eq(tether_fiber_fault(f)->kind, TETHER_FAULT_STACK_OVERFLOW);
    tether_fiber_unwind(f); /* does not return: a handler ends the thread */
    return (void *)0xbad;
}

/* Can this process read the byte at p? (No signal: the kernel checks.) */
static bool readable(const void *p)
{
    char c;
    struct iovec local = {&c, 1}, remote = {const_cast<void *>(p), 1};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1;
}

static void *overflows_plain(void *, void *)
{
    exit_handlers = 100; /* its handlers only rethrow */
    return (void *)(uintptr_t)overflow_then_exit(0);
}

static void exit_during_unwind(unsigned flags)
{
    long page = sysconf(_SC_PAGESIZE);
    tether_fiber_opts o = {};
    tether_fiber *f;
    pthread_t th;
    void *ret = nullptr, *lo, *hi;

    o.stack_size = 64 * 1024;
    o.guard_size = 16 * (size_t)page;
    o.flags = flags;
    ck_assert_int_eq(tether_fiber_create(&f, overflows_then_exits, nullptr, &o), 0);
    ck_assert_int_eq(tether_fiber_stack(f, &lo, &hi), 0);
    ck_assert(!readable((char *)lo - 2 * page));
    if (test_under_valgrind()) {
        /* the overflow's unwind is not run: the case says why */
        ck_assert_int_eq(tether_fiber_destroy(f), 0);
        return;
    }
    exit_handlers = 0;
    ck_assert_int_eq(pthread_create(&th, nullptr, unwinding_thread, f), 0);
    ck_assert_int_eq(pthread_join(th, &ret), 0);
    ck_assert_ptr_eq(ret, (void *)0x78);
    ck_assert_int_gt(exit_handlers, 3); /* pthread_exit's unwind saw the rest */
    ck_assert_int_eq(tether_fiber_state(f), TETHER_TERMINATED);
    ck_assert_ptr_eq(tether_fiber_result(f), TETHER_THREAD_EXITED);
    /* The guard is closed again: every page of it, as before. */
    for (char *g = (char *)lo - 16 * page; g < (char *)lo; g += page)
        ck_assert_msg(!readable(g), "guard page %ld is open", (long)(((char *)lo - g) / page));
    /* And the fiber's next life overflows into it the same way. */
    ck_assert_int_eq(tether_fiber_reset(f, overflows_plain, nullptr, TETHER_RESET_DISCARD), 0);
    ck_assert_int_eq(tether_fiber_resume(f, nullptr, nullptr), TETHER_FAULTED);
    ck_assert_int_eq(tether_fiber_fault(f)->kind, TETHER_FAULT_STACK_OVERFLOW);
    ck_assert_int_eq(tether_fiber_destroy(f), 0);
}

START_TEST(test_thread_exit_during_unwind_closes_guard)
{
    if (test_under_valgrind())
        /*
         * The stack pointer valgrind gives the faulting context is not
         * the kernel's: the unwind of the overflowed stack fails with
         * -ENOTRECOVERABLE and returns, where the thread should have
         * ended in one of its handlers. Only the guard is checked.
         */
        vg_skip("the unwind after an overflow: valgrind's faulting stack pointer is not the kernel's");
    exit_during_unwind(0);
    exit_during_unwind(TETHER_FIBER_GUARD_MPROTECT);
}
END_TEST

int main()
{
    Suite *s = suite_create("unwind");
    TCase *tc = tcase_create("stops");

    tcase_add_test(tc, test_unwind_yielded);
    tcase_add_test(tc, test_destroy_unwinds_first);
    tcase_add_test(tc, test_nothing_to_unwind);
    tcase_add_test(tc, test_unwind_running_refused);
    tcase_add_test(tc, test_nested_segments_terminate);
    tcase_add_test(tc, test_nested_segments_segv);
    tcase_add_test(tc, test_nested_segments_fpe);
    tcase_add_test(tc, test_report_demangles);
    tcase_add_test(tc, test_nothrow_leaf_fault);
    tcase_add_test(tc, test_yield_inside_noexcept);
    tcase_add_test(tc, test_unwind_after_deadline);
    suite_add_tcase(s, tc);

    tc = tcase_create("catch");
    tcase_add_test(tc, test_catch_all_rethrows);
    tcase_add_test(tc, test_catch_all_swallows);
    tcase_add_test(tc, test_swallow_then_return);
    tcase_add_test(tc, test_recognised_as_forced_unwind);
    tcase_add_test(tc, test_yield_in_catch_handling_unwind);
    tcase_add_test(tc, test_unwind_inside_catch_blocks);
    tcase_add_test(tc, test_swallow_with_exception_ptr);
    tcase_add_test(tc, test_unwind_replaced_by_catch);
    tcase_add_test(tc, test_exception_escapes_to_base);
    suite_add_tcase(s, tc);

    tc = tcase_create("stacks");
    tcase_add_test(tc, test_overflow_unwind_madvise_guard);
    tcase_add_test(tc, test_overflow_unwind_mprotect_guard);
    tcase_add_test(tc, test_overflow_unwind_without_room);
    tcase_add_test(tc, test_deep_overflow_unwinds);
    tcase_add_test(tc, test_unwind_outer_unwinds_inner);
    tcase_add_test(tc, test_unwind_on_exit_flag);
    tcase_add_test(tc, test_reset_unwinds_or_discards);
    tcase_add_test(tc, test_reset_after_overflow);
    tcase_add_test(tc, test_thread_exit_during_unwind_closes_guard);
    suite_add_tcase(s, tc);

    tc = tcase_create("soak");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_10k_fault_unwind_no_growth);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
