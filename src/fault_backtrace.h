/* The faulting stack's return addresses, walked inside the signal handler. */
#ifndef TETHER_FAULT_BACKTRACE_H
#define TETHER_FAULT_BACKTRACE_H

#include "stack.h"
#include "thread.h"

/*
 * Fills frames[] with the pc in `uc`, then the return address of each
 * caller, up to the fiber's bottom frame or `max`. Returns the count.
 * Async-signal-safe; a fault met on the way ends the walk early.
 */
int tether__fault_backtrace(const void *uc, const struct tether_stack *s,
                            void **frames, int max);

/* Readies libunwind for use in the handler. Call before installing it. */
void tether__fault_backtrace_init(void);

/* Called by the handler of a fault that hit during the walk: ends it. */
_Noreturn void tether__fault_backtrace_abort(struct tether_thread *t);

#endif
