/* Initial layout of a fiber stack on x86_64 SysV (see asm/x86_64_sysv_elf.S). */
#define _GNU_SOURCE /* REG_* names for ucontext_t registers */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

#include "arch.h"
#include "arch_x86_64.h"
#include <tether/fault.h>

#define GREG(r) (offsetof(ucontext_t, uc_mcontext.gregs) + 8 * (r))
_Static_assert(REC_R12 == GREG(REG_R12) && REC_R13 == GREG(REG_R13) &&
               REC_R14 == GREG(REG_R14) && REC_R15 == GREG(REG_R15) &&
               REC_RBP == GREG(REG_RBP) && REC_RBX == GREG(REG_RBX) &&
               REC_RSP == GREG(REG_RSP) && REC_RIP == GREG(REG_RIP),
               "host record slots must sit at their ucontext_t offsets");
_Static_assert(REC_FP + 16 <= REC_SIZE && REC_SIZE % 16 == 0, "record size");
_Static_assert(REC_RET == REC_FP + 8, "the fp record's rip is the return address");

#define MXCSR_DEFAULT 0x1f80u  /* all SSE exceptions masked, round to nearest */
#define X87_CW_DEFAULT 0x037fu /* all x87 exceptions masked, 64-bit precision */

typedef uint64_t zero16 __attribute__((vector_size(16)));
_Static_assert((REC_SIZE + TOP_PAD) % 16 == 0, "the record is zeroed 16 bytes at a time");

void *tether__arch_ctx_init(void *top, struct tether_fiber *f, void **record,
                            int keep_fp)
{
    char *rec = (char *)top - TOP_PAD - REC_SIZE;
    uintptr_t *saved = (uintptr_t *)(rec - SAVED_SIZE);

    /*
     * Zeroed with aligned 16-byte stores (the record is 16-aligned, as
     * top is): a memset of this length becomes a rep stos, which is
     * microcoded and slow to start, on every fiber's creation.
     */
#pragma GCC unroll 16
    for (int i = 0; i < (REC_SIZE + TOP_PAD) / 16; i++)
        ((zero16 *)rec)[i] = (zero16){0, 0};
    rec[REC_FLAGS] = keep_fp ? REC_KEEP_FP : 0;
    saved[0] = (uintptr_t)MXCSR_DEFAULT | ((uintptr_t)X87_CW_DEFAULT << 32);
    saved[1] = 0;                                  /* r15 */
    saved[2] = 0;                                  /* r14 */
    saved[3] = 0;                                  /* r13 */
    saved[4] = 0;                                  /* r12 */
    saved[5] = (uintptr_t)f;                       /* rbx: the trampoline's fiber */
    saved[6] = (uintptr_t)(rec + REC_FP);          /* rbp: the fp record */
    saved[7] = (uintptr_t)tether__fiber_trampoline; /* first resume address */
    *record = rec;
    return saved;
}


/* ---- signal contexts ---------------------------------------------------- */

uintptr_t tether__arch_uc_pc(const void *ucv)
{
    const ucontext_t *uc = ucv;
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
}

uintptr_t tether__arch_uc_sp(const void *ucv)
{
    const ucontext_t *uc = ucv;
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
}

void tether__arch_uc_set_pc(void *ucv, uintptr_t pc)
{
    ucontext_t *uc = ucv;
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)pc;
}

void tether__arch_uc_regs(const void *ucv, uint64_t *regs)
{
    /* gregs index of each register, in DWARF order (tether_reg). */
    static const unsigned char from[TETHER_NREGS] = {
        REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI, REG_RBP, REG_RSP,
        REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
        REG_RIP, REG_EFL,
    };
    const ucontext_t *uc = ucv;

    for (int i = 0; i < TETHER_NREGS; i++)
        regs[i] = (uint64_t)uc->uc_mcontext.gregs[from[i]];
}

#define EFLAGS_DF 0x400u /* direction flag: the ABI wants it clear at a call */

void tether__arch_uc_to_host(void *ucv, const void *record, struct tether_fiber *f)
{
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    const char *rec = record;
    uintptr_t rsp, rip;
    uint32_t mxcsr;
    uint16_t cw;

    /* The record's slots sit where the gregs sit in a ucontext_t. */
    memcpy(&g[REG_RBX], rec + REC_RBX, 8);
    memcpy(&g[REG_RBP], rec + REC_RBP, 8);
    memcpy(&g[REG_R12], rec + REC_R12, 8);
    memcpy(&g[REG_R13], rec + REC_R13, 8);
    memcpy(&g[REG_R14], rec + REC_R14, 8);
    memcpy(&g[REG_R15], rec + REC_R15, 8);
    /*
     * The host continues in tether__host_finish(f), with its return
     * address back on top of its stack, where its call left it.
     */
    memcpy(&rsp, rec + REC_RSP, 8);
    memcpy(&rip, rec + REC_RET, 8);
    rsp -= 8;
    memcpy((void *)rsp, &rip, 8);
    g[REG_RSP] = (greg_t)rsp;
    g[REG_RIP] = (greg_t)(uintptr_t)tether__host_finish;
    g[REG_RDI] = (greg_t)(uintptr_t)f;
    g[REG_EFL] &= ~(greg_t)EFLAGS_DF;
    /*
     * An empty x87 stack with no pending exceptions, as at any call
     * boundary; and the host's floating-point control words, if the
     * fiber kept its own (else they are the host's already).
     */
    memcpy(&mxcsr, rec + REC_CTL, 4);
    memcpy(&cw, rec + REC_CTL + 4, 2);
    if (uc->uc_mcontext.fpregs) {
        if (rec[REC_FLAGS] & REC_KEEP_FP) {
            uc->uc_mcontext.fpregs->mxcsr = mxcsr;
            uc->uc_mcontext.fpregs->cwd = cw;
        }
        uc->uc_mcontext.fpregs->swd = 0;
        uc->uc_mcontext.fpregs->ftw = 0; /* abridged tag word: all empty */
    }
}

