/*
 * The floor for a switch round trip: the least a stackful switch does
 * on x86_64 SysV. Save the six callee-saved registers and the stack
 * pointer, load the other side's, and leave by popping its saved pc and
 * jumping there (an indirect jmp: a `ret` here would return where the
 * matching call did not come from, and the return-stack predictor would
 * miss every time). No state, no checks, no floating-point control: a
 * library cannot do less and still be a stackful switch.
 *
 * Included by one .c file per program (it defines the asm symbol).
 */
#ifndef TETHER_BENCH_SWITCH_FLOOR_H
#define TETHER_BENCH_SWITCH_FLOOR_H

#include <stdint.h>
#include <stdlib.h>

/* Saves the caller's context at *save, switches to the one at `to`. */
void bench_floor_swap(void **save, void *to);

__asm__(".text\n"
        ".p2align 4\n"
        ".type bench_floor_swap, @function\n"
        "bench_floor_swap:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    popq %rdx\n"
        "    jmp *%rdx\n"
        ".size bench_floor_swap, .-bench_floor_swap\n"
        ".section .note.GNU-stack,\"\",@progbits\n"
        ".text\n");

/*
 * A context that will start in `entry` on the stack [lo, lo + size):
 * the six registers bench_floor_swap pops (zero), the pc it jumps to,
 * and a null return address above it, so that `entry` starts with the
 * stack pointer 8 bytes off 16-byte alignment, as after a call.
 */
static inline void *bench_floor_context(char *lo, size_t size, void (*entry)(void))
{
    void **sp = (void **)(((uintptr_t)(lo + size)) & ~(uintptr_t)15);
    *--sp = NULL;
    *--sp = (void *)(uintptr_t)entry;
    for (int i = 0; i < 6; i++)
        *--sp = NULL;
    return sp;
}

#endif
