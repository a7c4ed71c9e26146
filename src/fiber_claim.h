/*
 * Who may run a fiber: claiming its state word (fiber_claim.c).
 *
 * A resume must claim the fiber (READY or YIELDED to RUNNING, with its
 * thread's id) so that two threads resuming it at once do not both run
 * it, and must then see a kill fired at the same moment (a killer sets
 * the kill, then reads the state word; a claimer sets the state word,
 * then reads the kill: one of them must see the other). A locked
 * compare-exchange does both, and costs as much as the rest of a switch.
 * So a fiber is biased to the thread that claims it first (which costs
 * that claim one compare-exchange, of the owner, on the fast way: every
 * fiber has a first resume): that thread then claims it with plain
 * stores, and the rare others (a killer, another thread taking the
 * fiber over) pay instead, with membarrier(2), which makes every
 * running thread of the process execute a full barrier. A fiber
 * whose bias is taken away more than a few times (it moves between
 * threads all the time) is claimed with a compare-exchange from then on,
 * and so is every fiber where membarrier is not available.
 */
#ifndef TETHER_FIBER_CLAIM_H
#define TETHER_FIBER_CLAIM_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <tether/fiber.h>

/* tether_claim.owner: no thread yet (the first claim takes it), or none ever. */
#define OWNER_NONE_YET ((pid_t)-1)
#define OWNER_UNBIASED ((pid_t)0)

/* A fiber's claim: the first member of the fiber object (fiber_impl.h). */
struct tether_claim {
    /*
     * The state word: a tether_state in the low 32 bits and, while the
     * fiber runs, the kernel id of the thread running it in the high 32
     * (where a kill signal goes). Changed by the thread that holds the
     * claim, and by a switch out only once the fiber is off its stack: a
     * fiber is never marked resumable while it still runs on it.
     */
    _Atomic uint64_t state;
    _Atomic pid_t owner;    /* the thread it is biased to, OWNER_NONE_YET or OWNER_UNBIASED */
    _Atomic int in_claim;   /* the owner is in its fast claim */
    _Atomic int revoking;   /* another thread is taking the bias away */
    _Atomic int lock;       /* serialises claims that take the slow way */
    int revocations;        /* biases taken away so far */
};

/* The parts of a state word. */
static inline int tether__state_of(uint64_t word)
{
    return (int)(word & 0xffffffffu);
}

static inline pid_t tether__runner_of(uint64_t word)
{
    return (pid_t)(word >> 32);
}

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
static inline int tether__claim_fast(struct tether_claim *f, pid_t tid)
{
    pid_t owner = atomic_load_explicit(&f->owner, memory_order_relaxed);
    uint64_t w;

    /*
     * Biased to us; or never claimed (a new fiber's first resume) and
     * biased to us now, by our compare-exchange of owner, without the
     * lock (owner never goes back to OWNER_NONE_YET, so a claimer that
     * finds it gone, here or under the lock, has a real owner to deal
     * with). The compare-exchange is also the barrier the kill handshake
     * needs: a killer that found no owner made no membarrier, but it had
     * set the kill before it looked, and our look at the kill comes after.
     */
    if (owner == tid ||
        (owner == OWNER_NONE_YET && atomic_compare_exchange_strong(&f->owner, &owner, tid))) {
        /*
         * Ours. A thread taking the bias away sets `revoking`, has every
         * running thread pass a barrier, then waits while `in_claim` is
         * set: either it sees our in_claim, or we see its revoking (the
         * asymmetric Dekker pattern; the compiler fences keep the order
         * here, membarrier keeps it on the CPU).
         */
        atomic_store_explicit(&f->in_claim, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
        w = atomic_load_explicit(&f->state, memory_order_relaxed);
        /*
         * And still ours: a revocation may have come and gone between the
         * first look at owner and in_claim (it saw no in_claim). It stores
         * the new owner before it clears revoking, and loads happen in
         * order on x86 (and the compiler keeps them so): seeing revoking
         * clear, we see that owner too (acquire: no later load moves up).
         */
        if (atomic_load_explicit(&f->revoking, memory_order_acquire) ||
            atomic_load_explicit(&f->owner, memory_order_relaxed) != tid ||
            !tether__resumable(w)) {
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
 * Any claim by thread `tid`: 0 if the fiber is now RUNNING on it, else
 * -EBUSY (running: elsewhere, or it is the caller or one of its hosts)
 * or -ESRCH (finished). Takes the bias over from another thread when it
 * must (a system call).
 */
int tether__claim(struct tether_claim *f, pid_t tid);

/* A new fiber's claim: READY, biased to its first claimer if it can be. */
void tether__claim_init(struct tether_claim *f);

/*
 * Called by a killer after it has set f's kill and before it reads f's
 * state word: makes sure a fast claim of f either shows in the state
 * word or will see the kill.
 */
void tether__claim_fence(struct tether_claim *f);

#endif
