/*
 * The fault-handler chain (tether/chain.h): a client of the signal layer
 * asked after code-range responses and before guarded calls and fibers.
 *
 * The chain is an array of handlers, replaced whole on every change and
 * published with one pointer store; the signal handler reads it inside a
 * grace-period read section (grace.h) and the writer frees the old array,
 * and a removed handler, only once every reader has left. So a handler
 * that tether_fault_handler_remove() returned for is running nowhere.
 * The signal-handler side is async-signal-safe: no lock, no allocation.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tether/chain.h>

#include "fault_kind.h"
#include "fiber_impl.h"
#include "grace.h"
#include "signals.h"

struct tether_fault_handler {
    tether_fault_handler_fn fn;
    void *arg;
};

struct chain {
    size_t n;
    tether_fault_handler *h[]; /* in the order they are asked */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct chain *_Atomic current;
static struct tether_grace grace;

/* Asked by the signal layer. Async-signal-safe. */
static int ask_chain(int sig, siginfo_t *info, void *uc)
{
    struct tether_thread *t = &tether__thread;
    tether_fault record;
    tether_fault_event ev = {sig, info, uc, &record};
    int answer = TETHER_FAULT_NEXT, r = tether__grace_enter(&grace);
    const struct chain *c = atomic_load(&current);

    if (c && c->n) {
        /* The running fiber's stack, if the fault is on it, for the kind. */
        tether_fiber *f = t->current;
        tether__fault_fill(&record, sig, info, uc, f ? &f->stack : NULL);
        for (size_t i = 0; i < c->n && answer == TETHER_FAULT_NEXT; i++)
            answer = c->h[i]->fn(&ev, c->h[i]->arg);
    }
    tether__grace_leave(&grace, r);
    return answer == TETHER_FAULT_FIXED;
}

TETHER_SIGNAL_CLIENT(TETHER_SIGNAL_ORDER_CHAIN, ask_chain, NULL);

/*
 * Publishes a copy of `old` without its entry `skip` (SIZE_MAX: none) and
 * with `add` put in at position `at` (NULL: none), then frees `old` once
 * no reader can be using it. Under the lock.
 */
static int publish(const struct chain *old, size_t skip, tether_fault_handler *add, size_t at)
{
    size_t n_old = old ? old->n : 0, j = 0;
    struct chain *c = malloc(sizeof *c + (n_old + 1) * sizeof c->h[0]);

    if (!c)
        return -ENOMEM;
    for (size_t i = 0; i <= n_old; i++) {
        if (add && i == at)
            c->h[j++] = add;
        if (i < n_old && i != skip)
            c->h[j++] = old->h[i];
    }
    c->n = j;
    atomic_store(&current, c);
    tether__grace_wait(&grace);
    free((void *)old);
    return 0;
}

/*
 * A fork child has one thread, a copy of the one that forked: another
 * thread may have held the lock, or been inside a handler, at the fork.
 */
static void child(void)
{
    pthread_mutex_init(&lock, NULL);
    atomic_store(&grace.readers[0], 0);
    atomic_store(&grace.readers[1], 0);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void register_child(void)
{
    pthread_atfork(NULL, NULL, child);
}

int tether_fault_handler_add(tether_fault_handler_fn fn, void *arg, unsigned flags,
                             tether_fault_handler **out)
{
    tether_fault_handler *h;
    tether_fiber *self;
    struct chain *c;
    int err;

    if (!fn || !out || (flags & ~(TETHER_FAULT_HANDLER_HEAD | TETHER_FAULT_HANDLER_TAIL)) ||
        flags == (TETHER_FAULT_HANDLER_HEAD | TETHER_FAULT_HANDLER_TAIL))
        return -EINVAL;
    if ((err = tether__signals_install()) != 0)
        return err;
    pthread_once(&atfork_once, register_child);
    /* On a fiber, a host call: a kill must not stop it holding the lock (or in malloc). */
    self = tether__host_begin();
    if (!(h = malloc(sizeof *h))) {
        tether__host_end(self);
        return -ENOMEM;
    }
    h->fn = fn;
    h->arg = arg;
    pthread_mutex_lock(&lock);
    c = atomic_load(&current);
    err = publish(c, SIZE_MAX, h, (flags & TETHER_FAULT_HANDLER_HEAD) ? 0 : (c ? c->n : 0));
    pthread_mutex_unlock(&lock);
    if (err)
        free(h);
    else
        *out = h;
    tether__host_end(self);
    return err;
}

int tether_fault_handler_remove(tether_fault_handler *h)
{
    tether_fiber *self;
    struct chain *c;
    size_t i;
    int err = -EINVAL;

    if (!h)
        return -EINVAL;
    self = tether__host_begin();
    pthread_mutex_lock(&lock);
    c = atomic_load(&current);
    for (i = 0; c && i < c->n && c->h[i] != h; i++)
        ;
    if (c && i < c->n && (err = publish(c, i, NULL, 0)) == 0)
        free(h); /* the grace period is over: no thread runs it */
    pthread_mutex_unlock(&lock);
    tether__host_end(self);
    return err;
}
