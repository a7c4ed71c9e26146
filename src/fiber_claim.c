/*
 * The slow ways to claim a fiber, and the barrier that lets its owner
 * claim it the fast way (see fiber_claim.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fiber_claim.h"

/* Biases taken away from a fiber before it is claimed the slow way for good. */
#define MAX_REVOCATIONS 4

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int biasing; /* membarrier registered: fibers may be biased */
static _Atomic int inited; /* init() has run: claim_init needs no call */

static void init(void)
{
    /* The registration makes MEMBARRIER_CMD_PRIVATE_EXPEDITED usable. */
    biasing = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    atomic_store_explicit(&inited, 1, memory_order_release);
}

/*
 * Registered at load time where possible: the kernel makes a registration
 * wait for an RCU grace period once the process has a second thread
 * (about 30 ms in our VM, against 45 us while it has one). A program
 * whose first fiber comes late, from a thread pool, then pays nothing.
 * (Only an early start: claim_init still makes sure, whenever it runs.)
 */
__attribute__((constructor)) static void register_early(void)
{
    pthread_once(&once, init);
}

void tether__claim_init(struct tether_claim *f)
{
    if (!atomic_load_explicit(&inited, memory_order_acquire))
        pthread_once(&once, init);
    atomic_store_explicit(&f->state, TETHER_READY, memory_order_relaxed);
    atomic_store_explicit(&f->owner, biasing ? OWNER_NONE_YET : OWNER_UNBIASED,
                          memory_order_relaxed);
    atomic_store_explicit(&f->in_claim, 0, memory_order_relaxed);
    atomic_store_explicit(&f->revoking, 0, memory_order_relaxed);
    atomic_store_explicit(&f->lock, 0, memory_order_relaxed);
    f->revocations = 0;
}

/* Every running thread of the process passes a full barrier. */
static void barrier(void)
{
    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

void tether__claim_fence(struct tether_claim *f)
{
    if (atomic_load(&f->owner) > 0)
        barrier(); /* a fast claim by the owner shows now, or sees the kill */
}

static void lock(struct tether_claim *f)
{
    int free_ = 0;
    while (!atomic_compare_exchange_weak(&f->lock, &free_, 1)) {
        free_ = 0;
        sched_yield();
    }
}

static void unlock(struct tether_claim *f)
{
    atomic_store(&f->lock, 0);
}

int tether__claim(struct tether_claim *f, pid_t tid)
{
    pid_t owner;
    uint64_t w;
    int err = 0;

    if (tether__claim_fast(f, tid) == 0)
        return 0; /* owner is not OWNER_NONE_YET from here on */
    lock(f);
    owner = atomic_load(&f->owner);
    if (owner > 0 && owner != tid) {
        /*
         * Another thread's fiber: stop its fast claims (revoking), make
         * sure one that started shows (the barrier), and let it finish.
         */
        atomic_store(&f->revoking, 1);
        barrier();
        while (atomic_load(&f->in_claim))
            sched_yield();
    }
    w = atomic_load(&f->state);
    for (;;) {
        if (tether__resumable(w)) {
            if (atomic_compare_exchange_weak(&f->state, &w,
                                             (uint64_t)tid << 32 | TETHER_RUNNING))
                break;
            continue; /* w was reloaded */
        }
        err = tether__state_of(w) == TETHER_RUNNING ? -EBUSY : -ESRCH;
        break;
    }
    if (err == 0 && owner != tid && owner != OWNER_UNBIASED) {
        /* Biased to us from now on: unless it keeps moving. */
        if (owner > 0)
            f->revocations++;
        atomic_store(&f->owner, f->revocations > MAX_REVOCATIONS ? OWNER_UNBIASED : tid);
    }
    atomic_store(&f->revoking, 0);
    unlock(f);
    return err;
}
