/*
 * Walking the frames of a stopped fiber from its saved registers
 * (frame_walk.c), in the caller's context: for fault backtraces and for
 * planning an unwind.
 */
#ifndef TETHER_FRAME_WALK_H
#define TETHER_FRAME_WALK_H

#include <stdint.h>
#include <unwind.h>

#include "thread.h"

/* One frame, innermost first. */
struct tether_frame {
    uintptr_t ip;   /* where it continues: the pc, or a return address */
    uintptr_t pc;   /* the instruction it is in (ip, or ip - 1) */
    int exact;      /* stopped at pc itself (interrupted), not at a call */
    uintptr_t sp;   /* its stack pointer (the CFA of the frame it called) */
    struct _Unwind_Context *ctx; /* libgcc's view of it, valid during the call */
};

/* Called for each frame; returns 0 to go on, anything else to stop there. */
typedef int (*tether_frame_fn)(const struct tether_frame *fr, void *arg);

/* How a walk ended. */
enum {
    WALK_BOTTOM = 1,   /* it reached the fiber's bottom frame */
    WALK_STOPPED = 2,  /* fn asked it to stop */
    WALK_ENDED = 0,    /* a frame had no unwind information: no further */
    WALK_BROKEN = -1,  /* a frame off the stack, or bad memory read on the way */
};

/*
 * Walks from the frame in `regs` (TETHER_NREGS registers, DWARF order;
 * `exact`: its rip is an interrupted instruction, else a return
 * address) outwards, calling fn for every frame (the first included)
 * until the fiber's bottom frame, which is not reported. Every frame's
 * stack pointer must lie in [lo, hi). A walk that reads bad memory (a smashed
 * stack) ends WALK_BROKEN instead of faulting. Not for signal handlers.
 */
int tether__walk(const uint64_t *regs, int exact, uintptr_t lo, uintptr_t hi,
                 tether_frame_fn fn, void *arg);

#endif
