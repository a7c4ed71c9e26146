/*
 * Fibers: create, resume, yield, return, destroy.
 *
 * A fiber runs a function on its own stack. The thread (or fiber) that
 * calls tether_fiber_resume() is the fiber's host for as long as the
 * fiber runs; when the fiber yields or returns, resume returns in the
 * host. Fibers nest: a fiber may resume another fiber, and becomes its
 * host.
 *
 * Threads. Any number of threads may run fibers at once. A fiber that is
 * READY or YIELDED may be resumed by any thread, not only the one that
 * created it or ran it last. Code running on a fiber must then not keep
 * the address of a thread-local variable across a tether_yield() (the
 * compiler may cache such addresses, errno's included: read errno before
 * yielding, not after). Two threads that resume the same fiber at once
 * are safe: one of them runs it, the other gets -EBUSY.
 *
 * States. A fiber starts READY. resume makes it RUNNING; it leaves
 * RUNNING by yielding (YIELDED, resumable) or returning (RETURNED,
 * final). FAULTED and TERMINATED are final states reached by faults and
 * termination. Every other transition is refused with an error code.
 *
 * Lifetime. tether_fiber_destroy() frees a fiber that is not running.
 * A fiber that still has frames on its stack (it yielded, faulted or was
 * terminated) is unwound first: its pending cleanups and destructors run
 * (see tether/unwind.h). Its stack goes back to a pool for the next fiber
 * of the same size.
 */
#ifndef TETHER_FIBER_H
#define TETHER_FIBER_H

#include <stddef.h>
#include <stdint.h>
#include <tether/common.h>

TETHER_BEGIN_DECLS

typedef struct tether_fiber tether_fiber;

/*
 * A fiber's entry function. `arg` is the argument given to
 * tether_fiber_create(); `in` is the value given to the first
 * tether_fiber_resume(). Its return value comes out of the resume that
 * sees the fiber return.
 */
typedef void *(*tether_fn)(void *arg, void *in);

/* The states of a fiber. The positive values double as resume results. */
typedef enum tether_state {
    TETHER_READY = 0,      /* created, never resumed */
    TETHER_YIELDED = 1,    /* suspended in tether_yield(); resumable */
    TETHER_RETURNED = 2,   /* the entry function returned; final */
    TETHER_FAULTED = 3,    /* stopped by a fault; final */
    TETHER_TERMINATED = 4, /* stopped by termination; final */
    TETHER_RUNNING = 5     /* on a CPU now, or hosting a nested fiber */
} tether_state;

/*
 * Stack geometry defaults and bounds, in bytes (rounded up to pages).
 *
 * A guard stops a frame that runs into it, not one bigger than the whole
 * guard (an alloca or an array of megabytes): that one moves the stack
 * pointer past it at once, and if what lies there is mapped (another
 * fiber's stack), writes to it without faulting. Build guest code with
 * -fstack-clash-protection (gcc, clang: big frames are probed page by
 * page, so the first probe lands in the guard), or give fibers a guard
 * bigger than any frame (guards cost address space, not memory).
 */
#define TETHER_STACK_SIZE_DEFAULT (1024u * 1024u)
#define TETHER_STACK_SIZE_MIN (16u * 1024u)
#define TETHER_STACK_SIZE_MAX (1024ul * 1024u * 1024u)
#define TETHER_GUARD_SIZE_DEFAULT (64u * 1024u)
#define TETHER_GUARD_SIZE_MIN 1u /* rounded up: at least one page */
#define TETHER_GUARD_SIZE_MAX (256ul * 1024u * 1024u)

/*
 * Guard pages are installed with madvise(MADV_GUARD_INSTALL) where the
 * running kernel has it (Linux 6.13 and later: no extra mapping per
 * stack), else with mprotect(PROT_NONE) (one extra mapping per stack;
 * Linux's default vm.max_map_count allows about 32,000 such stacks).
 * This flag, or TETHER_GUARD=mprotect in the environment, forces
 * mprotect.
 */
