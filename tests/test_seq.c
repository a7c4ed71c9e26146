/*
 * Exceptional sequences (tether/seq.h): tables from assembly, from a
 * plugin loaded and unloaded, from code generated at run time; what
 * kill signals do inside INTERRUPT ranges, fired in storms from another
 * thread and by deadlines; PREEMPT ranges under Linux rseq.
 *
 * (FAULT ranges declared from C are in test_seq_macro.c, built at
 * several optimisation levels; the probes are in test_probe.c.)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#define HAVE_RSEQ_H 1
#endif
#endif

#include "testlib.h"

/* tests/seq_asm_x86_64.S */
long seq_asm_load(const long *p);
extern const char seq_asm_load_insn[];
void seq_defer_spin(volatile int *inside, long spins);
void seq_plain_spin(volatile int *inside, long spins);
void seq_restart_count(long *starts, long *ends, long spins);
extern const char seq_restart_start[];
void seq_response_wait(volatile int *inside, long *responses);
long seq_rseq_spin(long *attempts, volatile int *stop);

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void sleep_ns(long ns)
{
    struct timespec t = {ns / 1000000000L, ns % 1000000000L};
    nanosleep(&t, NULL);
}

/* A child that runs fn(arg) must die of SIGSEGV. */
static void dies_of_sigsegv(void (*fn)(void *), void *arg)
{
    int status;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        fn(arg);
        _exit(0); /* survived: the fault was fixed up */
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    /* As an unhandled SIGSEGV ends a program (under ASan: its report, then exit 1). */
    ck_assert_msg(status == test_unhandled_segv_status(),
                  "the child did not die of SIGSEGV (status %#x, not %#x)", status,
                  test_unhandled_segv_status());
}

/* ------------------------------------------------------------ tables */

START_TEST(from_assembly)
{
    long x = 99;
    tether_seq_range r;

    ck_assert_int_eq(seq_asm_load(&x), 99);
    ck_assert_int_eq(seq_asm_load(NULL), -EFAULT);
    ck_assert_ptr_eq(tether_seq_last_fault()->pc, seq_asm_load_insn);
    ck_assert_ptr_null(tether_seq_last_fault()->addr);
    ck_assert_int_eq(tether_seq_lookup(seq_asm_load_insn, TETHER_SEQ_FAULT, &r), 0);
    ck_assert_ptr_eq(r.start, seq_asm_load_insn);
    ck_assert_ptr_eq(r.end, seq_asm_load_insn + 3); /* movq (%rdi), %rax */
    ck_assert_int_eq(r.event, TETHER_SEQ_FAULT);
    ck_assert_int_eq(tether_seq_lookup(seq_asm_load_insn + 3, TETHER_SEQ_FAULT, NULL), -ENOENT);
    ck_assert_int_eq(tether_seq_lookup(seq_asm_load_insn, 7, NULL), -EINVAL);
    /* The interrupt behaviour of the other functions. */
    ck_assert_int_eq(tether_seq_lookup((char *)seq_defer_spin + 1, TETHER_SEQ_INTERRUPT, &r), 0);
    ck_assert_int_eq(r.action, TETHER_SEQ_DEFER);
    ck_assert_int_eq(tether_seq_lookup(seq_restart_start, TETHER_SEQ_INTERRUPT, &r), 0);
    ck_assert_int_eq(r.action, TETHER_SEQ_RESTART);
    ck_assert_int_eq(tether_seq_lookup((char *)seq_response_wait + 4, TETHER_SEQ_INTERRUPT, &r), 0);
    ck_assert_int_eq(r.action, TETHER_SEQ_RESPONSE);
    ck_assert_ptr_nonnull(r.response);
    ck_assert_int_eq(tether_seq_lookup((char *)seq_plain_spin + 1, TETHER_SEQ_INTERRUPT, NULL),
                     -ENOENT);
}
END_TEST

/*
 * Code generated at run time: slot k of `n` holds
 *     +0  mov (%rdi), %rax     48 8b 07
 *     +3  ret                  c3
 *     +4  mov $-14, %rax       48 c7 c0 f2 ff ff ff
 *     +11 ret                  c3
 * and range k is [+0, +3) with its fixup at +4.
 */
#define SLOT 16
typedef long (*jit_fn)(const long *);