void tether__arch_uc_jump(void *ucv, uintptr_t pc, uintptr_t sp)
{
    ucontext_t *uc = ucv;

    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)pc;
    uc->uc_mcontext.gregs[REG_RSP] = (greg_t)sp;
    uc->uc_mcontext.gregs[REG_EFL] &= ~(greg_t)EFLAGS_DF;
    if (uc->uc_mcontext.fpregs) {
        uc->uc_mcontext.fpregs->swd = 0; /* an empty x87 stack, as at a call */
        uc->uc_mcontext.fpregs->ftw = 0;
    }
}

void tether__arch_uc_set_ctl(void *ucv, uint32_t mxcsr, uint16_t x87_cw)
{
    ucontext_t *uc = ucv;

    if (uc->uc_mcontext.fpregs) {
        uc->uc_mcontext.fpregs->mxcsr = mxcsr;
        uc->uc_mcontext.fpregs->cwd = x87_cw;
    }
}

void tether__arch_uc_set_ctl_live(void *uc)
{
    uint32_t mxcsr;
    uint16_t x87_cw;

    __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(x87_cw));
    tether__arch_uc_set_ctl(uc, mxcsr, x87_cw);
}

uint64_t tether__arch_uc_ctl(const void *ucv)
{
    const ucontext_t *uc = ucv;

    if (!uc->uc_mcontext.fpregs)
        return (uint64_t)MXCSR_DEFAULT | ((uint64_t)X87_CW_DEFAULT << 32);
    return (uint64_t)uc->uc_mcontext.fpregs->mxcsr |
           ((uint64_t)uc->uc_mcontext.fpregs->cwd << 32);
}

/*
 * glibc's setcontext() takes the x87 environment from fpregs in the
 * layout fnstenv stores (getcontext's), not the fxsave layout of a
 * signal frame's, and MXCSR from __fpregs_mem: both are built here.
 */
#define ENV_FCW 0 /* fnstenv's 28-byte environment: control word, */
#define ENV_FSW 4 /* status word, */
#define ENV_FTW 8 /* full tag word (all ones: every register empty) */

void tether__arch_uc_leave(const void *ucv)
{
    const ucontext_t *uc = ucv;
    uint64_t ctl = tether__arch_uc_ctl(uc);
    uint32_t mxcsr = (uint32_t)ctl;
    uint16_t cw = (uint16_t)(ctl >> 32), fsw = 0, ftw = 0xffff;
    ucontext_t to;
    char *env = (char *)&to.__fpregs_mem;

    memset(&to, 0, sizeof to);
    memcpy(to.uc_mcontext.gregs, uc->uc_mcontext.gregs, sizeof to.uc_mcontext.gregs);
    /* The kernel's mask is _NSIG bits, what rt_sigprocmask takes. */
    memcpy(&to.uc_sigmask, &uc->uc_sigmask, _NSIG / 8);
    memcpy(env + ENV_FCW, &cw, 2);
    memcpy(env + ENV_FSW, &fsw, 2);
    memcpy(env + ENV_FTW, &ftw, 2);
    to.__fpregs_mem.mxcsr = mxcsr;
    to.uc_mcontext.fpregs = &to.__fpregs_mem;
    setcontext(&to);
}

_Static_assert(BLOCK_SIZE == 8 * TETHER_NREGS && BLOCK_RSP == 8 * TETHER_REG_RSP &&
               BLOCK_RIP == 8 * TETHER_REG_RIP, "register block layout");

void *tether__arch_frame_at(uintptr_t below, const uint64_t *regs, int exact,
                            void (*fn)(void *), void *arg, uint64_t ctl)
{
    uint64_t *block = (uint64_t *)((below - BLOCK_SIZE) & ~(uintptr_t)15);
    uintptr_t *saved = (uintptr_t *)((char *)block - SAVED_SIZE);

    memcpy(block, regs, BLOCK_SIZE);
    saved[0] = ctl;
    saved[1] = 0;                   /* r15 */
    saved[2] = 0;                   /* r14 */
    saved[3] = (uintptr_t)fn;       /* r13: what the frame calls */
    saved[4] = (uintptr_t)arg;      /* r12: with this */
    saved[5] = (uintptr_t)block;    /* rbx: the block, for the frame's CFI */
    saved[6] = regs[TETHER_REG_RBP]; /* rbp: frame-pointer walkers go on */
    saved[7] = exact ? (uintptr_t)tether__frame_signal : (uintptr_t)tether__frame_call;
    return saved;
}

void tether__arch_suspended_regs(const void *sp, uint64_t *regs)
{
    const uintptr_t *saved = sp;

    memset(regs, 0, BLOCK_SIZE);
    regs[TETHER_REG_R15] = saved[1];
    regs[TETHER_REG_R14] = saved[2];
    regs[TETHER_REG_R13] = saved[3];
    regs[TETHER_REG_R12] = saved[4];
    regs[TETHER_REG_RBX] = saved[5];
    regs[TETHER_REG_RBP] = saved[6];
    regs[TETHER_REG_RIP] = saved[7];
    regs[TETHER_REG_RSP] = (uintptr_t)sp + SAVED_SIZE;
}

uint64_t tether__arch_suspended_ctl(const void *sp)
{
    const uint64_t *saved = sp;
    return saved[0] & 0xffffffffffffull; /* mxcsr, x87 control word */
}
