/*
 * Stack and record layout shared by asm/x86_64_sysv_elf.S and
 * src/arch_x86_64.c. Plain #defines: this header is also read by the
 * assembler.
 *
 * HOST RECORD. When a host resumes a fiber, its registers are stored in a
 * record at the top of the fiber's stack, not on the host's own stack.
 * The slots sit at the offsets a ucontext_t gives them (40 + 8 * REG_x),
 * so that a tool that treats the fiber's bottom frame as a signal frame
 * and reads a ucontext there (libunwind's fast unw_backtrace does) finds
 * the host's rip, rsp and rbp where it looks. The DWARF CFI of the bottom
 * frame names the same slots, so every unwinder agrees.
 */
#ifndef TETHER_ARCH_X86_64_H
#define TETHER_ARCH_X86_64_H

#define REC_CTL 0     /* mxcsr (4 bytes), x87 control word (2 bytes) */
#define REC_FLAGS 7   /* one byte: */
#define REC_KEEP_FP 1 /* the fiber keeps its own floating-point control */
#define REC_R12 72    /* = 40 + 8 * REG_R12 */
#define REC_R13 80
#define REC_R14 88
#define REC_R15 96
#define REC_RBP 120   /* = 40 + 8 * REG_RBP */
#define REC_RBX 128
#define REC_RSP 160   /* the host's rsp once its call has returned */
#define REC_RIP 168   /* the host's pc for unwinders: its return address - 1 */
#define REC_FP 176    /* {host rbp, host rip}: a frame-pointer record */
#define REC_RET 184   /* = REC_FP + 8: the return address, where the host continues */
#define REC_SIZE 192

/* Bytes between the record's end and the top of the stack (kept zero). */
#define TOP_PAD 16

/*
 * A suspended fiber's saved rsp points at this block (pushed by
 * tether__ctx_yield, or laid out by tether__arch_ctx_init):
 *   +0 mxcsr | x87 cw, +8 r15, +16 r14, +24 r13, +32 r12, +40 rbx,
 *   +48 rbp, +56 resume address
 */
#define SAVED_SIZE 64

/*
 * A register block (tether__frame_signal, tether__frame_call): rax, rdx,
 * rcx, rbx, rsi, rdi, rbp, rsp, r8 .. r15, rip, rflags, 8 bytes each, at
 * 8 * their DWARF number.
 */
#define BLOCK_RSP 56
#define BLOCK_RIP 128
#define BLOCK_SIZE 144

#endif
