/* Initial frame of a fiber stack on x86_64 SysV (layout: asm/x86_64_sysv_elf.S). */
#include <stdint.h>

#include "arch.h"

#define MXCSR_DEFAULT 0x1f80u  /* all SSE exceptions masked, round to nearest */
#define X87_CW_DEFAULT 0x037fu /* all x87 exceptions masked, 64-bit precision */

void *tether__arch_ctx_init(void *top, struct tether_fiber *f, void ***link)
{
    uintptr_t *t = (uintptr_t *)top;

    t[-1] = (uintptr_t)tether__ctx_switch_suspended; /* fp record: return address */
    t[-2] = 0;                                        /* LINK, set by each resume */
    t[-3] = (uintptr_t)tether__fiber_trampoline;      /* first resume address */
    t[-4] = (uintptr_t)&t[-2];                        /* rbp: the fp record */
    t[-5] = (uintptr_t)f;                             /* rbx */
    t[-6] = 0;                                        /* r12 */
    t[-7] = 0;                                        /* r13 */
    t[-8] = 0;                                        /* r14 */
    t[-9] = 0;                                        /* r15 */
    t[-10] = (uintptr_t)MXCSR_DEFAULT | ((uintptr_t)X87_CW_DEFAULT << 32);
    *link = (void **)&t[-2];
    return &t[-4];
}
