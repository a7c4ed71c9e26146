/*
 * Sequences declared from assembly, for tests/test_seq.c: the .S side of
 * tether/seq.h. Each function's comment says what the test checks.
 */
#include <tether/seq.h>

        .text

/*
 * long seq_asm_load(const long *p): *p, or -14 (-EFAULT) if it faults.
 * seq_asm_load_insn is the load, for the lookup and the fault record.
 */
        .globl  seq_asm_load
        .globl  seq_asm_load_insn
        .type   seq_asm_load, @function
        .p2align 4
seq_asm_load:
seq_asm_load_insn:
1:      movq    (%rdi), %rax
2:      ret
3:      movq    $-14, %rax
        ret
        .size   seq_asm_load, . - seq_asm_load
        TETHER_SEQ_FAULT 1b, 2b, 3b

/*
 * void seq_defer_spin(volatile int *inside, long spins)
 * DEFER: *inside is 1 from the sequence's first instruction to its
 * last; a kill never stops the thread in between, so a fiber killed
 * while it loops over this is always found with *inside == 0.
 */
        .globl  seq_defer_spin
        .type   seq_defer_spin, @function
        .p2align 4
seq_defer_spin:
1:      movl    $1, (%rdi)
        movq    %rsi, %rcx
2:      pause
        decq    %rcx
        jnz     2b
        movl    $0, (%rdi)
3:      ret
        .size   seq_defer_spin, . - seq_defer_spin
        TETHER_SEQ_INTERRUPT_DEFER 1b, 3b

/* void seq_plain_spin(volatile int *inside, long spins): the same, undeclared (the control). */
        .globl  seq_plain_spin
        .type   seq_plain_spin, @function
        .p2align 4
seq_plain_spin:
        movl    $1, (%rdi)
        movq    %rsi, %rcx
2:      pause
        decq    %rcx
        jnz     2b
        movl    $0, (%rdi)
        ret
        .size   seq_plain_spin, . - seq_plain_spin

/*
 * void seq_restart_count(long *starts, long *ends, long spins)
 * RESTART: counts its starts and its ends. A kill signal that lands
 * inside sends the pc back to the first instruction, which counts a
 * start again: starts - ends is the number of restarts (plus one if the
 * kill then acted at the start). seq_restart_start is that instruction.
 */
        .globl  seq_restart_count
        .globl  seq_restart_start
        .type   seq_restart_count, @function
        .p2align 4
seq_restart_count:
seq_restart_start:
1:      incq    (%rdi)
        movq    %rdx, %rcx
2:      pause
        decq    %rcx
        jnz     2b
        incq    (%rsi)
3:      ret
        .size   seq_restart_count, . - seq_restart_count
        TETHER_SEQ_INTERRUPT_RESTART 1b, 3b

/*
 * void seq_response_wait(volatile int *inside, long *responses)
 * RESPONSE: sets *inside and spins until a kill signal lands; the
 * response clears *inside and counts itself. The kill stays pending,
 * and its next signal may land anywhere, the response included (the
 * thread may be descheduled at the response's first instruction until
 * the retry is due): the response is a DEFER range of its own, so that
 * it always runs whole.
 */
        .globl  seq_response_wait
        .type   seq_response_wait, @function
        .p2align 4
seq_response_wait:
1:      movl    $1, (%rdi)
2:      pause
        jmp     2b
3:
4:      movl    $0, (%rdi)
        incq    (%rsi)
5:      ret
        .size   seq_response_wait, . - seq_response_wait
        TETHER_SEQ_INTERRUPT_RESPONSE 1b, 3b, 4b
        TETHER_SEQ_INTERRUPT_DEFER 4b, 5b

/*
 * long seq_rseq_spin(long *attempts, volatile int *stop)
 * PREEMPT, restart: counts its attempts, then spins until *stop; a
 * preemption, migration or signal inside starts it again from its
 * restart point. Returns the attempts. Without rseq it runs once.
 */
        .globl  seq_rseq_spin
        .type   seq_rseq_spin, @function
        .p2align 4
seq_rseq_spin:
        movq    __rseq_offset@GOTPCREL(%rip), %r8
        movq    (%r8), %r8              /* the rseq area's offset from %fs */
        TETHER_SEQ_RSEQ_SIGNATURE
1:      TETHER_SEQ_RSEQ_ARM 5f, %r8, %r9
2:      incq    (%rdi)
3:      pause
        cmpl    $0, (%rsi)
        je      3b
        movq    (%rdi), %rax            /* the last instruction: the "commit" */
4:      ret
        .size   seq_rseq_spin, . - seq_rseq_spin
        TETHER_SEQ_PREEMPT_RESTART 5, 1b, 2b, 4b

        .section .note.GNU-stack, "", @progbits
