/* Fiber life cycle: every state transition, values both ways, misuse. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "testlib.h"

static void *return_arg(void *arg, void *in)
{
    (void)in;
    return arg;
}

START_TEST(test_create_defaults_ready)
{
    int x;
    tether_fiber *f = make_fiber(return_arg, &x);
    ck_assert_int_eq(tether_fiber_state(f), TETHER_READY);
    ck_assert_int_eq(tether_fiber_destroy(f), 0);
}
END_TEST

START_TEST(test_return_value)
{
    int x;
    void *out = NULL;
    tether_fiber *f = make_fiber(return_arg, &x);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_ptr_eq(out, &x);
    ck_assert_int_eq(tether_fiber_state(f), TETHER_RETURNED);
    ck_assert_int_eq(tether_fiber_destroy(f), 0);
}
END_TEST

/* Echoes each resume's value back, incremented, until it receives 0. */
static void *echo(void *arg, void *in)
{
    uintptr_t v = (uintptr_t)in;
    (void)arg;
    while (v != 0) {
        void *next;
        ck_assert_int_eq(tether_yield((void *)(v + 1), &next), 0);
        v = (uintptr_t)next;
    }
    return (void *)(uintptr_t)0xd09e;
}

START_TEST(test_values_both_ways)
{
    tether_fiber *f = make_fiber(echo, NULL);
    void *out;
    for (uintptr_t i = 1; i <= 1000; i++) {
        ck_assert_int_eq(tether_fiber_resume(f, (void *)i, &out), TETHER_YIELDED);
        ck_assert_uint_eq((uintptr_t)out, i + 1);
        ck_assert_int_eq(tether_fiber_state(f), TETHER_YIELDED);
    }
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_uint_eq((uintptr_t)out, 0xd09e);
    tether_fiber_destroy(f);
}
END_TEST

static void *report_state(void *arg, void *in)
{
    tether_fiber *self = tether_current();
    (void)in;
    *(int *)arg = tether_fiber_state(self);
    return self;
}

START_TEST(test_running_state_and_current)
{
    int seen = -1;
    void *out;
    tether_fiber *f = make_fiber(report_state, &seen);
    ck_assert_ptr_null(tether_current());
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_int_eq(seen, TETHER_RUNNING);
    ck_assert_ptr_eq(out, f);
    ck_assert_ptr_null(tether_current());
    tether_fiber_destroy(f);
}
END_TEST

START_TEST(test_out_may_be_null)
{
    tether_fiber *f = make_fiber(echo, NULL);
    ck_assert_int_eq(tether_fiber_resume(f, (void *)5, NULL), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_RETURNED);
    tether_fiber_destroy(f);
}
END_TEST

/* ------------------------------------------------------------ misuse */

START_TEST(test_create_null_args)
{
    tether_fiber *f = (tether_fiber *)0x1;
    ck_assert_int_eq(tether_fiber_create(NULL, return_arg, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tether_fiber_create(&f, NULL, NULL, NULL), -EINVAL);
    ck_assert_ptr_eq(f, (tether_fiber *)0x1); /* untouched on failure */
}
END_TEST

START_TEST(test_create_bad_flags)
{
    tether_fiber *f;
    tether_fiber_opts o = {.flags = 0x80000000u};
    ck_assert_int_eq(tether_fiber_create(&f, return_arg, NULL, &o), -EINVAL);
}
END_TEST

START_TEST(test_create_bad_sizes)
{
    tether_fiber *f;
    tether_fiber_opts small = {.stack_size = TETHER_STACK_SIZE_MIN - 1};
    tether_fiber_opts huge = {.stack_size = TETHER_STACK_SIZE_MAX + 1};
    tether_fiber_opts absurd = {.stack_size = SIZE_MAX};
    tether_fiber_opts big_guard = {.guard_size = TETHER_GUARD_SIZE_MAX + 1};
    ck_assert_int_eq(tether_fiber_create(&f, return_arg, NULL, &small), -ERANGE);
    ck_assert_int_eq(tether_fiber_create(&f, return_arg, NULL, &huge), -ERANGE);
    ck_assert_int_eq(tether_fiber_create(&f, return_arg, NULL, &absurd), -ERANGE);
    ck_assert_int_eq(tether_fiber_create(&f, return_arg, NULL, &big_guard), -ERANGE);
}
END_TEST

START_TEST(test_resume_null)
{
    ck_assert_int_eq(tether_fiber_resume(NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tether_fiber_destroy(NULL), -EINVAL);
    ck_assert_int_eq(tether_fiber_state(NULL), -EINVAL);
    ck_assert_int_eq(tether_fiber_stack(NULL, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_resume_finished)
{
    tether_fiber *f = make_fiber(return_arg, NULL);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_RETURNED);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), -ESRCH);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), -ESRCH);
    ck_assert_int_eq(tether_fiber_state(f), TETHER_RETURNED);
    tether_fiber_destroy(f);
}
END_TEST