#define TETHER_FIBER_GUARD_MPROTECT 0x1u

/*
 * Stacks are reused: a new fiber gets the slot of one destroyed before
 * (from the creating thread's cache, else a pool per stack geometry),
 * with whatever that fiber left on its stack: zeroing it protects
 * nothing against native guests (they can read the whole process) nor
 * wasm ones (they cannot read the native stack), and costs a system
 * call. With this flag the fiber's stack goes back emptied (the kernel
 * gives zero pages again) when it is destroyed.
 */
#define TETHER_FIBER_CLEAN_STACK 0x4u

/*
 * Floating-point control (the SSE MXCSR: rounding, exception masks,
 * flush-to-zero; the x87 control word). By default a fiber shares its
 * thread's with its host: a guest that changes them (fesetround,
 * fesetenv, _MM_SET_ROUNDING_MODE) leaves them changed when it yields,
 * as any function that changes them does, and finds what its host set
 * when it is resumed. With this flag the fiber keeps its own: it starts
 * with the ABI's defaults (round to nearest, exceptions masked), and the
 * switches save and restore both sides' control words (a few
 * nanoseconds a switch; saving the MXCSR is slow on some processors),
 * and a fault or kill gives the host its own words back too.
 */
#define TETHER_FIBER_FP_CONTROL 0x8u

/*
 * A range of code addresses, [start, end). An array element: its layout
 * is fixed (see tether/common.h).
 */
typedef struct tether_code_range {
    const void *start;
    const void *end;
} tether_code_range;

/* Most ranges a fiber's guest_code may list. */
#define TETHER_GUEST_CODE_MAX 1024u

/* The longest name a fiber keeps, in bytes (its NUL not counted). */
#define TETHER_FIBER_NAME_MAX 31u

/*
 * Options for tether_fiber_create(). Zero-initialise and set what you
 * need: a zero field means the default. Passing NULL means all defaults.
 * New options come from `reserved` (see tether/common.h).
 */
typedef struct tether_fiber_opts {
    size_t stack_size; /* usable stack: 0 = TETHER_STACK_SIZE_DEFAULT */
    size_t guard_size; /* PROT_NONE region below it: 0 = TETHER_GUARD_SIZE_DEFAULT */
    unsigned flags;    /* TETHER_FIBER_* flags */
    /*
     * The guest's code, if the host knows it (a JIT's buffer, a loaded
     * module's text). NULL (the default): every fault on the fiber is the
     * guest's. Otherwise a fault whose pc lies outside these ranges is a
     * host bug: it is chained as if tether were not there (see
     * tether/fault.h), and kills landing outside them are deferred (see
     * tether/kill.h). The ranges are copied.
     */
    const tether_code_range *guest_code;
    size_t guest_code_count;
    /*
     * A name for the fiber, for people: fault reports
     * (tether_fault_format) and debuggers show it. Copied, cut to
     * TETHER_FIBER_NAME_MAX bytes (see tether_fiber_set_name()). NULL
     * (the default): no name.
     */
    const char *name;
    uint64_t reserved[8]; /* zero; room for later options */
} tether_fiber_opts;

/*
 * Creates a READY fiber that will run fn(arg, in) on a fresh stack.
 * Returns 0 and stores the fiber in *out, or:
 *   -EINVAL  out or fn is NULL, opts->flags has unknown bits or
 *            opts->reserved is not zero, a
 *            guest_code range is empty (start >= end), guest_code is
 *            NULL with a nonzero count, or non-NULL with a zero count
 *            (a fiber with no guest code at all is a mistake: pass
 *            NULL to make every fault the guest's)
 *   -ERANGE  a size is outside [TETHER_STACK_SIZE_MIN, _MAX] or
 *            [TETHER_GUARD_SIZE_MIN, _MAX], or guest_code_count exceeds
 *            TETHER_GUEST_CODE_MAX
 *   -ENOMEM  the stack could not be mapped or guarded
 *   -EAGAIN  the fault handlers could not be installed (sigaction failed)
 */
