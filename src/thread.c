/*
 * Per-thread runtime state, and what each thread that runs fibers needs:
 * an alternate signal stack (altstack.c) and a clean-up when the thread
 * exits.
 */
#define _GNU_SOURCE /* gettid */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "thread.h"

__thread struct tether_thread tether__thread
    __attribute__((tls_model("initial-exec")));

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static int exit_key_err;

/*
 * The hooks, gathered by the linker from every object's
 * tether_thread_hooks section (thread.h), in link order. Hidden, so the
 * bounds the linker defines are not exported.
 */
extern const struct tether_thread_hooks *const __start_tether_thread_hooks[]
    __attribute__((visibility("hidden")));
extern const struct tether_thread_hooks *const __stop_tether_thread_hooks[]
    __attribute__((visibility("hidden")));
#define hooks __start_tether_thread_hooks
#define nhooks ((int)(__stop_tether_thread_hooks - __start_tether_thread_hooks))

tether_fiber *tether_current(void)
{
    return tether__thread.current;
}

/* Thread exit (a pthread key destructor, on the thread's own stack). */
static void thread_exit(void *unused)
{
    struct tether_thread *t = &tether__thread;

    (void)unused;
    for (int i = nhooks - 1; i >= 0; i--) /* the reverse of prepare's order */
        if (hooks[i]->exit)
            hooks[i]->exit(t);
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
    for (int i = 0; i < nhooks; i++)
        if (hooks[i]->child)
            hooks[i]->child(t);
    t->ready = 0; /* its next resume prepares it again (its timer) */
}

static void make_exit_key(void)
{
    exit_key_err = pthread_key_create(&exit_key, thread_exit);
    if (!exit_key_err)
        exit_key_err = pthread_atfork(NULL, NULL, atfork_child);
}

int tether__thread_prepare(void)
{
    struct tether_thread *t = &tether__thread;
    int err;

    pthread_once(&exit_key_once, make_exit_key);
    if (exit_key_err)
        return -ENOMEM;
    t->tid = gettid();
    for (int i = 0; i < nhooks; i++) {
        if (hooks[i]->prepare && (err = hooks[i]->prepare(t)) != 0) {
            thread_exit(NULL);
            return err;
        }
    }
    /* Any non-NULL value makes the destructor run at thread exit. */
    if (pthread_setspecific(exit_key, t) != 0) {
        thread_exit(NULL);
        return -ENOMEM;
    }
    t->ready = 1;
    return 0;
}
