/* Where the unwind of a stopped fiber starts (unwind_frame.c). */
#ifndef TETHER_UNWIND_FRAME_H
#define TETHER_UNWIND_FRAME_H

#include <stdint.h>

#include "fiber_impl.h"

enum {
    START_FRAME = 2,   /* at a register-block frame for `regs`, below `below` */
    START_NOTHING = 3, /* nothing: every frame left is passed over */
    START_NONE = 4,    /* it cannot be unwound: a frame without unwind
                          tables, or a broken chain */
};

struct tether_unwind_start {
    int how;
    uint64_t regs[TETHER_NREGS]; /* START_FRAME: the frame to start from */
    int exact;                   /* its rip is exact (else a return address) */
    uintptr_t below;             /* its frame is built below this address */
    int passed_over;             /* frames whose cleanups will not run */
    uint64_t ctl;                /* the floating-point control words it had */
};

/*
 * Walks a stopped fiber's frames and says where its unwind starts.
 * Reads only; returns st->how. If `bt` is not NULL (a faulted fiber
 * whose record's backtrace is not walked yet), fills it on the way, as
 * tether__fault_backtrace would: one walk instead of two.
 */
int tether__unwind_plan(tether_fiber *f, struct tether_unwind_start *st, tether_fault *bt);

#endif
