/* The synthetic frame from which a fiber stopped by a signal is unwound. */
#ifndef TETHER_UNWIND_FRAME_H
#define TETHER_UNWIND_FRAME_H

#include "fiber_impl.h"

/*
 * Steps over the frame the signal interrupted (with libunwind, from the
 * registers saved at the signal) and builds the synthetic frame below
 * its caller. Returns the suspended block to resume, or NULL with *err:
 * 0 if nothing is left to unwind (the interrupted frame was the fiber's
 * first), -ENOTRECOVERABLE if the frame could not be stepped over.
 */
void *tether__unwind_frame(tether_fiber *f, int *err);

#endif
