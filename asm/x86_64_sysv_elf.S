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
         * Up to here the pushes can overflow into the guard: that is the
         * fiber's stack overflow like any other (the host record is
         * untouched yet). From here on the fiber is suspended.
         */
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
 * Frames made of a register block.
 *
 * A fiber stopped by a signal, or one whose unwind must start above
 * frames it passes over, has no real call frame to start from: what it
 * has is a block of registers (rax .. r15, rip, rflags: DWARF order, 8
 * bytes each, the layout of tether_fault.regs; offsets in
 * src/arch_x86_64.h). These two stubs stand for the frame that block
 * describes. Entered with
 *
 *   rbx  the block (it stays there: the CFI below reads through it)
 *   r12  an argument, r13 a function: the stub calls r13(r12)
 *
 * and a stack anywhere (the host's, for a walk; below the stopped
 * frames, for an unwind). Their CFI says nothing of the stub's own
 * caller: it says the caller is the frame in the block, so unwinders
 * continue from there, and a function called here that unwinds (or
 * walks) the stack starts in the stopped frames.
 *
 *   tether__frame_signal  the block is an interrupted frame: rip is the
 *                         instruction that faulted, looked up as it is
 *                         (a signal frame)
 *   tether__frame_call    the block is a frame that called something:
 *                         rip is a return address, looked up at rip - 1
 *
 * Both CFIs are the same but for the signal mark, so they are one macro.
 * Register numbers are DWARF's; every rule is an expression "the slot
 * at rbx + 8 * n" (DW_OP_breg3 = 0x73, then the SLEB128 offset).
 */
        .macro  REGISTER_BLOCK_CFI
        /* CFA = [rbx + 56], the block's rsp: DW_CFA_def_cfa_expression,
           3 bytes: DW_OP_breg3 56, DW_OP_deref. */
        .cfi_escape 0x0f, 0x03, 0x73, 0x38, 0x06
        /* Each register's home, DW_CFA_expression (0x10), reg, length,
           DW_OP_breg3 offset. rsp is the CFA's own slot. */
        .cfi_escape 0x10, 0x00, 0x02, 0x73, 0x00       /* rax at +0 */
        .cfi_escape 0x10, 0x01, 0x02, 0x73, 0x08       /* rdx at +8 */
        .cfi_escape 0x10, 0x02, 0x02, 0x73, 0x10       /* rcx at +16 */
        .cfi_escape 0x10, 0x03, 0x02, 0x73, 0x18       /* rbx at +24 */
        .cfi_escape 0x10, 0x04, 0x02, 0x73, 0x20       /* rsi at +32 */
        .cfi_escape 0x10, 0x05, 0x02, 0x73, 0x28       /* rdi at +40 */
        .cfi_escape 0x10, 0x06, 0x02, 0x73, 0x30       /* rbp at +48 */
        .cfi_escape 0x10, 0x07, 0x02, 0x73, 0x38       /* rsp at +56 */
        .cfi_escape 0x10, 0x08, 0x02, 0x73, 0x40       /* r8 at +64 */
        .cfi_escape 0x10, 0x09, 0x02, 0x73, 0x48       /* r9 at +72 */
        .cfi_escape 0x10, 0x0a, 0x03, 0x73, 0xd0, 0x00 /* r10 at +80 */
        .cfi_escape 0x10, 0x0b, 0x03, 0x73, 0xd8, 0x00 /* r11 at +88 */
        .cfi_escape 0x10, 0x0c, 0x03, 0x73, 0xe0, 0x00 /* r12 at +96 */
        .cfi_escape 0x10, 0x0d, 0x03, 0x73, 0xe8, 0x00 /* r13 at +104 */
        .cfi_escape 0x10, 0x0e, 0x03, 0x73, 0xf0, 0x00 /* r14 at +112 */
        .cfi_escape 0x10, 0x0f, 0x03, 0x73, 0xf8, 0x00 /* r15 at +120 */
        .cfi_escape 0x10, 0x10, 0x03, 0x73, 0x80, 0x01 /* rip at +128 */
        .endm

        /*
         * The body: align the stack (the CFI does not depend on rsp),
         * call r13(r12), and go back to whoever called the stub, if it
         * was called (tether__arch_walk); a stub entered by a resume
         * calls a function that never returns.
         */
        .macro  REGISTER_BLOCK_BODY
        movq    %rsp, %r14
        andq    $-16, %rsp
        movq    %r12, %rdi
        call    *%r13
        movq    %r14, %rsp
        ret
        .endm

        .globl  tether__frame_signal
        .hidden tether__frame_signal
        .type   tether__frame_signal, @function
        .p2align 4
        /* "simple": the CIE's default rules (CFA = rsp + 8) are false here. */
        .cfi_startproc simple
        .cfi_signal_frame               /* rip is exact: look it up as is */
        REGISTER_BLOCK_CFI
tether__frame_signal:
        REGISTER_BLOCK_BODY
        .cfi_endproc
        .size   tether__frame_signal, . - tether__frame_signal

        .globl  tether__frame_call
        .hidden tether__frame_call
        .type   tether__frame_call, @function
        .p2align 4
        .cfi_startproc simple
        REGISTER_BLOCK_CFI              /* rip is a return address */
