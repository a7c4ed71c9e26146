/* The faulting stack's return addresses, walked when the host asks (fault_backtrace.c). */
#ifndef TETHER_FAULT_BACKTRACE_H
#define TETHER_FAULT_BACKTRACE_H

#include <stdint.h>
#include <tether/fault.h>

/*
 * Fills r->frames with r->pc, then the return address of each caller, up
 * to the fiber's bottom frame or TETHER_FAULT_FRAMES_MAX, walking from
 * the registers in the record; the frames must still be on the stack,
 * whose frames' CFAs lie in [lo, hi). A walk that meets a corrupt stack
 * ends early. Not for signal handlers.
 */
void tether__fault_backtrace(tether_fault *r, uintptr_t lo, uintptr_t hi);

/*
 * Where a walk of a faulted frame starts: the registers in `regs` as
 * they are (returns 1: rip is exact), or for a call through a wild
 * pointer (an instruction fetch where no function is) its caller, whose
 * return address the call left on top of the stack (regs is changed to
 * that frame; returns 0: rip is a return address).
 */
int tether__fault_walk_start(uint64_t *regs, int signo, const void *addr,
                             uintptr_t lo, uintptr_t hi);

#endif
