/*
 * Building the synthetic frame for the unwind of a fiber stopped by a
 * signal (a fault or a kill), and saving what it needs at the signal.
 *
 * The interrupted frame is stepped over: its pc is not a call site, and
 * the personality of a C++ function (or of C built with -fexceptions)
 * finds no cleanup for it and calls std::terminate. libunwind computes
 * the caller's registers from the saved ones; the unwind starts at the
 * caller's call site, as if the interrupted function had just called
 * tether__unwind_entry.
 *
 * Then, one more rule: the unwind must not pass a C++ frame whose
 * personality would call std::terminate for it (unwind_lsda.c). The
 * frames are walked to the bottom first; if there is such a frame, the
 * unwind starts at the caller of the outermost one, and the frames below
 * are passed over, their cleanups not run.
 */
#define _GNU_SOURCE /* REG_*, RTLD_DEFAULT */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <libunwind.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

#include "arch.h"
#include "unwind_frame.h"
#include "unwind_lsda.h"

/* A ucontext holding the saved registers, for libunwind to start from. */
static void context_of(const uint64_t *regs, ucontext_t *uc)
{
    static const unsigned char to[TETHER_NREGS] = {
        REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI, REG_RBP, REG_RSP,
        REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
        REG_RIP, REG_EFL,
    };

    memset(uc, 0, sizeof *uc);
    for (int i = 0; i < TETHER_NREGS; i++)
        uc->uc_mcontext.gregs[to[i]] = (greg_t)regs[i];
}

/*
 * Is `handler` libstdc++'s personality? By name, not by address: a C++
 * plugin loaded with RTLD_LOCAL (or linked with -static-libstdc++) has a
 * copy of its own that no global lookup finds. Addresses once found are
 * remembered; misses are not, a plugin may come later.
 */
static int is_gxx_personality(unw_word_t handler)
{
    static uintptr_t known[8];
    Dl_info di;

    for (int i = 0; i < 8 && known[i]; i++)
        if (known[i] == (uintptr_t)handler)
            return 1;
    if (!dladdr((void *)(uintptr_t)handler, &di) || !di.dli_sname ||
        strcmp(di.dli_sname, "__gxx_personality_v0") != 0)
        return 0;
    for (int i = 0; i < 8; i++)
        if (!known[i]) {
            known[i] = (uintptr_t)handler;
            break;
        }
    return 1;
}

/* Would the C++ personality refuse to unwind this frame (see above)? */
static int refuses(unw_cursor_t *c, unw_word_t ip)
{
    unw_proc_info_t pi;

    if (unw_get_proc_info(c, &pi) < 0 || !pi.handler || !is_gxx_personality(pi.handler))
        return 0;
    return tether__lsda_refuses((const void *)(uintptr_t)pi.lsda,
                                (uintptr_t)pi.start_ip, (uintptr_t)ip - 1);
}

/*
 * From the interrupted frame's caller to the bottom: how many frames to
 * pass over before the unwind may start (0: start at the caller). -1 if
 * the walk fails or leaves the stack.
 */
static int frames_to_skip(unw_cursor_t c, const struct tether_stack *s)
{
    /*
     * The answer per return address, for this walk: looking up a
     * frame's unwind information costs microseconds, and a runaway
     * recursion is thousands of frames with one return address.
     */
    struct {
        unw_word_t ip;
        int refuses;
    } seen[64] = {{0, 0}};
    uintptr_t lo = (uintptr_t)s->base, hi = (uintptr_t)tether__stack_hi(s);
    int skip = 0;
    unw_word_t ip, sp;

    for (int i = 1;; i++) {
        if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || unw_get_reg(&c, UNW_REG_SP, &sp) < 0)
            return -1;
        if (tether__arch_in_trampoline(ip))
            return skip;
        if (sp < lo || sp >= hi)
            return -1; /* a broken chain: it never reached the bottom frame */
        unsigned slot = (unsigned)(ip >> 1) % 64;
        if (seen[slot].ip != ip) {
            seen[slot].ip = ip;
            seen[slot].refuses = refuses(&c, ip);
        }
        if (seen[slot].refuses)
            skip = i;
        if (unw_step(&c) <= 0)
            return -1;
    }
}

void *tether__unwind_frame(tether_fiber *f, int *err)
{
    static const struct {
        int unw, reg;
    } saved[] = {
        {UNW_X86_64_RBX, TETHER_REG_RBX}, {UNW_X86_64_RBP, TETHER_REG_RBP},
        {UNW_X86_64_R12, TETHER_REG_R12}, {UNW_X86_64_R13, TETHER_REG_R13},
        {UNW_X86_64_R14, TETHER_REG_R14}, {UNW_X86_64_R15, TETHER_REG_R15},
    };
    uint64_t regs[TETHER_NREGS] = {0};
    unw_word_t ip, sp, v;
    unw_cursor_t c;
    ucontext_t uc;
    int skip;

    *err = -ENOTRECOVERABLE;
    context_of(f->dead_regs, &uc);
    if (unw_init_local2(&c, (unw_context_t *)&uc, UNW_INIT_SIGNAL_FRAME) < 0 ||
        unw_step(&c) <= 0 || (skip = frames_to_skip(c, &f->stack)) < 0)
        return NULL;
    while (skip-- > 0)
        if (unw_step(&c) <= 0)
            return NULL;
    if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || unw_get_reg(&c, UNW_REG_SP, &sp) < 0)
        return NULL;
    if (tether__arch_in_trampoline(ip)) {
        *err = 0; /* nothing above the frames passed over */
        return NULL;
    }
    /* The caller's frame must lie on the fiber's stack, with room below. */
    if (sp < (uintptr_t)f->stack.base + 256 ||
        sp >= (uintptr_t)tether__stack_hi(&f->stack))
        return NULL;
    for (size_t i = 0; i < sizeof saved / sizeof saved[0]; i++) {
        if (unw_get_reg(&c, saved[i].unw, &v) < 0)
            return NULL;
        regs[saved[i].reg] = v;
    }
    *err = 0;
    return tether__arch_unwind_frame(sp, ip, regs, f->dead_ctl);
}