static unsigned char *jit_make(size_t n)
{
    static const unsigned char slot[12] = {0x48, 0x8b, 0x07, 0xc3, 0x48, 0xc7,
                                           0xc0, 0xf2, 0xff, 0xff, 0xff, 0xc3};
    unsigned char *code = mmap(NULL, n * SLOT, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    ck_assert_ptr_ne(code, MAP_FAILED);
    for (size_t k = 0; k < n; k++) {
        memset(code + k * SLOT, 0xcc, SLOT);
        memcpy(code + k * SLOT, slot, sizeof slot);
    }
    ck_assert_int_eq(mprotect(code, n * SLOT, PROT_READ | PROT_EXEC), 0);
    return code;
}

static tether_seq_range *jit_ranges(unsigned char *code, size_t n)
{
    tether_seq_range *r = calloc(n, sizeof *r);

    ck_assert_ptr_nonnull(r);
    for (size_t k = 0; k < n; k++) {
        r[k].start = code + k * SLOT;
        r[k].end = code + k * SLOT + 3;
        r[k].response = code + k * SLOT + 4;
        r[k].event = TETHER_SEQ_FAULT;
        r[k].action = TETHER_SEQ_RESPONSE;
    }
    return r;
}

static void call_jit_null(void *code)
{
    ((jit_fn)code)(NULL);
}

START_TEST(jit_table)
{
    unsigned char *code = jit_make(2);
    tether_seq_range *r = jit_ranges(code, 2);
    tether_seq_table *t = NULL;
    long x = 5;

    ck_assert_int_eq(tether_seq_register(r, 2, &t), 0);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(((jit_fn)code)(&x), 5);
    ck_assert_int_eq(((jit_fn)code)(NULL), -EFAULT);
    ck_assert_int_eq(((jit_fn)(code + SLOT))(NULL), -EFAULT);
    ck_assert_ptr_eq(tether_seq_last_fault()->pc, code + SLOT);
    ck_assert_ptr_eq(tether_seq_last_fault()->fixup, code + SLOT + 4);
    ck_assert_int_eq(tether_seq_lookup(code + 2, TETHER_SEQ_FAULT, NULL), 0);
    ck_assert_int_eq(tether_seq_unregister(t), 0);
    ck_assert_int_eq(tether_seq_lookup(code + 2, TETHER_SEQ_FAULT, NULL), -ENOENT);
    ck_assert_int_eq(((jit_fn)code)(&x), 5);
    /* Gone: the same fault is no longer fixed up. */
    dies_of_sigsegv(call_jit_null, code);
    free(r);
    munmap(code, 2 * SLOT);
}
END_TEST

START_TEST(registration_rules)
{
    unsigned char *code = jit_make(4);
    tether_seq_range *r = jit_ranges(code, 4);
    tether_seq_range bad;
    tether_seq_table *t1 = NULL, *t2 = NULL, *t3 = NULL;

    ck_assert_int_eq(tether_seq_register(r, 2, &t1), 0);
    /* The same event may not overlap, in one table or with another. */
    r[2].start = code + SLOT + 2;
    ck_assert_int_eq(tether_seq_register(r + 2, 2, &t2), -EEXIST);
    ck_assert_ptr_null(t2);
    ck_assert_int_eq(tether_seq_lookup(code + 3 * SLOT, TETHER_SEQ_FAULT, NULL), -ENOENT);
    r[2].start = code + 2 * SLOT;
    r[3].start = code + 2 * SLOT + 1;
    ck_assert_int_eq(tether_seq_register(r + 2, 2, &t2), -EEXIST);
    r[3].start = code + 3 * SLOT;
    /* Nor may a table overlap a section's ranges (seq_asm_load's). */
    bad = r[0];
    bad.start = seq_asm_load_insn + 1;
    bad.end = seq_asm_load_insn + 2;
    ck_assert_int_eq(tether_seq_register(&bad, 1, &t3), -EEXIST);
    /* Another event over the same range is fine. */
    bad = r[0];
    bad.event = TETHER_SEQ_INTERRUPT;
    bad.action = TETHER_SEQ_DEFER;
    bad.response = NULL;
    ck_assert_int_eq(tether_seq_register(&bad, 1, &t3), 0);
    ck_assert_int_eq(tether_seq_lookup(code, TETHER_SEQ_INTERRUPT, NULL), 0);
    ck_assert_int_eq(tether_seq_lookup(code, TETHER_SEQ_FAULT, NULL), 0);
    ck_assert_int_eq(tether_seq_unregister(t3), 0);
    ck_assert_int_eq(tether_seq_register(r + 2, 2, &t2), 0);
    /* What is refused. */
    bad = r[0];
    bad.end = bad.start;
    ck_assert_int_eq(tether_seq_register(&bad, 1, &t3), -EINVAL); /* empty */
    bad = r[0];
    bad.action = TETHER_SEQ_RESTART;
    ck_assert_int_eq(tether_seq_register(&bad, 1, &t3), -EINVAL); /* FAULT restarts */
    bad.response = NULL;
    ck_assert_int_eq(tether_seq_register(&bad, 1, &t3), -EINVAL);
    bad = r[0];
    bad.response = NULL;
    ck_assert_int_eq(tether_seq_register(&bad, 1, &t3), -EINVAL); /* no fixup */
    bad = r[0];
    bad.event = TETHER_SEQ_INTERRUPT;
    bad.action = TETHER_SEQ_DEFER;
    ck_assert_int_eq(tether_seq_register(&bad, 1, &t3), -EINVAL); /* a response with DEFER */
    bad.event = TETHER_SEQ_PREEMPT;
    bad.response = NULL;
    ck_assert_int_eq(tether_seq_register(&bad, 1, &t3), -EINVAL); /* PREEMPT cannot DEFER */
    bad.event = 9;
    ck_assert_int_eq(tether_seq_register(&bad, 1, &t3), -EINVAL);
    ck_assert_int_eq(tether_seq_register(r, 0, &t3), -EINVAL);
    ck_assert_int_eq(tether_seq_register(NULL, 1, &t3), -EINVAL);
    ck_assert_int_eq(tether_seq_register(r, 1, NULL), -EINVAL);
    ck_assert_int_eq(tether_seq_unregister(NULL), -EINVAL);
    ck_assert_int_eq(tether_seq_unregister_section((const tether_seq_record *)r), -ENOENT);
    ck_assert_int_eq(tether_seq_unregister(t1), 0);
    ck_assert_int_eq(tether_seq_unregister(t2), 0);
    free(r);
    munmap(code, 4 * SLOT);
}
END_TEST

/* 100,000 ranges in one table: every lookup still finds its own. */
START_TEST(a_hundred_thousand_ranges)
{
    size_t n = 100000;
    unsigned char *code = jit_make(n);
    tether_seq_range *r = jit_ranges(code, n);
    tether_seq_table *t;
    long x = 11;
    unsigned seed = 1;

    ck_assert_int_eq(tether_seq_register(r, n, &t), 0);
    for (int i = 0; i < 2000; i++) {
        size_t k = (size_t)rand_r(&seed) % n;
        jit_fn fn = (jit_fn)(code + k * SLOT);
        ck_assert_int_eq(fn(&x), 11);
        ck_assert_int_eq(fn(NULL), -EFAULT);
        ck_assert_ptr_eq(tether_seq_last_fault()->fixup, code + k * SLOT + 4);
        ck_assert_int_eq(tether_seq_lookup(code + k * SLOT + 3, TETHER_SEQ_FAULT, NULL), -ENOENT);
    }
    ck_assert_int_eq(tether_seq_unregister(t), 0);
    free(r);
    munmap(code, n * SLOT);
}
END_TEST

/*
 * Tables come and go on one thread while others fault through them:
 * the faulting threads always find the ranges that stay registered.
 */
struct churn {
    unsigned char *code;
    volatile int stop;
    long faults, errors;
};

static void *fault_loop(void *arg)
{
    struct churn *c = arg;
    char buf[8];
    long errors = 0, n = 0;

    while (!c->stop) {
        errors += ((jit_fn)c->code)(NULL) != -EFAULT;
        errors += tether_probe_read(buf, NULL, sizeof buf, NULL) != -EFAULT;
        n += 2;
    }
    __atomic_fetch_add(&c->faults, n, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->errors, errors, __ATOMIC_RELAXED);
    return NULL;
}

START_TEST(registered_while_others_fault)
{
    struct churn c = {0};
    unsigned char *code = jit_make(64);
    tether_seq_range *r = jit_ranges(code, 64);
    tether_seq_table *stay, *t;
    pthread_t th[3];
    int fds = open_fds();

    c.code = code;
    ck_assert_int_eq(tether_seq_register(r, 1, &stay), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, fault_loop, &c), 0);
    for (int i = 0; i < 2000; i++) {
        size_t n = 1 + (size_t)i % 63;
        ck_assert_int_eq(tether_seq_register(r + 1, n, &t), 0);
        ck_assert_int_eq(tether_seq_unregister(t), 0);
    }
    c.stop = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(c.errors, 0);
    ck_assert_int_gt(c.faults, 100);
    ck_assert_int_eq(tether_seq_unregister(stay), 0);
    ck_assert_int_eq(open_fds(), fds);
    free(r);
    munmap(code, 64 * SLOT);
}
END_TEST