static void *resume_self(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return (void *)(intptr_t)tether_fiber_resume(tether_current(), NULL, NULL);
}

START_TEST(test_resume_self)
{
    void *out;
    tether_fiber *f = make_fiber(resume_self, NULL);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_int_eq((intptr_t)out, -EDEADLK);
    tether_fiber_destroy(f);
}
END_TEST

/* inner resumes outer (its host): refused; destroy of the host refused too. */
static void *resume_host(void *arg, void *in)
{
    tether_fiber *outer = arg;
    int *r = in;
    r[0] = tether_fiber_resume(outer, NULL, NULL);
    r[1] = tether_fiber_destroy(outer);
    r[2] = tether_fiber_destroy(tether_current());
    return NULL;
}

static void *host_of_inner(void *arg, void *in)
{
    tether_fiber *inner = make_fiber(resume_host, tether_current());
    int st = tether_fiber_resume(inner, in, NULL);
    (void)arg;
    tether_fiber_destroy(inner);
    return (void *)(intptr_t)st;
}

START_TEST(test_resume_ancestor_and_destroy_running)
{
    int r[3] = {0, 0, 0};
    void *out;
    tether_fiber *outer = make_fiber(host_of_inner, NULL);
    ck_assert_int_eq(tether_fiber_resume(outer, r, &out), TETHER_RETURNED);
    ck_assert_int_eq((intptr_t)out, TETHER_RETURNED);
    ck_assert_int_eq(r[0], -EDEADLK);
    ck_assert_int_eq(r[1], -EBUSY);
    ck_assert_int_eq(r[2], -EBUSY);
    ck_assert_int_eq(tether_fiber_state(outer), TETHER_RETURNED);
    tether_fiber_destroy(outer);
}
END_TEST

START_TEST(test_yield_outside_fiber)
{
    void *in = (void *)0x1;
    ck_assert_int_eq(tether_yield(NULL, &in), -EPERM);
    ck_assert_ptr_eq(in, (void *)0x1);
}
END_TEST

START_TEST(test_destroy_ready_and_yielded)
{
    tether_fiber *a = make_fiber(echo, NULL);
    tether_fiber *b = make_fiber(echo, NULL);
    ck_assert_int_eq(tether_fiber_resume(b, (void *)1, NULL), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_destroy(a), 0);
    ck_assert_int_eq(tether_fiber_destroy(b), 0);
}
END_TEST

START_TEST(test_strerror)
{
    ck_assert_str_eq(tether_strerror(-EDEADLK), "the fiber is the caller or one of its hosts");
    ck_assert_str_eq(tether_strerror(TETHER_YIELDED), "the fiber yielded");
    ck_assert_str_eq(tether_strerror(-12345), "unknown tether code");
    /* Every code a public function returns has a message of its own. */
    static const int codes[] = {-EINVAL, -ERANGE, -ENOMEM, -EBUSY, -EDEADLK,
                                -ESRCH, -EPERM, -EAGAIN, -ECANCELED, -EFAULT,
                                -ENOTRECOVERABLE};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        ck_assert_msg(strcmp(tether_strerror(codes[i]), "unknown tether code") != 0,
                      "no message for %d", codes[i]);
}
END_TEST

