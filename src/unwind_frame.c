/*
 * Where the unwind of a stopped fiber starts, and the frame it starts
 * from.
 *
 * The frames are walked first, from where the fiber stopped to its
 * bottom frame (frame_walk.c: the host's stack, libgcc's unwinder), to
 * find the frames whose cleanups cannot run (see judge() below):
 *
 *   - a C++ frame stopped at a pc its call-site table does not list (a
 *     faulting instruction in code built without -fnon-call-exceptions;
 *     a call the compiler proved cannot throw), or covered by an empty
 *     exception specification: its personality would call
 *     std::terminate. The unwind starts above the outermost such frame;
 *     it and every frame below are passed over.
 *   - a frame the unwind passes by without its cleanups: an interrupted
 *     one whose pc no landing pad covers, a C frame (-fexceptions) at a
 *     call its table does not list.
 *
 * A frame whose table covers the pc with a landing pad runs its
 * cleanups, the interrupted one included: with -fnon-call-exceptions
 * the faulting instruction itself is covered, and the unwind starts in
 * the faulting frame at exactly that pc, from a register-block frame
 * that is marked a signal frame. How many frames were passed over or
 * passed by is what tether_fiber_unwind() returns.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unwind.h>

#include "arch.h"
#include "elf_symbols.h"
#include "fault_backtrace.h"
#include "frame_walk.h"
#include "unwind_frame.h"
#include "unwind_lsda.h"
#include "unwind_tables.h"

/*
 * Is `routine` libstdc++'s personality? By name, not by address: a C++
 * plugin loaded with RTLD_LOCAL (or linked with -static-libstdc++) has a
 * copy of its own that no global lookup finds. Addresses once found are
 * remembered; misses are not, a plugin may come later.
 */
static int is_gxx_personality(void *routine)
{
    static void *_Atomic known[8];
    Dl_info di;

    if (!routine)
        return 0;
    for (int i = 0; i < 8; i++)
        if (atomic_load_explicit(&known[i], memory_order_relaxed) == routine)
            return 1;
    if (!dladdr(routine, &di) || !di.dli_sname ||
        strcmp(di.dli_sname, "__gxx_personality_v0") != 0)
        return 0;
    for (int i = 0; i < 8; i++) {
        void *none = NULL;
        if (atomic_compare_exchange_strong(&known[i], &none, routine))
            break;
    }
    return 1;
}

/* The target of the call (e8 rel32) at p. */
static uintptr_t call_target(const uint8_t *p)
{
    int32_t rel;
    memcpy(&rel, p + 1, 4);
    return (uintptr_t)p + 5 + (uintptr_t)(intptr_t)rel;
}

/* What a call in a landing pad calls. */
enum { CALLS_OTHER, CALLS_TERMINATE, CALLS_BEGIN_CATCH };

/*
 * By name where a symbol names the target: its own (dladdr, the file's
 * symbol table) or, for a PLT entry, the one it jumps to. In a stripped
 * module, clang's __clang_call_terminate is known by its body, which is
 * always the same three instructions: push %rax (to align the stack),
 * call __cxa_begin_catch, call std::terminate.
 */
static int callee_kind(uintptr_t target)
{
    const uint8_t *p = (const uint8_t *)target;
    char name[64] = "";
    Dl_info di;

    if (dladdr((void *)target, &di) && di.dli_sname && di.dli_saddr == (void *)target)
        snprintf(name, sizeof name, "%s", di.dli_sname);
    else if (!tether__elf_plt_callee((void *)target, name, sizeof name) &&
             tether__elf_function((void *)target, name, sizeof name, NULL) != target)
        name[0] = 0;
    if (name[0]) {
        if (strcmp(name, "__clang_call_terminate") == 0 || strcmp(name, "_ZSt9terminatev") == 0)
            return CALLS_TERMINATE;
        return strcmp(name, "__cxa_begin_catch") == 0 ? CALLS_BEGIN_CATCH : CALLS_OTHER;
    }
    if (tether__elf_bytes_after(p) >= 11 && p[0] == 0x50 && p[1] == 0xe8 && p[6] == 0xe8)
        return CALLS_TERMINATE;
    return CALLS_OTHER;
}

