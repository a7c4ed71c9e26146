/*
 * tether context switch and fiber bottom frame: x86_64, System V ABI, ELF.
 *
 * Two switches, one per direction:
 *
 *   tether__ctx_resume  host -> fiber. Stores the host's callee-saved
 *                       registers, rsp and rip in the HOST RECORD at the
 *                       top of the fiber stack, then loads the fiber.
 *   tether__ctx_yield   fiber -> host. Pushes the fiber's callee-saved
 *                       registers on the fiber stack, saves its rsp, then
 *                       loads the host from the record.
 *
 * Top of a fiber stack (R = the record; every offset is in
 * src/arch_x86_64.h):
 *
 *        top of the mapping (16-aligned)
 *   top-16 .. top      zero padding
 *   R+176 .. R+192     {host rbp, host rip}: frame-pointer record; the
 *                      bottom frame's rbp points here, so fp walkers
 *                      (perf) continue into the host
 *   R+0   .. R+176     host registers at ucontext_t offsets
 *        <- rsp of the bottom frame (tether__fiber_trampoline) = R
 *   below              the fiber's own frames
 *
 * A suspended fiber (its saved rsp points at the lowest line):
 *
 *   +56 resume address
 *   +48 rbp
 *   +40 rbx
 *   +32 r12 ... +8 r15
 *   +0  mxcsr (4 bytes) | x87 control word (2 bytes)
 *
 * Both switches leave with an indirect jmp, never ret: a ret here would
 * never match its call and would mispredict on every switch.
 */

#include "arch_x86_64.h"

        .text

/*
 * void *tether__ctx_resume(void *record, void *fiber_sp, void *value)
 *
 * Returns (in the host) when the fiber yields, with the value it yields.
 * The fiber receives `value` in rax (as the result of its yield) and in
 * rsi (as the second argument of a fresh fiber's entry).
 */
        .globl  tether__ctx_resume
        .hidden tether__ctx_resume
        .type   tether__ctx_resume, @function
        .p2align 4
tether__ctx_resume:
        .cfi_startproc
        movq    (%rsp), %rax            /* our return address */
        leaq    8(%rsp), %rcx           /* our rsp once we have "returned" */
        movq    %rax, REC_RIP(%rdi)
        movq    %rcx, REC_RSP(%rdi)
        movq    %rbp, REC_RBP(%rdi)
        movq    %rbx, REC_RBX(%rdi)
        movq    %r12, REC_R12(%rdi)
        movq    %r13, REC_R13(%rdi)
        movq    %r14, REC_R14(%rdi)
        movq    %r15, REC_R15(%rdi)
        movq    %rbp, REC_FP(%rdi)      /* fp record: host rbp ... */
        movq    %rax, REC_FP+8(%rdi)    /* ... and host rip */
        stmxcsr REC_CTL(%rdi)
        fnstcw  REC_CTL+4(%rdi)
        /*
         * Stack change. From here the CFI describes the fiber's frame
         * inside tether__ctx_yield (or the initial block of a fresh
         * fiber, laid out the same way): the register pushes below.
         */
        movq    %rsi, %rsp
        .cfi_def_cfa_offset SAVED_SIZE
        .cfi_offset %rbp, -16
        .cfi_offset %rbx, -24
        .cfi_offset %r12, -32
        .cfi_offset %r13, -40
        .cfi_offset %r14, -48
        .cfi_offset %r15, -56
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp                /* past the control words */
        .cfi_adjust_cfa_offset -8
        popq    %r15
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r15
        popq    %r14
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r14
        popq    %r13
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r13
        popq    %r12
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r12
        popq    %rbx
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbx
        popq    %rbp
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbp
        popq    %rcx
        .cfi_adjust_cfa_offset -8       /* CFA = rsp: the call is undone */
        .cfi_register %rip, %rcx        /* and the return address is in rcx */
        movq    %rdx, %rax
        movq    %rdx, %rsi
        jmp     *%rcx
        .cfi_endproc
        .globl  tether__ctx_resume_end
        .hidden tether__ctx_resume_end
tether__ctx_resume_end:
        .size   tether__ctx_resume, . - tether__ctx_resume