TETHER_API int tether_fiber_create(tether_fiber **out, tether_fn fn, void *arg,
                                   const tether_fiber_opts *opts);

/*
 * Runs a READY or YIELDED fiber until it yields, returns, faults or is
 * terminated. May be called from a signal handler, also one running on
 * the alternate signal stack (the fiber then runs with a spare one, so
 * its faults land elsewhere than on the handler's frames). `in` becomes the entry function's `in` on the first resume
 * and tether_yield()'s *in afterwards. On return *out (if out is not
 * NULL) holds the value yielded, the entry function's result, NULL for
 * a fault (see tether_fiber_fault()), or a termination's details: those
 * given to tether_terminate() or a kill switch, TETHER_DEADLINE_EXCEEDED,
 * or TETHER_EXCEPTION_ESCAPED (see tether/kill.h, tether/unwind.h).
 * Returns the state the fiber stopped in (TETHER_YIELDED, _RETURNED,
 * _FAULTED, _TERMINATED), or:
 *   -EINVAL   f is NULL
 *   -EDEADLK  f is the caller, or one of the fibers hosting the caller; or
 *             resumes from signal handlers on the alternate stack nest
 *             more than four deep
 *   -EBUSY    f is running on another thread
 *   -ESRCH    f has finished
 *   -ENOMEM   this is the thread's first resume and its alternate signal
 *             stack could not be mapped
 */
TETHER_API int tether_fiber_resume(tether_fiber *f, void *in, void **out);

/*
 * Suspends the calling fiber and hands `out` to its host, whose resume
 * returns TETHER_YIELDED. Returns 0 when the fiber is resumed again,
 * with the resume's `in` stored in *in (if in is not NULL), or -EPERM
 * when the caller is not running on a fiber.
 */
TETHER_API int tether_yield(void *out, void **in);

/*
 * Frees a fiber and its stack, unwinding it first if it still has frames
 * (tether_fiber_unwind(), whose result is not reported: call it first to
 * see it). Returns 0, or -EINVAL for NULL, or -EBUSY if the fiber is
 * running (the fiber is then left alone). Must not race with other calls
 * on the same fiber.
 */
TETHER_API int tether_fiber_destroy(tether_fiber *f);

/*
 * The fiber's state, a tether_state (TETHER_RUNNING while it or a fiber
 * it hosts runs), or -EINVAL for NULL.
 */
TETHER_API int tether_fiber_state(const tether_fiber *f);

/* The fiber the caller runs on, or NULL on a thread's own stack. */
TETHER_API tether_fiber *tether_current(void);

/*
 * The usable stack of a fiber: [*lo, *hi), where its frames live. It is
 * at least the stack_size asked for, rounded up to pages, and less than
 * a page more: tether keeps the fiber object and the host's registers
 * in the page above, and what they leave of it is stack too. The guard
 * region lies just below *lo. Either pointer may be NULL. Returns 0 or
 * -EINVAL.
 */
TETHER_API int tether_fiber_stack(const tether_fiber *f, void **lo, void **hi);

/*
 * What a finished fiber handed its host when it stopped for good (the
 * *out of the resume that saw it): the entry function's result, a
 * termination's details, NULL for a fault; for a fiber that ended with
 * its thread (see tether/unwind.h) TETHER_THREAD_EXITED, though no
 * resume returned. NULL for a fiber that has not finished, or NULL.
 * (Yielded values go to the resume's *out only: keeping them too would
 * cost every switch a store.)
 */
TETHER_API void *tether_fiber_result(const tether_fiber *f);

/* tether_fiber_reset() flags. */
/*
 * Drop the frames a stopped fiber still has without running anything on
 * them: for guests known to keep no cleanups there (generated code, a
 * runaway recursion). Without it, they are unwound first.
 */
#define TETHER_RESET_DISCARD 0x1u

