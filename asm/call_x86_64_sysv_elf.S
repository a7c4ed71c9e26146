/*
 * Guarded calls on the caller's stack: x86_64, System V ABI, ELF.
 *
 * int tether__call_run(fn, arg, cf) calls fn(arg) with its own frame
 * recorded in cf (src/call_frame.h); a fault inside fn is sent by the
 * signal handler (src/guarded_call.c) to tether__call_escape with rsp
 * back at that frame, and tether__call_run returns -EFAULT: fn's frames,
 * all below, are simply dropped. The frame:
 *
 *   +56  return address (into tether_call)
 *   +48  rbp
 *   +40  rbx               rbx holds cf during the call: the personality
 *   +32  r12 ... +8 r15    below reads it from the unwinder's context
 *   +0   cf                <- rsp during the call = cf->sp; the handler
 *                          checks it is still there before it comes back
 *
 * The caller's MXCSR and x87 control word are kept in cf too: fn may
 * change them (unmask an exception, the rounding) and fault before it
 * puts them back; the handler restores them.
 *
 * An exception or forced unwind (pthread_exit, tether's own unwind of a
 * fiber) that crosses the frame calls tether__call_personality, which
 * takes cf off its chain so that no later fault comes back to a frame
 * that is gone; the unwind goes on.
 */
#include "call_frame.h"

#define EFAULT 14

        .text
        .globl  tether__call_run
        .hidden tether__call_run
        .type   tether__call_run, @function
        .p2align 4
tether__call_run:
        .cfi_startproc
        /* Encoding 0x1b: a 4-byte pc-relative pointer to the routine. */
        .cfi_personality 0x1b, tether__call_personality
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
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
        subq    $8, %rsp                /* 16-aligned at the call */
        .cfi_adjust_cfa_offset 8
        movq    %rsp, CF_SP(%rdx)       /* where a fault comes back to */
        movq    %rdx, (%rsp)            /* and how the handler knows it is live */
        stmxcsr CF_CTL(%rdx)            /* the caller's floating-point control */
        fnstcw  CF_CTL+4(%rdx)
        movq    %rdx, %rbx              /* cf, for the personality and for us */
        movq    %rdi, %rax
        movq    %rsi, %rdi
        call    *%rax                   /* fn(arg) */
        movq    %rax, CF_RET(%rbx)
        xorl    %eax, %eax
        /* The body's CFI state, for the escape below. */
        .cfi_remember_state
1:      addq    $8, %rsp
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
        ret
        /*
         * Entered from the signal handler's context, rsp = cf->sp: the
         * registers saved above are still there, the frame is as during
         * the call, and so is its CFI.
         */
        .cfi_restore_state
        .globl  tether__call_escape
        .hidden tether__call_escape
tether__call_escape:
        movl    $-EFAULT, %eax
        jmp     1b
        .cfi_endproc
        .size   tether__call_run, . - tether__call_run

        .section .note.GNU-stack, "", @progbits