tether__frame_call:
        REGISTER_BLOCK_BODY
        .cfi_endproc
        .globl  tether__frame_end
        .hidden tether__frame_end
tether__frame_end:
        .size   tether__frame_call, . - tether__frame_call

/*
 * void tether__arch_walk(const uint64_t *block, int exact,
 *                        void (*fn)(void *), void *arg)
 *
 * Calls fn(arg) below tether__frame_signal (exact != 0) or
 * tether__frame_call, on the caller's stack: a function that walks the
 * stack from there (_Unwind_Backtrace) walks the frames in the block.
 * An ordinary function, with ordinary CFI.
 */
        .globl  tether__arch_walk
        .hidden tether__arch_walk
        .type   tether__arch_walk, @function
        .p2align 4
tether__arch_walk:
        .cfi_startproc
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbp, 0
        movq    %rsp, %rbp
        .cfi_def_cfa_register %rbp
        pushq   %rbx
        .cfi_offset %rbx, -24
        pushq   %r12
        .cfi_offset %r12, -32
        pushq   %r13
        .cfi_offset %r13, -40
        pushq   %r14
        .cfi_offset %r14, -48
        movq    %rdi, %rbx
        movq    %rdx, %r13
        movq    %rcx, %r12
        testl   %esi, %esi
        jz      1f
        call    tether__frame_signal
        jmp     2f
1:      call    tether__frame_call
2:      popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        .cfi_def_cfa %rsp, 8
        ret
        .cfi_endproc
        .size   tether__arch_walk, . - tether__arch_walk

/*
 * tether__kill_hijack: where a host function the guest called returns
 * when a kill landed in it (src/kill_hijack.c moved its return address
 * here, keeping the real one in the thread-local tether__hijack_ret).
 * Entered by that function's ret, with the guest's callee-saved
 * registers in place and its results in rax, rdx, xmm0, xmm1. Pushes
 * the real return address, so that from here on the stack looks as if
 * the guest had called us, and calls tether__kill_hijacked, which ends
 * the fiber if the kill still stands, or returns; then we return to the
 * guest with the results intact.
 */
        .globl  tether__kill_hijack
        .hidden tether__kill_hijack
        .type   tether__kill_hijack, @function
        .p2align 4
        .cfi_startproc simple
        /*
         * Until the push, the return address is only in the thread-local:
         * no unwinder can step from here (a kill signal landing here is
         * ignored, as in the switch code; nothing else stops here).
         */
        .cfi_def_cfa %rsp, 0
        .cfi_undefined %rip
tether__kill_hijack:
        movq    tether__hijack_ret@gottpoff(%rip), %rcx
        movq    %fs:(%rcx), %rcx
        pushq   %rcx
        .cfi_def_cfa_offset 8           /* a call frame: CFA = rsp + 8 */
        .cfi_offset %rip, -8            /* the guest's return address */
        .globl  tether__kill_hijack_pushed
        .hidden tether__kill_hijack_pushed
tether__kill_hijack_pushed:
        pushq   %rax
        .cfi_adjust_cfa_offset 8
        pushq   %rdx
        .cfi_adjust_cfa_offset 8
        subq    $40, %rsp               /* xmm0, xmm1; rsp 16-aligned at the call */
        .cfi_adjust_cfa_offset 40
        movdqu  %xmm0, (%rsp)
        movdqu  %xmm1, 16(%rsp)
        call    tether__kill_hijacked
        movdqu  (%rsp), %xmm0
        movdqu  16(%rsp), %xmm1
        addq    $40, %rsp
        .cfi_adjust_cfa_offset -40
        popq    %rdx
        .cfi_adjust_cfa_offset -8
        popq    %rax
        .cfi_adjust_cfa_offset -8
        ret                             /* to the guest, where it was going */
        .cfi_endproc
        .globl  tether__kill_hijack_end
        .hidden tether__kill_hijack_end
tether__kill_hijack_end:
        .size   tether__kill_hijack, . - tether__kill_hijack

/*
 * void tether__arch_call_on_stack(void *top, void (*fn)(void *), void *arg)
 *
 * Calls fn(arg) with the stack pointer at `top` (rounded down to 16),
 * then comes back to the caller's stack. rbp keeps the way back, and the
 * CFI follows it, so unwinders walk from fn into our caller.
 */
        .globl  tether__arch_call_on_stack
        .hidden tether__arch_call_on_stack
        .type   tether__arch_call_on_stack, @function
        .p2align 4
tether__arch_call_on_stack:
        .cfi_startproc
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbp, 0
        movq    %rsp, %rbp
        .cfi_def_cfa_register %rbp      /* CFA = rbp + 16 from here on */
        andq    $-16, %rdi
        movq    %rdi, %rsp              /* the other stack */
        movq    %rdx, %rdi
        call    *%rsi
        movq    %rbp, %rsp              /* back */
        popq    %rbp
        .cfi_def_cfa %rsp, 8
        ret
        .cfi_endproc
        .size   tether__arch_call_on_stack, . - tether__arch_call_on_stack

        .section .note.GNU-stack, "", @progbits
