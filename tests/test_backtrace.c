/*
 * Unwinders walk from a guest into the host that resumed it: libgcc's
 * _Unwind_Backtrace and libunwind's unw_backtrace (where libunwind is
 * installed: configure says), called on a fiber, on a nested fiber and
 * on a second thread.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#ifdef TETHER_TEST_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <unwind.h>

#include "testlib.h"

#define MAX_FRAMES 64

struct trace {
    void *ip[MAX_FRAMES];
    int n;
    int yield_first; /* the guest yields once and traces on its second run */
};

/* ---------------------------------------------------------- collectors */

/*
 * libgcc's own _Unwind_Backtrace and _Unwind_GetIP, looked up in libgcc_s
 * by name: libunwind (also linked here) defines functions of the same
 * names, and the two unwinders' contexts must not be mixed.
 */
typedef _Unwind_Reason_Code (*backtrace_fn)(_Unwind_Trace_Fn, void *);
typedef _Unwind_Ptr (*getip_fn)(struct _Unwind_Context *);
static getip_fn gcc_get_ip;

static _Unwind_Reason_Code collect(struct _Unwind_Context *ctx, void *arg)
{
    struct trace *t = arg;
    if (t->n == MAX_FRAMES)
        return _URC_END_OF_STACK;
    t->ip[t->n++] = (void *)gcc_get_ip(ctx);
    return _URC_NO_REASON;
}

static void trace_libgcc(struct trace *t)
{
    void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL);
    ck_assert_ptr_nonnull(h);
    backtrace_fn bt = (backtrace_fn)(uintptr_t)dlsym(h, "_Unwind_Backtrace");
    gcc_get_ip = (getip_fn)(uintptr_t)dlsym(h, "_Unwind_GetIP");
    ck_assert_ptr_nonnull((void *)(uintptr_t)bt);
    ck_assert_ptr_nonnull((void *)(uintptr_t)gcc_get_ip);
    t->n = 0;
    bt(collect, t);
    dlclose(h);
}

#ifdef TETHER_TEST_LIBUNWIND
static void trace_libunwind(struct trace *t)
{
    t->n = unw_backtrace(t->ip, MAX_FRAMES);
}
#endif

/*
 * A frame-pointer walk, as perf does it: [rbp] is the caller's rbp and
 * [rbp+8] its return address. This file is built with frame pointers; the
 * walk stops once it has passed `stop_fn` (frames beyond may be code
 * without frame pointers, whose rbp is not a frame record).
 */
static void *fp_stop_fn;
static uintptr_t func_of(void *ip);

static void trace_fp(struct trace *t)
{
    void **fp = __builtin_frame_address(0);
    t->n = 0;
    while (fp && t->n < MAX_FRAMES && ((uintptr_t)fp & 7) == 0) {
        void *ip = fp[1];
        t->ip[t->n++] = ip;
        if (func_of(ip) == (uintptr_t)fp_stop_fn)
            break;
        fp = fp[0];
    }
}

/* ------------------------------------------------------------ matching */

/* The start of the function holding return address `ip`, from libgcc's tables. */
static uintptr_t func_of(void *ip)
{
    static void *(*enclosing)(void *);
    if (!enclosing) {
        void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NOLOAD);
        ck_assert_ptr_nonnull(h);
        enclosing = (void *(*)(void *))(uintptr_t)dlsym(h, "_Unwind_FindEnclosingFunction");
        ck_assert_ptr_nonnull((void *)(uintptr_t)enclosing);
    }
    return (uintptr_t)enclosing((char *)ip - 1);
}

/* Index of the first frame at or after `from` inside function `fn`, or -1. */
static int find(const struct trace *t, int from, void *fn)
{
    for (int i = from; i < t->n; i++)
        if (func_of(t->ip[i]) == (uintptr_t)fn)
            return i;
    return -1;
}

static void dump(const struct trace *t)
{
    for (int j = 0; j < t->n; j++)
        fprintf(stderr, "  frame %d: ip %p in function at %#lx\n", j, t->ip[j],
                (unsigned long)func_of(t->ip[j]));
}

/* Whether return address `ip` lies in libtether. */
static int in_tether(void *ip)
{
    Dl_info a, b;
    return dladdr((char *)ip - 1, &a) && dladdr((void *)(uintptr_t)tether_fiber_resume, &b) &&
           a.dli_fbase == b.dli_fbase;
}

/*
 * Asserts that the functions appear in this order; between two of them
 * there may be only tether's own frames (the fiber's bottom frame, the
 * slow way of a resume). tether_fiber_resume itself is usually not
 * there: it tail-calls the switch, so the host frame after the fiber's
 * bottom is its caller.
 */
static void assert_order(const struct trace *t, void *const *fns, const char *const *names)
{
    int at = 0;
    for (int k = 0; fns[k]; k++) {
        int i = find(t, at, fns[k]);
        if (i < 0)
            dump(t);
        ck_assert_msg(i >= 0, "frame %s missing from a %d-frame backtrace (after frame %d)",
                      names[k], t->n, at);
        for (int j = at; k > 0 && j < i; j++) {
            if (!in_tether(t->ip[j]))
                dump(t);
            ck_assert_msg(in_tether(t->ip[j]), "frame %d, between %s and %s, is not tether's", j,
                          names[k - 1], names[k]);
        }
        at = i + 1;
    }
}