/*
 * void *tether__ctx_yield(void **save_sp, void *record, void *value)
 *
 * Suspends the fiber, storing its rsp in *save_sp, and continues the host
 * in `record` as if its tether__ctx_resume returned `value`. Returns (in
 * the fiber) when the fiber is resumed, with the value of that resume.
 */
        .globl  tether__ctx_yield
        .hidden tether__ctx_yield
        .type   tether__ctx_yield, @function
        .p2align 4
tether__ctx_yield:
        .cfi_startproc
        pushq   %rbp
        .cfi_adjust_cfa_offset 8        /* CFA stays "rsp before the call" */
        .cfi_rel_offset %rbp, 0
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbx, 0
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r12, 0
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r13, 0
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r14, 0
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r15, 0
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        /*
         * Up to here the pushes can overflow into the guard; the fault
         * handler takes such a fault as the fiber's own (the host record
         * is untouched yet). From here on the fiber is suspended.
         */
        .globl  tether__ctx_yield_saved
        .hidden tether__ctx_yield_saved
tether__ctx_yield_saved:
        movq    %rsp, (%rdi)            /* the fiber is now suspended */
        ldmxcsr REC_CTL(%rsi)
        fldcw   REC_CTL+4(%rsi)
        movq    REC_RBX(%rsi), %rbx
        movq    REC_R12(%rsi), %r12
        movq    REC_R13(%rsi), %r13
        movq    REC_R14(%rsi), %r14
        movq    REC_R15(%rsi), %r15
        movq    REC_RBP(%rsi), %rbp
        movq    REC_RIP(%rsi), %rcx
        /*
         * Stack change: we are the host now, just back from its
         * tether__ctx_resume. Its registers are loaded, its return
         * address is in rcx.
         */
        movq    REC_RSP(%rsi), %rsp
        .cfi_def_cfa_offset 0
        .cfi_register %rip, %rcx
        .cfi_restore %rbp
        .cfi_restore %rbx
        .cfi_restore %r12
        .cfi_restore %r13
        .cfi_restore %r14
        .cfi_restore %r15
        movq    %rdx, %rax
        jmp     *%rcx
        .cfi_endproc
        .globl  tether__ctx_yield_end
        .hidden tether__ctx_yield_end
tether__ctx_yield_end:
        .size   tether__ctx_yield, . - tether__ctx_yield

/*
 * The permanent bottom frame of every fiber. Entered once, by the first
 * resume, with rsp = R (the host record), rbx = the fiber, rbp = R+REC_FP,
 * rsi = the value of the first resume. Calls tether__fiber_main, which
 * never returns (a finished fiber yields for good).
 *
 * Its CFI does not describe a caller on this stack: it says the caller is
 * the host whose registers are in the record, so every DWARF unwinder
 * (libgcc, libunwind, gdb) continues from the fiber into whoever resumed
 * it. Register numbers are DWARF's: rbx 3, rbp 6, rsp 7, r12-r15 12-15,
 * rip 16. Offsets are SLEB128-encoded: 72 = c8 00, 80 = d0 00,
 * 88 = d8 00, 96 = e0 00, 120 = f8 00, 128 = 80 01, 160 = a0 01,
 * 168 = a8 01.
 */
        .globl  tether__fiber_trampoline
        .hidden tether__fiber_trampoline
        .type   tether__fiber_trampoline, @function
        .p2align 4
        /* "simple": no CIE default rule; the default CFA = rsp+8 is false here. */
        .cfi_startproc simple
        /*
         * A signal frame. gdb refuses to unwind into a frame whose stack
         * address is lower than its callee's ("previous frame inner to
         * this frame") unless a signal frame sits between them, and the
         * host's stack may lie anywhere. Unwinders then look up the
         * host's pc as given rather than pc-1, which is right for a
         * return address; libunwind's fast path reads a ucontext at this
         * frame's rsp, which the record's layout provides.
         */
        .cfi_signal_frame
        /* CFA = [rsp + REC_RSP]: DW_CFA_def_cfa_expression, 4 bytes:
           DW_OP_breg7 (rsp) 160, DW_OP_deref. (breg, not DW_OP_reg: gdb
           rejects register ops here.) */
        .cfi_escape 0x0f, 0x04, 0x77, 0xa0, 0x01, 0x06
        /* Each register's home: DW_CFA_expression (0x10), reg, 3 bytes:
           DW_OP_breg7 (rsp) + its record offset. */
        .cfi_escape 0x10, 0x10, 0x03, 0x77, 0xa8, 0x01 /* rip at R+168 */
        .cfi_escape 0x10, 0x07, 0x03, 0x77, 0xa0, 0x01 /* rsp at R+160 */
        .cfi_escape 0x10, 0x06, 0x03, 0x77, 0xf8, 0x00 /* rbp at R+120 */
        .cfi_escape 0x10, 0x03, 0x03, 0x77, 0x80, 0x01 /* rbx at R+128 */
        .cfi_escape 0x10, 0x0c, 0x03, 0x77, 0xc8, 0x00 /* r12 at R+72 */
        .cfi_escape 0x10, 0x0d, 0x03, 0x77, 0xd0, 0x00 /* r13 at R+80 */
        .cfi_escape 0x10, 0x0e, 0x03, 0x77, 0xd8, 0x00 /* r14 at R+88 */
        .cfi_escape 0x10, 0x0f, 0x03, 0x77, 0xe0, 0x00 /* r15 at R+96 */
        /*
         * The unwind stops here. The personality (src/unwind.c) claims
         * every exception that reaches this frame, ours or one the guest
         * let escape: in the search phase it answers "handler found", so
         * no exception ever continues into the host's frames, although
         * the CFI above links them; in the cleanup phase it sends the
         * unwinder to tether__fiber_landing. Encoding 0x1b: a 4-byte
         * pc-relative pointer to the routine itself.
         */
        .cfi_personality 0x1b, tether__unwind_personality
