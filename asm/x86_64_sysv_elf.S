/*
 * tether context switch and fiber bottom frame: x86_64, System V ABI, ELF.
 *
 * The switches, one per direction and way back:
 *
 *   tether__switch_in    host -> fiber. Stores the host's callee-saved
 *                        registers, rsp and return address in the HOST
 *                        RECORD at the top of the fiber stack, then loads
 *                        the fiber.
 *   tether__switch_out   fiber -> host, the fast way back: pushes the
 *                        fiber's callee-saved registers, saves its rsp,
 *                        loads the host, publishes the fiber's new state
 *                        (only now, off the fiber's stack) and returns to
 *                        the host's caller with that state.
 *   tether__switch_out_finish  fiber -> host, the other way back: the
 *                        host continues in tether__host_finish, which
 *                        calls tether__resume_finish (src/fiber.c) on the
 *                        host's stack and returns what it says. Signal
 *                        handlers send a stopped fiber's host there too.
 *
 * Speed: the public resume and yield (src/fiber.c) tail-call the
 * switches, so the host's return address in the record is that of its
 * own call to tether_fiber_resume, and the fiber's is that of the
 * guest's call to tether_yield. Each switch leaves with an indirect jmp
 * to the other side's return address, never a ret: every call then
 * stays unmatched rather than mismatched, and the return-stack
 * predictor, which would guess every such ret wrong, is never asked.
 *
 * Top of a fiber stack (R = the record; every offset is in
 * src/arch_x86_64.h):
 *
 *   R+REC_SIZE+16 ...  the fiber object (src/fiber_impl.h)
 *   R+176 .. R+192     {host rbp, host rip}: frame-pointer record; the
 *                      bottom frame's rbp points here, so fp walkers
 *                      (perf) continue into the host. Its rip (REC_RET)
 *                      is where the switch goes back to the host.
 *   R+0   .. R+176     host registers at ucontext_t offsets; the rip
 *                      slot (REC_RIP) holds the return address - 1,
 *                      for unwinders (see the bottom frame's CFI)
 *        <- rsp of the bottom frame (tether__fiber_trampoline) = R
 *   below              the fiber's own frames
 *
 * A suspended fiber (its saved rsp points at the lowest line):
 *
 *   +56 resume address (the return address of its call to the switch)
 *   +48 rbp
 *   +40 rbx
 *   +32 r12 ... +8 r15
 *   +0  mxcsr (4 bytes) | x87 control word (2 bytes)
 *
 * Floating-point control (MXCSR, the x87 control word) is switched only
 * for fibers created with TETHER_FIBER_FP_CONTROL (a flag byte in the
 * record says so): stmxcsr alone costs more than the rest of a switch
 * on AMD Zen, and most code never changes the control words. For those
 * fibers each side's words are saved at every switch and the other
 * side's loaded: measured here, loading unconditionally is faster than
 * comparing first (the compare waits on the store just made).
 */

#include "arch_x86_64.h"
#define TETHER_SEQ_NO_CONSTRUCTOR /* the library registers its own table (src/seq_table.c) */
#include <tether/seq.h>

        .text

/*
 * int tether__switch_in(void *record, void *fiber_sp, void *value)
 *
 * Returns (in the host) when the fiber comes back: through
 * tether__switch_out with the state it published, or through
 * tether__host_finish with what tether__resume_finish returned. The
 * fiber receives rax = 0 (the result of its tether_yield) and rsi =
 * value (the second argument of a fresh fiber's entry).
 */
        .globl  tether__switch_in
        .hidden tether__switch_in
        .type   tether__switch_in, @function
        .p2align 4
tether__switch_in:
        .cfi_startproc
        movq    (%rsp), %rax            /* our return address */
        leaq    8(%rsp), %rcx           /* our rsp once we have "returned" */
        leaq    -1(%rax), %r8           /* the pc unwinders see: inside the call */
        movq    %r8, REC_RIP(%rdi)
        movq    %rcx, REC_RSP(%rdi)
        movq    %rbp, REC_RBP(%rdi)
        movq    %rbx, REC_RBX(%rdi)
        movq    %r12, REC_R12(%rdi)
        movq    %r13, REC_R13(%rdi)
        movq    %r14, REC_R14(%rdi)
        movq    %r15, REC_R15(%rdi)
        movq    %rbp, REC_FP(%rdi)      /* fp record: host rbp ... */
        movq    %rax, REC_RET(%rdi)     /* ... and host rip: where we go back */
        testb   $REC_KEEP_FP, REC_FLAGS(%rdi)
        jz      3f
        stmxcsr REC_CTL(%rdi)
        fnstcw  REC_CTL+4(%rdi)
