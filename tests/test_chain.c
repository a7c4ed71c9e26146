/*
 * Signals that are not a fiber's fault are never swallowed: they reach
 * the handler installed before tether's, or kill the process with the
 * same signal as they would have without tether. Each case runs in a
 * child process (no core files: RLIMIT_CORE is 0 there), and the parent
 * checks how the child ended.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "testlib.h"

volatile int zero = 0;
volatile char *volatile null_ptr = NULL;

OPAQUE int segv_here(void)
{
    return *null_ptr;
}

OPAQUE int fpe_here(void)
{
    return divide_by_zero() + zero;
}

static void *noop(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return NULL;
}

/* Makes tether install its handlers (and ready this thread) for real. */
static void start_tether(void)
{
    tether_fiber *f;
    if (tether_fiber_create(&f, noop, NULL, NULL) != 0 ||
        tether_fiber_resume(f, NULL, NULL) != TETHER_RETURNED)
        _exit(90);
    tether_fiber_destroy(f);
}

/* Runs fn in a child; returns its wait status. */
static int in_child(void (*fn)(void))
{
    int status;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        fn();
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

#define ck_assert_killed_by(status, sig)                                     \
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == (sig),          \
                  "expected death by signal %d, got status %#x", (sig), (status))
#define ck_assert_exited(status, code)                                       \
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == (code),        \
                  "expected exit %d, got status %#x", (code), (status))

/* As a SIGSEGV nobody handles ends it without tether (under ASan: ASan's report). */
#define ck_assert_dies_as_before(status)                                     \
    ck_assert_msg((status) == test_unhandled_segv_status(),                  \
                  "expected status %#x, as without tether, got %#x",         \
                  test_unhandled_segv_status(), (status))

/* Handlers a program had before tether. */
static void siginfo_handler(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    _exit(sig == SIGSEGV && info->si_addr == NULL && info->si_code == SEGV_MAPERR
              ? 42 : 43);
}

static void plain_handler(int sig)
{
    _exit(sig == SIGFPE ? 44 : 45);
}

static void install_siginfo(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = siginfo_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(sig, &sa, NULL);
}

/* ------------------------------------------------------------ the cases */

static void thread_stack_fault_default(void)
{
    start_tether();
    segv_here();
}

START_TEST(test_thread_stack_fault_dies_as_before)
{
    ck_assert_dies_as_before(in_child(thread_stack_fault_default));
}
END_TEST

static void thread_stack_fault_siginfo(void)
{
    install_siginfo(SIGSEGV);
    start_tether();
    segv_here();
}

START_TEST(test_previous_siginfo_handler_called)
{
    ck_assert_exited(in_child(thread_stack_fault_siginfo), 42);
}
END_TEST

static void thread_stack_fpe_plain(void)
{
    signal(SIGFPE, plain_handler);
    start_tether();
    fpe_here();
}

START_TEST(test_previous_plain_handler_called)
{
    ck_assert_exited(in_child(thread_stack_fpe_plain), 44);
}
END_TEST

static void ignored_segv(void)
{
    signal(SIGSEGV, SIG_IGN);
    start_tether();
    segv_here();
}

START_TEST(test_ignored_fault_still_kills)
{
    /* As without tether: the kernel does not let an ignored fault pass. */
    ck_assert_killed_by(in_child(ignored_segv), SIGSEGV);
}
END_TEST

/* A previous handler that repairs the fault (skips the ud2) and returns. */
static void skip_ud2(int sig, siginfo_t *info, void *ucv)
{
    ucontext_t *uc = ucv;
    (void)sig;
    (void)info;
    uc->uc_mcontext.gregs[REG_RIP] += 2;
}

static void previous_handler_repairs(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = skip_ud2;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGILL, &sa, NULL);
    start_tether();
    __asm__ volatile("ud2");
    _exit(46); /* the chained handler saw the real context */
}

START_TEST(test_previous_handler_gets_the_context)
{
    ck_assert_exited(in_child(previous_handler_repairs), 46);
}
END_TEST

static void *fault_on_plain_thread(void *arg)
{
    (void)arg;
    segv_here();
    return NULL;
}

static void thread_without_fibers(void)
{
    pthread_t th;
    install_siginfo(SIGSEGV);
    start_tether();
    pthread_create(&th, NULL, fault_on_plain_thread, NULL);
    pthread_join(th, NULL);
}

START_TEST(test_thread_without_fibers_chains)
{
    ck_assert_exited(in_child(thread_without_fibers), 42);
}
END_TEST

/* A signal sent to a fiber's thread is not a fault of the fiber's. */
static void *raise_segv(void *arg, void *in)
{
    (void)arg;
    (void)in;
    raise(SIGSEGV);
    return NULL;
}

static void sent_signal_on_fiber(void)
{
    tether_fiber *f;
    start_tether();
    tether_fiber_create(&f, raise_segv, NULL, NULL);
    tether_fiber_resume(f, NULL, NULL);
    _exit(47); /* swallowed */
}

START_TEST(test_sent_signal_not_swallowed)
{
    ck_assert_dies_as_before(in_child(sent_signal_on_fiber));
}
END_TEST

/*
 * A fault inside a signal handler that runs while a fiber runs is on the
 * alternate stack, not the fiber's: not the fiber's fault.
 */
static void faulting_usr1(int sig)
{
    (void)sig;
    segv_here();
}

static void *raise_usr1(void *arg, void *in)
{
    (void)arg;
    (void)in;
    raise(SIGUSR1);
    return NULL;
}

