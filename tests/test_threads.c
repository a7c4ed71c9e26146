/*
 * Threads: fibers on several threads at once, a suspended fiber resumed
 * on another thread (allowed), and two threads racing to resume one
 * fiber (one wins, the other gets -EBUSY, nothing breaks).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#include "testlib.h"

/* Yields 1..n, checking that tether_current() is itself each time. */
static void *count(void *arg, void *in)
{
    uintptr_t n = (uintptr_t)arg;
    tether_fiber *self = tether_current();
    (void)in;
    for (uintptr_t i = 1; i <= n; i++) {
        tether_yield((void *)i, NULL);
        if (tether_current() != self)
            return (void *)0;
    }
    return (void *)n;
}

static void *run_many(void *arg)
{
    (void)arg;
    for (int k = 0; k < 200; k++) {
        tether_fiber *f;
        void *v;
        uintptr_t expect = 1;
        int st;
        if (tether_fiber_create(&f, count, (void *)50, NULL) != 0)
            return (void *)1;
        while ((st = tether_fiber_resume(f, NULL, &v)) == TETHER_YIELDED)
            if ((uintptr_t)v != expect++)
                return (void *)2;
        if (st != TETHER_RETURNED || (uintptr_t)v != 50 || tether_current() != NULL)
            return (void *)3;
        tether_fiber_destroy(f);
    }
    return NULL;
}

START_TEST(test_two_threads_at_once)
{
    pthread_t a, b;
    void *ra, *rb;
    ck_assert_int_eq(pthread_create(&a, NULL, run_many, NULL), 0);
    ck_assert_int_eq(pthread_create(&b, NULL, run_many, NULL), 0);
    run_many(NULL);
    ck_assert_int_eq(pthread_join(a, &ra), 0);
    ck_assert_int_eq(pthread_join(b, &rb), 0);
    ck_assert_ptr_null(ra);
    ck_assert_ptr_null(rb);
}
END_TEST

/*
 * pthread_self() is declared const, so the compiler may reuse one call's
 * result across a yield: exactly the thread-local hazard the header warns
 * about for migrating fibers. Asking through a function the optimiser
 * cannot see into gets a fresh answer.
 */
OPAQUE static pthread_t this_thread(void)
{
    return pthread_self();
}

/* Records the thread it runs on at each step. */
static void *note_thread(void *arg, void *in)
{
    pthread_t *seen = arg;
    (void)in;
    seen[0] = this_thread();
    tether_yield(NULL, NULL);
    seen[1] = this_thread();
    tether_yield(NULL, NULL);
    seen[2] = this_thread();
    return tether_current();
}

struct resume_job {
    tether_fiber *f;
    int status;
    void *out;
};

static void *resume_there(void *arg)
{
    struct resume_job *j = arg;
    j->status = tether_fiber_resume(j->f, NULL, &j->out);
    if (tether_current() != NULL)
        j->status = -1000;
    return NULL;
}

START_TEST(test_migrate_between_threads)
{
    pthread_t seen[3], th;
    struct resume_job job;
    tether_fiber *f = make_fiber(note_thread, seen);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_YIELDED);
    job.f = f;
    ck_assert_int_eq(pthread_create(&th, NULL, resume_there, &job), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(job.status, TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &job.out), TETHER_RETURNED);
    ck_assert_ptr_eq(job.out, f);
    ck_assert(pthread_equal(seen[0], pthread_self()));
    ck_assert(pthread_equal(seen[1], th));
    ck_assert(pthread_equal(seen[2], pthread_self()));
    tether_fiber_destroy(f);
}
END_TEST

/* Spins (yielding) until released; counts how many times it ran. */
static atomic_int release;
static void *spin(void *arg, void *in)
{
    atomic_int *runs = arg;
    (void)in;
    for (;;) {
        atomic_fetch_add(runs, 1);
        if (atomic_load(&release))
            return NULL;
        tether_yield(NULL, NULL);
    }
}

struct racer {
    tether_fiber *f;
    long resumed, busy, other;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < 20000; i++) {
        int st = tether_fiber_resume(r->f, NULL, NULL);
        if (st == TETHER_YIELDED)
            r->resumed++;
        else if (st == -EBUSY)
            r->busy++;
        else
            r->other++;
    }
    return NULL;
}