/* --------------------------------------------------- dlopen, dlclose */

static char *plugin_path(void)
{
    static char path[4096];
    const char *dir = getenv("top_builddir");

    snprintf(path, sizeof path, "%s/tests/.libs/libseq_plugin.so", dir ? dir : ".");
    return path;
}

struct copy {
    void *at;
    unsigned char bytes[64];
    size_t len;
};

/* In a child: the plugin's bytes again, at the same address, without its table. */
static void run_copy(void *arg)
{
    struct copy *c = arg;
    void *page_at = (void *)((uintptr_t)c->at & ~(uintptr_t)4095);
    unsigned char *m = mmap(page_at, 8192, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

    if (m != page_at)
        _exit(3); /* the address was taken again: the test cannot say */
    memcpy(c->at, c->bytes, c->len);
    mprotect(m, 8192, PROT_READ | PROT_EXEC);
    ((jit_fn)c->at)(NULL);
}

START_TEST(plugin_loaded_and_unloaded)
{
    void *h = dlopen(plugin_path(), RTLD_NOW | RTLD_LOCAL);
    long (*asm_load)(const long *);
    int (*c_load)(const int *, int *);
    const unsigned char *end;
    struct copy copy;
    long x = 3;
    int y = 4, v = 0;
    tether_seq_range r;

    ck_assert_msg(h != NULL, "dlopen: %s", dlerror());
    asm_load = (long (*)(const long *))dlsym(h, "plugin_asm_load");
    c_load = (int (*)(const int *, int *))dlsym(h, "plugin_c_load");
    end = dlsym(h, "plugin_asm_end");
    ck_assert_ptr_nonnull(asm_load);
    ck_assert_ptr_nonnull(c_load);
    ck_assert_ptr_nonnull(end);
    ck_assert_int_eq(asm_load(&x), 3);
    ck_assert_int_eq(asm_load(NULL), -EFAULT);
    ck_assert_int_eq(c_load(&y, &v), 0);
    ck_assert_int_eq(v, 4);
    ck_assert_int_eq(c_load(NULL, &v), -EFAULT);
    ck_assert_int_eq(tether_seq_lookup((void *)asm_load, TETHER_SEQ_FAULT, &r), 0);
    ck_assert_ptr_eq(r.start, (void *)asm_load);
    copy.at = (void *)asm_load;
    copy.len = (size_t)(end - (const unsigned char *)copy.at);
    ck_assert_uint_le(copy.len, sizeof copy.bytes);
    memcpy(copy.bytes, copy.at, copy.len);

    ck_assert_int_eq(dlclose(h), 0);
    /* Its table went with it. */
    ck_assert_int_eq(tether_seq_lookup(copy.at, TETHER_SEQ_FAULT, NULL), -ENOENT);
    dies_of_sigsegv(run_copy, &copy);

    /* Loaded again: registered again. */
    h = dlopen(plugin_path(), RTLD_NOW | RTLD_LOCAL);
    ck_assert_ptr_nonnull(h);
    asm_load = (long (*)(const long *))dlsym(h, "plugin_asm_load");
    ck_assert_int_eq(asm_load(NULL), -EFAULT);
    ck_assert_int_eq(dlclose(h), 0);
}
END_TEST

/* -------------------------------------------------- INTERRUPT ranges */

/* Another thread fires a kill switch once the fiber is under way. */
struct killer {
    pthread_t thread;
    tether_kill_switch *k;
    volatile int *ready; /* the fiber sets it when it is where the test wants */
    long delay_ns;
    int result;
    volatile int fired; /* set once it has fired */
};

static void *killer_main(void *arg)
{
    struct killer *kl = arg;

    while (!*kl->ready)
        sched_yield();
    if (kl->delay_ns)
        sleep_ns(kl->delay_ns);
    kl->result = tether_kill_switch_fire(kl->k, "killed");
    kl->fired = 1;
    return NULL;
}

static void killer_start(struct killer *kl, tether_fiber *f, volatile int *ready, long delay)
{
    kl->ready = ready;
    kl->delay_ns = delay;
    kl->fired = 0;
    ck_assert_int_eq(tether_kill_switch_create(f, &kl->k), 0);
    ck_assert_int_eq(pthread_create(&kl->thread, NULL, killer_main, kl), 0);
}

static void killer_join(struct killer *kl)
{
    pthread_join(kl->thread, NULL);
    tether_kill_switch_free(kl->k);
}

/* Spins of about 2 us inside the sequence, and about as long outside. */
#define SPINS 40

struct spin_state {
    volatile int inside, ready;
    int declared; /* seq_defer_spin, or the undeclared copy */
    long rounds;
};

static OPAQUE void outside_spin(long n)
{
    for (volatile long i = 0; i < n; i++)
        ;
}

static void *spin_guest(void *arg, void *in)
{
    struct spin_state *s = arg;

    (void)in;
    s->ready = 1;
    for (;;) {
        if (s->declared) {
            seq_defer_spin(&s->inside, SPINS);
            outside_spin(SPINS * 4);
        } else {
            seq_plain_spin(&s->inside, SPINS * 20);
        }
        s->rounds++;
    }
    return NULL;
}

/* A storm of kills from another thread: none acts inside the sequence. */
START_TEST(defer_kill_switch_storm)
{
    unsigned seed = 7;
    long slowest = 0;

    for (int i = 0; i < 300; i++) {
        struct spin_state s = {0};
        tether_fiber *f;
        struct killer kl;
        void *out = NULL;
        long t0;

        s.declared = 1;
        f = make_fiber(spin_guest, &s);
        killer_start(&kl, f, &s.ready, (long)(rand_r(&seed) % 200) * 1000);
        t0 = now_ns();
        ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_TERMINATED);
        killer_join(&kl);
        if (now_ns() - t0 - kl.delay_ns > slowest)
            slowest = now_ns() - t0 - kl.delay_ns;
        ck_assert_int_eq(kl.result, TETHER_KILL_SIGNALLED);
        ck_assert_str_eq(out, "killed");
        ck_assert_int_eq(s.inside, 0);
        tether_fiber_destroy(f);
    }
    printf("defer_kill_switch_storm: 300 kills, none inside; slowest %ld us after the fire\n",
           slowest / 1000);
}
END_TEST

