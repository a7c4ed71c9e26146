/*
 * Forced unwinding, seen from C compiled with -fexceptions: cleanup
 * handlers (__attribute__((cleanup)) and pthread_cleanup_push) left on a
 * dead fiber's stack run, innermost first, after a yield, a
 * tether_terminate and a real fault.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "testlib.h"

static int order[64];
static int norder;

static void record(int *id)
{
    if (norder < 64)
        order[norder++] = *id;
}

static void record_ptr(void *id)
{
    record(id);
}

#define CLEANUP(name, id) int name __attribute__((cleanup(record))) = (id)

static int *volatile nowhere;
static int how; /* 0: yield, 1: terminate, 2: fault */

OPAQUE static void innermost(void)
{
    CLEANUP(c, 4);
    if (how == 0)
        tether_yield(NULL, NULL);
    else if (how == 1)
        tether_terminate(NULL);
    else
        *nowhere = 1; /* this frame is passed over: its cleanup does not run */
    (void)c;
}

OPAQUE static void middle(void)
{
    static int three = 3;
    pthread_cleanup_push(record_ptr, &three);
    CLEANUP(c, 2);
    innermost();
    (void)c;
    pthread_cleanup_pop(0);
}

OPAQUE static void *entry(void *arg, void *in)
{
    CLEANUP(c, 1);
    (void)arg;
    (void)in;
    middle();
    (void)c;
    return NULL;
}

static void run(int h, int expect_state, const int *want, int n)
{
    tether_fiber *f = make_fiber(entry, NULL);
    norder = 0;
    how = h;
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), expect_state);
    ck_assert_int_eq(norder, 0);
    /* After a fault, innermost's cleanup cannot run: the host is told. */
    ck_assert_int_eq(tether_fiber_unwind(f), h == 2 ? 1 : 0);
    ck_assert_int_eq(norder, n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(order[i], want[i]);
    tether_fiber_destroy(f);
}

START_TEST(test_c_cleanups_after_yield)
{
    static const int want[] = {4, 2, 3, 1};
    run(0, TETHER_YIELDED, want, 4);
}
END_TEST

START_TEST(test_c_cleanups_after_terminate)
{
    static const int want[] = {4, 2, 3, 1};
    run(1, TETHER_TERMINATED, want, 4);
}
END_TEST

START_TEST(test_c_cleanups_after_fault)
{
    static const int want[] = {2, 3, 1};
    run(2, TETHER_FAULTED, want, 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("unwind_c");
    TCase *tc = tcase_create("cleanups");

    tcase_add_test(tc, test_c_cleanups_after_yield);
    tcase_add_test(tc, test_c_cleanups_after_terminate);
    tcase_add_test(tc, test_c_cleanups_after_fault);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