3:
        /*
         * Stack change. From here the CFI describes the fiber's frame
         * inside its switch out (or the initial block of a fresh fiber,
         * laid out the same way): the register pushes below.
         */
        movq    %rsi, %rsp
        .cfi_def_cfa_offset SAVED_SIZE
        .cfi_offset %rbp, -16
        .cfi_offset %rbx, -24
        .cfi_offset %r12, -32
        .cfi_offset %r13, -40
        .cfi_offset %r14, -48
        .cfi_offset %r15, -56
        /* The fiber's control words, if it keeps its own. */
        testb   $REC_KEEP_FP, REC_FLAGS(%rdi)
        jz      1f
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
1:      addq    $8, %rsp                /* past the control words */
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
        xorl    %eax, %eax
        movq    %rdx, %rsi
        jmp     *%rcx
        .cfi_endproc
        .globl  tether__switch_in_end
        .hidden tether__switch_in_end
tether__switch_in_end:
        .size   tether__switch_in, . - tether__switch_in

/*
 * The fiber's half of a switch out, shared by both ways back: pushes
 * the fiber's callee-saved registers and control words below the return
 * address its caller left, and saves its rsp in *rdi. Up to the store
 * the pushes can overflow into the guard: that is the fiber's stack
 * overflow like any other (the host record is untouched yet).
 */
        .macro  SUSPEND_FIBER
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
        testb   $REC_KEEP_FP, REC_FLAGS(%rsi)
        jz      4f
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
4:      movq    %rsp, (%rdi)            /* the fiber is now suspended */
        .endm

        /*
         * The host's half, from the record in rsi: its control words if
         * the fiber keeps its own, its callee-saved registers; its return
         * address into rcx.
         */
        .macro  LOAD_HOST
        testb   $REC_KEEP_FP, REC_FLAGS(%rsi)
        jz      1f
        ldmxcsr REC_CTL(%rsi)
        fldcw   REC_CTL+4(%rsi)
1:      movq    REC_RBX(%rsi), %rbx
        movq    REC_R12(%rsi), %r12
        movq    REC_R13(%rsi), %r13
        movq    REC_R14(%rsi), %r14
        movq    REC_R15(%rsi), %r15
        movq    REC_RBP(%rsi), %rbp
        movq    REC_RET(%rsi), %rcx
        .endm

/*
 * int tether__switch_out(void **save_sp, void *record, int stop,
 *                        _Atomic uint64_t *state)
 *
 * Suspends the fiber (its rsp into *save_sp) and continues the host in
 * `record` as if its call to the switch in returned `stop`, after
 * storing `stop` into *state: only then, off the fiber's stack, may
 * another thread see the fiber as resumable. Returns (on the fiber) 0
 * when it is resumed.
 */
        .globl  tether__switch_out
        .hidden tether__switch_out
        .type   tether__switch_out, @function
        .p2align 4
tether__switch_out:
        .cfi_startproc
        movq    %rcx, %r11              /* the state word, kept for the end */
        SUSPEND_FIBER
        LOAD_HOST
        /*
         * Stack change: we are the host now, just back from its switch
         * in. Its registers are loaded, its return address is in rcx.
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
        movl    %edx, %eax
        movq    %rax, (%r11)
        jmp     *%rcx
        .cfi_endproc
        .globl  tether__switch_out_end
        .hidden tether__switch_out_end
tether__switch_out_end:
        .size   tether__switch_out, . - tether__switch_out

/*
 * void tether__switch_out_finish(void **save_sp, void *record,
 *                                struct tether_fiber *f)
 *
 * Suspends the fiber like tether__switch_out, then continues the host in
 * tether__host_finish with f: the host's return address back on top of
 * its stack, as its call left it. Returns (on the fiber) 0 when resumed.
 */
        .globl  tether__switch_out_finish
        .hidden tether__switch_out_finish
        .type   tether__switch_out_finish, @function
        .p2align 4
tether__switch_out_finish:
        .cfi_startproc
        SUSPEND_FIBER
        LOAD_HOST
        movq    REC_RSP(%rsi), %rsp
        pushq   %rcx                    /* where the host's call returns */
        /* From here the CFI is that of a function just called by the host. */
        .cfi_def_cfa_offset 8
        .cfi_offset %rip, -8
        .cfi_restore %rbp
        .cfi_restore %rbx
        .cfi_restore %r12
        .cfi_restore %r13
        .cfi_restore %r14
        .cfi_restore %r15
        movq    %rdx, %rdi
        jmp     tether__host_finish
        .cfi_endproc
        .globl  tether__switch_out_finish_end
        .hidden tether__switch_out_finish_end
tether__switch_out_finish_end:
        .size   tether__switch_out_finish, . - tether__switch_out_finish