/* The same with deadlines, which come from the thread's own timer. */
START_TEST(defer_deadline_storm)
{
    unsigned seed = 11;
    struct spin_state s = {0};

    s.declared = 1;
    for (int i = 0; i < 300; i++) {
        tether_fiber *f = make_fiber(spin_guest, &s);
        void *out = NULL;

        s.inside = 0;
        ck_assert_int_eq(tether_fiber_resume_for(f, NULL, &out,
                                                 5000 + (uint64_t)(rand_r(&seed) % 200000)),
                         TETHER_TERMINATED);
        ck_assert_ptr_eq(out, TETHER_DEADLINE_EXCEEDED);
        ck_assert_int_eq(s.inside, 0);
        tether_fiber_destroy(f);
    }
    ck_assert_int_gt(s.rounds, 300);
}
END_TEST

/*
 * The control: the same code undeclared, spending nearly all its time
 * in the range, is stopped there by most kills. (Without this the two
 * tests above would pass with a table nobody reads.)
 */
START_TEST(undeclared_is_stopped_inside)
{
    int stopped_inside = 0;

    for (int i = 0; i < 30; i++) {
        struct spin_state s = {0};
        tether_fiber *f = make_fiber(spin_guest, &s);
        struct killer kl;

        killer_start(&kl, f, &s.ready, 20000);
        ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_TERMINATED);
        killer_join(&kl);
        stopped_inside += s.inside;
        tether_fiber_destroy(f);
    }
    ck_assert_int_ge(stopped_inside, 15);
}
END_TEST

