/*
 * The architecture layer: the only code that knows register names and
 * stack layouts. Implemented by asm/<arch>_<abi>_<format>.S and
 * src/arch_<arch>.c. Everything above it deals in a fiber's saved stack
 * pointer and an opaque HOST RECORD at the top of its stack, where a
 * host's registers are kept while the fiber runs.
 */
#ifndef TETHER_ARCH_H
#define TETHER_ARCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct tether_fiber;

/*
 * Host -> fiber. Saves the caller in `record` and continues the fiber
 * suspended at `fiber_sp` (rax = 0, rsi = value there). Returns when the
 * fiber comes back: the state it published (tether__switch_out), or what
 * tether__resume_finish returned (tether__switch_out_finish, a signal).
 */
int tether__switch_in(void *record, void *fiber_sp, void *value);

/*
 * Fiber -> host, the fast way: suspends the caller (its stack pointer
 * goes to *save_sp), continues the host saved in `record`, stores `stop`
 * into *state once off the fiber's stack, and makes the host's switch in
 * return `stop`. Returns 0 when the fiber is resumed.
 */
int tether__switch_out(void **save_sp, void *record, int stop,
                       _Atomic uint64_t *state);

/*
 * Fiber -> host, the other way: suspends the caller, then the host runs
 * tether__resume_finish(f) and its switch in returns what that returns.
 * Returns 0 when the fiber is resumed.
 */
int tether__switch_out_finish(void **save_sp, void *record, struct tether_fiber *f);

/* Where a fiber's host continues when it comes back by the other way. */
void tether__host_finish(void);

/* What the host does then, on its own stack (fiber.c). */
int tether__resume_finish(struct tether_fiber *f);

/* The stack pointer, near enough (the caller's frame). */
static inline __attribute__((always_inline)) uintptr_t tether__arch_sp(void)
{
    uintptr_t sp;
    __asm__("movq %%rsp, %0" : "=r"(sp));
    return sp;
}

/* The permanent bottom frame of every fiber stack (see the .S file). */
void tether__fiber_trampoline(void);

/*
 * Frames made of a register block (see the .S file): a block of
 * TETHER_NREGS registers in DWARF order (tether_fault.regs' layout)
 * that unwinders walk as the caller of whatever the stub calls.
 * tether__frame_signal's rip is an interrupted instruction, looked up
 * as it is; tether__frame_call's is a return address.
 */
void tether__frame_signal(void);
void tether__frame_call(void);
extern const char tether__frame_end[];

/*
 * Calls fn(arg) on the caller's stack, below a register-block frame for
 * `regs` (exact: tether__frame_signal, else tether__frame_call), so that
 * a stack walk started inside fn continues into the frames in regs.
 */
void tether__arch_walk(const uint64_t *regs, int exact, void (*fn)(void *),
                       void *arg);

/*
 * The bottom frame (the trampoline) calls the fiber's entry function
 * itself, so that every walk of a fiber's stack, the unwind's included,
 * goes from the entry function straight to the bottom frame: one frame
 * fewer to step through than with a C function between them.
 *
 *   tether__fiber_begin  first: what a fiber does before its entry
 *                        runs; returns the entry and its argument
 *                        (in rax and rdx, the ABI's two-word return)
 *   tether__fiber_end    last, with what the entry returned; never returns
 */
struct tether_fiber_entry {
    void *(*fn)(void *arg, void *first);
    void *arg;
};

struct tether_fiber_entry tether__fiber_begin(struct tether_fiber *f);
_Noreturn void tether__fiber_end(struct tether_fiber *f, void *result);

/*
 * The end of the bottom frame. The switch routines and the bottom frame
 * declare in the library's sequence table (asm/, tether/seq.h) that a
 * kill never acts inside them: a signal that lands there interrupts a
 * half-done switch (see kill.c, fault.c).
 */
extern const char tether__fiber_trampoline_end[];

