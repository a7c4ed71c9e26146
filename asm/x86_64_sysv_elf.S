/*
 * tether context switch and fiber bottom frame: x86_64, System V ABI, ELF.
 *
 * A suspended context is named by one pointer, CTX, the address of a
 * frame record {saved rbp, resume address} on its own stack. The rest of
 * the callee-saved state sits just below it:
 *
 *        higher addresses
 *   ctx+8   resume address     (the return address pushed by `call`)
 *   ctx+0   rbp                <- CTX: [ctx] and [ctx+8] form a standard
 *   ctx-8   rbx                   frame-pointer record, so fp walkers
 *   ctx-16  r12                   (perf) can step from a fiber into the
 *   ctx-24  r13                   host that resumed it
 *   ctx-32  r14
 *   ctx-40  r15
 *   ctx-48  mxcsr (4 bytes), x87 control word (2 bytes), 2 bytes unused
 *        lower addresses       <- rsp of the suspended context (16-aligned)
 *
 * The top of every fiber stack (stack_top = end of the mapping, 16-aligned):
 *
 *   top-8   address inside tether__ctx_switch: the "return address" of the
 *           bottom frame's fp record, so fp walkers see the host suspended
 *           in the switch, which is the truth
 *   top-16  LINK: CTX of the host that last resumed this fiber; every
 *           resume stores it here (the switch's save pointer points here)
 *   top-24  first resume address = tether__fiber_trampoline   \ consumed by
 *   top-32  rbp = top-16 (the bottom frame's fp record)        | the first
 *   top-40  rbx = the fiber (tether__fiber_main's argument)    | switch into
 *   ...     r12-r15 = 0, mxcsr/x87 = ABI defaults              / the fiber
 *
 * After the first switch rsp = top-16, so inside the bottom frame [rsp] is
 * LINK; that is what the bottom frame's CFI reads.
 */

#define CTX_FRAME 48            /* bytes from the saved rsp up to CTX */

        .text

/*
 * void *tether__ctx_switch(void **save, void *to, void *value)
 *
 * Saves the caller's callee-saved state, stores its CTX in *save, loads
 * the context named by `to` and continues it, handing it `value` (in rax,
 * the return value of the switch that suspended it, and in rdi for a
 * fresh fiber's trampoline). Leaves with pop + jmp, not ret: a ret here
 * never matches its call and would mispredict on every switch.
 */
        .globl  tether__ctx_switch
        .hidden tether__ctx_switch
        .type   tether__ctx_switch, @function
        .p2align 4
tether__ctx_switch:
        .cfi_startproc
        pushq   %rbp
        .cfi_adjust_cfa_offset 8        /* CFA stays "rsp before the call" */
        .cfi_rel_offset %rbp, 0         /* caller's rbp is now at [rsp] */
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
        stmxcsr (%rsp)                  /* SSE rounding/exception masks */
        fnstcw  4(%rsp)                 /* x87 precision/rounding control */
        leaq    CTX_FRAME(%rsp), %rax
        movq    %rax, (%rdi)            /* publish our CTX */
        .globl  tether__ctx_switch_suspended
        .hidden tether__ctx_switch_suspended
tether__ctx_switch_suspended:
        /*
         * Stack change. The target's block has exactly the layout we just
         * pushed, so the CFI above stays true: from here on it describes
         * the frame of the context being resumed, not ours.
         */
        leaq    -CTX_FRAME(%rsi), %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
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
        movq    %rdx, %rax              /* value for a suspended switch */
        movq    %rdx, %rsi              /* value for a fresh trampoline */
        jmp     *%rcx
        .cfi_endproc
        .globl  tether__ctx_switch_end
        .hidden tether__ctx_switch_end
tether__ctx_switch_end:
        .size   tether__ctx_switch, . - tether__ctx_switch

/*
 * The permanent bottom frame of every fiber. Entered once, by the first
 * switch into the fiber, with rsp = top-16, rbx = the fiber, rsi = the
 * value of the first resume. It calls tether__fiber_main, which never
 * returns (a finished fiber switches away for good).
 *
 * Its CFI does not describe a caller on this stack: it says the caller is
 * the host context stored in LINK, so every DWARF unwinder (libgcc,
 * libunwind, gdb) continues from the fiber into whoever resumed it.
 */
        .globl  tether__fiber_trampoline
        .hidden tether__fiber_trampoline
        .type   tether__fiber_trampoline, @function
        .p2align 4
        /*
         * "simple": no CIE default rules (the default "CFA = rsp+8" would
         * be false here); every rule is given below.
         */
        .cfi_startproc simple
        /*
         * Mark the frame as a signal frame. gdb refuses to unwind into a
         * frame whose stack address is lower than its callee's ("previous
         * frame inner to this frame") unless the callee is a signal frame,
         * and the host stack may lie anywhere. Side effect: unwinders look
         * up the caller's pc as given, not pc-1, which is right for the
         * host's return address after `call tether__ctx_switch`.
         */
        .cfi_signal_frame
        /*
         * CFA = [rsp] + 16, as a DWARF expression:
         *   0x0f DW_CFA_def_cfa_expression, 5 bytes follow
         *   0x77 0x00  DW_OP_breg7 (rsp) + 0: the address of LINK
         *   0x06       DW_OP_deref: the host CTX
         *   0x23 0x10  DW_OP_plus_uconst 16: the host's rsp once its
         *              switch has returned (CTX + rbp + resume address)
         * breg7 rather than DW_OP_reg7: gdb rejects reg ops here.
         */
        .cfi_escape 0x0f, 0x05, 0x77, 0x00, 0x06, 0x23, 0x10
        /* The host's registers, where its switch pushed them. */
        .cfi_offset %rip, -8            /* resume address at CTX+8 */
        .cfi_offset %rbp, -16           /* CTX+0 */
        .cfi_offset %rbx, -24           /* CTX-8 */
        .cfi_offset %r12, -32
        .cfi_offset %r13, -40
        .cfi_offset %r14, -48
        .cfi_offset %r15, -56
tether__fiber_trampoline:
        movq    %rbx, %rdi              /* the fiber */
        call    tether__fiber_main      /* (fiber, first value): no return */
        /*
         * Never reached. Unwinders look up this frame's pc exactly (it is
         * a signal frame), so the return address must still lie inside
         * the function: this trap keeps it there.
         */
        ud2
        .cfi_endproc
        .size   tether__fiber_trampoline, . - tether__fiber_trampoline

        .section .note.GNU-stack, "", @progbits