/*
 * RESTART: the kill acts as if the signal had landed at the sequence's
 * start. The fiber names only that first instruction as its guest code,
 * so a kill can act nowhere else: without the restart it would be
 * retried forever (the sequence is where the fiber spends its time).
 * Stopped at the start after a restart, the fiber counted one start
 * more than ends; a signal may also land right at the start, as the
 * fiber calls the function (seen once in many runs): then they are even.
 */
struct restart_state {
    long starts, ends;
    volatile int ready;
};

static void *restart_guest(void *arg, void *in)
{
    struct restart_state *s = arg;

    (void)in;
    s->ready = 1;
    for (;;)
        seq_restart_count(&s->starts, &s->ends, SPINS * 10);
    return NULL;
}

START_TEST(restart_acts_at_the_start)
{
    tether_code_range start = {seq_restart_start, seq_restart_start + 1};
    tether_fiber_opts opts = {0};
    unsigned seed = 3;
    int restarted = 0;

    opts.guest_code = &start;
    opts.guest_code_count = 1;
    for (int i = 0; i < 100; i++) {
        struct restart_state s = {0};
        tether_fiber *f;
        struct killer kl;
        void *out;

        ck_assert_int_eq(tether_fiber_create(&f, restart_guest, &s, &opts), 0);
        killer_start(&kl, f, &s.ready, (long)(rand_r(&seed) % 100) * 1000);
        ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_TERMINATED);
        killer_join(&kl);
        ck_assert_int_ge(s.starts - s.ends, 0);
        ck_assert_int_le(s.starts - s.ends, 1);
        restarted += (int)(s.starts - s.ends);
        tether_fiber_destroy(f);
    }
    ck_assert_int_ge(restarted, 90);
}
END_TEST