/* For debuggers: a frame whose caller is a suspended fiber (see the .S file). */
void tether__frame_suspended(void);

static inline int tether__arch_in_frame_stub(uintptr_t pc)
{
    return pc >= (uintptr_t)tether__frame_signal && pc < (uintptr_t)tether__frame_end;
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
/* Makes the context continue at pc (every other register as it was). */
void tether__arch_uc_set_pc(void *uc, uintptr_t pc);
/* The general registers, in tether_reg order (TETHER_NREGS of them). */
void tether__arch_uc_regs(const void *uc, uint64_t *regs);
/*
 * Rewrites the context so that returning from the signal handler
 * continues the host saved in `record` in tether__host_finish(f), as if
 * its call to the switch in had just entered it.
 */
void tether__arch_uc_to_host(void *uc, const void *record, struct tether_fiber *f);
/*
 * Rewrites the context so that returning from the signal handler
 * continues at pc with stack pointer sp (the other registers as they
 * were), with the state a call boundary has (direction flag clear, the
 * x87 stack empty).
 */
void tether__arch_uc_jump(void *uc, uintptr_t pc, uintptr_t sp);
/* Sets the context's MXCSR and x87 control word. */
void tether__arch_uc_set_ctl(void *uc, uint32_t mxcsr, uint16_t x87_cw);
/*
 * Sets the context's MXCSR and x87 control word to the calling code's
 * (under valgrind, a handler runs with the interrupted code's words, and
 * its signal frame holds other ones: signals.c).
 */
void tether__arch_uc_set_ctl_live(void *uc);
/*
 * Leaves the signal handler for the context without a sigreturn, as
 * setcontext() does: its signal mask, floating-point control and
 * registers (signals.c). Only for a context that
 * continues at a call boundary: rax, r10, r11 and the flags are not
 * restored, and the word below its stack pointer is overwritten.
 * Returns only if it could not.
 */
void tether__arch_uc_leave(const void *uc);

/* The trampoline's landing pad, where every unwind of the fiber ends. */
void tether__fiber_landing(void);

/*
 * Lays out a fresh fiber stack ending at `top` (16-aligned): the host
 * record, and below it a suspended context that enters the trampoline
 * with `f`. keep_fp: the switches keep the fiber's floating-point
 * control apart from its hosts' (TETHER_FIBER_FP_CONTROL). Stores the record's address in *record; returns the saved
 * stack pointer to resume.
 */
void *tether__arch_ctx_init(void *top, struct tether_fiber *f, void **record,
                            int keep_fp);

/* Calls fn(arg) on another stack, whose top is `top`, and returns. */
void tether__arch_call_on_stack(void *top, void (*fn)(void *), void *arg);

/*
 * Lays out, just below `below`, a register block holding `regs` and under
 * it a suspended block that resumes in the register-block frame (exact:
 * tether__frame_signal, else tether__frame_call) with the floating-point
 * control words `ctl`; that frame calls fn(arg). Returns the suspended
 * block, to resume. TETHER_ARCH_FRAME_SIZE bytes at most are written.
 */
void *tether__arch_frame_at(uintptr_t below, const uint64_t *regs, int exact,
                            void (*fn)(void *), void *arg, uint64_t ctl);
#define TETHER_ARCH_FRAME_SIZE 256

/* Bytes below a stack pointer that the code it belongs to may use (the red zone). */
#define TETHER_ARCH_RED_ZONE 128

/*
 * The registers of a fiber suspended at `sp` (its saved block), as a
 * register block whose rip is the return address it resumes at;
 * registers a switch does not keep are zero.
 */
void tether__arch_suspended_regs(const void *sp, uint64_t *regs);

/* The floating-point control words of a fiber suspended at `sp`. */
uint64_t tether__arch_suspended_ctl(const void *sp);

/* The floating-point control words in a signal context, as a saved block's first slot. */
uint64_t tether__arch_uc_ctl(const void *uc);

#endif