/* -------------------------------------------------------------- guests */

typedef void (*tracer)(struct trace *);

OPAQUE static void guest_leaf(tracer tr, struct trace *t)
{
    tr(t);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
}

OPAQUE static void *guest_entry(void *arg, void *in)
{
    struct trace *t = arg;
    if (t->yield_first)
        ck_assert_int_eq(tether_yield(NULL, &in), 0);
    guest_leaf((tracer)(uintptr_t)in, arg);
    __asm__ volatile("" ::: "memory");
    return NULL;
}

OPAQUE static int host_resume(tracer tr, struct trace *t)
{
    tether_fiber *f = make_fiber(guest_entry, t);
    int st = tether_fiber_resume(f, (void *)(uintptr_t)tr, NULL);
    if (st == TETHER_YIELDED)
        st = tether_fiber_resume(f, (void *)(uintptr_t)tr, NULL);
    tether_fiber_destroy(f);
    __asm__ volatile("" ::: "memory");
    return st;
}

/* A fiber's first run, and a later one (the fast way of a resume). */
static void check_single(tracer tr)
{
    for (int yield_first = 0; yield_first < 2; yield_first++) {
        struct trace t = {.yield_first = yield_first};
        ck_assert_int_eq(host_resume(tr, &t), TETHER_RETURNED);
        void *const fns[] = {(void *)guest_leaf, (void *)guest_entry, (void *)host_resume, NULL};
        const char *const names[] = {"guest_leaf", "guest_entry", "host_resume"};
        assert_order(&t, fns, names);
    }
}

START_TEST(test_libgcc_crosses_into_host)
{
    check_single(trace_libgcc);
}
END_TEST

#ifdef TETHER_TEST_LIBUNWIND
START_TEST(test_libunwind_crosses_into_host)
{
    check_single(trace_libunwind);
}
END_TEST
#endif

/* Nested: the inner guest's trace crosses the outer fiber into the host. */
OPAQUE static void *outer_entry(void *arg, void *in)
{
    int st = host_resume((tracer)(uintptr_t)in, arg);
    __asm__ volatile("" ::: "memory");
    return (void *)(intptr_t)st;
}

OPAQUE static void nested(tracer tr)
{
    for (int yield_first = 0; yield_first < 2; yield_first++) {
        struct trace t = {.yield_first = yield_first};
        void *st;
        tether_fiber *outer = make_fiber(outer_entry, &t);
        ck_assert_int_eq(tether_fiber_resume(outer, (void *)(uintptr_t)tr, &st), TETHER_RETURNED);
        ck_assert_int_eq((intptr_t)st, TETHER_RETURNED);
        tether_fiber_destroy(outer);
        void *const fns[] = {(void *)guest_leaf, (void *)guest_entry, (void *)host_resume,
                             (void *)outer_entry, (void *)nested, NULL};
        const char *const names[] = {"guest_leaf", "guest_entry", "host_resume", "outer_entry",
                                     "nested"};
        assert_order(&t, fns, names);
    }
}

/*
 * tether_fiber_resume keeps no frame of its own (it tail-calls the
 * switch), so an fp walk goes from the fiber's bottom frame (whose rbp
 * points at the record's frame-pointer pair) to whoever called it.
 */
OPAQUE static void fp_walk_from_guest(void)
{
    for (int yield_first = 0; yield_first < 2; yield_first++) {
        struct trace t = {.yield_first = yield_first};
        fp_stop_fn = (void *)fp_walk_from_guest;
        ck_assert_int_eq(host_resume(trace_fp, &t), TETHER_RETURNED);
        void *const fns[] = {(void *)guest_leaf, (void *)guest_entry, (void *)host_resume,
                             (void *)fp_walk_from_guest, NULL};
        const char *const names[] = {"guest_leaf", "guest_entry", "host_resume",
                                     "fp_walk_from_guest"};
        assert_order(&t, fns, names);
    }
}

START_TEST(test_frame_pointer_walk_crosses_into_host)
{
    fp_walk_from_guest();
}
END_TEST

START_TEST(test_nested_libgcc)
{
    nested(trace_libgcc);
}
END_TEST

#ifdef TETHER_TEST_LIBUNWIND
START_TEST(test_nested_libunwind)
{
    nested(trace_libunwind);
}
END_TEST
#endif

/* On a second thread, whose stack lies elsewhere than the main thread's. */
static void *thread_main(void *arg)
{
    nested((tracer)(uintptr_t)arg);
    return NULL;
}

START_TEST(test_second_thread)
{
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, thread_main, (void *)(uintptr_t)trace_libgcc), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
#ifdef TETHER_TEST_LIBUNWIND
    ck_assert_int_eq(pthread_create(&th, NULL, thread_main, (void *)(uintptr_t)trace_libunwind), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("backtrace");
    TCase *tc = tcase_create("unwinders");
    tcase_add_test(tc, test_libgcc_crosses_into_host);
#ifdef TETHER_TEST_LIBUNWIND
    tcase_add_test(tc, test_libunwind_crosses_into_host);
    tcase_add_test(tc, test_nested_libunwind);
#else
    printf("libunwind is not installed: its backtraces are not checked\n");
#endif
    tcase_add_test(tc, test_frame_pointer_walk_crosses_into_host);
    tcase_add_test(tc, test_nested_libgcc);
    tcase_add_test(tc, test_second_thread);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