/* ------------------------------------------------------ reset, user data */

static void *read_user_data(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return tether_fiber_user_data(tether_current());
}

START_TEST(test_user_data)
{
    int x;
    void *out = NULL;
    tether_fiber *f = make_fiber(read_user_data, NULL);
    ck_assert_ptr_null(tether_fiber_user_data(f));
    ck_assert_ptr_null(tether_fiber_user_data(NULL));
    ck_assert_int_eq(tether_fiber_set_user_data(NULL, &x), -EINVAL);
    ck_assert_int_eq(tether_fiber_set_user_data(f, &x), 0);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_ptr_eq(out, &x); /* read on the fiber itself */
    tether_fiber_destroy(f);
}
END_TEST

/* The same fiber object and stack serve run after run. */
START_TEST(test_reset_reuses)
{
    int x, y;
    void *out = NULL, *lo0, *lo1;
    tether_fiber *f = make_fiber(return_arg, &x);
    ck_assert_int_eq(tether_fiber_set_user_data(f, &y), 0);
    ck_assert_int_eq(tether_fiber_stack(f, &lo0, NULL), 0);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_ptr_eq(out, &x);
    /* RETURNED -> READY, with a new entry */
    ck_assert_int_eq(tether_fiber_reset(f, echo, NULL, 0), 0);
    ck_assert_int_eq(tether_fiber_state(f), TETHER_READY);
    ck_assert_int_eq(tether_fiber_resume(f, (void *)5, &out), TETHER_YIELDED);
    ck_assert_uint_eq((uintptr_t)out, 6);
    /* YIELDED -> READY: its frames are dropped */
    ck_assert_int_eq(tether_fiber_reset(f, return_arg, &y, TETHER_RESET_DISCARD), 0);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_ptr_eq(out, &y);
    ck_assert_int_eq(tether_fiber_stack(f, &lo1, NULL), 0);
    ck_assert_ptr_eq(lo0, lo1);
    ck_assert_ptr_eq(tether_fiber_user_data(f), &y); /* kept */
    tether_fiber_destroy(f);
}
END_TEST

static void *reset_self(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return (void *)(intptr_t)tether_fiber_reset(tether_current(), return_arg, NULL, 0);
}

START_TEST(test_reset_misuse)
{
    void *out = NULL;
    tether_fiber *f = make_fiber(reset_self, NULL);
    ck_assert_int_eq(tether_fiber_reset(NULL, return_arg, NULL, 0), -EINVAL);
    ck_assert_int_eq(tether_fiber_reset(f, NULL, NULL, 0), -EINVAL);
    ck_assert_int_eq(tether_fiber_reset(f, return_arg, NULL, 0x80), -EINVAL);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_int_eq((int)(intptr_t)out, -EDEADLK); /* itself, running */
    tether_fiber_destroy(f);
}
END_TEST

/* ----------------------------------------------------- stack and nesting */

static unsigned recurse(unsigned n)
{
    volatile char pad[256];
    pad[0] = (char)n;
    if (n == 0)
        return pad[0];
    return recurse(n - 1) + 1 + pad[0] * 0;
}

static void *deep(void *arg, void *in)
{
    (void)in;
    return (void *)(uintptr_t)recurse((unsigned)(uintptr_t)arg);
}

START_TEST(test_deep_recursion)
{
    /* ~3000 frames of ~300 bytes: close to 1 MiB, within the default stack. */
    void *out;
    tether_fiber *f = make_fiber(deep, (void *)(uintptr_t)2500);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_uint_eq((uintptr_t)out, 2500);
    tether_fiber_destroy(f);
}
END_TEST