/*
 * RESTART where the kill does not act: a kill of a fiber that hosts
 * another reaches the thread while the nested fiber runs, and waits for
 * the nested resume to return; the nested fiber's sequence restarts
 * (and finishes) all the same.
 */
struct nested {
    tether_fiber *inner;
    struct restart_state s;
    struct killer kl;
};

/* Runs the sequence until the kill has been fired, and some rounds more. */
static void *inner_guest(void *arg, void *in)
{
    struct nested *n = arg;

    (void)in;
    n->s.ready = 1;
    while (!n->kl.fired)
        seq_restart_count(&n->s.starts, &n->s.ends, SPINS * 10);
    for (long i = 0; i < 100; i++)
        seq_restart_count(&n->s.starts, &n->s.ends, SPINS * 10);
    return "inner done";
}

static void *outer_guest(void *arg, void *in)
{
    struct nested *n = arg;

    (void)in;
    tether_fiber_resume(n->inner, NULL, NULL);
    return "outer done"; /* not reached: killed when the nested resume returns */
}

START_TEST(restart_where_the_kill_waits)
{
    long restarts = 0;

    for (int i = 0; i < 40; i++) {
        struct nested n = {0};
        tether_fiber *outer;
        void *out;

        n.inner = make_fiber(inner_guest, &n);
        outer = make_fiber(outer_guest, &n);
        killer_start(&n.kl, outer, &n.s.ready, 300000);
        ck_assert_int_eq(tether_fiber_resume(outer, NULL, &out), TETHER_TERMINATED);
        killer_join(&n.kl);
        ck_assert_int_eq(n.kl.result, TETHER_KILL_SIGNALLED);
        /* The inner fiber was not killed: it finished its rounds. */
        ck_assert_int_eq(tether_fiber_state(n.inner), TETHER_RETURNED);
        ck_assert_int_ge(n.s.ends, 100); /* every round ran to its end */
        ck_assert_int_ge(n.s.starts - n.s.ends, 0);
        ck_assert_int_le(n.s.starts - n.s.ends, 1); /* one signal: one restart at most */
        restarts += n.s.starts - n.s.ends;
        tether_fiber_destroy(outer);
        tether_fiber_destroy(n.inner);
    }
    /* The inner fiber spends nearly all its time in the sequence. */
    ck_assert_int_ge(restarts, 20);
}
END_TEST

/*
 * RESPONSE: the kill signal sends the fiber to the response, which runs
 * (the kill did not act there), and the kill acts afterwards, outside.
 */
struct response_state {
    volatile int inside;
    long responses;
};

/* Yields first: the test's next resume finds it about to enter the sequence. */
static void *response_guest(void *arg, void *in)
{
    struct response_state *s = arg;

    (void)in;
    tether_yield(NULL, NULL);
    seq_response_wait(&s->inside, &s->responses);
    for (;;)
        outside_spin(1000);
    return NULL;
}