/*
 * Does the landing pad at lp end in std::terminate? clang implements
 * noexcept with a catch (...) whose handler destroys what is live (any
 * number of destructor calls), then calls __clang_call_terminate: an
 * unwind that entered it would end the process. A catch (...) of the
 * program's own calls __cxa_begin_catch first. So the direct calls (e8
 * rel32) from the pad on, over at most 256 bytes (fewer at the end of
 * the code), say which it is: the first that is either. A byte scan may
 * see a call that is not one, or run into the next function; the
 * answer "terminate" is the safe one to get wrong (the frame is passed
 * over and counted, not entered). Answers are remembered per pad.
 */
static int lands_in_terminate(uintptr_t lp)
{
    static struct {
        _Atomic uintptr_t lp;
        _Atomic int answer;
    } known[16];
    unsigned slot = (unsigned)(lp >> 2) % 16;
    const uint8_t *p = (const uint8_t *)lp;
    int answer = 0;
    size_t scan;

    if (atomic_load(&known[slot].lp) == lp)
        return atomic_load(&known[slot].answer);
    scan = tether__elf_bytes_after(p);
    if (scan > 256)
        scan = 256;
    for (size_t i = 0; i + 5 <= scan; i++) {
        int kind = p[i] == 0xe8 ? callee_kind(call_target(p + i)) : CALLS_OTHER;
        if (kind != CALLS_OTHER) {
            answer = kind == CALLS_TERMINATE;
            break;
        }
    }
    atomic_store(&known[slot].answer, answer);
    atomic_store(&known[slot].lp, lp);
    return answer;
}

/* What one frame means for the unwind. */
enum { FRAME_RUNS, FRAME_PASSED_BY, FRAME_REFUSES };

/*
 * At a call, the compiler's table is exact: a call it covers with a
 * landing pad gets what is live there cleaned up, one it covers without
 * has nothing live, and one it leaves out it believed could not throw.
 * An interrupted instruction (exact pc) is another matter: the compiler
 * promised nothing there unless it covered it with a landing pad (g++
 * with -fnon-call-exceptions does, for faulting instructions). A
 * function with no table at all may still hold objects (a lock_guard
 * around calls the compiler proved cannot throw keeps no cleanup code):
 * an interrupted frame counts as passed over unless its cleanups
 * provably run.
 */
static int judge(const struct tether_frame *fr, int *has_table)
{
    void *lsda = (void *)_Unwind_GetLanguageSpecificData(fr->ctx);
    struct tether_call_site site;
    int cs;

    *has_table = lsda != NULL;
    if (!lsda)
        return fr->exact ? FRAME_PASSED_BY : FRAME_RUNS;
    cs = tether__lsda_call_site(lsda, (uintptr_t)_Unwind_GetRegionStart(fr->ctx), fr->pc,
                                &site);
    switch (cs) {
    case LSDA_CLEANUP:
        /* clang's noexcept: a catch (...) whose handler calls std::terminate. */
        if (site.catch_all && lands_in_terminate(site.landing_pad) &&
            is_gxx_personality(tether__personality_of(fr->pc)))
            return FRAME_REFUSES;
        return FRAME_RUNS;
    case LSDA_NOTHING:
        return fr->exact ? FRAME_PASSED_BY : FRAME_RUNS;
    default:
        if (is_gxx_personality(tether__personality_of(fr->pc)))
            return FRAME_REFUSES; /* libstdc++ would call std::terminate */
        return FRAME_PASSED_BY;
    }
}

struct plan_walk {
    /*
     * The answer per pc, for this walk: a runaway recursion is
     * thousands of frames with one return address.
     */
    struct {
        uintptr_t pc;
        signed char verdict, has_table;
    } seen[64];
    int skip_lost;        /* frames so far whose cleanups would not run if skipped */
    int pass_lost;        /* frames so far whose cleanups the unwind passes by */
    int refusing;         /* a frame refuses: the outermost so far is known */
    int skip_at_refusing; /* skip_lost, up to and with it */
    int pass_at_refusing; /* pass_lost, up to and with it */
    int want_caller;      /* the next frame is the refusing one's caller */
    uint64_t caller[TETHER_NREGS];
    tether_fault *bt;     /* a fault record's backtrace to fill, or NULL */
};

