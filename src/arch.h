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
#include <stdint.h>

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

/* The synthetic frame that raises the unwind of a stopped fiber. */
void tether__unwind_entry(void);

/* Runs the fiber's entry function; never returns. Called by the trampoline. */
_Noreturn void tether__fiber_main(struct tether_fiber *f, void *first);

/*
 * Ends of the switch routines and of the bottom frame. The switch
 * routines are the runtime's critical sequences: a signal that lands in
 * [start, end) interrupts a half-done switch, so the handlers never
 * redirect from there (see kill.c, fault.c).
 */
extern const char tether__ctx_resume_end[];
extern const char tether__ctx_yield_end[];
extern const char tether__fiber_trampoline_end[];


static inline int tether__arch_in_switch(uintptr_t pc)
{
    return (pc >= (uintptr_t)tether__ctx_resume &&
            pc < (uintptr_t)tether__ctx_resume_end) ||
           (pc >= (uintptr_t)tether__ctx_yield &&
            pc < (uintptr_t)tether__ctx_yield_end);
}

static inline int tether__arch_in_trampoline(uintptr_t pc)
{
    return pc >= (uintptr_t)tether__fiber_trampoline &&
           pc < (uintptr_t)tether__fiber_trampoline_end;
}

/*
 * Signal contexts (a ucontext_t *, passed as void * so this header needs
 * no system header). All async-signal-safe.
 */
uintptr_t tether__arch_uc_pc(const void *uc);
uintptr_t tether__arch_uc_sp(const void *uc);
/* The general registers, in tether_reg order (TETHER_NREGS of them). */
void tether__arch_uc_regs(const void *uc, uint64_t *regs);
/*
 * Rewrites the context so that returning from the signal handler
 * continues the host saved in `record`, as if its tether__ctx_resume
 * had returned `value`.
 */
void tether__arch_uc_to_host(void *uc, const void *record, void *value);

/* The trampoline's landing pad, where every unwind of the fiber ends. */
void tether__fiber_landing(void);

/*
 * Lays out a fresh fiber stack ending at `top` (16-aligned): the host
 * record, and below it a suspended context that enters the trampoline
 * with `f`. Stores the record's address in *record; returns the saved
 * stack pointer to resume.
 */
void *tether__arch_ctx_init(void *top, struct tether_fiber *f, void **record);

/*
 * Builds the synthetic frame (see tether__unwind_entry in the .S file)
 * below caller_sp: the return address, then a suspended block holding
 * the caller's callee-saved registers (`regs` in tether_reg order) and
 * the floating-point control words `ctl`. Returns the block, to resume.
 */
void *tether__arch_unwind_frame(uintptr_t caller_sp, uintptr_t ret,
                                const uint64_t *regs, uint64_t ctl);

/* The floating-point control words in a signal context, as a saved block's first slot. */
uint64_t tether__arch_uc_ctl(const void *uc);

#endif
