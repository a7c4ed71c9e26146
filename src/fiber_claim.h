/*
 * Who may run a fiber: claiming its state word (fiber_claim.c).
 *
 * A resume must claim the fiber (READY or YIELDED to RUNNING, with its
 * thread's id) so that two threads resuming it at once do not both run
 * it, and must then see a kill fired at the same moment (a killer sets
 * the kill, then reads the state word; a claimer sets the state word,
 * then reads the kill: one of them must see the other). A locked
 * compare-exchange does both, and costs as much as the rest of a switch.
 * So a fiber is biased to the thread that claims it: that thread claims
 * it with plain stores, and the rare others (a killer, another thread
 * taking the fiber over) pay instead, with membarrier(2), which makes
 * every running thread of the process execute a full barrier. A fiber
 * whose bias is taken away more than a few times (it moves between
 * threads all the time) is claimed with a compare-exchange from then on,
 * and so is every fiber where membarrier is not available.
 */
#ifndef TETHER_FIBER_CLAIM_H
#define TETHER_FIBER_CLAIM_H

#include <stdatomic.h>
#include <sys/types.h>

#include "fiber_impl.h"

/* A claim that cannot be made the fast way: go through tether__claim(). */
#define CLAIM_SLOW 1

static inline int tether__resumable(uint64_t word)
{
    int st = tether__state_of(word);
    return st == TETHER_READY || st == TETHER_YIELDED;
}

/*
 * The fast claim by thread `tid`: 0 if f is now RUNNING on it, else
 * CLAIM_SLOW. Inline: it sits on every resume.
 */
static inline int tether__claim_fast(tether_fiber *f, pid_t tid)
{
    pid_t owner = atomic_load_explicit(&f->owner, memory_order_relaxed);
    uint64_t w;

    if (owner == tid) {
        /*
         * Biased to us. A thread taking the bias away sets `revoking`,
         * has every running thread pass a barrier, then waits while
         * `in_claim` is set: either it sees our in_claim, or we see its
         * revoking (the asymmetric Dekker pattern; the compiler fences
         * keep the order here, membarrier keeps it on the CPU).
         */
        atomic_store_explicit(&f->in_claim, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
        w = atomic_load_explicit(&f->state, memory_order_relaxed);
        if (atomic_load_explicit(&f->revoking, memory_order_relaxed) || !tether__resumable(w)) {
            atomic_store_explicit(&f->in_claim, 0, memory_order_release);
            return CLAIM_SLOW;
        }
        atomic_store_explicit(&f->state, (uint64_t)tid << 32 | TETHER_RUNNING,
                              memory_order_relaxed);
        atomic_store_explicit(&f->in_claim, 0, memory_order_release);
        atomic_signal_fence(memory_order_seq_cst); /* then the look at kill */
        return 0;
    }
    if (owner == OWNER_UNBIASED) {
        w = atomic_load_explicit(&f->state, memory_order_relaxed);
        /* seq_cst: a full barrier between the claim and the look at kill. */
        if (tether__resumable(w) &&
            atomic_compare_exchange_strong(&f->state, &w,
                                           (uint64_t)tid << 32 | TETHER_RUNNING))
            return 0;
    }
    return CLAIM_SLOW;
}

/*
 * Any claim by thread `tid`: 0 if f is now RUNNING on it, else -EBUSY
 * (running elsewhere), -EDEADLK (the caller or one of its hosts) or
 * -ESRCH (finished). Takes the bias over from another thread when it
 * must (a system call).
 */
int tether__claim(tether_fiber *f, pid_t tid);

/*
 * Called by a killer after it has set f's kill and before it reads f's
 * state word: makes sure a fast claim of f either shows in the state
 * word or will see the kill.
 */
void tether__claim_fence(tether_fiber *f);

/* The owner a new fiber starts with: OWNER_NONE_YET, or OWNER_UNBIASED without membarrier. */
pid_t tether__claim_initial_owner(void);

#endif
