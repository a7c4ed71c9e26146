/*
 * Per-thread runtime state, and what each thread that runs fibers needs:
 * an alternate signal stack (a fiber that overflows its stack leaves no
 * room on it for the handler) and a clean-up when the thread exits.
 */
#define _GNU_SOURCE /* gettid */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "deadline.h"
#include "fiber_impl.h"
#include "thread.h"

__thread struct tether_thread tether__thread
    __attribute__((tls_model("initial-exec")));

/* Our alternate stack: this much, plus a guard page below it. */
#define ALTSTACK_SIZE (64 * 1024)
/* A thread's own alternate stack at least this big is kept. */
#define ALTSTACK_KEEP_MIN (32 * 1024)

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static int exit_key_err;

tether_fiber *tether_current(void)
{
    return tether__thread.current;
}

/*
 * Thread exit (a pthread key destructor, on the thread's own stack):
 * give back the previous alternate stack, or none, before unmapping
 * ours, so no signal can be delivered onto freed memory.
 */
static void thread_exit(void *unused)
{
    struct tether_thread *t = &tether__thread;

    (void)unused;
    tether__deadline_thread_exit(t);
    if (t->altstack) {
        sigaltstack(&t->old_altstack, NULL); /* SS_DISABLE if there was none */
        munmap(t->altstack, t->altstack_len);
        t->altstack = NULL;
    }
    t->ready = 0;
}

/*
 * fork(): the child's only thread is a copy of the caller, with the
 * caller's thread-local state but its own thread id and no POSIX timers,
 * and with tether's locks in whatever state other threads left them.
 */
static void atfork_child(void)
{
    struct tether_thread *t = &tether__thread;

    if (t->ready)
        t->tid = gettid();
    t->has_timer = 0;
    tether__stack_pool_atfork_child();
    tether__kill_switch_atfork_child();
    tether__cxx_eh_atfork_child();
}

static void make_exit_key(void)
{
    exit_key_err = pthread_key_create(&exit_key, thread_exit);
    if (!exit_key_err)
        exit_key_err = pthread_atfork(NULL, NULL, atfork_child);
}

static int install_altstack(struct tether_thread *t)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = ALTSTACK_SIZE + page;
    stack_t cur, ss;
    char *p;

    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE) &&
        cur.ss_size >= ALTSTACK_KEEP_MIN)
        return 0; /* the thread brought its own */
    p = mmap(NULL, len, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    if (mprotect(p, page, PROT_NONE) != 0) { /* guard page at the low end */
        munmap(p, len);
        return -ENOMEM;
    }
    ss.ss_sp = p + page;
    ss.ss_size = ALTSTACK_SIZE;
    ss.ss_flags = 0;
    if (sigaltstack(&ss, &t->old_altstack) != 0) {
        munmap(p, len);
        return -ENOMEM;
    }
    t->altstack = p;
    t->altstack_len = len;
    return 0;
}

int tether__thread_prepare(void)
{
    struct tether_thread *t = &tether__thread;
    int err;

    pthread_once(&exit_key_once, make_exit_key);
    if (exit_key_err)
        return -ENOMEM;
    if ((err = install_altstack(t)) != 0)
        return err;
    /* Any non-NULL value makes the destructor run at thread exit. */
    if (pthread_setspecific(exit_key, t) != 0) {
        thread_exit(NULL);
        return -ENOMEM;
    }
    t->tid = gettid();
    t->ready = 1;
    return 0;
}