START_TEST(test_stack_bounds)
{
    void *lo, *hi;
    tether_fiber_opts o = {.stack_size = 100000, .guard_size = 5000};
    tether_fiber *f;
    ck_assert_int_eq(tether_fiber_create(&f, return_arg, NULL, &o), 0);
    ck_assert_int_eq(tether_fiber_stack(f, &lo, &hi), 0);
    /* rounded up to pages, and less than a page more (tether's own page) */
    ck_assert_uint_ge((uintptr_t)hi - (uintptr_t)lo, 102400);
    ck_assert_uint_lt((uintptr_t)hi - (uintptr_t)lo, 102400 + 4096);
    ck_assert_uint_eq((uintptr_t)lo % 4096, 0);
    tether_fiber_destroy(f);
}
END_TEST

static void *where_am_i(void *arg, void *in)
{
    (void)in;
    /*
     * The frame itself, not a local's address: with ASan's
     * detect_stack_use_after_return, locals live on a fake stack.
     */
    *(volatile uintptr_t *)arg = (uintptr_t)__builtin_frame_address(0);
    return NULL;
}

START_TEST(test_runs_on_its_own_stack)
{
    void *lo, *hi;
    uintptr_t out = 0;
    tether_fiber *f = make_fiber(where_am_i, &out);
    tether_fiber_stack(f, &lo, &hi);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_RETURNED);
    ck_assert_uint_ge(out, (uintptr_t)lo);
    ck_assert_uint_lt(out, (uintptr_t)hi);
    tether_fiber_destroy(f);
}
END_TEST

/*
 * Nesting: each level hosts the next. The innermost yields 1 and 2; every
 * host passes each value up, adding 100 * its depth, and returns the sum.
 */
static void *level(void *arg, void *in)
{
    uintptr_t depth = (uintptr_t)arg;
    uintptr_t sum = 0;
    void *v;
    (void)in;
    if (depth == 3) {
        tether_yield((void *)1, NULL);
        tether_yield((void *)2, NULL);
        return (void *)3;
    }
    tether_fiber *child = make_fiber(level, (void *)(depth + 1));
    tether_fiber *self = tether_current();
    int st;
    while ((st = tether_fiber_resume(child, NULL, &v)) == TETHER_YIELDED) {
        ck_assert_ptr_eq(tether_current(), self);
        ck_assert_int_eq(tether_fiber_state(self), TETHER_RUNNING);
        tether_yield((void *)(depth * 100 + (uintptr_t)v), NULL);
    }
    ck_assert_int_eq(st, TETHER_RETURNED);
    sum = (uintptr_t)v + depth;
    tether_fiber_destroy(child);
    return (void *)sum;
}

START_TEST(test_nesting)
{
    tether_fiber *f = make_fiber(level, (void *)0);
    uintptr_t seen[8];
    int n = 0, st;
    void *v;
    while ((st = tether_fiber_resume(f, NULL, &v)) == TETHER_YIELDED) {
        ck_assert_int_lt(n, 8);
        seen[n++] = (uintptr_t)v;
    }
    ck_assert_int_eq(st, TETHER_RETURNED);
    ck_assert_int_eq(n, 2);
    /* 1 passes depth 2, 1 and 0: +200 +100 +0 */
    ck_assert_uint_eq(seen[0], 301);
    ck_assert_uint_eq(seen[1], 302);
    ck_assert_uint_eq((uintptr_t)v, 3 + 2 + 1 + 0);
    ck_assert_ptr_null(tether_current());
    tether_fiber_destroy(f);
}
END_TEST