tether__fiber_trampoline:
        movq    %rbx, %rdi              /* the fiber */
        call    tether__fiber_main      /* (fiber, first value): no return */
        /*
         * Never reached. Unwinders look up this frame's pc exactly (it is
         * a signal frame), so the return address must still lie inside
         * the function: this trap keeps it there.
         */
        ud2
        /*
         * Landing pad. The unwinder arrives with this frame's registers
         * restored: rsp = R again (as at the call above, 16-aligned), rbx
         * = the fiber (callee-saved, restored from the frames below), and
         * rax = the exception, as the personality set it.
         */
        .globl  tether__fiber_landing
        .hidden tether__fiber_landing
tether__fiber_landing:
        movq    %rbx, %rdi              /* the fiber */
        movq    %rax, %rsi              /* the exception */
        call    tether__unwind_landed   /* (fiber, exception): no return */
        ud2
        .cfi_endproc
        .globl  tether__fiber_trampoline_end
        .hidden tether__fiber_trampoline_end
tether__fiber_trampoline_end:
        .size   tether__fiber_trampoline, . - tether__fiber_trampoline

/*
 * void tether__unwind_entry(void)
 *
 * The synthetic frame of a fiber stopped by a signal. The fiber's frame
 * that was interrupted cannot be unwound from the interrupted pc (it is
 * not a call site: C++ personalities would call std::terminate there),
 * so src/unwind_frame.c steps over it and builds, just below its
 * caller's stack pointer, what a call from that caller would have left:
 *
 *   caller's rsp - 8     the caller's return address (as pushed by a call)
 *   below it             a suspended block (SAVED_SIZE) whose registers
 *                        are the caller's, resuming here
 *
 * A resume of that block lands here as if the caller had just called
 * us, with its callee-saved registers in place. The CFI is the default
 * one for a fresh call (CFA = rsp + 8, return address at CFA - 8, every
 * other register unchanged), so unwinders walk straight into the
 * caller, and raising from here runs the cleanups of the caller and of
 * every frame above it.
 */
        .globl  tether__unwind_entry
        .hidden tether__unwind_entry
        .type   tether__unwind_entry, @function
        .p2align 4
tether__unwind_entry:
        .cfi_startproc
        movq    %rsi, %rdi              /* the fiber (resume's value) */
        subq    $8, %rsp                /* 16-align the stack for the call */
        .cfi_adjust_cfa_offset 8
        call    tether__unwind_raise    /* (fiber): no return */
        ud2
        .cfi_endproc
        .size   tether__unwind_entry, . - tether__unwind_entry

        .section .note.GNU-stack, "", @progbits