/*
 * tether__host_finish: the host, back from a fiber that stopped any way
 * but the fast one, with rdi = the fiber and rsp at the return address
 * of the host's call, as if that call had just entered us. Runs
 * tether__resume_finish(fiber) on the host's stack and returns what it
 * returns, as the host's call to the switch in. An ordinary function:
 * its CFI is the default one.
 */
        .globl  tether__host_finish
        .hidden tether__host_finish
        .type   tether__host_finish, @function
        .p2align 4
tether__host_finish:
        .cfi_startproc
        subq    $8, %rsp                /* 16-align the stack for the call */
        .cfi_adjust_cfa_offset 8
        call    tether__resume_finish
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        ret
        .cfi_endproc
        .size   tether__host_finish, . - tether__host_finish

/*
 * The permanent bottom frame of every fiber. Entered once, by the first
 * resume, with rsp = R (the host record), rbx = the fiber, rbp = R+REC_FP,
 * rsi = the value of the first resume. Calls tether__fiber_begin, then
 * the fiber's entry function itself, then tether__fiber_end, which never
 * returns (a finished fiber yields for good). rsp stays R throughout:
 * the CFI below reads the record at fixed offsets from rsp.
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
         * host's stack may lie anywhere. Unwinders then take the host's
         * pc as exact, not as a return address to look up at pc-1: so
         * the record's rip slot holds the return address minus 1, a pc
         * inside the host's call, where its call-site table (a cleanup
         * of its own, when pthread_exit crosses into it) is looked up.
         * The switch goes back through REC_RET, the true return address.
         * libunwind's fast path reads a ucontext at this frame's rsp,
         * which the record's layout provides.
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
        movq    %rsi, %r12              /* the first value, kept across the call */
        movq    %rbx, %rdi              /* the fiber */
        call    tether__fiber_begin     /* rax = its entry, rdx = the entry's arg */
        movq    %rdx, %rdi              /* entry(arg, first): the guest's frames */
        movq    %r12, %rsi              /* start right above this one */
        call    *%rax
        movq    %rbx, %rdi              /* the fiber (rbx is callee-saved) */
        movq    %rax, %rsi              /* what the entry returned */
        call    tether__fiber_end       /* no return */
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
 * For debuggers only (never run): a frame whose caller is a suspended
 * fiber, given rbx = its saved block (the one its saved rsp points at:
 * +56 resume address, +48 rbp, +40 rbx, +32 r12 ... +8 r15). A debugger
 * that cannot set registers (a core file) makes a frame here with rbx
 * pointing at the block, and unwinds into the fiber (src/debug_info.c,
 * tools/gdb/tether-gdb.py). A signal frame, so that the debugger lets
 * the fiber's stack lie anywhere and takes the caller's pc as exact:
 * the CFI gives it as the resume address minus 1, inside the call that
 * suspended the fiber, where its line and its unwind row are.
 */
        .globl  tether__frame_suspended
        .hidden tether__frame_suspended
        .type   tether__frame_suspended, @function
        .p2align 4
        .cfi_startproc simple
        .cfi_signal_frame
        .cfi_def_cfa %rbx, 64           /* the fiber's rsp: past the block */
        .cfi_offset %r15, -56           /* the block's slots, from the CFA */
        .cfi_offset %r14, -48
        .cfi_offset %r13, -40
        .cfi_offset %r12, -32
        .cfi_offset %rbx, -24
        .cfi_offset %rbp, -16
        /* rip = [rbx + 56] - 1: DW_CFA_val_expression (0x16), rip (16),
           5 bytes: DW_OP_breg3 56, DW_OP_deref, DW_OP_lit1, DW_OP_minus. */
        .cfi_escape 0x16, 0x10, 0x05, 0x73, 0x38, 0x06, 0x31, 0x1c
tether__frame_suspended:
        ud2
        .cfi_endproc
        .size   tether__frame_suspended, . - tether__frame_suspended

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

/*
 * How kills treat this code, declared in the library's sequence table
 * (tether/seq.h): a kill signal never acts inside a switch, whose stack
 * and registers are half the fiber's and half the host's, nor in the
 * bottom frame or the register-block stubs, which stand for frames that
 * are not there. It acts later (its retry, the fiber's next checkpoint).
 * A fault in these ranges is never taken as the fiber's either.
 */
        TETHER_SEQ_INTERRUPT_DEFER tether__switch_in, tether__switch_in_end
        TETHER_SEQ_INTERRUPT_DEFER tether__switch_out, tether__switch_out_end
        TETHER_SEQ_INTERRUPT_DEFER tether__switch_out_finish, tether__switch_out_finish_end
        TETHER_SEQ_INTERRUPT_DEFER tether__fiber_trampoline, tether__fiber_trampoline_end
        TETHER_SEQ_INTERRUPT_DEFER tether__frame_signal, tether__frame_end

        .section .note.GNU-stack, "", @progbits