/* Two sibling fibers resumed alternately from the host. */
START_TEST(test_interleave_siblings)
{
    tether_fiber *a = make_fiber(echo, NULL), *b = make_fiber(echo, NULL);
    void *va, *vb;
    ck_assert_int_eq(tether_fiber_resume(a, (void *)10, &va), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_resume(b, (void *)20, &vb), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_resume(a, va, &va), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_resume(b, vb, &vb), TETHER_YIELDED);
    ck_assert_uint_eq((uintptr_t)va, 12);
    ck_assert_uint_eq((uintptr_t)vb, 22);
    ck_assert_int_eq(tether_fiber_resume(a, NULL, NULL), TETHER_RETURNED);
    ck_assert_int_eq(tether_fiber_state(b), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_resume(b, NULL, NULL), TETHER_RETURNED);
    tether_fiber_destroy(a);
    tether_fiber_destroy(b);
}
END_TEST

/* The switch keeps callee-saved registers and the FP control words. */
#include <fenv.h>
static void *change_rounding(void *arg, void *in)
{
    (void)arg;
    (void)in;
    fesetround(FE_UPWARD);
    tether_yield(NULL, NULL);
    return (void *)(intptr_t)fegetround();
}

START_TEST(test_fp_control_is_per_fiber)
{
    void *out;
    tether_fiber_opts o = {.flags = TETHER_FIBER_FP_CONTROL};
    tether_fiber *f;
    ck_assert_int_eq(tether_fiber_create(&f, change_rounding, NULL, &o), 0);
    ck_assert_int_eq(fegetround(), FE_TONEAREST);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_YIELDED);
    ck_assert_int_eq(fegetround(), FE_TONEAREST); /* the host's mode is back */
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_int_eq((intptr_t)out, FE_UPWARD);   /* the fiber's mode survived */
    ck_assert_int_eq(fegetround(), FE_TONEAREST);
    tether_fiber_destroy(f);
}
END_TEST

/* Without the flag the thread's control is shared, as with any function call. */
START_TEST(test_fp_control_shared_by_default)
{
    void *out;
    tether_fiber *f = make_fiber(change_rounding, NULL);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_YIELDED);
    ck_assert_int_eq(fegetround(), FE_UPWARD); /* the guest's change stays */
    fesetround(FE_DOWNWARD);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_int_eq((intptr_t)out, FE_DOWNWARD); /* it saw the host's */
    fesetround(FE_TONEAREST);
    tether_fiber_destroy(f);
}
END_TEST

static Suite *fiber_suite(void)
{
    Suite *s = suite_create("fiber");
    TCase *life = tcase_create("lifecycle");
    TCase *misuse = tcase_create("misuse");
    TCase *stack = tcase_create("stack");

    tcase_add_test(life, test_create_defaults_ready);
    tcase_add_test(life, test_return_value);
    tcase_add_test(life, test_values_both_ways);
    tcase_add_test(life, test_running_state_and_current);
    tcase_add_test(life, test_out_may_be_null);
    tcase_add_test(life, test_nesting);
    tcase_add_test(life, test_interleave_siblings);
    tcase_add_test(life, test_fp_control_is_per_fiber);
    tcase_add_test(life, test_fp_control_shared_by_default);
    tcase_add_test(life, test_user_data);
    tcase_add_test(life, test_reset_reuses);
    suite_add_tcase(s, life);

    tcase_add_test(misuse, test_create_null_args);
    tcase_add_test(misuse, test_create_bad_flags);
    tcase_add_test(misuse, test_create_bad_sizes);
    tcase_add_test(misuse, test_resume_null);
    tcase_add_test(misuse, test_resume_finished);
    tcase_add_test(misuse, test_resume_self);
    tcase_add_test(misuse, test_resume_ancestor_and_destroy_running);
    tcase_add_test(misuse, test_yield_outside_fiber);
    tcase_add_test(misuse, test_destroy_ready_and_yielded);
    tcase_add_test(misuse, test_strerror);
    tcase_add_test(misuse, test_reset_misuse);
    suite_add_tcase(s, misuse);

    tcase_add_test(stack, test_deep_recursion);
    tcase_add_test(stack, test_stack_bounds);
    tcase_add_test(stack, test_runs_on_its_own_stack);
    suite_add_tcase(s, stack);
    return s;
}

int main(void)
{
    return run_suite(fiber_suite());
}
