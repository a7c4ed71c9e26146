/* The fiber object, shared by the files that implement fibers. */
#ifndef TETHER_FIBER_IMPL_H
#define TETHER_FIBER_IMPL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <unwind.h>
#include <tether/fault.h>
#include <tether/fiber.h>

#include "arch.h"
#include "cxx_eh.h"
#include "stack.h"
#include "thread.h"

/* Why a kill was requested: the value of tether_fiber.kill. */
enum { KILL_CLAIMING = -1, KILL_NONE = 0, KILL_SWITCH = 1, KILL_DEADLINE = 2 };

struct tether_kill_shared;

struct tether_fiber {
    /*
     * The state word: a tether_state in the low 32 bits and, while the
     * fiber runs, the kernel id of the thread running it in the high 32
     * (where a kill signal goes). Changed only by the host side, after
     * the fiber's registers are saved: a fiber is never marked resumable
     * while it still runs on its stack. Resume claims it with a
     * compare-exchange, which also orders the claim before the claimer's
     * look at `kill` (see fiber.c's run()).
     */
    _Atomic uint64_t state;
    int stop;                    /* the state it stops in: set on the fiber */
    void *sp;                    /* its saved stack pointer while suspended */
    void *record;                /* host record at the top of its stack */
    struct tether_fiber *parent; /* its host while running; NULL = a thread */
    tether_fn fn;
    void *arg;
    void *user_data;             /* tether_fiber_set_user_data() */
    void *result;                /* what its last stop handed out (tether_fiber_result) */
    struct tether_fiber *exited_next; /* on its thread's list of fibers that
                                         ended with it (unwind.c) */
    unsigned flags;              /* tether_fiber_opts.flags */
    struct tether_stack stack;

    /*
     * Termination. `kill` goes from KILL_NONE to a reason once (by
     * compare-exchange, from any thread or a signal handler), after
     * kill_details is written. id tells a kill signal which fiber it is for without touching
     * memory that may have been freed.
     */
    _Atomic int kill;
    void *_Atomic kill_details;
    uint64_t id;
    int host_depth;              /* open tether_host_enter() brackets */
    uintptr_t hijack_slot;       /* a kill waits for a host function to return
                                    through this slot (kill_hijack.c), or 0 */

    const tether_code_range *guest_code; /* sorted copy, or NULL */
    size_t guest_code_count;

    struct tether_kill_shared *_Atomic kswitch; /* shared by its kill switches */
    tether_fault fault;          /* valid when state == TETHER_FAULTED */
    _Atomic int fault_walked;    /* its backtrace: 0 not yet, 1 walking, 2 done */

    /*
     * What is left on the stack, for the unwind (unwind.c). has_frames:
     * the fiber has run and not yet returned or been unwound. A fiber
     * stopped in a switch (yield, tether_terminate, a checkpoint) is
     * resumable at sp; one stopped by a signal (a fault, a kill) left
     * its registers in dead_regs / dead_ctl instead.
     */
    int has_frames;
    int stopped_by_signal;
    uint64_t dead_regs[TETHER_NREGS];
    uint64_t dead_ctl;

