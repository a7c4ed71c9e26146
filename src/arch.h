/*
 * The architecture layer: the only code that knows register names and
 * stack layouts. Implemented by asm/<arch>_<abi>_<format>.S and
 * src/arch_<arch>.c. Everything above it deals in opaque context
 * pointers (CTX) and a LINK slot at the top of each fiber stack.
 */
#ifndef TETHER_ARCH_H
#define TETHER_ARCH_H

#include <stddef.h>

struct tether_fiber;

/*
 * Saves the running context, stores its CTX in *save, continues the
 * context `to` and hands it `value`. Returns the value handed back by
 * whoever switches to this context next.
 */
void *tether__ctx_switch(void **save, void *to, void *value);

/* The permanent bottom frame of every fiber stack (see the .S file). */
void tether__fiber_trampoline(void);

/* Runs the fiber's entry function; never returns. Called by the trampoline. */
_Noreturn void tether__fiber_main(struct tether_fiber *f, void *first);

/* Code addresses the rest of the library may need to recognise. */
extern const char tether__ctx_switch_suspended[];
extern const char tether__ctx_switch_end[];

/* Bytes reserved at the top of a fiber stack for LINK and the fp record. */
#define TETHER_ARCH_TOP_RESERVE 16

/*
 * Lays out a fresh fiber stack ending at `top` (16-aligned) so that the
 * first switch to the returned CTX enters the trampoline with `f`.
 * Stores the address of the LINK slot in *link.
 */
void *tether__arch_ctx_init(void *top, struct tether_fiber *f, void ***link);

#endif
