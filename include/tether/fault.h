/*
 * Faults: what the host learns when a fiber dies of a signal.
 *
 * tether installs one process-wide handler for SIGSEGV, SIGBUS, SIGILL
 * and SIGFPE the first time a fiber is created, saving the handlers that
 * were installed before. A fault raised by the kernel (si_code > 0) while
 * a fiber runs, with the stack pointer on that fiber's stack, stops the
 * fiber: its resume returns TETHER_FAULTED and tether_fiber_fault()
 * describes the fault. So does the fiber's stack overflow, wherever the
 * pc is: an address in its guard region, or one just below a stack
 * pointer that a frame too big for the guard took below the stack. The
 * handler saves the registers without allocating and returns to the
 * host by rewriting the signal's saved context; no longjmp is involved.
 * The backtrace is walked later, when the host first asks for the
 * record, while the frames are still on the fiber's stack.
 *
 * Everything else is chained, so that tether changes nothing for faults
 * that are not a fiber's: faults on a thread's own stack, on threads
 * with no fiber running, signals sent with kill()/raise()/sigqueue(),
 * faults inside the switch code, and (when the fiber names its guest
 * code, see tether_fiber_opts.guest_code) faults whose pc is outside
 * the guest's code, which are host bugs (but not stack overflows: a
 * guest can choose its depth so that a host function overflows). A
 * guest that blocks these signals and then faults is killed by the
 * kernel, which bypasses every handler. Chaining means: the previous
 * handler is called (SA_SIGINFO or plain); if there was none, or it was
 * SIG_IGN, the default action is restored and the fault happens again
 * on return, so the process dies with the same signal (and core) as it
 * would have without tether. A host that installs its own handler for
 * these signals after creating fibers must chain to the handler it
 * replaces, or fibers' faults kill the process.
 *
 * Each thread that resumes a fiber gets an alternate signal stack (64 KiB
 * plus a guard page) on its first resume, so a fiber that overflows its
 * stack can still be handled; it is freed when the thread exits. A
 * thread that already has an alternate stack of at least 32 KiB keeps
 * its own.
 */
#ifndef TETHER_FAULT_H
#define TETHER_FAULT_H

#include <stddef.h>
#include <stdint.h>
#include <tether/common.h>
#include <tether/fiber.h>

TETHER_BEGIN_DECLS

/* What kind of fault stopped a fiber. */
typedef enum tether_fault_kind {
    TETHER_FAULT_SEGV = 1,           /* SIGSEGV: bad address or protection */
    TETHER_FAULT_BUS = 2,            /* SIGBUS: e.g. a truncated mapped file */
    TETHER_FAULT_ILL = 3,            /* SIGILL: illegal instruction (ud2) */
    TETHER_FAULT_FPE = 4,            /* SIGFPE: integer divide by zero, ... */
    TETHER_FAULT_STACK_OVERFLOW = 5  /* SIGSEGV in the fiber's guard region,
                                        or near a stack pointer that left
                                        the stack (a frame bigger than the
                                        guard) */
} tether_fault_kind;

/* Registers in the record, in DWARF register order (x86_64 psABI). */
enum tether_reg {
    TETHER_REG_RAX, TETHER_REG_RDX, TETHER_REG_RCX, TETHER_REG_RBX,
    TETHER_REG_RSI, TETHER_REG_RDI, TETHER_REG_RBP, TETHER_REG_RSP,
    TETHER_REG_R8, TETHER_REG_R9, TETHER_REG_R10, TETHER_REG_R11,
    TETHER_REG_R12, TETHER_REG_R13, TETHER_REG_R14, TETHER_REG_R15,
    TETHER_REG_RIP, TETHER_REG_RFLAGS,
    TETHER_NREGS
};

/* Return addresses kept from the faulting stack, at most. */
#define TETHER_FAULT_FRAMES_MAX 48

/*
 * A fault record. Filled in by the signal handler at the moment of the
 * fault; valid while the fiber exists. Its layout is fixed for the life
 * of the soname (tether_call() writes it into the caller's memory, and
 * other structs embed it): see tether/common.h.
 */
typedef struct tether_fault {
    int kind;          /* a tether_fault_kind */
    int signo;         /* SIGSEGV, SIGBUS, SIGILL or SIGFPE */
    int code;          /* si_code: SEGV_MAPERR, FPE_INTDIV, ILL_ILLOPN, ... */
    void *addr;        /* si_addr: the faulting address (the pc for ILL/FPE) */
    void *pc;          /* the faulting instruction */
    void *sp;          /* the stack pointer at the fault */
    uint64_t regs[TETHER_NREGS]; /* general registers at the fault */
    /*
     * The faulting stack: frames[0] is the pc, then the return address
     * of each caller, innermost first, down to the fiber's bottom frame
     * (host frames beyond it are not included). Walked with libgcc's
     * unwinder from the saved registers when tether_fiber_fault() is
     * first called (or tether_fiber_unwind(), which walks it before the
     * frames are gone); a walk that meets a corrupt stack stops there,
     * and the record keeps what it had. After a call through a wild
     * pointer (a pc no module holds), frames[1] is the caller.
     */
    int nframes;
    void *frames[TETHER_FAULT_FRAMES_MAX];
} tether_fault;

/*
 * The fault that stopped a FAULTED fiber, or NULL if f is NULL or did not
 * fault, or is running (an unwind in progress on another thread runs
 * it). The first call walks the backtrace (microseconds a frame); any
 * thread may call it; the fiber must not be unwound or reset meanwhile.
 */
TETHER_API const tether_fault *tether_fiber_fault(const tether_fiber *f);

/*
 * The same record without walking its backtrace: kind, signal, code,
 * address, pc, sp and registers are valid; nframes is 0 until
 * tether_fiber_fault() (or an unwind) walks it. For hosts that classify
 * many faults and read few backtraces: no cost beyond the pointer.
 */
TETHER_API const tether_fault *tether_fiber_fault_brief(const tether_fiber *f);

/* A static name for a tether_fault_kind ("stack overflow"), never NULL. */
TETHER_API const char *tether_fault_kind_name(int kind);

/*
 * Writes a human-readable, multi-line report of a fault into buf (always
 * NUL-terminated when len > 0): the kind, signal, code, address, pc and
 * sp (the first line begins with `fiber "NAME": ` when the record is a
 * named fiber's own, as tether_fiber_fault() returns it; a copy of a
 * record has no fiber), then one line per frame with the function and offset (exported
 * ones from dladdr(), static ones from the module's own symbol table
 * unless it was stripped; C++ names demangled when libstdc++ is in the
 * process), the module, and for a pc no module holds "? (no module)".
 * Returns
 * the length of the whole report, like snprintf (so a result >= len
 * means it was cut), or -EINVAL if fault is NULL, or buf is NULL with
 * len > 0. Not for signal handlers: it calls dladdr().
 */
TETHER_API int tether_fault_format(const tether_fault *fault, char *buf,
                                   size_t len);

TETHER_END_DECLS

#endif