static void fault_in_handler_on_fiber(void)
{
    struct sigaction sa;
    tether_fiber *f;
    start_tether();
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = faulting_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    tether_fiber_create(&f, raise_usr1, NULL, NULL);
    tether_fiber_resume(f, NULL, NULL);
    _exit(48);
}

START_TEST(test_fault_in_signal_handler_not_the_fibers)
{
    ck_assert_dies_as_before(in_child(fault_in_handler_on_fiber));
}
END_TEST

/* --------------------------------------------- guest code: host bugs chain */

/*
 * The guest's code lives in a section of its own, as a loaded module's
 * text would; the linker marks its bounds. segv_here plays a host
 * function the guest calls.
 */
#define GUEST_TEXT __attribute__((section("tguest_text")))
extern const char __start_tguest_text[], __stop_tguest_text[];

GUEST_TEXT OPAQUE int guest_code_fn(int how)
{
    return how ? segv_here() : *null_ptr;
}

GUEST_TEXT OPAQUE void *guest_entry(void *arg, void *in)
{
    (void)in;
    return (void *)(intptr_t)guest_code_fn((int)(intptr_t)arg);
}

static int run_ranged(int how)
{
    tether_code_range r = {__start_tguest_text, __stop_tguest_text};
    tether_fiber_opts o = {.guest_code = &r, .guest_code_count = 1};
    tether_fiber *f;
    int st;
    if (tether_fiber_create(&f, guest_entry, (void *)(intptr_t)how, &o) != 0)
        return -1;
    st = tether_fiber_resume(f, NULL, NULL);
    tether_fiber_destroy(f);
    return st;
}

static void host_bug_on_fiber(void)
{
    install_siginfo(SIGSEGV);
    run_ranged(1);
    _exit(49);
}

START_TEST(test_fault_outside_guest_code_is_host_bug)
{
    ck_assert_exited(in_child(host_bug_on_fiber), 42);
}
END_TEST

static void host_bug_default(void)
{
    run_ranged(1);
    _exit(49);
}

START_TEST(test_host_bug_dies_as_before)
{
    ck_assert_dies_as_before(in_child(host_bug_default));
}
END_TEST

START_TEST(test_fault_inside_guest_code_is_caught)
{
    ck_assert_int_eq(run_ranged(0), TETHER_FAULTED);
}
END_TEST

START_TEST(test_guest_code_options_checked)
{
    tether_code_range bad = {__stop_tguest_text, __start_tguest_text};
    tether_code_range many[2] = {{(const void *)1, (const void *)2}};
    tether_fiber_opts o = {.guest_code = &bad, .guest_code_count = 1};
    tether_fiber *f;
    ck_assert_int_eq(tether_fiber_create(&f, noop, NULL, &o), -EINVAL);
    o.guest_code = NULL;
    ck_assert_int_eq(tether_fiber_create(&f, noop, NULL, &o), -EINVAL);
    o.guest_code = many;
    o.guest_code_count = 0;
    ck_assert_int_eq(tether_fiber_create(&f, noop, NULL, &o), -EINVAL);
    o.guest_code_count = TETHER_GUEST_CODE_MAX + 1;
    ck_assert_int_eq(tether_fiber_create(&f, noop, NULL, &o), -ERANGE);
}
END_TEST

/* ------------------------------------------------------ the kill signal */

static volatile sig_atomic_t urg_seen;

static void urg_handler(int sig)
{
    urg_seen = sig == SIGURG;
}

START_TEST(test_foreign_sigurg_reaches_previous_handler)
{
    signal(SIGURG, urg_handler); /* Check runs each test in its own child */
    start_tether();
    kill(getpid(), SIGURG);
    ck_assert_int_eq(urg_seen, 1);
}
END_TEST

static void foreign_sigurg_default(void)
{
    start_tether();
    kill(getpid(), SIGURG);  /* default action: ignore */
    raise(SIGURG);
    _exit(50);
}

START_TEST(test_foreign_sigurg_default_ignored)
{
    ck_assert_exited(in_child(foreign_sigurg_default), 50);
}
END_TEST

/* A previous SIG_IGN recorded with SA_SIGINFO is not called as a function. */
static void ignored_with_siginfo(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGURG, &sa, NULL);
    start_tether();
    kill(getpid(), SIGURG);
    _exit(51);
}

START_TEST(test_previous_ignore_with_siginfo)
{
    ck_assert_exited(in_child(ignored_with_siginfo), 51);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chain");
    TCase *tc = tcase_create("previous handlers");

    tcase_add_test(tc, test_thread_stack_fault_dies_as_before);
    tcase_add_test(tc, test_previous_siginfo_handler_called);
    tcase_add_test(tc, test_previous_plain_handler_called);
    tcase_add_test(tc, test_ignored_fault_still_kills);
    tcase_add_test(tc, test_previous_handler_gets_the_context);
    tcase_add_test(tc, test_thread_without_fibers_chains);
    tcase_add_test(tc, test_sent_signal_not_swallowed);
    tcase_add_test(tc, test_fault_in_signal_handler_not_the_fibers);
    suite_add_tcase(s, tc);

    tc = tcase_create("guest code");
    tcase_add_test(tc, test_fault_outside_guest_code_is_host_bug);
    tcase_add_test(tc, test_host_bug_dies_as_before);
    tcase_add_test(tc, test_fault_inside_guest_code_is_caught);
    tcase_add_test(tc, test_guest_code_options_checked);
    suite_add_tcase(s, tc);

    tc = tcase_create("kill signal");
    tcase_add_test(tc, test_foreign_sigurg_reaches_previous_handler);
    tcase_add_test(tc, test_foreign_sigurg_default_ignored);
    tcase_add_test(tc, test_previous_ignore_with_siginfo);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
