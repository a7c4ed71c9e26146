/* Initial layout of a fiber stack on x86_64 SysV (see asm/x86_64_sysv_elf.S). */
#define _GNU_SOURCE /* REG_* names for ucontext_t registers */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

#include "arch.h"
#include "arch_x86_64.h"

#define GREG(r) (offsetof(ucontext_t, uc_mcontext.gregs) + 8 * (r))
_Static_assert(REC_R12 == GREG(REG_R12) && REC_R13 == GREG(REG_R13) &&
               REC_R14 == GREG(REG_R14) && REC_R15 == GREG(REG_R15) &&
               REC_RBP == GREG(REG_RBP) && REC_RBX == GREG(REG_RBX) &&
               REC_RSP == GREG(REG_RSP) && REC_RIP == GREG(REG_RIP),
               "host record slots must sit at their ucontext_t offsets");
_Static_assert(REC_FP + 16 <= REC_SIZE && REC_SIZE % 16 == 0, "record size");

#define MXCSR_DEFAULT 0x1f80u  /* all SSE exceptions masked, round to nearest */
#define X87_CW_DEFAULT 0x037fu /* all x87 exceptions masked, 64-bit precision */

void *tether__arch_ctx_init(void *top, struct tether_fiber *f, void **record)
{
    char *rec = (char *)top - TOP_PAD - REC_SIZE;
    uintptr_t *saved = (uintptr_t *)(rec - SAVED_SIZE);

    memset(rec, 0, REC_SIZE + TOP_PAD);
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