START_TEST(response_then_kill)
{
    unsigned seed = 5;

    for (int i = 0; i < 100; i++) {
        struct response_state s = {0};
        tether_fiber *f = make_fiber(response_guest, &s);
        struct killer kl;
        void *out;

        ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_YIELDED);
        /* Fired once the fiber is in the sequence, where it spins until then. */
        killer_start(&kl, f, &s.inside, (long)(rand_r(&seed) % 100) * 1000);
        ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_TERMINATED);
        killer_join(&kl);
        ck_assert_str_eq(out, "killed");
        ck_assert_int_eq(s.responses, 1);
        ck_assert_int_eq(s.inside, 0);
        tether_fiber_destroy(f);
    }
}
END_TEST

/*
 * The same by deadline. A deadline that expires before the fiber is in
 * the sequence (a loaded machine) stops it before: no response, and
 * *inside never set. What must never happen is a stop inside, or in the
 * response: *inside left 1.
 */
START_TEST(response_then_deadline)
{
    int responded = 0;

    for (int i = 0; i < 100; i++) {
        struct response_state s = {0};
        tether_fiber *f = make_fiber(response_guest, &s);
        void *out;

        ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_YIELDED);
        ck_assert_int_eq(tether_fiber_resume_for(f, NULL, &out, 200000 + 1000 * (uint64_t)i),
                         TETHER_TERMINATED);
        ck_assert_ptr_eq(out, TETHER_DEADLINE_EXCEEDED);
        ck_assert_int_eq(s.inside, 0);
        ck_assert_int_le(s.responses, 1);
        responded += (int)s.responses;
        tether_fiber_destroy(f);
    }
    ck_assert_int_ge(responded, 80);
}
END_TEST

/* ------------------------------------------------------ PREEMPT (rseq) */

/*
 * Threads that keep one CPU busy: pinned with the thread under test to
 * the same CPU, they make sure it is preempted.
 */
struct hogs {
    pthread_t t[2];
    volatile int stop;
    cpu_set_t cpu;
};

static void *hog(void *arg)
{
    struct hogs *h = arg;

    pthread_setaffinity_np(pthread_self(), sizeof h->cpu, &h->cpu);
    while (!h->stop) {
        outside_spin(20000);
        sched_yield();
    }
    return NULL;
}

static void hogs_start(struct hogs *h)
{
    cpu_set_t all;

    CPU_ZERO(&h->cpu);
    ck_assert_int_eq(sched_getaffinity(0, sizeof all, &all), 0);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &all)) {
            CPU_SET(c, &h->cpu);
            break;
        }
    h->stop = 0;
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&h->t[i], NULL, hog, h), 0);
}

static void hogs_stop(struct hogs *h)
{
    h->stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(h->t[i], NULL);
}

static int expect_no_rseq(void)
{
    const char *e = getenv("TETHER_TEST_EXPECT_NO_RSEQ");
    return e && *e == '1';
}

struct rseq_run {
    struct hogs *h;
    long attempts;
    volatile int stop, done, available;
    long result;
    long preempted; /* involuntary context switches of the thread meanwhile */
    int response;   /* the C-macro sequence with a response, not the .S one */
};

#ifdef HAVE_RSEQ_H
/*
 * The C macros: spins until *stop; a preemption inside continues at the
 * response, which returns 1. 0 when it ran to its end.
 */
static long rseq_response(volatile int *stop)
{
    long tmp, aborted = 0;

    __asm__ volatile(TETHER_SEQ_ASM_RSEQ_BEGIN("%[off]", "%[tmp]")
                     "1: pause\n\t"
                     "cmpl $0, %[stop]\n\t"
                     "je 1b\n\t"
                     "movq $0, %[ab]\n"
                     TETHER_SEQ_ASM_RSEQ_END_RESPONSE(".Ltest_resp%=")
                     "jmp .Ltest_done%=\n"
                     TETHER_SEQ_ASM_RSEQ_SIGNATURE
                     ".Ltest_resp%=:\n\t"
                     "movq $1, %[ab]\n"
                     ".Ltest_done%=:\n"
                     : [tmp] "=&r"(tmp), [ab] "+r"(aborted)
                     : [off] "r"(__rseq_offset), [stop] "m"(*stop)
                     : "memory", "cc");
    return aborted;
}
#endif