/*
 * Makes a fiber that is not running READY again, to run fn(arg, in) on
 * the same stack, with its options, guest code and user data kept: a
 * fiber reused without a new allocation (an instance runner resets its
 * fiber after every trap). A fiber that still has frames (it yielded,
 * faulted or was terminated) is unwound first, as by
 * tether_fiber_unwind(), unless flags has TETHER_RESET_DISCARD. A kill
 * that was pending is forgotten; kill switches stay attached and act on
 * the new run. Returns 0, or:
 *   -EINVAL   f or fn is NULL, or flags has unknown bits
 *   -EBUSY    f is running (-EDEADLK: it is the caller or hosts it)
 * The unwind's own result is not reported: call tether_fiber_unwind()
 * first to see it.
 */
TETHER_API int tether_fiber_reset(tether_fiber *f, tether_fn fn, void *arg,
                                  unsigned flags);

/*
 * A pointer the host keeps with the fiber (NULL until set), readable
 * from code running on it: tether_fiber_user_data(tether_current()).
 * The getter returns NULL for a NULL fiber; the setter returns 0 or
 * -EINVAL.
 */
TETHER_API void *tether_fiber_user_data(const tether_fiber *f);
TETHER_API int tether_fiber_set_user_data(tether_fiber *f, void *data);

/*
 * The fiber's name: tether_fiber_opts.name or the last
 * tether_fiber_set_name(), as kept; "" if it has none; NULL for a NULL
 * fiber. The string lives in the fiber: valid until its name is set
 * again or it is destroyed.
 */
TETHER_API const char *tether_fiber_name(const tether_fiber *f);

/*
 * Names the fiber; NULL or "" removes its name. The name is copied, cut
 * to its first TETHER_FIBER_NAME_MAX bytes (and, if that would split a
 * UTF-8 character, before it). A reset keeps it. Returns 0, or -EINVAL
 * for a NULL fiber. Any thread may call it, in any state of the fiber,
 * but not while another thread reads the same fiber's name (with
 * tether_fiber_name() or a fault report of it).
 */
TETHER_API int tether_fiber_set_name(tether_fiber *f, const char *name);

/*
 * A static, lower-case name for a tether_state: "ready", "running",
 * "yielded", "returned", "faulted", "terminated"; "unknown state" for
 * any other value (an error code included). Never NULL.
 */
TETHER_API const char *tether_state_name(int state);

/*
 * How much of its stack the fiber has used so far, for sizing stacks:
 * stores in *bytes the distance from the top of its stack (the *hi of
 * tether_fiber_stack()) down to the start of the lowest page of the
 * stack that holds memory. Page granularity: the deepest point the
 * stack reached, rounded down to its page. Measured with mincore(2)
 * (one system call per 2 MiB of stack, from the bottom up to the first
 * page found): it reads the kernel's page tables, not the fiber, so it
 * works in any state, and for a RUNNING fiber (from code on it, or from
 * another thread while it runs) it says how deep it has been so far, up
 * to the moment of the call.
 *
 * A high-water mark, not where the stack pointer is now: the pages a
 * fiber touches stay with its stack. So it also counts what came before
 * on the same stack: what the fiber's earlier runs used, if it was
 * reset; and, for a fiber whose stack slot came from the pool (see
 * TETHER_FIBER_CLEAN_STACK), what the fibers that had the slot before
 * used, unless they were created with TETHER_FIBER_CLEAN_STACK. Sizing
 * stacks from it then sizes them for the deepest of those fibers. A
 * page the kernel swapped out does not count. A fiber that has not run
 * on a fresh slot reports less than a page (what of the stack lies in
 * the page that holds the fiber object).
 *
 * Returns 0, or -EINVAL (f or bytes is NULL), or -ENOMEM (mincore
 * failed).
 */
TETHER_API int tether_fiber_stack_used(const tether_fiber *f, size_t *bytes);

TETHER_END_DECLS

#endif