/* The caller of a refusing frame: where the unwind may start. */
static void take_caller(struct plan_walk *w, const struct tether_frame *fr)
{
    static const int saved[] = {TETHER_REG_RBX, TETHER_REG_RBP, TETHER_REG_R12,
                                TETHER_REG_R13, TETHER_REG_R14, TETHER_REG_R15};

    memset(w->caller, 0, sizeof w->caller);
    for (size_t i = 0; i < sizeof saved / sizeof saved[0]; i++)
        w->caller[saved[i]] = (uint64_t)_Unwind_GetGR(fr->ctx, saved[i]);
    w->caller[TETHER_REG_RIP] = fr->ip; /* a return address */
    w->caller[TETHER_REG_RSP] = fr->sp;
}

static int plan_frame(const struct tether_frame *fr, void *p)
{
    struct plan_walk *w = p;
    unsigned slot = (unsigned)(fr->pc >> 1) % 64;
    int verdict, has_table;

    if (w->want_caller) {
        take_caller(w, fr);
        w->want_caller = 0;
    }
    if (w->bt && w->bt->nframes < TETHER_FAULT_FRAMES_MAX)
        w->bt->frames[w->bt->nframes++] = (void *)fr->ip;
    if (w->seen[slot].pc == fr->pc && !fr->exact) {
        verdict = w->seen[slot].verdict;
        has_table = w->seen[slot].has_table;
    } else {
        verdict = judge(fr, &has_table);
        w->seen[slot].pc = fr->exact ? 0 : fr->pc;
        w->seen[slot].verdict = (signed char)verdict;
        w->seen[slot].has_table = (signed char)has_table;
    }
    w->skip_lost += has_table || fr->exact;
    w->pass_lost += verdict == FRAME_PASSED_BY;
    if (verdict == FRAME_REFUSES) {
        w->refusing = 1;
        w->skip_at_refusing = w->skip_lost;
        w->pass_at_refusing = w->pass_lost;
        w->want_caller = 1;
    }
    return 0;
}

int tether__unwind_plan(tether_fiber *f, struct tether_unwind_start *st, tether_fault *bt)
{
    uintptr_t lo = (uintptr_t)f->stack.base, hi = (uintptr_t)f->record + 1;
    struct plan_walk pw, *w = &pw;
    int how;

    memset(w, 0, sizeof *w);
    w->bt = bt;
    if (f->stopped_by_signal) {
        st->ctl = f->dead_ctl;
        memcpy(st->regs, f->dead_regs, sizeof st->regs);
        st->exact = tether__fault_walk_start(
            st->regs, f->stop == TETHER_FAULTED ? f->fault.signo : 0,
            f->fault.addr, lo, hi);
    } else {
        st->ctl = tether__arch_suspended_ctl(f->sp);
        tether__arch_suspended_regs(f->sp, st->regs);
        st->exact = 0;
    }
    if (bt) {
        bt->nframes = 0;
        if (!st->exact)
            bt->frames[bt->nframes++] = bt->pc; /* the wild pc, then its caller */
    }
    how = tether__walk(st->regs, st->exact, lo, hi, plan_frame, w);
    if (bt && bt->nframes == 0)
        bt->frames[bt->nframes++] = bt->pc;
    if (how != WALK_BOTTOM) {
        /* A frame without unwind tables, or a broken chain: nothing can run. */
        st->passed_over = w->skip_lost;
        return st->how = START_NONE;
    }
    if (!w->refusing) {
        st->passed_over = w->pass_lost;
        st->below = (uintptr_t)st->regs[TETHER_REG_RSP] - TETHER_ARCH_RED_ZONE;
        return st->how = START_FRAME;
    }
    st->passed_over = w->skip_at_refusing + (w->pass_lost - w->pass_at_refusing);
    if (w->want_caller)
        return st->how = START_NOTHING; /* the refusing frame was the first */
    memcpy(st->regs, w->caller, sizeof st->regs);
    st->exact = 0;
    st->below = (uintptr_t)st->regs[TETHER_REG_RSP] - 16; /* the frames below it are dead */
    return st->how = START_FRAME;
}