START_TEST(test_concurrent_resume_is_refused)
{
    atomic_int runs = 0;
    struct racer r[2];
    pthread_t th[2];
    tether_fiber *f = make_fiber(spin, &runs);
    atomic_store(&release, 0);
    for (int i = 0; i < 2; i++) {
        r[i] = (struct racer){.f = f};
        ck_assert_int_eq(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    ck_assert_int_eq(r[0].other + r[1].other, 0);
    ck_assert_int_eq(r[0].resumed + r[1].resumed + r[0].busy + r[1].busy, 40000);
    /* every successful resume ran the fiber exactly once */
    ck_assert_int_eq(atomic_load(&runs), r[0].resumed + r[1].resumed);
    atomic_store(&release, 1);
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_RETURNED);
    tether_fiber_destroy(f);
}
END_TEST

/* ------------------------------------------------- alternate signal stacks */

/* Is addr inside some mapping of this process? */
static int mapped(const void *addr)
{
    FILE *fp = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned long lo, hi;
    int found = 0;
    ck_assert_ptr_nonnull(fp);
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
            (uintptr_t)addr >= lo && (uintptr_t)addr < hi)
            found = 1;
    fclose(fp);
    return found;
}

static void *noop(void *arg, void *in)
{
    (void)arg;
    return in;
}

struct alt {
    stack_t before, after;
    int resumed;
};

static void *first_resume(void *arg)
{
    struct alt *a = arg;
    tether_fiber *f;
    sigaltstack(NULL, &a->before);
    if (tether_fiber_create(&f, noop, NULL, NULL) != 0)
        return NULL;
    a->resumed = tether_fiber_resume(f, NULL, NULL);
    sigaltstack(NULL, &a->after);
    tether_fiber_destroy(f);
    return NULL;
}

/* A thread gets an alternate stack, guarded, on its first resume; it is
 * unmapped when the thread exits. */
START_TEST(test_altstack_per_thread)
{
    struct alt a = {0};
    pthread_t th;
    char *sp;
    ck_assert_int_eq(pthread_create(&th, NULL, first_resume, &a), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(a.resumed, TETHER_RETURNED);
    ck_assert(a.before.ss_flags & SS_DISABLE);
    ck_assert(!(a.after.ss_flags & SS_DISABLE));
    ck_assert_uint_ge(a.after.ss_size, 64 * 1024);
    sp = a.after.ss_sp;
    ck_assert(!mapped(sp));             /* freed with the thread */
    ck_assert(!mapped(sp + a.after.ss_size - 1));
}
END_TEST

/* A thread that has an alternate stack of its own keeps it. */
static void *own_altstack(void *arg)
{
    struct alt *a = arg;
    stack_t mine = {.ss_size = 256 * 1024};
    mine.ss_sp = mmap(NULL, mine.ss_size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    sigaltstack(&mine, NULL);
    first_resume(a);
    a->before = mine;
    return NULL;
}

START_TEST(test_own_altstack_kept)
{
    struct alt a = {0};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, own_altstack, &a), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(a.resumed, TETHER_RETURNED);
    ck_assert_ptr_eq(a.after.ss_sp, a.before.ss_sp);
    ck_assert_uint_eq(a.after.ss_size, a.before.ss_size);
    ck_assert(mapped(a.before.ss_sp)); /* tether did not free what it did not map */
    munmap(a.before.ss_sp, a.before.ss_size);
}
END_TEST

/* The alternate stack's low page is a guard. */
START_TEST(test_altstack_guarded)
{
    struct alt a = {0};
    pthread_t th;
    char perm[8] = "";
    FILE *fp;
    char line[512];
    unsigned long lo, hi;
    uintptr_t below;
    first_resume(&a); /* this thread's, which stays alive */
    below = (uintptr_t)a.after.ss_sp - 1;
    fp = fopen("/proc/self/maps", "r");
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) == 3 && below >= lo && below < hi)
            break;
    fclose(fp);
    ck_assert_str_eq(perm, "---p");
    (void)th;
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_add_test(tc, test_two_threads_at_once);
    tcase_add_test(tc, test_migrate_between_threads);
    tcase_add_test(tc, test_concurrent_resume_is_refused);
    tcase_add_test(tc, test_altstack_per_thread);
    tcase_add_test(tc, test_own_altstack_kept);
    tcase_add_test(tc, test_altstack_guarded);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