static long involuntary_switches(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nivcsw;
}

static void *rseq_thread(void *arg)
{
    struct rseq_run *r = arg;
    long before;

    pthread_setaffinity_np(pthread_self(), sizeof r->h->cpu, &r->h->cpu);
    before = involuntary_switches();
    r->available = tether_seq_rseq_available();
#ifdef HAVE_RSEQ_H
    if (r->response)
        r->result = rseq_response(&r->stop);
    else
#endif
        r->result = seq_rseq_spin(&r->attempts, &r->stop);
    r->preempted = involuntary_switches() - before;
    r->done = 1;
    return NULL;
}

/* Runs the sequence on a thread sharing its CPU with the hogs. */
static void rseq_run(struct rseq_run *r)
{
    struct hogs h;
    pthread_t t;
    long t0 = now_ns();

    r->h = &h;
    r->available = -1; /* not known until the thread asks */
    hogs_start(&h);
    ck_assert_int_eq(pthread_create(&t, NULL, rseq_thread, r), 0);
    /* Protected: until it has been preempted twice (or is done); if not, 100 ms. */
    while (!r->done && now_ns() - t0 < 5000000000L) {
        if (r->available == 0 && now_ns() - t0 > 100000000L)
            break;
        if (!r->response && r->attempts >= 3)
            break;
        sleep_ns(1000000);
    }
    r->stop = 1;
    pthread_join(t, NULL);
    hogs_stop(&h);
}

START_TEST(preempt_restart)
{
    struct rseq_run r = {0};

    rseq_run(&r);
    if (expect_no_rseq())
        ck_assert_int_eq(r.available, 0);
    if (!r.available) {
        /* Unprotected: preempted all the same, never restarted. */
        ck_assert_int_gt(r.preempted, 0);
        ck_assert_int_eq(r.attempts, 1);
        printf("preempt_restart: rseq is not registered on this thread: the PREEMPT "
               "sequence ran once, unprotected (restart not tested here)\n");
        return;
    }
    ck_assert_int_ge(r.attempts, 2);
    ck_assert_int_eq(r.result, r.attempts);
    printf("preempt_restart: started %ld times, preempted %ld times\n", r.attempts,
           r.preempted);
}
END_TEST

START_TEST(preempt_response)
{
#ifdef HAVE_RSEQ_H
    struct rseq_run r = {0};

    r.response = 1;
    rseq_run(&r);
    if (expect_no_rseq())
        ck_assert_int_eq(r.available, 0);
    if (!r.available) {
        ck_assert_int_gt(r.preempted, 0);
        ck_assert_int_eq(r.result, 0); /* ran to its end: stopped by the flag */
        printf("preempt_response: rseq is not registered: not tested here\n");
        return;
    }
    ck_assert_int_eq(r.result, 1); /* the response ran */
#else
    printf("preempt_response: no <sys/rseq.h>: not tested\n");
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("seq");
    TCase *tables = tcase_create("tables");
    TCase *interrupt = tcase_create("interrupt");
    TCase *rseq = tcase_create("rseq");

    tcase_set_timeout(tables, 120);
    tcase_add_test(tables, from_assembly);
    tcase_add_test(tables, jit_table);
    tcase_add_test(tables, registration_rules);
    tcase_add_test(tables, a_hundred_thousand_ranges);
    tcase_add_test(tables, registered_while_others_fault);
    tcase_add_test(tables, plugin_loaded_and_unloaded);
    suite_add_tcase(s, tables);

    tcase_set_timeout(interrupt, 120);
    tcase_add_test(interrupt, defer_kill_switch_storm);
    tcase_add_test(interrupt, defer_deadline_storm);
    tcase_add_test(interrupt, undeclared_is_stopped_inside);
    tcase_add_test(interrupt, restart_acts_at_the_start);
    tcase_add_test(interrupt, restart_where_the_kill_waits);
    tcase_add_test(interrupt, response_then_kill);
    tcase_add_test(interrupt, response_then_deadline);
    suite_add_tcase(s, interrupt);

    tcase_set_timeout(rseq, 60);
    tcase_add_test(rseq, preempt_restart);
    tcase_add_test(rseq, preempt_response);
    suite_add_tcase(s, rseq);
    return run_suite(s);
}
