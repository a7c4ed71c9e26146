/*
 * The architecture layer: the only code that knows register names and
 * stack layouts. Implemented by asm/<arch>_<abi>_<format>.S and
 * src/arch_<arch>.c. Everything above it deals in a fiber's saved stack
 * pointer and an opaque HOST RECORD at the top of its stack, where a
 * host's registers are kept while the fiber runs.
 */
#ifndef TETHER_ARCH_H
#define TETHER_ARCH_H

#include <stddef.h>

struct tether_fiber;

/*
 * Host -> fiber. Saves the caller in `record`, continues the fiber
 * suspended at `fiber_sp` and hands it `value`. Returns when the fiber
 * yields, with the value it yields.
 */
void *tether__ctx_resume(void *record, void *fiber_sp, void *value);

/*
 * Fiber -> host. Suspends the caller (its stack pointer goes to
 * *save_sp) and continues the host saved in `record`, whose resume
 * returns `value`. Returns when the fiber is resumed, with that value.
 */
void *tether__ctx_yield(void **save_sp, void *record, void *value);

/* The permanent bottom frame of every fiber stack (see the .S file). */
void tether__fiber_trampoline(void);

/* Runs the fiber's entry function; never returns. Called by the trampoline. */
_Noreturn void tether__fiber_main(struct tether_fiber *f, void *first);

/* Ends of the switch routines: instructions in [start, end) are "switching". */
extern const char tether__ctx_resume_end[];
extern const char tether__ctx_yield_end[];

/*
 * Lays out a fresh fiber stack ending at `top` (16-aligned): the host
 * record, and below it a suspended context that enters the trampoline
 * with `f`. Stores the record's address in *record; returns the saved
 * stack pointer to resume.
 */
void *tether__arch_ctx_init(void *top, struct tether_fiber *f, void **record);

#endif