    int unwinding;               /* an unwind of this fiber is under way */
    int unwind_reraise;          /* guest code swallowed it: raise again */
    int unwind_swallowed;        /* how many times it was swallowed */
    int unwind_outcome;          /* how the last unwind ended (unwind.c) */
    int unwind_result;           /* what the last unwind returned */
    int unwind_passed_over;      /* frames whose cleanups it could not run */
    struct _Unwind_Exception exc; /* the unwind's exception object */
    struct tether_cxx_eh cxx_eh; /* its C++ exception state (cxx_eh.c) */
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

static inline int tether__fiber_state(const tether_fiber *f)
{
    return tether__state_of(atomic_load_explicit(
        &((tether_fiber *)f)->state, memory_order_acquire));
}

/*
 * host_depth is read by signal handlers on the same thread: the fences
 * keep the compiler from moving the change across the code it brackets.
 */
static inline void tether__host_depth_add(tether_fiber *f, int n)
{
    atomic_signal_fence(memory_order_seq_cst);
    f->host_depth += n;
    atomic_signal_fence(memory_order_seq_cst);
}

/*
 * At every entry into tether from a fiber: a guest that swallowed the
 * unwind (catch (...) without rethrow) gets it raised again here.
 * `strict`: the entry may be made by a catch block that is handling the
 * unwind and will rethrow it (see unwind.c).
 */
void tether__unwind_reraise(tether_fiber *f, int strict);

static inline void tether__unwind_checkpoint(tether_fiber *f, int strict)
{
    if (f->unwinding || f->unwind_reraise)
        tether__unwind_reraise(f, strict);
}

/*
 * tether's own functions that may run on a fiber and call into libc
 * (malloc, mmap, locks) are host calls: a kill must not stop them half
 * way. They begin with tether__host_begin() and end with
 * tether__host_end(), which is also a kill checkpoint.
 */
static inline tether_fiber *tether__host_begin(void)
{
    tether_fiber *f = tether__thread.current;

    if (f) {
        tether__unwind_checkpoint(f, 1);
        tether__host_depth_add(f, 1);
    }
    return f;
}

void tether__host_end(tether_fiber *f);

/*
 * Switches into f, claimed by this thread, at the suspended block `sp`,
 * and back: f becomes the thread's current fiber with its own C++
 * exception state for as long as it runs. Returns what it switched out
 * with. Used by resume and by the unwind; inlined on purpose (see
 * fiber.c's run()).
 */
static inline __attribute__((always_inline)) void *
tether__enter(struct tether_thread *t, tether_fiber *f, void *sp, void *in)
{
    void *v, *cxx;

    f->parent = t->current;
    t->current = f;
    cxx = tether__cxx_eh_swap_in(&f->cxx_eh);
    v = tether__ctx_resume(f->record, sp, in);
    tether__cxx_eh_swap_out(&f->cxx_eh, cxx);
    /* Back on the host; the fiber may have moved threads since: reload. */
    t = &tether__thread;
    t->current = f->parent;
    f->parent = NULL;
    return v;
}

/*
 * tether_fiber_resume() without its host-call bracket, for callers that
 * bracket a larger piece of work (tether__host_begin/_end).
 */
int tether__resume(tether_fiber *f, void *in, void **out);

/*
 * Stops the running fiber f from a signal handler: remembers its
 * registers for the unwind, records `stop`, and rewrites the signal's
 * context so that it returns into the host as if resume's switch had
 * returned `value`. Async-signal-safe (signals.c).
 */
void tether__signal_stop_fiber(tether_fiber *f, void *uc, int stop, void *value);

/* Is f the calling fiber or one of the fibers hosting it? */
int tether__hosts_caller(const tether_fiber *f);

/*
 * Unwinds f (tether_fiber_unwind without the host-call bracket).
 * keep_record: the host may still read a fault record afterwards, so
 * its backtrace is walked first.
 */
int tether__unwind(tether_fiber *f, int keep_record);

/* Walks f's fault record's backtrace, once (fault.c). */
void tether__fault_walk(tether_fiber *f);

/* Raises the unwind on the calling fiber f (unwind.c). */
_Noreturn void tether__unwind_raise(tether_fiber *f);

/* What resume returns, after TETHER_FIBER_UNWIND_ON_EXIT has its say. */
int tether__resume_end(tether_fiber *f, int stop);

/* Leaves the fiber for its host, stopping in `stop`. See fiber.c. */
void *tether__switch_out(tether_fiber *f, int stop, void *value);

/* Ends the calling fiber f as TERMINATED: a kill is pending on it. */
_Noreturn void tether__kill_now(tether_fiber *f);

/*
 * A checkpoint: ends the calling fiber f as TERMINATED if a kill is
 * pending on it and it is not inside a host call. Inline: it sits on
 * every switch.
 */
static inline void tether__kill_checkpoint(tether_fiber *f)
{
    /* An unwind is the host's own doing: it runs to its end. */
    if (f->host_depth == 0 && !f->unwinding && atomic_load(&f->kill) > KILL_NONE)
        tether__kill_now(f);
}

/* Requests a kill of f (first request wins). Async-signal-safe. */
int tether__kill_request(tether_fiber *f, int why, void *details);

/* Is pc inside f's guest code? Always true when f names none. Async-signal-safe. */
int tether__in_guest_code(const tether_fiber *f, uintptr_t pc);

/* Detaches f's kill switches before f is freed (kill_switch.c). */
void tether__kill_switch_detach(tether_fiber *f);

#endif
