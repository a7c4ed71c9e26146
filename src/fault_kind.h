/* What kind of fault a signal is, and its record (fault_kind.c). */
#ifndef TETHER_FAULT_KIND_H
#define TETHER_FAULT_KIND_H

#include <signal.h>
#include <stdint.h>
#include <tether/fault.h>

#include "stack.h"

/*
 * The tether_fault_kind of a fault with signal `sig` at address `addr`,
 * the stack pointer being `sp`. `s` is the fiber stack the code ran on,
 * or NULL for a thread's own stack, whose bounds are not known here: a
 * SIGSEGV within STACK_REACH of the stack pointer is then taken for its
 * overflow. Async-signal-safe.
 */
int tether__fault_kind(int sig, uintptr_t addr, uintptr_t sp, const struct tether_stack *s);

/*
 * Fills r from a fault handler's arguments: kind, signal, code, address,
 * pc, sp and registers; the backtrace holds the pc alone (nframes 1).
 * Async-signal-safe.
 */
void tether__fault_fill(tether_fault *r, int sig, const siginfo_t *info, const void *uc,
                        const struct tether_stack *s);

#endif
